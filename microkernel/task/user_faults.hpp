// What happens when ring-3 code faults: handle_user_fault(), declared in the
// trap interface (arch/x86_64/traps.hpp), which the exception entry calls.
// Every exception raised by ring-3 code ends up there. A page fault first
// goes to the pager (pager/pager.hpp), which may map a page: then it returns
// and the instruction runs again. Anything else kills the faulting task,
// with one line on the log naming task, CPU, vector, RIP, address and the
// pager's reason; the rest of the system goes on.
#pragma once

#include "../arch/x86_64/traps.hpp"
