#!/usr/bin/env bash
# Boots a benchmark image twice under QEMU's instruction counting
# (Q_MODE=icount, tools/qemu.sh) and checks that both runs print the same
# "bench:" lines: under -icount shift=0,sleep=off the figures are counts of
# instructions, and must not move from run to run (docs/benchmarks.md).
#
#   icount-repeatable.sh --kernel F --archive F --log-dir DIR [--smp N] [--append TEXT]
#
# Fails if a run does not end cleanly (isa-debug-exit 33), prints no figure,
# or the two runs' lines differ (the difference is shown).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../tools/qemu.sh"

log_dir="" timeout=300
Q_BOOT=qboot Q_KERNEL="" Q_ARCHIVE="" Q_SMP=2 Q_MEM=256M Q_APPEND="" Q_MODE=icount Q_ACCEL=tcg
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) Q_KERNEL="$2"; shift 2 ;;
        --archive) Q_ARCHIVE="$2"; shift 2 ;;
        --log-dir) log_dir="$2"; shift 2 ;;
        --smp) Q_SMP="$2"; shift 2 ;;
        --append) Q_APPEND="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
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
if ! diff -u "$log_dir/icount-repeatable-1.bench" "$log_dir/icount-repeatable-2.bench" >"$log_dir/icount-repeatable.diff"; then
    echo "FAIL: two runs under icount printed different lines:"
    sed 's/^/    /' "$log_dir/icount-repeatable.diff"
    exit 1
fi
echo "PASS: two runs under icount printed the same $(grep -c ' median=' "$log_dir/icount-repeatable-1.bench") figure lines"
