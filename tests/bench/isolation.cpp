// The benchmark image's fault-isolation mode (docs/placement.md, "Fault
// isolation"), for the study's side-by-side table:
//
//   -append "bench_only=isolation isolation=<memory|loader|console>"
//
// Starts the system, a client that calls the server in a loop
// (isolation_client), then makes the server fault through the test-only
// request (services/fault_injection.hpp).
//
//   ring 3  the server is killed; this prints
//             isolation: server=<s> outcome=contained <what was seen>
//           when its client got PeerGone, the server's task was killed and
//           a program started afterwards ran to its end; otherwise
//           outcome=not_contained with what went wrong. Then `bench: done`.
//   ring 0  the kernel panics (its report's first line is `PANIC on CPU`,
//           which the study reads as outcome=kernel_panic): nothing after.
#include "isolation.hpp"

#include "microkernel/abi/syscalls.hpp"
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/qemu_exit.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/boot/boot_archive.hpp"
#include "microkernel/boot/command_line.hpp"
#include "microkernel/bootstrap.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/services/fault_injection.hpp"
#include "microkernel/task/program_loader.hpp"
#include "microkernel/task/task.hpp"

namespace herald {

namespace {

// isolation_client's exit status: calls * kCallsUnit + (the error, negated).
constexpr i64 kCallsUnit = 1000;
constexpr u64 kPatienceMs = 20'000; // a loaded host may starve emulated CPUs for long
// Half of isolation_client's kServedPauseMs (500), far more than the
// registry lookup's sleep step (ipc::registry::kSleepStepMs, 10).
constexpr u64 kServedSleepMs = 250;

Optional<Server> server_named(StringView name)
{
    const Server servers[] = { Server::Memory, Server::Loader, Server::Console };
    for (Server server : servers) {
        if (name == server_name(server))
            return server;
    }
    return nullopt;
}

u64 client_parameter(Server server)
{
    switch (server) {
    case Server::Memory: return 0;
    case Server::Loader: return 1;
    case Server::Console: return 2;
    }
    return 0;
}

u64 start(const char* name, u64 parameter)
{
    auto program = find_boot_program(name);
    if (program.is_error())
        return 0;
    SpawnOptions options;
    options.parameter = parameter;
    auto task = spawn_program(name, program.value(), options);
    return task.is_error() ? 0 : task.value();
}

// Whether a thread that wakes at TSC value `wake_at` has `ms` or more to sleep.
bool sleeps_at_least(u64 wake_at, u64 ms)
{
    u64 per_ms = tsc::ticks_per_ms().value_or(0);
    u64 now = x86::rdtsc();
    return per_ms != 0 && wake_at > now && wake_at - now >= ms * per_ms;
}

Optional<TaskExit> wait_for_exit(u64 task)
{
    for (u64 waited = 0; task && waited < kPatienceMs; waited += kTickMs) {
        if (auto exit = find_exit(task))
            return exit;
        scheduler_sleep_ms(kTickMs);
    }
    return nullopt;
}

// The server's task, by name, while it runs.
u64 server_task(Server server)
{
    abi::TaskListEntry entries[16];
    usize next = 0;
    for (usize from = 0;; from = next) {
        usize count = list_tasks(from, entries, 16, next);
        if (count == 0)
            return 0;
        for (usize i = 0; i < count; ++i) {
            if (StringView(entries[i].name) == server_name(server))
                return entries[i].task_id;
        }
    }
}

[[noreturn]] void done()
{
    klog("bench: done");
    kernel_log_flush();
    x86::qemu_exit(x86::QemuExitCode::Success);
}

void isolate_in_ring_3(Server server)
{
    const char* name = server_name(server);
    u64 task = server_task(server);
    u64 client = start("isolation_client", client_parameter(server));
    // The client has been served: it sleeps after each answer
    // (isolation_client.cpp), and the fault comes during such a sleep, told
    // from find_server()'s short ones (10 ms steps while the server has not
    // registered yet) by how far off its wake-up is.
    bool serving = false;
    for (u64 waited = 0; client && waited < kPatienceMs && !serving; waited += kTickMs) {
        auto thread = main_thread_snapshot(client);
        serving = thread && thread->state == ThreadState::Sleeping && sleeps_at_least(thread->wake_at, kServedSleepMs);
        if (!serving)
            scheduler_sleep_ms(kTickMs);
    }
    i64 fault = inject_server_fault(server);
    auto client_exit = wait_for_exit(client);
    auto server_exit = wait_for_exit(task);
    auto rest = wait_for_exit(start("hello", 0));

    i64 calls = client_exit && !client_exit->killed ? client_exit->status / kCallsUnit : 0;
    i64 client_error = client_exit && !client_exit->killed ? -(client_exit->status % kCallsUnit) : 0;
    bool peer_gone = client_error == static_cast<i64>(abi::SyscallError::PeerGone);
    bool server_killed = server_exit && server_exit->killed;
    bool rest_runs = rest && !rest->killed && rest->status == 0;
    bool contained = task && client && serving && calls > 0 && peer_gone && server_killed && rest_runs;
    klog("isolation: server={} outcome={} client_calls={} client_error={} server_task={} server_killed={} "
         "rest_runs={} kernel_call={}",
        name, contained ? "contained" : "not_contained", calls, client_error, task, server_killed ? "yes" : "no",
        rest_runs ? "yes" : "no", fault);
    if (client && !client_exit)
        kill_task(client);
}

} // namespace

void run_isolation_if_asked()
{
    StringView line = boot_info().command_line_view();
    auto only = command_line_value(line, "bench_only");
    if (!only || *only != "isolation")
        return;
    auto asked = command_line_value(line, "isolation");
    Optional<Server> server = asked ? server_named(*asked) : nullopt;
    if (!server) {
        klog("isolation: server={} outcome=refused: isolation= wants memory, loader or console", asked ? *asked : StringView());
        done();
    }
    start_system(false); // the registry, the console and the loader (memory runs already)
    if (server_in_kernel(*server)) {
        klog("isolation: the {} runs in ring 0 in placement {}: its fault is the kernel's, which panics next",
            server_name(*server), placement_name());
        kernel_log_flush();
        i64 status = inject_server_fault(*server);
        klog("isolation: server={} outcome=survived kernel_call={}: the kernel did not panic", server_name(*server), status);
        done();
    }
    isolate_in_ring_3(*server);
    done();
}

} // namespace herald
