#include "task_object.hpp"

#include "../abi/syscalls.hpp"
#include "../abi/ipc.hpp"
#include "../abi/memory.hpp"
#include "../ipc/ipc.hpp"
#include "../mm/address_space.hpp"
#include "../mm/kernel_pool.hpp"
#include "../mm/reclaim_queue.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"
#include "handle_table.hpp"
#include "notification.hpp"

namespace herald {

namespace {

KernelPool<TaskObject> g_objects;
constexpr u64 kEndedBit = 1;

} // namespace

TaskObject::TaskObject(Task& task, Ref<Notification> ended)
    : KernelObject(kType)
    , m_task_id(task.id)
    , m_task(&task)
    , m_ended(move(ended))
{
}

Ref<TaskObject> TaskObject::create(Task& task)
{
    Ref<Notification> ended = Notification::create();
    void* storage = g_objects.allocate_storage();
    if (!ended || !storage) {
        if (storage)
            g_objects.free_storage(storage);
        return {};
    }
    return Ref<TaskObject>::adopt(*new (storage) TaskObject(task, move(ended)));
}

abi::TaskStatus TaskObject::status()
{
    SpinLockGuard guard(m_lock);
    return abi::TaskStatus { m_task_id, m_state, m_exit_status };
}

Task* TaskObject::unstarted_task()
{
    SpinLockGuard guard(m_lock);
    return m_state == abi::TaskState::Building && !m_starting ? m_task : nullptr;
}

Task* TaskObject::claim_start()
{
    SpinLockGuard guard(m_lock);
    if (m_state != abi::TaskState::Building || m_starting)
        return nullptr;
    m_starting = true;
    return m_task;
}

void TaskObject::start_failed()
{
    SpinLockGuard guard(m_lock);
    m_starting = false;
}

void TaskObject::forget_unstarted_task()
{
    SpinLockGuard guard(m_lock);
    m_starting = false;
    m_task = nullptr;
}

void TaskObject::started()
{
    (void)Ref<TaskObject>(*this).leak(); // the task's own reference, until task_ended()
    SpinLockGuard guard(m_lock);
    m_state = abi::TaskState::Running;
    m_starting = false;
    m_task = nullptr;
}

void TaskObject::task_ended(i64 exit_status, bool killed)
{
    {
        SpinLockGuard guard(m_lock);
        m_state = killed ? abi::TaskState::Killed : abi::TaskState::Exited;
        m_exit_status = exit_status;
    }
    m_ended->signal(kEndedBit);
    Ref<TaskObject>::adopt(*this).clear(); // the task's reference, from started(); may destroy us
}

ErrorOr<void> TaskObject::wait(Thread& self)
{
    for (;;) {
        abi::TaskState state = status().state;
        if (state == abi::TaskState::Exited || state == abi::TaskState::Killed) {
            m_ended->signal(kEndedBit); // for the next waiter, if any
            return {};
        }
        if (state == abi::TaskState::Building)
            return Error::BadArgument; // it would never end
        HERALD_TRY(Notification::wait(self, Ref<Notification>(*m_ended)));
    }
}

ErrorOr<u64> TaskObject::give_handle(const HandleEntry& entry, u64 index)
{
    Task* task = unstarted_task();
    if (!task)
        return Error::BadArgument; // only a task that has not started yet
    if (index >= abi::kMaxHandles)
        return Error::BadArgument;
    u64 given = grant_handle(*task, *entry.object, entry.rights, entry.badge, index);
    if (!given)
        return Error::BadArgument; // the index is taken, or the table full
    return given;
}

ErrorOr<void> TaskObject::start(u64 entry, u64 stack_top, u64 parameter)
{
    if (entry < abi::kUserCodeBase || entry >= abi::kUserHeapBase || stack_top % 16 != 0
        || stack_top <= abi::kUserStackBottom || stack_top > abi::kUserSpaceEnd)
        return Error::BadAddress;
    Task* task = claim_start();
    if (!task)
        return Error::BadArgument; // started already, or being started
    auto thread = create_user_thread(*task, entry, stack_top, parameter);
    if (thread.is_error()) {
        start_failed();
        return Error::OutOfMemory;
    }
    task->object = this;
    started();
    scheduler_enqueue(*thread.value());
    return {};
}

// The last handle went. A task that never started goes with it: nobody
// can start it any more.
//
// The last reference is gone, so nobody else can reach the object: no lock.
void TaskObject::destroy() NO_THREAD_SAFETY_ANALYSIS
{
    if (m_task && m_state == abi::TaskState::Building) {
        AddressSpace* space = m_task->address_space;
        u64 id = m_task->id;
        discard_task(*m_task);
        if (space) {
            space->destroy(); // pages the pager gave it go back
            reclaim_task_ended(id);
        }
    }
    this->~TaskObject(); // drops m_ended
    g_objects.free_storage(this);
}

} // namespace herald
