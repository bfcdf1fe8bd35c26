#include "task_object.hpp"

#include "../abi/syscalls.hpp"
#include "../ipc/endpoint.hpp"
#include "../ipc/ipc.hpp"
#include "../mm/address_space.hpp"
#include "../mm/kernel_pool.hpp"
#include "../mm/reclaim_queue.hpp"
#include "task.hpp"

namespace herald {

namespace {

KernelPool<TaskObject> g_objects;
constexpr u64 kEndedBit = 1;

} // namespace

TaskObject::TaskObject(Task& task, Notification& ended)
    : KernelObject(ObjectType::Task)
    , m_task_id(task.id)
    , m_task(&task)
    , m_ended(&ended)
{
}

TaskObject* TaskObject::create(Task& task)
{
    Notification* ended = Notification::create();
    void* storage = g_objects.allocate_storage();
    if (!ended || !storage) {
        if (ended)
            ended->release();
        if (storage)
            g_objects.free_storage(storage);
        return nullptr;
    }
    return new (storage) TaskObject(task, *ended);
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

void TaskObject::started()
{
    retain(); // the task's own reference, until task_ended()
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
    notification_signal(*m_ended, kEndedBit);
    release();
}

i64 TaskObject::wait(Thread& self)
{
    for (;;) {
        abi::TaskState state = status().state;
        if (state == abi::TaskState::Exited || state == abi::TaskState::Killed) {
            notification_signal(*m_ended, kEndedBit); // for the next waiter, if any
            return 0;
        }
        if (state == abi::TaskState::Building)
            return static_cast<i64>(abi::SyscallError::BadArgument); // it would never end
        m_ended->retain(); // notification_wait takes it over
        i64 woken = notification_wait(self, *m_ended);
        if (woken < 0)
            return woken;
    }
}

// The last handle went. A task that never started goes with it: nobody
// can start it any more.
void TaskObject::destroy()
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
    m_ended->release();
    this->~TaskObject();
    g_objects.free_storage(this);
}

} // namespace herald
