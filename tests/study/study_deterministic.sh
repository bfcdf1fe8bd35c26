#!/usr/bin/env bash
# study-deterministic: the study's promise under icount (docs/study.md):
# two runs of the same set write byte-identical results.csv files. A small
# set (the quick figures on the microkernel and the monolithic placement,
# with fault isolation, without Linux, which needs a download) runs twice;
# the test also checks that every quick figure was measured in both
# placements and that both isolation outcomes are the expected ones, so an
# empty or broken study cannot pass by agreeing with itself.
#   study_deterministic.sh BUILD_DIR
set -euo pipefail
build="${1:?usage: study_deterministic.sh BUILD_DIR}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$build/test-logs/study-deterministic"
rm -rf "$out"
mkdir -p "$out"
for run in a b; do
    echo "study-deterministic: run $run"
    "$root/tools/study/run-study.sh" --build "$build" --mode icount --smp 2 --quick \
        --placements microkernel,monolithic --no-linux --out "$out/$run" >"$out/$run.log" 2>&1 \
        || { echo "FAILED: run $run ended with an error:"; tail -20 "$out/$run.log"; exit 1; }
done
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
if ! cmp -s "$out/a/results.csv" "$out/b/results.csv"; then
    fail "the two runs' results.csv differ:"
    diff "$out/a/results.csv" "$out/b/results.csv" | head -20
fi
for placement in microkernel monolithic; do
    for figure in calibration null_syscall yield_same_cpu ipi_round_trip ipc_round_trip_same_cpu \
        ipc_round_trip_cross_cpu ipc_round_trip_4k console_line page_fault spawn_to_exit; do
        grep -q "^$placement,$figure,2,icount,measured,[0-9]" "$out/a/results.csv" \
            || fail "$figure was not measured in $placement"
    done
done
report="$out/a/report.md"
grep -q '^| console | contained | kernel_panic |$' "$report" || fail "the console's isolation row is not contained / kernel_panic"
grep -q '^| memory | contained | kernel_panic |$' "$report" || fail "the memory server's isolation row is not contained / kernel_panic"
grep -q '^| loader | contained | kernel_panic |$' "$report" || fail "the loader's isolation row is not contained / kernel_panic"
[ "$failures" = 0 ] || exit 1
echo "study-deterministic: $(($(wc -l <"$out/a/results.csv") - 1)) figures, identical in both runs"
