// FaultInject (abi/faults.hpp, docs/reliability.md "Fault injection"): the
// kernel's whole part in fault injection. The injector (user/programs/faults)
// picks the target, the moment, the kind, the register or address and the
// bit; the kernel only checks the authority (FaultControl and `faults=on`)
// and the arguments, and changes what it alone can reach: a thread's saved
// ring-3 registers (at the top of its kernel stack, where the system-call and
// interrupt entries put them) and a word of the task's memory (through the
// physmap). A kill is the kill every task handle gives. A forced exception
// is HLT written over an instruction in the task's own copy of its code:
// the one its thread resumes at (FaultMoment::Next), or, armed
// (FaultMoment::Interrupt), the one at which the next interrupt finds the
// thread running in ring 3 (deliver_armed_fault, called by idt.cpp for every
// interrupt from ring 3: one load of a flag that is almost never set).
//
// Nothing here may hurt the kernel or another task: a register flip keeps
// RIP and RSP canonical and RFLAGS's system bits alone (abi/faults.hpp says
// why), and memory flips reach only the task's own RAM pages (never a
// device's registers or the memory server's view of every frame). The work
// happens under the task table lock, so that neither the thread nor the
// address space can be freed meanwhile; a write into the task's memory also
// takes the address space's lock (AddressSpace::with_own_ram_byte) for the
// look-up and the write together, since a MemoryUnmap takes only that one:
// the page cannot be unmapped, and its frame given to another task, in
// between. A thread on a CPU is Busy: its saved registers are stale while it
// runs, and a change would be lost (or land half-way).
#include "handlers.hpp"

#include "../abi/faults.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/traps.hpp"
#include "../mm/address_space.hpp"
#include "../mm/layout.hpp"
#include "../object/fault_control.hpp"
#include "../object/lookup.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"
#include "../task/thread.hpp"

namespace herald {

namespace {

using abi::FaultKind;
using abi::FaultMoment;
using abi::FaultRegister;

// HLT: privileged, so in ring 3 a #GP at exactly that instruction (SDM Vol.
// 2A, HLT), and one byte long, so it never spans two pages.
constexpr u8 kHltOpcode = 0xF4;

// SYSCALL is 0F 05 (SDM Vol. 2B, SYSCALL).
constexpr u8 kSyscallOpcode[2] = { 0x0F, 0x05 };

struct Request {
    FaultKind kind;
    u64 a;
    u64 b;
};

// The thread's saved ring-3 registers, or null when they are not there to
// change: it runs, it never ran, or the frame at its stack's top is not a
// ring-3 one (a thread that has not reached ring 3 yet).
x86::InterruptFrame* saved_user_frame(Thread& thread)
{
    if (!thread.is_user || !thread.has_run || __atomic_load_n(&thread.on_cpu, __ATOMIC_ACQUIRE)
        || thread.state == ThreadState::Dead)
        return nullptr;
    auto* frame = reinterpret_cast<x86::InterruptFrame*>(thread.kernel_stack_top - sizeof(x86::InterruptFrame));
    if (frame->cs != x86::kUserCodeSelector || frame->ss != x86::kUserDataSelector)
        return nullptr;
    return frame;
}

u64* register_in(x86::InterruptFrame& frame, FaultRegister which)
{
    switch (which) {
    case FaultRegister::Rax: return &frame.rax;
    case FaultRegister::Rbx: return &frame.rbx;
    case FaultRegister::Rcx: return &frame.rcx;
    case FaultRegister::Rdx: return &frame.rdx;
    case FaultRegister::Rsi: return &frame.rsi;
    case FaultRegister::Rdi: return &frame.rdi;
    case FaultRegister::Rbp: return &frame.rbp;
    case FaultRegister::Rsp: return &frame.rsp;
    case FaultRegister::R8: return &frame.r8;
    case FaultRegister::R9: return &frame.r9;
    case FaultRegister::R10: return &frame.r10;
    case FaultRegister::R11: return &frame.r11;
    case FaultRegister::R12: return &frame.r12;
    case FaultRegister::R13: return &frame.r13;
    case FaultRegister::R14: return &frame.r14;
    case FaultRegister::R15: return &frame.r15;
    case FaultRegister::Rip: return &frame.rip;
    case FaultRegister::Rflags: return &frame.rflags;
    }
    return nullptr;
}

// Whether flipping `bit` of `which` keeps the kernel safe (abi/faults.hpp).
bool flip_allowed(FaultRegister which, u64 bit)
{
    if (which == FaultRegister::Rip || which == FaultRegister::Rsp)
        return bit < abi::kFaultAddressBits;
    if (which == FaultRegister::Rflags)
        return (abi::kFaultRflagsBits >> bit) & 1;
    return true;
}

// The changes made to a byte of the task's own RAM (with_own_ram_byte).
void flip_bit_of_word(u8* word, void* bit)
{
    __atomic_fetch_xor(reinterpret_cast<u64*>(word), 1ull << *static_cast<const u64*>(bit), __ATOMIC_SEQ_CST);
}

void write_hlt(u8* byte, void*)
{
    __atomic_store_n(byte, kHltOpcode, __ATOMIC_SEQ_CST);
}

void read_byte(u8* byte, void* value)
{
    *static_cast<u8*>(value) = __atomic_load_n(byte, __ATOMIC_RELAXED);
}

// Exception at Interrupt (arm) or Disarm (-> 1 if the mark was still
// there): only the thread's mark changes, whether it runs or not;
// deliver_armed_fault takes it with the same atomic exchange.
ErrorOr<u64> mark_for_interrupt(Thread& thread, FaultMoment moment)
{
    if (!thread.is_user || thread.state == ThreadState::Dead)
        return Error::BadArgument;
    if (moment == FaultMoment::Interrupt) {
        __atomic_store_n(&thread.fault_armed, true, __ATOMIC_SEQ_CST);
        return 0u;
    }
    return __atomic_exchange_n(&thread.fault_armed, false, __ATOMIC_SEQ_CST) ? 1u : 0u;
}

// Under the task table lock (with_address_space_of): the task, its main
// thread and its address space stay. Its mappings do not (MemoryUnmap takes
// only the space's lock): a memory write goes through with_own_ram_byte.
ErrorOr<u64> inject_into(Task& task, AddressSpace& space, void* context)
{
    const Request& request = *static_cast<const Request*>(context);
    if (task.kill_requested || !task.main_thread)
        return Error::BadArgument; // ending, or not started: nothing to hurt
    if (request.kind == FaultKind::Check || request.kind == FaultKind::Kill)
        return 0u; // the kill itself happens outside the lock
    if (request.kind == FaultKind::Exception && request.a != static_cast<u64>(FaultMoment::Next))
        return mark_for_interrupt(*task.main_thread, static_cast<FaultMoment>(request.a));
    if (request.kind == FaultKind::MemoryBit) {
        u64 bit = request.b;
        HERALD_TRY(space.with_own_ram_byte(VirtualAddress(request.a & ~7ull), true, flip_bit_of_word, &bit));
        return 0u;
    }
    x86::InterruptFrame* frame = saved_user_frame(*task.main_thread);
    if (!frame)
        return Error::Busy;
    if (request.kind == FaultKind::RegisterBit) {
        u64* value = register_in(*frame, static_cast<FaultRegister>(request.a));
        __atomic_fetch_xor(value, 1ull << request.b, __ATOMIC_SEQ_CST);
        return 0u;
    }
    // Exception: the instruction it resumes at.
    HERALD_TRY(space.with_own_ram_byte(VirtualAddress(frame->rip), false, write_hlt, nullptr));
    return 0u;
}

ErrorOr<void> check_arguments(const Request& request)
{
    switch (request.kind) {
    case FaultKind::Check:
    case FaultKind::Kill:
        return {};
    case FaultKind::Exception:
        if (request.a >= abi::kFaultMoments)
            return Error::BadArgument;
        return {};
    case FaultKind::RegisterBit:
        if (request.a >= abi::kFaultRegisters || request.b >= 64
            || !flip_allowed(static_cast<FaultRegister>(request.a), request.b))
            return Error::BadArgument;
        return {};
    case FaultKind::MemoryBit:
        if (request.b >= 64)
            return Error::BadArgument;
        return {};
    }
    return Error::BadArgument;
}

// Whether the instruction before `rip` is a SYSCALL: an interrupt that
// came while the thread was in the kernel (interrupts off) is taken at the
// first instruction after its return, so a server that mostly waits in
// system calls would get the same instruction nearly every time.
bool follows_syscall(AddressSpace& space, u64 rip)
{
    u8 first = 0, second = 0;
    if (space.with_own_ram_byte(VirtualAddress(rip - 2), false, read_byte, &first).is_error()
        || space.with_own_ram_byte(VirtualAddress(rip - 1), false, read_byte, &second).is_error()) // perhaps on the page before
        return false;
    return first == kSyscallOpcode[0] && second == kSyscallOpcode[1];
}

// Once the page is known to be the task's own (with_own_ram_byte): the
// mark, then the HLT. The mark is taken only here, so that exactly one of
// this delivery and Disarm has it (abi/faults.hpp), and never put back.
void take_mark_and_write_hlt(u8* byte, void* thread)
{
    if (__atomic_exchange_n(&static_cast<Thread*>(thread)->fault_armed, false, __ATOMIC_SEQ_CST))
        write_hlt(byte, nullptr);
}

} // namespace

// The interrupted thread runs in ring 3 at frame.rip, an instruction
// boundary (SDM Vol. 3A §6.6: an interrupt is taken between instructions),
// wherever its code happened to be (unless it just came back from a system
// call: follows_syscall): the HLT goes there, and the thread faults on it
// as soon as it resumes. The look-up and the write take the address
// space's lock (with_own_ram_byte), as in inject_into: another thread of the
// task, or the pager, may unmap the page meanwhile. The interrupt came from
// ring 3, so this CPU holds no lock yet. A page the kernel may not write
// (never seen: code is the task's own RAM) leaves the mark for the next
// interrupt, or for Disarm.
void deliver_armed_fault(x86::InterruptFrame& frame)
{
    Thread& thread = current_thread();
    if (__builtin_expect(!__atomic_load_n(&thread.fault_armed, __ATOMIC_RELAXED), true))
        return;
    AddressSpace* space = thread.task ? thread.task->address_space : nullptr;
    if (!space || follows_syscall(*space, frame.rip))
        return; // not a moment of its own choosing: the next interrupt's
    (void)space->with_own_ram_byte(VirtualAddress(frame.rip), false, take_mark_and_write_hlt, &thread);
}

// (fault control, FaultKind, task id, a, b) -> 0 (Exception's Disarm: 0 or 1).
ErrorOr<u64> sys_fault_inject(const SyscallArgs& args)
{
    HERALD_TRY(lookup<FaultControl>(current_thread(), args.arg(0), abi::RightSend));
    if (!FaultControl::enabled())
        return Error::NoRights; // the command line's switch is off: no handle is enough
    if (args.arg(1) >= abi::kFaultKinds)
        return Error::BadArgument;
    Request request { static_cast<FaultKind>(args.arg(1)), args.arg(3), args.arg(4) };
    HERALD_TRY(check_arguments(request));
    if (request.kind == FaultKind::Check)
        return 0u;
    u64 task_id = args.arg(2);
    if (task_id == 0 || task_id == current_thread().task->id)
        return Error::BadArgument; // the kernel, or the injector itself
    auto result = with_address_space_of(task_id, inject_into, &request);
    if (result.is_error())
        return result.error() == Error::NotFound ? Error::BadArgument : result.error();
    if (request.kind == FaultKind::Kill && !kill_task(task_id))
        return Error::BadArgument; // it ended meanwhile
    return result.value(); // 0, or Disarm's answer
}

} // namespace herald
