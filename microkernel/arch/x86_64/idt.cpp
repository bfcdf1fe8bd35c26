#include "idt.hpp"

#include "../../lib/assert.hpp"
#include "../../panic.hpp"
#include "../../stats/event_counters.hpp"
#include "traps.hpp"
#include "user_copy.hpp"
#include "cpu.hpp"
#include "gdt.hpp"
#include "interrupt_frame.hpp"
#include "lapic.hpp"
#include "vectors.hpp"

#include "../../log.hpp"

extern "C" const herald::u64 interrupt_entry_points[herald::x86::kVectorCount];
extern "C" const char iret_to_user[]; // interrupt_entry.asm

namespace herald::x86 {

namespace {

struct [[gnu::packed]] GateDescriptor {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attributes;
    u16 offset_middle;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(GateDescriptor) == 16, "SDM Vol. 3A Figure 6-8");

// Present, DPL 0, 64-bit interrupt gate (interrupts off on entry). DPL 0
// means ring 3 cannot raise these vectors with INT n: it gets #GP instead.
// (The seed used DPL 3 for every gate; that lets user code fake exceptions.)
constexpr u8 kKernelInterruptGate = 0x8E;

constexpr u64 kVectorDoubleFault = 8;

alignas(16) GateDescriptor g_idt[kVectorCount];
InterruptHandler g_handlers[kVectorCount];

InterruptStack stack_for(u64 vector)
{
    switch (vector) {
    case kVectorDoubleFault: return InterruptStack::DoubleFault;
    case kVectorNmi: return InterruptStack::Nmi;
    case kVectorMachineCheck: return InterruptStack::MachineCheck;
    default: return InterruptStack::None;
    }
}

void set_gate(u64 vector, u64 handler, InterruptStack stack)
{
    g_idt[vector] = GateDescriptor {
        static_cast<u16>(handler & 0xFFFF),
        kKernelCodeSelector,
        static_cast<u8>(stack),
        kKernelInterruptGate,
        static_cast<u16>((handler >> 16) & 0xFFFF),
        static_cast<u32>(handler >> 32),
        0,
    };
}

} // namespace

void install_idt()
{
    for (u64 vector = 0; vector < kVectorCount; ++vector)
        set_gate(vector, interrupt_entry_points[vector], stack_for(vector));
    load_idt();
}

void load_idt()
{
    DescriptorTablePointer pointer { static_cast<u16>(sizeof(g_idt) - 1), reinterpret_cast<u64>(g_idt) };
    asm volatile("lidt %0" : : "m"(pointer));
}

void set_interrupt_handler(u8 vector, InterruptHandler handler)
{
    HERALD_ASSERT(vector >= kExceptionVectors);
    __atomic_store_n(&g_handlers[vector], handler, __ATOMIC_RELEASE);
}

} // namespace herald::x86

namespace {

void handle_device_interrupt(herald::x86::InterruptFrame& frame)
{
    using namespace herald::x86;
    if (frame.vector == kVectorReschedule || frame.vector == kVectorPingIpi || frame.vector == kVectorPongIpi)
        herald::count<herald::Event::Ipis>();
    else
        herald::count<herald::Event::Interrupts>();
    if (frame.vector == kVectorSpurious)
        return; // SDM Vol. 3A §11.9: no EOI for the spurious vector
    InterruptHandler handler = __atomic_load_n(&g_handlers[frame.vector], __ATOMIC_ACQUIRE);
    if (handler)
        handler(frame);
    else
        herald::klog("herald: warning: unexpected interrupt on vector {}", frame.vector);
    lapic::end_of_interrupt();
    // After the EOI: a switch may not come back here for a long time.
    herald::scheduler_on_interrupt_exit();
}

} // namespace

// Called from interrupt_entry.asm with the saved registers. An exception in
// ring 3 ends only the task that caused it (user_faults.cpp); in ring 0 it is
// a kernel bug, unless it happened while copying from or to user memory.
extern "C" void handle_interrupt(herald::x86::InterruptFrame* frame)
{
    using namespace herald::x86;
    if (frame->vector < kExceptionVectors) {
        // NMI and machine checks are about the machine, not the task that
        // happened to run: never "kill" them away.
        bool machine_event = frame->vector == kVectorNmi || frame->vector == kVectorMachineCheck;
        // A fault on the IRETQ into ring 3 is the user task's (its frame).
        bool on_return_to_user = frame->rip == reinterpret_cast<herald::u64>(&iret_to_user);
        // Counted only where the kernel goes on: the panic path may run
        // before this CPU's Processor exists (event_counters.hpp).
        if (!machine_event && (frame->from_user_mode() || on_return_to_user)) {
            herald::count<herald::Event::Exceptions>();
            herald::handle_user_fault(*frame); // returns only when the pager resolved it
            herald::kill_current_task_if_requested();
            return;
        }
        if (herald::x86::recover_from_user_copy_fault(*frame)) {
            herald::count<herald::Event::Exceptions>();
            return;
        }
        herald::panic_from_exception(*frame);
    }
    handle_device_interrupt(*frame);
    if (frame->from_user_mode()) {
        herald::deliver_armed_fault(*frame);
        herald::kill_current_task_if_requested();
    }
}
