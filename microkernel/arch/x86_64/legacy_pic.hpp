// The two 8259 PICs of the PC/AT. Herald routes interrupts through the APICs
// (seed: "you must forget about using the PIC"), so the PICs are masked:
// left enabled, they could raise interrupts on vectors used for exceptions.
#pragma once

#include "cpu.hpp"

namespace herald::x86 {

inline void mask_legacy_pic()
{
    constexpr u16 kMasterData = 0x21;
    constexpr u16 kSlaveData = 0xA1;
    outb(kMasterData, 0xFF);
    outb(kSlaveData, 0xFF);
}

} // namespace herald::x86
