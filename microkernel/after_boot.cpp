// The normal image's after_boot(). There is nothing to run yet: the servers
// arrive with the IPC work. The boot thread ends, every CPU idles in HLT,
// and QEMU stays up until the user quits it.
#include "kernel.hpp"
#include "log.hpp"
#include "sched/scheduler.hpp"

namespace herald {

void after_boot()
{
    klog("herald: nothing to run yet (the servers are not implemented); CPU idle");
    klog("herald: quit QEMU with Ctrl-A X");
    scheduler_exit_current();
}

} // namespace herald
