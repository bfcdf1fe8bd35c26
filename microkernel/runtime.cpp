// What the compiler expects a C++ runtime to provide, for a kernel without
// one: the memory functions it may emit calls to, and the hooks for pure
// virtual calls and static destructors.
#include "lib/types.hpp"
#include "panic.hpp"

extern "C" {

void* memcpy(void* destination, const void* source, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    for (size_t i = 0; i < count; ++i)
        d[i] = s[i];
    return destination;
}

void* memmove(void* destination, const void* source, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    if (d < s) {
        for (size_t i = 0; i < count; ++i)
            d[i] = s[i];
    } else {
        for (size_t i = count; i > 0; --i)
            d[i - 1] = s[i - 1];
    }
    return destination;
}

void* memset(void* destination, int value, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    for (size_t i = 0; i < count; ++i)
        d[i] = static_cast<unsigned char>(value);
    return destination;
}

int memcmp(const void* a, const void* b, size_t count)
{
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

void __cxa_pure_virtual() { herald::panic("pure virtual function called"); }

// The kernel never exits, so destructors of globals never need to run.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void* __dso_handle = nullptr;

} // extern "C"
