#include "task_control.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../abi/task.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../ipc/ipc.hpp"
#include "../ipc/ipc_internal.hpp"
#include "../log.hpp"
#include "../object/kernel_log_control.hpp"
#include "../object/process_control.hpp"
#include "../object/system_control.hpp"
#include "../object/task_object.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"
#include "user_access.hpp"

namespace herald {

namespace {

using abi::SyscallError;
using abi::SyscallNumber;

constexpr i64 error(SyscallError e) { return static_cast<i64>(e); }
constexpr usize kMaxNameLength = ProcessControl::kMaxNameLength;

i64 lookup_error(Error e) { return error(e == Error::Unsupported ? SyscallError::NoRights : SyscallError::BadHandle); }

// The caller's task handle `handle` with `rights`; released by the guard.
class TaskHandle {
public:
    TaskHandle(u64 handle, u32 rights)
    {
        auto entry = lookup(current_thread(), handle, ObjectType::Task, rights);
        if (entry.is_error())
            m_error = lookup_error(entry.error());
        else
            m_object = static_cast<TaskObject*>(entry.value().object);
    }
    ~TaskHandle()
    {
        if (m_object)
            m_object->release();
    }
    TaskHandle(const TaskHandle&) = delete;
    TaskHandle& operator=(const TaskHandle&) = delete;

    TaskObject* object() const { return m_object; }
    i64 error_code() const { return m_error; }

private:
    TaskObject* m_object { nullptr };
    i64 m_error { 0 };
};

i64 sys_create(u64 control, u64 name_address, u64 name_length)
{
    auto entry = lookup(current_thread(), control, ObjectType::ProcessControl, abi::RightSend);
    if (entry.is_error())
        return lookup_error(entry.error());
    entry.value().object->release(); // static
    if (name_length == 0 || name_length > kMaxNameLength)
        return error(SyscallError::BadLength);
    char name[kMaxNameLength];
    if (!copy_from_user_paged(name, name_address, name_length))
        return error(SyscallError::BadAddress);
    auto object = process_control().create_task(StringView(name, name_length));
    if (object.is_error())
        return error(SyscallError::NoMemory);
    u64 handle = grant_handle(*current_thread().task, *object.value(), abi::RightsAll, 0);
    object.value()->release(); // the handle holds it now; without one, the task goes with it
    return handle ? static_cast<i64>(handle) : error(SyscallError::NoMemory);
}

i64 sys_give_handle(u64 task_handle, u64 handle, u64 index)
{
    TaskHandle target(task_handle, abi::RightSend);
    if (!target.object())
        return target.error_code();
    if (!target.object()->unstarted_task() || index >= abi::kMaxHandles)
        return error(SyscallError::BadArgument); // (give_handle checks again: the answer comes first)
    Optional<HandleEntry> entry;
    {
        Task& self = *current_thread().task;
        SpinLockGuard guard(self.handles_lock);
        entry = self.handles->get(handle);
    }
    if (!entry)
        return error(SyscallError::BadHandle);
    return target.object()->give_handle(*entry, index);
}

i64 sys_start(u64 task_handle, u64 entry, u64 stack_top, u64 parameter)
{
    TaskHandle target(task_handle, abi::RightSend);
    if (!target.object())
        return target.error_code();
    return target.object()->start(entry, stack_top, parameter);
}

i64 sys_kill(u64 task_handle)
{
    TaskHandle target(task_handle, abi::RightSend);
    if (!target.object())
        return target.error_code();
    if (target.object()->unstarted_task())
        return error(SyscallError::BadArgument); // never started: close its handle instead
    kill_task(target.object()->task_id()); // false: it has ended already, which is fine
    return 0;
}

i64 sys_status(u64 task_handle, u64 out, bool wait)
{
    TaskHandle target(task_handle, abi::RightReceive);
    if (!target.object())
        return target.error_code();
    abi::TaskStatus probe {};
    if (!copy_to_user_paged(out, &probe, sizeof(probe)))
        return error(SyscallError::BadAddress);
    if (wait) {
        if (i64 waited = target.object()->wait(current_thread()); waited < 0)
            return waited;
    }
    abi::TaskStatus status = target.object()->status();
    return copy_to_user_paged(out, &status, sizeof(status)) ? 0 : error(SyscallError::BadAddress);
}

i64 sys_list(u64 out, u64 max)
{
    constexpr u64 kBatch = 16;
    if (max > kMaxTasks)
        return error(SyscallError::BadLength);
    u64 written = 0;
    abi::TaskListEntry entries[kBatch];
    for (usize first = 0; written < max;) {
        usize got = list_tasks(first, entries, min<u64>(kBatch, max - written), first);
        if (got == 0)
            break;
        if (!copy_to_user_paged(out + written * sizeof(abi::TaskListEntry), entries, got * sizeof(abi::TaskListEntry)))
            return error(SyscallError::BadAddress);
        written += got;
    }
    return static_cast<i64>(written);
}

i64 sys_shutdown(u64 control)
{
    auto entry = lookup(current_thread(), control, ObjectType::SystemControl, abi::RightSend);
    if (entry.is_error())
        return lookup_error(entry.error());
    entry.value().object->release();
    system_control().shutdown(); // does not return
}

// Whole lines only; the buffer is checked before anything leaves the ring.
// Not inlined: its buffer must not sit in the frame of every system call.
[[gnu::noinline]] i64 sys_log_read(u64 control, u64 out, u64 max)
{
    constexpr u64 kMaxRead = kMaxLogRead;
    auto entry = lookup(current_thread(), control, ObjectType::KernelLog, abi::RightSend);
    if (entry.is_error())
        return lookup_error(entry.error());
    entry.value().object->release();
    if (max > kMaxRead)
        return error(SyscallError::BadLength);
    char lines[kMaxRead] = {};
    if (!copy_to_user_paged(out, lines, max))
        return error(SyscallError::BadAddress);
    usize taken = kernel_log_control().take_lines(lines, max);
    return copy_to_user_paged(out, lines, taken) ? static_cast<i64>(taken) : error(SyscallError::BadAddress);
}

} // namespace

bool handle_task_syscall(u64 number, x86::InterruptFrame& frame, i64& result)
{
    switch (static_cast<SyscallNumber>(number)) {
    case SyscallNumber::TaskCreate: result = sys_create(frame.rdi, frame.rsi, frame.rdx); return true;
    case SyscallNumber::TaskGiveHandle: result = sys_give_handle(frame.rdi, frame.rsi, frame.rdx); return true;
    case SyscallNumber::TaskStart: result = sys_start(frame.rdi, frame.rsi, frame.rdx, frame.r10); return true;
    case SyscallNumber::TaskKill: result = sys_kill(frame.rdi); return true;
    case SyscallNumber::TaskWait: result = sys_status(frame.rdi, frame.rsi, true); return true;
    case SyscallNumber::TaskInfo: result = sys_status(frame.rdi, frame.rsi, false); return true;
    case SyscallNumber::TaskList: result = sys_list(frame.rdi, frame.rsi); return true;
    case SyscallNumber::SystemShutdown: result = sys_shutdown(frame.rdi); return true;
    case SyscallNumber::LogRead: result = sys_log_read(frame.rdi, frame.rsi, frame.rdx); return true;
    default: return false;
    }
}

} // namespace herald
