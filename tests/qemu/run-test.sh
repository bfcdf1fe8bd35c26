#!/usr/bin/env bash
# Runs one in-system test: boots Herald in QEMU with its serial port going to
# a log file, waits for QEMU to end (or for a line that means "far enough"),
# then checks the exit status and the log. See docs/testing.md.
#
#   run-test.sh --name NAME --log-dir DIR [--timeout S]
#       [--expect-exit pass|fail|stopped] [--stop-on REGEX]
#       [--expect REGEX]... [--reject REGEX]... [--expect-count REGEX N]...
#       [--lines-match PREFIX REGEX]...
#       --boot qboot|iso|uefi [--kernel F] [--iso F] [--archive F]
#       [--smp N] [--mem SIZE] [--append TEXT] [--mode icount|kvm|wall]
#       [-- EXTRA-QEMU-ARGS...]
#
# --lines-match: every line that matches PREFIX must match REGEX too (a
# format that all lines of a kind keep). --mode: a measurement mode
# (tools/qemu.sh, Q_MODE) instead of the accelerator HERALD_TEST_ACCEL says.
#
# Exit statuses of QEMU that mean something (microkernel/arch/x86_64/qemu_exit.hpp):
#   33  the guest wrote 0x10 to isa-debug-exit: tests passed
#   35  the guest wrote 0x11: tests failed, or the kernel panicked
# Anything else (0: QEMU quit or the guest reset with -no-reboot, 1: QEMU
# error, 124: timeout) is a failure.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../tools/qemu.sh"

name="" log_dir="" timeout=60 expect_exit=pass stop_on=""
expects=() rejects=() counts=() formats=() extra=()
Q_BOOT=qboot Q_KERNEL="" Q_ISO="" Q_ARCHIVE="" Q_SMP=1 Q_MEM=256M Q_APPEND="" Q_MODE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --name) name="$2"; shift 2 ;;
        --log-dir) log_dir="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --expect-exit) expect_exit="$2"; shift 2 ;;
        --stop-on) stop_on="$2"; shift 2 ;;
        --expect) expects+=("$2"); shift 2 ;;
        --reject) rejects+=("$2"); shift 2 ;;
        --expect-count) counts+=("$2" "$3"); shift 3 ;;
        --lines-match) formats+=("$2" "$3"); shift 3 ;;
        --mode) Q_MODE="$2"; shift 2 ;;
        --boot) Q_BOOT="$2"; shift 2 ;;
        --kernel) Q_KERNEL="$2"; shift 2 ;;
        --iso) Q_ISO="$2"; shift 2 ;;
        --archive) Q_ARCHIVE="$2"; shift 2 ;;
        --smp) Q_SMP="$2"; shift 2 ;;
        --mem) Q_MEM="$2"; shift 2 ;;
        --append) Q_APPEND="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "run-test.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$name" ] && [ -n "$log_dir" ] || { echo "run-test.sh: --name and --log-dir are required" >&2; exit 2; }

mkdir -p "$log_dir"
log="$log_dir/$name.log"
raw="$log_dir/$name.serial"   # as QEMU wrote it, with the UART's CR LF line ends
: >"$raw"
Q_ACCEL="$(herald_resolve_accel "${HERALD_TEST_ACCEL:-tcg}")" || exit 2
Q_SERIAL="file:$raw"
herald_qemu_command || exit 2
cmd=("${HERALD_QEMU_CMD[@]}" -monitor none "${extra[@]}")
echo "run: ${cmd[*]}" >"$log.cmd"

start=$(date +%s.%N)
"${cmd[@]}" </dev/null >"$log.qemu" 2>&1 &
qemu=$!

# Wait for QEMU to exit, for the stop line, or for the deadline.
status="" deadline=$(( $(date +%s) + timeout ))
while :; do
    if ! kill -0 "$qemu" 2>/dev/null; then
        wait "$qemu"; status=$?
        break
    fi
    if [ -n "$stop_on" ] && grep -Eq -- "$stop_on" "$raw"; then
        kill "$qemu" 2>/dev/null; wait "$qemu" 2>/dev/null
        status=stopped
        break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        kill -9 "$qemu" 2>/dev/null; wait "$qemu" 2>/dev/null
        status=timeout
        break
    fi
    sleep 0.05
done
tr -d '\r' <"$raw" >"$log" && rm -f "$raw"
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

problems=()
case "$expect_exit:$status" in
    pass:33|fail:35|stopped:stopped) ;;
    *:timeout) problems+=("no result within ${timeout} s (QEMU killed)") ;;
    *:stopped) problems+=("stopped on '$stop_on' but expected QEMU to exit ($expect_exit)") ;;
    *) problems+=("QEMU exited with status $status; expected $expect_exit (pass=33, fail=35)") ;;
esac
for pattern in "${expects[@]}"; do
    grep -Eq -- "$pattern" "$log" || problems+=("missing from the log: /$pattern/")
done
for pattern in "${rejects[@]}"; do
    grep -Eq -- "$pattern" "$log" && problems+=("found in the log but must not be: /$pattern/")
done
for ((i = 0; i < ${#formats[@]}; i += 2)); do
    bad=$(grep -E -- "${formats[i]}" "$log" | grep -Ev -- "${formats[i + 1]}" | head -3)
    [ -z "$bad" ] || problems+=("lines matching /${formats[i]}/ that do not match /${formats[i + 1]}/: $(echo "$bad" | tr '\n' '|')")
done
for ((i = 0; i < ${#counts[@]}; i += 2)); do
    found=$(grep -Ec -- "${counts[i]}" "$log")
    [ "$found" = "${counts[i + 1]}" ] || problems+=("${found} lines match /${counts[i]}/; expected exactly ${counts[i + 1]}")
done

if [ ${#problems[@]} -eq 0 ]; then
    echo "PASS $name (${elapsed} s, ${Q_MODE:-$Q_ACCEL}, -smp $Q_SMP, $Q_BOOT)"
    exit 0
fi
echo "FAIL $name (${elapsed} s, ${Q_MODE:-$Q_ACCEL}, -smp $Q_SMP, $Q_BOOT)"
printf '  - %s\n' "${problems[@]}"
echo "  command: $(cat "$log.cmd")"
[ -s "$log.qemu" ] && { echo "  QEMU said:"; sed 's/^/    /' "$log.qemu" | tail -20; }
# A failure's story is often told early in a long log and buried under the
# lines that follow it: the first notable lines come first, and a line
# repeated many times is shown once with its count.
fold_repeats() { # compared as strings: " 5" and "5" are different lines
    awk 'function flush() { if (n > 1) print last "   [" n " times]"; else if (n) print last }
         $0 "" == last "" { ++n; next } { flush(); last = $0; n = 1 } END { flush() }'
}
failures='FAILED|PANIC|panic'
notable='killed:|warning|cannot|ended|failed'
echo "  first failures in the serial log (/$failures/):"
grep -E -- "$failures" "$log" 2>/dev/null | fold_repeats 2>/dev/null | head -20 | sed 's/^/    /'
echo "  first other notable lines (/$notable/):"
grep -E -- "$notable" "$log" 2>/dev/null | grep -Ev -- "$failures| 0 failed\$" 2>/dev/null | fold_repeats 2>/dev/null |
    head -20 | sed 's/^/    /'
echo "  serial log (kept in $log), last 80 lines:"
fold_repeats <"$log" | tail -80 | sed 's/^/    /'
exit 1
