// The system-call ABI, shared by the kernel and user space (docs/syscalls.md).
//
// A user thread executes SYSCALL with
//   RAX = system-call number (SyscallNumber)
//   RDI, RSI, RDX, R10, R8, R9 = arguments 1-6 (R10 instead of RCX, which
//   SYSCALL overwrites with the return address; R11 gets RFLAGS)
// and gets back
//   RAX = result: >= 0 on success, a negative SyscallError on failure.
// RCX and R11 are clobbered; every other register is preserved.
// Every argument is untrusted: a bad number, pointer, length or value gives
// an error, never a crash of the kernel.
#pragma once

#include <stdint.h>

namespace herald::abi {

enum class SyscallNumber : uint64_t {
    DebugWrite = 0,  // (const char* text, size_t length) -> length written
    Yield = 1,       // () -> 0
    Sleep = 2,       // (uint64_t milliseconds) -> 0
    Exit = 3,        // (int64_t status) -> does not return
    SelfInfo = 4,    // (SelfInfo* out) -> 0
    Null = 5,        // () -> 0; does nothing: the cost of the system-call path itself

    // IPC (abi/ipc.hpp has the register layout).
    EndpointCreate = 16,     // () -> handle (all rights)
    NotificationCreate = 17, // () -> handle (all rights)
    HandleClose = 18,        // (handle) -> 0
    HandleMint = 19,         // (handle, rights, badge) -> new handle with fewer rights and a badge
    SetIpcBuffer = 20,       // (address of a page of the caller's, or 0) -> 0
    IpcSend = 21,            // (handle, message) -> 0, once a receiver took it
    IpcReceive = 22,         // (handle) -> message, badge
    IpcCall = 23,            // (handle, message) -> the reply
    IpcReplyReceive = 24,    // (handle, reply message) -> the next message, badge
    NotifySignal = 25,       // (handle, bits) -> 0
    NotifyWait = 26,         // (handle, WaitMode, timeout ms) -> bits that were set (and are now clear)
    IpcReplySave = 27,       // () -> a handle to the current reply right, set aside to answer later
    IpcReplyTo = 28,         // (saved reply handle, message) -> 0; the handle is used up

    // The memory server's (abi/memory.hpp): each takes its MemoryControl handle first.
    MemoryMap = 32,     // (control, task id, address, frame, MemoryMapFlags) -> 0
    MemoryUnmap = 33,   // (control, task id, address) -> the frame that was mapped there (docs/memory.md: whose pages)
    MemoryReclaim = 34, // (control, uint64_t* out, max) -> entries written (kReclaimTaskBit)
    MemoryRanges = 35,  // (control, ManagedRange* out, max) -> ranges written (all of them fit in 256)
    // A page fault's whole answer (docs/syscalls.md, "MemoryMapReply"): maps the frame into the task of
    // the call the caller would reply to, stores the map's result at `outcome`, answers that call
    // Resolved and receives the next message (abi/ipc.hpp's registers); a map that fails answers nothing.
    MemoryMapReply = 36, // (endpoint, control, address, frame, MemoryMapFlags, int64_t* outcome) -> the next message

    // Tasks as capabilities (abi/task.hpp).
    TaskCreate = 40,     // (process control, name, length) -> task handle (a task with no thread yet)
    TaskGiveHandle = 41, // (task, one of the caller's handles, index or 0) -> the index in the task's table
    TaskStart = 42,      // (task, entry, stack top, parameter) -> 0
    TaskKill = 43,       // (task) -> 0
    TaskWait = 44,       // (task, TaskStatus* out) -> 0 once the task has ended
    TaskInfo = 45,       // (task, TaskStatus* out) -> 0
    TaskList = 46,       // (SystemControl with RightReceive, TaskListEntry* out, max) -> entries written (every task, up to max)
    SystemShutdown = 47, // (system control) -> does not return: the machine powers off
    LogRead = 48,        // (kernel log, out, max) -> bytes of whole kernel log lines (the console's)
    EventCounters = 49,  // (CPU index or kAllCpus, uint64_t* out, max) -> counters written (abi/events.hpp)
    ServerTask = 50,     // (system control, BootServer, ServerTaskMode) -> a task handle to that server (abi/task.hpp)

    // Threads in the caller's task (abi/task.hpp: kMaxThreads, kAnyCpu).
    ThreadCreate = 51,     // (entry, stack top, parameter, CPU or kAnyCpu) -> thread id
    ThreadExit = 52,       // (int64_t value) -> does not return; the last thread's ends the task with it
    ThreadJoin = 53,       // (thread id, int64_t* value out) -> 0 once that thread of the task has ended
    ThreadSetPointer = 54, // (address or 0) -> 0; the calling thread's FS base (thread-local storage)

    // Fault injection, `faults=on` only (abi/faults.hpp, docs/reliability.md).
    FaultInject = 55, // (fault control, FaultKind, task id, a, b) -> 0

    // Device capabilities (abi/device.hpp, docs/drivers.md).
    IoPortRestrict = 56,       // (io ports, first, last) -> a new handle to ports first..last (same rights)
    IoPortEnable = 57,         // (io ports) -> 0; the caller's ring-3 code may use them until it ends
    InterruptRestrict = 58,    // (interrupt, first, last) -> a new handle to lines first..last (same rights)
    InterruptBind = 59,        // (interrupt of one line, notification, bits) -> 0; unmasks the line
    InterruptAck = 60,         // (interrupt) -> 0; unmasks the line after an interrupt
    DeviceMemoryRestrict = 61, // (device memory, physical base, length) -> a new handle (same rights)
    DeviceMemoryMap = 62,      // (device memory, user address) -> 0; mapped uncached there until the caller ends
    DeviceInfo = 63,           // (any device handle, DeviceInfo* out) -> 0; what it covers
    InterruptAllocateMsi = 64, // (interrupt root, MsiMessage* out) -> a new handle to one MSI vector, masked until bound

    // Threads again (docs/syscalls.md, "Threads").
    ThreadSetStackGuard = 65, // (page address or 0) -> 0; a fault there kills the task: stack overflow in the calling thread
    Count
};

enum class SyscallError : int64_t {
    BadNumber = -1,   // no such system call
    BadAddress = -2,  // a pointer is not inside the caller's user memory, or faults
    BadLength = -3,   // a length is too large
    BadArgument = -4, // some other argument is out of range
    BadHandle = -5,   // not a handle of the caller, or of the wrong kind
    NoRights = -6,    // the handle lacks the right the call needs
    PeerGone = -7,    // the other side of the rendezvous was closed or its task died
    TimedOut = -8,    // a wait with a timeout ran out
    NoMemory = -9,    // the kernel could not allocate the object or the handle slot
    NoReply = -10,    // a reply with no caller waiting for it (already answered, or gone)
    QuotaExceeded = -11, // the task holds as many handles (of that kind) as a task may
    NotGranted = -12, // ports, interrupt lines or memory beyond what the device handle covers
    Busy = -13,       // an interrupt line that is bound already (to this or another task)
    NotDeviceMemory = -14, // a physical range that is RAM or the kernel's own (never mapped for a driver)
};

// Largest single DebugWrite (it goes to the kernel log as one line).
inline constexpr uint64_t kMaxDebugWrite = 4096;
// Longest Sleep: one day; more is surely a bug in the caller.
inline constexpr uint64_t kMaxSleepMs = 24ull * 60 * 60 * 1000;

struct SelfInfo {
    uint64_t task_id;
    uint64_t thread_id;
    uint64_t cpu_index;
    uint64_t cpu_count;
    uint64_t uptime_ms;     // since the kernel's first instruction
    uint64_t tsc_per_ms;    // the time-stamp counter's rate (benchmarks)
};

// The user half of the address space: programs are linked at kUserCodeBase
// (seed: 0x08000000) and may use memory up to kUserSpaceEnd.
inline constexpr uint64_t kUserCodeBase = 0x0800'0000;
inline constexpr uint64_t kUserSpaceEnd = 0x40'0000'0000; // the physmap starts here (microkernel/mm/layout.hpp)

} // namespace herald::abi
