// Self-tests of what the boot work set up: boot information, memory
// inventory, page tables, descriptor tables, the clock and the symbol table.
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/gdt.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/debug/kernel_symbols.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/mm/kernel_memory.hpp"
#include "microkernel/mm/layout.hpp"
#include "microkernel/pager/managed_memory.hpp"
#include "microkernel/mm/physical_access.hpp"
#include "microkernel/panic.hpp"
#include "selftest.hpp"

using namespace herald;

extern "C" const char __kernel_start[];
extern "C" const char __rodata_start[];
extern "C" const char __data_start[];
extern "C" const char __kernel_end[];

namespace {

Optional<Translation> translate(u64 address) { return x86::kernel_page_tables().translate(VirtualAddress(address)); }

u64 address_of(const void* p) { return reinterpret_cast<u64>(p); }

constexpr char kArchiveMagic[] = "HERALDAR"; // the boot archive's magic (docs/boot-archive.md)

volatile u64 g_probe = 0x1234'5678'9abc'def0;
const u64 g_constant = 42;

} // namespace

HERALD_SELFTEST(boot_info_has_a_memory_map)
{
    EXPECT(boot_info().memory_count > 0);
    EXPECT(memory_inventory().usable_bytes() >= 16 * MiB);
    EXPECT(memory_inventory().free_bytes() < memory_inventory().usable_bytes());
}

HERALD_SELFTEST(boot_module_is_the_archive)
{
    const BootInfo& info = boot_info();
    EXPECT_EQ(info.module_count, 1u);
    if (info.module_count < 1)
        return;
    const BootModule& module = info.modules[0];
    EXPECT(module.name_view().basename() == "herald.archive");
    EXPECT(module.end > module.start);
    EXPECT(module.start.is_aligned_to(layout::kPageSize)); // both headers ask for page alignment
    auto bytes = KernelPhysicalReader().read(module.start, sizeof(kArchiveMagic) - 1);
    EXPECT(bytes.has_value());
    if (bytes)
        EXPECT(bytes->starts_with(kArchiveMagic, sizeof(kArchiveMagic) - 1));
}

HERALD_SELFTEST(memory_inventory_keeps_kernel_and_modules_out_of_free_memory)
{
    const MemoryInventory& inventory = memory_inventory();
    EXPECT(inventory.usable().contains(PhysicalAddress(address_of(__kernel_start))));
    EXPECT(!inventory.free().contains(PhysicalAddress(address_of(__kernel_start))));
    EXPECT(!inventory.free().contains(PhysicalAddress(address_of(__kernel_end) - 1)));
    EXPECT(!inventory.free().contains(PhysicalAddress(0)));
    for (usize i = 0; i < boot_info().module_count; ++i)
        EXPECT(!inventory.free().contains(boot_info().modules[i].start));
    EXPECT(!inventory.free().contains(paging_summary().root));
}

HERALD_SELFTEST(acpi_root_points_at_a_real_table)
{
    const auto& acpi = boot_info().acpi;
    EXPECT(acpi.has_value());
    if (!acpi)
        return;
    u64 table = acpi->revision >= 2 && acpi->xsdt_address ? acpi->xsdt_address : acpi->rsdt_address;
    const char* signature = acpi->revision >= 2 && acpi->xsdt_address ? "XSDT" : "RSDT";
    auto header = KernelPhysicalReader().read(PhysicalAddress(table), 36);
    EXPECT(header.has_value());
    if (header)
        EXPECT(header->starts_with(signature, 4));
}

HERALD_SELFTEST(kernel_text_is_read_only_and_executable)
{
    auto text = translate(address_of(reinterpret_cast<const void*>(&translate)));
    EXPECT(text.has_value());
    if (!text)
        return;
    EXPECT(!text->flags.writable);
    EXPECT(text->flags.executable);
    EXPECT(!text->flags.user);
    EXPECT_EQ(text->page_size, layout::kPageSize);
}

HERALD_SELFTEST(kernel_data_is_not_executable)
{
    auto data = translate(address_of(const_cast<u64*>(&g_probe)));
    auto rodata = translate(address_of(&g_constant));
    EXPECT(data.has_value() && rodata.has_value());
    if (!data || !rodata)
        return;
    EXPECT(data->flags.writable);
    EXPECT(!rodata->flags.writable);
    if (cpu_features().nx) {
        EXPECT(!data->flags.executable);
        EXPECT(!rodata->flags.executable);
    }
}

HERALD_SELFTEST(physmap_alias_of_the_kernel_image_is_read_only)
{
    auto text = translate(layout::physmap_address(address_of(reinterpret_cast<const void*>(&translate))));
    auto data = translate(layout::physmap_address(address_of(const_cast<u64*>(&g_probe))));
    EXPECT(text.has_value() && data.has_value());
    if (text && data) {
        EXPECT(!text->flags.writable);
        EXPECT(!data->flags.writable);
        EXPECT(!cpu_features().nx || !text->flags.executable);
    }
}

HERALD_SELFTEST(null_page_is_not_mapped)
{
    EXPECT(!translate(0).has_value());
    EXPECT(!translate(layout::kPageSize - 1).has_value());
    EXPECT(translate(layout::kPageSize).has_value());
}

HERALD_SELFTEST(kernel_region_is_identity_mapped_and_supervisor_only)
{
    for (u64 address = layout::kPageSize; address < layout::kKernelRegionEnd; address += 1 * MiB) {
        auto translation = translate(address);
        EXPECT(translation.has_value());
        if (!translation)
            return;
        EXPECT_EQ(translation->physical.get(), address);
        EXPECT(!translation->flags.user);
    }
    EXPECT(!translate(layout::kKernelRegionEnd).has_value());
}

HERALD_SELFTEST(physmap_shows_the_same_memory)
{
    u64 physical = address_of(const_cast<u64*>(&g_probe));
    auto* alias = reinterpret_cast<volatile u64*>(layout::physmap_address(physical));
    EXPECT_EQ(*alias, g_probe);
    g_probe = 0x0ddba11; // a write through the identity map shows in the alias
    EXPECT_EQ(*alias, 0x0ddba11u);
    for (const PhysicalRange& range : memory_inventory().ram()) {
        auto last = translate(layout::physmap_address(range.end().get() - 1));
        EXPECT(last.has_value());
        if (last)
            EXPECT(!last->flags.user);
    }
}

// The physmap reaches the top of RAM: on a machine with RAM above 4 GiB this
// is memory no 32-bit pointer can reach. That memory is the memory server's
// (handed over at boot; still the kernel's when there is too little to hand
// over), and the server may be building its frame table at the start of it
// right now: so the first and last page are only looked up and read, and
// the write round trip uses a page the kernel allocates for itself. (A
// pattern written there with the old word put back once raced with the
// server's first writes and broke its frame table.)
HERALD_SELFTEST(highest_free_memory_works_through_the_physmap)
{
    const PhysicalRangeSet& managed = managed_ranges();
    const PhysicalRangeSet& free = managed.count() ? managed : memory_inventory().free();
    EXPECT(free.count() > 0);
    if (free.count() == 0)
        return;
    const PhysicalRange& highest = free[free.count() - 1];
    u64 pages[] = { highest.base.get(), highest.end().get() - layout::kPageSize };
    for (u64 page : pages) {
        auto translation = translate(layout::physmap_address(page));
        EXPECT(translation.has_value());
        if (!translation)
            return;
        EXPECT_EQ(translation->physical.get(), page);
        EXPECT(translation->flags.writable && !translation->flags.user);
        (void)*reinterpret_cast<volatile u64*>(layout::physmap_address(page)); // no fault
    }
    auto own = allocate_kernel_frame(); // kept: kernel pages are never given back
    EXPECT(own.has_value());
    if (!own)
        return;
    auto* word = reinterpret_cast<volatile u64*>(layout::physmap_address(own->get()));
    u64 pattern = 0x5eed'0000'0000'0000ull ^ own->get();
    *word = pattern;
    EXPECT_EQ(*reinterpret_cast<volatile u64*>(kernel_pointer(*own)), pattern); // one page, two maps
    klog("selftest: physmap reaches physical {:#x}", pages[1]);
}

HERALD_SELFTEST(protection_bits_match_the_cpu)
{
    EXPECT(x86::read_cr0() & x86::kCr0WriteProtect);
    EXPECT_EQ((x86::read_cr4() & x86::kCr4Smep) != 0, cpu_features().smep);
    EXPECT_EQ((x86::read_cr4() & x86::kCr4Smap) != 0, cpu_features().smap);
    EXPECT_EQ((x86::rdmsr(x86::kMsrEfer) & x86::kEferNxe) != 0, cpu_features().nx);
    EXPECT_EQ(x86::read_cr3() & ~0xFFFull, paging_summary().root.get());
}

HERALD_SELFTEST(descriptor_tables_are_loaded)
{
    x86::DescriptorTablePointer gdt {}, idt {};
    u16 task_register = 0;
    asm volatile("sgdt %0" : "=m"(gdt));
    asm volatile("sidt %0" : "=m"(idt));
    asm volatile("str %0" : "=r"(task_register));
    EXPECT_EQ(idt.limit, 256u * 16 - 1);
    EXPECT(gdt.limit >= x86::kFirstTssSelector + 16 * x86::kMaxCpus - 1);
    EXPECT_EQ(task_register, x86::kFirstTssSelector);
    EXPECT(x86::tss_of(0).ist[0] != 0);
}

HERALD_SELFTEST(tsc_is_calibrated)
{
    auto rate = tsc::ticks_per_ms();
    EXPECT(rate.has_value());
    if (rate)
        EXPECT(*rate > 10'000); // a TSC slower than 10 MHz would be a bug
    EXPECT(tsc::boot_timestamp() != 0);
    EXPECT(tsc::ms_since_boot().has_value());
}

HERALD_SELFTEST(symbol_table_names_kernel_functions)
{
    EXPECT(kernel_symbol_count() > 50);
    char text[128];
    BufferSink sink(text, sizeof(text));
    print_symbolized(sink, address_of(reinterpret_cast<const void*>(&herald::boot_info)) + 1);
    StringView expected = "herald::boot_info()+0x1";
    StringView printed = sink.view();
    bool found = false;
    for (usize i = 0; i + expected.length() <= printed.length(); ++i)
        found = found || printed.substring(i, expected.length()) == expected;
    EXPECT(found);
}

// ---- deliberate faults: run only by name, each must end in a panic report ----

[[gnu::noinline]] static void write_through_null_pointer()
{
    *reinterpret_cast<volatile u64*>(8) = 1;
}

HERALD_SELFTEST(fault_page_fault)
{
    write_through_null_pointer();
}

HERALD_SELFTEST(fault_invalid_opcode)
{
    asm volatile("ud2");
}

// Recurses until the stack runs into its guard page. The #PF cannot be
// delivered on the overflowed stack, so the CPU raises #DF, which runs on
// its own IST stack and reports.
[[gnu::noinline]] static u64 recurse_forever(u64 depth)
{
    volatile u8 frame[512];
    frame[0] = static_cast<u8>(depth);
    if (depth == ~0ull) // never true; keeps the compiler from calling this an infinite loop
        return frame[0];
    return recurse_forever(depth + 1) + frame[0];
}

HERALD_SELFTEST(fault_stack_overflow)
{
    EXPECT(recurse_forever(0) != 0);
}

HERALD_SELFTEST(fault_kernel_panic)
{
    panic("deliberate panic from {}", "fault_kernel_panic");
}
