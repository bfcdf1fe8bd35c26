#!/usr/bin/env bash
# linux_reference_host.sh: the host-side check of the Linux reference
# (tools/study/linux, docs/study.md). Needs no network and no kernel package:
#   1. linux-reference.sh builds the three static programs and the initramfs;
#   2. the workloads run on the host itself (workloads --host): every figure
#      is measured or skipped for a stated reason, every line is in the
#      study's contract form, and the programs did what the figures claim
#      (the storm's 3 x 200 x 10 lines, 101 console lines of 80 characters);
#   3. --parse-log keeps exactly the bench lines of a serial log (CR LF line
#      ends, kernel and program noise) and refuses malformed or unfinished ones.
#   linux_reference_host.sh WORK-DIR
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tool="$here/../../tools/study/linux/linux-reference.sh"
work="${1:?usage: linux_reference_host.sh WORK-DIR}"
rm -rf "$work"
mkdir -p "$work"
failures=0
check() { # check DESCRIPTION COMMAND...
    local what="$1"; shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

# ---- 1. build ----
check "the programs and the initramfs build" "$tool" --build-programs "$work/programs"
for program in workloads exit0 storm_child; do
    check "$program is a static executable" bash -c "! ldd '$work/programs/$program' >/dev/null 2>&1"
done
check "the initramfs starts with a newc header and ends with the trailer" \
    bash -c "head -c 6 '$work/programs/initramfs.cpio' | grep -qx 070701 && grep -aq 'TRAILER!!!' '$work/programs/initramfs.cpio'"
check "exit0 exits with 0" "$work/programs/exit0"

# ---- 2. the workloads on the host ----
"$work/programs/workloads" --host --bin-dir "$work/programs" >"$work/host.out" 2>&1
check "workloads --host exits with 0" test $? -eq 0
check "its bench lines are in the contract's form" "$tool" --parse-log "$work/host.out"
grep -E '^bench: ' "$work/host.out"
for figure in null_syscall yield_same_cpu ipc_round_trip_same_cpu page_fault spawn_to_exit console_line spawn_storm fault_scaling_1; do
    pattern="^bench: $figure median=[0-9]+ min=[0-9]+ unit=(tsc_ticks|faults_per_second)$"
    # SCHED_FIFO needs root: elsewhere yield_same_cpu says why it cannot run.
    if [ "$figure" = yield_same_cpu ] && [ "$(id -u)" != 0 ]; then
        pattern="$pattern|^bench: yield_same_cpu failed: cannot switch to SCHED_FIFO"
    fi
    check "$figure is measured" grep -Eq "$pattern" "$work/host.out"
done
cpus=$(grep -Eo '^bench: begin placement=linux mode=wall cpus=[0-9]+$' "$work/host.out" | grep -Eo '[0-9]+$')
check "the begin line names the CPUs" test -n "$cpus"
cpus=${cpus:-0}
if [ "$cpus" -ge 2 ]; then
    check "ipc_round_trip_cross_cpu is measured" grep -Eq '^bench: ipc_round_trip_cross_cpu median=[0-9]+ min=[0-9]+ unit=tsc_ticks$' "$work/host.out"
else
    check "ipc_round_trip_cross_cpu says it needs 2 CPUs" grep -q '^bench: ipc_round_trip_cross_cpu skipped: needs 2 CPUs' "$work/host.out"
fi
for n in 2 4 8; do
    if [ "$cpus" -ge "$n" ]; then
        check "fault_scaling_$n is measured" grep -Eq "^bench: fault_scaling_$n median=[0-9]+ min=[0-9]+ unit=faults_per_second$" "$work/host.out"
    else
        check "fault_scaling_$n says it needs $n CPUs" grep -q "^bench: fault_scaling_$n skipped: needs $n CPUs" "$work/host.out"
    fi
done
check "no figure failed" bash -c "! grep -E '^bench: [a-z0-9_]+ failed:' '$work/host.out' | grep -v 'yield_same_cpu failed: cannot switch to SCHED_FIFO'"
check "the storm printed 3 x 200 programs x 10 whole lines" \
    test "$(grep -cE '^storm [0-9]{3} line [0-9] [a-z]{48} end$' "$work/host.out")" -eq 6000
check "every storm program printed its 10 lines (3 storms)" \
    bash -c "grep -Eo '^storm [0-9]{3} line [0-9]' '$work/host.out' | sort | uniq -c | awk '\$1 != 3 { bad++ } END { exit bad > 0 || NR != 2000 }'"
check "console_line wrote 101 lines of 80 characters" \
    test "$(grep -cE '^console_line [0-9]{3} [a-z]{63}$' "$work/host.out")" -eq 101

# ---- 3. the serial log parser ----
printf '%s\r\n' '[    0.000000] Linux version 6.1.0' 'linux: CPU 1 brought online' \
    'bench: begin placement=linux mode=icount cpus=2' 'bench: null_syscall median=325 min=325 unit=instructions' \
    'storm 001 line 0 bench: not at the start of a line' 'bench: fault_scaling_4 skipped: needs 4 CPUs, Linux has 2 online' \
    'bench: fault_scaling_2 median=131179 min=130989 unit=faults_per_second' 'bench: done' >"$work/good.log"
check "--parse-log accepts a good log" "$tool" --parse-log "$work/good.log"
check "--parse-log prints its 5 bench lines, without CRs" \
    bash -c "'$tool' --parse-log '$work/good.log' | cmp -s - <(printf '%s\n' 'bench: begin placement=linux mode=icount cpus=2' \
        'bench: null_syscall median=325 min=325 unit=instructions' 'bench: fault_scaling_4 skipped: needs 4 CPUs, Linux has 2 online' \
        'bench: fault_scaling_2 median=131179 min=130989 unit=faults_per_second' 'bench: done')"
grep -v 'bench: done' "$work/good.log" >"$work/unfinished.log"
check "--parse-log refuses a log without 'bench: done'" bash -c "! '$tool' --parse-log '$work/unfinished.log' >/dev/null"
sed 's/median=325/median=3x5/' "$work/good.log" >"$work/malformed.log"
check "--parse-log refuses a malformed figure" bash -c "! '$tool' --parse-log '$work/malformed.log' >/dev/null"
sed 's/placement=linux/placement=herald/' "$work/good.log" >"$work/foreign.log"
check "--parse-log refuses another placement's begin line" bash -c "! '$tool' --parse-log '$work/foreign.log' >/dev/null"
check "bad arguments exit with 2" bash -c "'$tool' --build-dir '$work' --mode fast --smp 1 >/dev/null 2>&1; test \$? -eq 2"

echo "linux reference, host side: $failures failed"
exit $((failures > 0))
