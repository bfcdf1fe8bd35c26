#include "message.hpp"

#include "../abi/ipc.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"

namespace herald {

IpcMessage notification_message(u64 bits)
{
    return IpcMessage { abi::MessageInfo { abi::kNotificationLabel, 0, false }.encode(), { bits }, abi::kNotificationBadge };
}

void ipc_wake_with_status(Thread& thread, i64 status)
{
    thread.ipc.frame->rax = static_cast<u64>(status);
    thread.ipc.awaiting_reply = false;
    thread.ipc.replier = nullptr;
    scheduler_wake(thread);
}

} // namespace herald
