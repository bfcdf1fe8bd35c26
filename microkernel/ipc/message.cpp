#include "message.hpp"

#include "../abi/ipc.hpp"
#include "../lib/syscall_error.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"

namespace herald {

IpcMessage notification_message(u64 bits)
{
    return IpcMessage { abi::MessageInfo { abi::kNotificationLabel, 0, false }.encode(), { bits }, abi::kNotificationBadge };
}

void ipc_wake_with_status(Thread& thread, Error error)
{
    set_syscall_result(*thread.ipc.frame, encode_result(error));
    thread.ipc.awaiting_reply = false;
    thread.ipc.replier = nullptr;
    scheduler_wake(thread);
}

} // namespace herald
