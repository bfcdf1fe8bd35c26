// Task: an address space and the threads that run in it (a process).
//
// The kernel's task list (seed: "The global task list") is a fixed table of
// slots; a task's id is unique for the life of the system. Kernel threads
// belong to the kernel task (id 0), which uses the kernel's page tables.
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "../lib/string_view.hpp"
#include "../lib/types.hpp"
#include "../sync/spinlock.hpp"
#include "thread.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../arch/x86_64/traps.hpp"
#include "../abi/task.hpp"
#include "../object/ref.hpp"

namespace herald {

class AddressSpace;
class HandleTable;

enum class TaskState : u8 { Alive, Exited, Killed };

// One thread of a task, from ThreadCreate until ThreadJoin took its exit
// value (the main thread's too): what a join waits for and reads after the
// Thread itself is gone.
struct ThreadSlot {
    bool used { false };
    bool exited { false };
    u64 thread_id { 0 };
    Thread* thread { nullptr }; // until it exits
    i64 value { 0 };            // its exit value, once exited
    Thread* joiner { nullptr }; // the thread blocked in ThreadJoin on it
};

struct Task {
    u64 id { 0 };
    char name[32] {};
    TaskState state { TaskState::Alive };
    i64 exit_status { 0 };
    AddressSpace* address_space { nullptr }; // null: the kernel task
    PhysicalAddress root;                    // seed: the PML4 base
    u32 live_threads { 0 };
    // Set when the task is to end (killed, a fault, or one thread's Exit):
    // every thread ends at its next way back to ring 3 (kill_task).
    bool kill_requested { false };
    // The first end (exit, kill, fault, the last thread's ThreadExit) sets
    // state and exit_status; later ones find it set and change nothing.
    bool end_decided { false };
    // The ring-3 RIP of the exception that killed it (user_faults.cpp), 0
    // if none did: the exit record keeps it, so that the self-tests can see
    // where an injected fault landed (docs/reliability.md, "Fault injection").
    u64 fault_rip { 0 };
    // The same fault's address (CR2), and the thread whose stack overflowed
    // into its guard page if that was the fault (0: another fault).
    u64 fault_address { 0 };
    u64 overflowed_thread { 0 };
    // Every thread that is not yet released (first = newest), linked
    // through Thread::sibling, under the task table lock (task.cpp).
    Thread* threads { nullptr };
    SpinLock threads_lock;
    ThreadSlot thread_slots[abi::kMaxThreads] GUARDED_BY(threads_lock);
    SpinLock handles_lock;
    HandleTable* handles GUARDED_BY(handles_lock) PT_GUARDED_BY(handles_lock) { nullptr }; // its capabilities (object/handle_table.hpp)
    // The first thread (null: not started); when it ends before the others,
    // another live one (release_thread).
    Thread* main_thread { nullptr };
    class TaskObject* object { nullptr }; // its capability, if it was started through one
    // I/O ports its ring-3 code may use (the console's COM1, the IoPortRange
    // handles it enabled): changed only by its own thread, or before it runs.
    x86::IoPortSet io_ports;
    StringView name_view() const { return StringView::from_bounded(name, sizeof(name)); }
};

inline constexpr usize kMaxTasks = 1024;

void tasks_init();
Task& kernel_task();

// A kernel thread running entry(parameter) in ring 0 (the seed's "kernel
// task": same code segment as the kernel, its own stack). Not yet queued.
ErrorOr<Thread*> create_kernel_thread(StringView name, void (*entry)(u64), u64 parameter);

// The Thread object for a context that already runs on its own stack (the
// boot CPU's boot thread, an AP's idle loop): no stack, no initial frame.
ErrorOr<Thread*> create_thread_for_running_context(StringView name);

// A task with its own address space and one ring-3 thread that starts at
// `entry` with `parameter` in RDX (seed) and RSP = `user_stack_top`.
ErrorOr<Thread*> create_user_thread(Task& task, u64 entry, u64 user_stack_top, u64 parameter);
ErrorOr<Task*> create_task(StringView name, AddressSpace* address_space);

// Takes a task that never got a thread out of the table (a failed spawn);
// its address space is the caller's to destroy.
void discard_task(Task& task);

// Called by the scheduler once a dead thread is off its CPU.
void release_thread(Thread& thread);

// How a task ended, kept for the last kExitRecords tasks (tests, and later
// the loader's wait()).
struct TaskExit {
    u64 task_id { 0 };
    i64 status { 0 };
    bool killed { false };
    char name[32] {};
    u64 fault_rip { 0 }; // Task::fault_rip
    u64 fault_address { 0 };     // Task::fault_address
    u64 overflowed_thread { 0 }; // Task::overflowed_thread
};
inline constexpr usize kExitRecords = 64;
Optional<TaskExit> find_exit(u64 task_id);

// Ends the current thread's task in ring 3's name: `status` for exit(), or
// killed with the reason already logged. The task's other threads end too,
// wherever they are (as for kill_task); the task's status is the first end's.
[[noreturn]] void exit_current_task(i64 status, bool killed);

// Asks for task `task_id` to end: each of its threads is killed the next
// time it would return to ring 3 (from an interrupt or a system call; a
// thread that sleeps, waits in IPC, for a message or a reply, or waits in
// ThreadJoin is woken for it; one running on another CPU gets a reschedule
// IPI). False if there is no such task.
bool kill_task(u64 task_id);

// The thread calls (syscall/thread_control.cpp decodes them): a new thread
// in the current task at `entry` with RSP = `stack_top` and `parameter` in
// RDI and RDX, queued on `cpu` (pinned) or on the least loaded CPU
// (abi::kAnyCpu); its id.
ErrorOr<u64> create_thread_in_current_task(u64 entry, u64 stack_top, u64 parameter, u64 cpu);
// Ends the current thread with `value` (the task too, if it was its last).
[[noreturn]] void exit_current_thread(i64 value);
// Waits for thread `thread_id` of the current task to end; its exit value.
// BadArgument: itself, no such thread of this task, or another thread
// already joins it; PeerGone: the task is being killed.
ErrorOr<i64> join_thread(u64 thread_id);

// From the interrupt exit path, kill_current_task_if_requested() ends the
// current task if that was asked for (arch/x86_64/traps.hpp).

// Runs `action` on task `task_id`'s address space with the task table lock
// held, so that the task, its threads and its address space cannot be freed
// meanwhile (fault injection reaches a thread's saved registers; device
// memory and the ring-0 memory service map and unmap). It does not hold the
// mappings still: MemoryMap and MemoryUnmap take only the space's own lock
// (address_space_of), so an action that reads or writes through a
// translation does both under that lock (AddressSpace::with_own_ram_byte).
// NotFound: no such user task.
using AddressSpaceAction = ErrorOr<u64> (*)(Task& task, AddressSpace& space, void* context);
ErrorOr<u64> with_address_space_of(u64 task_id, AddressSpaceAction action, void* context);

// Task `task_id`'s address space, with a reference of its own: the task
// table lock is held for the look-up only, and the caller's map or unmap
// then takes the space's own lock (mm/address_space.hpp). The space stays
// valid if the task dies meanwhile; its calls then answer PeerGone. Null:
// no such user task.
Ref<AddressSpace> address_space_of(u64 task_id);

// Up to `max` entries for TaskList, from table slot `from` on; `next` is
// where the next call goes on. Returns the number written.
usize list_tasks(usize from, abi::TaskListEntry* out, usize max, usize& next);

// Counts for tests and `ps`.
usize live_task_count();
usize threads_in_use();
// Threads that have ended but whose CPU has not yet switched away from them
// (so they still count in threads_in_use): tests wait for 0 before counting.
usize threads_ending();
// From scheduler_exit_current(): `thread` has ended.
void thread_ending(Thread& thread);
// Only for what the table lock keeps alive: a Task* may be freed by another
// CPU as soon as find_task() returns; use main_thread_snapshot() to look at
// a task that may end meanwhile.
Task* find_task(u64 id);

// A copy of task `task_id`'s thread's scheduling state, taken under the
// task table lock (so it cannot be a freed thread's); nullopt if no such
// task or it has no thread yet.
struct ThreadSnapshot {
    ThreadState state;
    u32 cpu;
    bool has_run;
    u64 migrations;
    u64 runtime_ticks;
    bool waits_for_saved_reply; // its server set its reply right aside (object/saved_reply.hpp)
    u64 wake_at;                // Sleeping: the TSC value it wakes at
};
Optional<ThreadSnapshot> main_thread_snapshot(u64 task_id);

} // namespace herald
