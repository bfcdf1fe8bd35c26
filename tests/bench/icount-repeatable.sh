#!/usr/bin/env bash
# Boots a benchmark image twice under QEMU's instruction counting
# (Q_MODE=icount, tools/qemu.sh) and checks that both runs print the same
# "bench:" lines: under -icount shift=0,sleep=off the figures are counts of
# instructions, and must not move from run to run (docs/benchmarks.md).
#
#   icount-repeatable.sh --kernel F --archive F --log-dir DIR [--smp N] [--append TEXT] [--tolerance PERMILLE]
#
# --tolerance: figures whose CPUs meet on a lock (the scaling figures) may
# differ by this many thousandths of the median (the events and everything
# else must still agree): QEMU's round-robin budget also follows the host's
# realtime timers, so where CPUs contend the interleaving, and the spins,
# vary a little (docs/benchmarks.md, "Scaling"). Default 0: identical.
#
# Fails if a run does not end cleanly (isa-debug-exit 33), prints no figure,
# or the two runs' lines differ (the difference is shown).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../tools/qemu.sh"

log_dir="" timeout=300 tolerance=0
Q_BOOT=qboot Q_KERNEL="" Q_ARCHIVE="" Q_SMP=2 Q_MEM=256M Q_APPEND="" Q_MODE=icount Q_ACCEL=tcg
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) Q_KERNEL="$2"; shift 2 ;;
        --archive) Q_ARCHIVE="$2"; shift 2 ;;
        --log-dir) log_dir="$2"; shift 2 ;;
        --smp) Q_SMP="$2"; shift 2 ;;
        --append) Q_APPEND="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --tolerance) tolerance="$2"; shift 2 ;;
        *) echo "icount-repeatable.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$Q_KERNEL" ] && [ -n "$Q_ARCHIVE" ] && [ -n "$log_dir" ] || { echo "icount-repeatable.sh: --kernel, --archive and --log-dir are required" >&2; exit 2; }
mkdir -p "$log_dir"

lines=()
for run in 1 2; do
    raw="$log_dir/icount-repeatable-$run.serial"
    Q_SERIAL="file:$raw"
    herald_qemu_command || exit 2
    timeout "$timeout" "${HERALD_QEMU_CMD[@]}" -monitor none </dev/null >"$log_dir/icount-repeatable-$run.qemu" 2>&1
    status=$?
    tr -d '\r' <"$raw" >"$log_dir/icount-repeatable-$run.log" && rm -f "$raw"
    if [ "$status" != 33 ]; then
        echo "FAIL: run $run ended with QEMU status $status, not 33 (log: $log_dir/icount-repeatable-$run.log)"
        tail -20 "$log_dir/icount-repeatable-$run.log" | sed 's/^/    /'
        exit 1
    fi
    grep -E '^bench: ' "$log_dir/icount-repeatable-$run.log" >"$log_dir/icount-repeatable-$run.bench"
    if ! grep -Eq '^bench: [a-z0-9_]+ median=' "$log_dir/icount-repeatable-$run.bench"; then
        echo "FAIL: run $run printed no figure (log: $log_dir/icount-repeatable-$run.log)"
        exit 1
    fi
done
# The lines with median and min taken out must agree; the medians within
# the tolerance (min is the median for rates; costs are compared alike).
without_figures() { sed -E 's/ median=[0-9]+ min=[0-9]+/ median= min=/' "$1"; }
medians_agree() {
    paste -d' ' <(grep -oE '^bench: [a-z0-9_]+ median=[0-9]+' "$1") <(grep -oE '^bench: [a-z0-9_]+ median=[0-9]+' "$2") |
        awk -v tolerance="$tolerance" '{
            split($3, a, "="); split($6, b, "="); m1 = a[2] + 0; m2 = b[2] + 0; d = m1 > m2 ? m1 - m2 : m2 - m1
            if ($2 != $5 || d * 1000 > tolerance * m1) { print "    " $0 " (differ by more than " tolerance "/1000)"; bad = 1 }
        } END { exit bad }'
}
if [ "$tolerance" != 0 ]; then
    if ! diff -u <(without_figures "$log_dir/icount-repeatable-1.bench") <(without_figures "$log_dir/icount-repeatable-2.bench") \
        >"$log_dir/icount-repeatable.diff" || ! medians_agree "$log_dir/icount-repeatable-1.bench" "$log_dir/icount-repeatable-2.bench" \
        >>"$log_dir/icount-repeatable.diff"; then
        echo "FAIL: two runs under icount printed different lines (medians may differ by $tolerance/1000):"
        sed 's/^/    /' "$log_dir/icount-repeatable.diff"
        exit 1
    fi
    echo "PASS: two runs under icount printed the same $(grep -c ' median=' "$log_dir/icount-repeatable-1.bench") figure lines, medians within $tolerance/1000"
    exit 0
fi
if ! diff -u "$log_dir/icount-repeatable-1.bench" "$log_dir/icount-repeatable-2.bench" >"$log_dir/icount-repeatable.diff"; then
    echo "FAIL: two runs under icount printed different lines:"
    sed 's/^/    /' "$log_dir/icount-repeatable.diff"
    exit 1
fi
echo "PASS: two runs under icount printed the same $(grep -c ' median=' "$log_dir/icount-repeatable-1.bench") figure lines"
