// The normal image's after_boot(). There is nothing to run yet: tasks, the
// scheduler and the servers arrive with the SMP and IPC work. The CPU halts
// with the log on screen, and QEMU stays up until the user quits it.
#include "arch/x86_64/cpu.hpp"
#include "kernel.hpp"
#include "log.hpp"

namespace herald {

void after_boot()
{
    klog("herald: nothing to run yet (tasks and servers are not implemented); CPU idle");
    klog("herald: quit QEMU with Ctrl-A X");
    x86::halt_forever();
}

} // namespace herald
