// Kernel panics: the one place a kernel bug ends up.
//
// The report names the CPU, the reason, every register (from the exception
// frame when there is one), the current task, and a backtrace symbolized from
// the symbol table embedded in the image (docs/debugging.md). It is written
// for the person who has to fix the bug from a serial log alone.
#pragma once

#include "lib/format.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}

[[noreturn]] void panic_from_exception(const x86::InterruptFrame& frame);
[[noreturn]] void panic_with_message(StringView message);

template<typename... Args>
[[noreturn]] void panic(StringView fmt, const Args&... args)
{
    char message[256];
    BufferSink sink(message, sizeof(message));
    format(sink, fmt, args...);
    panic_with_message(sink.view());
}

// What happens after the report: halt (default, so the user can read it and
// attach a debugger) or end QEMU with the failure code (test images).
enum class PanicAction { Halt, ExitQemu };
void set_panic_action(PanicAction action);

// Ends a failed boot or a panic the way set_panic_action() says.
[[noreturn]] void stop_after_failure();

} // namespace herald
