// BasicResult<T, E>: a value or an error code, for code that cannot use the
// kernel's ErrorOr (microkernel/lib/error.hpp): libipc (ring-3 programs and
// host tests) and the FAT library (a server, host tests and a fuzzer).
//
// One template, so the two error types (ipc::Error, fat::Error) share one
// implementation instead of two copies. It depends on nothing (not even on
// libipc's other headers), so a library that links no libipc may include it.
// T must be trivially copyable: everything that crosses IPC is, and it lets
// the value live in a union without placement new, which a freestanding build
// has no header for.
#pragma once

namespace herald {

template<typename T, typename E>
class [[nodiscard]] BasicResult {
    static_assert(__is_trivially_copyable(T), "BasicResult<T, E> needs a trivially copyable T");

public:
    constexpr BasicResult(const T& value) : m_value(value), m_has_value(true) { }
    constexpr BasicResult(E error) : m_error(error), m_has_value(false) { }

    constexpr bool is_error() const { return !m_has_value; }
    constexpr bool has_value() const { return m_has_value; }
    constexpr E error() const
    {
        if (m_has_value)
            __builtin_trap(); // asking a success for its error is a bug in the caller
        return m_error;
    }
    constexpr T& value()
    {
        if (!m_has_value)
            __builtin_trap(); // as above: check is_error() first
        return m_value;
    }
    constexpr const T& value() const
    {
        if (!m_has_value)
            __builtin_trap();
        return m_value;
    }
    constexpr T release_value() { return value(); }

private:
    union {
        T m_value;
        E m_error;
    };
    bool m_has_value;
};

template<typename E>
class [[nodiscard]] BasicResult<void, E> {
public:
    constexpr BasicResult() = default;
    constexpr BasicResult(E error) : m_error(error), m_has_value(false) { }

    constexpr bool is_error() const { return !m_has_value; }
    constexpr bool has_value() const { return m_has_value; }
    constexpr E error() const
    {
        if (m_has_value)
            __builtin_trap();
        return m_error;
    }
    constexpr void value() const { }
    constexpr void release_value() const { }

private:
    E m_error {}; // unused while m_has_value
    bool m_has_value { true };
};

} // namespace herald

// Propagates an error to the caller, like the kernel's HERALD_TRY: evaluates
// to the value on success (a GNU statement expression, which Clang supports).
// IPC_TRY and FAT_TRY are this macro under their library's name.
#define RESULT_TRY(expr)                                 \
    ({                                                   \
        auto _result = (expr);                           \
        if (_result.is_error())                          \
            return _result.error();                      \
        _result.release_value();                         \
    })
