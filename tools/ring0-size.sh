#!/usr/bin/env bash
# ring0-size.sh BUILD_DIR: how big ring 0 is in each placement
# (docs/placement.md), one line each:
#
#   ring0: placement=<p> text=<N> rodata=<N> data=<N> bss=<N> code_and_data=<N> source_files=<N> source_lines=<N>
#
# Bytes from the placement's normal image (ELF sections, llvm-size -A):
# .text, .rodata, .data, .bss, and code_and_data = text + rodata + data;
# the embedded symbol table (.ksyms), the boot stack and debug sections are
# left out. Source files and lines: every file of the project compiled into
# that image (the sources and the headers they include, from the compiler's
# dependency records: ninja -t deps), each counted once.
# Reads BUILD_DIR/placements.txt (written by microkernel/CMakeLists.txt);
# the images must be built (cmake --build BUILD_DIR --target ring0-sizes).
set -euo pipefail

build="$(cd "${1:?usage: ring0-size.sh BUILD_DIR}" && pwd)"
root="$(cd "$(dirname "$0")/.." && pwd)"
list="$build/placements.txt"
[ -f "$list" ] || { echo "ring0-size.sh: no $list (configure the build first)" >&2; exit 2; }
size_tool="$(command -v llvm-size || true)"
[ -n "$size_tool" ] || { echo "ring0-size.sh: llvm-size is missing (Debian package llvm)" >&2; exit 2; }

section() { # section NAME < `llvm-size -A` output
    awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}

while read -r placement image libraries; do
    [ -n "$placement" ] && [ "${placement#\#}" = "$placement" ] || continue
    elf="$build/$image"
    [ -f "$elf" ] || { echo "ring0-size.sh: $elf is not built (cmake --build $build --target ring0-sizes)" >&2; exit 1; }
    sections="$("$size_tool" -A "$elf")"
    text=$(section .text <<<"$sections")
    rodata=$(section .rodata <<<"$sections")
    data=$(section .data <<<"$sections")
    bss=$(section .bss <<<"$sections")
    objects=()
    for library in $libraries; do
        while IFS= read -r object; do objects+=("${object#"$build"/}"); done \
            < <(find "$build/microkernel/CMakeFiles/$library.dir" -name '*.o' | sort)
    done
    files="$(cd "$build" && ninja -t deps "${objects[@]}" | awk -v root="$root/" -v build="$build/" \
        '/^    / { path = $1; if (index(path, root) == 1 && index(path, build) != 1) print path }' | sort -u)"
    file_count=$(grep -c . <<<"$files" || true)
    lines=$(xargs cat <<<"$files" | wc -l)
    echo "ring0: placement=$placement text=$text rodata=$rodata data=$data bss=$bss" \
        "code_and_data=$((text + rodata + data)) source_files=$file_count source_lines=$lines"
done <"$list"
