#include "format.hpp"

namespace herald {

void BufferSink::write(const char* chars, usize length)
{
    if (m_capacity == 0) {
        m_truncated = m_truncated || length > 0;
        return;
    }
    usize room = m_capacity - 1 - m_length;
    if (length > room) {
        length = room;
        m_truncated = true;
    }
    for (usize i = 0; i < length; ++i)
        m_buffer[m_length + i] = chars[i];
    m_length += length;
    m_buffer[m_length] = '\0';
}

namespace {

struct Spec {
    bool hex { false };
    bool prefix { false };
    bool zero_pad { false };
    bool left_align { false };
    usize width { 0 };
};

// Parses the text between ':' and '}' of a placeholder.
Spec parse_spec(StringView text)
{
    Spec spec;
    usize i = 0;
    if (i < text.length() && text[i] == '<') {
        spec.left_align = true;
        ++i;
    }
    if (i < text.length() && text[i] == '#') {
        spec.prefix = true;
        ++i;
    }
    if (i < text.length() && text[i] == '0') {
        spec.zero_pad = true;
        ++i;
    }
    while (i < text.length() && text[i] >= '0' && text[i] <= '9') {
        spec.width = spec.width * 10 + static_cast<usize>(text[i] - '0');
        ++i;
    }
    if (spec.width > 64)
        spec.width = 64;
    if (i < text.length() && text[i] == 'x')
        spec.hex = true;
    return spec;
}

void pad(FormatSink& sink, char fill, usize count)
{
    for (usize i = 0; i < count; ++i)
        sink.write(&fill, 1);
}

void emit_padded(FormatSink& sink, const Spec& spec, StringView sign_or_prefix, StringView body)
{
    usize length = sign_or_prefix.length() + body.length();
    usize fill = spec.width > length ? spec.width - length : 0;
    if (spec.left_align) {
        sink.write(sign_or_prefix);
        sink.write(body);
        pad(sink, ' ', fill);
    } else if (spec.zero_pad) {
        sink.write(sign_or_prefix);
        pad(sink, '0', fill);
        sink.write(body);
    } else {
        pad(sink, ' ', fill);
        sink.write(sign_or_prefix);
        sink.write(body);
    }
}

void emit_number(FormatSink& sink, const Spec& spec, u64 magnitude, bool negative, bool hex)
{
    char digits[20];
    usize count = 0;
    u64 base = hex ? 16 : 10;
    do {
        u64 digit = magnitude % base;
        digits[sizeof(digits) - 1 - count] = static_cast<char>(digit < 10 ? '0' + digit : 'a' + digit - 10);
        magnitude /= base;
        ++count;
    } while (magnitude != 0);
    StringView prefix = negative ? StringView("-") : (hex && spec.prefix ? StringView("0x") : StringView());
    emit_padded(sink, spec, prefix, StringView(digits + sizeof(digits) - count, count));
}

void emit_arg(FormatSink& sink, const Spec& spec, const FormatArg& arg)
{
    switch (arg.kind) {
    case FormatArg::Kind::Unsigned:
        emit_number(sink, spec, arg.unsigned_value, false, spec.hex);
        return;
    case FormatArg::Kind::Signed: {
        bool negative = arg.signed_value < 0 && !spec.hex;
        u64 magnitude = negative ? 0 - static_cast<u64>(arg.signed_value) : static_cast<u64>(arg.signed_value);
        emit_number(sink, spec, magnitude, negative, spec.hex);
        return;
    }
    case FormatArg::Kind::Char: {
        char c = static_cast<char>(arg.unsigned_value);
        emit_padded(sink, spec, {}, StringView(&c, 1));
        return;
    }
    case FormatArg::Kind::Bool:
        emit_padded(sink, spec, {}, arg.unsigned_value ? "true" : "false");
        return;
    case FormatArg::Kind::String:
        emit_padded(sink, spec, {}, arg.string);
        return;
    case FormatArg::Kind::Pointer: {
        Spec pointer_spec { true, true, true, false, 18 };
        emit_number(sink, pointer_spec, reinterpret_cast<uptr>(arg.pointer), false, true);
        return;
    }
    }
}

} // namespace

void vformat(FormatSink& sink, StringView fmt, const FormatArg* args, usize arg_count)
{
    usize next_arg = 0;
    usize i = 0;
    while (i < fmt.length()) {
        usize open = i + fmt.substring(i).find('{');
        sink.write(fmt.chars() + i, open - i);
        if (open >= fmt.length())
            return;
        if (open + 1 < fmt.length() && fmt[open + 1] == '{') { // "{{" is a literal brace
            sink.write("{", 1);
            i = open + 2;
            continue;
        }
        usize close = open + fmt.substring(open).find('}');
        if (close >= fmt.length()) { // unterminated: print the rest as text
            sink.write(fmt.chars() + open, fmt.length() - open);
            return;
        }
        StringView inside = fmt.substring(open + 1, close - open - 1);
        usize colon = inside.find(':');
        Spec spec = colon < inside.length() ? parse_spec(inside.substring(colon + 1)) : Spec {};
        if (next_arg < arg_count)
            emit_arg(sink, spec, args[next_arg++]);
        else
            sink.write("{?}", 3);
        i = close + 1;
    }
}

} // namespace herald
