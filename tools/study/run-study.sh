#!/usr/bin/env bash
# run-study.sh: the driver behind `./herald study` (docs/study.md). It boots
# every placement's benchmark image at every CPU count, the fault-isolation
# runs, and Linux with the same workloads, writes a manifest of what ran, and
# lets study-report turn the logs into results.csv, report.md and plots.
#
#   run-study.sh --build DIR --mode icount|kvm|wall --smp LIST [--quick]
#                [--placements LIST] [--no-linux] [--no-isolation] [--out OUT]
#
# LIST is comma-separated. The images must be built (./herald study builds
# them first). Everything lands in OUT (default DIR/study): logs/, manifest.tsv,
# results.csv, report.md, plots/. Exit status: 0 when every Herald run
# reached "bench: done", 1 otherwise (the results are written either way),
# 2 for bad arguments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../qemu.sh
. "$ROOT/tools/qemu.sh"

ALL_PLACEMENTS=microkernel,memory-in-kernel,loader-in-kernel,console-in-kernel,monolithic
# The quick set: the micro figures (a few seconds per image under icount).
QUICK_FIGURES=calibration,null_syscall,yield_same_cpu,ipi_round_trip,ipc_round_trip_same_cpu,ipc_round_trip_cross_cpu,ipc_round_trip_4k,console_line,page_fault,spawn_to_exit
ISOLATION_SERVERS=(memory loader console)
RUN_TIMEOUT=900 # seconds for one boot; a full image at 8 CPUs takes a few minutes under icount

BUILD="" MODE="" SMP_LIST="" QUICK=false PLACEMENTS="" LINUX=true ISOLATION=true OUT=""

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
say() { printf 'study: %s\n' "$*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD="${2:?}"; shift 2 ;;
        --mode) MODE="${2:?}"; shift 2 ;;
        --smp) SMP_LIST="${2:?}"; shift 2 ;;
        --quick) QUICK=true; shift ;;
        --placements) PLACEMENTS="${2:?}"; shift 2 ;;
        --no-linux) LINUX=false; shift ;;
        --no-isolation) ISOLATION=false; shift ;;
        --out) OUT="${2:?}"; shift 2 ;;
        *) usage ;;
    esac
done
[ -n "$BUILD" ] && [ -n "$MODE" ] && [ -n "$SMP_LIST" ] || usage
[[ "$SMP_LIST" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "study: --smp wants numbers like 1,2,4, not '$SMP_LIST'" >&2; exit 2; }
case "$MODE" in icount|kvm|wall) ;; *) echo "study: --mode wants icount, kvm or wall, not '$MODE'" >&2; exit 2 ;; esac
[ -n "$PLACEMENTS" ] || PLACEMENTS="$ALL_PLACEMENTS"
IFS=, read -r -a placements <<<"$PLACEMENTS"
IFS=, read -r -a cpu_counts <<<"$SMP_LIST"

[ -n "$OUT" ] || OUT="$BUILD/study"
rm -rf "$OUT"
mkdir -p "$OUT/logs"
MANIFEST="$OUT/manifest.tsv"
: >"$MANIFEST"
manifest() { local IFS=$'\t'; printf '%s\n' "$*" >>"$MANIFEST"; }

# The mode decides QEMU's accelerator and counting (tools/qemu.sh, Q_MODE).
if [ "$MODE" = kvm ]; then herald_resolve_mode kvm >/dev/null || exit 2; fi

FAILED_RUNS=0
STEP=0
TOTAL_STEPS=0

# boot_image KERNEL LOG SMP APPEND: one boot to its end, or to the timeout.
boot_image() {
    Q_BOOT=qboot Q_MODE="$MODE" Q_KERNEL="$1" Q_ARCHIVE="$BUILD/herald.archive" Q_SERIAL="file:$2" Q_SMP="$3" Q_MEM=512M Q_APPEND="$4"
    herald_qemu_command
    local status=0
    timeout "$RUN_TIMEOUT" "${HERALD_QEMU_CMD[@]}" -monitor none </dev/null >/dev/null 2>&1 || status=$?
    return "$status"
}

progress() {
    STEP=$((STEP + 1))
    printf 'study: [%d/%d] %s\n' "$STEP" "$TOTAL_STEPS" "$*"
}

bench_image() { echo "$BUILD/tests/bench/herald-bench-$1"; }

run_figures() {
    local placement="$1" cpus="$2" log="$OUT/logs/$1-smp$2.log" append="bench_mode=$MODE"
    [ "$QUICK" = true ] && append+=" bench_only=$QUICK_FIGURES"
    local started=$SECONDS
    progress "$placement at $cpus CPUs"
    boot_image "$(bench_image "$placement")32.elf" "$log" "$cpus" "$append" || true
    if ! tr -d '\r' <"$log" | grep -q '^bench: done$'; then
        say "warning: $placement at $cpus CPUs did not finish (log: $log)"
        FAILED_RUNS=$((FAILED_RUNS + 1))
    fi
    say "  $(tr -d '\r' <"$log" | grep -cE '^bench: [a-z0-9_]+ median=') figures in $((SECONDS - started)) s"
    manifest figures "$placement" "$cpus" "$log"
}

run_isolation() {
    local placement="$1" server="$2" log="$OUT/logs/isolation-$1-$2.log"
    progress "fault isolation: $server in $placement"
    boot_image "$(bench_image "$placement")32.elf" "$log" 2 "bench_mode=$MODE bench_only=isolation isolation=$server" || true
    manifest isolation "$placement" "$server" "$log"
}

run_linux() {
    local cpus="$1" log="$OUT/logs/linux-smp$1.log" status=0 why
    progress "Linux at $cpus CPUs"
    "$ROOT/tools/study/linux/linux-reference.sh" --build-dir "$BUILD" --mode "$MODE" --smp "$cpus" \
        ${QUICK_LINUX_ONLY:+--only "$QUICK_LINUX_ONLY"} >"$log" 2>&1 || status=$?
    if [ "$status" = 0 ]; then
        manifest figures linux "$cpus" "$log"
        return
    fi
    # 3: skipped (no kernel package, e.g. offline); anything else failed.
    why=$(grep -m1 -E '^linux: (skipped|failed):' "$log" || echo "exit status $status")
    say "  Linux did not run: $why (log: $log)"
    manifest meta "linux at $cpus CPUs" "not measured: $why"
}

# The size of ring 0 in each placement: tools/ring0-size.sh reads the
# normal images (text = .text + .rodata, data = .data + .bss) and the
# sources compiled into them.
ring0_sizes() {
    local line placement text rodata data bss lines
    "$ROOT/tools/ring0-size.sh" "$BUILD" 2>>"$OUT/logs/ring0-size.log" | while read -r line; do
        placement=$(sed -n 's/.* placement=\([^ ]*\).*/\1/p' <<<"$line")
        text=$(sed -n 's/.* text=\([0-9]*\).*/\1/p' <<<"$line")
        rodata=$(sed -n 's/.* rodata=\([0-9]*\).*/\1/p' <<<"$line")
        data=$(sed -n 's/.* data=\([0-9]*\).*/\1/p' <<<"$line")
        bss=$(sed -n 's/.* bss=\([0-9]*\).*/\1/p' <<<"$line")
        lines=$(sed -n 's/.* source_lines=\([0-9]*\).*/\1/p' <<<"$line")
        if [ -n "$placement" ]; then manifest ring0 "$placement" "$((text + rodata))" "$((data + bss))" "$lines"; fi
    done || say "warning: no ring-0 sizes (see $OUT/logs/ring0-size.log)"
}

# ---- the plan ----
isolation_placements=()
if [ "$ISOLATION" = true ]; then
    for p in "${placements[@]}"; do
        if [ "$QUICK" = false ] || [ "$p" = microkernel ] || [ "$p" = monolithic ]; then isolation_placements+=("$p"); fi
    done
fi
TOTAL_STEPS=$(( ${#placements[@]} * ${#cpu_counts[@]} + ${#isolation_placements[@]} * ${#ISOLATION_SERVERS[@]} ))
[ "$LINUX" = true ] && TOTAL_STEPS=$((TOTAL_STEPS + ${#cpu_counts[@]}))
[ "$QUICK" = true ] && QUICK_LINUX_ONLY=null_syscall,yield_same_cpu,ipc_round_trip_same_cpu,ipc_round_trip_cross_cpu,page_fault,spawn_to_exit,console_line

case "$MODE" in
    icount) manifest meta mode "icount: QEMU -icount shift=0,sleep=off, figures in instructions" ;;
    kvm) manifest meta mode "kvm: real KVM, figures in cycles" ;;
    wall) manifest meta mode "wall: TCG wall clock, figures in TSC ticks (emulator latency only)" ;;
esac
manifest meta qemu "$(qemu-system-x86_64 --version | head -1)"
manifest meta command "./herald study$([ "$QUICK" = true ] && echo " --quick") --mode $MODE --smp $SMP_LIST"
manifest meta commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
say "$TOTAL_STEPS runs, mode $MODE, CPUs $SMP_LIST; logs in $OUT/logs"

for placement in "${placements[@]}"; do
    [ -f "$(bench_image "$placement")32.elf" ] || { echo "study: no benchmark image for the placement '$placement' ($(bench_image "$placement")32.elf)" >&2; exit 2; }
    for cpus in "${cpu_counts[@]}"; do run_figures "$placement" "$cpus"; done
done
for placement in "${isolation_placements[@]}"; do
    for server in "${ISOLATION_SERVERS[@]}"; do run_isolation "$placement" "$server"; done
done
if [ "$LINUX" = true ]; then
    for cpus in "${cpu_counts[@]}"; do run_linux "$cpus"; done
fi
ring0_sizes

"$BUILD/tools/study-report" --manifest "$MANIFEST" --out "$OUT"
if command -v gnuplot >/dev/null; then
    for script in "$OUT"/plots/*.gp; do
        [ -e "$script" ] || continue
        (cd "$OUT/plots" && gnuplot "$(basename "$script")" 2>>"$OUT/logs/gnuplot.log") || say "warning: gnuplot failed on $script"
    done
else
    say "warning: gnuplot is missing: no SVG plots (./herald setup installs it)"
fi
say "results: $OUT/results.csv, report: $OUT/report.md, plots: $OUT/plots/"
[ "$FAILED_RUNS" = 0 ] || { say "$FAILED_RUNS run(s) did not finish: see the notes in $OUT/report.md"; exit 1; }
