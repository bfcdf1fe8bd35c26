// hostile_authority: a hostile program that tries the authority holes of
// issue 13 (docs/security.md) and checks that each attempt now fails with a
// clear error while the system goes on working. The self-tests
// (tests/insystem/system_tests.cpp) run it once per hole; its argument is the
// mode in the low byte and a value above it. Exits with the number of checks
// that failed (0: every attack was refused); each failure is printed.
//
//   kill      starts `spin` through the loader, then a copy of itself (mode
//             kill_other) that tries to kill it: the loader's Kill by id,
//             Kill through a loader handle minted with its starter's badge,
//             TaskList without a handle, the loader's List (which must
//             not show the victim), and ServerTask (the console's and the
//             loader's task handles) without SystemControl. The victim must still run; its starter
//             may then kill it, by id and through the task handle.
//   badges    minting a badge onto an unbadged handle without RightMint,
//             re-badging a badged handle, and a badge on the registry handle.
//   registry  squatting a reserved name, filling the table, reserving a
//             name without being init; a name whose owner ended is free
//             again; another program can still publish and look up.
//   unbadged  looks up `loader` (published with RightMint) through an
//             unbadged registry handle, which the self-test gives it at
//             abi::HandleFirstFree (badge 0: "nobody named"), and tries to
//             badge the copy it got as another task: NoRights (the
//             registry used to hand out the published handle itself, mint
//             right and all); the copy still reaches the loader.
//   copy_init asks the loader to start `init`, whose copy would reserve the
//             manifest's names for its own copies of the servers: Denied
//             (only the kernel starts init). Its value is the task the
//             self-test knows init started for `fat`: the registry's
//             ReservedFor("fat") must still name it, also after the
//             self-test started a copy of init itself, past the loader
//             (the registry takes Reserve only from the init that
//             reserved first). The self-test
//             alone_a_copy_of_fat_cannot_take_the_disk_from_inits runs it.
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/registry.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::number_of;

enum Mode : uint64_t {
    ModeKill = 1,
    ModeKillOther = 2, // value: the victim's task id, and its starter's above kIdBits
    ModeBadges = 3,
    ModeRegistry = 4,
    ModePublishAndExit = 5,
    ModePublishOne = 6,
    ModeUnbadgedLookup = 7,
    ModeCopyOfInit = 8, // value: the task init started for `fat`
};
constexpr uint64_t kModeBits = 8;
constexpr uint64_t kIdBits = 28; // task ids count up from 1: far below 2^28 in any test run
constexpr uint64_t argument(Mode mode, uint64_t value = 0) { return mode | value << kModeBits; }

constexpr const char* kGoneName = "hostile_gone";
constexpr const char* kOtherName = "hostile_other";

int64_t g_failures;

void check(bool condition, const char* what)
{
    if (!condition) {
        ++g_failures;
        user::println("hostile_authority: FAILED: {}", what);
    }
}

bool is(const ipc::Result<ipc::Empty>& result, ipc::Error expected) { return result.is_error() && result.error() == expected; }
bool is(const ipc::Result<void>& result, ipc::Error expected) { return result.is_error() && result.error() == expected; }

uint64_t my_id()
{
    abi::SelfInfo info {};
    (void)user::syscall1(number_of(abi::SyscallNumber::SelfInfo), reinterpret_cast<uint64_t>(&info));
    return info.task_id;
}

bool still_running(ipc::Handle task)
{
    auto status = ipc::loader::info(task);
    return !status.is_error() && status.value().state == abi::TaskState::Running;
}

// Whether the loader's List, asked through `loader`, shows `task_id`.
bool listed(ipc::Handle loader, uint64_t task_id)
{
    auto list = ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::List>(ipc::Empty {});
    if (list.is_error())
        return false;
    auto* entries = reinterpret_cast<const abi::TaskListEntry*>(list.value().data);
    for (size_t i = 0; i < list.value().length / sizeof(abi::TaskListEntry); ++i) {
        if (entries[i].task_id == task_id)
            return true;
    }
    return false;
}

ipc::Result<ipc::Empty> kill_by_id(ipc::Handle loader, uint64_t task_id)
{
    return ipc::Client<ipc::loader::Protocol>(user::ipc(), loader).call<ipc::loader::Kill>({ task_id });
}

// Runs a copy of this program in `mode` through the loader; its exit status.
int64_t run_copy(ipc::Handle loader, uint64_t copy_argument)
{
    auto copy = ipc::loader::spawn(user::ipc(), loader, "hostile_authority", copy_argument);
    if (copy.is_error())
        return -1;
    auto status = ipc::loader::wait(copy.value().task);
    (void)ipc::sys::handle_close(copy.value().task);
    if (status.is_error() || status.value().state != abi::TaskState::Exited)
        return -1;
    return status.value().exit_status;
}

int64_t kill_attack()
{
    ipc::Handle loader = user::find_server("loader");
    check(loader != abi::HandleNone, "the loader is in the registry");
    if (loader == abi::HandleNone)
        return g_failures;
    auto victim = ipc::loader::spawn(user::ipc(), loader, "spin", 0);
    check(!victim.is_error(), "the victim (spin) starts");
    if (victim.is_error())
        return g_failures;
    uint64_t victim_id = victim.value().task_id;
    check(listed(loader, victim_id), "List shows the starter its own task");

    check(run_copy(loader, argument(ModeKillOther, victim_id | my_id() << kIdBits)) == 0,
        "the other program's attacks all fail");
    check(still_running(victim.value().task), "the victim still runs after the attacks");

    // Its starter may end it: by id through the loader...
    check(!kill_by_id(loader, victim_id).is_error(), "the starter kills its task by id");
    auto status = ipc::loader::wait(victim.value().task);
    check(!status.is_error() && status.value().state == abi::TaskState::Killed, "the victim is reported killed");
    // ...or, for another one, through the task handle Spawn gave it.
    auto second = ipc::loader::spawn(user::ipc(), loader, "spin", 0);
    check(!second.is_error(), "a second spin starts");
    if (!second.is_error()) {
        check(user::syscall1(number_of(abi::SyscallNumber::TaskKill), second.value().task) == 0,
            "the starter kills its task through the task handle");
        auto ended = ipc::loader::wait(second.value().task);
        check(!ended.is_error() && ended.value().state == abi::TaskState::Killed, "the second spin is reported killed");
        (void)ipc::sys::handle_close(second.value().task);
    }
    (void)ipc::sys::handle_close(victim.value().task);
    return g_failures;
}

// A program that did not start `victim_id` tries every way to end it.
int64_t kill_other(uint64_t victim_id, uint64_t starter_id)
{
    ipc::Handle loader = user::find_server("loader");
    check(loader != abi::HandleNone, "the loader is in the registry");
    if (loader == abi::HandleNone)
        return g_failures;
    check(is(kill_by_id(loader, victim_id), ipc::Error::Denied), "Kill of another program's task is Denied");

    // Pretend to be the starter: a loader handle with its badge.
    auto forged = ipc::sys::handle_mint(loader, abi::RightSend, starter_id);
    check(forged.is_error() && forged.error() == ipc::Error::NoRights, "minting the starter's badge is NoRights");
    if (!forged.is_error())
        check(kill_by_id(forged.value(), victim_id).is_error(), "Kill through a forged badge fails");

    // Find the ids of everybody: TaskList as it was called before it needed a handle...
    abi::TaskListEntry entries[8];
    int64_t old_list = user::syscall2(number_of(abi::SyscallNumber::TaskList), reinterpret_cast<uint64_t>(entries), 8);
    check(old_list < 0, "TaskList without a handle fails");
    // ...and with a handle that is not SystemControl.
    int64_t wrong_handle = user::syscall3(number_of(abi::SyscallNumber::TaskList), abi::HandleRegistry,
        reinterpret_cast<uint64_t>(entries), 8);
    check(wrong_handle == static_cast<int64_t>(abi::SyscallError::BadHandle), "TaskList with an endpoint handle is BadHandle");
    check(!listed(loader, victim_id), "the loader's List does not show another program's task");
    check(!listed(loader, starter_id), "the loader's List does not show the program that started us");
    // The console's and the loader's task handles are the supervisor's (ServerTask needs
    // SystemControl with the send right): not through an endpoint, nor a handle we do not hold.
    const uint64_t not_system_control[] = { abi::HandleRegistry, abi::HandleMemory, 200 };
    for (uint64_t handle : not_system_control) {
        for (uint64_t server = 0; server < abi::kBootServers; ++server) {
            int64_t task = user::syscall3(number_of(abi::SyscallNumber::ServerTask), handle, server,
                static_cast<uint64_t>(abi::ServerTaskMode::Current));
            check(task == static_cast<int64_t>(abi::SyscallError::BadHandle), "ServerTask without SystemControl is BadHandle");
        }
    }
    return g_failures;
}

int64_t badges()
{
    using ipc::sys::handle_mint;
    auto endpoint = ipc::sys::endpoint_create();
    check(!endpoint.is_error(), "an endpoint of our own");
    if (endpoint.is_error())
        return g_failures;
    auto send_only = handle_mint(endpoint.value(), abi::RightSend, 0);
    check(!send_only.is_error(), "an unbadged send-only copy");
    auto badged = handle_mint(endpoint.value(), abi::RightSend, 42);
    check(!badged.is_error(), "the endpoint's creator may badge a copy");
    if (!send_only.is_error()) {
        auto forged = handle_mint(send_only.value(), abi::RightSend, 42);
        check(forged.is_error() && forged.error() == ipc::Error::NoRights,
            "a badge on an unbadged handle without RightMint is NoRights");
    }
    if (!badged.is_error()) {
        auto rebadged = handle_mint(badged.value(), abi::RightSend, 43);
        check(rebadged.is_error() && rebadged.error() == ipc::Error::NoRights, "another badge on a badged handle is NoRights");
        auto same = handle_mint(badged.value(), abi::RightSend, 0);
        check(!same.is_error(), "a copy of a badged handle keeps its badge");
    }
    auto registry = handle_mint(abi::HandleRegistry, abi::RightSend, 1);
    check(registry.is_error() && registry.error() == ipc::Error::NoRights, "a badge on the registry handle is NoRights");
    return g_failures;
}

int64_t unbadged_lookup()
{
    constexpr ipc::Handle kUnbadgedRegistry = abi::HandleFirstFree;
    constexpr uint64_t kSomeoneElse = 1; // a badge that is not ours
    auto loader = ipc::registry::lookup(user::ipc(), kUnbadgedRegistry, "loader");
    check(!loader.is_error(), "the loader is found through an unbadged registry handle");
    if (loader.is_error())
        return g_failures;
    auto forged = ipc::sys::handle_mint(loader.value(), abi::RightSend, kSomeoneElse);
    check(forged.is_error() && forged.error() == ipc::Error::NoRights,
        "badging the copy the registry gave a caller with badge 0 is NoRights");
    ipc::Client<ipc::loader::Protocol> client(user::ipc(), loader.value());
    check(!client.call<ipc::loader::List>({}).is_error(), "the copy still reaches the loader");
    return g_failures;
}

ipc::Result<void> publish(const char* name)
{
    auto endpoint = IPC_TRY(ipc::sys::endpoint_create());
    auto send_only = IPC_TRY(ipc::sys::handle_mint(endpoint, abi::RightSend, 0));
    return ipc::registry::publish(user::ipc(), abi::HandleRegistry, name, send_only);
}

int64_t registry_attack()
{
    ipc::Handle loader = user::find_server("loader");
    check(loader != abi::HandleNone, "the loader is in the registry");
    if (loader == abi::HandleNone)
        return g_failures;

    // Squat the names of the system's servers, bound or not yet.
    constexpr const char* kSystemNames[] = { "memory", "registry", "console", "loader" };
    for (const char* name : kSystemNames)
        check(is(publish(name), ipc::registry::kReserved), "a system name is kReserved");
    // Reserve a name as if we were init.
    ipc::Client<ipc::registry::Protocol> registry(user::ipc(), abi::HandleRegistry);
    check(is(registry.call<ipc::registry::Reserve>({ ipc::registry::make_name("hostile_x").value(), my_id() }), ipc::Error::Denied),
        "Reserve from a program that is not init is Denied");

    // A name whose owner ended is free again.
    check(run_copy(loader, argument(ModePublishAndExit)) == 0, "a copy publishes a name and exits");
    check(!publish(kGoneName).is_error(), "the name of a program that ended can be taken");

    // Fill the table: the per-task limit stops us.
    size_t published = 1; // kGoneName
    ipc::Result<void> last {};
    char name[ipc::registry::kNameSize] = "hostile_00";
    for (size_t i = 0; i < ipc::registry::kMaxEntries && !last.is_error(); ++i) {
        name[8] = static_cast<char>('0' + i / 10);
        name[9] = static_cast<char>('0' + i % 10);
        last = publish(name);
        published += !last.is_error();
    }
    check(published == ipc::registry::kMaxNamesPerTask, "a program publishes kMaxNamesPerTask names");
    check(is(last, ipc::registry::kTooManyNames), "then kTooManyNames");

    // The system goes on: another program publishes, and the servers are found.
    check(run_copy(loader, argument(ModePublishOne)) == 0, "another program can still publish");
    const char* servers[] = { "loader", "console", kOtherName };
    for (const char* server : servers) {
        auto found = ipc::registry::lookup(user::ipc(), abi::HandleRegistry, server);
        check(!found.is_error() || (found.error() == ipc::Error::NotFound && server == kOtherName),
            "the servers are still found by name");
        if (!found.is_error())
            (void)ipc::sys::handle_close(found.value());
    }
    return g_failures;
}

int64_t copy_of_init(uint64_t inits_fat)
{
    ipc::Handle loader = user::find_server("loader");
    check(loader != abi::HandleNone, "the loader is in the registry");
    if (loader == abi::HandleNone)
        return g_failures;
    auto copy = ipc::loader::spawn(user::ipc(), loader, "init", 0);
    check(copy.is_error() && copy.error() == ipc::Error::Denied, "the loader refuses to start init");
    if (!copy.is_error()) { // it started: end it before it reserves anything more
        (void)user::syscall1(number_of(abi::SyscallNumber::TaskKill), copy.value().task);
        (void)ipc::sys::handle_close(copy.value().task);
    }
    auto fat = ipc::Client<ipc::registry::Protocol>(user::ipc(), abi::HandleRegistry)
                   .call<ipc::registry::ReservedFor>(ipc::registry::make_name("fat").value());
    check(!fat.is_error() && fat.value().task_id == inits_fat, "ReservedFor(\"fat\") still names init's fat");
    if (!fat.is_error() && fat.value().task_id != inits_fat)
        user::println("hostile_authority: ReservedFor(\"fat\") names task {}, init's fat is task {}",
            fat.value().task_id, inits_fat);
    return g_failures;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t value = parameter >> kModeBits;
    switch (parameter & ((1u << kModeBits) - 1)) {
    case ModeKill: return kill_attack();
    case ModeKillOther: return kill_other(value & ((1ull << kIdBits) - 1), value >> kIdBits);
    case ModeBadges: return badges();
    case ModeRegistry: return registry_attack();
    case ModePublishAndExit: return publish(kGoneName).is_error() ? 1 : 0;
    case ModePublishOne: return publish(kOtherName).is_error() ? 1 : 0;
    case ModeUnbadgedLookup: return unbadged_lookup();
    case ModeCopyOfInit: return copy_of_init(value);
    default: user::println("hostile_authority: unknown mode {}", parameter); return 1;
    }
}
