// faults: the fault injector (docs/reliability.md, "Fault injection"; issue
// 13, item 4). `./herald faults` boots with `faults=on` and types
// `run faults ARG` at the shell.
//
// One program in three roles, told apart by the start parameter:
//  - the injector (0): init starts it from faults.manifest, with FaultControl
//    at abi::HandleFirstFree (abi/faults.hpp), and it publishes "faults".
//    Given a campaign (seed, first injection, count), it starts the
//    workload, then for each injection: waits for its moment, finds the
//    target's task (TaskList through FaultControl), injects the fault
//    (FaultInject), watches the workload until every activity has finished a
//    job begun after the fault (or kRecoverMs pass), and classifies it
//    (plan.hpp). It writes to the kernel log only (DebugWrite), never
//    through the console, which is a target:
//      faults: inject I target=T kind=K detail task=ID
//      faults: result I target=T kind=K outcome=O restarted=yes|no errors=E ms=M ...
//    (a forced exception ends with at=interrupt or at=next: where it landed)
//      faults: done seed S first F count N
//    A hang ends the campaign (`faults: stopping at a hang`): the host
//    reboots and goes on with the next injection.
//  - the conductor (the shell's ARG, plan.hpp pack()): sends the campaign to
//    the injector and waits for it to end.
//  - a workload worker (kWorkerBit | activity, the injector's notification at
//    abi::HandleFirstFree): one activity's jobs, for ever, each followed by
//    a signal: bit 2k for a job done, bit 2k+1 for a job that failed:
//      spawn    starts exit_at_once through the loader, waits for status 0
//      echo     Sum and Ping through echo, answers checked
//      kv       Put then Get through kv, the value checked
//      console  one line through the console
//    Each job tries kJobTries times when the server was restarted under it
//    (ServerRestarted, PeerGone, a kv that lost its table): that is the
//    reconnecting client's contract, not an error. A wrong answer is one.
#include <stdint.h>

#include "libipc/protocols/console.hpp"
#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/reconnecting_client.hpp"
#include "microkernel/abi/faults.hpp"
#include "microkernel/abi/task.hpp"
#include "servers/kv/kv_protocol.hpp" // made from docs/new-server.md, in the build tree
#include "user/programs/faults/plan.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"

using namespace herald;
using namespace herald::faults;

namespace {

constexpr ipc::Error kOk = static_cast<ipc::Error>(0); // a job that went well
constexpr ipc::Handle kGiven = abi::HandleFirstFree; // FaultControl (injector), the notification (worker)
constexpr uint64_t kWorkerBit = 1ull << 63;
enum class Activity : uint64_t { Spawn, Echo, Kv, Console };
constexpr size_t kActivities = 4;
constexpr const char* kActivityNames[kActivities] = { "spawn", "echo", "kv", "console" };

constexpr uint64_t kRecoverMs = 20'000;  // past the heartbeat's 5 s and a restart, on a loaded emulator
// The watch (Injector::watch) ends once every activity has finished a job
// begun after the fault, and the target's own activity kTargetJobs of them:
// a fault that acts at the target's next messages has acted by then, and its
// effect on them has been seen. (Before, a fixed floor of 300 ms did that.)
constexpr uint32_t kTargetJobs = 3;
constexpr uint64_t kSettleMs = 200;      // the target has run this long (init's kFaultsStableRunMs, 150, and a margin)
constexpr uint64_t kStartPatienceMs = 60'000;
constexpr uint64_t kPollMs = 20;
constexpr uint32_t kBusyTries = 2'000;
constexpr uint32_t kBusyTriesPerSleep = 200; // so 10 sleeps in all
constexpr uint64_t kBusySleepMs = 10;
constexpr uint32_t kJobTries = 4;
// How long an exception armed for an interrupt may wait for one that finds
// the target in ring 3 (10 timer ticks, kTickMs 10, per CPU) before it falls
// back to the next instruction; while no ping gets through, the injector
// looks every kArmPollMs whether the target has ended.
constexpr uint64_t kArmPatienceMs = 100;
constexpr uint64_t kArmPollMs = 5;
constexpr uint64_t kJobPauseMs = 10;     // between jobs: a steady load, a log that stays readable

// The conductor's one request.
struct Start {
    static constexpr uint32_t label = 1;
    struct Request {
        uint64_t argument;
    };
    struct Reply {
        uint64_t injections;
    };
};
using Protocol = ipc::Protocol<Start>;

template<typename... Args>
void say(const char* format_string, const Args&... args)
{
    char line[240];
    BufferSink sink(line, sizeof(line));
    format(sink, format_string, args...);
    (void)user::debug_write(line, sink.view().length());
}

uint64_t now_ms()
{
    abi::SelfInfo info {};
    (void)user::self_info(&info);
    return info.uptime_ms;
}

// ---- a workload worker ----

uint64_t done_bit(Activity activity) { return 1ull << (2 * static_cast<uint64_t>(activity)); }
uint64_t failed_bit(Activity activity) { return done_bit(activity) << 1; }

bool restarted_under_us(ipc::Error error)
{
    return error == ipc::Error::ServerRestarted || error == ipc::Error::PeerGone;
}

// One job: 0 done, else the error of its last try.
struct Worker {
    ipc::ReconnectingClient<ipc::loader::Protocol> loader { user::ipc(), abi::HandleRegistry, "loader" };
    ipc::ReconnectingClient<ipc::echo::Protocol> echo { user::ipc(), abi::HandleRegistry, "echo" };
    ipc::ReconnectingClient<kv::Protocol> store { user::ipc(), abi::HandleRegistry, "kv" };
    ipc::ReconnectingClient<ipc::console::Protocol> console { user::ipc(), abi::HandleRegistry, "console" };
    uint64_t jobs = 0;
    const char* why = "";

    ipc::Error spawn_once()
    {
        auto started = ipc::loader::spawn_through(loader, "exit_at_once", 0);
        if (started.is_error())
            return started.error();
        auto status = ipc::loader::wait(started.value().task);
        (void)ipc::sys::handle_close(started.value().task);
        if (status.is_error())
            return status.error();
        if (status.value().state != abi::TaskState::Exited || status.value().exit_status != 0) {
            why = "exit_at_once did not exit with 0";
            return ipc::Error::BadMessage;
        }
        return kOk;
    }

    ipc::Error echo_once()
    {
        uint64_t a = jobs * 7919, b = jobs + 17;
        auto sum = echo.call<ipc::echo::Sum>({ a, b });
        if (sum.is_error())
            return sum.error();
        auto ping = echo.call<ipc::echo::Ping>({ jobs });
        if (ping.is_error())
            return ping.error();
        if (sum.value().sum != a + b || ping.value().value != jobs) {
            why = "echo answered wrong";
            return ipc::Error::BadMessage;
        }
        return kOk;
    }

    ipc::Error kv_once()
    {
        char key[16] = "faults-";
        key[7] = static_cast<char>('a' + jobs % 16);
        ipc::Bytes bytes { reinterpret_cast<const uint8_t*>(key), 8 };
        uint64_t value = jobs * 2654435761u;
        auto put = store.call<kv::Put>({ { value }, bytes });
        if (put.is_error())
            return put.error();
        auto got = store.call<kv::Get>(bytes);
        if (got.is_error())
            return got.error() == ipc::Error::NotFound ? ipc::Error::PeerGone : got.error(); // a new kv between the two
        if (got.value().value != value) {
            why = "kv gave back another value";
            return ipc::Error::BadMessage;
        }
        return kOk;
    }

    ipc::Error console_once()
    {
        char line[48];
        BufferSink sink(line, sizeof(line));
        format(sink, "faults: console line {}\n", jobs);
        auto written = console.call<ipc::console::Write>(
            ipc::Bytes { reinterpret_cast<const uint8_t*>(line), static_cast<uint32_t>(sink.view().length()) });
        return written.is_error() ? written.error() : kOk;
    }

    ipc::Error once(Activity activity)
    {
        switch (activity) {
        case Activity::Spawn: return spawn_once();
        case Activity::Echo: return echo_once();
        case Activity::Kv: return kv_once();
        case Activity::Console: return console_once();
        }
        return ipc::Error::InvalidRequest;
    }

    ipc::Error job(Activity activity)
    {
        ++jobs;
        ipc::Error error = kOk;
        for (uint32_t attempt = 0; attempt < kJobTries; ++attempt) {
            why = "";
            error = once(activity);
            if (error == kOk || !restarted_under_us(error))
                return error;
            (void)user::sleep_ms(50 << attempt); // give the supervisor time to start it again
        }
        return error;
    }
};

int64_t run_worker(Activity activity)
{
    static Worker worker;
    for (;;) {
        ipc::Error error = worker.job(activity);
        if (error == kOk) {
            (void)ipc::sys::signal(kGiven, done_bit(activity));
        } else {
            say("faults: worker {} job {} failed: {}{}{}", kActivityNames[static_cast<size_t>(activity)], worker.jobs,
                ipc::error_name(error), *worker.why ? ": " : "", worker.why);
            (void)ipc::sys::signal(kGiven, failed_bit(activity));
        }
        (void)user::sleep_ms(kJobPauseMs);
    }
}

// ---- the injector ----

int64_t fault_inject(abi::FaultKind kind, uint64_t task, uint64_t a, uint64_t b)
{
    return user::syscall5(user::number_of(abi::SyscallNumber::FaultInject), kGiven, static_cast<uint64_t>(kind), task,
        a, b);
}

bool is_running(uint64_t task_id)
{
    static abi::TaskListEntry entries[256];
    int64_t count = user::syscall3(user::number_of(abi::SyscallNumber::TaskList), kGiven,
        reinterpret_cast<uint64_t>(entries), 256);
    for (int64_t i = 0; i < count; ++i) {
        if (entries[i].task_id == task_id)
            return entries[i].state == abi::TaskState::Running;
    }
    return false;
}

class Injector {
public:
    ipc::Result<Start::Reply> handle(Start, const Start::Request& request, ipc::Badge);

private:
    bool start_workload();
    void keep_workload();
    uint64_t settled_target(Target target);
    void note_targets(uint64_t now);
    int64_t inject(const Injection& injection, uint64_t task, char* detail, size_t size);
    Observation watch(uint64_t task, Target target);

    ipc::ReconnectingClient<ipc::loader::Protocol> m_loader { user::ipc(), abi::HandleRegistry, "loader" };
    ipc::Handle m_signals = abi::HandleNone; // the workers signal here
    ipc::Handle m_workers[kActivities] {};
    uint64_t m_target_id[kTargets] {};
    uint64_t m_target_seen_ms[kTargets] {};
};

bool Injector::start_workload()
{
    if (m_signals == abi::HandleNone) {
        auto signals = ipc::sys::notification_create();
        if (signals.is_error())
            return false;
        m_signals = signals.value();
    }
    m_loader.ping_before_unsafe_calls(true);
    keep_workload();
    // Every activity once, before the first fault.
    uint64_t seen = 0, all = 0, deadline = now_ms() + kStartPatienceMs;
    for (size_t k = 0; k < kActivities; ++k)
        all |= done_bit(static_cast<Activity>(k));
    while ((seen & all) != all && now_ms() < deadline) {
        auto bits = ipc::sys::wait(m_signals, abi::WaitMode::Timeout, 100);
        if (!bits.is_error())
            seen |= bits.value();
    }
    return (seen & all) == all;
}

// Starts each worker that does not run (again, if one ended: said).
void Injector::keep_workload()
{
    for (size_t k = 0; k < kActivities; ++k) {
        abi::TaskStatus status {};
        if (m_workers[k] != abi::HandleNone) {
            if (!ipc::loader::has_ended(m_workers[k], status))
                continue;
            say("faults: worker {} ended (status {}): starting it again", kActivityNames[k], status.exit_status);
            (void)ipc::sys::handle_close(m_workers[k]);
            m_workers[k] = abi::HandleNone;
        }
        auto for_worker = ipc::sys::handle_mint(m_signals, abi::RightSend, 0);
        if (for_worker.is_error())
            continue;
        auto started = ipc::loader::spawn_through(m_loader, "faults", kWorkerBit | k, for_worker.value());
        (void)ipc::sys::handle_close(for_worker.value());
        if (!started.is_error())
            m_workers[k] = started.value().task;
    }
}

// Each target's running task, and when the injector first saw it: never
// before its start, so "seen kSettleMs ago" means "has run at least that
// long". Looked at while watching too (every 100 ms), not only when the
// target is next chosen: a server restarted by an earlier injection has
// usually settled by then, and is not waited for again (measured: a third
// of each injection's time went to that wait, docs/reliability.md).
void Injector::note_targets(uint64_t now)
{
    static abi::TaskListEntry entries[256]; // through FaultControl's TaskList
    int64_t count = user::syscall3(user::number_of(abi::SyscallNumber::TaskList), kGiven,
        reinterpret_cast<uint64_t>(entries), 256);
    for (size_t t = 0; t < kTargets; ++t) {
        uint64_t id = 0;
        for (int64_t i = 0; i < count && !id; ++i) {
            if (entries[i].state == abi::TaskState::Running && user::strcmp(entries[i].name, kTargetNames[t]) == 0)
                id = entries[i].task_id;
        }
        if (id != m_target_id[t]) {
            m_target_id[t] = id;
            m_target_seen_ms[t] = now;
        }
    }
}

// The target's task once it has run kSettleMs since its start (as far as the
// injector saw it); 0 if none runs within kRecoverMs.
uint64_t Injector::settled_target(Target target)
{
    size_t t = static_cast<size_t>(target);
    uint64_t deadline = now_ms() + kRecoverMs;
    for (;;) {
        uint64_t now = now_ms();
        note_targets(now);
        uint64_t id = m_target_id[t];
        if (id && now - m_target_seen_ms[t] >= kSettleMs)
            return id;
        if (now >= deadline)
            return 0;
        (void)user::sleep_ms(50);
    }
}

// FaultInject of a kind that needs the target's thread off its CPU.
int64_t until_not_busy(abi::FaultKind kind, uint64_t task, uint64_t a, uint64_t b)
{
    int64_t result = abi::kKilledStatus;
    for (uint32_t tries = 0; tries < kBusyTries; ++tries) {
        result = fault_inject(kind, task, a, b);
        if (result != static_cast<int64_t>(abi::SyscallError::Busy))
            return result;
        // Mostly a yield; now and then a sleep, so that a target whose
        // emulated CPU the host has stopped for a while is found off it
        // later rather than skipped (a skip shrinks the run).
        if (tries % kBusyTriesPerSleep == kBusyTriesPerSleep - 1)
            (void)user::sleep_ms(kBusySleepMs);
        else
            (void)user::syscall0(user::number_of(abi::SyscallNumber::Yield));
    }
    return result;
}

// A forced exception: armed first (FaultMoment::Interrupt), so that the HLT
// lands wherever the next interrupt finds the server running in ring 3, a
// random instruction of its code (`at=interrupt`). A server mostly waits for
// its next message, out of ring 3 (the workload alone keeps one there about
// a thousandth of the time), so the injector keeps it busy meanwhile with
// pings, each a message its loop receives, decodes and answers in ring 3.
// If no interrupt caught it within kArmPatienceMs the arm is taken back
// (Disarm) and the HLT goes at the instruction the server resumes at
// (`at=next`, the one after its receive). The target ending within the
// patience is the HLT's doing: nothing else ends a server that soon
// (init's heartbeat waits 5 s).
int64_t force_exception(uint64_t task, const char* name, BufferSink& sink)
{
    constexpr uint64_t arm = static_cast<uint64_t>(abi::FaultMoment::Interrupt);
    constexpr uint64_t disarm = static_cast<uint64_t>(abi::FaultMoment::Disarm);
    constexpr uint64_t next = static_cast<uint64_t>(abi::FaultMoment::Next);
    int64_t result = fault_inject(abi::FaultKind::Exception, task, arm, 0);
    if (result < 0) {
        format(sink, "at=interrupt");
        return result;
    }
    auto endpoint = ipc::registry::lookup(user::ipc(), abi::HandleRegistry, name);
    uint64_t deadline = now_ms() + kArmPatienceMs;
    while (now_ms() < deadline) {
        if (!endpoint.is_error() && !ipc::ping(user::ipc(), endpoint.value()).is_error())
            continue;
        if (!is_running(task))
            break; // the HLT's doing
        (void)user::sleep_ms(kArmPollMs);
    }
    if (!endpoint.is_error())
        (void)ipc::sys::handle_close(endpoint.value());
    if (fault_inject(abi::FaultKind::Exception, task, disarm, 0) != 1) {
        format(sink, "at=interrupt"); // delivered (0), or it died of it already (BadArgument)
        return 0;
    }
    format(sink, "at=next");
    return until_not_busy(abi::FaultKind::Exception, task, next, 0);
}

int64_t Injector::inject(const Injection& injection, uint64_t task, char* detail, size_t size)
{
    BufferSink sink(detail, size);
    int64_t result = abi::kKilledStatus;
    switch (injection.kind) {
    case abi::FaultKind::Kill:
        format(sink, "-");
        return fault_inject(injection.kind, task, 0, 0);
    case abi::FaultKind::Exception:
        return force_exception(task, kTargetNames[static_cast<size_t>(injection.target)], sink);
    case abi::FaultKind::RegisterBit:
        format(sink, "reg={} bit={}", kRegisterNames[injection.reg], injection.bit);
        return until_not_busy(injection.kind, task, injection.reg, injection.bit);
    case abi::FaultKind::MemoryBit:
        for (uint32_t attempt = 0; attempt < kAddressTries * kRegions; ++attempt) {
            uint64_t address = memory_address(injection, attempt);
            result = fault_inject(injection.kind, task, address, injection.bit);
            if (result != static_cast<int64_t>(abi::SyscallError::BadAddress)) {
                format(sink, "region={} address={:#x} bit={}",
                    kRegionNames[static_cast<size_t>(region_of_attempt(injection, attempt))], address, injection.bit);
                return result;
            }
        }
        format(sink, "region={} no-writable-page", kRegionNames[static_cast<size_t>(injection.region)]);
        return result;
    default:
        return result;
    }
}

// The activity whose jobs go through `target` (each target serves one).
Activity activity_of(Target target)
{
    switch (target) {
    case Target::Console: return Activity::Console;
    case Target::Loader: return Activity::Spawn;
    case Target::Echo: return Activity::Echo;
    case Target::Kv: return Activity::Kv;
    }
    return Activity::Console;
}

// From the end of the injection on: until every activity has finished a job
// begun after it, and the target's activity kTargetJobs of them, or
// kRecoverMs pass. A job begun after the fault is the second of two
// separate sightings of its bit, counted from here: the first may be a job
// that was under way (the bits are taken once first, and a failure among
// them counts: a job that met the fault).
Observation Injector::watch(uint64_t task, Target target)
{
    Observation seen {};
    uint32_t sightings[kActivities] {};
    uint32_t needed[kActivities] {};
    for (size_t k = 0; k < kActivities; ++k)
        needed[k] = 2;
    needed[static_cast<size_t>(activity_of(target))] = 1 + kTargetJobs;
    auto before = ipc::sys::wait(m_signals, abi::WaitMode::Poll);
    for (size_t k = 0; k < kActivities; ++k) {
        if (!before.is_error() && (before.value() & failed_bit(static_cast<Activity>(k))))
            ++seen.workload_errors;
    }
    uint64_t start = now_ms(), next_look = start;
    for (;;) {
        auto bits = ipc::sys::wait(m_signals, abi::WaitMode::Timeout, kPollMs);
        uint64_t value = bits.is_error() ? 0 : bits.value();
        bool all = true;
        for (size_t k = 0; k < kActivities; ++k) {
            if (value & done_bit(static_cast<Activity>(k)))
                ++sightings[k];
            if (value & failed_bit(static_cast<Activity>(k)))
                ++seen.workload_errors;
            all = all && sightings[k] >= needed[k];
        }
        uint64_t now = now_ms();
        if (now >= next_look) {
            seen.target_ended = seen.target_ended || !is_running(task);
            note_targets(now);
            next_look = now + 100;
        }
        if (all) {
            seen.workload_went_on = true;
            break;
        }
        if (now - start >= kRecoverMs)
            break;
    }
    seen.target_ended = seen.target_ended || !is_running(task);
    return seen;
}

ipc::Result<Start::Reply> Injector::handle(Start, const Start::Request& request, ipc::Badge)
{
    Campaign campaign = unpack(request.argument);
    say("faults: start seed {} first {} count {}", campaign.seed, campaign.first, campaign.count);
    if (!start_workload()) {
        say("faults: the workload did not start: no injection made");
        return ipc::Error::InvalidRequest;
    }
    uint64_t made = 0;
    for (uint32_t index = campaign.first; index < campaign.count; ++index) {
        Injection injection = plan(campaign.seed, index);
        const char* target = kTargetNames[static_cast<size_t>(injection.target)];
        const char* kind = kind_name(injection.kind);
        uint64_t began = now_ms();
        keep_workload();
        uint64_t task = settled_target(injection.target);
        uint64_t settled = now_ms();
        if (!task) {
            say("faults: result {} target={} kind={} outcome=hang restarted=no errors=0 ms=0 (no {} runs)", index,
                target, kind, target);
            say("faults: stopping at a hang");
            return Start::Reply { made };
        }
        (void)user::sleep_ms(injection.delay_ms);
        (void)ipc::sys::wait(m_signals, abi::WaitMode::Poll); // from here on, every bit is news
        char detail[96];
        uint64_t started = now_ms();
        int64_t result = inject(injection, task, detail, sizeof(detail));
        say("faults: inject {} target={} kind={} {} task={}", index, target, kind, detail, task);
        if (result < 0) {
            say("faults: skipped {} target={} kind={} why={}", index, target, kind, result);
            continue;
        }
        ++made;
        Observation seen = watch(task, injection.target);
        Outcome outcome = classify(seen);
        // Where the time went (docs/reliability.md, "Where the time goes"):
        // ms from the injection to the verdict, settle_ms waiting for the
        // target to have run kSettleMs (and the workload to be kept), wait_ms
        // the plan's delay.
        // A forced exception also says where it landed (at=interrupt|next).
        bool exception = injection.kind == abi::FaultKind::Exception;
        say("faults: result {} target={} kind={} outcome={} restarted={} errors={} ms={} settle_ms={} wait_ms={}{}{}",
            index, target, kind, kOutcomeNames[static_cast<size_t>(outcome)], seen.target_ended ? "yes" : "no",
            seen.workload_errors, now_ms() - started, settled - began, started - settled, exception ? " " : "",
            exception ? detail : "");
        if (outcome == Outcome::Hang) {
            say("faults: stopping at a hang");
            return Start::Reply { made };
        }
    }
    say("faults: done seed {} first {} count {} made {}", campaign.seed, campaign.first, campaign.count, made);
    return Start::Reply { made };
}

int64_t run_injector()
{
    if (fault_inject(abi::FaultKind::Check, 0, 0, 0) != 0) {
        say("faults: no FaultControl (boot with faults=on): nothing to do");
        return 1;
    }
    auto endpoint = ipc::sys::endpoint_create();
    auto for_clients = endpoint.is_error() ? endpoint : ipc::sys::handle_mint(endpoint.value(), abi::RightSend, 0);
    if (for_clients.is_error()
        || ipc::registry::publish(user::ipc(), abi::HandleRegistry, "faults", for_clients.value()).is_error()) {
        say("faults: cannot publish \"faults\"");
        return 1;
    }
    say("faults: injector ready");
    static Injector injector;
    ipc::Error error = ipc::serve<Protocol>(user::ipc(), endpoint.value(), injector);
    say("faults: stopped: {}", ipc::error_name(error));
    return 1;
}

// ---- the conductor ----

int64_t run_conductor(uint64_t argument)
{
    auto injector = ipc::registry::lookup_waiting(user::ipc(), abi::HandleRegistry, "faults", kStartPatienceMs);
    if (injector.is_error()) {
        user::println("faults: no injector: boot with faults=on (./herald faults)");
        return 1;
    }
    auto reply = ipc::Client<Protocol>(user::ipc(), injector.value()).call<Start>({ argument });
    if (reply.is_error()) {
        user::println("faults: the campaign failed: {}", ipc::error_name(reply.error()));
        return 1;
    }
    user::println("faults: the injector made {} injections", reply.value().injections);
    return 0;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    if (parameter & kWorkerBit)
        return (parameter & ~kWorkerBit) < kActivities ? run_worker(static_cast<Activity>(parameter & ~kWorkerBit)) : 1;
    if (parameter == 0)
        return run_injector();
    return run_conductor(parameter);
}
