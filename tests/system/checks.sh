# Sourced by the session tests (tests/system/*-session.sh): the checks they
# make on a session's output. The caller sets `check_name` (the prefix of
# each failure line) and, before each check, `out` (the output file);
# `failures` counts what failed, and the caller exits non-zero when it is
# above 0.

failures=0
fail() { echo "$check_name: FAILED: $*" >&2; failures=$((failures + 1)); }

# expect NAME REGEX...: each extended regex matches a line of $out.
expect() {
    local name="$1" pattern
    shift
    for pattern in "$@"; do
        grep -Eq -- "$pattern" "$out" || fail "$name: no line matches /$pattern/ (see $out)"
    done
}

# reject NAME REGEX...: no line of $out matches any of the regexes.
reject() {
    local name="$1" pattern
    shift
    for pattern in "$@"; do
        ! grep -Eq -- "$pattern" "$out" || fail "$name: a line matches /$pattern/ but must not (see $out)"
    done
}

# in_order NAME REGEX...: the first lines that match come in this order.
in_order() {
    local name="$1" pattern line previous=0
    shift
    for pattern in "$@"; do
        line=$(grep -En -- "$pattern" "$out" | head -1 | cut -d: -f1)
        if [ -z "$line" ] || [ "$line" -le "$previous" ]; then
            fail "$name: /$pattern/ is missing or out of order (see $out)"
            return
        fi
        previous=$line
    done
}
