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

// Capabilities with no state: holding one with the send right is the right.
template<typename Capability>
i64 check_capability(u64 handle)
{
    auto capability = lookup<Capability>(current_thread(), handle, abi::RightSend);
    return capability.is_error() ? lookup_error(capability.error()) : 0;
}

i64 sys_create(u64 control, u64 name_address, u64 name_length)
{
    if (i64 refused = check_capability<ProcessControl>(control))
        return refused;
    if (name_length == 0 || name_length > kMaxNameLength)
        return error(SyscallError::BadLength);
    char name[kMaxNameLength];
    if (!copy_from_user_paged(name, name_address, name_length))
        return error(SyscallError::BadAddress);
    auto object = process_control().create_task(StringView(name, name_length));
    if (object.is_error())
        return error(SyscallError::NoMemory);
    // The handle holds it now; without one, the task goes with our reference.
    u64 handle = grant_handle(*current_thread().task, *object.value(), abi::RightsAll, 0);
    return handle ? static_cast<i64>(handle) : error(SyscallError::NoMemory);
}

i64 sys_give_handle(u64 task_handle, u64 handle, u64 index)
{
    auto found = lookup<TaskObject>(current_thread(), task_handle, abi::RightSend);
    if (found.is_error())
        return lookup_error(found.error());
    Ref<TaskObject>& target = found.value();
    if (!target->unstarted_task() || index >= abi::kMaxHandles)
        return error(SyscallError::BadArgument); // (give_handle checks again: the answer comes first)
    Optional<HandleEntry> entry;
    {
        Task& self = *current_thread().task;
        SpinLockGuard guard(self.handles_lock);
        entry = self.handles->get(handle);
    }
    if (!entry)
        return error(SyscallError::BadHandle);
    return target->give_handle(*entry, index);
}

i64 sys_start(u64 task_handle, u64 entry, u64 stack_top, u64 parameter)
{
    auto found = lookup<TaskObject>(current_thread(), task_handle, abi::RightSend);
    if (found.is_error())
        return lookup_error(found.error());
    Ref<TaskObject>& target = found.value();
    return target->start(entry, stack_top, parameter);
}

i64 sys_kill(u64 task_handle)
{
    auto found = lookup<TaskObject>(current_thread(), task_handle, abi::RightSend);
    if (found.is_error())
        return lookup_error(found.error());
    Ref<TaskObject>& target = found.value();
    if (target->unstarted_task())
        return error(SyscallError::BadArgument); // never started: close its handle instead
    kill_task(target->task_id()); // false: it has ended already, which is fine
    return 0;
}

i64 sys_status(u64 task_handle, u64 out, bool wait)
{
    auto found = lookup<TaskObject>(current_thread(), task_handle, abi::RightReceive);
    if (found.is_error())
        return lookup_error(found.error());
    Ref<TaskObject>& target = found.value();
    abi::TaskStatus probe {};
    if (!copy_to_user_paged(out, &probe, sizeof(probe)))
        return error(SyscallError::BadAddress);
    if (wait) {
        if (i64 waited = target->wait(current_thread()); waited < 0)
            return waited;
    }
    abi::TaskStatus status = target->status();
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
    if (i64 refused = check_capability<SystemControl>(control))
        return refused;
    system_control().shutdown(); // does not return
}

// Whole lines only; the buffer is checked before anything leaves the ring.
// Not inlined: its buffer must not sit in the frame of every system call.
[[gnu::noinline]] i64 sys_log_read(u64 control, u64 out, u64 max)
{
    constexpr u64 kMaxRead = kMaxLogRead;
    if (i64 refused = check_capability<KernelLogControl>(control))
        return refused;
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
