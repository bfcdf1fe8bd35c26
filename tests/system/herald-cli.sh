#!/usr/bin/env bash
# Tests of ./herald's own promises about running tests (docs/testing.md,
# "Running one test"): a -R pattern that matches nothing fails and lists the
# names; --selftest runs named in-system self-tests (and refuses unknown
# names with the list); a fault_ case is judged by its panic report.
# Runs inside a finished build (HERALD_NO_BUILD=1: nothing is rebuilt).
#
#   herald-cli.sh --build DIR
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
herald="$here/../../herald"
build=""
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        *) echo "herald-cli.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$build" ] || { echo "herald-cli.sh: --build is needed" >&2; exit 2; }
export HERALD_BUILD_DIR="$build" HERALD_NO_BUILD=1

failures=0
fail() { echo "herald-cli: FAILED: $*" >&2; failures=$((failures + 1)); }

# expect STATUS PATTERN... -- COMMAND...: runs COMMAND, checks its exit
# status (0, or "nonzero") and that each extended regex matches its output.
expect() {
    local want="$1" patterns=() output status
    shift
    while [ "$1" != -- ]; do patterns+=("$1"); shift; done
    shift
    output="$("$@" 2>&1)"; status=$?
    if [ "$want" = nonzero ]; then
        [ "$status" -ne 0 ] || fail "'$*' exited 0; expected a failure"
    else
        [ "$status" -eq "$want" ] || fail "'$*' exited $status; expected $want"
    fi
    local pattern
    for pattern in "${patterns[@]}"; do
        grep -Eq -- "$pattern" <<<"$output" || fail "'$*': no line matches /$pattern/"
    done
    [ $failures -eq 0 ] || printf '%s\n' "$output" | tail -20 >&2
}

expect nonzero "no test matches -R" "^  host$" "^  qemu-shell-session$" -- "$herald" test -R '^no_such_test$'
expect nonzero "no self-test is called 'no_such_test'" "^  null_page_is_not_mapped$" -- \
    "$herald" test --selftest no_such_test
expect 0 "^PASS selftest-null_page_is_not_mapped,boot_info_has_a_memory_map " -- \
    "$herald" test --selftest null_page_is_not_mapped,boot_info_has_a_memory_map --smp 1
expect 0 "^PASS selftest-fault_kernel_panic " -- "$herald" test --selftest fault_kernel_panic --smp 1
grep -q "^selftest: 2 passed, 0 failed$" "$build/test-logs/selftest-null_page_is_not_mapped,boot_info_has_a_memory_map.log" ||
    fail "the two named self-tests did not both run"

# The accelerator line names the first reason KVM is out, against fakes of
# /dev/kvm and /sys/module: a loaded kvm_pvm module with no device is "no /dev/kvm".
fake="$(mktemp -d)"
mkdir -p "$fake/module/kvm_pvm"
kvm_problem() { (. "$here/../../tools/qemu.sh"; HERALD_KVM_DEVICE="$1" HERALD_SYS_MODULE="$fake/module" herald_kvm_problem); }
[ "$(kvm_problem "$fake/no-kvm")" = "no /dev/kvm" ] || fail "a missing /dev/kvm with kvm_pvm loaded is not named as missing"
: >"$fake/kvm"
[ "$(kvm_problem "$fake/kvm")" = "/dev/kvm here is PVM (kvm_pvm), which cannot run Herald" ] || fail "PVM is not named"
mkdir -p "$fake/module/kvm_intel"
kvm_problem "$fake/kvm" | grep -q "PVM" && fail "PVM named although kvm_intel is loaded"
rm -rf "$fake"

[ $failures -eq 0 ] || exit 1
echo "PASS herald-cli"
