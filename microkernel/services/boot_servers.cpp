// ServerTask (abi/task.hpp): the ring-3 servers the kernel starts itself,
// the console and the loader, handed to their supervisor (init) as task
// handles, and started again when they have ended.
//
// Only the kernel can start these two: the console needs COM1's ports, its
// interrupt and the kernel log, the loader the boot archive and
// ProcessControl, and no task holds those to pass on. So the kernel keeps
// the means (console_start_server(), loader_start_server(), the same code
// as at boot) and the supervisor keeps the policy: when to restart, the
// backoff, the heartbeat (user/init, docs/reliability.md). This file is the
// whole of ring 0's part: which task serves now, and "start it again if it
// has ended". No server keeps running twice: a restart happens only once
// the task before has ended (the supervisor kills a hung one first).
//
// Contract: SystemControl with RightSend (init's; the shell's too, which
// may power off anyway). The handle has RightSend (TaskKill) and
// RightReceive (TaskWait, TaskInfo). A server built into the kernel, or one
// that never started, is BadArgument (there is no task to supervise).
#include "services.hpp"

#include "../abi/ipc.hpp"
#include "../abi/task.hpp"
#include "../ipc/ipc.hpp"
#include "../object/lookup.hpp"
#include "../object/system_control.hpp"
#include "../object/task_object.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/processor.hpp"
#include "../sync/spinlock.hpp"
#include "../syscall/handlers.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

struct Slot {
    SpinLock lock;
    TaskObject* task GUARDED_BY(lock) { nullptr }; // a reference, from boot_server_started
    bool restarting { false };                      // atomic: one restart at a time
};

Slot g_slots[abi::kBootServers];

Ref<TaskObject> current(Slot& slot)
{
    SpinLockGuard guard(slot.lock);
    return slot.task ? Ref<TaskObject>(*slot.task) : Ref<TaskObject>();
}

bool has_ended(TaskObject& task)
{
    abi::TaskState state = task.status().state;
    return state == abi::TaskState::Exited || state == abi::TaskState::Killed;
}

// Starts the server again unless its task still runs. Restarts are rare
// and may block (building a task maps pages): a second caller waits for the
// first, a tick at a time, rather than under a lock.
void restart_if_ended(abi::BootServer server)
{
    Slot& slot = g_slots[static_cast<u64>(server)];
    while (__atomic_exchange_n(&slot.restarting, true, __ATOMIC_ACQUIRE))
        scheduler_sleep_ms(kTickMs);
    Ref<TaskObject> task = current(slot);
    if (task && has_ended(*task)) {
        task.clear();
        if (server == abi::BootServer::Console)
            (void)console_start_server(); // it logs why, if it cannot
        else
            (void)loader_start_server();
    }
    __atomic_store_n(&slot.restarting, false, __ATOMIC_RELEASE);
}

} // namespace

void boot_server_started(BootServerSlot server, Ref<TaskObject> task)
{
    Slot& slot = g_slots[static_cast<u64>(server)];
    TaskObject* previous;
    {
        SpinLockGuard guard(slot.lock);
        previous = slot.task;
        slot.task = task.leak();
    }
    if (previous)
        Ref<TaskObject>::adopt(*previous).clear(); // after the lock: it may be the last
}

// (SystemControl, abi::BootServer, abi::ServerTaskMode) -> a task handle.
ErrorOr<u64> sys_server_task(const SyscallArgs& args)
{
    HERALD_TRY(lookup<SystemControl>(current_thread(), args.arg(0), abi::RightSend));
    u64 server = args.arg(1), mode = args.arg(2);
    if (server >= abi::kBootServers || mode > static_cast<u64>(abi::ServerTaskMode::Restart))
        return Error::BadArgument;
    if (!current(g_slots[server]))
        return Error::BadArgument; // built into the kernel, or never started
    if (mode == static_cast<u64>(abi::ServerTaskMode::Restart))
        restart_if_ended(static_cast<abi::BootServer>(server));
    Ref<TaskObject> task = current(g_slots[server]);
    u64 handle = grant_handle(*current_thread().task, *task, abi::RightSend | abi::RightReceive, 0);
    if (!handle)
        return Error::OutOfMemory;
    return handle;
}

} // namespace herald
