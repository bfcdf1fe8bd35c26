// init: starts the system's programs from its manifest (init.manifest in
// the boot archive) through the loader, in order, and supervises them and
// the servers the kernel started (docs/system.md, "init";
// docs/reliability.md, "The supervisor"):
//
//   - a program marked `restart`, and the console and the loader, are
//     started again when they end: at once the first time, then after a
//     growing delay while they keep ending (init::Backoff);
//   - each of them that is a server (its name is in the registry) is
//     pinged once a second (the heartbeat, answered by ipc::serve itself);
//     one that does not answer within kHeartbeatPatienceMs is killed, and
//     so restarted. The blocking call is the pinger's (pinger.hpp);
//   - a program marked `halt` powers the machine off when it ends; `wait`
//     makes init wait for it before the next line.
//
// The console and the loader are the kernel's to start (they need COM1, the
// kernel log, the archive): init gets their task handles, and has them
// restarted, through ServerTask (abi/task.hpp). The registry and the memory
// server cannot be restarted (docs/reliability.md says why).
//
// Before it starts anything it reserves each program's name in the
// registry, so that only a task of that program may publish under it, and
// once it has started one, only that task (docs/security.md). Before a
// restart it lets any task of the program have the name again, so that the
// new task may publish before init has named it.
//
// init writes to the kernel log (DebugWrite: `[5 init] init: ...`), never
// through the console: a console whose loop is stuck, which init must
// restart, would hold init in its Write. For the same reason its loader
// client never waits for a loader that is away (the loop tries again).
//
// The start parameter picks the manifest: 0 the system's, others the
// self-tests' (kManifests). The kernel gives init SystemControl; init hands
// it on to the shell only (the operator's console, whose `shutdown` needs it).
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/reconnecting_client.hpp"
#include "manifest.hpp"
#include "microkernel/abi/faults.hpp"
#include "microkernel/abi/task.hpp"
#include "pinger.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/task_status.hpp"

namespace {

using namespace herald;
using init::Manifest;
using init::OnExit;

// How often init looks at what it supervises (and the longest a pinger's
// answer waits to be seen).
constexpr uint64_t kLookEveryMs = 50;
// A start that failed (the loader is being restarted, say) is tried again after this.
constexpr uint64_t kRetryStartMs = 200;
// How long init waits for the loader at boot (it starts just before init).
constexpr uint32_t kLoaderPatienceMs = 10'000;
constexpr size_t kMaxErrors = 8;

// init's manifest by its start parameter; the others are the self-tests'
// (tests/insystem/supervisor_tests.cpp).
constexpr const char* kManifests[] = { "init.manifest", "supervise-none.manifest", "supervise-stuck.manifest",
    "supervise-crashy.manifest", "supervise-disk.manifest" };
// Booted with faults=on (the kernel gave init FaultControl): the injector
// and the servers its workload uses, after the manifest's own lines.
constexpr const char* kFaultsManifest = "faults.manifest";

enum class Kind : uint8_t { Program, BootServer };

struct Supervised {
    const char* name;
    Kind kind;
    size_t manifest_index;  // Program: its line
    abi::BootServer server; // BootServer: which
    ipc::Handle task;       // HandleNone while it does not run
    uint64_t task_id;
    uint64_t started_ms;
    bool restarting;        // ended; start again at restart_at_ms
    uint64_t restart_at_ms;
    init::Backoff backoff;
    ipc::Handle client;     // the heartbeat's: its published handle, looked up when needed
    uint64_t next_ping_ms;
};

constexpr size_t kMaxSupervised = init::kMaxEntries + abi::kBootServers;
Supervised g_table[kMaxSupervised];
size_t g_count;
Manifest g_manifest;
// FaultControl is at abi::kFaultControlHandle until init hands it to the
// injector (it keeps no copy: only the injector may inject).
bool g_faults;
bool g_fault_control_held;

// The heartbeat's helper and its state (pinger.hpp).
struct Pinger {
    ipc::Handle task;     // HandleNone: none runs
    ipc::Handle probes;   // send and grant: where probes go
    ipc::Handle answers;  // the notification the pinger signals
    bool busy;            // a probe is out
    size_t probing;       // whom, an index into g_table
    uint64_t sent_ms;
    bool killed_probed;   // the probed server missed its heartbeat and was killed
};
Pinger g_pinger;
uint64_t g_pinger_retry_ms; // no pinger: when to try to start one again
bool g_pinger_failed;       // the last try failed (said once per outage)

// One line to the kernel log.
template<typename... Args>
void say(const char* format_string, const Args&... args)
{
    char line[200];
    BufferSink sink(line, sizeof(line));
    format(sink, format_string, args...);
    (void)user::debug_write(line, sink.view().length());
}

ipc::ReconnectingClient<ipc::loader::Protocol>& loader()
{
    // Spawn is not idempotent: a ping first, so that a loader that ended
    // long ago is found again before the Spawn rather than after it. No
    // patience: init itself restarts the loader, so it must not wait for it.
    static ipc::ReconnectingClient<ipc::loader::Protocol> client(user::ipc(), abi::HandleRegistry, "loader",
        ipc::kDefaultCallTries, 0);
    client.ping_before_unsafe_calls(true);
    return client;
}

uint64_t now_ms()
{
    abi::SelfInfo info {};
    (void)user::self_info(&info);
    return info.uptime_ms;
}

// A Reserve the IPC did not carry (not the registry's answer) is sent again
// this many times, this long apart: a name left unreserved is one a copy of
// the program may take.
constexpr int kReserveTries = 3;
constexpr uint64_t kReserveRetryMs = 20;

// The registry's own refusals, which the same request would get again.
bool is_registry_answer(ipc::Error error)
{
    return error == ipc::Error::Denied || error == ipc::Error::InvalidRequest || error == ipc::registry::kFull;
}

// Makes `name` a system name in the registry: for `task_id`, or for any task
// of that program while it is 0.
void reserve(const char* name, uint64_t task_id)
{
    auto wire = ipc::registry::make_name(name);
    for (int tries = 1;; ++tries) {
        auto reserved = wire.is_error()
            ? ipc::Result<ipc::Empty>(wire.error())
            : ipc::Client<ipc::registry::Protocol>(user::ipc(), abi::HandleRegistry)
                  .call<ipc::registry::Reserve>({ wire.value(), task_id });
        if (!reserved.is_error())
            return;
        if (tries == kReserveTries || wire.is_error() || is_registry_answer(reserved.error())) {
            say("init: cannot reserve the name {} ({} tries): {}", name, tries, ipc::error_name(reserved.error()));
            return;
        }
        (void)user::sleep_ms(kReserveRetryMs);
    }
}

void close(ipc::Handle& handle)
{
    if (handle != abi::HandleNone)
        (void)ipc::sys::handle_close(handle);
    handle = abi::HandleNone;
}

ipc::Result<ipc::loader::Task> spawn(const char* program, uint64_t argument, ipc::Handle give)
{
    return ipc::loader::spawn_through(loader(), program, argument, give);
}

// A copy of SystemControl that only lists tasks (TaskList), for a line
// with tasks=list (user/init/manifest.hpp): such a server admits its callers
// by program, or hears that they ended, and may not power off. HandleNone
// (the server then says it has none) if the copy cannot be made.
ipc::Handle task_list_handle()
{
    auto copy = ipc::sys::handle_mint(abi::kSystemControlHandle, abi::RightReceive, 0);
    if (copy.is_error()) {
        say("init: no task-list handle to give: {}", ipc::error_name(copy.error()));
        return abi::HandleNone;
    }
    return copy.value();
}

// Starts (or has the kernel start again) what `entry` names; false if it
// could not, said in a line.
bool start(Supervised& entry, uint64_t now)
{
    if (entry.kind == Kind::BootServer) {
        int64_t handle = user::syscall3(user::number_of(abi::SyscallNumber::ServerTask), abi::kSystemControlHandle,
            static_cast<uint64_t>(entry.server), static_cast<uint64_t>(abi::ServerTaskMode::Restart));
        abi::TaskStatus status {};
        if (handle < 0 || ipc::loader::has_ended(static_cast<ipc::Handle>(handle), status)) {
            say("init: cannot start {} again", entry.name);
            if (handle >= 0)
                (void)ipc::sys::handle_close(static_cast<ipc::Handle>(handle));
            return false;
        }
        entry.task = static_cast<ipc::Handle>(handle);
        auto info = ipc::loader::info(entry.task);
        entry.task_id = info.is_error() ? 0 : info.value().task_id;
    } else {
        const init::ManifestEntry& line = g_manifest[entry.manifest_index];
        bool is_shell = user::strcmp(line.name, "shell") == 0;
        bool is_injector = g_fault_control_held && user::strcmp(line.name, abi::kFaultInjectorProgram) == 0;
        ipc::Handle task_list = line.grant.task_list ? task_list_handle() : abi::HandleNone;
        ipc::Handle give = is_shell ? abi::kSystemControlHandle
            : is_injector           ? abi::kFaultControlHandle
                                    : task_list;
        auto started = spawn(line.name, line.argument, give);
        close(task_list); // the loader passed on a copy
        if (started.is_error()) {
            say("init: cannot start {}: {}", line.name, ipc::error_name(started.error()));
            return false;
        }
        if (is_injector) {
            (void)ipc::sys::handle_close(abi::kFaultControlHandle);
            g_fault_control_held = false;
        }
        entry.task = started.value().task;
        entry.task_id = started.value().task_id;
        reserve(line.name, entry.task_id); // its name is this task's now
    }
    entry.started_ms = now;
    entry.next_ping_ms = now + init::kHeartbeatEveryMs;
    return true;
}

bool restarts(const Supervised& entry)
{
    return entry.kind == Kind::BootServer || g_manifest[entry.manifest_index].on_exit == OnExit::Restart;
}

// "init: NAME exited with status 0" or "init: NAME was killed by #PF page
// fault (status -1014)", then `then`.
void report_end(const char* name, const abi::TaskStatus& status, const char* then, uint64_t delay_ms)
{
    char how[96];
    BufferSink sink(how, sizeof(how));
    user::describe_end(sink, status);
    if (delay_ms)
        say("init: {} {}{} in {} ms", name, sink.view(), then, delay_ms);
    else
        say("init: {} {}{}", name, sink.view(), then);
}

void ended(Supervised& entry, const abi::TaskStatus& status, uint64_t now)
{
    close(entry.task);
    close(entry.client);
    if (entry.kind == Kind::Program) {
        const init::ManifestEntry& line = g_manifest[entry.manifest_index];
        if (line.on_exit == OnExit::Ignore)
            return;
        if (line.on_exit == OnExit::Halt) {
            report_end(entry.name, status, ": powering off", 0);
            (void)user::syscall1(user::number_of(abi::SyscallNumber::SystemShutdown), abi::kSystemControlHandle);
            return;
        }
        reserve(line.name, 0); // any task of the program, until init has named the new one
    }
    if (g_faults)
        entry.backoff.stable_run_ms = init::kFaultsStableRunMs;
    uint64_t delay = entry.backoff.delay_after_end(entry.started_ms, now);
    report_end(entry.name, status, "; starting it again", delay);
    entry.restarting = true;
    entry.restart_at_ms = now + delay;
}

void supervise(Supervised& entry, uint64_t now)
{
    abi::TaskStatus status {};
    if (entry.task != abi::HandleNone && ipc::loader::has_ended(entry.task, status))
        ended(entry, status, now);
    if (entry.restarting && now >= entry.restart_at_ms) {
        if (start(entry, now))
            entry.restarting = false;
        else
            entry.restart_at_ms = now + kRetryStartMs;
    }
}

// ---- the heartbeat ----

bool start_pinger()
{
    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error())
        return false;
    // init keeps only the send side: with no pinger left to receive, a probe
    // fails at once (PeerGone) instead of waiting.
    auto probes = ipc::sys::handle_mint(endpoint.value(), abi::RightSend | abi::RightGrant, 0);
    auto receiving = ipc::sys::handle_mint(endpoint.value(), abi::RightReceive, 0);
    (void)ipc::sys::handle_close(endpoint.value());
    if (g_pinger.answers == abi::HandleNone) {
        auto answers = ipc::sys::notification_create();
        g_pinger.answers = answers.is_error() ? abi::HandleNone : answers.value();
    }
    auto for_pinger = ipc::sys::handle_mint(g_pinger.answers, abi::RightSend, 0);
    bool ok = !probes.is_error() && !receiving.is_error() && !for_pinger.is_error();
    auto started = ok ? spawn("pinger", 0, receiving.value()) : ipc::Result<ipc::loader::Task>(ipc::Error::NoMemory);
    if (!receiving.is_error())
        (void)ipc::sys::handle_close(receiving.value());
    ok = ok && !started.is_error();
    if (ok) {
        ipc::Message setup = ipc::make_message(init::kPingerSetup);
        setup.words[7] = for_pinger.value();
        setup.transfer_handle = true;
        ok = !user::ipc().send(probes.value(), setup).is_error();
    }
    if (!for_pinger.is_error())
        (void)ipc::sys::handle_close(for_pinger.value());
    if (!ok) {
        if (!probes.is_error())
            (void)ipc::sys::handle_close(probes.value());
        if (!started.is_error())
            (void)ipc::sys::handle_close(started.value().task);
        return false;
    }
    g_pinger.task = started.value().task;
    g_pinger.probes = probes.value();
    g_pinger.busy = false;
    return true;
}

void stop_pinger()
{
    if (g_pinger.task != abi::HandleNone)
        (void)user::syscall1(user::number_of(abi::SyscallNumber::TaskKill), g_pinger.task);
    close(g_pinger.task);
    close(g_pinger.probes);
    g_pinger.busy = false;
}

// A server to ping: a running entry whose name is published.
bool find_client(Supervised& entry)
{
    if (entry.client != abi::HandleNone)
        return true;
    auto found = ipc::registry::lookup(user::ipc(), abi::HandleRegistry, entry.name);
    if (found.is_error())
        return false; // not a server (the shell), or not published yet
    entry.client = found.value();
    return true;
}

void send_probe(size_t index, uint64_t now)
{
    Supervised& entry = g_table[index];
    ipc::Message probe = ipc::make_message(init::kPingerProbe);
    probe.words[7] = entry.client;
    probe.transfer_handle = true;
    entry.next_ping_ms = now + init::kHeartbeatEveryMs;
    if (user::ipc().send(g_pinger.probes, probe).is_error()) {
        stop_pinger(); // it ended: a new one next time
        return;
    }
    g_pinger.busy = true;
    g_pinger.probing = index;
    g_pinger.sent_ms = now;
    g_pinger.killed_probed = false;
}

void heartbeat(uint64_t now, uint64_t answer)
{
    if (g_pinger.task == abi::HandleNone) {
        if (now < g_pinger_retry_ms)
            return;
        bool started = start_pinger();
        if (!started && !g_pinger_failed)
            say("init: cannot start the pinger: no heartbeat until it runs");
        g_pinger_failed = !started;
        if (!started) {
            g_pinger_retry_ms = now + init::kHeartbeatEveryMs;
            return;
        }
    }
    abi::TaskStatus status {};
    if (ipc::loader::has_ended(g_pinger.task, status)) {
        stop_pinger();
        return; // a new one next time
    }
    if (g_pinger.busy && answer) {
        g_pinger.busy = false;
        if (answer & init::kPingFailed)
            close(g_table[g_pinger.probing].client); // gone, or a stale handle: look it up again
    }
    if (g_pinger.busy) {
        uint64_t waited = now - g_pinger.sent_ms;
        Supervised& probed = g_table[g_pinger.probing];
        if (!g_pinger.killed_probed && waited > init::kHeartbeatPatienceMs) {
            say("init: {} missed its heartbeat (no answer in {} ms): ending it", probed.name, waited);
            if (probed.task != abi::HandleNone)
                (void)user::syscall1(user::number_of(abi::SyscallNumber::TaskKill), probed.task);
            g_pinger.killed_probed = true; // the kill ends the pinger's call too
        } else if (waited > 2 * init::kHeartbeatPatienceMs) {
            stop_pinger(); // stuck somewhere else: a new one next time
        }
        return;
    }
    for (size_t step = 1; step <= g_count; ++step) {
        size_t index = (g_pinger.probing + step) % g_count; // round robin
        Supervised& entry = g_table[index];
        if (entry.task == abi::HandleNone || !restarts(entry) || now < entry.next_ping_ms)
            continue;
        if (!find_client(entry)) {
            entry.next_ping_ms = now + init::kHeartbeatEveryMs;
            continue;
        }
        send_probe(index, now);
        return;
    }
}

// ---- starting up ----

bool read_manifest(const char* file, Manifest& into)
{
    auto name = ipc::loader::make_name(file);
    auto text = loader().call<ipc::loader::ReadFile>(name.value());
    if (text.is_error()) {
        say("init: no {}: {}", file, ipc::error_name(text.error()));
        return false;
    }
    init::ManifestError errors[kMaxErrors];
    size_t error_count = init::parse_manifest(reinterpret_cast<const char*>(text.value().data), text.value().length,
        into, errors, kMaxErrors);
    for (size_t i = 0; i < error_count && i < kMaxErrors; ++i)
        say("init: {} line {}: {} (line skipped)", file, errors[i].line, errors[i].reason);
    return true;
}

// faults=on: the fault-injection lines go after the manifest's own.
void add_faults_manifest()
{
    static Manifest extra;
    if (!read_manifest(kFaultsManifest, extra))
        return;
    say("init: faults=on: starting the fault injector and its workload's servers ({})", kFaultsManifest);
    for (size_t i = 0; i < extra.count() && g_manifest.m_count < init::kMaxEntries; ++i)
        g_manifest.entries[g_manifest.m_count++] = extra[i];
}

// The console and the loader, as the kernel started them (none when they
// are built into the kernel: ServerTask refuses).
void adopt_boot_servers(uint64_t now)
{
    const struct {
        const char* name;
        abi::BootServer server;
    } servers[] = { { "console", abi::BootServer::Console }, { "loader", abi::BootServer::Loader } };
    for (const auto& server : servers) {
        int64_t handle = user::syscall3(user::number_of(abi::SyscallNumber::ServerTask), abi::kSystemControlHandle,
            static_cast<uint64_t>(server.server), static_cast<uint64_t>(abi::ServerTaskMode::Current));
        if (handle < 0)
            continue;
        Supervised& entry = g_table[g_count++];
        entry = Supervised {};
        entry.name = server.name;
        entry.kind = Kind::BootServer;
        entry.server = server.server;
        entry.task = static_cast<ipc::Handle>(handle);
        auto info = ipc::loader::info(entry.task);
        entry.task_id = info.is_error() ? 0 : info.value().task_id;
        entry.started_ms = now;
        entry.next_ping_ms = now + init::kHeartbeatEveryMs;
    }
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    if (parameter >= sizeof(kManifests) / sizeof(kManifests[0])) {
        say("init: no manifest number {}", parameter);
        return 1;
    }
    auto found = ipc::registry::lookup_waiting(user::ipc(), abi::HandleRegistry, "loader", kLoaderPatienceMs);
    if (found.is_error()) {
        say("init: no loader in the registry: nothing to start");
        return 1;
    }
    loader().adopt(found.value());
    if (!read_manifest(kManifests[parameter], g_manifest))
        return 1;
    g_faults = user::syscall5(user::number_of(abi::SyscallNumber::FaultInject), abi::kFaultControlHandle,
                   static_cast<uint64_t>(abi::FaultKind::Check), 0, 0, 0)
        == 0;
    g_fault_control_held = g_faults;
    if (g_faults && parameter == 0)
        add_faults_manifest();
    // The manifest's names become system names: a program started later
    // cannot publish under them before (or instead of) the server init starts.
    for (size_t i = 0; i < g_manifest.count(); ++i)
        reserve(g_manifest[i].name, 0);
    adopt_boot_servers(now_ms());
    for (size_t i = 0; i < g_manifest.count(); ++i) {
        if (g_manifest[i].on_exit == OnExit::Never)
            continue; // a line of grants only: init neither starts nor watches it
        Supervised& entry = g_table[g_count++];
        entry = Supervised {};
        entry.name = g_manifest[i].name;
        entry.kind = Kind::Program;
        entry.manifest_index = i;
        if (!start(entry, now_ms()) || !g_manifest[i].wait)
            continue;
        (void)ipc::loader::wait(entry.task);
        supervise(entry, now_ms());
    }
    for (;;) {
        // The pinger's answer ends the wait early.
        uint64_t answer = 0;
        if (g_pinger.answers != abi::HandleNone) {
            auto bits = ipc::sys::wait(g_pinger.answers, abi::WaitMode::Timeout, kLookEveryMs);
            answer = bits.is_error() ? 0 : bits.value();
        } else {
            (void)user::sleep_ms(kLookEveryMs);
        }
        uint64_t now = now_ms();
        for (size_t i = 0; i < g_count; ++i)
            supervise(g_table[i], now);
        heartbeat(now, answer);
    }
}
