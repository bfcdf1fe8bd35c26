// Self-tests of the whole system (docs/system.md): the servers the kernel
// starts, in ring 3 from the boot archive or built into ring 0 (the image's
// placement, docs/placement.md), the loader's checks, whole lines from many
// programs on many CPUs, and a server found by name. Runs last (the IPC
// tests before it start and stop a registry of their own).
#include "microkernel/bootstrap.hpp"
#include "microkernel/object/kernel_object.hpp"
#include "microkernel/log.hpp"
#include "microkernel/services/services.hpp"
#include "microkernel/smp/processor.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

const SystemTasks& system()
{
    static SystemTasks tasks;
    static bool started;
    if (!started) {
        tasks = start_system(false);
        started = true;
    }
    return tasks;
}

i64 free_frames() { return run_to_exit("memory_free_frames", 0); }

// A server of the system runs: in ring 3 its task is alive; in ring 0 it
// has no task, and its service answers (it has a client object).
void expect_serving(Server server, u64 task)
{
    if (server_in_kernel(server)) {
        EXPECT_EQ(task, 0u);
        Ref<KernelObject> service = server_client_object(server);
        EXPECT(service.ptr() != nullptr);
        if (service)
            EXPECT(service->type() == ObjectType::KernelService);
        return;
    }
    EXPECT(task != 0);
    EXPECT(task && !find_exit(task).has_value());
}

constexpr u64 kStormPrograms = 200;

} // namespace

HERALD_SELFTEST(system_servers_start_in_their_rings)
{
    const SystemTasks& tasks = system();
    klog("selftest: placement {}", placement_name());
    EXPECT(tasks.registry != 0);
    expect_serving(Server::Console, tasks.console);
    expect_serving(Server::Loader, tasks.loader);
}

HERALD_SELFTEST(loader_refuses_bad_programs_and_goes_on)
{
    (void)system();
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0);
    expect_serving(Server::Loader, system().loader); // the loader is still up
}

// Hostile requests to the console, the loader and the memory service get
// the same answers whether the server runs in ring 3 or in ring 0, and none
// takes a server (or, in ring 0, the kernel) down (docs/placement.md).
HERALD_SELFTEST(services_answer_bad_requests_alike_in_every_ring)
{
    (void)system();
    EXPECT_EQ(run_to_exit("service_garbage", 0), 0);
    expect_serving(Server::Console, system().console);
    expect_serving(Server::Loader, system().loader);
}

// 200 programs through the loader, all printing at once on every CPU: none
// fails, the run checks that every line came out whole (tests/qemu), and
// every frame they used comes back.
HERALD_SELFTEST(two_hundred_programs_print_whole_lines_and_give_back_their_frames)
{
    (void)system();
    klog("selftest: storm on {} CPUs", processor_count());
    i64 before = free_frames();
    EXPECT_EQ(run_to_exit("spawn_storm", kStormPrograms, -1, 240'000), 0);
    EXPECT_EQ(free_frames(), before);
}

HERALD_SELFTEST(a_client_reaches_the_example_server_by_name)
{
    (void)system();
    u64 server = spawn("echo"); // servers/echo: publishes "echo"
    EXPECT_EQ(run_to_exit("echo_by_name_client", 0), 0);
    EXPECT(kill_task(server));
    EXPECT(wait_for_exit(server).has_value());
}

// A hostile program (user/programs/hostile_authority.cpp) tries each
// authority hole of docs/security.md; every attempt must fail with a clear
// error, and the servers it attacks keep serving. Its argument is the mode.
constexpr u64 kHostileKill = 1;
constexpr u64 kHostileBadges = 3;
constexpr u64 kHostileRegistry = 4;

HERALD_SELFTEST(a_program_cannot_kill_or_list_what_it_did_not_start)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_authority", kHostileKill), 0);
    expect_serving(Server::Loader, system().loader);
}

HERALD_SELFTEST(badges_cannot_be_forged)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_authority", kHostileBadges), 0);
}

HERALD_SELFTEST(the_registry_cannot_be_squatted_or_filled)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_authority", kHostileRegistry), 0);
    expect_serving(Server::Console, system().console);
    expect_serving(Server::Loader, system().loader);
}

// Authority over devices (docs/drivers.md): the PCI server hands a driver
// what its line of init.manifest grants (device_checks: the CMOS ports, IRQ
// 8, QEMU's display, whose BAR it maps), and nothing to a driver without
// one (hostile_driver), while it goes on serving.
constexpr u64 kDeviceChecksDriver = 6;

HERALD_SELFTEST(a_driver_gets_what_its_manifest_line_grants)
{
    EXPECT(system().pci != 0);
    EXPECT_EQ(run_to_exit("device_checks", kDeviceChecksDriver), 0);
}

HERALD_SELFTEST(a_driver_asking_beyond_its_grant_is_refused)
{
    EXPECT(system().pci != 0);
    EXPECT_EQ(run_to_exit("hostile_driver", 0), 0);
    EXPECT(system().pci && !find_exit(system().pci).has_value());
}

// The kernel log through the console: a line of the longest length does not
// hold up the lines after it, and a program's last line without '\n' is
// printed when it returns (the run checks both lines).
HERALD_SELFTEST(the_console_prints_long_kernel_lines_and_unfinished_last_lines)
{
    (void)system();
    EXPECT_EQ(run_to_exit("long_line", 0), 0);
}

// Last: the console ends, and the kernel writes its log to COM1 again
// (log.hpp); the run checks the line, and the results that follow it.
HERALD_SELFTEST(the_kernel_takes_com1_back_when_the_console_ends)
{
    if (console_in_kernel())
        return skip("the console is built into the kernel: no console task to end, and the kernel log goes to COM1 already");
    u64 console = system().console;
    EXPECT(console != 0);
    if (!console)
        return;
    // Killed between two batches, not in the middle of printing one (a batch
    // it took is no longer in the kernel's ring): nothing left to take, and
    // the console waiting in receive, two ticks in a row.
    auto idle = [&] {
        auto thread = main_thread_snapshot(console);
        return kernel_log_waiting_lines() == 0 && thread && thread->state == ThreadState::Blocked;
    };
    int idle_looks = 0;
    for (u64 waited = 0; waited < 60'000 && idle_looks < 2; waited += kTickMs) {
        idle_looks = idle() ? idle_looks + 1 : 0;
        if (idle_looks < 2)
            scheduler_sleep_ms(kTickMs);
    }
    EXPECT_EQ(idle_looks, 2);
    EXPECT(kill_task(console));
    EXPECT(wait_for_exit(console, 60'000).has_value()); // generous: a loaded host can starve emulated CPUs
    klog("selftest: written by the kernel itself after the console ended");
}

