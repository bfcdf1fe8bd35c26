#include "cpu_features.hpp"

#include "cpu.hpp"

namespace herald::x86 {

namespace {

bool bit(u32 value, int index) { return (value >> index) & 1; }

void copy_registers(char* out, const u32* registers, usize count)
{
    __builtin_memcpy(out, registers, count * sizeof(u32));
}

} // namespace

CpuFeatures detect_cpu_features()
{
    CpuFeatures f;
    CpuidResult leaf0 = cpuid(0);
    u32 vendor[3] = { leaf0.ebx, leaf0.edx, leaf0.ecx };
    copy_registers(f.vendor, vendor, 3);

    CpuidResult leaf1 = cpuid(1);
    f.pcid = bit(leaf1.ecx, 17);
    f.x2apic = bit(leaf1.ecx, 21);
    f.xsave = bit(leaf1.ecx, 26);
    f.hypervisor = bit(leaf1.ecx, 31);
    if (f.hypervisor) {
        CpuidResult leaf = cpuid(0x40000000);
        u32 vendor_registers[3] = { leaf.ebx, leaf.ecx, leaf.edx };
        copy_registers(f.hypervisor_vendor, vendor_registers, 3);
    }

    if (leaf0.eax >= 7) {
        CpuidResult leaf7 = cpuid(7, 0);
        f.smep = bit(leaf7.ebx, 7);
        f.smap = bit(leaf7.ebx, 20);
    }

    u32 max_extended = cpuid(0x80000000).eax;
    if (max_extended >= 0x80000001) {
        CpuidResult ext1 = cpuid(0x80000001);
        f.nx = bit(ext1.edx, 20);
        f.page_1g = bit(ext1.edx, 26);
    }
    if (max_extended >= 0x80000004) {
        for (u32 i = 0; i < 3; ++i) {
            CpuidResult part = cpuid(0x80000002 + i);
            u32 registers[4] = { part.eax, part.ebx, part.ecx, part.edx };
            copy_registers(f.brand + 16 * i, registers, 4);
        }
    }
    if (max_extended >= 0x80000007)
        f.invariant_tsc = bit(cpuid(0x80000007).edx, 8);
    if (max_extended >= 0x80000008)
        f.physical_address_bits = static_cast<u8>(cpuid(0x80000008).eax & 0xFF);
    return f;
}

} // namespace herald::x86
