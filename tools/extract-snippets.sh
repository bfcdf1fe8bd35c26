#!/usr/bin/env bash
# extract-snippets.sh DOC OUTDIR PREFIX: writes the files a Markdown page
# spells out, so that the build can compile what the page shows
# (cmake/HeraldTutorial.cmake, docs/new-server.md).
#
# A code block preceded by the line
#   <!-- file: PATH -->
# (blank lines between are allowed) is a piece of the file PATH, relative
# to OUTDIR; several pieces of one file are joined in page order. PATH must
# start with PREFIX and may not climb out of it. A file whose text did not
# change keeps its time stamp, so the build does not redo it. Prints the
# paths written, one a line. Exit status 1 (with a message) when the page
# has no pieces, a marker has no code block after it, or a path is refused.
set -euo pipefail

doc="$1" outdir="$2" prefix="$3"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

awk -v staging="$staging" -v prefix="$prefix" -v doc="$doc" '
function fail(message) { print doc ":" NR ": " message > "/dev/stderr"; failed = 1; exit 1 }
/^<!-- file: [^ ]+ -->$/ {
    if (in_block) fail("a file marker inside a code block")
    path = $3
    if (index(path, prefix) != 1 || path ~ /\.\./ || path !~ /^[A-Za-z0-9_.\/-]+$/) fail("the file " path " is not a plain path under " prefix)
    waiting = 1
    next
}
waiting && /^```/ {
    waiting = 0; in_block = 1; file = staging "/" path; files[file] = 1
    directory = file; sub(/\/[^\/]*$/, "", directory)
    system("mkdir -p \"" directory "\"")
    next
}
waiting && /^[ \t]*$/ { next }
waiting { fail("no code block after the marker for " path) }
in_block && /^```[ \t]*$/ { in_block = 0; close(file); next }
in_block { print >> file }
END {
    if (failed) exit 1
    if (waiting) fail("no code block after the last marker")
    if (in_block) fail("a code block that never ends")
    n = 0
    for (f in files) n++
    if (n == 0) { print doc ": no <!-- file: PATH --> code blocks" > "/dev/stderr"; exit 1 }
}' "$doc"

cd "$staging"
find . -type f | sed 's|^\./||' | sort | while read -r path; do
    mkdir -p "$outdir/$(dirname "$path")"
    cmp -s "$path" "$outdir/$path" || cp "$path" "$outdir/$path"
    echo "$path"
done
