// shell: the operator's console (docs/system.md, "The shell"). init starts it, with
// SystemControl (for `shutdown`); it reads lines from the console server,
// with echo and editing (line_editor.hpp), and runs one command per line
// (command.hpp parses it). Input typed ahead, also while a program runs,
// waits in order (session.hpp); Ctrl-D (the end of piped or --exec input)
// runs what was read and powers off, with the session's status: the first
// failed command's, or 0.
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/clock.hpp"
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/reconnecting_client.hpp"
#include "command.hpp"
#include "files.hpp"
#include "line_editor.hpp"
#include "microkernel/abi/task.hpp"
#include "servers/pci/pci_config.hpp"
#include "servers/pci/pci_protocol.hpp"
#include "session.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/task_status.hpp"

namespace {

using namespace herald;
using user::println;

static_assert(shell::kMaxProgramName + 1 == ipc::loader::kNameSize, "the parser takes the names the loader takes");

constexpr size_t kMaxTasksListed = ipc::kMaxPayload / sizeof(abi::TaskListEntry);

// The loader, found again if it is restarted; a ping before each Spawn or
// Kill, so that a loader restarted since the last command is found first.
ipc::ReconnectingClient<ipc::loader::Protocol>& loader()
{
    static ipc::ReconnectingClient<ipc::loader::Protocol> client(user::ipc(), abi::HandleRegistry, "loader");
    client.ping_before_unsafe_calls(true);
    return client;
}
abi::TaskListEntry g_tasks[kMaxTasksListed];
shell::TypeAhead g_typed;
shell::Session g_session;

using shell::kStatusFailed;
using shell::kStatusNotFound;
using shell::kStatusNotRunnable;
using shell::kStatusOk;
using shell::kStatusUsage;

const char* state_name(abi::TaskState state)
{
    switch (state) {
    case abi::TaskState::Building: return "building";
    case abi::TaskState::Running: return "running";
    case abi::TaskState::Exited: return "exited";
    case abi::TaskState::Killed: return "killed";
    }
    return "?";
}

abi::SelfInfo self_info()
{
    abi::SelfInfo info {};
    (void)user::self_info(&info);
    return info;
}

int help()
{
    println("commands:");
    println("  help              this list");
    println("  ps                tasks: id, state, CPU, name");
    println("  mem               frames by kind (the memory server's frame table)");
    println("  cpus              CPUs online");
    println("  pci               PCI functions: bus:device.function, vendor:device, class, who holds each");
    println("  date              the date and time from the real-time clock (the rtc driver)");
    println("  run NAME [ARG]    start a program from the boot archive (/disk/NAME: from the disk) and wait for it (Ctrl-C kills it)");
    println("  start NAME [ARG]  start a program and come back at once");
    println("  kill ID           end a task started from here (run, start), or this shell");
    println("  bench             a few measurements (cycles: meaningful under KVM only)");
    println("  shutdown          power off (Ctrl-D too: the end of input)");
    shell::print_file_help();
    return kStatusOk;
}

int ps()
{
    // SystemControl (from init) is what lets the operator's shell see every task.
    int64_t count = user::syscall3(user::number_of(abi::SyscallNumber::TaskList), abi::kSystemControlHandle,
        reinterpret_cast<uint64_t>(g_tasks), kMaxTasksListed);
    if (count < 0) {
        println("ps: {}", ipc::error_name(static_cast<ipc::Error>(count)));
        return kStatusFailed;
    }
    println("   ID  STATE     CPU  NAME");
    for (int64_t i = 0; i < count; ++i) {
        const abi::TaskListEntry& t = g_tasks[i];
        println("{:5}  {:<8}  {:3}  {}", t.task_id, state_name(t.state), t.cpu, StringView::from_bounded(t.name, sizeof(t.name)));
    }
    return kStatusOk;
}

int mem()
{
    auto stats = ipc::memory::stats(user::ipc());
    if (stats.is_error()) {
        println("mem: {}", ipc::error_name(stats.error()));
        return kStatusFailed;
    }
    const auto& s = stats.value();
    constexpr uint64_t kFramesPerMiB = 256;
    println("frames (4 KiB)   count      MiB");
    println("free         {:9} {:8}", s.free, s.free / kFramesPerMiB);
    println("stack        {:9} {:8}", s.stack, s.stack / kFramesPerMiB);
    println("heap         {:9} {:8}", s.heap, s.heap / kFramesPerMiB);
    println("kernel       {:9} {:8}   (the frame table itself)", s.kernel, s.kernel / kFramesPerMiB);
    println("managed      {:9} {:8}", s.managed, s.managed / kFramesPerMiB);
    println("promised to heaps, not yet mapped: {} frames; tasks with a heap: {}", s.committed, s.tasks);
    return kStatusOk;
}

int cpus()
{
    abi::SelfInfo info = self_info();
    println("{} CPUs online; this shell runs on CPU {}", info.cpu_count, info.cpu_index);
    return kStatusOk;
}

// Every function the PCI server found, and the driver holding it.
int pci_list()
{
    ipc::Handle server = user::find_server("pci");
    if (server == abi::HandleNone) {
        println("pci: no pci server in the registry");
        return kStatusFailed;
    }
    ipc::Client<pci::Protocol> client(user::ipc(), server);
    println("BB:DD.F  VEND:DEV   CLASS  IRQ  HOLDER");
    for (uint64_t index = 0;; ++index) {
        auto f = client.call<pci::List>({ index });
        if (f.is_error()) {
            (void)ipc::sys::handle_close(server);
            if (f.error() == ipc::Error::NotFound)
                return kStatusOk;
            println("pci: {}", ipc::error_name(f.error()));
            return kStatusFailed;
        }
        const pci::List::Reply& r = f.value();
        user::printf("{:02x}:{:02x}.{}  {:04x}:{:04x}  {:02x}{:02x}   {:3}  ", unsigned(r.bus), unsigned(r.device),
            unsigned(r.function), unsigned(r.vendor), unsigned(r.device_id), unsigned(r.class_code), unsigned(r.subclass),
            unsigned(r.irq_pin ? r.irq_line : 0));
        if (r.holder)
            println("task {} ({})", r.holder, pci::class_name(r.class_code));
        else
            println("- ({})", pci::class_name(r.class_code));
    }
}

// The real-time clock's date and time, from the rtc driver
// (libipc/protocols/clock.hpp): "2026-11-28 21:47:36 (rtc: 12 updates)".
int date()
{
    ipc::Handle server = user::find_server("rtc");
    if (server == abi::HandleNone) {
        println("date: no rtc server in the registry");
        return kStatusFailed;
    }
    ipc::Client<ipc::clock::Protocol> clock(user::ipc(), server);
    auto now = clock.call<ipc::clock::Now>({});
    (void)ipc::sys::handle_close(server);
    if (now.is_error()) {
        if (now.error() == ipc::clock::kInvalidTime)
            println("date: the clock holds no valid date (the rtc driver's log line says why)");
        else if (now.error() == ipc::clock::kBusy)
            println("date: the clock's registers never held still");
        else
            println("date: {}", ipc::error_name(now.error()));
        return kStatusFailed;
    }
    const auto& t = now.value();
    println("{:04}-{:02}-{:02} {:02}:{:02}:{:02} (rtc: {} updates)", t.year, t.month, t.day, t.hour, t.minute, t.second, t.updates);
    return kStatusOk;
}

// "hello (task 7) exited with status 0", "fault_pf (task 8) was killed by
// #PF page fault (status -1014)" (user/runtime/task_status.hpp).
void report_end(const char* name, const abi::TaskStatus& status)
{
    user::printf("{} (task {}) ", name, status.task_id);
    user::ConsoleSink sink;
    user::describe_end(sink, status);
    println("");
}

constexpr uint64_t kPollMs = 20;
constexpr size_t kReadChunk = 64;

using ipc::loader::has_ended;

// Reads what the console holds into the type-ahead queue, as far as it has
// room, without waiting.
void read_ahead()
{
    char typed[kReadChunk];
    size_t want = g_typed.room() < sizeof(typed) ? g_typed.room() : sizeof(typed);
    while (want > 0) {
        size_t count = user::read_input_now(typed, want);
        g_typed.push(typed, count);
        if (count < want)
            return;
        want = g_typed.room() < sizeof(typed) ? g_typed.room() : sizeof(typed);
    }
}

// Waits for a program `run` started, reading input meanwhile: Ctrl-C kills
// the program; everything else waits in the type-ahead queue for the lines
// after this one.
ipc::Result<abi::TaskStatus> wait_or_interrupt(const ipc::loader::Task& task)
{
    bool interrupted = false;
    for (;;) {
        abi::TaskStatus status {};
        if (has_ended(task.task, status))
            return status;
        read_ahead();
        if (!interrupted && g_typed.take_interrupt()) {
            interrupted = true;
            println("^C");
            (void)loader().call<ipc::loader::Kill>({ task.task_id });
        }
        (void)user::sleep_ms(kPollMs);
    }
}

// Starts `program` with `argument`; waits for it when `wait`.
int run(const char* program, uint64_t argument, bool wait)
{
    auto started = ipc::loader::spawn_through(loader(), program, argument);
    if (started.is_error()) {
        bool bad = started.error() == ipc::loader::kBadProgram;
        println("run: cannot start {}: {}", program, ipc::loader::error_text(started.error()));
        return bad ? kStatusNotRunnable : started.error() == ipc::Error::NotFound ? kStatusNotFound : kStatusFailed;
    }
    if (!wait) {
        println("started {} as task {}", program, started.value().task_id);
        (void)ipc::sys::handle_close(started.value().task);
        return kStatusOk;
    }
    auto status = wait_or_interrupt(started.value());
    (void)ipc::sys::handle_close(started.value().task);
    if (status.is_error()) {
        println("run: lost {}: {}", program, ipc::error_name(status.error()));
        return kStatusFailed;
    }
    report_end(program, status.value());
    return shell::status_of_end(status.value());
}

int kill(uint64_t id)
{
    auto killed = loader().call<ipc::loader::Kill>({ id });
    if (killed.is_error()) {
        const char* why = killed.error() == ipc::Error::NotFound ? "no task of that id was started through the loader"
            : killed.error() == ipc::Error::Denied                 ? "not started from this shell"
                                                                   : ipc::error_name(killed.error());
        println("kill: {}: {}", id, why);
        return kStatusFailed;
    }
    return kStatusOk;
}

// Runs a benchmark program to its end; it exits with (median << 32) | minimum.
bool bench_program(const char* figure, const char* program, uint64_t argument)
{
    auto started = ipc::loader::spawn_through(loader(), program, argument);
    if (started.is_error()) {
        println("bench: {} failed: {}", figure, ipc::loader::error_text(started.error()));
        return false;
    }
    auto status = ipc::loader::wait(started.value().task);
    (void)ipc::sys::handle_close(started.value().task);
    if (status.is_error() || status.value().state != abi::TaskState::Exited || status.value().exit_status < 0) {
        println("bench: {} failed", figure);
        return false;
    }
    uint64_t packed = static_cast<uint64_t>(status.value().exit_status);
    println("bench: {} median={} min={} unit=cycles", figure, packed >> 32, packed & 0xFFFF'FFFF);
    return true;
}

uint64_t cycles()
{
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (static_cast<uint64_t>(high) << 32) | low;
}

int bench()
{
    println("bench: cycles mean something only under KVM");
    bool ok = bench_program("null_syscall", "bench_syscall", 0);
    ok = bench_program("page_fault", "bench_page_fault", 1024) && ok;
    constexpr int kRounds = 21;
    uint64_t samples[kRounds];
    for (int i = 0; i < kRounds; ++i) {
        uint64_t start = cycles();
        auto started = ipc::loader::spawn_through(loader(), "exit_at_once", 0);
        if (started.is_error()) {
            println("bench: spawn_to_exit failed: {}", ipc::error_name(started.error()));
            return kStatusFailed;
        }
        (void)ipc::loader::wait(started.value().task);
        samples[i] = cycles() - start;
        (void)ipc::sys::handle_close(started.value().task);
    }
    for (int i = 1; i < kRounds; ++i) // insertion sort: 21 samples
        for (int j = i; j > 0 && samples[j - 1] > samples[j]; --j) {
            uint64_t t = samples[j];
            samples[j] = samples[j - 1];
            samples[j - 1] = t;
        }
    uint64_t per_us = self_info().tsc_per_ms / 1000;
    println("bench: spawn_to_exit median={} min={} unit=cycles ({} us median)", samples[kRounds / 2], samples[0],
        per_us ? samples[kRounds / 2] / per_us : 0);
    return ok ? kStatusOk : kStatusFailed;
}

// Ends the session: its status first (./herald run --exec reads this line
// and exits with N), then the power. Returns only if the power stays on.
int shutdown()
{
    if (g_session.status() == kStatusOk)
        println("shell: powering off: status 0 (every command succeeded)");
    else
        println("shell: powering off: status {} (the first to fail: {})", g_session.status(), g_session.first_failure());
    user::flush();
    int64_t result = user::syscall1(user::number_of(abi::SyscallNumber::SystemShutdown), abi::kSystemControlHandle);
    println("shutdown: {} (this shell was not given SystemControl)", ipc::error_name(static_cast<ipc::Error>(result)));
    return kStatusFailed;
}

// Runs one line; returns its status, or -1 for an empty line (no command).
int execute(const char* line)
{
    shell::Command command = shell::parse_command(line);
    switch (command.kind) {
    case shell::CommandKind::None: return -1;
    case shell::CommandKind::Help: return help();
    case shell::CommandKind::Ps: return ps();
    case shell::CommandKind::Mem: return mem();
    case shell::CommandKind::Cpus: return cpus();
    case shell::CommandKind::Pci: return pci_list();
    case shell::CommandKind::Date: return date();
    case shell::CommandKind::Run: return run(command.program, command.argument, true);
    case shell::CommandKind::Start: return run(command.program, command.argument, false);
    case shell::CommandKind::Kill: return kill(command.argument);
    case shell::CommandKind::Bench: return bench();
    case shell::CommandKind::Shutdown: return shutdown();
    case shell::CommandKind::Invalid: println("{}", command.problem); return kStatusUsage;
    case shell::CommandKind::Unknown: break;
    }
    if (int status = 0; shell::run_file_command(line, status))
        return status;
    println("unknown command: {} (type help)", StringView(command.word.text, command.word.length));
    return kStatusNotFound;
}

void execute_and_record(const char* line)
{
    int status = execute(line);
    if (status >= 0)
        g_session.record(status, line);
}

shell::LineEditor g_editor;

// The next input byte, waiting for one; false if there is no console.
bool next_byte(uint8_t& byte)
{
    if (g_typed.count() == 0) {
        char typed[kReadChunk];
        size_t count = user::read_input(typed, sizeof(typed));
        if (count == 0)
            return false;
        g_typed.push(typed, count);
    }
    return g_typed.pop(byte);
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    println("Herald shell, {} ms after boot. Type help.", self_info().uptime_ms);
    for (;;) {
        user::echo("herald> ");
        for (;;) {
            uint8_t byte;
            if (!next_byte(byte)) {
                println("shell: no console input; stopping");
                return 1;
            }
            char echo[shell::LineEditor::kMaxEcho];
            size_t echo_length = 0;
            auto event = g_editor.feed(byte, echo, sizeof(echo), echo_length);
            user::echo(StringView(echo, echo_length));
            if (event == shell::LineEditor::Event::LineReady) {
                execute_and_record(g_editor.line());
                break;
            }
            if (event == shell::LineEditor::Event::EndOfInput) {
                execute_and_record(g_editor.line());
                (void)shutdown(); // returns only without SystemControl: then the shell ends
                return g_session.status();
            }
            if (event == shell::LineEditor::Event::Cancelled)
                break;
        }
    }
}
