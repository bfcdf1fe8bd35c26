// loader_checks: the loader's answers, right and wrong (docs/system.md, "The loader").
// A corrupt archive entry, a missing program and a data file are refused
// with clear errors, and the loader goes on serving: good programs still
// start, run and report how they ended. Exits with the number of checks that
// failed (0: all right); each failure is printed.
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using namespace ipc::loader;

int64_t g_failures;

void check(bool condition, const char* what)
{
    if (!condition) {
        ++g_failures;
        user::println("loader_checks: FAILED: {}", what);
    }
}

bool refused_with(const char* program, ipc::Error expected, ipc::Handle loader)
{
    auto started = spawn(user::ipc(), loader, program, 0);
    return started.is_error() && started.error() == expected;
}

// Whether the loader's List shows `task_id` to this program.
bool listed(ipc::Client<Protocol>& client, uint64_t task_id)
{
    auto list = client.call<List>(ipc::Empty {});
    if (list.is_error())
        return false;
    auto* entries = reinterpret_cast<const herald::abi::TaskListEntry*>(list.value().data);
    for (size_t i = 0; i < list.value().length / sizeof(herald::abi::TaskListEntry); ++i) {
        if (entries[i].task_id == task_id)
            return true;
    }
    return false;
}

ipc::Result<herald::abi::TaskStatus> run(ipc::Handle loader, const char* program, uint64_t argument)
{
    auto started = IPC_TRY(spawn(user::ipc(), loader, program, argument));
    auto status = wait(started.task);
    (void)ipc::sys::handle_close(started.task);
    return status;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    ipc::Handle loader = user::find_server("loader");
    check(loader != herald::abi::HandleNone, "the loader is in the registry");
    if (loader == herald::abi::HandleNone)
        return g_failures;

    check(refused_with("broken_elf", kBadProgram, loader), "a truncated ELF file is kBadProgram");
    check(refused_with("init.manifest", kBadProgram, loader), "a data file is not a program");
    check(refused_with("no_such_program", ipc::Error::NotFound, loader), "a missing program is NotFound");
    check(refused_with("", ipc::Error::InvalidRequest, loader), "an empty name is InvalidRequest");

    auto hello = run(loader, "hello", 0);
    check(!hello.is_error() && hello.value().state == herald::abi::TaskState::Exited && hello.value().exit_status == 0,
        "hello runs after the refusals and exits 0");
    auto fault = run(loader, "fault_gp", 0);
    check(!fault.is_error() && fault.value().state == herald::abi::TaskState::Killed, "a faulting program is reported killed");

    auto spin = spawn(user::ipc(), loader, "spin", 0);
    check(!spin.is_error(), "spin starts");
    if (!spin.is_error()) {
        ipc::Client<Protocol> client(user::ipc(), loader);
        check(listed(client, spin.value().task_id), "List shows a task this program started");
        check(!client.call<Kill>({ spin.value().task_id }).is_error(), "Kill ends a task the loader started");
        auto status = wait(spin.value().task);
        check(!status.is_error() && status.value().state == herald::abi::TaskState::Killed, "the killed task is reported killed");
    }
    ipc::Client<Protocol> client(user::ipc(), loader);
    auto bogus_kill = client.call<Kill>({ 999'999 });
    check(bogus_kill.is_error() && bogus_kill.error() == ipc::Error::NotFound, "Kill of an unknown id is NotFound");

    auto manifest = client.call<ReadFile>(make_name("init.manifest").value());
    check(!manifest.is_error() && manifest.value().length > 0 && manifest.value().data[0] == '#', "ReadFile gives init.manifest");
    auto not_a_file = client.call<ReadFile>(make_name("hello").value());
    check(not_a_file.is_error(), "ReadFile refuses a program");

    // The kernel started this program, not the loader for it: List shows
    // a caller only the tasks it asked the loader for.
    herald::abi::SelfInfo self {};
    (void)user::syscall1(user::number_of(herald::abi::SyscallNumber::SelfInfo), reinterpret_cast<uint64_t>(&self));
    check(!client.call<List>(ipc::Empty {}).is_error(), "List answers");
    check(!listed(client, self.task_id), "List does not show this program");
    return g_failures;
}
