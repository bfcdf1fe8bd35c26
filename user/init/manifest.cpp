#include "manifest.hpp"

namespace herald::init {

namespace {

struct Field {
    const char* chars;
    size_t length;
};

bool is_separator(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
        || c == '-';
}

bool equals(Field field, const char* word)
{
    size_t i = 0;
    for (; i < field.length; ++i) {
        if (word[i] == '\0' || word[i] != field.chars[i])
            return false;
    }
    return word[i] == '\0';
}

// Null, or the reason the name is bad.
const char* check_name(Field field)
{
    if (field.length > kMaxNameLength)
        return "name too long";
    for (size_t i = 0; i < field.length; ++i) {
        if (!is_name_char(field.chars[i]))
            return "bad character in name";
    }
    return nullptr;
}

int digit_value(char c, uint64_t base)
{
    int value = -1;
    if (c >= '0' && c <= '9')
        value = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
        value = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
        value = c - 'A' + 10;
    return value;
}

// Null, or the reason the number is bad.
const char* parse_number(Field field, uint64_t& value)
{
    uint64_t base = 10;
    size_t i = 0;
    if (field.length >= 2 && field.chars[0] == '0' && (field.chars[1] == 'x' || field.chars[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == field.length)
        return "bad number";
    value = 0;
    for (; i < field.length; ++i) {
        int digit = digit_value(field.chars[i], base);
        if (digit < 0)
            return "bad number";
        if (value > (UINT64_MAX - static_cast<uint64_t>(digit)) / base)
            return "number too large";
        value = value * base + static_cast<uint64_t>(digit);
    }
    return nullptr;
}

// Null (the line is blank, a comment, or its entry was added), or the
// reason the line is bad.
const char* parse_line(const char* line, size_t length, Manifest& out)
{
    if (length > 0 && line[length - 1] == '\r')
        --length; // CR LF line ending
    if (length > kMaxLineLength)
        return "line too long";
    for (size_t i = 0; i < length; ++i) {
        if (line[i] == '\0')
            return "NUL byte in line";
    }

    Field fields[4];
    size_t count = 0;
    size_t position = 0;
    while (position < length) {
        while (position < length && is_separator(line[position]))
            ++position;
        if (position == length || line[position] == '#')
            break;
        size_t start = position;
        while (position < length && !is_separator(line[position]))
            ++position;
        if (count == 4)
            return "too many fields";
        fields[count++] = Field { line + start, position - start };
    }
    if (count == 0)
        return nullptr;

    if (const char* reason = check_name(fields[0]))
        return reason;
    if (count < 2)
        return "missing argument";
    uint64_t argument = 0;
    if (const char* reason = parse_number(fields[1], argument))
        return reason;
    if (count < 3)
        return "missing on-exit policy";
    OnExit on_exit;
    if (equals(fields[2], "ignore"))
        on_exit = OnExit::Ignore;
    else if (equals(fields[2], "restart"))
        on_exit = OnExit::Restart;
    else if (equals(fields[2], "halt"))
        on_exit = OnExit::Halt;
    else
        return "unknown on-exit policy";
    bool wait = false;
    if (count == 4) {
        if (!equals(fields[3], "wait"))
            return "unknown 4th field";
        wait = true;
    }
    if (out.m_count == kMaxEntries)
        return "too many entries";

    ManifestEntry& entry = out.entries[out.m_count++];
    for (size_t i = 0; i <= kMaxNameLength; ++i)
        entry.name[i] = i < fields[0].length ? fields[0].chars[i] : '\0';
    entry.argument = argument;
    entry.on_exit = on_exit;
    entry.wait = wait;
    return nullptr;
}

} // namespace

const char* on_exit_name(OnExit policy)
{
    switch (policy) {
    case OnExit::Ignore:
        return "ignore";
    case OnExit::Restart:
        return "restart";
    case OnExit::Halt:
        return "halt";
    }
    return "?";
}

bool is_valid_program_name(const char* name)
{
    size_t length = 0;
    while (length <= kMaxNameLength && name[length] != '\0') {
        if (!is_name_char(name[length]))
            return false;
        ++length;
    }
    return length > 0 && length <= kMaxNameLength;
}

size_t parse_manifest(const char* text, size_t length, Manifest& out, ManifestError* errors, size_t max_errors)
{
    out = Manifest {};
    if (errors == nullptr)
        max_errors = 0;
    size_t error_count = 0;
    size_t line_number = 1;
    size_t position = 0;
    while (position < length) {
        size_t start = position;
        while (position < length && text[position] != '\n')
            ++position;
        const char* reason = parse_line(text + start, position - start, out);
        if (reason != nullptr) {
            if (error_count < max_errors)
                errors[error_count] = ManifestError { line_number, reason };
            ++error_count;
        }
        if (position < length)
            ++position; // the '\n'
        ++line_number;
    }
    return error_count;
}

uint64_t Backoff::delay_after_end(uint64_t started_ms, uint64_t ended_ms)
{
    uint64_t ran = ended_ms >= started_ms ? ended_ms - started_ms : 0; // a clock going back: a short run
    if (ran >= kStableRunMs)
        short_runs = 0;
    ++short_runs;
    if (short_runs == 1)
        delay_ms = 0;
    else if (delay_ms == 0)
        delay_ms = kFirstBackoffMs;
    else
        delay_ms = delay_ms >= kMaxBackoffMs / 2 ? kMaxBackoffMs : delay_ms * 2;
    return delay_ms;
}

} // namespace herald::init
