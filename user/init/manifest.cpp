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

// Name, argument, on-exit, wait, up to kMaxGrants fields of grants per kind
// (ports, irq, pci and class together), dma and tasks.
constexpr size_t kMaxFields = 4 + 3 * kMaxGrants + 2;

bool has_equals(Field field)
{
    for (size_t i = 0; i < field.length; ++i) {
        if (field.chars[i] == '=')
            return true;
    }
    return false;
}

// `field` split at the first `separator`: false if it has none.
bool split(Field field, char separator, Field& before, Field& after)
{
    for (size_t i = 0; i < field.length; ++i) {
        if (field.chars[i] == separator) {
            before = Field { field.chars, i };
            after = Field { field.chars + i + 1, field.length - i - 1 };
            return true;
        }
    }
    return false;
}

// A hex number of at most `max` (pci=, class=: written without 0x).
bool parse_hex(Field field, uint64_t max, uint64_t& value)
{
    if (field.length == 0 || field.length > 4)
        return false;
    value = 0;
    for (size_t i = 0; i < field.length; ++i) {
        int digit = digit_value(field.chars[i], 16);
        if (digit < 0)
            return false;
        value = value * 16 + static_cast<uint64_t>(digit);
    }
    return value <= max;
}

// Null, or the reason the grant field is bad.
const char* parse_grant(Field field, DeviceGrant& grant)
{
    Field key, value;
    if (!split(field, '=', key, value))
        return "bad grant";
    if (equals(key, "ports")) {
        Field first_text, last_text;
        uint64_t first = 0, last = 0;
        if (!split(value, '-', first_text, last_text) || parse_number(first_text, first) || parse_number(last_text, last)
            || first > last || last > 0xFFFF)
            return "bad grant";
        if (grant.port_count == kMaxGrants)
            return "too many grants";
        grant.ports[grant.port_count++] = DeviceGrant::Ports { static_cast<uint16_t>(first), static_cast<uint16_t>(last) };
        return nullptr;
    }
    if (equals(key, "irq")) {
        uint64_t line = 0;
        if (parse_number(value, line) || line > 0xFF)
            return "bad grant";
        if (grant.irq_count == kMaxGrants)
            return "too many grants";
        grant.irqs[grant.irq_count++] = static_cast<uint8_t>(line);
        return nullptr;
    }
    if (equals(key, "dma")) {
        uint64_t pages = 0;
        if (parse_number(value, pages) || pages == 0 || pages > kMaxDmaGrantPages)
            return "bad grant";
        if (grant.dma_pages != 0)
            return "too many grants";
        grant.dma_pages = pages;
        return nullptr;
    }
    if (equals(key, "tasks")) {
        if (!equals(value, "list"))
            return "bad grant";
        if (grant.task_list)
            return "too many grants";
        grant.task_list = true;
        return nullptr;
    }
    DeviceGrant::Function function {};
    if (equals(key, "pci")) {
        Field vendor_text, device_text;
        uint64_t vendor = 0, device = 0;
        if (!split(value, ':', vendor_text, device_text) || !parse_hex(vendor_text, 0xFFFF, vendor)
            || !parse_hex(device_text, 0xFFFF, device))
            return "bad grant";
        function = DeviceGrant::Function { static_cast<uint16_t>(vendor), static_cast<uint16_t>(device), 0, false };
    } else if (equals(key, "class")) {
        uint64_t class_code = 0;
        if (!parse_hex(value, 0xFF, class_code))
            return "bad grant";
        function = DeviceGrant::Function { 0, 0, static_cast<uint8_t>(class_code), true };
    } else {
        return "bad grant";
    }
    if (grant.function_count == kMaxGrants)
        return "too many grants";
    grant.functions[grant.function_count++] = function;
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

    Field fields[kMaxFields];
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
        bool grant = has_equals(Field { line + start, position - start });
        if (count == kMaxFields || (count >= 4 && !grant))
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
    else if (equals(fields[2], "never"))
        on_exit = OnExit::Never;
    else
        return "unknown on-exit policy";
    bool wait = false;
    size_t first_grant = 3;
    if (count >= 4 && !has_equals(fields[3])) {
        if (!equals(fields[3], "wait"))
            return "unknown 4th field";
        wait = true;
        first_grant = 4;
    }
    DeviceGrant grant {};
    for (size_t i = first_grant; i < count; ++i) {
        if (const char* reason = parse_grant(fields[i], grant))
            return reason;
    }
    if (out.m_count == kMaxEntries)
        return "too many entries";

    ManifestEntry& entry = out.entries[out.m_count++];
    for (size_t i = 0; i <= kMaxNameLength; ++i)
        entry.name[i] = i < fields[0].length ? fields[0].chars[i] : '\0';
    entry.argument = argument;
    entry.on_exit = on_exit;
    entry.wait = wait;
    entry.grant = grant;
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
    case OnExit::Never:
        return "never";
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
    if (ran >= (stable_run_ms ? stable_run_ms : kStableRunMs))
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

bool DeviceGrant::allows_ports(uint64_t first, uint64_t last) const
{
    for (size_t i = 0; i < port_count && i < kMaxGrants; ++i) {
        if (ports[i].first <= first && first <= last && last <= ports[i].last)
            return true;
    }
    return false;
}

bool DeviceGrant::allows_irq(uint64_t line) const
{
    for (size_t i = 0; i < irq_count && i < kMaxGrants; ++i) {
        if (irqs[i] == line)
            return true;
    }
    return false;
}

bool DeviceGrant::allows_function(uint16_t vendor, uint16_t device, uint8_t class_code) const
{
    for (size_t i = 0; i < function_count && i < kMaxGrants; ++i) {
        const Function& f = functions[i];
        if (f.by_class ? f.class_code == class_code : (f.vendor == vendor && f.device == device))
            return true;
    }
    return false;
}

const DeviceGrant* grant_of(const Manifest& manifest, const char* name)
{
    for (size_t i = 0; i < manifest.count(); ++i) {
        const char* entry = manifest[i].name;
        size_t j = 0;
        while (entry[j] != '\0' && entry[j] == name[j])
            ++j;
        if (entry[j] == '\0' && name[j] == '\0')
            return &manifest[i].grant;
    }
    return nullptr;
}

} // namespace herald::init
