#!/usr/bin/env bash
# Scripted sessions (docs/system.md, "The shell"; README "Scripted
# sessions"): ./herald run with commands from a pipe, from --exec and from
# --exec-file must end by itself and exit with the session's status (0, or
# the first failed command's). Also: lines typed while a program runs are
# kept and run after it (in the microkernel and the monolithic placement); Ctrl-C in the input kills the running program and
# the lines after it still run; init started the tutorial server kv
# (docs/new-server.md), and its client gets every answer right.
# Runs inside a finished build (HERALD_NO_BUILD=1: nothing is rebuilt).
#
#   scripted-session.sh --build DIR [--timeout S]
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
herald="$here/../../herald"
build="" timeout=120
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        *) echo "scripted-session.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$build" ] || { echo "scripted-session.sh: --build is needed" >&2; exit 2; }
export HERALD_BUILD_DIR="$build" HERALD_NO_BUILD=1
logs="$build/test-logs"
mkdir -p "$logs"
accel="${HERALD_TEST_ACCEL:-tcg}"

check_name=scripted-session
. "$here/checks.sh"

# session NAME STATUS INPUT [ARGS...]: runs ./herald run --quiet ARGS with
# stdin from the file INPUT, with a timeout, output to
# $logs/scripted-NAME.log ($out, for the checks after it); checks the exit
# status.
session() {
    local name="$1" want="$2" input="$3" status
    shift 3
    out="$logs/scripted-$name.log"
    timeout "$timeout" "$herald" run --quiet --no-disk --accel "$accel" "$@" <"$input" >"$out" 2>&1
    status=$?
    [ "$status" = 124 ] && fail "$name: did not end within ${timeout} s"
    [ "$status" = "$want" ] || fail "$name: exit status $status; expected $want"
}

# 1. Piped input (a file here; ./herald treats any stdin that is not a
#    terminal alike): the commands after `run sleep 500` arrive while it runs; they
#    must all run, after it, in order. --quiet: the session only.
input="$(mktemp)"
trap 'rm -f "$input"' EXIT
printf 'run sleep 500\nrun hello\nps\n' >"$input"
session pipe 0 "$input"
# A server's log line that arrives while the line is typed goes on a line
# of its own, and the console draws the typed line again: it is always whole.
expect pipe "^herald> run sleep 500$" "^  +[0-9]+  running +[0-9]+  kv$"
in_order pipe "^sleep \(task [0-9]+\) exited with status 0$" "^herald> run hello$" \
    "^hello \(task [0-9]+\) exited with status 0$" "^herald> ps$" \
    "^shell: powering off: status 0 \(every command succeeded\)$"
head -1 "$out" | grep -q "^herald> " || fail "pipe: --quiet printed more than the session (first line: $(head -1 "$out"))"

# 2. --exec: the tutorial's server answers its client (init started it).
session exec 0 /dev/null --exec 'run kv_client; mem'
expect exec "^kv_client: the store holds 3 keys; 0 answers wrong$" "^kv_client \(task [0-9]+\) exited with status 0$" \
    "^free +[0-9]+ +[0-9]+$"

# 3. --exec-file: the first failure's status (a page fault: 128 + 14), and
#    the commands after it still run.
printf 'cpus\nrun fault_pf\nrun hello\nfrobnicate\n' >"$input"
session exec-file 142 /dev/null --exec-file "$input"
in_order exec-file "^fault_pf \(task [0-9]+\) was killed by #PF page fault \(status -1014\)$" \
    "^hello \(task [0-9]+\) exited with status 0$" "^unknown command: frobnicate" \
    "^shell: powering off: status 142 \(the first to fail: run fault_pf\)$"

# 4. Ctrl-C in the input kills the program that runs (137: killed), and the
#    line after it runs; the input's last line has no newline: it runs too.
printf 'run spin\n\003run hello\ncpus' >"$input"
session interrupt 137 "$input"
in_order interrupt "^spin \(task [0-9]+\) was killed$" "^hello \(task [0-9]+\) exited with status 0$" \
    "^[0-9]+ CPUs online" "^shell: powering off: status 137 \(the first to fail: run spin\)$"

# 5. The same type-ahead through the console built into the kernel (the
#    monolithic placement: COM1's interrupt drains the UART in ring 0).
printf 'run sleep 300\nrun hello\n' >"$input"
session monolithic 0 "$input" --placement monolithic
in_order monolithic "^sleep \(task [0-9]+\) exited with status 0$" "^herald> run hello$" \
    "^hello \(task [0-9]+\) exited with status 0$" "^shell: powering off: status 0 \(every command succeeded\)$"

[ $failures -eq 0 ] || exit 1
echo "PASS scripted-session (5 sessions, $accel)"
