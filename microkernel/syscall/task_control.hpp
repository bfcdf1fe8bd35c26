// The task system calls (abi/task.hpp, docs/system.md, "Tasks as capabilities"): ProcessControl, which
// only the loader holds, creates tasks; a task handle gives them handles,
// starts, kills and waits for them; TaskList is for everyone (ps);
// SystemControl, which only init holds, powers the machine off.
#pragma once

#include "../ipc/handle_table.hpp"
#include "../ipc/kernel_object.hpp"
#include "../lib/error.hpp"
#include "../lib/string_view.hpp"
#include "../lib/types.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}
class TaskObject;

KernelObject& process_control();
KernelObject& system_control();
KernelObject& kernel_log_control();

// False for a number that is not one of these calls.
bool handle_task_syscall(u64 number, x86::InterruptFrame& frame, i64& result);

// The kernel's own forms of TaskCreate, TaskGiveHandle and TaskStart, with
// the same checks: the calls use them, and so does the loader built into
// the kernel (services/loader_in_kernel.cpp), which holds task objects
// rather than handles.
//
// A task named `name` (1 to 31 bytes) with an empty address space, its
// standard handles and no thread; the caller holds the one reference (the
// task goes with it if never started). NoMemory, or BadLength for the name.
ErrorOr<TaskObject*> create_unstarted_task(StringView name);
// Copies `entry` into the table of `target`'s task, not started yet, at
// `index`: the index, or a negative SyscallError.
i64 give_task_handle(TaskObject& target, const HandleEntry& entry, u64 index);
// Starts `target`'s task: 0, or a negative SyscallError (BadAddress for an
// entry or stack outside user memory, BadArgument if it started already).
i64 start_task(TaskObject& target, u64 entry, u64 stack_top, u64 parameter);

} // namespace herald
