// hello: the smallest real program. Proves that the kernel loads an ELF,
// enters ring 3 at _start, that DebugWrite reaches the kernel log and that
// Exit ends the thread with status 0.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("hello from ring 3");
    exit(0);
}
