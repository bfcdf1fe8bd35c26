// Self-tests of SMP bring-up: every CPU the firmware lists is online, runs
// on its own stacks and TSS, and answers interrupts from other CPUs.
#include "microkernel/arch/x86_64/gdt.hpp"
#include "microkernel/arch/x86_64/lapic.hpp"
#include "microkernel/arch/x86_64/paging.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/arch/x86_64/vectors.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/mm/kernel_stacks.hpp"
#include "microkernel/mm/layout.hpp"
#include "microkernel/smp/processor.hpp"
#include "selftest.hpp"

using namespace herald;

HERALD_SELFTEST(every_listed_cpu_is_online)
{
    usize enabled = 0;
    for (usize i = 0; i < platform_topology().cpu_count; ++i)
        enabled += platform_topology().cpus[i].enabled ? 1 : 0;
    EXPECT_EQ(processor_count(), enabled > 0 ? enabled : 1);
    for (usize i = 0; i < processor_count(); ++i) {
        EXPECT_EQ(processor(i).index, i);
        EXPECT(processor(i).online);
    }
}

HERALD_SELFTEST(boot_cpu_is_processor_zero)
{
    EXPECT_EQ(this_processor().index, 0u);
    EXPECT_EQ(this_processor().apic_id, x86::lapic::id());
    EXPECT(&this_processor() == &processor(0));
}

HERALD_SELFTEST(cpus_have_distinct_ids_idle_threads_and_interrupt_stacks)
{
    for (usize i = 0; i < processor_count(); ++i) {
        for (usize j = i + 1; j < processor_count(); ++j) {
            EXPECT(processor(i).apic_id != processor(j).apic_id);
            EXPECT(processor(i).idle_thread != processor(j).idle_thread);
            EXPECT(processor(i).interrupt_stacks.top[0] != processor(j).interrupt_stacks.top[0]);
        }
        for (usize k = 0; k < x86::kInterruptStackCount; ++k) {
            EXPECT(processor(i).interrupt_stacks.top[k] != 0);
            EXPECT_EQ(x86::tss_of(i).ist[k], processor(i).interrupt_stacks.top[k]);
        }
    }
}

// The APs' first stacks and every AP's IST stacks sit in the kernel stacks
// region with an unmapped guard page below: an overflow faults (and becomes a
// double fault with a report) instead of writing over other memory.
HERALD_SELFTEST(ap_stacks_and_interrupt_stacks_have_guard_pages)
{
    auto guarded = [](u64 top, u64 size) {
        bool mapped = is_mapped_kernel_stack(top - size, size);
        bool guard_unmapped = !x86::kernel_page_tables().translate(VirtualAddress(top - size - layout::kPageSize)).has_value();
        return mapped && guard_unmapped;
    };
    for (usize i = 0; i < processor_count(); ++i) {
        if (i > 0) // the boot CPU started on the boot stack (guarded by boot/entry.asm's layout)
            EXPECT(guarded(processor(i).first_stack_top, kKernelStackBytes));
        for (usize k = 0; k < x86::kInterruptStackCount; ++k)
            EXPECT(guarded(processor(i).interrupt_stacks.top[k], x86::kInterruptStackSize));
    }
}

HERALD_SELFTEST(every_other_cpu_answers_an_ipi)
{
    constexpr u64 kTimeoutUs = 1'000'000;
    for (usize i = 0; i < processor_count(); ++i) {
        Processor& target = processor(i);
        if (&target == &this_processor())
            continue;
        u64 before = __atomic_load_n(&target.ping_count, __ATOMIC_ACQUIRE);
        x86::lapic::send_ipi(target.apic_id, x86::kVectorPingIpi);
        u64 waited = 0;
        while (__atomic_load_n(&target.ping_count, __ATOMIC_ACQUIRE) == before && waited < kTimeoutUs) {
            tsc::delay_us(10);
            waited += 10;
        }
        EXPECT_EQ(__atomic_load_n(&target.ping_count, __ATOMIC_ACQUIRE), before + 1);
    }
}
