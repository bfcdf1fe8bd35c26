// What happens when ring-3 code faults.
#pragma once

namespace herald {

namespace x86 {
struct InterruptFrame;
}

// Every exception raised by ring-3 code ends up here. A page fault first
// goes to the pager (mm/pager.hpp), which may map a page: then this returns
// and the instruction runs again. Anything else kills the faulting task,
// with one line on the log naming task, CPU, vector, RIP, address and the
// pager's reason; the rest of the system goes on.
void handle_user_fault(x86::InterruptFrame& frame);

} // namespace herald
