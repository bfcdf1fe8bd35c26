// klog(): one formatted line on the kernel log (COM1).
//
// Lines that scripts and tests rely on keep exact prefixes; they are listed
// in docs/architecture.md ("Log lines"). Change them only together with the
// tests that read them.
#pragma once

#include "arch/x86_64/serial.hpp"

namespace herald {

template<typename... Args>
void klog(StringView fmt, const Args&... args)
{
    format(serial::sink(), fmt, args...);
    serial::write("\n", 1);
}

} // namespace herald
