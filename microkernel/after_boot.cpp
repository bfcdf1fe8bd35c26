// The normal image's after_boot(): the system's servers and init
// (bootstrap.hpp). The boot thread then ends; init takes it from there.
#include "bootstrap.hpp"
#include "kernel.hpp"
#include "sched/scheduler.hpp"

namespace herald {

void after_boot()
{
    start_system(true);
    scheduler_exit_current();
}

} // namespace herald
