// init: starts the system's programs from init.manifest (in the boot
// archive) through the loader, in order, and looks after them: a program
// marked `restart` is started again when it ends (at most kMaxRestarts times
// in kRestartWindowMs), one marked `halt` powers the machine off when it
// ends, `wait` makes init wait for it before the next line (docs/system.md, "init").
// Before it starts anything it reserves each program's name in the registry,
// so that only a task of that program may publish under it, and once it has
// started one, only that task (docs/security.md).
// The kernel gives init SystemControl; init hands it on to the shell only
// (the operator's console, whose `shutdown` needs it).
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/registry.hpp"
#include "manifest.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/task_status.hpp"

namespace {

using namespace herald;
using init::Manifest;
using init::OnExit;

constexpr uint64_t kSuperviseEveryMs = 50;
constexpr size_t kMaxErrors = 8;

struct Running {
    ipc::Handle task { abi::HandleNone };
    uint64_t task_id { 0 };
    init::RestartBudget budget {};
};

Manifest g_manifest;
Running g_running[init::kMaxEntries];
ipc::Handle g_loader;
uint64_t g_now_ms; // init's own clock: the sleeps it has slept

// Makes `name` a system name in the registry: for `task_id`, or for any task
// of that program while it is 0.
void reserve(const char* name, uint64_t task_id)
{
    auto wire = ipc::registry::make_name(name);
    auto reserved = wire.is_error()
        ? ipc::Result<ipc::Empty>(wire.error())
        : ipc::Client<ipc::registry::Protocol>(user::ipc(), abi::HandleRegistry)
              .call<ipc::registry::Reserve>({ wire.value(), task_id });
    if (reserved.is_error())
        user::println("init: cannot reserve the name {}: {}", name, ipc::error_name(reserved.error()));
}

bool start(size_t index)
{
    const init::ManifestEntry& entry = g_manifest[index];
    if (entry.on_exit == OnExit::Never)
        return false; // a line of grants only
    bool is_shell = user::strcmp(entry.name, "shell") == 0;
    auto started = ipc::loader::spawn(user::ipc(), g_loader, entry.name, entry.argument,
        is_shell ? abi::kSystemControlHandle : abi::HandleNone);
    if (started.is_error()) {
        user::println("init: cannot start {}: {}", entry.name, ipc::error_name(started.error()));
        return false;
    }
    g_running[index].task = started.value().task;
    g_running[index].task_id = started.value().task_id;
    reserve(entry.name, started.value().task_id); // its name is this task's now
    return true;
}

using ipc::loader::has_ended;

// "init: NAME exited with status 0" or "init: NAME was killed by #PF page
// fault (status -1014)", then `then`.
void report_end(const char* name, const abi::TaskStatus& status, const char* then)
{
    user::printf("init: {} ", name);
    user::ConsoleSink sink;
    user::describe_end(sink, status);
    user::println("{}", then);
}

void supervise(size_t index)
{
    Running& running = g_running[index];
    abi::TaskStatus status {};
    if (running.task == abi::HandleNone || !has_ended(running.task, status))
        return;
    const init::ManifestEntry& entry = g_manifest[index];
    (void)ipc::sys::handle_close(running.task);
    running.task = abi::HandleNone;
    switch (entry.on_exit) {
    case OnExit::Ignore:
    case OnExit::Never: return;
    case OnExit::Halt:
        report_end(entry.name, status, ": powering off");
        user::flush();
        (void)user::syscall1(user::number_of(abi::SyscallNumber::SystemShutdown), abi::kSystemControlHandle);
        return;
    case OnExit::Restart:
        if (!running.budget.allow_restart(g_now_ms)) {
            user::println("init: {} keeps ending; not starting it again", entry.name);
            return;
        }
        report_end(entry.name, status, "; starting it again");
        start(index);
        return;
    }
}

bool read_manifest()
{
    ipc::Client<ipc::loader::Protocol> loader(user::ipc(), g_loader);
    auto name = ipc::loader::make_name("init.manifest");
    auto text = loader.call<ipc::loader::ReadFile>(name.value());
    if (text.is_error()) {
        user::println("init: no init.manifest: {}", ipc::error_name(text.error()));
        return false;
    }
    init::ManifestError errors[kMaxErrors];
    size_t error_count = init::parse_manifest(reinterpret_cast<const char*>(text.value().data), text.value().length,
        g_manifest, errors, kMaxErrors);
    for (size_t i = 0; i < error_count && i < kMaxErrors; ++i)
        user::println("init: init.manifest line {}: {} (line skipped)", errors[i].line, errors[i].reason);
    return true;
}

// The manifest's names become system names: a program started later cannot
// publish under them before (or instead of) the server init starts.
void reserve_names()
{
    for (size_t i = 0; i < g_manifest.count(); ++i)
        reserve(g_manifest[i].name, 0);
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    g_loader = user::find_server("loader");
    if (g_loader == abi::HandleNone) {
        user::println("init: no loader in the registry: nothing to start");
        return 1;
    }
    if (!read_manifest())
        return 1;
    reserve_names();
    for (size_t i = 0; i < g_manifest.count(); ++i) {
        if (!start(i) || !g_manifest[i].wait)
            continue;
        (void)ipc::loader::wait(g_running[i].task);
        supervise(i);
    }
    for (;;) {
        (void)user::sleep_ms(kSuperviseEveryMs);
        g_now_ms += kSuperviseEveryMs;
        for (size_t i = 0; i < g_manifest.count(); ++i)
            supervise(i);
    }
}
