// The normal image's after_boot(). The memory server runs (mm/pager.hpp);
// the loader, the console, init and the shell are not written yet. The boot
// thread ends, every CPU idles in HLT, and QEMU stays up until the user
// quits it.
#include "kernel.hpp"
#include "log.hpp"
#include "sched/scheduler.hpp"

namespace herald {

void after_boot()
{
    klog("herald: the memory server runs; no loader, console or shell yet; CPU idle");
    klog("herald: quit QEMU with Ctrl-A X");
    scheduler_exit_current();
}

} // namespace herald
