// What the compiler expects a C++ runtime to provide, for a kernel without
// one: the hooks for pure virtual calls and static destructors. (The memory
// functions it may call are in lib/memory_functions.cpp.)
#include "lib/types.hpp"
#include "panic.hpp"

extern "C" {

void __cxa_pure_virtual() { herald::panic("pure virtual function called"); }

// The kernel never exits, so destructors of globals never need to run.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void* __dso_handle = nullptr;

} // extern "C"
