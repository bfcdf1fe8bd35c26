#!/usr/bin/env bash
# Boots the normal image (of any placement: docs/placement.md) and uses its
# shell through the serial port, the way a person would: waits for each
# `herald> ` prompt, types a command, and checks what came back
# (docs/testing.md). Ends with `shutdown`, which must end QEMU.
#
#   shell-session.sh --kernel F --archive F --log FILE [--smp N] [--timeout S]
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../tools/qemu.sh
source "$here/../../tools/qemu.sh"

Q_BOOT=qboot Q_KERNEL="" Q_ARCHIVE="" Q_SMP=2 Q_MEM=256M Q_APPEND=""
log="" timeout=120
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) Q_KERNEL="$2"; shift 2 ;;
        --archive) Q_ARCHIVE="$2"; shift 2 ;;
        --log) log="$2"; shift 2 ;;
        --smp) Q_SMP="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        *) echo "shell-session.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$Q_KERNEL" ] && [ -n "$Q_ARCHIVE" ] && [ -n "$log" ] || { echo "shell-session.sh: --kernel, --archive and --log are needed" >&2; exit 2; }
mkdir -p "$(dirname "$log")"
: >"$log"

Q_SERIAL=stdio
Q_ACCEL="$(herald_resolve_accel "${HERALD_TEST_ACCEL:-tcg}")" || exit 2
herald_qemu_command
coproc QEMU { exec "${HERALD_QEMU_CMD[@]}" -monitor none 2>&1; }
qemu_pid=$QEMU_PID
exec 3<&"${QEMU[0]}" 4>&"${QEMU[1]}"

failures=0
seen=""     # what came since the last prompt
fail() { echo "shell-session: FAILED: $*" | tee -a "$log.result" >&2; failures=$((failures + 1)); }

# Reads the serial output until `seen` ends with the prompt, or gives up.
# wait_for_prompt TYPED: first waits for the echo of the line TYPED (the
# shell's "herald> TYPED", or just "TYPED" when its prompt was read before),
# and only then for the prompt, with `seen` holding what came between: a
# server's line that arrives while a line is open makes the console draw
# the open line again ("herald> " on a line of its own, docs/system.md, "The
# console"), which is not the answer's prompt.
wait_for_prompt() {
    local typed="${1-}" deadline=$((SECONDS + timeout)) c line echoed=1
    [ -n "$typed" ] && echoed=""
    seen=""
    while [ $SECONDS -lt $deadline ]; do
        if IFS= read -r -t 1 -N 1 c <&3; then
            [ "$c" = $'\r' ] && continue
            seen+="$c"
            printf '%s' "$c" >>"$log"
            if [ -z "$echoed" ]; then
                if [ "$c" = $'\n' ]; then
                    line="${seen%$'\n'}"
                    line="${line##*$'\n'}"
                    [[ "$line" == "herald> $typed" || "$line" == "$typed" ]] && echoed=1 && seen=""
                fi
                continue
            fi
            [[ "$seen" == *$'\n'"herald> " || "$seen" == "herald> " ]] && return 0
        elif ! kill -0 "$qemu_pid" 2>/dev/null; then
            return 1
        fi
    done
    return 1
}

# command TEXT PATTERN...: types TEXT, waits for the next prompt, and checks
# that every extended regex PATTERN matches a line of the answer.
command() {
    local text="$1"; shift
    printf '%s\r' "$text" >&4
    if ! wait_for_prompt "$text"; then
        fail "no prompt after '$text'"
        return
    fi
    local pattern
    for pattern in "$@"; do
        grep -Eq -- "$pattern" <<<"$seen" || fail "'$text': no line matches /$pattern/"
    done
}

rm -f "$log.result"
if ! wait_for_prompt; then
    fail "no shell prompt within ${timeout} s of boot"
    kill "$qemu_pid" 2>/dev/null
    tail -40 "$log" >&2
    exit 1
fi
grep -q "Herald shell" <<<"$seen" || fail "no shell banner before the first prompt"

# Which servers this image runs as tasks (docs/placement.md): the boot log
# says `herald: placement NAME: memory in ring N, loader in ring N, console
# in ring N`. A server in ring 3 is in ps; one built into ring 0 is not.
placement_line=$(grep -E "^herald: placement [a-z-]+: memory in ring [03], loader in ring [03], console in ring [03]$" <<<"$seen")
[ -n "$placement_line" ] || fail "no placement line in the boot log"
ps_expect=("  init$" "  shell$" "  registry$")
ps_reject=()
for server in memory loader console; do
    if grep -q "$server in ring 3" <<<"$placement_line"; then
        ps_expect+=("^ +[0-9]+  running +[0-9]+  $server$")
    else
        ps_reject+=("  $server$")
    fi
done

command "help" "^  ps " "^  shutdown "
command "ps" "${ps_expect[@]}"
for pattern in "${ps_reject[@]}"; do
    grep -Eq -- "$pattern" <<<"$seen" && fail "'ps': $pattern is built into the kernel, but a task of that name runs"
done
command "run hello" "^hello from ring 3, loaded at 0x8000000$" "^hello \\(task [0-9]+\\) exited with status 0$"
command "mem" "^free +[0-9]+ +[0-9]+$" "^managed +[0-9]+"
command "cpus" "^$Q_SMP CPUs online"
# Typed ahead: two lines at once are two commands.
printf 'cpus\rcpus\r' >&4
if wait_for_prompt cpus && first="$seen" && wait_for_prompt cpus; then
    grep -q "CPUs online" <<<"$first" && grep -q "CPUs online" <<<"$seen" || fail "two lines typed at once did not run two commands"
else
    fail "no two prompts after two lines typed at once"
fi
command "start echo" "^started echo as task [0-9]+$"
command "run echo_by_name_client" "^echo_by_name_client \\(task [0-9]+\\) exited with status 0$"
# A fault is explained: the shell names the exception, the kernel the function.
# (The kernel's line comes through the console's log batches, maybe after
# the next prompt: it is looked for in the whole log at the end.)
command "run fault_pf" "^fault_pf \\(task [0-9]+\\) was killed by #PF page fault \\(status -1014\\)$"
command "run broken_elf" "^loader: broken_elf is not a program Herald can run: truncated$" "^run: cannot start broken_elf"
command "run no_such_program" "^run: cannot start no_such_program: not found"
command "frobnicate" "^unknown command: frobnicate \\(type help\\)$"
command "kill 99999" "^kill: 99999: no task of that id"
command "start spin" "^started spin as task [0-9]+$"
spin_id=$(grep -Eo "started spin as task [0-9]+" <<<"$seen" | grep -Eo "[0-9]+$")
command "kill $spin_id"
# A kill takes effect when the task next enters the kernel (its next timer
# tick at the latest): look a few times.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    command "ps"
    grep -Eq "^ +$spin_id  running" <<<"$seen" || break
    sleep 0.3
done
grep -Eq "^ +$spin_id  running" <<<"$seen" && fail "spin (task $spin_id) still running 3 s after kill"

# Ctrl-C ends a program `run` waits for (spin never ends by itself).
printf 'run spin\r' >&4
sleep 1
printf '\003' >&4
if wait_for_prompt "run spin"; then
    grep -Eq "^spin \(task [0-9]+\) was killed" <<<"$seen" || fail "Ctrl-C did not kill 'run spin'"
else
    fail "no prompt after Ctrl-C during 'run spin'"
fi

# The shell kills itself: init (manifest: `shell 0 restart`) starts a new one.
command "ps"
shell_id=$(grep -E "^ +[0-9]+  running +[0-9]+  shell$" <<<"$seen" | awk '{print $1}')
printf 'kill %s\r' "$shell_id" >&4
if wait_for_prompt "kill $shell_id"; then
    grep -q "init: shell was killed; starting it again$" <<<"$seen" || fail "no 'init: shell was killed; starting it again' after killing the shell"
    grep -q "Herald shell" <<<"$seen" || fail "no new shell banner after killing the shell"
else
    fail "no new shell prompt after killing the shell (task $shell_id)"
fi
command "ps" "  shell$"

printf 'shutdown\r' >&4
deadline=$((SECONDS + 30))
while kill -0 "$qemu_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    chunk=""
    IFS= read -r -t 1 -N 1000 chunk <&3 # partial input is kept on timeout and at the end
    printf '%s' "${chunk//$'\r'/}" >>"$log"
done
chunk=""
IFS= read -r -t 1 -N 100000 chunk <&3
printf '%s' "${chunk//$'\r'/}" >>"$log"
if kill -0 "$qemu_pid" 2>/dev/null; then
    fail "QEMU still running 30 s after shutdown"
    kill "$qemu_pid" 2>/dev/null
fi
grep -q "herald: powering off" "$log" || fail "no 'powering off' line after shutdown"
grep -Eq "\"fault_pf\" killed: #PF page fault .* at RIP=0x[0-9a-f]+ \\(\\(anonymous namespace\\)::store_at\\(unsigned long, unsigned long\\)\\+0x" "$log" ||
    fail "the kernel's line about fault_pf does not name the function it faulted in"

if [ $failures -gt 0 ]; then
    echo "--- last 60 lines of $log:" >&2
    tail -60 "$log" >&2
    exit 1
fi
echo "PASS shell-session (-smp $Q_SMP, $Q_ACCEL)"
