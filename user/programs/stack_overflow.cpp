// stack_overflow: recurses without end. The stack region (20 MiB, seed) grows
// page by page until the recursion reaches the guard page below it: the
// pager calls that a stack overflow and the kernel kills the task, saying so.
#include <stdint.h>

namespace {

[[gnu::noinline]] uint64_t recurse(uint64_t depth)
{
    volatile uint64_t frame[64];
    frame[0] = depth;
    if (depth == UINT64_MAX) // never: keeps the compiler from calling this an infinite loop
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

} // namespace

extern "C" int64_t herald_main(uint64_t) { return static_cast<int64_t>(recurse(0)); }
