#!/usr/bin/env bash
# run-fuzz-test.sh BINARY CORPUS WORK SECONDS: the CTest test of one
# libFuzzer target (tests/fuzz/CMakeLists.txt). First every input of the
# checked-in corpus once (the regression run: seeds and the reproducers of
# crashes fixed before), then SECONDS of fuzzing from the corpus into a fresh
# WORK/corpus. Fails, with the command that replays it, on any crash, leak,
# timeout or failed FUZZ_CHECK.
set -euo pipefail

binary="$1" corpus="$2" work="$3" seconds="$4"
name="$(basename "$binary")"
rm -rf "$work"
mkdir -p "$work/corpus"

fail() {
    local artifact
    artifact="$(ls -t "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1 || true)"
    echo "$name: $1"
    [ -n "$artifact" ] && echo "replay: $binary $artifact"
    exit 1
}

# Per input: 10 s before a hang counts as one (the slowest seed takes a few ms).
common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/")

mapfile -t inputs < <(find "$corpus" -type f | sort)
[ ${#inputs[@]} -gt 0 ] || fail "no seed corpus in $corpus"
"$binary" "${common[@]}" "${inputs[@]}" >"$work/regression.log" 2>&1 \
    || { tail -40 "$work/regression.log"; fail "an input of the checked-in corpus fails (log: $work/regression.log)"; }
echo "$name: ${#inputs[@]} corpus inputs pass"

"$binary" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 "$work/corpus" "$corpus" \
    >"$work/fuzz.log" 2>&1 || { tail -40 "$work/fuzz.log"; fail "fuzzing found a failure (log: $work/fuzz.log)"; }
runs="$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$work/fuzz.log" | grep -Eo '[0-9]+$' || echo '?')"
cov="$(grep -Eo 'cov: [0-9]+' "$work/fuzz.log" | tail -1 | grep -Eo '[0-9]+' || echo '?')"
echo "$name: $seconds s of fuzzing, $runs runs, coverage $cov edges, no failures"
