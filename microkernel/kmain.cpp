// kernel_main: the C++ half of boot, entered from boot/entry.asm in long mode
// with the boot tables live. Each step below is one concept with its own
// file; the order matters and is explained in docs/boot.md.
#include "acpi/acpi_tables.hpp"
#include "acpi/madt.hpp"
#include "acpi/mcfg.hpp"
#include "acpi/mp_table.hpp"
#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/fpu.hpp"
#include "arch/x86_64/user_copy.hpp"
#include "sched/scheduler.hpp"
#include "syscall/syscalls.hpp"
#include "arch/x86_64/interrupt_frame.hpp"
#include "arch/x86_64/ioapic.hpp"
#include "arch/x86_64/lapic.hpp"
#include "arch/x86_64/legacy_pic.hpp"
#include "arch/x86_64/smp_boot.hpp"
#include "arch/x86_64/vectors.hpp"
#include "smp/processor.hpp"
#include "smp/tlb_shootdown.hpp"
#include "smp/page_views.hpp"
#include "arch/x86_64/gdt.hpp"
#include "arch/x86_64/idt.hpp"
#include "arch/x86_64/serial.hpp"
#include "arch/x86_64/tsc.hpp"
#include "boot/command_line.hpp"
#include "object/fault_control.hpp"
#include "boot/multiboot1.hpp"
#include "boot/multiboot2.hpp"
#include "boot/rsdp.hpp"
#include "kernel.hpp"
#include "boot/boot_archive.hpp"
#include "pager/pager.hpp"
#include "services/services.hpp"
#include "log.hpp"
#include "mm/kernel_memory.hpp"
#include "mm/kernel_stacks.hpp"
#include "mm/layout.hpp"
#include "mm/physical_access.hpp"
#include "panic.hpp"

extern "C" const char __kernel_start[];
extern "C" const char __kernel_end[];
extern "C" void (*const __init_array_start[])();
extern "C" void (*const __init_array_end[])();

namespace herald {

namespace {

constexpr u32 kMultiboot1Magic = 0x2BADB002; // Multiboot 0.6.96 §3.2
constexpr u32 kMultiboot2Magic = 0x36D76289; // Multiboot2 §3.3
// A Multiboot2 information block larger than this is not believed.
constexpr u32 kMaxMultiboot2InfoSize = 1 * MiB;

BootInfo g_boot_info;
MemoryInventory g_inventory;
x86::CpuFeatures g_features;
x86::PagingSummary g_paging;
PlatformTopology g_topology;
McfgAreas g_ecam;
KernelPhysicalReader g_physical;

// Until tasks exist the boot CPU's interrupt stacks are static; the SMP
// bring-up gives every other CPU its own.
constexpr usize kBootCpu = 0;
alignas(16) u8 g_boot_cpu_interrupt_stacks[x86::kInterruptStackCount][x86::kInterruptStackSize];

[[noreturn]] void boot_failed(StringView what, Error error)
{
    klog("herald: boot failed: {}: {}", what, error_name(error));
    stop_after_failure();
}

void run_global_constructors()
{
    for (auto* constructor = __init_array_start; constructor != __init_array_end; ++constructor)
        (*constructor)();
}

void load_descriptor_tables()
{
    x86::InterruptStackTops stacks {};
    for (usize i = 0; i < x86::kInterruptStackCount; ++i)
        stacks.top[i] = reinterpret_cast<u64>(&g_boot_cpu_interrupt_stacks[i][x86::kInterruptStackSize]);
    x86::load_gdt_and_tss(kBootCpu, stacks);
    x86::install_idt();
}

void log_cpu()
{
    const x86::CpuFeatures& f = g_features;
    klog("herald: cpu: {} \"{}\"{}{}", f.vendor, StringView::from_bounded(f.brand, sizeof(f.brand)),
        f.hypervisor ? ", hypervisor " : "", StringView::from_bounded(f.hypervisor_vendor, sizeof(f.hypervisor_vendor)));
    klog("herald: cpu features: nx={} smep={} smap={} 1g-pages={} pcid={} xsave={} x2apic={} invariant-tsc={} "
         "hypervisor={}",
        f.nx, f.smep, f.smap, f.page_1g, f.pcid, f.xsave, f.x2apic, f.invariant_tsc, f.hypervisor);
}

void parse_boot_info(u32 magic, u32 info_address)
{
    if (magic == kMultiboot2Magic) {
        auto size = g_physical.read(PhysicalAddress(info_address), sizeof(u32));
        if (!size)
            boot_failed("Multiboot2 information unreadable", Error::OutOfRange);
        u32 total_size = size->read<u32>(0).value();
        if (total_size > kMaxMultiboot2InfoSize)
            boot_failed("Multiboot2 information too large", Error::BadLength);
        auto block = g_physical.read(PhysicalAddress(info_address), total_size);
        if (!block)
            boot_failed("Multiboot2 information unreadable", Error::OutOfRange);
        auto result = parse_multiboot2(*block, g_boot_info);
        if (result.is_error())
            boot_failed("cannot use the Multiboot2 information", result.error());
    } else {
        auto result = parse_multiboot1(g_physical, PhysicalAddress(info_address), g_boot_info);
        if (result.is_error())
            boot_failed("cannot use the Multiboot information", result.error());
    }
    if (g_boot_info.memory_truncated)
        klog("herald: warning: the memory map has more than {} entries; the rest is ignored",
            BootInfo::kMaxMemoryRegions);
    if (!g_boot_info.acpi)
        g_boot_info.acpi = find_rsdp(g_physical);
}

const char* memory_type_name(MemoryType type)
{
    switch (type) {
    case MemoryType::Usable: return "usable";
    case MemoryType::Reserved: return "reserved";
    case MemoryType::AcpiReclaimable: return "ACPI reclaimable";
    case MemoryType::AcpiNvs: return "ACPI NVS";
    case MemoryType::BadMemory: return "bad memory";
    }
    return "unknown";
}

void log_boot_info()
{
    const BootInfo& info = g_boot_info;
    klog("herald: booted by {} via {}", info.loader_name_view().is_empty() ? StringView("an unnamed loader") : info.loader_name_view(),
        info.protocol == BootProtocol::Multiboot2 ? "Multiboot2" : "Multiboot");
    klog("herald: command line \"{}\"", info.command_line_view());
    if (info.command_line_view().length() == BootInfo::kMaxCommandLine - 1)
        klog("herald: warning: the command line fills the kernel's {}-character buffer: anything longer was cut",
            BootInfo::kMaxCommandLine - 1);
    for (usize i = 0; i < info.memory_count; ++i) {
        const MemoryRegion& region = info.memory[i];
        klog("herald: memory map {:#014x}-{:#014x} {}", region.base.get(), region.base.get() + region.length,
            memory_type_name(region.type));
    }
    for (usize i = 0; i < info.module_count; ++i) {
        const BootModule& module = info.modules[i];
        klog("herald: module {} \"{}\" {} bytes at {:#x}", i, module.name_view().basename(),
            module.end - module.start, module.start.get());
    }
    if (info.acpi) {
        klog("herald: ACPI RSDP revision {} oem \"{}\" rsdt={:#x} xsdt={:#x}", info.acpi->revision,
            StringView::from_bounded(info.acpi->oem_id, sizeof(info.acpi->oem_id)), info.acpi->rsdt_address,
            info.acpi->xsdt_address);
    } else {
        klog("herald: ACPI RSDP not found (no tag, nothing in the BIOS areas)");
    }
}

void take_memory_inventory()
{
    // What the kernel itself occupies must never be handed out: low memory
    // (firmware structures, later the AP trampoline), the image, the modules.
    PhysicalRange reserved[2 + BootInfo::kMaxModules];
    usize count = 0;
    reserved[count++] = { PhysicalAddress(0), layout::kLowMemoryEnd };
    u64 image_start = reinterpret_cast<u64>(__kernel_start);
    reserved[count++] = { PhysicalAddress(image_start), reinterpret_cast<u64>(__kernel_end) - image_start };
    for (usize i = 0; i < g_boot_info.module_count; ++i) {
        const BootModule& module = g_boot_info.modules[i];
        reserved[count++] = { module.start, module.end - module.start };
    }
    auto result = MemoryInventory::build(g_inventory, g_boot_info.memory, g_boot_info.memory_count, reserved, count);
    if (result.is_error())
        boot_failed("cannot make sense of the memory map", result.error());
    if (g_inventory.usable_bytes() == 0)
        boot_failed("the memory map lists no usable memory", Error::NotFound);
    klog("herald: memory {} MiB usable", g_inventory.usable_bytes() / MiB);
    kernel_memory_init(g_inventory);
}

void enable_paging()
{
    auto result = x86::enable_kernel_paging(g_inventory, g_features);
    if (result.is_error())
        boot_failed("cannot build the kernel page tables", result.error());
    g_paging = result.release_value();
    physical_access_use_physmap(g_inventory.ram(), g_boot_info);
    kernel_stacks_init();
    klog("herald: page tables: {} KiB, physmap at {:#x}, nx={} wp=true smep={} smap={}",
        g_paging.tables * layout::kPageSize / KiB, layout::kPhysmapBase, g_paging.nx, g_paging.smep, g_paging.smap);
    klog("herald: memory {} KiB free for allocation", g_inventory.free_bytes() / KiB);
}

void calibrate_clock()
{
    // The scheduler tick and every timeout are measured with the TSC.
    if (!tsc::calibrate())
        boot_failed("cannot measure time: the PIT does not answer and CPUID gives no TSC frequency",
            Error::Unsupported);
    klog("herald: tsc {} kHz (from the {})", *tsc::ticks_per_ms(), tsc::calibration_source());
}

// CPUs and interrupt controllers: the ACPI MADT first, the seed's MP table
// as the fallback (ACPI-less or broken firmware).
void discover_platform()
{
    auto acpi_option = command_line_value(g_boot_info.command_line_view(), "acpi");
    bool acpi_off = acpi_option && *acpi_option == "off";
    if (acpi_off)
        klog("smp: acpi=off on the command line: using the MP table");
    if (g_boot_info.acpi && !acpi_off) {
        auto madt = find_table(g_physical, *g_boot_info.acpi, "APIC");
        if (!madt.is_error()) {
            auto parsed = parse_madt(madt.value().bytes, g_topology);
            if (!parsed.is_error())
                return;
            klog("smp: the ACPI MADT is unusable ({}); trying the MP table", error_name(parsed.error()));
        } else {
            klog("smp: no usable ACPI MADT ({}); trying the MP table", error_name(madt.error()));
        }
    }
    g_topology = PlatformTopology {};
    if (auto pointer = find_mp_floating_pointer(g_physical)) {
        auto table = read_mp_config_table(g_physical, *pointer);
        if (!table.is_error() && !parse_mp_config_table(table.value(), g_topology).is_error())
            return;
        klog("smp: the MP table is unusable");
    }
    g_topology = PlatformTopology {};
    klog("smp: no CPU tables; running on the boot CPU only");
}

// Where PCI's ECAM areas are (ACPI MCFG): for the PCI server, which cannot
// read ACPI tables itself (they are RAM). None: it uses ports 0xCF8/0xCFC.
void find_pci_ecam()
{
    if (!g_boot_info.acpi)
        return;
    auto mcfg = find_table(g_physical, *g_boot_info.acpi, kMcfgSignature);
    if (mcfg.is_error())
        return; // the i440fx machine has none
    if (auto parsed = parse_mcfg(mcfg.value().bytes, g_ecam); parsed.is_error()) {
        g_ecam = McfgAreas {};
        klog("herald: warning: the ACPI MCFG is unusable ({}): PCI through ports only", error_name(parsed.error()));
    }
}

const char* topology_source()
{
    switch (g_topology.source) {
    case PlatformTopology::Source::Acpi: return "ACPI MADT";
    case PlatformTopology::Source::MpTable: return "MP table";
    case PlatformTopology::Source::None: return "no table";
    }
    return "?";
}

void count_ping(x86::InterruptFrame&) { __atomic_add_fetch(&this_processor().ping_count, 1, __ATOMIC_RELAXED); }

void bring_up_processors()
{
    discover_platform();
    find_pci_ecam();
    x86::mask_legacy_pic();
    u64 lapic_base = g_topology.local_apic_address ? g_topology.local_apic_address
                                                   : x86::rdmsr(x86::kMsrApicBase) & ~0xFFFull;
    x86::lapic::init_boot_cpu(PhysicalAddress(lapic_base), g_features.x2apic);
    x86::lapic::init_this_cpu();
    x86::init_boot_processor();
    x86::ioapic::init(g_topology);
    x86::lapic::calibrate_timer();
    x86::set_interrupt_handler(x86::kVectorPingIpi, count_ping);
    x86::fpu::init_this_cpu();
    syscalls_init_this_cpu();
    x86::user_copy_init(g_features.smap);
    scheduler_start_boot_cpu(); // before the APs, whose idle loops schedule
    auto shootdown_option = command_line_value(g_boot_info.command_line_view(), "tlb_shootdown");
    tlb_shootdown_init(shootdown_option && *shootdown_option == "off");
    if (tlb_shootdown_disabled())
        klog("herald: warning: tlb_shootdown=off: CPUs keep stale TLB entries (only to show that a test catches them)");
    auto views_option = command_line_value(g_boot_info.command_line_view(), "page_views");
    if (views_option && *views_option == "off") {
        page_views_ignored_by_unmap();
        klog("herald: warning: page_views=off: MemoryUnmap hands frames back under the kernel's copies (only to show that a test catches it)");
    }
    klog("smp: {} CPUs listed in the {}, {} I/O APIC inputs, local APIC in {} mode, timer {} ticks/ms",
        g_topology.cpu_count, topology_source(), x86::ioapic::input_count(),
        x86::lapic::x2apic_mode() ? "x2APIC" : "xAPIC", x86::lapic::timer_ticks_per_ms());
    x86::SmpResult result = x86::start_application_processors(g_topology, g_boot_info);
    klog("smp: {}/{} CPUs online", result.online, result.found);
}

} // namespace

const BootInfo& boot_info() { return g_boot_info; }
const PlatformTopology& platform_topology() { return g_topology; }
const McfgAreas& pci_ecam_areas() { return g_ecam; }
const MemoryInventory& memory_inventory() { return g_inventory; }
const x86::CpuFeatures& cpu_features() { return g_features; }
const x86::PagingSummary& paging_summary() { return g_paging; }

} // namespace herald

extern "C" [[noreturn]] void kernel_main(herald::u32 magic, herald::u32 info_address)
{
    using namespace herald;
    serial::init();
    run_global_constructors();
    klog("");
    klog("herald: Herald microkernel (x86-64) starting");
    log_placement();
    g_features = x86::detect_cpu_features();
    load_descriptor_tables();
    log_cpu();
    if (magic != kMultiboot1Magic && magic != kMultiboot2Magic)
        boot_failed("unknown boot protocol", Error::BadMagic);
    parse_boot_info(magic, info_address);
    log_boot_info();
    take_memory_inventory();
    enable_paging();
    calibrate_clock();
    bring_up_processors();
    x86::enable_interrupts(); // the boot thread is a thread like any other now
    boot_archive_init();
    pager_start();
    klog("herald: kernel ready in {} ms", tsc::ms_since_boot().value());
    auto faults_option = command_line_value(g_boot_info.command_line_view(), "faults");
    FaultControl::set_enabled(faults_option && *faults_option == "on");
    if (FaultControl::enabled())
        klog("herald: warning: faults=on: the fault injector may kill and corrupt ring-3 servers (docs/reliability.md)");
    after_boot();
}
