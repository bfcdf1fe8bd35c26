#!/usr/bin/env bash
# The rtc driver against the host (docs/drivers.md, "Writing a driver",
# step 8): boots the normal image with QEMU's clock pinned to BASE
# (-rtc base=...: the guest's CMOS clock starts there and runs with the
# host's), and runs `date`, `run sleep 2500`, `date` and `run hostile_driver 1`
# from the shell. Each date must be BASE plus no more than the seconds the
# session took (every field of BASE is past 9, so a driver that read BCD as
# binary, or the other way round, gives another date or none); the second
# must be 2 s or more after the first; the driver must have taken 2 or more
# update-ended interrupts by then (without InterruptAck the line stays
# masked after the first); hostile_driver must find the CMOS ports, IRQ 8,
# the name "rtc" and the driver's internal request refused to it.
# Runs inside a finished build (HERALD_NO_BUILD=1: nothing is rebuilt).
#
#   rtc-date.sh --build DIR [--timeout S] [--base YYYY-MM-DDTHH:MM:SS]
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
herald="$here/../../herald"
build="" timeout=180 base=2026-11-28T21:47:36
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --base) base="$2"; shift 2 ;;
        *) echo "rtc-date.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$build" ] || { echo "rtc-date.sh: --build is needed" >&2; exit 2; }
export HERALD_BUILD_DIR="$build" HERALD_NO_BUILD=1
logs="$build/test-logs"
mkdir -p "$logs"
out="$logs/rtc-date.log"

check_name=rtc-date
. "$here/checks.sh"

base_seconds=$(date -u -d "${base/T/ } UTC" +%s) || { echo "rtc-date.sh: bad --base '$base'" >&2; exit 2; }
started=$(date +%s)
timeout "$timeout" "$herald" run --quiet --no-disk --accel "${HERALD_TEST_ACCEL:-tcg}" \
    --exec 'date; run sleep 2500; date; run hostile_driver 1' -- -rtc "base=$base" >"$out" 2>&1
status=$?
took=$(( $(date +%s) - started + 1 ))
[ "$status" = 0 ] || fail "exit status $status; expected 0 (every command succeeded) (see $out)"

mapfile -t dates < <(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \(rtc: [0-9]+ updates\)$' "$out")
if [ "${#dates[@]}" != 2 ]; then
    fail "${#dates[@]} lines from date; expected 2 (see $out)"
else
    seconds=() updates=()
    for line in "${dates[@]}"; do
        seconds+=("$(date -u -d "${line:0:19} UTC" +%s)")
        updates+=("$(echo "$line" | sed -E 's/.*\(rtc: ([0-9]+) updates\)$/\1/')")
    done
    for i in 0 1; do
        after=$(( seconds[i] - base_seconds ))
        if [ "$after" -lt 0 ] || [ "$after" -gt "$took" ]; then
            fail "date said '${dates[i]}': ${after} s after -rtc base=$base, outside 0..$took s (the session's length)"
        fi
    done
    [ $(( seconds[1] - seconds[0] )) -ge 2 ] || fail "the second date is not 2 s after the first: '${dates[0]}', '${dates[1]}'"
    [ "${updates[1]}" -ge 2 ] && [ "${updates[1]}" -gt "${updates[0]}" ] ||
        fail "update-ended interrupts: ${updates[0]}, then ${updates[1]}; expected 2 or more, and more than before"
fi
expect "hostile_driver 1 (refused the clock's ports and IRQ)" '^hostile_driver \(task [0-9]+\) exited with status 0$'
reject "a check inside the system" 'FAILED'

if [ "$failures" = 0 ]; then
    echo "PASS rtc-date (base $base: ${dates[0]:-}, ${dates[1]:-}; ${took} s)"
    exit 0
fi
echo "--- $out, last 40 lines:" >&2
tail -40 "$out" >&2
exit 1
