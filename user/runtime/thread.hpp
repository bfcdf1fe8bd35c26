// Threads for Herald programs (docs/syscalls.md, "Threads"): a small API
// over ThreadCreate, ThreadExit, ThreadJoin and ThreadSetPointer.
//
//   int64_t work(uint64_t n) { return n * 2; }
//   auto* t = herald::user::thread_create(work, 21);      // or on a CPU: (work, 21, cpu)
//   int64_t value;
//   herald::user::thread_join(t, &value);                  // value == 42
//
// Each thread gets its own stack: one of kStackSlots slots at the bottom of
// the task's stack region (abi::kUserStackBottom), kThreadStackBytes above
// a guard page that nothing ever touches, mapped by the pager on first touch
// like any stack page. The slot's top page is the thread's IPC buffer (the
// kernel keeps one per thread), so the stack proper is a page less. The thread tells the kernel its guard
// (ThreadSetStackGuard), so a thread that overflows its stack faults there
// and the task is killed with one line, "... stack overflow in thread N
// (guard page)", instead of running on into another thread's stack. The
// main thread's stack, at the top of the region, gets a guard of its own
// (kMainStackGuard) once a thread is created (or at the start if the
// program has thread_local variables, or at the first thread_local_slot):
// it may then grow to
// kMainStackBytes, not the whole region. A function whose frame is larger
// than a page may step over a guard (no stack probes in this toolchain's
// flags). A slot's pages stay mapped after the thread is joined, for the
// next thread that takes it.
//
// Each thread also gets its own thread-local storage: FS
// points at its ThreadControl, whose first word points at itself (the
// x86-64 TLS ABI's thread pointer), with kThreadLocalSlots words of its own;
// and the program's `thread_local` variables (ELF TLS, the PT_TLS template
// of user/runtime/user.ld): a block just below the ThreadControl with a copy
// of .tdata and zeroed .tbss, made at thread_create (and before herald_main
// for the main thread, if the program has any).
// malloc and free may be used from every thread (a lock). So may the
// runtime's IPC transport (herald::user::ipc()) and the console output
// (print, println): each thread_create'd thread has its own transport over
// its own IPC buffer, registered at its first IPC, and its own line (a line
// goes out whole, in one Write, whichever threads print at once). A thread
// of thread_start_on has no IPC buffer: its ipc() carries words only and
// its print goes to the kernel log. Console input (read_input) is the main
// thread's.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/task.hpp"

namespace herald::user {

using ThreadFunction = int64_t (*)(uint64_t argument);

inline constexpr uint64_t kAnyCpu = abi::kAnyCpu;
inline constexpr size_t kThreadStackBytes = 64 * 1024;
inline constexpr size_t kThreadLocalSlots = 8;

// The thread stack slots: [guard page][stack], kStackSlots of them from the
// bottom of the stack region up (as many as a task has threads, so that a
// slot is never what thread_create runs out of), then the main stack's guard.
inline constexpr size_t kStackSlots = abi::kMaxThreads;
inline constexpr uint64_t kStackSlotBytes = abi::kPageSize + kThreadStackBytes;
inline constexpr uint64_t kStackSlotsBase = abi::kUserStackBottom;
inline constexpr uint64_t kMainStackGuard = kStackSlotsBase + kStackSlots * kStackSlotBytes;
inline constexpr uint64_t kMainStackBytes = abi::kUserSpaceEnd - kMainStackGuard - abi::kPageSize;
// A slot's top page: the thread's IPC buffer; its stack starts below it.
inline constexpr uint64_t kSlotIpcBufferOffset = kStackSlotBytes - abi::kPageSize;
static_assert(kStackSlots <= 64, "the slots' bitmap is one word");
static_assert(kThreadStackBytes % abi::kPageSize == 0);
static_assert(kMainStackBytes >= abi::kUserStackRegionSize / 2, "the main stack keeps most of the region");
// What FS points at while a thread runs: its thread-local storage.
struct ThreadControl {
    ThreadControl* self; // %fs:0 (x86-64 psABI, "Thread-Local Storage")
    uint64_t locals[kThreadLocalSlots];
    ThreadFunction function;
    uint64_t argument;
    uint64_t id;
    uint64_t stack_guard; // the guard page below its stack (0: none)
    uint64_t stack_slot;  // its slot (thread_create's), or kStackSlots: none
    void* allocation;     // what thread_join frees: this block and its TLS below it
    void* io;             // the runtime's per-thread transport and line (libherald.cpp); nullptr: none
};

// Starts function(argument) in a new thread of this task, pinned to `cpu`
// or placed by the kernel (kAnyCpu), on a stack slot with its guard page.
// nullptr on failure, with the SyscallError (or NoMemory: no control block
// from the heap, or no free slot) in *error if given.
ThreadControl* thread_create(ThreadFunction function, uint64_t argument, uint64_t cpu = kAnyCpu,
    int64_t* error = nullptr);

// The same on a stack and control block the caller owns (static storage,
// never freed: a program that must not fault on its thread stacks, like the
// memory server, whose own faults nobody serves). `stack_bytes` from
// `stack` must be mapped. The thread's id, or a negative SyscallError.
// Such a thread is not for thread_join (which frees what thread_create took).
// BadArgument in a program with thread_local variables: no TLS block.
int64_t thread_start_on(ThreadControl& control, void* stack, size_t stack_bytes, ThreadFunction function,
    uint64_t argument, uint64_t cpu = kAnyCpu);

// Waits for the thread to end and frees its stack slot: 0 and its value (what
// its function returned, or gave thread_exit), or a negative SyscallError
// (the thread stays joinable after BadAddress).
int64_t thread_join(ThreadControl* thread, int64_t* value);

// Ends the calling thread (after printing the line in its buffer, as the
// main thread's exit does); the task too when it is the last one.
[[noreturn]] void thread_exit(int64_t value);

// The calling thread's own words of thread-local storage, through FS.
uint64_t& thread_local_slot(size_t index);

// The calling thread's control block; nullptr while the program has had
// no thread and no thread-local storage (FS is not set up yet).
ThreadControl* current_thread_or_null();

// The runtime's per-thread I/O state (libherald.cpp), for thread_create:
// how many bytes it takes (16-aligned), and makes one in `storage` over the
// IPC buffer `ipc_buffer`. main_thread_io(): the main thread's, static.
size_t thread_io_bytes();
void* thread_io_init(void* storage, uint8_t* ipc_buffer);
void* main_thread_io();

// The raw calls, for tests that pass bad arguments on purpose.
int64_t sys_thread_create(uint64_t entry, uint64_t stack_top, uint64_t parameter, uint64_t cpu);
int64_t sys_thread_join(uint64_t thread_id, int64_t* value);
int64_t sys_thread_set_pointer(uint64_t address);
int64_t sys_thread_set_stack_guard(uint64_t page);

} // namespace herald::user

extern "C" void herald_thread_start(); // user/runtime/start.asm: where every thread_create'd thread begins
