#include "smp_boot.hpp"

#include "../../mm/kernel_stacks.hpp"

#include "../../log.hpp"
#include "../../mm/kernel_memory.hpp"
#include "../../mm/layout.hpp"
#include "../../smp/processor.hpp"
#include "traps.hpp"
#include "cpu.hpp"
#include "fpu.hpp"
#include "gdt.hpp"
#include "idt.hpp"
#include "lapic.hpp"
#include "paging.hpp"
#include "tsc.hpp"

extern "C" const herald::u8 ap_trampoline_start[];
extern "C" const herald::u8 ap_trampoline_end[];
extern "C" const char ap_long_mode_entry[];
extern "C" herald::u8 boot_pml4[];
extern "C" herald::u8 boot_stack_top[];

namespace herald::x86 {

namespace {

// Where boot/ap_trampoline.asm keeps the parameters the boot CPU fills in.
constexpr usize kTrampolineParameters = 0xFC0;
struct [[gnu::packed]] TrampolineParameters {
    u32 long_mode_target_offset;
    u16 long_mode_target_selector;
    u16 padding;
    u64 boot_cr3;
    u64 stack_top;
    u64 processor;
    u64 final_cr3;
    u64 efer_bits;
};
static_assert(__builtin_offsetof(TrampolineParameters, boot_cr3) == 8, "ap_trampoline.asm: parameter_boot_cr3");
static_assert(__builtin_offsetof(TrampolineParameters, stack_top) == 16, "ap_trampoline.asm: parameter_stack_top");
static_assert(__builtin_offsetof(TrampolineParameters, processor) == 24, "ap_trampoline.asm: parameter_processor");
static_assert(__builtin_offsetof(TrampolineParameters, final_cr3) == 32, "entry.asm: TRAMPOLINE_FINAL_CR3");
static_assert(__builtin_offsetof(TrampolineParameters, efer_bits) == 40, "entry.asm: TRAMPOLINE_EFER_BITS");
constexpr u16 kTrampolineCode64Selector = 0x18;

// The STARTUP message can only name a page below 1 MiB. Low memory that the
// firmware calls usable and that holds no module will do; 0x8000 is the
// traditional choice and free on every PC firmware Herald has met.
constexpr u64 kPreferredTrampolinePage = 0x8000;
constexpr u64 kConventionalMemoryEnd = 0xA0000;

// Timing of INIT-STARTUP-STARTUP (SDM Vol. 3A §9.4.4.1; MP spec B.4): 10 ms
// after INIT, a STARTUP, then a second one if the CPU has not answered after
// 200 us. Then Herald gives a slow (emulated) CPU a generous time to finish.
constexpr u64 kInitDelayUs = 10'000;
constexpr u64 kStartupRetryUs = 200;
constexpr u64 kStartTimeoutUs = 500'000;
constexpr u64 kOnlineTimeoutUs = 2'000'000;


alignas(Processor) unsigned char g_boot_processor_storage[sizeof(Processor)];

bool range_is_usable_low_memory(const BootInfo& info, u64 start, u64 end)
{
    bool inside_usable = false;
    for (usize i = 0; i < info.memory_count; ++i) {
        const MemoryRegion& region = info.memory[i];
        u64 region_end = region.base.get() + region.length;
        bool overlaps = region.base.get() < end && start < region_end;
        if (overlaps && region.type != MemoryType::Usable)
            return false;
        if (region.type == MemoryType::Usable && region.base.get() <= start && end <= region_end)
            inside_usable = true;
    }
    for (usize i = 0; i < info.module_count; ++i) {
        if (info.modules[i].start.get() < end && start < info.modules[i].end.get())
            return false;
    }
    return inside_usable;
}

Optional<u64> choose_trampoline_page(const BootInfo& info)
{
    for (u64 page = kPreferredTrampolinePage; page + layout::kPageSize <= kConventionalMemoryEnd; page += layout::kPageSize) {
        if (range_is_usable_low_memory(info, page, page + layout::kPageSize))
            return page;
    }
    return nullopt;
}

// The AP's first stack and its IST stacks come from the kernel stacks
// region, each with an unmapped guard below it (mm/kernel_stacks.hpp): an
// overflow faults instead of running into other memory.
static_assert(kInterruptStackSize == kKernelStackBytes, "an IST stack is one kernel stack slot");

Processor* allocate_processor(u32 apic_id)
{
    u8* memory = allocate_kernel_pages(1);
    u8* stack = allocate_kernel_stack();
    if (!memory || !stack)
        return nullptr;
    auto* processor = new (memory) Processor {};
    processor->apic_id = apic_id;
    processor->index = static_cast<u32>(processor_count());
    processor->kernel_stack_top = reinterpret_cast<u64>(stack + kKernelStackBytes);
    processor->first_stack_top = processor->kernel_stack_top;
    for (usize i = 0; i < kInterruptStackCount; ++i) {
        u8* ist = allocate_kernel_stack();
        if (!ist)
            return nullptr;
        processor->interrupt_stacks.top[i] = reinterpret_cast<u64>(ist + kInterruptStackSize);
    }
    return processor;
}

bool wait_for(const bool& flag, u64 timeout_us)
{
    constexpr u64 kPollUs = 10;
    for (u64 waited = 0; waited < timeout_us; waited += kPollUs) {
        if (__atomic_load_n(&flag, __ATOMIC_ACQUIRE))
            return true;
        tsc::delay_us(kPollUs);
    }
    return __atomic_load_n(&flag, __ATOMIC_ACQUIRE);
}

// A CPU that missed its deadline might still wake up later and run on the
// parameters of the next one. INIT puts it back into wait-for-STARTUP, where
// it stays; its Processor, stacks and table slot are never used again.
void park(Processor& processor)
{
    lapic::send_init(processor.apic_id);
    tsc::delay_us(kInitDelayUs);
}

bool start_one(Processor& processor, u64 trampoline_page)
{
    auto* parameters = reinterpret_cast<volatile TrampolineParameters*>(
        layout::physmap_address(trampoline_page) + kTrampolineParameters);
    parameters->stack_top = processor.kernel_stack_top;
    parameters->processor = reinterpret_cast<u64>(&processor);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    u8 page_number = static_cast<u8>(trampoline_page >> 12);
    lapic::send_init(processor.apic_id);
    tsc::delay_us(kInitDelayUs);
    lapic::send_startup(processor.apic_id, page_number);
    tsc::delay_us(kStartupRetryUs);
    if (!__atomic_load_n(&processor.started, __ATOMIC_ACQUIRE))
        lapic::send_startup(processor.apic_id, page_number);
    if (!wait_for(processor.started, kStartTimeoutUs)) {
        klog("smp: CPU with APIC id {} did not start; skipped", processor.apic_id);
        park(processor);
        return false;
    }
    if (!wait_for(processor.online, kOnlineTimeoutUs)) {
        klog("smp: CPU with APIC id {} started but did not come online; skipped", processor.apic_id);
        park(processor);
        return false;
    }
    return true;
}

void prepare_trampoline(u64 page)
{
    usize size = static_cast<usize>(ap_trampoline_end - ap_trampoline_start);
    HERALD_ASSERT(size <= layout::kPageSize);
    u8* where = reinterpret_cast<u8*>(layout::physmap_address(page));
    __builtin_memcpy(where, ap_trampoline_start, size);
    auto* parameters = reinterpret_cast<volatile TrampolineParameters*>(where + kTrampolineParameters);
    parameters->long_mode_target_offset = static_cast<u32>(reinterpret_cast<u64>(ap_long_mode_entry));
    parameters->long_mode_target_selector = kTrampolineCode64Selector;
    parameters->boot_cr3 = reinterpret_cast<u64>(boot_pml4);
    parameters->final_cr3 = read_cr3();
    parameters->efer_bits = rdmsr(kMsrEfer) & kEferNxe;
}

// What every CPU does to join: protections and final tables, descriptor
// tables, GS, local APIC.
void join(Processor& processor)
{
    enable_kernel_paging_on_this_cpu();
    load_gdt_and_tss(processor.index, processor.interrupt_stacks);
    load_idt();
    install_processor(processor);
    lapic::init_this_cpu();
    fpu::init_this_cpu();
    syscalls_init_this_cpu();
}

} // namespace

void init_boot_processor()
{
    auto* boot = new (g_boot_processor_storage) Processor {};
    boot->index = 0;
    boot->apic_id = lapic::id();
    boot->started = true;
    boot->online = true;
    boot->kernel_stack_top = reinterpret_cast<u64>(boot_stack_top);
    // The boot CPU started on static IST stacks (the kernel stacks region did
    // not exist yet); from here on it uses guarded ones like every AP. A
    // static stack stays in use if no guarded one can be had.
    for (usize i = 0; i < kInterruptStackCount; ++i) {
        u8* guarded = allocate_kernel_stack();
        if (guarded)
            tss_of(0).ist[i] = reinterpret_cast<u64>(guarded + kInterruptStackSize);
        boot->interrupt_stacks.top[i] = tss_of(0).ist[i];
    }
    install_processor(*boot);
    register_processor(*boot);
}

SmpResult start_application_processors(const PlatformTopology& topology, const BootInfo& boot_info)
{
    SmpResult result { 0, 1 };
    u32 boot_apic_id = this_processor().apic_id;
    Optional<u64> trampoline = choose_trampoline_page(boot_info);
    if (!trampoline)
        klog("smp: no free page below 640 KiB for the AP trampoline; running on the boot CPU only");
    else
        prepare_trampoline(*trampoline);

    for (usize i = 0; i < topology.cpu_count; ++i) {
        const Cpu& cpu = topology.cpus[i];
        if (!cpu.enabled)
            continue;
        ++result.found;
        if (cpu.apic_id == boot_apic_id || !trampoline)
            continue;
        if (processor_count() >= kMaxCpus) {
            klog("smp: CPU with APIC id {} skipped: Herald supports {} CPUs", cpu.apic_id, kMaxCpus);
            continue;
        }
        Processor* processor = allocate_processor(cpu.apic_id);
        if (!processor) {
            klog("smp: out of kernel memory for CPU with APIC id {}; skipped", cpu.apic_id);
            continue;
        }
        if (start_one(*processor, *trampoline)) {
            register_processor(*processor);
            ++result.online;
        }
    }
    if (result.found == 0)
        result.found = 1; // no firmware tables: the boot CPU is all there is
    return result;
}

} // namespace herald::x86

// The first C++ function on an application processor, called by
// ap_long_mode_entry (boot/entry.asm) on the stack the boot CPU gave it.
extern "C" [[noreturn]] void ap_main(herald::Processor* processor)
{
    using namespace herald;
    __atomic_store_n(&processor->started, true, __ATOMIC_RELEASE);
    x86::join(*processor);
    __atomic_store_n(&processor->online, true, __ATOMIC_RELEASE);
    scheduler_start_application_cpu();
}
