#!/usr/bin/env bash
# Fault injection in CI (docs/reliability.md, "Fault injection"): ./herald
# faults inside a finished build (nothing is rebuilt), under the accelerator
# the in-system tests use. Fails as ./herald faults does: a kernel panic, a
# hang, or fewer than 99 % of the injections recovered.
#
#   faults.sh --build DIR [./herald faults options...]
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
[ "${1:-}" = --build ] && [ -n "${2:-}" ] || { echo "faults.sh: --build DIR comes first" >&2; exit 2; }
export HERALD_BUILD_DIR="$2" HERALD_NO_BUILD=1
shift 2
exec "$here/../../herald" faults --accel "${HERALD_TEST_ACCEL:-tcg}" "$@"
