// Self-tests of the supervisor (user/init, docs/reliability.md, "The
// supervisor"): init, started here with a test manifest, restarts the
// console and the loader when they are killed (and their clients reconnect
// on their own), restarts a server that stops answering its heartbeat, and
// backs off when a server keeps crashing. Each is an `alone_` case (each
// ends a server, and leaves a supervisor running): tests/qemu runs each in
// a boot of its own.
//
// Each can fail: without a supervisor nothing restarts the console, the
// loader or stuck_server, and the clients give up; with a supervisor that
// does not back off, crashy's restarts come at an even pace.
#include "microkernel/abi/ipc.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/bootstrap.hpp"
#include "microkernel/lib/string_view.hpp"
#include "microkernel/log.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/object/notification.hpp"
#include "microkernel/object/system_control.hpp"
#include "microkernel/services/services.hpp"
#include "microkernel/task/task.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

// init's start parameter: which manifest (user/init/main.cpp kManifests).
constexpr u64 kManifestNone = 1;
constexpr u64 kManifestStuck = 2;
constexpr u64 kManifestCrashy = 3;
// reconnect_checks' modes.
constexpr u64 kCheckConsole = 1;
constexpr u64 kCheckLoader = 2;
constexpr u64 kReadyBit = 1;
// Generous: a loaded host can keep an emulated CPU from running for seconds
// (reconnect_checks waits as long for the restarted server).
constexpr u64 kPatienceMs = 30'000;

const SystemTasks& system_once()
{
    static SystemTasks tasks;
    static bool started;
    if (!started) {
        tasks = start_system(false);
        started = true;
    }
    return tasks;
}

// init as the kernel starts it (bootstrap.cpp start_init), with a test manifest.
u64 start_supervisor(u64 manifest)
{
    SpawnOptions options;
    options.parameter = manifest;
    options.handles[0] = InitialHandle { &system_control(), abi::RightSend | abi::RightReceive, 0, abi::kSystemControlHandle };
    return spawn("init", options);
}

u64 now_ms()
{
    auto ms = tsc::ms_since_boot();
    return ms ? *ms : 0;
}

template<typename Visit>
void for_each_task(Visit visit)
{
    abi::TaskListEntry entries[16];
    usize next = 0;
    for (usize from = 0;; from = next) {
        usize count = list_tasks(from, entries, 16, next);
        if (count == 0)
            return;
        for (usize i = 0; i < count; ++i)
            visit(entries[i]);
    }
}

// A running task named `name` other than `other_than`; 0 if none.
u64 running_task_named(const char* name, u64 other_than)
{
    u64 found = 0;
    for_each_task([&](const abi::TaskListEntry& task) {
        if (!found && task.task_id != other_than && task.state == abi::TaskState::Running && StringView(task.name) == name)
            found = task.task_id;
    });
    return found;
}

// The supervisor and its pinger go, so that nothing restarts what is left.
void stop_supervisor(u64 init)
{
    (void)kill_task(init);
    (void)wait_for_exit(init, kPatienceMs);
    while (u64 pinger = running_task_named("pinger", 0)) {
        (void)kill_task(pinger);
        (void)wait_for_exit(pinger, kPatienceMs);
    }
}

// reconnect_checks in `mode` lives through a restart of `server`: it is
// killed once the client has used it, the supervisor starts a new one, and
// the client, which still holds a handle to the old one, reconnects.
void client_lives_through_restart(const char* server, u64 mode)
{
    (void)system_once();
    u64 old_task = running_task_named(server, 0);
    EXPECT(old_task != 0);
    u64 init = start_supervisor(kManifestNone);
    Ref<Notification> ready = Notification::create();
    EXPECT(ready.ptr() != nullptr);
    if (!old_task || !init || !ready)
        return;
    SpawnOptions options;
    options.parameter = mode;
    // With the receive right too: a notification nobody may wait on refuses signals.
    options.handles[0] = InitialHandle { ready.ptr(), abi::RightSend | abi::RightReceive, 0, abi::HandleFirstFree };
    u64 client = spawn("reconnect_checks", options);
    EXPECT(eventually([&] { return (ready->take_bits() & kReadyBit) != 0; }, kPatienceMs));

    EXPECT(kill_task(old_task));
    EXPECT(wait_for_exit(old_task, kPatienceMs).has_value());
    u64 new_task = 0;
    EXPECT(eventually([&] { return (new_task = running_task_named(server, old_task)) != 0; }, kPatienceMs));
    klog("selftest: {} was task {}, the supervisor started task {}", server, old_task, new_task);

    auto exit = wait_for_exit(client, 3 * kPatienceMs);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 0); // 1: it never got served again
    }
    stop_supervisor(init);
}

// Kills the running console and waits for the supervisor's new one; the new
// one's task id, 0 if none came.
u64 restart_console()
{
    u64 old_task = 0;
    EXPECT(eventually([&] { return (old_task = running_task_named("console", 0)) != 0; }, kPatienceMs));
    if (!old_task)
        return 0;
    EXPECT(kill_task(old_task));
    EXPECT(wait_for_exit(old_task, kPatienceMs).has_value());
    u64 new_task = 0;
    EXPECT(eventually([&] { return (new_task = running_task_named("console", old_task)) != 0; }, kPatienceMs));
    return new_task;
}

} // namespace

// The console is restarted again and again: each restart makes a fresh
// endpoint and notification (console_server.cpp), and the old pair must go
// once the old console's handles do, so the kernel's count of both comes
// back to where it was. Before Endpoint::release_binding each restart kept
// its pair for ever (each held the other): +kRestarts of each here.
HERALD_SELFTEST(alone_supervisor_console_restarts_free_their_kernel_objects)
{
    if (console_in_kernel())
        return skip("the console is built into the kernel: no console task to restart");
    (void)system_once();
    u64 init = start_supervisor(kManifestNone);
    EXPECT(init != 0);
    if (!init)
        return;
    // A first restart, with init's pinger running: what init, the pinger and
    // the registry set up once for a restarted console is in the baseline.
    EXPECT(eventually([] { return running_task_named("pinger", 0) != 0; }, kPatienceMs));
    u64 console = restart_console();
    scheduler_sleep_ms(1000); // a heartbeat: init looks the new console up
    usize endpoints = endpoints_in_use(), notifications = notifications_in_use();
    klog("selftest: after one restart: {} endpoints, {} notifications", endpoints, notifications);

    constexpr usize kRestarts = 4;
    for (usize i = 0; i < kRestarts && console; ++i)
        console = restart_console();
    EXPECT(console != 0);
    bool back = eventually([&] {
        return endpoints_in_use() <= endpoints && notifications_in_use() <= notifications;
    }, kPatienceMs);
    klog("selftest: after {} more restarts: {} endpoints, {} notifications", kRestarts, endpoints_in_use(),
        notifications_in_use());
    EXPECT(back);
    stop_supervisor(init);
}

// The console is killed; init has the kernel start a new one (ServerTask),
// which publishes "console" again; a program's next lines reach it.
HERALD_SELFTEST(alone_supervisor_restarts_the_console)
{
    if (console_in_kernel())
        return skip("the console is built into the kernel: no console task to restart");
    client_lives_through_restart("console", kCheckConsole);
}

// The loader is killed; init has the kernel start a new one, and a program
// that used the old one starts `hello` through the new one.
HERALD_SELFTEST(alone_supervisor_restarts_the_loader)
{
    if (loader_in_kernel())
        return skip("the loader is built into the kernel: no loader task to restart");
    client_lives_through_restart("loader", kCheckLoader);
}

// stuck_server answers two messages (two heartbeats), then holds the third
// call forever: init must see the missed heartbeat, end it (a kill, not a
// crash: status kKilledStatus) and start a new one.
HERALD_SELFTEST(alone_supervisor_restarts_a_server_that_misses_its_heartbeat)
{
    (void)system_once();
    u64 init = start_supervisor(kManifestStuck);
    u64 first = 0;
    EXPECT(eventually([&] { return (first = running_task_named("stuck_server", 0)) != 0; }, kPatienceMs));
    u64 second = 0;
    EXPECT(eventually([&] { return (second = running_task_named("stuck_server", first)) != 0; }, 2 * kPatienceMs));
    auto exit = find_exit(first);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(exit->killed);
        EXPECT_EQ(exit->status, abi::kKilledStatus);
    }
    klog("selftest: stuck_server task {} was ended, task {} started", first, second);
    stop_supervisor(init);
}

// crashy crashes as soon as it starts. The supervisor restarts it at once
// the first time, then after 100, 200, 400, 800 ms (init::Backoff): the
// gaps between its ends must grow, each at least the backoff it waited.
HERALD_SELFTEST(alone_supervisor_backs_off_a_crash_looping_server)
{
    (void)system_once();
    u64 init = start_supervisor(kManifestCrashy);
    EXPECT(init != 0);
    constexpr usize kEnds = 6;
    constexpr u64 kIdsToScan = 256; // task ids come in order: crashy's are above init's
    u64 seen[kEnds] = {};
    u64 seen_at_ms[kEnds] = {};
    usize ends = 0;
    u64 started = now_ms();
    while (ends < kEnds && now_ms() - started < 2 * kPatienceMs) {
        for (u64 id = init + 1; id <= init + kIdsToScan && ends < kEnds; ++id) {
            auto exit = find_exit(id);
            if (!exit || StringView(exit->name) != "crashy")
                continue;
            bool known = false;
            for (usize i = 0; i < ends; ++i)
                known = known || seen[i] == id;
            if (!known) {
                seen[ends] = id;
                seen_at_ms[ends++] = now_ms();
            }
        }
        scheduler_sleep_ms(kTickMs);
    }
    EXPECT_EQ(ends, kEnds);
    // The gaps: about 0, 100, 200, 400, 800 ms of backoff, plus the start.
    constexpr u64 kBackoffMs[kEnds] = { 0, 0, 100, 200, 400, 800 };
    for (usize i = 2; i < ends; ++i) {
        u64 gap = seen_at_ms[i] - seen_at_ms[i - 1];
        klog("selftest: crashy ended again after {} ms (backoff {} ms)", gap, kBackoffMs[i]);
        EXPECT(gap + kTickMs >= kBackoffMs[i]); // one poll's lateness at most
        // Growing: against the gap before the one before, whose backoff was a
        // quarter of this one's (a start's own time varies on a loaded host).
        if (i >= 4)
            EXPECT(gap > seen_at_ms[i - 2] - seen_at_ms[i - 3]);
    }
    stop_supervisor(init);
}
