// sysfuzz: the system-call fuzzer in the system (docs/reliability.md, "The
// system-call fuzzer"; issue 13, item 5). `./herald fuzz` runs it from the
// shell as `run sysfuzz ARG`.
//
// One program in four roles, told apart by the start parameter:
//  - the conductor (the shell's ARG: bits 0-31 the seed, bits 32-62 the
//    number of calls, 0 for kDefaultCalls): counts the free frames, creates
//    the shared endpoint, starts a ticker and one fuzzer per CPU through the
//    loader (each gets the shared endpoint), then serves the shared endpoint
//    (the pump: every call gets its message back, every handle received is
//    closed) until every fuzzer has ended; then stops the ticker, waits until
//    the memory server has reclaimed the fuzzers' frames, and prints
//      sysfuzz: done: seed S calls N workers W killed K frames start A end B
//    exiting 0 only if no fuzzer was killed and the frames came back.
//  - a fuzzer (kWorkerBit, its index, its share of calls, the seed): makes
//    that many random calls (generator.hpp), prints a progress line every
//    kProgressEvery calls and, at the end, its calls by result and by
//    system call (to the console, which drops nothing):
//      sysfuzz: worker I done: calls N ok X BadNumber X ... other X forced X children X cpumask M
//      sysfuzz: worker I by call: NUMBER MADE SUCCEEDED ...
//    then exits 0. It holds a child (the program `sleep` for a few ms, or a
//    victim), started again when the last one has ended, so that it has a
//    task handle to use.
//  - a victim (kVictimIndex): a fuzzer's child every other time (the
//    others are the program `sleep`): IPC on the shared endpoint until it
//    exits or its fuzzer kills it in the middle of a wait.
//  - the ticker: sends a message on the shared endpoint every tick (10 ms),
//    so that a fuzzer waiting in IpcReceive there always gets one.
// While fuzzing, fuzzers print with DebugWrite only: the runtime's console
// client needs its IPC buffer, which the fuzzer moves around at random.
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "microkernel/abi/task.hpp"
#include "user/programs/sysfuzz/generator.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/log_line.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

using namespace herald;
using namespace herald::user;
using sysfuzz::Kind;
using sysfuzz::Registers;

// The end of rodata (user/runtime/user.ld): the data segment follows.
extern "C" const char __init_array_end[];

namespace {

constexpr uint64_t kDefaultCalls = 20'000;
constexpr uint64_t kWorkerBit = 1ull << 63;
constexpr uint64_t kIndexShift = 56; // 7 bits: the fuzzer's index, kTickerIndex for the ticker
constexpr uint64_t kIndexMask = 0x7F;
constexpr uint64_t kTickerIndex = 0x7F;
constexpr uint64_t kVictimIndex = 0x7E;
constexpr uint64_t kVictimMaxCalls = 100; // a victim's IPC calls before it exits
constexpr uint64_t kCallsShift = 32; // 24 bits: a fuzzer's calls
constexpr uint64_t kMaxWorkerCalls = (1ull << 24) - 1;
constexpr uint64_t kMaxWorkers = 32;
constexpr uint64_t kProgressEvery = 10'000;
constexpr uint64_t kChildEvery = 500;       // calls between starting a new child (if the last one ended)
constexpr uint64_t kChildMaxMs = 20;        // how long the child `sleep` runs
constexpr uint64_t kReclaimPatienceMs = 20'000;
constexpr uint64_t kSharedHandle = abi::HandleFirstFree; // where SpawnWith puts it
constexpr uint64_t kNumbers = static_cast<uint64_t>(SyscallNumber::Count);
constexpr uint64_t kResults = 16; // 0: ok, 1-14: SyscallError -1..-14, 15: anything else

const char* const kResultNames[kResults] = { "ok", "BadNumber", "BadAddress", "BadLength", "BadArgument", "BadHandle",
    "NoRights", "PeerGone", "TimedOut", "NoMemory", "NoReply", "QuotaExceeded", "NotGranted", "Busy",
    "NotDeviceMemory", "other" };

// The pages the kernel may write for the fuzzer (generator.hpp, Layout).
alignas(4096) uint8_t g_scratch[sysfuzz::kScratchPages * abi::kPageSize];

// The fuzzer's threads (ThreadCreate, generator.hpp): a stack and a control
// block per slot, in the data the generator never passes to the kernel. The
// runtime's herald_thread_start sets the thread pointer to the block and
// calls its function, fuzz_thread.
constexpr uint64_t kThreadStackBytes = 16 << 10;
alignas(16) uint8_t g_thread_stacks[sysfuzz::kThreadSlots][kThreadStackBytes];
ThreadControl g_thread_controls[sysfuzz::kThreadSlots];

void raw_syscall(Registers& r)
{
    register uint64_t r10 asm("r10") = r.r10;
    register uint64_t r8 asm("r8") = r.r8;
    register uint64_t r9 asm("r9") = r.r9;
    register uint64_t r12 asm("r12") = r.r12;
    register uint64_t r13 asm("r13") = r.r13;
    register uint64_t r14 asm("r14") = r.r14;
    register uint64_t r15 asm("r15") = r.r15;
    asm volatile("syscall"
                 : "+a"(r.rax), "+D"(r.rdi), "+S"(r.rsi), "+d"(r.rdx), "+r"(r10), "+r"(r8), "+r"(r9), "+r"(r12),
                 "+r"(r13), "+r"(r14), "+r"(r15)
                 :
                 : "rcx", "r11", "memory");
    r.r10 = r10;
    r.r8 = r8;
    r.r9 = r9;
    r.r12 = r12;
    r.r13 = r13;
    r.r14 = r14;
    r.r15 = r15;
}

using Line = LogLine<800>; // a worker's counts by call fit

uint64_t result_slot(int64_t result)
{
    if (result >= 0)
        return 0;
    if (result >= -static_cast<int64_t>(kResults - 2))
        return static_cast<uint64_t>(-result);
    return kResults - 1;
}

// ---- a fuzzer's thread ----

// A few calls of its own (the thread pointer among them, any value: the
// fuzzer uses no thread-local storage), then its end: ThreadExit with a
// random value, directly or by returning (herald_thread_main's
// thread_exit). Short, so that the main thread's ThreadJoin never waits
// long.
int64_t fuzz_thread(uint64_t seed)
{
    sysfuzz::Random random(seed);
    static constexpr uint64_t kPointers[] = { 0, abi::kUserCodeBase, 0x3F'0000'0000, abi::kUserSpaceEnd - 8,
        abi::kUserSpaceEnd, 0x8000'0000'0000, 0xFFFF'8000'0000'0000, ~0ull };
    for (uint64_t step = random.below(4); step > 0; --step) {
        switch (random.below(3)) {
        case 0: syscall0(number_of(SyscallNumber::Yield)); break;
        case 1: syscall1(number_of(SyscallNumber::ThreadSetPointer), random.pick(kPointers)); break;
        default: {
            abi::SelfInfo self {};
            syscall1(number_of(SyscallNumber::SelfInfo), reinterpret_cast<uint64_t>(&self));
            break;
        }
        }
    }
    if (random.one_in(2))
        syscall1(number_of(SyscallNumber::ThreadExit), random.next());
    return static_cast<int64_t>(random.next());
}

// Fills the control block a generated ThreadCreate hands its thread.
void prepare_thread(const sysfuzz::Call& call)
{
    if (call.number != number_of(SyscallNumber::ThreadCreate) || call.thread_slot >= sysfuzz::kThreadSlots)
        return; // (a ThreadJoin names the slot of a thread that runs: its block is in use)
    ThreadControl& control = g_thread_controls[call.thread_slot];
    control = ThreadControl {};
    control.self = &control;
    control.function = fuzz_thread;
    control.argument = call.thread_argument;
}

// The threads still live at the end are joined: none may outlive the run.
void join_threads(sysfuzz::Generator& generator)
{
    for (uint64_t slot = 0; slot < sysfuzz::kThreadSlots; ++slot) {
        if (uint64_t id = generator.thread_id(slot)) {
            int64_t value = 0;
            syscall2(number_of(SyscallNumber::ThreadJoin), id, reinterpret_cast<uint64_t>(&value));
        }
    }
}

// ---- a fuzzer ----

struct Worker {
    uint64_t index;
    uint64_t calls;
    uint64_t seed;
    uint64_t results[kResults] {};
    uint64_t forced { 0 };
    // Per system-call number (kNumbers: any number that is none): made, succeeded.
    uint64_t made[kNumbers + 1] {};
    uint64_t succeeded[kNumbers + 1] {};
    uint64_t children { 0 };
    uint64_t child_failures { 0 };
    uint64_t cpus { 0 }; // a bit for each CPU it was seen running on (sampled)
    uint64_t keeper { 0 }; // our own handle to the child (Kind::Reserved), 0 for none
};

// The runtime's IPC buffer back in place, for a libipc call of our own.
void restore_ipc_buffer()
{
    syscall1(number_of(SyscallNumber::SetIpcBuffer), reinterpret_cast<uint64_t>(herald::user::ipc().payload()));
}

// Starts a new child (`sleep` a few ms) if the last one has ended, so that
// there is always a task handle to wait for, kill and ask about.
// The fuzzer's own handle to its child (Kind::Reserved: the generator never
// uses it), so that it knows when the child has ended even if the fuzzer
// closed its copies, and can end it when the fuzzing is over (a victim may
// be waiting on the shared endpoint, which nobody serves by then).
bool child_running(const Worker& worker)
{
    if (!worker.keeper)
        return false;
    auto status = ipc::loader::info(worker.keeper);
    return !status.is_error() && status.value().state == abi::TaskState::Running;
}

void end_child(Worker& worker, sysfuzz::Generator& generator)
{
    if (!worker.keeper)
        return;
    syscall1(number_of(SyscallNumber::TaskKill), worker.keeper);
    abi::TaskStatus status {};
    syscall2(number_of(SyscallNumber::TaskWait), worker.keeper, reinterpret_cast<uint64_t>(&status));
    syscall1(number_of(SyscallNumber::HandleClose), worker.keeper);
    generator.set(worker.keeper, Kind::Free);
    worker.keeper = 0;
}

// Starts a new child once the last one has ended, so that there is always
// a task handle to wait for, kill and ask about.
void refresh_child(Worker& worker, sysfuzz::Generator& generator)
{
    if (child_running(worker))
        return;
    if (worker.keeper) {
        syscall1(number_of(SyscallNumber::HandleClose), worker.keeper);
        generator.set(worker.keeper, Kind::Free);
        worker.keeper = 0;
    }
    restore_ipc_buffer();
    // Through the loader handle it started with or a copy (a copy may lack
    // the rights).
    ipc::Error why = ipc::Error::PeerGone;
    for (uint64_t loader = 1; loader < abi::kMaxHandles; ++loader) {
        if (generator.kind(loader) != Kind::Loader)
            continue;
        // Every other child is a victim: it calls, sends and receives on
        // the shared endpoint, so that the fuzzer's TaskKill ends it in
        // the middle of IPC (the kill paths of every wait).
        bool victim = worker.children % 2 == 1;
        uint64_t seed = generator.random().next() & 0xFFFF'FFFF;
        auto started = victim ? ipc::loader::spawn(herald::user::ipc(), loader, "sysfuzz",
                                    kWorkerBit | (kVictimIndex << kIndexShift) | seed, kSharedHandle)
                              : ipc::loader::spawn(herald::user::ipc(), loader, "sleep", 1 + seed % kChildMaxMs);
        if (started.is_error()) {
            why = started.error();
            continue;
        }
        uint64_t child = started.value().task;
        generator.set(child, Kind::Child);
        int64_t keeper = syscall3(number_of(SyscallNumber::HandleMint), child, abi::RightSend | abi::RightReceive, 0);
        if (keeper > 0) {
            worker.keeper = static_cast<uint64_t>(keeper);
            generator.set(worker.keeper, Kind::Reserved);
        }
        ++worker.children;
        return;
    }
    ++worker.child_failures;
    if (worker.child_failures == 1)
        Line().add("sysfuzz: worker {} cannot start a child: {}", worker.index, ipc::error_name(why)).write();
}

// Progress goes to the kernel log (DebugWrite: no IPC buffer needed; a
// line may be dropped if the log's ring fills). The last line goes to the
// console, once the fuzzing is over: it carries the counts ./herald fuzz adds
// up, and the console drops nothing.
void report(const Worker& worker, const char* what, uint64_t calls)
{
    Line line;
    line.add("sysfuzz: worker {} {}: calls {}", worker.index, what, calls);
    if (what[0] == 'd') {
        for (uint64_t i = 0; i < kResults; ++i)
            line.add(" {} {}", kResultNames[i], worker.results[i]);
        line.add(" forced {} children {} cpumask {}", worker.forced, worker.children, worker.cpus);
        restore_ipc_buffer();
        println("{}", line.view());
        // Then what each system call made and how often it succeeded:
        // "sysfuzz: worker I by call: NUMBER MADE OK ..." (50: no such call).
        Line by_call;
        by_call.add("sysfuzz: worker {} by call:", worker.index);
        for (uint64_t n = 0; n <= kNumbers; ++n) {
            if (worker.made[n])
                by_call.add(" {} {} {}", n, worker.made[n], worker.succeeded[n]);
        }
        println("{}", by_call.view());
        return;
    }
    line.write();
}

int64_t run_worker(uint64_t parameter)
{
    Worker worker {};
    worker.index = (parameter >> kIndexShift) & kIndexMask;
    worker.calls = (parameter >> kCallsShift) & kMaxWorkerCalls;
    worker.seed = parameter & 0xFFFF'FFFF;

    abi::SelfInfo self {};
    self_info(&self);
    ipc::Handle loader = find_server("loader");
    ipc::Handle console = find_server("console");

    sysfuzz::Layout layout {};
    layout.scratch = reinterpret_cast<uint64_t>(g_scratch);
    layout.code = reinterpret_cast<uint64_t>(&run_worker);
    layout.protected_begin = reinterpret_cast<uint64_t>(__init_array_end) & ~(abi::kPageSize - 1);
    layout.protected_end = layout.protected_begin + (1ull << 20);
    layout.stack_top_begin = abi::kUserSpaceEnd - (64ull << 10);
    layout.task_id = self.task_id;
    layout.thread_entry = reinterpret_cast<uint64_t>(&herald_thread_start);
    layout.thread_parameters = reinterpret_cast<uint64_t>(&g_thread_controls[0]);
    layout.thread_parameter_stride = sizeof(ThreadControl);
    layout.thread_stacks = reinterpret_cast<uint64_t>(&g_thread_stacks[0][0]);
    layout.thread_stack_bytes = kThreadStackBytes;
    // The scratch pages start out as text a log line can carry.
    for (size_t i = 0; i < sizeof(g_scratch); ++i)
        g_scratch[i] = static_cast<uint8_t>('a' + i % 26);

    sysfuzz::Generator generator(sysfuzz::worker_seed(worker.seed, worker.index), layout);
    generator.keep(abi::HandleRegistry, Kind::Registry);
    generator.keep(abi::HandleMemory, Kind::Memory);
    generator.keep(kSharedHandle, Kind::Shared);
    if (loader != abi::HandleNone)
        generator.keep(loader, Kind::Loader);
    if (console != abi::HandleNone)
        generator.keep(console, Kind::Console);
    // An endpoint nobody can receive on any more: a send-only copy of one
    // whose creating handle is closed.
    int64_t endpoint = syscall0(number_of(SyscallNumber::EndpointCreate));
    if (endpoint > 0) {
        int64_t copy = syscall3(number_of(SyscallNumber::HandleMint), endpoint, abi::RightSend | abi::RightGrant, 0);
        syscall1(number_of(SyscallNumber::HandleClose), endpoint);
        if (copy > 0)
            generator.set(copy, Kind::Dead);
    }
    refresh_child(worker, generator);
    Line().add("sysfuzz: worker {} started on CPU {} of {}", worker.index, self.cpu_index, self.cpu_count).write();

    for (uint64_t made = 0; made < worker.calls; ++made) {
        sysfuzz::Call call = generator.next();
        Registers out = call.registers;
        prepare_thread(call);
        raw_syscall(out);
        generator.observe(call, out);
        ++worker.results[result_slot(static_cast<int64_t>(out.rax))];
        uint64_t slot = call.number < kNumbers ? call.number : kNumbers;
        ++worker.made[slot];
        worker.succeeded[slot] += static_cast<int64_t>(out.rax) >= 0;
        if (call.forced != sysfuzz::Forced::None)
            ++worker.forced;
        if ((made + 1) % kChildEvery == 0) {
            refresh_child(worker, generator);
            abi::SelfInfo now {};
            if (self_info(&now) == 0 && now.cpu_index < 64)
                worker.cpus |= 1ull << now.cpu_index;
        }
        if ((made + 1) % kProgressEvery == 0)
            report(worker, "progress", made + 1);
    }
    join_threads(generator);
    end_child(worker, generator);
    report(worker, "done", worker.calls);
    return 0;
}

// ---- a victim ----

// A fuzzer's child that does IPC on the shared endpoint until it exits or
// its parent kills it: calls (answered by the conductor or a fuzzer),
// sends, receives (a call it receives is answered, saved and dropped, or
// left for its end to fail), timed waits on a notification of its own.
int64_t run_victim(uint64_t parameter)
{
    sysfuzz::Random random(parameter & 0xFFFF'FFFF);
    int64_t notification = syscall0(number_of(SyscallNumber::NotificationCreate));
    uint64_t calls = 1 + random.below(kVictimMaxCalls);
    for (uint64_t i = 0; i < calls; ++i) {
        Registers r {};
        r.rdi = kSharedHandle;
        r.rsi = abi::MessageInfo { static_cast<uint32_t>(random.below(8)), 0, random.one_in(8) }.encode();
        r.rdx = random.next();
        r.r15 = notification > 0 ? static_cast<uint64_t>(notification) : 0;
        switch (random.below(6)) {
        case 0: r.rax = number_of(SyscallNumber::IpcCall); break;
        case 1: r.rax = number_of(SyscallNumber::IpcSend); break;
        case 2: r.rax = number_of(SyscallNumber::IpcReceive); break;
        case 3: r.rax = number_of(SyscallNumber::IpcReplyReceive); break;
        case 4:
            r.rax = number_of(SyscallNumber::IpcReplySave);
            raw_syscall(r);
            if (static_cast<int64_t>(r.rax) > 0)
                syscall1(number_of(SyscallNumber::HandleClose), r.rax); // the caller gets PeerGone
            continue;
        default:
            r.rax = number_of(SyscallNumber::NotifyWait);
            r.rdi = notification > 0 ? static_cast<uint64_t>(notification) : 0;
            r.rsi = static_cast<uint64_t>(abi::WaitMode::Timeout);
            r.rdx = random.below(2);
            break;
        }
        raw_syscall(r);
        if (static_cast<int64_t>(r.rax) == 0 && (r.rsi & abi::MessageInfo::kTransferBit))
            syscall1(number_of(SyscallNumber::HandleClose), r.r15);
    }
    return 0;
}

// ---- the ticker ----

int64_t run_ticker()
{
    for (;;) {
        sleep_ms(1);
        Registers r {};
        r.rax = number_of(SyscallNumber::IpcSend);
        r.rdi = kSharedHandle;
        r.rsi = abi::MessageInfo { sysfuzz::kTickLabel, 0, false }.encode();
        raw_syscall(r);
    }
}

// ---- the conductor ----

struct Started {
    uint64_t task;   // handle
    uint64_t id;
    bool ended;
    abi::TaskStatus status;
};

uint64_t free_frames()
{
    auto stats = ipc::memory::stats(herald::user::ipc());
    return stats.is_error() ? 0 : stats.value().free;
}

// The free frames once the count holds still for kSettleMs: the fuzzer may
// be started while the system is still starting (init starts its pinger
// after the manifest's programs, the shell among them), and a task that
// starts after the first count would look like frames the fuzz lost.
constexpr uint64_t kSettleMs = 500;
constexpr int kMaxSettleTries = 40;

uint64_t settled_free_frames()
{
    uint64_t last = free_frames();
    for (int i = 0; i < kMaxSettleTries; ++i) {
        sleep_ms(kSettleMs);
        uint64_t now = free_frames();
        if (now == last)
            return now;
        last = now;
    }
    return last;
}

// Serves the shared endpoint until every fuzzer has ended: each message's
// words go back as the reply (to a Send, the reply finds nobody), each
// handle received is closed at once (it may be a saved reply another
// fuzzer's caller waits on).
void pump(Started* workers, uint64_t count, uint64_t shared)
{
    Registers r {};
    r.rax = number_of(SyscallNumber::IpcReceive);
    r.rdi = shared;
    for (;;) {
        raw_syscall(r);
        if (static_cast<int64_t>(r.rax) < 0) {
            sleep_ms(1); // nothing to serve (cannot happen while we hold the endpoint)
        } else if (r.rsi & abi::MessageInfo::kTransferBit) {
            syscall1(number_of(SyscallNumber::HandleClose), r.r15);
        }
        if (static_cast<uint32_t>(r.rsi) == sysfuzz::kTickLabel || static_cast<int64_t>(r.rax) < 0) {
            bool all_ended = true;
            for (uint64_t i = 0; i < count; ++i) {
                if (!workers[i].ended) {
                    auto status = ipc::loader::info(workers[i].task);
                    workers[i].ended = status.is_error() || status.value().state == abi::TaskState::Exited
                        || status.value().state == abi::TaskState::Killed;
                    if (!status.is_error())
                        workers[i].status = status.value();
                }
                all_ended = all_ended && workers[i].ended;
            }
            if (all_ended)
                return;
        }
        r.rax = number_of(SyscallNumber::IpcReplyReceive);
        r.rdi = shared;
        r.rsi = abi::MessageInfo { static_cast<uint32_t>(r.rsi), 0, false }.encode();
    }
}

// Touches the stack this task will use, so that its own page faults later
// do not move the free-frame count.
[[gnu::noinline]] void touch_stack()
{
    volatile uint8_t depth[48 * 1024];
    for (size_t i = 0; i < sizeof(depth); i += abi::kPageSize)
        depth[i] = 0;
}

int64_t run_conductor(uint64_t parameter)
{
    uint64_t seed = parameter & 0xFFFF'FFFF;
    uint64_t calls = (parameter >> kCallsShift) & 0x7FFF'FFFF;
    if (calls == 0)
        calls = kDefaultCalls;
    abi::SelfInfo self {};
    self_info(&self);
    uint64_t workers = self.cpu_count < 1 ? 1 : self.cpu_count > kMaxWorkers ? kMaxWorkers : self.cpu_count;
    uint64_t per_worker = calls / workers;
    if (per_worker + calls % workers > kMaxWorkerCalls) {
        println("sysfuzz: at most {} calls per CPU", kMaxWorkerCalls);
        return 2;
    }
    ipc::Handle loader = find_server("loader");
    if (loader == abi::HandleNone) {
        println("sysfuzz: no loader");
        return 2;
    }
    println("sysfuzz: seed {} calls {} workers {}", seed, calls, workers);
    touch_stack();
    uint64_t frames_start = settled_free_frames();

    int64_t shared = syscall0(number_of(SyscallNumber::EndpointCreate));
    if (shared <= 0) {
        println("sysfuzz: cannot create the shared endpoint ({})", shared);
        return 2;
    }
    uint64_t ticker_parameter = kWorkerBit | (kTickerIndex << kIndexShift);
    auto ticker = ipc::loader::spawn(herald::user::ipc(), loader, "sysfuzz", ticker_parameter, static_cast<uint64_t>(shared));
    if (ticker.is_error()) {
        println("sysfuzz: cannot start the ticker: {}", ipc::error_name(ticker.error()));
        return 2;
    }
    Started started[kMaxWorkers] {};
    uint64_t count = 0;
    for (uint64_t i = 0; i < workers; ++i) {
        uint64_t share = per_worker + (i == 0 ? calls % workers : 0);
        uint64_t worker_parameter = kWorkerBit | (i << kIndexShift) | (share << kCallsShift) | seed;
        auto worker = ipc::loader::spawn(herald::user::ipc(), loader, "sysfuzz", worker_parameter, static_cast<uint64_t>(shared));
        if (worker.is_error()) {
            println("sysfuzz: cannot start worker {}: {}", i, ipc::error_name(worker.error()));
            continue;
        }
        started[count++] = Started { worker.value().task, worker.value().task_id, false, {} };
    }

    pump(started, count, static_cast<uint64_t>(shared));

    uint64_t killed = 0;
    for (uint64_t i = 0; i < count; ++i) {
        if (started[i].status.state != abi::TaskState::Exited || started[i].status.exit_status != 0) {
            ++killed;
            println("sysfuzz: worker {} (task {}) ended badly: state {} status {}", i, started[i].id,
                static_cast<uint64_t>(started[i].status.state), started[i].status.exit_status);
        }
        syscall1(number_of(SyscallNumber::HandleClose), started[i].task);
    }
    syscall1(number_of(SyscallNumber::TaskKill), ticker.value().task);
    abi::TaskStatus ticker_status {};
    syscall2(number_of(SyscallNumber::TaskWait), ticker.value().task, reinterpret_cast<uint64_t>(&ticker_status));
    syscall1(number_of(SyscallNumber::HandleClose), ticker.value().task);
    syscall1(number_of(SyscallNumber::HandleClose), static_cast<uint64_t>(shared));

    // Tasks' frames come back once the memory server has reclaimed them
    // (docs/memory.md); the fuzzers' children may still be sleeping. The
    // loader ends the tree of a task that ended at its next request
    // (docs/security.md, "Quotas"): after the last worker nobody else asks
    // it anything, so the conductor does, lest a child of that worker's
    // still running keep its frames.
    uint64_t frames_end = free_frames();
    for (uint64_t waited = 0; frames_end != frames_start && waited < kReclaimPatienceMs; waited += 20) {
        (void)ipc::Client<ipc::loader::Protocol>(herald::user::ipc(), loader).call<ipc::loader::List>(ipc::Empty {});
        sleep_ms(20);
        frames_end = free_frames();
    }
    bool leak = frames_end != frames_start;
    println("sysfuzz: done: seed {} calls {} workers {} killed {} frames start {} end {}{}", seed, calls, count, killed,
        frames_start, frames_end, leak ? " LEAK" : "");
    return killed == 0 && !leak && count == workers ? 0 : 1;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    if (!(parameter & kWorkerBit))
        return run_conductor(parameter);
    if (((parameter >> kIndexShift) & kIndexMask) == kTickerIndex)
        return run_ticker();
    if (((parameter >> kIndexShift) & kIndexMask) == kVictimIndex)
        return run_victim(parameter);
    return run_worker(parameter);
}
