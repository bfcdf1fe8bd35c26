#!/bin/sh
# check-link-passes.sh NM STAGE1 FINAL
# The kernel is linked twice (docs/boot.md): the symbol table made from the
# first link is only right if the second link put every symbol at the same
# address. Only the symbols that describe .ksyms itself may move.
set -eu
nm="$1" stage1="$2" final="$3"
filter() { "$nm" -n --defined-only "$1" | grep -v -e ' __ksyms_end$' -e ' __kernel_end$' -e ' _binary_' ; }
if ! filter "$stage1" >"$final.symbols-stage1" || ! filter "$final" >"$final.symbols-final"; then
    echo "check-link-passes: cannot list symbols" >&2; exit 1
fi
if ! cmp -s "$final.symbols-stage1" "$final.symbols-final"; then
    echo "check-link-passes: symbols moved between the two links of $final:" >&2
    diff "$final.symbols-stage1" "$final.symbols-final" | head -20 >&2
    exit 1
fi
