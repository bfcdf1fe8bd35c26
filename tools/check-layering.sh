#!/usr/bin/env bash
# check-layering.sh [ROOT]: fails on an #include in microkernel/ that breaks
# the layering rule, "who may include whom" (docs/architecture.md,
# "Layering"). Each folder of microkernel/ may include its own files and
# those of the folders listed for it below; the top-level files (kmain.cpp,
# bootstrap.cpp, ...) may include anything. `base` is the top-level headers
# every layer above lib/ may use: log.hpp, panic.hpp, kernel.hpp. Run by
# ctest as `layering` (tests/CMakeLists.txt), so CI fails on a bad include.
set -euo pipefail

root="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
kernel="$root/microkernel"

# The rule. Lower layers first; a folder never lists one above it, with two
# pairs that are one layer between them: arch/ and mm/ (the page tables),
# task/ and object/ + ipc/ (a task's handles and threads' IPC state).
declare -A may_include=(
    [abi]=""
    [lib]="abi"
    [sync]="lib arch"
    [boot]="abi lib mm base"
    [acpi]="abi lib boot"
    [debug]="abi lib arch boot mm"
    [arch]="abi lib acpi boot mm smp stats sync base"
    [mm]="abi lib arch boot stats sync base"
    [stats]="abi lib smp"
    [smp]="abi lib arch sched stats sync task"
    [sched]="abi lib arch smp stats sync task base"
    [task]="abi lib arch boot debug ipc mm object pager sched smp stats sync base"
    [object]="abi lib arch ipc mm pager sched smp stats sync task base power.hpp"
    [ipc]="abi lib arch mm object sched smp stats sync syscall task base"
    [pager]="abi lib arch mm object stats sync task base"
    [syscall]="abi lib arch ipc mm object pager sched smp stats sync task base power.hpp"
    [services]="abi lib arch boot ipc mm object pager sched smp stats sync syscall task base bootstrap.hpp servers libipc"
)
base="log.hpp panic.hpp kernel.hpp"

# The folder (or top-level file) of microkernel/ that an include in
# `relative` (a path under microkernel/) names, in pure bash (this runs for
# every include): sets `target`.
resolve_target() {
    local relative=$1 include=$2 part
    case $include in
        microkernel/*) include=${include#microkernel/}; relative=x ;;
        servers/* | libipc/*) target=${include%%/*}; return ;;
    esac
    local -a path=()
    IFS=/ read -r -a path <<<"$relative"
    unset 'path[${#path[@]}-1]' # the file's folder
    local -a parts=()
    IFS=/ read -r -a parts <<<"$include"
    for part in "${parts[@]}"; do
        case $part in
            . | "") ;;
            ..)
                if [[ ${#path[@]} == 0 ]]; then target="outside:$include"; return; fi
                unset 'path[${#path[@]}-1]'
                ;;
            *) path+=("$part") ;;
        esac
    done
    target=${path[0]}
}

allowed() {
    local layer=$1 target=$2 entry
    [[ $target == "$layer" ]] && return 0
    for entry in ${may_include[$layer]}; do
        if [[ $entry == base ]]; then
            [[ " $base " == *" $target "* ]] && return 0
        elif [[ $entry == "$target" ]]; then
            return 0
        fi
    done
    return 1
}

broken=0
checked=0
while IFS= read -r -d '' file; do
    relative=${file#"$kernel"/}
    [[ $relative == */* ]] || continue # top-level files may include anything
    layer=${relative%%/*}
    if [[ -z ${may_include[$layer]+set} ]]; then
        echo "check-layering: microkernel/$layer/ has no rule: add it to tools/check-layering.sh and docs/architecture.md" >&2
        broken=1
        continue
    fi
    while IFS= read -r line; do
        number=${line%%:*}
        [[ $line =~ \"([^\"]+)\" ]] || continue
        include=${BASH_REMATCH[1]}
        resolve_target "$relative" "$include"
        checked=$((checked + 1))
        if ! allowed "$layer" "$target"; then
            echo "check-layering: microkernel/$relative:$number includes \"$include\": $layer/ may not include $target (docs/architecture.md, \"Layering\")" >&2
            broken=1
        fi
    done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
done < <(find "$kernel" -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z)

if [[ $broken != 0 ]]; then
    exit 1
fi
echo "check-layering: $checked includes in microkernel/ follow the layering rule"
