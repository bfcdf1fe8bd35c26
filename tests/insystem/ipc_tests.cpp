// Self-tests of IPC between ring-3 tasks: the echo server and its clients
// (user/programs/ipc_*), on one CPU and across CPUs, many clients against
// one server, every bad argument, and a client whose server dies; and the
// Call the kernel makes in a thread's name, on its fast and full paths.
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/boot/command_line.hpp"
#include "microkernel/ipc/ipc.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/stats/event_counters.hpp"
#include "microkernel/task/program_loader.hpp"
#include "microkernel/task/task.hpp"
#include "programs.hpp"
#include "selftest.hpp"

using namespace herald;

namespace {

constexpr u64 kEndpointHandle = 8; // where both sides find the endpoint

using herald::selftest::spawn;

// Generous: 100,000 round trips across emulated CPUs on a loaded host take a while.
Optional<TaskExit> wait_for_exit(u64 task_id, u64 timeout_ms = 240'000)
{
    for (u64 waited = 0; waited <= timeout_ms; waited += kTickMs) {
        if (auto exit = find_exit(task_id))
            return exit;
        scheduler_sleep_ms(kTickMs);
    }
    return nullopt;
}

// Whether task `task_id`'s thread waits in IPC (its task does not end
// meanwhile: the callers here never end before their server answers).
bool blocked_in_ipc(u64 task_id)
{
    auto thread = main_thread_snapshot(task_id);
    return thread && thread->state == ThreadState::Blocked;
}

SpawnOptions with_endpoint(Endpoint& endpoint, u32 rights, u64 parameter, Optional<usize> cpu, u64 badge = 0)
{
    SpawnOptions options;
    options.parameter = parameter;
    options.cpu = cpu;
    options.handles[0] = InitialHandle { &endpoint, rights, badge, kEndpointHandle };
    return options;
}

// Starts an echo server on `server_cpu` and the named clients; returns the
// exit statuses of the clients (which must all be 0), then stops the server.
void run_clients(const char* client, u64 parameter, Optional<usize> server_cpu, Optional<usize>* client_cpus, usize clients)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    u64 server = spawn("ipc_echo_server", with_endpoint(*endpoint, abi::RightReceive, kEndpointHandle, server_cpu));
    u64 ids[16] = {};
    for (usize i = 0; i < clients; ++i)
        ids[i] = spawn(client, with_endpoint(*endpoint, abi::RightSend, parameter, client_cpus[i], i + 1));
    endpoint.clear(); // the tasks' handles keep it alive
    for (usize i = 0; i < clients; ++i) {
        auto exit = wait_for_exit(ids[i]);
        EXPECT(exit.has_value());
        if (exit) {
            EXPECT(!exit->killed);
            EXPECT_EQ(exit->status, 0);
        }
    }
    EXPECT(kill_task(server));
    EXPECT(wait_for_exit(server).has_value());
}

// Every run does 10,000 round trips per stress test; the dedicated run
// qemu-selftest-ipc-stress asks for 100,000 with ipc-round-trips=100000 on
// the command line (eight full runs of 200,000 under TCG would make the suite
// slow on a 2-core machine for no extra coverage).
constexpr u64 kDefaultRoundTrips = 10'000;
constexpr u64 kMaxRoundTrips = (1ull << 47) - 1; // what fits above the handle in the parameter

u64 round_trips()
{
    auto value = command_line_value(boot_info().command_line_view(), "ipc-round-trips");
    if (!value || value->is_empty())
        return kDefaultRoundTrips;
    u64 number = 0;
    for (usize i = 0; i < value->length(); ++i) {
        char c = (*value)[i];
        if (c < '0' || c > '9' || number > kMaxRoundTrips / 10)
            return kDefaultRoundTrips;
        number = number * 10 + static_cast<u64>(c - '0');
    }
    return min(number, kMaxRoundTrips);
}

u64 stress_parameter()
{
    klog("selftest: {} round trips", round_trips());
    return (round_trips() << 16) | kEndpointHandle;
}

} // namespace

HERALD_SELFTEST(echo_server_answers_every_kind_of_message)
{
    Optional<usize> client_cpu[1] = { nullopt };
    run_clients("ipc_echo_client", kEndpointHandle, nullopt, client_cpu, 1);
}

HERALD_SELFTEST(checksummed_round_trips_on_one_cpu)
{
    usize cpu = processor_count() - 1;
    Optional<usize> client_cpu[1] = { cpu };
    run_clients("ipc_stress_client", stress_parameter(), cpu, client_cpu, 1);
}

HERALD_SELFTEST(checksummed_round_trips_across_cpus)
{
    if (processor_count() < 2)
        return; // one CPU: the test above covers it
    Optional<usize> client_cpu[1] = { processor_count() - 2 };
    run_clients("ipc_stress_client", stress_parameter(), processor_count() - 1, client_cpu, 1);
}

HERALD_SELFTEST(eight_clients_share_one_server)
{
    Optional<usize> cpus[8] = {};
    for (usize i = 0; i < 8; ++i)
        cpus[i] = nullopt;
    run_clients("ipc_stress_client", (2'000ull << 16) | kEndpointHandle, nullopt, cpus, 8);
}

HERALD_SELFTEST(bad_ipc_arguments_get_their_errors)
{
    u64 task = spawn("ipc_errors", SpawnOptions {});
    auto exit = wait_for_exit(task);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 0); // the number of wrong answers
    }
}

HERALD_SELFTEST(client_of_a_killed_server_gets_an_error)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    u64 server = spawn("ipc_echo_server", with_endpoint(*endpoint, abi::RightReceive, kEndpointHandle, nullopt));
    u64 client = spawn("ipc_until_error", with_endpoint(*endpoint, abi::RightSend, kEndpointHandle, nullopt));
    endpoint.clear();
    scheduler_sleep_ms(5 * kTickMs); // let them talk
    EXPECT(!find_exit(client).has_value());
    EXPECT(kill_task(server));
    auto exit = wait_for_exit(client, 5000);
    EXPECT(exit.has_value()); // no hang
    if (exit)
        EXPECT_EQ(exit->status, -static_cast<i64>(abi::SyscallError::PeerGone));
}

// Tasks find servers by name: the registry (the first user task) gets the
// endpoint every later task holds as handle 1; the echo server publishes a
// handle to its own endpoint as "echo", and a client looks it up and calls.
HERALD_SELFTEST(clients_find_servers_by_name)
{
    Ref<Endpoint> registry_endpoint = Endpoint::create();
    EXPECT(registry_endpoint.ptr() != nullptr);
    if (!registry_endpoint)
        return;
    u64 registry = spawn("registry",
        with_endpoint(*registry_endpoint, abi::RightReceive | abi::RightGrant, kEndpointHandle, nullopt));
    set_name_registry(registry_endpoint.ptr());
    registry_endpoint.clear(); // the registry's handle and set_name_registry keep it
    u64 server = spawn("echo_named_server", SpawnOptions {});
    u64 client = spawn("echo_by_name_client", SpawnOptions {});
    auto exit = wait_for_exit(client);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 0); // 100 + error: the lookup failed; other: calls failed
    }
    set_name_registry(nullptr);
    EXPECT(kill_task(server));
    EXPECT(kill_task(registry));
    EXPECT(wait_for_exit(server).has_value());
    EXPECT(wait_for_exit(registry).has_value());
}

// A server that receives a second call without answering the first: the
// first caller gets PeerGone at once; the second gets it when the server
// is killed. Nobody waits forever.
HERALD_SELFTEST(an_unanswered_caller_is_not_forgotten)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    u64 server = spawn("ipc_forgetful_server", with_endpoint(*endpoint, abi::RightReceive, kEndpointHandle, nullopt));
    u64 first = spawn("ipc_until_error", with_endpoint(*endpoint, abi::RightSend, kEndpointHandle, nullopt));
    // The first call must come first: wait until its caller blocks in it
    // (queued, or held by the server: either way ahead of the second). It
    // has no other reason to block: its pages are all mapped at the start.
    EXPECT(selftest::eventually([&] { return blocked_in_ipc(first); }, 5000));
    EXPECT(!find_exit(first).has_value());
    u64 second = spawn("ipc_until_error", with_endpoint(*endpoint, abi::RightSend, kEndpointHandle, nullopt));
    endpoint.clear();
    auto first_exit = wait_for_exit(first, 5000);
    EXPECT(first_exit.has_value());
    if (first_exit)
        EXPECT_EQ(first_exit->status, -static_cast<i64>(abi::SyscallError::PeerGone));
    EXPECT(kill_task(server));
    auto second_exit = wait_for_exit(second, 5000);
    EXPECT(second_exit.has_value());
    if (second_exit)
        EXPECT_EQ(second_exit->status, -static_cast<i64>(abi::SyscallError::PeerGone));
    EXPECT(wait_for_exit(server).has_value());
}

// ---- saved replies (object/saved_reply.hpp) ----

namespace {

bool waits_for_saved_reply(u64 task_id)
{
    auto thread = main_thread_snapshot(task_id);
    return thread && thread->waits_for_saved_reply;
}

// ipc_deferring_server's exit statuses, and its mode that drops the saved reply.
constexpr i64 kFirstCallerAnswered = 0;
constexpr i64 kFirstCallerGone = 1;
constexpr i64 kDroppedFirst = 2;
constexpr u64 kModeDropFirst = 1;
// ipc_call_once's: 0 the right answer, |error| if the call failed.
constexpr i64 kAnswered = 0;
constexpr i64 kCallPeerGone = -static_cast<i64>(abi::SyscallError::PeerGone);

// ipc_deferring_server and its first caller, whose reply the server has set
// aside; the endpoint stays retained for a second caller.
struct Deferring {
    Ref<Endpoint> endpoint;
    u64 server { 0 };
    u64 first { 0 };

    bool start(u64 mode = 0)
    {
        endpoint = Endpoint::create();
        EXPECT(endpoint.ptr() != nullptr);
        if (!endpoint)
            return false;
        server = spawn("ipc_deferring_server",
            with_endpoint(*endpoint, abi::RightReceive, mode << 16 | kEndpointHandle, nullopt));
        first = spawn("ipc_call_once", with_endpoint(*endpoint, abi::RightSend, kEndpointHandle, nullopt));
        EXPECT(server != 0 && first != 0);
        if (mode == kModeDropFirst)
            return server && first; // saved and dropped at once: too brief to see
        bool saved = selftest::eventually([&] { return waits_for_saved_reply(first); }, 5000);
        EXPECT(saved);
        return server && first && saved;
    }
    u64 second_caller()
    {
        return spawn("ipc_call_once", with_endpoint(*endpoint, abi::RightSend, kEndpointHandle, nullopt));
    }
    ~Deferring()
    {
        // Whatever a failed test left running (both have ended otherwise,
        // and kill_task then finds nobody).
        if (server)
            (void)kill_task(server);
        if (first)
            (void)kill_task(first);
        if (endpoint)
            endpoint.clear();
    }
};

i64 exit_status(u64 task)
{
    auto exit = wait_for_exit(task, 60'000);
    EXPECT(exit.has_value());
    return exit ? exit->status : -9999;
}

} // namespace

// A server sets the first call's reply aside, takes a second call, and
// answers both: the first caller waited through the second call.
HERALD_SELFTEST(a_server_answers_a_saved_reply_after_another_call)
{
    Deferring deferring;
    if (!deferring.start())
        return;
    EXPECT(!find_exit(deferring.first).has_value()); // still waiting
    u64 second = deferring.second_caller();
    EXPECT_EQ(exit_status(second), kAnswered);
    EXPECT_EQ(exit_status(deferring.first), kAnswered);
    EXPECT_EQ(exit_status(deferring.server), kFirstCallerAnswered);
}

// The first caller is killed while its reply is saved: it ends at once (no
// wait for the server), and the server's later answer is refused (NoReply).
HERALD_SELFTEST(a_caller_killed_while_its_reply_is_saved_ends_at_once)
{
    Deferring deferring;
    if (!deferring.start())
        return;
    EXPECT(kill_task(deferring.first));
    auto exit = wait_for_exit(deferring.first, 60'000);
    EXPECT(exit.has_value() && exit->killed);
    u64 second = deferring.second_caller();
    EXPECT_EQ(exit_status(second), kAnswered);
    EXPECT_EQ(exit_status(deferring.server), kFirstCallerGone);
}

// The server dies holding a saved reply: its caller gets PeerGone, not a
// wait forever.
HERALD_SELFTEST(a_saved_reply_whose_server_dies_gives_peer_gone)
{
    Deferring deferring;
    if (!deferring.start())
        return;
    EXPECT(kill_task(deferring.server));
    EXPECT_EQ(exit_status(deferring.first), kCallPeerGone);
    auto exit = wait_for_exit(deferring.server, 60'000);
    EXPECT(exit.has_value() && exit->killed);
}

// The server closes a saved reply's handle without answering: the caller
// gets PeerGone at once.
HERALD_SELFTEST(a_dropped_saved_reply_gives_peer_gone)
{
    Deferring deferring;
    if (!deferring.start(kModeDropFirst))
        return;
    EXPECT_EQ(exit_status(deferring.first), kCallPeerGone);
    EXPECT_EQ(exit_status(deferring.server), kDroppedFirst);
}

// A task killed just as its thread starts to wait in IPC (the kill looks for
// the wait a moment too early) still ends: the waiting thread sees the kill
// itself. The kill comes at a different moment of the start each time, to a
// server starting to receive (even rounds) or to a client starting to call
// a server that never answers (odd rounds).
HERALD_SELFTEST(a_kill_is_never_lost_while_a_thread_starts_to_wait)
{
    constexpr int kRounds = 60;
    int ended = 0;
    for (int round = 0; round < kRounds; ++round) {
        Ref<Endpoint> endpoint = Endpoint::create();
        EXPECT(endpoint.ptr() != nullptr);
        if (!endpoint)
            return;
        u64 server = spawn("ipc_forgetful_server", with_endpoint(*endpoint, abi::RightReceive, kEndpointHandle, nullopt));
        u64 task = server;
        if (round % 2)
            task = spawn("ipc_call_once", with_endpoint(*endpoint, abi::RightSend, kEndpointHandle, nullopt));
        endpoint.clear();
        EXPECT(server != 0 && task != 0);
        if (!server || !task)
            continue;
        u64 until = x86::rdtsc() + static_cast<u64>(round % 20) * 20 * tsc::ticks_per_ms().value() / 1000;
        while (x86::rdtsc() < until)
            x86::pause(); // 0 to 380 us: before, during and after it starts to receive
        EXPECT(kill_task(task));
        auto exit = wait_for_exit(task, 10'000);
        if (task != server) {
            EXPECT(kill_task(server));
            EXPECT(wait_for_exit(server, 10'000).has_value());
        }
        if (!exit || !exit->killed) {
            klog("selftest: round {}: the kill was lost (the task still waits)", round);
            break;
        }
        ++ended;
    }
    EXPECT_EQ(ended, kRounds);
}

// ---- the kernel's Call in a thread's name (ipc_call_from_kernel) ----
//
// A page fault reaches the memory server as a Call the kernel makes in the
// faulting thread's name. It has a fast path of its own (fastpath.cpp;
// docs/ipc.md, "The kernel's Call"): taken when a server thread waits on
// the endpoint on this CPU and interrupts are off (as in a fault's
// handler), not otherwise. Here the server is the echo server and the
// calls are Pings, from this test's thread: the boot thread, pinned to its
// CPU, so that the counters of its CPU are its own.

namespace {

constexpr u32 kPingLabel = 1; // ipc::echo::Ping
constexpr u64 kKernelCalls = 16;
// Not abi::kKernelBadge: libipc's serve loop drops what the kernel sends in
// its own name unless the server handles kernel messages (the echo server
// does not); the path is the same whatever the badge.
constexpr u64 kPingBadge = 7;

struct PathCounts {
    u64 fast;
    u64 full;
};

PathCounts path_counts(usize cpu)
{
    EventCounters counters = event_counters_read(cpu);
    return { counters.values[static_cast<usize>(Event::IpcFast)], counters.values[static_cast<usize>(Event::IpcFull)] };
}

// One Ping in the kernel's name, with interrupts off as a fault's handler
// has them (or on: then the fast path steps aside); whether the echo
// server answered it.
bool kernel_ping(Endpoint& endpoint, u64 value, bool interrupts_off = true)
{
    IpcMessage request { abi::MessageInfo { kPingLabel, 0, false }.encode(), { value }, kPingBadge };
    IpcMessage reply;
    if (interrupts_off)
        x86::disable_interrupts();
    auto status = ipc_call_from_kernel(current_thread(), endpoint, request, reply);
    if (interrupts_off)
        x86::enable_interrupts();
    return !status.is_error() && abi::MessageInfo::decode(reply.info).label == kPingLabel && reply.words[0] == value;
}

bool receiver_waits(Endpoint& endpoint)
{
    SpinLockGuard guard(endpoint.lock);
    return !endpoint.receivers.is_empty();
}

// An echo server on `cpu`, waiting on `endpoint` once this returns.
u64 echo_server_waiting_on(Endpoint& endpoint, usize cpu)
{
    u64 server = spawn("ipc_echo_server", with_endpoint(endpoint, abi::RightReceive, kEndpointHandle, cpu));
    EXPECT(selftest::eventually([&] { return receiver_waits(endpoint); }, 10'000));
    return server;
}

void stop(u64 server)
{
    EXPECT(kill_task(server));
    EXPECT(wait_for_exit(server).has_value());
}

// `calls` Pings from `first` on; the messages each path carried meanwhile,
// counted on this CPU.
PathCounts kernel_pings(Endpoint& endpoint, u64 first, bool interrupts_off = true)
{
    usize here = this_processor().index;
    PathCounts before = path_counts(here);
    u64 answered = 0;
    for (u64 i = 0; i < kKernelCalls; ++i)
        answered += kernel_ping(endpoint, first + i, interrupts_off);
    PathCounts after = path_counts(here);
    EXPECT_EQ(answered, kKernelCalls);
    return { after.fast - before.fast, after.full - before.full };
}

} // namespace

HERALD_SELFTEST(the_kernels_call_takes_its_fast_path_only_when_the_server_waits_on_this_cpu)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    usize here = this_processor().index;
    EXPECT(current_thread().pinned);

    // The server waits here: each call goes straight to it, and its answer
    // comes back the same way (two messages on fast paths, none on the
    // full path).
    u64 server = echo_server_waiting_on(*endpoint, here);
    PathCounts counts = kernel_pings(*endpoint, 100);
    EXPECT(counts.full < kKernelCalls); // 0, but another thread of this CPU may call between two Pings
    EXPECT(counts.fast >= 2 * kKernelCalls);
    // With interrupts on (no caller today), the full path's lock keeps them.
    counts = kernel_pings(*endpoint, 200, false);
    EXPECT(counts.full >= kKernelCalls);
    stop(server);

    // The server waits on another CPU: it must be woken there, by the full
    // path (which counts the message where it is sent: here).
    if (processor_count() >= 2) {
        server = echo_server_waiting_on(*endpoint, (here + 1) % processor_count());
        counts = kernel_pings(*endpoint, 300);
        EXPECT(counts.full >= kKernelCalls);
        stop(server);
    }

    // Nobody waits (the server, queued on this CPU behind this thread, has
    // not run yet): the call waits in the endpoint's queue with its
    // message, and the server takes it from there (the full path's receive,
    // which counts on the server's CPU: here too).
    server = spawn("ipc_echo_server", with_endpoint(*endpoint, abi::RightReceive, kEndpointHandle, here));
    x86::disable_interrupts(); // the server cannot start waiting between the look and the call
    bool waiting = receiver_waits(*endpoint);
    PathCounts before = path_counts(here);
    IpcMessage request { abi::MessageInfo { kPingLabel, 0, false }.encode(), { 400 }, kPingBadge };
    IpcMessage reply;
    auto status = ipc_call_from_kernel(current_thread(), *endpoint, request, reply);
    PathCounts after = path_counts(here);
    x86::enable_interrupts();
    EXPECT(!status.is_error());
    EXPECT_EQ(reply.words[0], 400u);
    if (waiting)
        klog("selftest: the server was waiting already (a tick let it run): no queued call to check");
    else
        EXPECT(after.full - before.full >= 1);
    stop(server);
}

// The fast path's kill branch (fastpath.cpp, fastpath_call_from_kernel,
// after the point of no return): the caller's task was killed a moment
// before the reply right was given, so the kill found no wait to cancel.
// Then the call must not wait for an answer that may never come: the right
// is taken back, the server is woken (not switched to) with the message,
// and the call ends at once with PeerGone.
//
// That moment is a window of a few instructions, which no kill from outside
// hits on purpose; so this thread plays the killed caller. With interrupts
// off (nothing else runs here meanwhile) it points its Thread at a task of
// its own whose kill flag is set, and whose scan (request_end) never ran:
// exactly what a kill that looked too early leaves behind. The task is a
// stand-in, in no table, with the kernel's page tables (a switch away and
// back, if the branch were wrong, loads them).
namespace {

constinit Task g_killed_stand_in;

// The echo server's thread waiting on `endpoint` for this CPU, if one does.
Thread* waiting_server(Endpoint& endpoint)
{
    SpinLockGuard guard(endpoint.lock);
    return endpoint.receiver_for(this_processor().index);
}

struct KilledCall {
    ErrorOr<void> status;
    PathCounts delta;
    bool server_still_blocked; // it was switched to and back, or never woken
    bool server_holds_the_right;
    bool caller_awaits_reply;
};

// One Ping in the kernel's name from a caller whose task's kill flag is set
// and whose kill found nothing to cancel.
KilledCall call_as_a_killed_caller(Endpoint& endpoint, Thread& server, u64 value)
{
    usize here = this_processor().index;
    Thread& self = current_thread();
    IpcMessage request { abi::MessageInfo { kPingLabel, 0, false }.encode(), { value }, kPingBadge };
    IpcMessage reply;
    x86::disable_interrupts();
    Task* own = self.task;
    g_killed_stand_in.root = own->root;
    g_killed_stand_in.kill_requested = true;
    self.task = &g_killed_stand_in;
    PathCounts before = path_counts(here);
    ErrorOr<void> status = ipc_call_from_kernel(self, endpoint, request, reply);
    PathCounts after = path_counts(here);
    self.task = own;
    // The stand-in lives on: a later run of this test, or anything that
    // finds it, sees no kill pending and no page tables of ours.
    g_killed_stand_in.kill_requested = false;
    g_killed_stand_in.root = {};
    KilledCall result { status, { after.fast - before.fast, after.full - before.full },
        static_cast<volatile const ThreadState&>(server.state) == ThreadState::Blocked,
        __atomic_load_n(&server.ipc.reply_to, __ATOMIC_ACQUIRE) == &self, self.ipc.awaiting_reply };
    x86::enable_interrupts();
    return result;
}

} // namespace

HERALD_SELFTEST(the_kernels_fast_call_ends_at_once_for_a_caller_killed_as_it_calls)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    EXPECT(current_thread().pinned);
    u64 server = echo_server_waiting_on(*endpoint, this_processor().index);
    Thread* waiting = waiting_server(*endpoint);
    EXPECT(waiting != nullptr);
    if (!waiting) {
        stop(server);
        return;
    }
    KilledCall call = call_as_a_killed_caller(*endpoint, *waiting, 700);
    klog("selftest: killed caller: {} on the fast path, {} on the full path, status {}", call.delta.fast,
        call.delta.full, call.status.is_error() ? error_name(call.status.error()) : "answered");
    // The fast path took it (one message, none on the full path: nothing
    // else ran here with interrupts off), and its kill branch ended it.
    EXPECT_EQ(call.delta.fast, 1u);
    EXPECT_EQ(call.delta.full, 0u);
    EXPECT(call.status.is_error() && call.status.error() == Error::PeerGone);
    EXPECT(!call.caller_awaits_reply);
    EXPECT(!call.server_holds_the_right); // its answer finds nobody
    EXPECT(!call.server_still_blocked);   // woken with the message, not left waiting
    // The server took the message, answered nobody and waits again; it
    // still answers a caller that is not being killed.
    EXPECT(selftest::eventually([&] { return receiver_waits(*endpoint); }, 10'000));
    EXPECT(kernel_ping(*endpoint, 701));
    stop(server);
}
