// fault_inject_checks: the checks of FaultInject (abi/faults.hpp), run by the
// self-tests in tests/insystem/fault_tests.cpp, which start it with a
// FaultControl handle (or none) at abi::HandleFirstFree and a victim's task
// id. Its parameter: bits 0-7 the mode, bits 8 and up the victim's id.
//
//   mode 1 (the switch is off): every kind, with a full handle, is NoRights
//   mode 2 (no handle: index 3 is empty): BadHandle; mode 3 (a handle with
//          RightReceive only): NoRights for injections, but TaskList works
//   mode 4 (switch on, full handle): every bad argument is BadArgument or
//          BadAddress, and nothing happens to the victim; then the good ones:
//          a memory flip in the victim's stack, a register flip (RAX), and
//          a forced exception, which the self-test sees kill the victim
//   mode 5 (switch on, full handle): Kill of the victim
//   mode 6 (switch on, full handle): a forced exception armed for the next
//          interrupt that finds the victim in ring 3 (FaultMoment::Interrupt);
//          the self-test sees where it landed (the exit record's fault RIP)
//
// Exits with the number of failed checks (0: all passed), each one said.
#include <stdint.h>

#include "microkernel/abi/faults.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

using namespace herald;
using abi::FaultKind;
using abi::FaultMoment;
using abi::FaultRegister;
using abi::SyscallError;

namespace {

constexpr uint64_t kHandle = abi::HandleFirstFree;
uint64_t g_failures;

int64_t inject(uint64_t handle, FaultKind kind, uint64_t task, uint64_t a = 0, uint64_t b = 0)
{
    return user::syscall5(user::number_of(abi::SyscallNumber::FaultInject), handle, static_cast<uint64_t>(kind), task, a,
        b);
}
int64_t inject_raw(uint64_t kind, uint64_t task, uint64_t a, uint64_t b)
{
    return user::syscall5(user::number_of(abi::SyscallNumber::FaultInject), kHandle, kind, task, a, b);
}

void expect(const char* what, int64_t got, int64_t want)
{
    if (got == want)
        return;
    ++g_failures;
    user::println("fault_inject_checks: {}: got {}, want {}", what, got, want);
}
void expect(const char* what, int64_t got, SyscallError want) { expect(what, got, static_cast<int64_t>(want)); }

uint64_t my_id()
{
    abi::SelfInfo info {};
    (void)user::self_info(&info);
    return info.task_id;
}

void every_kind_is(uint64_t handle, uint64_t victim, SyscallError want)
{
    expect("Check", inject(handle, FaultKind::Check, 0), want);
    expect("Kill", inject(handle, FaultKind::Kill, victim), want);
    expect("Exception", inject(handle, FaultKind::Exception, victim), want);
    expect("RegisterBit", inject(handle, FaultKind::RegisterBit, victim, 0, 1), want);
    expect("MemoryBit", inject(handle, FaultKind::MemoryBit, victim, abi::kUserSpaceEnd - 8, 1), want);
}

void bad_arguments(uint64_t victim)
{
    expect("an unknown kind", inject_raw(abi::kFaultKinds, victim, 0, 0), SyscallError::BadArgument);
    expect("kind 2^63", inject_raw(1ull << 63, victim, 0, 0), SyscallError::BadArgument);
    expect("an unknown register", inject(kHandle, FaultKind::RegisterBit, victim, abi::kFaultRegisters, 0),
        SyscallError::BadArgument);
    expect("bit 64", inject(kHandle, FaultKind::RegisterBit, victim, 0, 64), SyscallError::BadArgument);
    expect("RIP bit 47 (non-canonical)", inject(kHandle, FaultKind::RegisterBit, victim,
        static_cast<uint64_t>(FaultRegister::Rip), 47), SyscallError::BadArgument);
    expect("RSP bit 63", inject(kHandle, FaultKind::RegisterBit, victim, static_cast<uint64_t>(FaultRegister::Rsp), 63),
        SyscallError::BadArgument);
    expect("RFLAGS IF", inject(kHandle, FaultKind::RegisterBit, victim, static_cast<uint64_t>(FaultRegister::Rflags), 9),
        SyscallError::BadArgument);
    expect("RFLAGS IOPL", inject(kHandle, FaultKind::RegisterBit, victim,
        static_cast<uint64_t>(FaultRegister::Rflags), 12), SyscallError::BadArgument);
    expect("RFLAGS TF", inject(kHandle, FaultKind::RegisterBit, victim, static_cast<uint64_t>(FaultRegister::Rflags), 8),
        SyscallError::BadArgument);
    expect("exception: an unknown moment", inject(kHandle, FaultKind::Exception, victim, abi::kFaultMoments, 0),
        SyscallError::BadArgument);
    expect("exception: no such task to arm", inject(kHandle, FaultKind::Exception, 1'000'000,
        static_cast<uint64_t>(FaultMoment::Interrupt), 0), SyscallError::BadArgument);
    expect("memory bit 64", inject(kHandle, FaultKind::MemoryBit, victim, abi::kUserSpaceEnd - 8, 64),
        SyscallError::BadArgument);
    expect("the kernel's task", inject(kHandle, FaultKind::Kill, 0), SyscallError::BadArgument);
    expect("itself", inject(kHandle, FaultKind::Kill, my_id()), SyscallError::BadArgument);
    expect("itself, a register", inject(kHandle, FaultKind::RegisterBit, my_id(), 0, 1), SyscallError::BadArgument);
    expect("no such task", inject(kHandle, FaultKind::Kill, 1'000'000), SyscallError::BadArgument);
    expect("no such task, memory", inject(kHandle, FaultKind::MemoryBit, ~0ull, abi::kUserSpaceEnd - 8, 1),
        SyscallError::BadArgument);
    expect("memory: an unmapped page", inject(kHandle, FaultKind::MemoryBit, victim, abi::kUserHeapBase + (1ull << 30), 1),
        SyscallError::BadAddress);
    expect("memory: its code (read-only)", inject(kHandle, FaultKind::MemoryBit, victim, abi::kUserCodeBase, 1),
        SyscallError::BadAddress);
    expect("memory: below user space", inject(kHandle, FaultKind::MemoryBit, victim, 0x1000, 1), SyscallError::BadAddress);
    expect("memory: the physmap", inject(kHandle, FaultKind::MemoryBit, victim, abi::kUserSpaceEnd, 1),
        SyscallError::BadAddress);
    expect("memory: the kernel half", inject(kHandle, FaultKind::MemoryBit, victim, 0xFFFF'FFFF'8000'0000ull, 1),
        SyscallError::BadAddress);
}

int64_t try_until_not_busy(FaultKind kind, uint64_t victim, uint64_t a, uint64_t b)
{
    int64_t result = 0;
    for (int tries = 0; tries < 1000; ++tries) {
        result = inject(kHandle, kind, victim, a, b);
        if (result != static_cast<int64_t>(SyscallError::Busy))
            return result;
        (void)user::sleep_ms(1);
    }
    return result;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t mode = parameter & 0xFF, victim = parameter >> 8;
    switch (mode) {
    case 1:
        every_kind_is(kHandle, victim, SyscallError::NoRights);
        break;
    case 2:
        every_kind_is(kHandle, victim, SyscallError::BadHandle);
        every_kind_is(abi::HandleRegistry, victim, SyscallError::BadHandle); // an endpoint is no FaultControl
        break;
    case 3: {
        every_kind_is(kHandle, victim, SyscallError::NoRights);
        abi::TaskListEntry entries[4];
        int64_t listed = user::syscall3(user::number_of(abi::SyscallNumber::TaskList), kHandle,
            reinterpret_cast<uint64_t>(entries), 4);
        expect("TaskList through FaultControl (RightReceive)", listed > 0 ? 1 : listed, 1);
        break;
    }
    case 4:
        expect("Check", inject(kHandle, FaultKind::Check, 0), 0);
        bad_arguments(victim);
        expect("a memory flip in its stack", inject(kHandle, FaultKind::MemoryBit, victim, abi::kUserSpaceEnd - 4096, 3), 0);
        expect("RAX bit 5", try_until_not_busy(FaultKind::RegisterBit, victim, 0, 5), 0);
        expect("RFLAGS CF", try_until_not_busy(FaultKind::RegisterBit, victim, static_cast<uint64_t>(FaultRegister::Rflags), 0), 0);
        // Asleep in the kernel, it meets no interrupt in ring 3: the mark
        // waits, and Disarm finds it once (then it is gone).
        expect("an exception armed for an interrupt",
            inject(kHandle, FaultKind::Exception, victim, static_cast<uint64_t>(FaultMoment::Interrupt), 0), 0);
        expect("disarmed: it was still armed",
            inject(kHandle, FaultKind::Exception, victim, static_cast<uint64_t>(FaultMoment::Disarm), 0), 1);
        expect("disarmed again: nothing armed",
            inject(kHandle, FaultKind::Exception, victim, static_cast<uint64_t>(FaultMoment::Disarm), 0), 0);
        expect("an exception at its next instruction",
            try_until_not_busy(FaultKind::Exception, victim, static_cast<uint64_t>(FaultMoment::Next), 0), 0);
        break;
    case 5:
        expect("Kill", inject(kHandle, FaultKind::Kill, victim), 0);
        break;
    case 6:
        expect("an exception armed for an interrupt",
            inject(kHandle, FaultKind::Exception, victim, static_cast<uint64_t>(FaultMoment::Interrupt), 0), 0);
        break;
    default:
        user::println("fault_inject_checks: no mode {}", mode);
        return 100;
    }
    return static_cast<int64_t>(g_failures);
}
