// TaskObject: a task as a capability. The loader creates tasks through
// ProcessControl (process_control.hpp) and gets a handle to each: with
// it the task, still without a thread, is given handles and then started;
// later it can be killed, and whoever holds the handle (the loader passes
// one to its client) can wait for the end and read the exit status. The
// object outlives its task, so the status stays readable.
//
// Lifetime: handles hold references; a started task holds one more until it
// has ended. A task that was never started goes when its last handle does.
#pragma once

#include "../abi/task.hpp"
#include "kernel_object.hpp"
#include "notification.hpp"
#include "../sync/spinlock.hpp"

namespace herald {

struct Task;
struct Thread;

struct HandleEntry;

class TaskObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Task;
    // For `task`, which has no thread yet. nullptr when out of memory.
    static Ref<TaskObject> create(Task& task);

    u64 task_id() const { return m_task_id; }
    abi::TaskStatus status();

    // The task, if it was never started (the caller holds a reference to
    // this object, which keeps such a task alive); nullptr otherwise.
    Task* unstarted_task();
    // TaskStart: takes the unstarted task for starting, once (two holders
    // of the handle cannot both start it); nullptr if it is started or being
    // started. Then either started() or start_failed().
    Task* claim_start();
    void start_failed();
    // The kernel's own builder of the task (spawn_program) discards it
    // before it started: the object no longer names it.
    void forget_unstarted_task();
    // The task starts: from now on it holds a reference to this object until
    // task_ended().
    void started();
    // Called once, when the ended task has given everything back.
    void task_ended(i64 exit_status, bool killed);

    // TaskGiveHandle: copies `entry` into the table of the task, not
    // started yet, at `index` (0: the first free one): the index.
    // BadArgument: started already, a bad index, or no room there.
    ErrorOr<u64> give_handle(const HandleEntry& entry, u64 index);
    // TaskStart. BadAddress for an entry or stack outside user memory,
    // BadArgument if it started already, OutOfMemory.
    ErrorOr<void> start(u64 entry, u64 stack_top, u64 parameter);

    // Blocks `self` until the task has ended (or `self`'s task is killed:
    // PeerGone; BadArgument if it never started).
    ErrorOr<void> wait(Thread& self);

private:
    TaskObject(Task& task, Ref<Notification> ended);
    void destroy() override;

    SpinLock m_lock;
    u64 m_task_id;
    Task* m_task GUARDED_BY(m_lock); // until it starts (afterwards the task may go any time)
    bool m_starting GUARDED_BY(m_lock) { false };
    abi::TaskState m_state GUARDED_BY(m_lock) { abi::TaskState::Building };
    i64 m_exit_status GUARDED_BY(m_lock) { 0 };
    Ref<Notification> m_ended; // signalled once at the end; each waiter passes it on
};

} // namespace herald
