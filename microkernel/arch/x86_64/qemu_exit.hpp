// Ending QEMU from inside the guest, for tests (docs/testing.md).
//
// QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4)
// makes QEMU exit with status (value << 1) | 1 when the guest writes `value`
// to its port. Herald uses two values so that no other way QEMU can end
// (0 = normal quit, 1 = QEMU error, a timeout, a triple fault with
// -no-reboot) can be mistaken for a pass:
//   success: write 0x10 -> QEMU exits 33
//   failure: write 0x11 -> QEMU exits 35
// Without the device the write does nothing and the CPU halts instead.
#pragma once

#include "cpu.hpp"

namespace herald::x86 {

inline constexpr u16 kQemuDebugExitPort = 0xF4;

enum class QemuExitCode : u8 {
    Success = 0x10,
    Failure = 0x11,
};

[[noreturn]] inline void qemu_exit(QemuExitCode code)
{
    outb(kQemuDebugExitPort, static_cast<u8>(code));
    halt_forever();
}

} // namespace herald::x86
