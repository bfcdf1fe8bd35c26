// hello: the smallest real program. Proves that a program is loaded at
// 0x08000000, enters ring 3 at _start, prints through the console server
// (or the kernel log, when there is no console: println falls back to
// DebugWrite) and that returning from herald_main ends it with status 0.
#include "user/runtime/herald.hpp"

extern "C" void _start(); // user/runtime/start.asm: the first byte of the program

extern "C" int64_t herald_main(uint64_t)
{
    herald::user::println("hello from ring 3, loaded at {:#x}", reinterpret_cast<uint64_t>(&_start));
    return 0;
}
