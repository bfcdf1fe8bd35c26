// The task system calls (abi/task.hpp, docs/system.md, "Tasks as
// capabilities"): ProcessControl, which only the loader holds, creates tasks;
// a task handle gives them handles, starts, kills and waits for them;
// TaskList is for everyone (ps); SystemControl, which only init holds, powers
// the machine off; KernelLog, the console's, reads the kernel log. The
// objects are in object/; this file decodes the registers.
#pragma once

#include "../lib/types.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}

// False for a number that is not one of these calls.
bool handle_task_syscall(u64 number, x86::InterruptFrame& frame, i64& result);

} // namespace herald
