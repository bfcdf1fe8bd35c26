// What the kernel's runtime provides, for code compiled into host tests.
#include "microkernel/lib/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace herald {

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line)
{
    std::fprintf(stderr, "HERALD_ASSERT(%s) failed at %s:%d\n", expression, file, line);
    std::abort();
}

} // namespace herald
