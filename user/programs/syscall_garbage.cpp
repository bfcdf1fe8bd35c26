// syscall_garbage: calls every system call with arguments a buggy or hostile
// program could pass, and checks that each comes back with the right negative
// SyscallError (microkernel/abi/syscalls.hpp) instead of crashing the kernel,
// writing where it should not, or succeeding. A few valid calls come first, so
// the checks cannot pass just because every call fails.
//
// Prints "syscall_garbage: MISMATCH <check>: got G, expected E" per wrong
// result, then "syscall_garbage: N checks, M mismatches", and exits with M.
#include "microkernel/abi/events.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/log_line.hpp"
#include "user/runtime/syscall.hpp"

using namespace herald::user;
using herald::abi::kMaxDebugWrite;
using herald::abi::kMaxSleepMs;
using herald::abi::kUserSpaceEnd;

namespace {

constexpr uint64_t kKernelImage = 0x100000;          // the kernel's first page: supervisor-only
constexpr uint64_t kNonCanonical = 0x8000000000000000; // not a valid x86-64 address at all
constexpr uint64_t kUnmapped = 0x1000;                // below user space: refused by the range check
constexpr uint64_t kUnmappedUser = 0x3F'0000'0000;    // inside user space, nothing mapped: the copy faults

constexpr int64_t error(SyscallError value) { return static_cast<int64_t>(value); }

// A buffer that is mapped and writable, longer than the longest DebugWrite,
// so that the over-long write can only fail for its length.
char g_long_text[kMaxDebugWrite + 1];

// In the read-only segment (non-zero, so it is not placed in .bss): the kernel
// must not write SelfInfo here on the program's behalf.
const SelfInfo g_read_only_info { 1, 2, 3, 4, 5, 6 };

int g_checks = 0;
int g_mismatches = 0;

using Line = LogLine<160>; // enough for one log line

void expect(const char* check, int64_t got, int64_t expected)
{
    ++g_checks;
    if (got == expected)
        return;
    ++g_mismatches;
    Line().add("syscall_garbage: MISMATCH {}: got {}, expected {}", check, got, expected).write();
}

uint64_t address(const void* pointer) { return reinterpret_cast<uint64_t>(pointer); }

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    const uint64_t write = number_of(SyscallNumber::DebugWrite);
    const uint64_t self = number_of(SyscallNumber::SelfInfo);
    const char valid_text[] = "syscall_garbage: starting";

    // Valid calls succeed.
    expect("debug_write valid", debug_write(valid_text, sizeof(valid_text) - 1), sizeof(valid_text) - 1);
    SelfInfo info {};
    expect("self_info valid", self_info(&info), 0);
    expect("self_info cpu_count >= 1", info.cpu_count >= 1, 1);
    expect("yield", yield(), 0);
    expect("sleep_ms(1)", sleep_ms(1), 0);

    // No such system call. The valid DebugWrite arguments make a kernel that
    // looks only at the low bits of RAX print something and return > 0.
    expect("number 999", syscall2(999, address(valid_text), 4), error(SyscallError::BadNumber));
    expect("number 2^63", syscall2(1ull << 63, address(valid_text), 4), error(SyscallError::BadNumber));
    expect("number 2^32 + DebugWrite", syscall2((1ull << 32) | write, address(valid_text), 4), error(SyscallError::BadNumber));
    expect("number Count", syscall0(number_of(SyscallNumber::Count)), error(SyscallError::BadNumber));
    expect("number -1", syscall0(~0ull), error(SyscallError::BadNumber));

    // DebugWrite from memory that is not the caller's.
    expect("debug_write null", syscall2(write, 0, 5), error(SyscallError::BadAddress));
    expect("debug_write kernel 0x100000", syscall2(write, kKernelImage, 8), error(SyscallError::BadAddress));
    expect("debug_write non-canonical", syscall2(write, kNonCanonical, 8), error(SyscallError::BadAddress));
    expect("debug_write unmapped 0x1000", syscall2(write, kUnmapped, 8), error(SyscallError::BadAddress));
    expect("debug_write unmapped user 0x3f00000000", syscall2(write, kUnmappedUser, 8), error(SyscallError::BadAddress));
    expect("self_info unmapped user 0x3f00000000", syscall1(self, kUnmappedUser), error(SyscallError::BadAddress));
    expect("debug_write across kUserSpaceEnd", syscall2(write, kUserSpaceEnd - 16, 32), error(SyscallError::BadAddress));
    expect("debug_write at 0x3FFFFFFFFFF0", syscall2(write, 0x3FFFFFFFFFF0, 32), error(SyscallError::BadAddress));
    expect("debug_write wrapping 2^64", syscall2(write, ~0ull - 7, 32), error(SyscallError::BadAddress));

    // DebugWrite longer than the kernel takes, from a valid buffer.
    for (size_t i = 0; i < sizeof(g_long_text); ++i)
        g_long_text[i] = 'x';
    expect("debug_write kMaxDebugWrite + 1", syscall2(write, address(g_long_text), kMaxDebugWrite + 1), error(SyscallError::BadLength));

    // SelfInfo into memory the caller may not write.
    expect("self_info null", self_info(nullptr), error(SyscallError::BadAddress));
    expect("self_info kernel 0x100000", syscall1(self, kKernelImage), error(SyscallError::BadAddress));
    expect("self_info non-canonical", syscall1(self, kNonCanonical), error(SyscallError::BadAddress));
    expect("self_info across kUserSpaceEnd", syscall1(self, kUserSpaceEnd - 8), error(SyscallError::BadAddress));
    expect("self_info read-only data", self_info(const_cast<SelfInfo*>(&g_read_only_info)), error(SyscallError::BadAddress));
    expect("read-only data unchanged", *static_cast<const volatile uint64_t*>(&g_read_only_info.task_id), 1);

    // Sleep longer than allowed.
    expect("sleep kMaxSleepMs + 1", sleep_ms(kMaxSleepMs + 1), error(SyscallError::BadArgument));
    expect("sleep 2^64 - 1", sleep_ms(~0ull), error(SyscallError::BadArgument));

    // The memory server's, the loader's and init's calls without their
    // capabilities: handle 2 is the memory service's endpoint (not a
    // MemoryControl), 3 and up are not ours at all.
    const uint64_t memory_handle = herald::abi::HandleMemory;
    expect("memory_map with the memory handle", syscall5(number_of(SyscallNumber::MemoryMap), memory_handle, 1, 0x4000'0000, 0x800'0000, 1), error(SyscallError::BadHandle));
    expect("memory_map_reply with the memory handle as control", syscall5(number_of(SyscallNumber::MemoryMapReply), memory_handle, memory_handle, 0x4000'0000, 0x800'0000, 1), error(SyscallError::BadHandle));
    expect("memory_unmap without a handle", syscall3(number_of(SyscallNumber::MemoryUnmap), 77, 1, 0x4000'0000), error(SyscallError::BadHandle));
    expect("memory_reclaim without a handle", syscall3(number_of(SyscallNumber::MemoryReclaim), 0, address(g_long_text), 4), error(SyscallError::BadHandle));
    expect("memory_ranges with the registry handle", syscall3(number_of(SyscallNumber::MemoryRanges), herald::abi::HandleRegistry, address(g_long_text), 4), error(SyscallError::BadHandle));
    expect("task_create without ProcessControl", syscall3(number_of(SyscallNumber::TaskCreate), memory_handle, address(valid_text), 4), error(SyscallError::BadHandle));
    expect("task_start on no handle", syscall4(number_of(SyscallNumber::TaskStart), 200, 0x800'0000, kUserSpaceEnd, 0), error(SyscallError::BadHandle));
    expect("task_give_handle on the memory handle", syscall3(number_of(SyscallNumber::TaskGiveHandle), memory_handle, memory_handle, 0), error(SyscallError::BadHandle));
    expect("task_kill on handle 2^63", syscall1(number_of(SyscallNumber::TaskKill), 1ull << 63), error(SyscallError::BadHandle));
    expect("task_wait on no handle", syscall2(number_of(SyscallNumber::TaskWait), 99, address(&info)), error(SyscallError::BadHandle));
    expect("task_info on the registry handle", syscall2(number_of(SyscallNumber::TaskInfo), herald::abi::HandleRegistry, address(&info)), error(SyscallError::BadHandle));
    // TaskList needs SystemControl with RightReceive: the self-test gives
    // this program one at kTaskListHandle, so that the pointers are checked too.
    const uint64_t list = herald::abi::kTaskListHandle;
    expect("task_list without a handle", syscall3(number_of(SyscallNumber::TaskList), 0, address(g_long_text), 1), error(SyscallError::BadHandle));
    expect("task_list with the registry handle", syscall3(number_of(SyscallNumber::TaskList), herald::abi::HandleRegistry, address(g_long_text), 1), error(SyscallError::BadHandle));
    expect("task_list into the kernel", syscall3(number_of(SyscallNumber::TaskList), list, kKernelImage, 4), error(SyscallError::BadAddress));
    expect("task_list into read-only data", syscall3(number_of(SyscallNumber::TaskList), list, address(&g_read_only_info), 1), error(SyscallError::BadAddress));
    expect("task_list max too large", syscall3(number_of(SyscallNumber::TaskList), list, address(g_long_text), 1'000'000), error(SyscallError::BadLength));
    expect("task_list of 0 entries", syscall3(number_of(SyscallNumber::TaskList), list, address(g_long_text), 0), 0);
    expect("system_shutdown without SystemControl", syscall1(number_of(SyscallNumber::SystemShutdown), memory_handle), error(SyscallError::BadHandle));
    // The device calls (docs/drivers.md) without a device handle.
    expect("io_port_restrict on the memory handle", syscall3(number_of(SyscallNumber::IoPortRestrict), memory_handle, 0x70, 0x71), error(SyscallError::BadHandle));
    expect("io_port_enable on no handle", syscall1(number_of(SyscallNumber::IoPortEnable), 0), error(SyscallError::BadHandle));
    expect("interrupt_restrict on handle 2^63", syscall3(number_of(SyscallNumber::InterruptRestrict), 1ull << 63, 8, 8), error(SyscallError::BadHandle));
    expect("interrupt_bind on the registry handle", syscall3(number_of(SyscallNumber::InterruptBind), herald::abi::HandleRegistry, memory_handle, 1), error(SyscallError::BadHandle));
    expect("interrupt_ack on no handle", syscall1(number_of(SyscallNumber::InterruptAck), 77), error(SyscallError::BadHandle));
    expect("device_memory_restrict on the memory handle", syscall3(number_of(SyscallNumber::DeviceMemoryRestrict), memory_handle, 0xFED0'0000, 4096), error(SyscallError::BadHandle));
    expect("device_memory_map on no handle", syscall2(number_of(SyscallNumber::DeviceMemoryMap), 0, 0x20'0000'0000), error(SyscallError::BadHandle));
    expect("device_info on the memory handle", syscall2(number_of(SyscallNumber::DeviceInfo), memory_handle, kKernelImage), error(SyscallError::BadHandle));

    // EventCounters: the counters grow with what this task does, and bad
    // CPUs, pointers and lengths are refused.
    const uint64_t events = number_of(SyscallNumber::EventCounters);
    const uint64_t kAll = herald::abi::kAllCpus;
    const uint64_t kCount = herald::abi::kEventCount;
    const uint64_t kSyscalls = static_cast<uint64_t>(herald::abi::Event::Syscalls);
    uint64_t before[kCount] = {}, after[kCount] = {};
    expect("event_counters all CPUs", syscall3(events, kAll, address(before), kCount), static_cast<int64_t>(kCount));
    for (int i = 0; i < 10; ++i)
        (void)syscall0(number_of(SyscallNumber::Null));
    expect("event_counters again", syscall3(events, kAll, address(after), kCount), static_cast<int64_t>(kCount));
    expect("event_counters count our 11 system calls", after[kSyscalls] - before[kSyscalls] >= 11, 1);
    expect("event_counters this CPU", syscall3(events, info.cpu_index, address(after), kCount), static_cast<int64_t>(kCount));
    expect("event_counters this CPU has counted system calls", after[kSyscalls] > 0, 1);
    expect("event_counters max above the count", syscall3(events, kAll, address(g_long_text), 1000), static_cast<int64_t>(kCount));
    expect("event_counters max 0", syscall3(events, kAll, address(after), 0), 0);
    expect("event_counters CPU past the last", syscall3(events, info.cpu_count, address(after), kCount), error(SyscallError::BadArgument));
    expect("event_counters CPU 2^63", syscall3(events, 1ull << 63, address(after), kCount), error(SyscallError::BadArgument));
    expect("event_counters into null", syscall3(events, kAll, 0, kCount), error(SyscallError::BadAddress));
    expect("event_counters into the kernel", syscall3(events, kAll, kKernelImage, kCount), error(SyscallError::BadAddress));
    expect("event_counters into read-only data", syscall3(events, kAll, address(&g_read_only_info), kCount), error(SyscallError::BadAddress));

    Line().add("syscall_garbage: {} checks, {} mismatches", g_checks, g_mismatches).write();
    return g_mismatches;
}
