#!/usr/bin/env bash
# linux_reference_boot.sh: boots the Linux reference (tools/study/linux,
# docs/study.md) under icount at 2 CPUs, when the Debian kernel package is
# already cached in BUILD/linux-reference (./herald study, or one run of
# linux-reference.sh, fetches it). It never downloads: without the package it
# says "skipped: no Debian kernel package" and exits with 77, CTest's skip.
# Checks: the second CPU comes up (CPU hotplug under icount), the figures
# asked for are measured, the run ends with "bench: done".
#   linux_reference_boot.sh BUILD-DIR
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tool="$here/../../tools/study/linux/linux-reference.sh"
build="${1:?usage: linux_reference_boot.sh BUILD-DIR}"
readonly SKIP=77

if ! ls "$build"/linux-reference/linux-image-*_amd64.deb >/dev/null 2>&1; then
    echo "skipped: no Debian kernel package in $build/linux-reference (run tools/study/linux/linux-reference.sh once with the network to fetch it)"
    exit "$SKIP"
fi
out="$build/linux-reference/logs/boot-test.out"
status=0
"$tool" --build-dir "$build" --mode icount --smp 2 --no-fetch --timeout 480 \
    --only null_syscall,ipc_round_trip_cross_cpu,page_fault >"$out" 2>&1 || status=$?
cat "$out"
if [ "$status" = 3 ]; then
    echo "skipped: $(grep -m1 '^linux: skipped:' "$out")"
    exit "$SKIP"
fi
failures=0
expect() { grep -Eq "$1" "$out" || { echo "FAILED: no line matching: $1"; failures=$((failures + 1)); }; }
[ "$status" = 0 ] || { echo "FAILED: linux-reference.sh exited with $status"; failures=$((failures + 1)); }
expect '^bench: begin placement=linux mode=icount cpus=2$'
expect '^bench: null_syscall median=[0-9]+ min=[0-9]+ unit=instructions$'
expect '^bench: ipc_round_trip_cross_cpu median=[0-9]+ min=[0-9]+ unit=instructions$'
expect '^bench: page_fault median=[0-9]+ min=[0-9]+ unit=instructions$'
expect '^bench: done$'
if grep -Eq '^bench: (yield_same_cpu|spawn_storm|console_line)' "$out"; then
    echo "FAILED: figures that were not asked for ran (--only)"; failures=$((failures + 1))
fi
echo "linux reference, boot: $failures failed"
exit $((failures > 0))
