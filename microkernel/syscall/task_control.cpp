// The task system calls (abi/task.hpp, docs/system.md, "Tasks as
// capabilities"): ProcessControl, which only the loader holds, creates tasks;
// a task handle gives them handles, starts, kills and waits for them;
// TaskList needs SystemControl with the receive right (init, the shell, the
// registry, the loader); SystemControl with the send right, init's, powers
// the machine off; KernelLog, the console's, reads the kernel log. The
// objects are in object/; this file decodes the arguments and copies to and
// from user memory.
#include "handlers.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../abi/task.hpp"
#include "../ipc/ipc.hpp"
#include "../log.hpp"
#include "../object/fault_control.hpp"
#include "../object/kernel_log_control.hpp"
#include "../object/lookup.hpp"
#include "../object/process_control.hpp"
#include "../object/system_control.hpp"
#include "../object/task_object.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"
#include "user_access.hpp"

namespace herald {

namespace {

constexpr usize kMaxNameLength = ProcessControl::kMaxNameLength;

// Capabilities with no state: holding one with the send right is the right.
template<typename Capability>
ErrorOr<void> check_capability(u64 handle)
{
    HERALD_TRY(lookup<Capability>(current_thread(), handle, abi::RightSend));
    return {};
}

ErrorOr<u64> task_status(u64 task_handle, u64 out, bool wait)
{
    auto target = HERALD_TRY(lookup<TaskObject>(current_thread(), task_handle, abi::RightReceive));
    abi::TaskStatus probe {};
    if (!copy_to_user_paged(out, &probe, sizeof(probe)))
        return Error::BadAddress;
    if (wait)
        HERALD_TRY(target->wait(current_thread()));
    abi::TaskStatus status = target->status();
    if (!copy_to_user_paged(out, &status, sizeof(status)))
        return Error::BadAddress;
    return 0u;
}

} // namespace

// (process control, name, length) -> a handle to a task with no thread yet.
ErrorOr<u64> sys_task_create(const SyscallArgs& args)
{
    u64 name_address = args.arg(1), name_length = args.arg(2);
    HERALD_TRY(check_capability<ProcessControl>(args.arg(0)));
    if (name_length == 0 || name_length > kMaxNameLength)
        return Error::BadLength;
    char name[kMaxNameLength];
    if (!copy_from_user_paged(name, name_address, name_length))
        return Error::BadAddress;
    auto object = process_control().create_task(StringView(name, name_length));
    if (object.is_error())
        return Error::OutOfMemory;
    // The handle holds it now; without one, the task goes with our reference.
    return install_handle(*current_thread().task, *object.value(), abi::RightsAll, 0);
}

// (task, one of the caller's handles, index or 0) -> the index in the task's table.
ErrorOr<u64> sys_task_give_handle(const SyscallArgs& args)
{
    u64 handle = args.arg(1), index = args.arg(2);
    auto target = HERALD_TRY(lookup<TaskObject>(current_thread(), args.arg(0), abi::RightSend));
    if (!target->unstarted_task() || index >= abi::kMaxHandles)
        return Error::BadArgument; // (give_handle checks again: the answer comes first)
    auto entry = HERALD_TRY(lookup_any(current_thread(), handle)); // held while it is copied
    return target->give_handle(HandleEntry { entry.object.ptr(), entry.rights, entry.badge }, index);
}

// (task, entry, stack top, parameter) -> 0.
ErrorOr<u64> sys_task_start(const SyscallArgs& args)
{
    auto target = HERALD_TRY(lookup<TaskObject>(current_thread(), args.arg(0), abi::RightSend));
    HERALD_TRY(target->start(args.arg(1), args.arg(2), args.arg(3)));
    return 0u;
}

ErrorOr<u64> sys_task_kill(const SyscallArgs& args)
{
    auto target = HERALD_TRY(lookup<TaskObject>(current_thread(), args.arg(0), abi::RightSend));
    if (target->unstarted_task())
        return Error::BadArgument; // never started: close its handle instead
    kill_task(target->task_id()); // false: it has ended already, which is fine
    return 0u;
}

ErrorOr<u64> sys_task_wait(const SyscallArgs& args) { return task_status(args.arg(0), args.arg(1), true); }
ErrorOr<u64> sys_task_info(const SyscallArgs& args) { return task_status(args.arg(0), args.arg(1), false); }

// (SystemControl, TaskListEntry* out, max) -> entries written. Every task's
// id, state and name: for the operator (SystemControl's holders) and the
// servers that must know who runs (the registry, the loader: a receive-only
// SystemControl, which cannot power off), not for every program.
ErrorOr<u64> sys_task_list(const SyscallArgs& args)
{
    constexpr u64 kBatch = 16;
    // The injector lists with its FaultControl (abi/faults.hpp): it finds its targets by name.
    if (lookup<SystemControl>(current_thread(), args.arg(0), abi::RightReceive).is_error())
        HERALD_TRY(lookup<FaultControl>(current_thread(), args.arg(0), abi::RightReceive));
    u64 out = args.arg(1), max = args.arg(2);
    if (max > kMaxTasks)
        return Error::BadLength;
    u64 written = 0;
    abi::TaskListEntry entries[kBatch];
    for (usize first = 0; written < max;) {
        usize got = list_tasks(first, entries, min<u64>(kBatch, max - written), first);
        if (got == 0)
            break;
        if (!copy_to_user_paged(out + written * sizeof(abi::TaskListEntry), entries, got * sizeof(abi::TaskListEntry)))
            return Error::BadAddress;
        written += got;
    }
    return written;
}

ErrorOr<u64> sys_system_shutdown(const SyscallArgs& args)
{
    HERALD_TRY(check_capability<SystemControl>(args.arg(0)));
    system_control().shutdown(); // does not return
}

// (kernel log, out, max) -> bytes of whole lines; the buffer is checked
// before anything leaves the ring.
ErrorOr<u64> sys_log_read(const SyscallArgs& args)
{
    constexpr u64 kMaxRead = kMaxLogRead;
    u64 out = args.arg(1), max = args.arg(2);
    HERALD_TRY(check_capability<KernelLogControl>(args.arg(0)));
    if (max > kMaxRead)
        return Error::BadLength;
    char lines[kMaxRead] = {};
    if (!copy_to_user_paged(out, lines, max))
        return Error::BadAddress;
    usize taken = kernel_log_control().take_lines(lines, max);
    if (!copy_to_user_paged(out, lines, taken))
        return Error::BadAddress;
    return taken;
}

} // namespace herald
