// HERALD_ASSERT: a broken invariant inside Herald's own code (never a check of
// untrusted input, which returns an Error instead). In the kernel it panics
// with file and line; in host tests it aborts so Catch2 reports the crash.
#pragma once

namespace herald {
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);
}

#define HERALD_ASSERT(expr)                                              \
    do {                                                                 \
        if (__builtin_expect(!(expr), 0))                                \
            ::herald::assertion_failed(#expr, __FILE__, __LINE__);       \
    } while (0)
