// What this CPU can do, read once from CPUID at boot (SDM Vol. 2A, CPUID).
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

struct CpuFeatures {
    char vendor[13] {};
    char brand[49] {};
    char hypervisor_vendor[13] {}; // CPUID 0x40000000, when running under one
    bool nx { false };          // 0x80000001 EDX[20]: no-execute pages
    bool page_1g { false };     // 0x80000001 EDX[26]: 1 GiB pages
    bool smep { false };        // 7.0 EBX[7]
    bool smap { false };        // 7.0 EBX[20]
    bool pcid { false };        // 1 ECX[17]
    bool xsave { false };       // 1 ECX[26]
    bool x2apic { false };      // 1 ECX[21]
    bool invariant_tsc { false }; // 0x80000007 EDX[8]
    bool hypervisor { false };  // 1 ECX[31]
    u8 physical_address_bits { 36 };
};

CpuFeatures detect_cpu_features();

} // namespace herald::x86
