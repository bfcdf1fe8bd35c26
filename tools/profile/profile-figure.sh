#!/usr/bin/env bash
# Where one benchmark figure's instructions go (docs/benchmarks.md,
# "Profiles"): boots a benchmark image under QEMU's instruction counting
# with only that figure, lets QEMU log every block of code it runs (through
# a FIFO: the log is gigabytes), and prints the instructions per operation
# of each function, kernel and programs, in the figure's window.
#
#   tools/profile/profile-figure.sh [--image PATH] [--smp N] [--top N] FIGURE
#
# --image: a benchmark image's ELF32 (default: build/tests/bench/herald-bench-microkernel32.elf;
# its symbols come from the .elf beside it). Needs a build (./herald build).
# Slow: QEMU logs each block it runs (about a minute per 10 million instructions).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${HERALD_BUILD_DIR:-$root/build}"
. "$root/tools/qemu.sh"

image="$build/tests/bench/herald-bench-microkernel32.elf" top=40 figure=""
Q_SMP=2
while [ $# -gt 0 ]; do
    case "$1" in
        --image) image="$2"; shift 2 ;;
        --smp) Q_SMP="$2"; shift 2 ;;
        --top) top="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "profile-figure.sh: unknown option '$1'" >&2; exit 2 ;;
        *) figure="$1"; shift ;;
    esac
done
[ -n "$figure" ] || { echo "profile-figure.sh: which figure? (e.g. ipc_round_trip_same_cpu)" >&2; exit 2; }
symbols="${image%32.elf}.elf"
for file in "$image" "$symbols" "$build/herald.archive" "$build/tools/exec_profile"; do
    [ -f "$file" ] || { echo "profile-figure.sh: $file is missing (./herald build first)" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkfifo "$work/trace"
programs=()
while IFS= read -r elf; do
    programs+=(--program "$(basename "$elf" .elf)=$elf")
done < <(find "$build/user" "$build/servers" -name '*.elf')

Q_BOOT=qboot Q_MODE=icount Q_MEM=512M Q_KERNEL="$image" Q_ARCHIVE="$build/herald.archive"
Q_SERIAL="file:$work/serial.log" Q_APPEND="bench_mode=icount bench_only=$figure"
herald_qemu_command
"$build/tools/exec_profile" --trace "$work/trace" --kernel "$symbols" "${programs[@]}" \
    --serial "$work/serial.log" --figure "$figure" --top "$top" >"$work/profile.txt" &
profiler=$!
echo "profile-figure.sh: running $figure in $(basename "$image") under icount, -smp $Q_SMP, with QEMU's block log (slow)" >&2
status=0
"${HERALD_QEMU_CMD[@]}" -monitor none -d in_asm,out_asm,exec,nochain -D "$work/trace" </dev/null >/dev/null 2>&1 || status=$?
wait "$profiler" || { echo "profile-figure.sh: the profiler failed" >&2; cat "$work/profile.txt" >&2; exit 1; }
[ "$status" = 33 ] || echo "profile-figure.sh: warning: the image did not end cleanly (QEMU status $status)" >&2
tr -d '\r' <"$work/serial.log" | grep -E "^bench: $figure " || true
cat "$work/profile.txt"
