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
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
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
};
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

} // namespace

extern "C" int64_t herald_main(uint64_t argument)
{
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
    default: user::println("hostile_quota: unknown mode {}", argument); return 1;
    }
}
