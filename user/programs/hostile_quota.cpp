// hostile_quota: a hostile program that tries to exhaust the loader (issue
// 13 item 2, docs/security.md "Quotas") and checks that it is refused with
// a clear error. The self-tests (tests/insystem/system_tests.cpp) run it;
// afterwards they check that the loader still answers and that another
// program runs to its end. Exits with the number of checks that failed (0:
// every attack was refused as it should be); each failure is printed.
//
//   bomb        first alone: starts `sleep` through the loader until it is
//               refused, which must be kTooManyTasks after exactly
//               kMaxTasksPerClient; ends them. Then a fork bomb: starts
//               copies of itself (mode child) until refused, and each copy
//               starts `sleep` until refused. Every refusal must be
//               kTooManyTasks, nobody may have more than kMaxTasksPerClient
//               live tasks after a spawn, and nobody may be let through
//               without limit (each stops trying after kMaxTries). The
//               copies stay until the bomb has been refused (each waits on a
//               notification it was given), then end their tasks and exit.
//   child       a copy in the bomb: as above, for its own `sleep`s.
//   orphans     starts a parent (mode parent) that starts 3 `sleep`s and a
//               copy of itself (mode parent, staying), which starts 3
//               more; the first parent exits, and a loader request follows.
//               Then another parent, staying, which it ends with the
//               loader's Kill. The self-test checks that no `sleep` and no
//               copy is left running (the tree ended with its root).
//   parent      value bit 0: stay (sleep) instead of exiting once its
//               tree is built; bit 1: start a staying copy too. Signals
//               the notification it was given when its tree is built.
//   frames      a memory hog against the memory service's frame limit:
//               Grows its heap in halving steps until even one page is
//               refused; every refusal must be kOverLimit, it must have
//               reached its limit exactly (Limits; it then Shrinks a few
//               pages, room for its own stack), and frames must be left
//               free and unpromised for the others. Touches a sample of its
//               pages, then sleeps holding them until it is killed (the
//               self-test meanwhile runs other programs).
//   stack_hog   takes its limit with Grow as above, then recurses on its
//               stack: the first stack page beyond the limit must kill it
//               (#PF, "over its frame limit"). Exits with a failure count
//               only if it is not killed.
//   tree        a fork bomb in one tree: starts one copy (mode node, depth
//               2) through the loader, the root of a tree; each node starts
//               copies of depth - 1 one after another (a leaf: `sleep`s)
//               until refused, each refusal kTooManyTasks, and tells its
//               starter how many tasks its subtree holds. The tree must
//               hold exactly kMaxTasksPerTree; meanwhile this program (not
//               in the tree) still starts `hello` to its end. Then it kills
//               the root through the loader (the self-test checks that no
//               copy and no `sleep` is left). It must be started by a task
//               the loader did not start (the self-test): run from the
//               shell it is itself in the shell's tree, which then holds
//               the 64, so its own checks fail (62 in its copies, `hello`
//               refused).
//   node        a node of that tree (value: depth); stays until killed.
//   names       copies of itself (mode holder) publish names until refused,
//               one copy after another: together they must get exactly
//               kMaxNamesPerProgram, each refusal kTooManyNames; meanwhile
//               hostile_authority's registry attack (another program)
//               still publishes and finds the servers. Then it kills the
//               copies, and a new copy gets its kMaxNamesPerTask again.
//   holder      a copy in `names` (value: its index); stays until killed.
//   handles     the kernel's quotas: creates endpoints until refused, which
//               must be QuotaExceeded within kMaxIpcObjects handles to
//               endpoints and notifications (it holds a few already);
//               notifications share that quota; one closed makes room for
//               one. Then it mints copies of a task handle until its whole
//               table is full (QuotaExceeded again), closes everything, and
//               still starts `hello` to its end.
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::number_of;

enum Mode : uint64_t {
    ModeBomb = 1,
    ModeChild = 2,
    ModeOrphans = 3,
    ModeParent = 4,
    ModeFrames = 5,
    ModeStackHog = 6,
    ModeTree = 7,
    ModeNode = 8,
    ModeNames = 9,
    ModeHolder = 10,
    ModeHandles = 11,
};
// A node's or holder's report on the notification it was given: a count
// plus one, plus this bit when one of its checks failed.
constexpr uint64_t kReportFailed = 1ull << 40;
constexpr uint64_t kModeBits = 8;
constexpr uint64_t kStay = 1, kWithCopy = 2; // ModeParent's value bits
constexpr uint64_t kSleepersEach = 3;

constexpr uint64_t kLimit = ipc::loader::kMaxTasksPerClient;
// Without a limit the loader would go on to the kernel's 1,023 tasks; the
// program stops at twice the limit so that a missing limit fails the check
// instead of taking the machine down.
constexpr uint64_t kMaxTries = 2 * kLimit;
constexpr uint64_t kSleepMs = 600'000; // the sleepers are ended long before
constexpr uint64_t kGoTimeoutMs = 120'000; // a copy waits this long for the bomb's go
constexpr ipc::Handle kGivenHandle = abi::HandleFirstFree; // where SpawnWith puts the notification
constexpr uint64_t kHostileAuthorityRegistry = 4; // hostile_authority's mode: the registry attack

int64_t g_failures;

void check(bool condition, const char* what)
{
    if (!condition) {
        ++g_failures;
        user::println("hostile_quota: FAILED: {}", what);
    }
}

struct Started {
    ipc::Handle tasks[kMaxTries];
    ipc::Handle go[kMaxTries]; // the copies': signalled when they may end
    uint64_t count;
    ipc::Error refusal; // the error that stopped it (Error{} if none did)
    bool refused;
};

bool still_running(ipc::Handle task)
{
    auto status = ipc::loader::info(task);
    return !status.is_error() && status.value().state == abi::TaskState::Running;
}

uint64_t live(const Started& started)
{
    uint64_t count = 0;
    for (uint64_t i = 0; i < started.count; ++i)
        count += still_running(started.tasks[i]);
    return count;
}

// Starts `program` (with `argument`) until the loader refuses, at most
// kMaxTries times; with `with_go`, each gets a notification of its own.
// After each start, the tasks still running must be within the limit:
// the loader counted them before this one, and tasks only ever end.
void start_until_refused(ipc::Handle loader, const char* program, uint64_t argument, Started& started, bool with_go = false)
{
    started.count = 0;
    started.refused = false;
    while (started.count < kMaxTries) {
        ipc::Handle go = abi::HandleNone;
        if (with_go) {
            auto created = ipc::sys::notification_create();
            check(!created.is_error(), "a notification for a copy");
            go = created.is_error() ? abi::HandleNone : created.value();
        }
        auto task = ipc::loader::spawn(user::ipc(), loader, program, argument, go);
        if (task.is_error()) {
            started.refused = true;
            started.refusal = task.error();
            if (go != abi::HandleNone)
                (void)ipc::sys::handle_close(go);
            return;
        }
        started.go[started.count] = go;
        started.tasks[started.count++] = task.value().task;
        if (live(started) > kLimit) {
            user::println("hostile_quota: {} of its tasks run at once (limit {})", live(started), kLimit);
            check(false, "nobody has more than kMaxTasksPerClient live tasks");
        }
    }
}

// Ends (through the task handles) and waits for every task it started.
void end_all(Started& started)
{
    for (uint64_t i = 0; i < started.count; ++i) {
        (void)user::syscall1(number_of(abi::SyscallNumber::TaskKill), started.tasks[i]);
        (void)ipc::loader::wait(started.tasks[i]);
        (void)ipc::sys::handle_close(started.tasks[i]);
    }
    started.count = 0;
}

void check_refused(const Started& started, const char* who)
{
    if (!started.refused) {
        user::println("hostile_quota: {} started {} tasks and was never refused", who, started.count);
        check(false, "the loader refuses a client at its limit");
        return;
    }
    if (started.refusal != ipc::loader::kTooManyTasks)
        user::println("hostile_quota: {} refused after {} with: {}", who, started.count,
            ipc::loader::error_text(started.refusal));
    check(started.refusal == ipc::loader::kTooManyTasks, "the refusal is kTooManyTasks");
}

Started g_started;

int64_t child(ipc::Handle loader)
{
    start_until_refused(loader, "sleep", kSleepMs, g_started);
    check_refused(g_started, "a child");
    // Stay, with the sleepers, until the bomb itself has been refused.
    auto go = ipc::sys::wait(kGivenHandle, ipc::WaitMode::Timeout, kGoTimeoutMs);
    check(!go.is_error(), "the bomb lets its copies go");
    end_all(g_started);
    return g_failures;
}

int64_t bomb(ipc::Handle loader)
{
    // Alone: exactly the limit.
    start_until_refused(loader, "sleep", kSleepMs, g_started);
    check_refused(g_started, "the bomb");
    if (g_started.count != kLimit)
        user::println("hostile_quota: the bomb alone started {} (limit {})", g_started.count, kLimit);
    check(g_started.count == kLimit, "alone, a client starts exactly kMaxTasksPerClient tasks");
    end_all(g_started);

    // The fork bomb: copies of itself, which start tasks too.
    start_until_refused(loader, "hostile_quota", ModeChild, g_started, true);
    check_refused(g_started, "the bomb");
    for (uint64_t i = 0; i < g_started.count; ++i)
        (void)ipc::sys::signal(g_started.go[i], 1);
    for (uint64_t i = 0; i < g_started.count; ++i) {
        auto status = ipc::loader::wait(g_started.tasks[i]);
        check(!status.is_error() && status.value().state == abi::TaskState::Exited && status.value().exit_status == 0,
            "every copy in the bomb was refused as it should be, and exited");
        (void)ipc::sys::handle_close(g_started.tasks[i]);
        (void)ipc::sys::handle_close(g_started.go[i]);
    }
    g_started.count = 0;

    // Its tasks have ended: the client may start again.
    auto again = ipc::loader::spawn(user::ipc(), loader, "sleep", 1);
    check(!again.is_error(), "once its tasks have ended, the client may start again");
    if (!again.is_error()) {
        (void)ipc::loader::wait(again.value().task);
        (void)ipc::sys::handle_close(again.value().task);
    }
    return g_failures;
}

// Starts a parent with `flags`, and waits until its tree is built.
ipc::Result<ipc::loader::Task> start_parent(ipc::Handle loader, uint64_t flags)
{
    ipc::Handle built = IPC_TRY(ipc::sys::notification_create());
    auto parent = ipc::loader::spawn(user::ipc(), loader, "hostile_quota", ModeParent | flags << kModeBits, built);
    if (!parent.is_error()) {
        auto signalled = ipc::sys::wait(built, ipc::WaitMode::Timeout, kGoTimeoutMs);
        check(!signalled.is_error(), "the parent builds its tree");
    }
    (void)ipc::sys::handle_close(built);
    return parent;
}

int64_t parent(ipc::Handle loader, uint64_t flags)
{
    for (uint64_t i = 0; i < kSleepersEach; ++i)
        check(!ipc::loader::spawn(user::ipc(), loader, "sleep", kSleepMs).is_error(), "a sleeper starts");
    if (flags & kWithCopy)
        check(!start_parent(loader, kStay).is_error(), "the copy starts");
    (void)ipc::sys::signal(kGivenHandle, 1);
    if (flags & kStay)
        (void)user::sleep_ms(kSleepMs);
    return g_failures;
}

int64_t orphans(ipc::Handle loader)
{
    // A parent that exits: its tree ends at the loader's next request.
    auto first = start_parent(loader, kWithCopy);
    check(!first.is_error(), "the first parent starts");
    if (!first.is_error()) {
        auto status = ipc::loader::wait(first.value().task);
        check(!status.is_error() && status.value().state == abi::TaskState::Exited, "the first parent exits");
        (void)ipc::sys::handle_close(first.value().task);
    }
    (void)ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::List>(ipc::Empty {});

    // A parent that stays: the loader's Kill ends it and its tree at once.
    auto second = start_parent(loader, kStay | kWithCopy);
    check(!second.is_error(), "the second parent starts");
    if (!second.is_error()) {
        auto killed = ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::Kill>({ second.value().task_id });
        check(!killed.is_error(), "its starter kills the second parent");
        (void)ipc::loader::wait(second.value().task);
        (void)ipc::sys::handle_close(second.value().task);
    }
    return g_failures;
}

// Starts `program` with `argument` and a notification, and waits for its
// report (see kReportFailed). Nothing if the loader refused (the error in
// `refusal`).
struct Reported {
    ipc::loader::Task task;
    uint64_t count;
};
ipc::Result<Reported> start_and_hear(ipc::Handle loader, const char* program, uint64_t argument)
{
    ipc::Handle report = IPC_TRY(ipc::sys::notification_create());
    auto started = ipc::loader::spawn(user::ipc(), loader, program, argument, report);
    if (started.is_error()) {
        (void)ipc::sys::handle_close(report);
        return started.error();
    }
    auto heard = ipc::sys::wait(report, ipc::WaitMode::Timeout, kGoTimeoutMs);
    (void)ipc::sys::handle_close(report);
    check(!heard.is_error(), "a copy reports");
    uint64_t bits = heard.is_error() ? kReportFailed : heard.value();
    check(!(bits & kReportFailed), "a copy's checks passed");
    uint64_t count = bits & ~kReportFailed;
    return Reported { started.value(), count ? count - 1 : 0 };
}

[[noreturn]] void report_and_stay(uint64_t count)
{
    (void)ipc::sys::signal(kGivenHandle, (count + 1) | (g_failures ? kReportFailed : 0)); // never 0 bits: a signal of 0 wakes nobody
    for (;;)
        (void)user::sleep_ms(kSleepMs);
}

// ---- tree ----

constexpr uint64_t kTreeDepth = 2;

[[noreturn]] void node(ipc::Handle loader, uint64_t depth)
{
    uint64_t subtree = 1; // itself
    for (uint64_t i = 0; i < kMaxTries; ++i) {
        ipc::Error refusal {};
        if (depth == 0) {
            auto sleeper = ipc::loader::spawn(user::ipc(), loader, "sleep", kSleepMs);
            if (sleeper.is_error())
                refusal = sleeper.error();
            else
                ++subtree;
        } else {
            auto child = start_and_hear(loader, "hostile_quota", ModeNode | (depth - 1) << kModeBits);
            if (child.is_error())
                refusal = child.error();
            else
                subtree += child.value().count;
        }
        if (refusal != ipc::Error {}) {
            if (refusal != ipc::loader::kTooManyTasks)
                user::println("hostile_quota: a node refused with: {}", ipc::loader::error_text(refusal));
            check(refusal == ipc::loader::kTooManyTasks, "a node is refused with kTooManyTasks");
            break;
        }
    }
    report_and_stay(subtree);
}

int64_t tree(ipc::Handle loader)
{
    auto root = start_and_hear(loader, "hostile_quota", ModeNode | kTreeDepth << kModeBits);
    check(!root.is_error(), "the tree's root starts");
    if (root.is_error())
        return g_failures;
    if (root.value().count != ipc::loader::kMaxTasksPerTree)
        user::println("hostile_quota: the tree holds {} tasks (limit {})", root.value().count, ipc::loader::kMaxTasksPerTree);
    check(root.value().count == ipc::loader::kMaxTasksPerTree, "the tree holds exactly kMaxTasksPerTree tasks");

    // The loader still serves others while the tree is full.
    auto hello = ipc::loader::spawn(user::ipc(), loader, "hello", 0);
    check(!hello.is_error(), "another program starts beside the full tree");
    if (!hello.is_error()) {
        auto status = ipc::loader::wait(hello.value().task);
        check(!status.is_error() && status.value().state == abi::TaskState::Exited && status.value().exit_status == 0,
            "and runs to its end");
        (void)ipc::sys::handle_close(hello.value().task);
    }
    auto killed = ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::Kill>({ root.value().task.task_id });
    check(!killed.is_error(), "its starter kills the tree's root");
    (void)ipc::loader::wait(root.value().task.task);
    (void)ipc::sys::handle_close(root.value().task.task);
    return g_failures;
}

// ---- names ----

constexpr uint64_t kMaxHolders = ipc::registry::kMaxEntries / ipc::registry::kMaxNamesPerTask;

ipc::Result<void> publish(const char* name)
{
    auto endpoint = IPC_TRY(ipc::sys::endpoint_create());
    auto send_only = IPC_TRY(ipc::sys::handle_mint(endpoint, abi::RightSend, 0));
    return ipc::registry::publish(user::ipc(), abi::HandleRegistry, name, send_only);
}

[[noreturn]] void holder(uint64_t index)
{
    char name[ipc::registry::kNameSize] = "hostile_quota_00_00";
    name[14] = static_cast<char>('0' + index / 10 % 10);
    name[15] = static_cast<char>('0' + index % 10);
    uint64_t published = 0;
    for (uint64_t i = 0; i < ipc::registry::kMaxEntries; ++i) {
        name[17] = static_cast<char>('0' + i / 10 % 10);
        name[18] = static_cast<char>('0' + i % 10);
        auto result = publish(name);
        if (result.is_error()) {
            check(result.error() == ipc::registry::kTooManyNames, "a holder is refused with kTooManyNames");
            break;
        }
        ++published;
    }
    report_and_stay(published);
}

int64_t names(ipc::Handle loader)
{
    Reported holders[kMaxHolders + 1] {};
    uint64_t started = 0;
    uint64_t total = 0;
    for (; started < kMaxHolders; ++started) {
        auto held = start_and_hear(loader, "hostile_quota", ModeHolder | started << kModeBits);
        check(!held.is_error(), "a holder starts");
        if (held.is_error())
            break;
        holders[started] = held.value();
        total += held.value().count;
    }
    if (total != ipc::registry::kMaxNamesPerProgram)
        user::println("hostile_quota: its copies hold {} names (limit {})", total, ipc::registry::kMaxNamesPerProgram);
    check(total == ipc::registry::kMaxNamesPerProgram, "the copies of one program hold kMaxNamesPerProgram names");

    // Another program still publishes and finds the servers.
    auto other = ipc::loader::spawn(user::ipc(), loader, "hostile_authority", kHostileAuthorityRegistry);
    check(!other.is_error(), "another program starts");
    if (!other.is_error()) {
        auto status = ipc::loader::wait(other.value().task);
        check(!status.is_error() && status.value().state == abi::TaskState::Exited && status.value().exit_status == 0,
            "another program publishes names and finds the servers");
        (void)ipc::sys::handle_close(other.value().task);
    }

    // The copies end: their names no longer count.
    for (uint64_t i = 0; i < started; ++i) {
        (void)ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::Kill>({ holders[i].task.task_id });
        (void)ipc::loader::wait(holders[i].task.task);
        (void)ipc::sys::handle_close(holders[i].task.task);
    }
    auto again = start_and_hear(loader, "hostile_quota", ModeHolder | started << kModeBits);
    check(!again.is_error() && again.value().count == ipc::registry::kMaxNamesPerTask,
        "once they have ended, a new copy publishes kMaxNamesPerTask names");
    if (!again.is_error()) {
        (void)ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::Kill>({ again.value().task.task_id });
        (void)ipc::loader::wait(again.value().task.task);
        (void)ipc::sys::handle_close(again.value().task.task);
    }
    return g_failures;
}

// ---- handles ----

constexpr uint64_t kMaxIpcObjects = abi::kMaxIpcObjectHandles;
constexpr uint64_t kTableSize = abi::kMaxHandles;
// Handles to endpoints and notifications a program holds before it makes
// any: memory, registry, and what it was given (at most these many).
constexpr uint64_t kHeldAtStart = 4;

ipc::Handle g_handles[kTableSize];

int64_t handles(ipc::Handle loader)
{
    uint64_t made = 0;
    ipc::Result<ipc::Handle> last = ipc::Error::BadArgument;
    while (made < kTableSize && !(last = ipc::sys::endpoint_create()).is_error())
        g_handles[made++] = last.value();
    user::println("hostile_quota: {} endpoints made, then: {}", made, last.is_error() ? ipc::error_name(last.error()) : "-");
    check(last.is_error() && last.error() == ipc::Error::QuotaExceeded, "endpoints: QuotaExceeded at last");
    check(made <= kMaxIpcObjects && made + kHeldAtStart >= kMaxIpcObjects, "endpoints and notifications stop at kMaxIpcObjects");
    auto notification = ipc::sys::notification_create();
    check(notification.is_error() && notification.error() == ipc::Error::QuotaExceeded, "notifications share the quota");
    // One closed makes room for one.
    check(made > 0 && !ipc::sys::handle_close(g_handles[--made]).is_error(), "an endpoint closes");
    notification = ipc::sys::notification_create();
    check(!notification.is_error(), "then a notification may be made");
    if (!notification.is_error())
        g_handles[made++] = notification.value();
    check(ipc::sys::notification_create().is_error(), "and no more");

    // The whole table: copies of a task handle, a kind without a quota of its own.
    auto sleeper = ipc::loader::spawn(user::ipc(), loader, "sleep", kSleepMs);
    check(!sleeper.is_error(), "a sleeper starts");
    uint64_t copies = 0;
    if (!sleeper.is_error()) {
        last = ipc::Error::BadArgument;
        while (made < kTableSize
            && !(last = ipc::sys::handle_mint(sleeper.value().task, abi::RightReceive, 0)).is_error()) {
            g_handles[made++] = last.value();
            ++copies;
        }
        user::println("hostile_quota: {} copies of a task handle, then: {}", copies,
            last.is_error() ? ipc::error_name(last.error()) : "-");
        check(last.is_error() && last.error() == ipc::Error::QuotaExceeded, "a full table: QuotaExceeded");
        (void)user::syscall1(number_of(abi::SyscallNumber::TaskKill), sleeper.value().task);
        (void)ipc::loader::wait(sleeper.value().task);
    }
    for (uint64_t i = 0; i < made; ++i)
        (void)ipc::sys::handle_close(g_handles[i]);
    if (!sleeper.is_error())
        (void)ipc::sys::handle_close(sleeper.value().task);

    // The kernel and the loader go on.
    auto hello = ipc::loader::spawn(user::ipc(), loader, "hello", 0);
    check(!hello.is_error(), "afterwards another program starts");
    if (!hello.is_error()) {
        auto status = ipc::loader::wait(hello.value().task);
        check(!status.is_error() && status.value().state == abi::TaskState::Exited && status.value().exit_status == 0,
            "and runs to its end");
        (void)ipc::sys::handle_close(hello.value().task);
    }
    return g_failures;
}

// ---- frames ----

// Grows the heap in halving steps until even one page is refused, each
// refusal checked to be kOverLimit. Returns the pages it got.
uint64_t grow_to_the_limit(uint64_t& heap)
{
    uint64_t got = 0;
    for (uint64_t step = 1u << 20; step > 0; step /= 2) {
        for (;;) {
            auto grown = ipc::memory::grow(user::ipc(), step);
            if (grown.is_error()) {
                if (grown.error() != ipc::memory::kOverLimit)
                    user::println("hostile_quota: Grow of {} pages after {} refused with: {}", step, got,
                        ipc::error_name(grown.error()));
                check(grown.error() == ipc::memory::kOverLimit, "Grow is refused with kOverLimit");
                break;
            }
            if (!got)
                heap = grown.value().old_end;
            got += step;
        }
    }
    return got;
}

int64_t frames()
{
    uint64_t heap = 0;
    uint64_t got = grow_to_the_limit(heap);
    // Room for its own stack from here on (a stack page beyond the limit
    // would kill it): give back a few pages.
    constexpr uint64_t kStackRoom = 16;
    check(got > kStackRoom && !ipc::memory::shrink(user::ipc(), kStackRoom).is_error(), "it may Shrink");
    got -= kStackRoom;
    auto limits = ipc::memory::limits(user::ipc());
    auto stats = ipc::memory::stats(user::ipc());
    check(!limits.is_error() && !stats.is_error(), "the memory service answers Limits and Stats");
    if (limits.is_error() || stats.is_error())
        return g_failures;
    user::println("hostile_quota: holds {} heap pages; limit {}, charged {}; {} frames free, {} promised",
        got, limits.value().limit, limits.value().charged, stats.value().free, stats.value().committed);
    check(limits.value().charged <= limits.value().limit, "it holds no more than its limit");
    check(limits.value().charged + kStackRoom == limits.value().limit, "Grow stopped exactly at the limit");
    check(stats.value().free > stats.value().committed, "frames are left for the others");
    // Its pages are real: a sample of them, touched, reads as zeros first.
    constexpr uint64_t kStride = 64;
    for (uint64_t page = 0; page < got; page += kStride) {
        auto* word = reinterpret_cast<volatile uint64_t*>(heap + page * abi::kPageSize);
        check(*word == 0, "a fresh heap page reads as zeros");
        *word = page;
    }
    user::debug_write("hostile_quota: holding its share of the frames");
    for (;;)
        user::sleep_ms(abi::kMaxSleepMs);
}

// One page of stack per level, each written (the fault maps it).
[[gnu::noinline]] uint64_t descend(uint64_t levels)
{
    volatile uint64_t page[abi::kPageSize / sizeof(uint64_t) - 16];
    page[0] = levels;
    page[sizeof(page) / sizeof(page[0]) - 1] = levels;
    if (levels == 0)
        return page[0];
    return descend(levels - 1) + page[sizeof(page) / sizeof(page[0]) - 1];
}

int64_t stack_hog()
{
    uint64_t heap = 0;
    (void)grow_to_the_limit(heap);
    // Well within the 20 MiB stack region, and far more than the limit
    // leaves (nothing): the first new page must kill it.
    constexpr uint64_t kLevels = 1024;
    uint64_t sum = descend(kLevels);
    user::println("hostile_quota: {} stack pages beyond its limit were mapped (sum {})", kLevels, sum);
    check(false, "a stack fault beyond the frame limit kills the task");
    return g_failures;
}

} // namespace

extern "C" int64_t herald_main(uint64_t argument)
{
    switch (argument & ((1u << kModeBits) - 1)) {
    case ModeFrames: return frames();
    case ModeStackHog: return stack_hog();
    default: break;
    }
    ipc::Handle loader = user::find_server("loader");
    check(loader != abi::HandleNone, "the loader is in the registry");
    if (loader == abi::HandleNone)
        return g_failures;
    uint64_t value = argument >> kModeBits;
    switch (argument & ((1u << kModeBits) - 1)) {
    case ModeBomb: return bomb(loader);
    case ModeChild: return child(loader);
    case ModeOrphans: return orphans(loader);
    case ModeParent: return parent(loader, value);
    case ModeTree: return tree(loader);
    case ModeNode: node(loader, value);
    case ModeNames: return names(loader);
    case ModeHolder: holder(value);
    case ModeHandles: return handles(loader);
    default: user::println("hostile_quota: unknown mode {}", argument); return 1;
    }
}
