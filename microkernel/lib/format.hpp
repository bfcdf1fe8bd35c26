// Type-safe formatting in the style of std::format, small enough for ring0.
//
//   format(sink, "cpu {} rip={:#018x} {}", cpu, rip, name);
//
// Placeholders: {} (default), {:x} hex, {:#x} hex with 0x, {:Nx}/{:0Nx} width
// and zero padding, {:<N} left-aligned. Arguments are integers, bools, chars,
// C strings, StringViews and pointers. Unknown specs print the value plainly;
// a missing argument prints "{?}" rather than reading garbage.
#pragma once

#include "string_view.hpp"
#include "types.hpp"
#include "utility.hpp"

namespace herald {

class FormatSink {
public:
    virtual void write(const char* chars, usize length) = 0;
    void write(StringView text) { write(text.chars(), text.length()); }

protected:
    ~FormatSink() = default;
};

// Collects output in a caller-provided buffer, truncating (and remembering
// that it did) when it is full. Always NUL-terminated.
class BufferSink final : public FormatSink {
public:
    BufferSink(char* buffer, usize capacity) : m_buffer(buffer), m_capacity(capacity)
    {
        if (m_capacity > 0)
            m_buffer[0] = '\0';
    }
    void write(const char* chars, usize length) override;
    using FormatSink::write;
    StringView view() const { return StringView(m_buffer, m_length); }
    bool truncated() const { return m_truncated; }

private:
    char* m_buffer;
    usize m_capacity;
    usize m_length { 0 };
    bool m_truncated { false };
};

struct FormatArg {
    enum class Kind : u8 { Unsigned, Signed, Char, Bool, String, Pointer };
    Kind kind;
    union {
        u64 unsigned_value;
        i64 signed_value;
        const void* pointer;
    };
    StringView string;

    template<typename T>
    static FormatArg from(const T& value)
    {
        FormatArg arg {};
        if constexpr (IsSame<T, bool>) {
            arg.kind = Kind::Bool;
            arg.unsigned_value = value ? 1 : 0;
        } else if constexpr (IsSame<T, char>) {
            arg.kind = Kind::Char;
            arg.unsigned_value = static_cast<u8>(value);
        } else if constexpr (IsEnum<T>) {
            arg.kind = Kind::Signed;
            arg.signed_value = static_cast<i64>(value);
        } else if constexpr (IsIntegral<T> && IsSigned<T>) {
            arg.kind = Kind::Signed;
            arg.signed_value = value;
        } else if constexpr (IsIntegral<T>) {
            arg.kind = Kind::Unsigned;
            arg.unsigned_value = value;
        } else if constexpr (IsSame<T, StringView>) {
            arg.kind = Kind::String;
            arg.string = value;
        } else if constexpr (__is_convertible_to(T, const char*)) {
            arg.kind = Kind::String;
            arg.string = StringView(static_cast<const char*>(value));
        } else {
            static_assert(__is_pointer(T), "format: unsupported argument type");
            arg.kind = Kind::Pointer;
            arg.pointer = value;
        }
        return arg;
    }
};

void vformat(FormatSink& sink, StringView fmt, const FormatArg* args, usize arg_count);

template<typename... Args>
void format(FormatSink& sink, StringView fmt, const Args&... args)
{
    if constexpr (sizeof...(Args) == 0) {
        vformat(sink, fmt, nullptr, 0);
    } else {
        const FormatArg packed[] = { FormatArg::from(args)... };
        vformat(sink, fmt, packed, sizeof...(Args));
    }
}

} // namespace herald
