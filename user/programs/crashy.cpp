// crashy: a server that crashes as soon as it starts, every time (the
// supervisor's backoff self-test, tests/insystem/supervisor_tests.cpp): a
// store through a null pointer, so the kernel kills it with a page fault.
// Its supervisor starts it again at once the first time, then after a
// delay that doubles with each crash in a row.
#include <stdint.h>

extern "C" int64_t herald_main(uint64_t)
{
    *reinterpret_cast<volatile uint64_t*>(static_cast<uintptr_t>(0)) = 1; // #PF: killed here
    return 0;
}
