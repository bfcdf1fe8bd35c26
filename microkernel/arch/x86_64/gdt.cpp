#include "gdt.hpp"

#include "cpu.hpp"

#include "../../lib/assert.hpp"

namespace herald::x86 {

TssWithIoBitmap g_tss[kMaxCpus];

namespace {

// Descriptor bits (SDM Vol. 3A §3.4.5): present, DPL, S (code/data), type.
constexpr u64 kPresent = 1ull << 47;
constexpr u64 kUserDpl = 3ull << 45;
constexpr u64 kCodeOrData = 1ull << 44;
constexpr u64 kExecutable = 1ull << 43;
constexpr u64 kReadWrite = 1ull << 41;
constexpr u64 kLongMode = 1ull << 53;
constexpr u64 kAvailableTss = 0x9ull << 40;

constexpr u64 kKernelCode = kPresent | kCodeOrData | kExecutable | kReadWrite | kLongMode;
constexpr u64 kKernelData = kPresent | kCodeOrData | kReadWrite;
constexpr u64 kUserCode = kKernelCode | kUserDpl;
constexpr u64 kUserData = kKernelData | kUserDpl;

constexpr usize kFixedEntries = kFirstTssSelector / 8;
constexpr usize kEntriesPerTss = 2; // a 64-bit TSS descriptor is 16 bytes
constexpr usize kGdtEntries = kFixedEntries + kEntriesPerTss * kMaxCpus;
static_assert(kGdtEntries * 8 <= 65536, "the GDT limit is 16 bits");

alignas(16) u64 g_gdt[kGdtEntries];

void write_tss_descriptor(usize cpu_index)
{
    u64 base = reinterpret_cast<u64>(&g_tss[cpu_index]);
    u64 limit = __builtin_offsetof(TssWithIoBitmap, loaded) - 1;
    usize slot = kFixedEntries + kEntriesPerTss * cpu_index;
    g_gdt[slot] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | kAvailableTss | kPresent
        | ((base >> 24) & 0xFF) << 56;
    g_gdt[slot + 1] = base >> 32;
}

void load(const DescriptorTablePointer& pointer)
{
    // Reload every segment register: CS through a far return, because long
    // mode has no far jump with an immediate selector.
    asm volatile(
        "lgdt %0\n"
        "mov %1, %%ds\n"
        "mov %1, %%es\n"
        "mov %1, %%ss\n"
        "pushq %2\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        :
        : "m"(pointer), "r"(static_cast<u64>(kKernelDataSelector)), "i"(kKernelCodeSelector)
        : "rax", "memory");
}

} // namespace

void load_gdt_and_tss(usize cpu_index, const InterruptStackTops& stacks)
{
    HERALD_ASSERT(cpu_index < kMaxCpus);
    g_gdt[0] = 0;
    g_gdt[kKernelCodeSelector / 8] = kKernelCode;
    g_gdt[kKernelDataSelector / 8] = kKernelData;
    g_gdt[(kUserDataSelector & ~3) / 8] = kUserData;
    g_gdt[(kUserCodeSelector & ~3) / 8] = kUserCode;

    TaskStateSegment& tss = g_tss[cpu_index].tss;
    tss.io_map_base = sizeof(TaskStateSegment);
    __builtin_memset(g_tss[cpu_index].io_bitmap, 0xFF, sizeof(g_tss[cpu_index].io_bitmap));
    g_tss[cpu_index].io_bitmap_end = 0xFF;
    for (usize i = 0; i < kInterruptStackCount; ++i)
        tss.ist[i] = stacks.top[i];
    write_tss_descriptor(cpu_index);

    DescriptorTablePointer pointer { static_cast<u16>(sizeof(g_gdt) - 1), reinterpret_cast<u64>(g_gdt) };
    load(pointer);
    u16 tss_selector = static_cast<u16>(kFirstTssSelector + 16 * cpu_index);
    asm volatile("ltr %0" : : "r"(tss_selector));
}

namespace {

void set_port_bit(u8* bitmap, u32 port, bool denied)
{
    if (denied)
        bitmap[port / 8] |= static_cast<u8>(1u << (port % 8));
    else
        bitmap[port / 8] &= static_cast<u8>(~(1u << (port % 8)));
}

// Ports [first, last] denied or allowed: whole bytes at once, the ragged
// ends bit by bit (a range may cover all 65,536 ports).
void set_port_bits(u8* bitmap, u32 first, u32 last, bool denied)
{
    u32 port = first;
    for (; port <= last && port % 8 != 0; ++port)
        set_port_bit(bitmap, port, denied);
    if (port + 8 <= last + 1) {
        u32 whole = (last + 1 - port) / 8;
        __builtin_memset(bitmap + port / 8, denied ? 0xFF : 0x00, whole);
        port += whole * 8;
    }
    for (; port <= last; ++port)
        set_port_bit(bitmap, port, denied);
}

u64 g_next_io_stamp = 1;

} // namespace

bool IoPortSet::allows(u16 first, u16 last) const
{
    for (u32 i = 0; i < count; ++i) {
        if (ranges[i].first <= first && last <= ranges[i].last)
            return true;
    }
    return false;
}

bool IoPortSet::add(u16 first, u16 last)
{
    HERALD_ASSERT(first <= last);
    if (allows(first, last))
        return true;
    if (count == kMaxRanges)
        return false;
    ranges[count++] = Range { first, last };
    stamp = __atomic_fetch_add(&g_next_io_stamp, 1, __ATOMIC_RELAXED);
    return true;
}

// Out of line: the switch's common case must not pay for this path's
// registers (measured: +8 instructions per switch when it was inlined).
[[gnu::noinline]] void reload_io_ports(usize cpu_index, const IoPortSet& ports)
{
    TssWithIoBitmap& block = g_tss[cpu_index];
    for (u32 i = 0; i < block.loaded.count; ++i)
        set_port_bits(block.io_bitmap, block.loaded.ranges[i].first, block.loaded.ranges[i].last, true);
    for (u32 i = 0; i < ports.count; ++i)
        set_port_bits(block.io_bitmap, ports.ranges[i].first, ports.ranges[i].last, false);
    block.loaded = ports;
}

} // namespace herald::x86
