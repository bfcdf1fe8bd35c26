#!/usr/bin/env bash
# The system-call fuzzer in CI (docs/reliability.md, "The system-call
# fuzzer"): ./herald fuzz inside a finished build (nothing is rebuilt), under
# the accelerator the in-system tests use. Fails as ./herald fuzz does: a
# panic, a hang, a fuzzer killed, fewer calls than asked, or free frames not
# back at their count.
#
#   sysfuzz.sh --build DIR [./herald fuzz options...]
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
[ "${1:-}" = --build ] && [ -n "${2:-}" ] || { echo "sysfuzz.sh: --build DIR comes first" >&2; exit 2; }
export HERALD_BUILD_DIR="$2" HERALD_NO_BUILD=1
shift 2
exec "$here/../../herald" fuzz --accel "${HERALD_TEST_ACCEL:-tcg}" "$@"
