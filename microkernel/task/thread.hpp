// Thread: one flow of execution, the unit the scheduler runs.
//
// A task may have several (ThreadCreate, docs/syscalls.md "Threads"): they
// share the task's address space and handles; each has its own kernel
// stack, registers, FPU state, FS base (its thread-local storage), IPC
// state and reply right.
//
// The seed's task list kept, per task, "the adress of the PML4 base for the
// task and the value of the Ring0 RSP". Herald splits that in two: the PML4
// belongs to the Task (task.hpp, shared by its threads), and each Thread
// keeps its saved ring-0 RSP, its own kernel stack, its FPU/SSE/AVX state and
// its scheduling state. Registers of a thread that is not running live on its
// kernel stack, pushed by the interrupt or system-call entry and by
// switch_context (arch/x86_64/context_switch.asm).
#pragma once

#include "../lib/ipc_message.hpp"
#include "../lib/types.hpp"

namespace herald {

struct Task;

enum class ThreadState : u8 {
    Runnable, // in a run queue, or about to be
    Running,  // on a CPU now
    Sleeping, // waiting for its wake-up time
    Blocked,  // waiting in IPC (ipc/), until a partner wakes it
    Dead,     // exited; its stack is freed after the switch away from it
};

namespace x86 {
struct InterruptFrame;
}
class Endpoint;
struct Thread;


// A thread's IPC state (ipc/ipc.cpp).
struct IpcState {
    x86::InterruptFrame* frame { nullptr }; // its system-call frame while in the kernel
    IpcMessage outgoing;                    // while blocked sending
    // The handle `outgoing` carries (transfer_handle), taken from the
    // sender's table with a reference when the message was checked, so that
    // what arrives is what was checked even if a sibling thread closes or
    // reuses the index meanwhile; whoever delivers takes it, the sender
    // drops what is left when it wakes (ipc.cpp).
    class KernelObject* outgoing_object { nullptr };
    u32 outgoing_rights { 0 };
    u64 outgoing_badge { 0 };
    bool is_call { false };                 // blocked sender: waits for a reply afterwards
    bool awaiting_reply { false };          // a client between its call and the reply
    Endpoint* blocked_on { nullptr };       // the endpoint whose queue holds it
    class Notification* waiting_on { nullptr }; // the notification whose waiters hold it
    Thread* reply_to { nullptr };           // a server: the caller its next reply goes to
    Thread* replier { nullptr };            // a client: the server holding its reply right
    class SavedReply* saved_reply { nullptr }; // a client: its reply right, set aside (object/saved_reply.hpp)
    u64 buffer { 0 };                       // user address of its IPC buffer page, 0 = none
};

struct Thread {
    u64 saved_rsp { 0 };          // seed: the saved ring-0 RSP (context_switch.asm reads offset 0)
    Task* task { nullptr };
    u64 id { 0 };
    ThreadState state { ThreadState::Runnable };
    bool is_user { false };
    bool is_idle { false };
    // True from the moment a CPU switches to the thread until that CPU has
    // finished switching away: another CPU must not run it before then.
    bool on_cpu { false };
    // Placed on a CPU on purpose (scheduler_enqueue_on): never stolen.
    bool pinned { false };

    u8* kernel_stack { nullptr };
    u64 kernel_stack_top { 0 };
    u8* fpu_state { nullptr };    // XSAVE/FXSAVE area; user threads only

    // Run-queue links (sched/run_queue.hpp).
    Thread* queue_next { nullptr };
    Thread* queue_prev { nullptr };
    // Sleep-list link (per CPU, sorted by wake time).
    Thread* sleep_next { nullptr };
    u64 wake_at { 0 };            // TSC value

    // The FS base of its ring-3 code (ThreadSetPointer): loaded at a switch
    // only when it or the previous thread's is not 0 (scheduler.cpp).
    u64 fs_base { 0 };
    // The page below its ring-3 stack that it must never touch
    // (ThreadSetStackGuard; 0: none): a fault there kills the task as a
    // stack overflow of this thread, without asking the pager (user_faults.cpp).
    u64 stack_guard { 0 };
    // The task's threads (Task::threads, under the task table lock), and
    // its entry in the task's thread slots (Task::thread_slots).
    Thread* sibling { nullptr };
    u32 slot { 0 };

    // Where it runs or last ran. Written only by switch_to, on the CPU that
    // is about to run it (and adopt_current_context): the IPC fast paths'
    // hand-over relies on that (sched/switch.hpp, scheduler_hand_over_to).
    u32 cpu { 0 };
    bool has_run { false };
    // FaultInject's Exception at FaultMoment::Interrupt (syscall/fault_control.cpp):
    // the next interrupt that finds it in ring 3 writes HLT there. Lives and
    // dies with the thread (a new Thread starts without it).
    bool fault_armed { false };
    u64 migrations { 0 };         // times it ran on a different CPU than before
    u64 runtime_ticks { 0 };
    IpcState ipc;
    char name[32] {};
};

} // namespace herald
