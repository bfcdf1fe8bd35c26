// shell: the operator's console (docs/system.md, "The shell"). init starts it, with
// SystemControl (for `shutdown`); it reads lines from the console server,
// with echo and editing (line_editor.hpp), and runs one command per line
// (command.hpp parses it).
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "command.hpp"
#include "line_editor.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/string.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::println;

static_assert(shell::kMaxProgramName + 1 == ipc::loader::kNameSize, "the parser takes the names the loader takes");

constexpr size_t kMaxTasksListed = ipc::kMaxPayload / sizeof(abi::TaskListEntry);

ipc::Handle g_loader;
abi::TaskListEntry g_tasks[kMaxTasksListed];

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

void help()
{
    println("commands:");
    println("  help              this list");
    println("  ps                tasks: id, state, CPU, name");
    println("  mem               frames by kind (the memory server's frame table)");
    println("  cpus              CPUs online");
    println("  run NAME [ARG]    start a program from the boot archive and wait for it (Ctrl-C kills it)");
    println("  start NAME [ARG]  start a program and come back at once");
    println("  kill ID           end a task started from here (run, start)");
    println("  bench             a few measurements (cycles: meaningful under KVM only)");
    println("  shutdown          power off");
}

void ps()
{
    int64_t count = user::syscall2(user::number_of(abi::SyscallNumber::TaskList), reinterpret_cast<uint64_t>(g_tasks), kMaxTasksListed);
    if (count < 0) {
        println("ps: {}", ipc::error_name(static_cast<ipc::Error>(count)));
        return;
    }
    println("   ID  STATE     CPU  NAME");
    for (int64_t i = 0; i < count; ++i) {
        const abi::TaskListEntry& t = g_tasks[i];
        println("{:5}  {:<8}  {:3}  {}", t.task_id, state_name(t.state), t.cpu, StringView::from_bounded(t.name, sizeof(t.name)));
    }
}

void mem()
{
    auto stats = ipc::memory::stats(user::ipc());
    if (stats.is_error()) {
        println("mem: {}", ipc::error_name(stats.error()));
        return;
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
}

void cpus()
{
    abi::SelfInfo info = self_info();
    println("{} CPUs online; this shell runs on CPU {}", info.cpu_count, info.cpu_index);
}

void report_end(const char* name, const abi::TaskStatus& status)
{
    if (status.state == abi::TaskState::Killed)
        println("{} (task {}) was killed (status {})", name, status.task_id, status.exit_status);
    else
        println("{} (task {}) exited with status {}", name, status.task_id, status.exit_status);
}

constexpr uint8_t kCtrlC = 0x03;
constexpr uint64_t kPollMs = 20;

using ipc::loader::has_ended;

// Waits for a program `run` started, looking at the console now and then:
// Ctrl-C kills it (other keys typed meanwhile are dropped).
ipc::Result<abi::TaskStatus> wait_or_interrupt(const ipc::loader::Task& task)
{
    bool interrupted = false;
    for (;;) {
        abi::TaskStatus status {};
        if (has_ended(task.task, status))
            return status;
        char typed[16];
        size_t count = user::read_input_now(typed, sizeof(typed));
        for (size_t i = 0; i < count && !interrupted; ++i) {
            if (static_cast<uint8_t>(typed[i]) != kCtrlC)
                continue;
            interrupted = true;
            println("^C");
            ipc::Client<ipc::loader::Protocol> loader(user::ipc(), g_loader);
            (void)loader.call<ipc::loader::Kill>({ task.task_id });
        }
        (void)user::sleep_ms(kPollMs);
    }
}

// Starts `program` with `argument`; waits for it when `wait`.
void run(const char* program, uint64_t argument, bool wait)
{
    auto started = ipc::loader::spawn(user::ipc(), g_loader, program, argument);
    if (started.is_error()) {
        println("run: cannot start {}: {}", program, started.error() == ipc::loader::kBadProgram ? "not a program Herald can run (the log says why)" : ipc::error_name(started.error()));
        return;
    }
    if (!wait) {
        println("started {} as task {}", program, started.value().task_id);
        (void)ipc::sys::handle_close(started.value().task);
        return;
    }
    auto status = wait_or_interrupt(started.value());
    (void)ipc::sys::handle_close(started.value().task);
    if (status.is_error())
        println("run: lost {}: {}", program, ipc::error_name(status.error()));
    else
        report_end(program, status.value());
}

void kill(uint64_t id)
{
    ipc::Client<ipc::loader::Protocol> loader(user::ipc(), g_loader);
    auto killed = loader.call<ipc::loader::Kill>({ id });
    if (killed.is_error())
        println("kill: {}: {}", id, killed.error() == ipc::Error::NotFound ? "no task of that id was started from the shell or init" : ipc::error_name(killed.error()));
}

// Runs a benchmark program to its end; it exits with (median << 32) | minimum.
void bench_program(const char* figure, const char* program, uint64_t argument)
{
    auto started = ipc::loader::spawn(user::ipc(), g_loader, program, argument);
    if (started.is_error()) {
        println("bench: {} failed: {}", figure, ipc::error_name(started.error()));
        return;
    }
    auto status = ipc::loader::wait(started.value().task);
    (void)ipc::sys::handle_close(started.value().task);
    if (status.is_error() || status.value().state != abi::TaskState::Exited || status.value().exit_status < 0) {
        println("bench: {} failed", figure);
        return;
    }
    uint64_t packed = static_cast<uint64_t>(status.value().exit_status);
    println("bench: {} median={} min={} unit=cycles", figure, packed >> 32, packed & 0xFFFF'FFFF);
}

uint64_t cycles()
{
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (static_cast<uint64_t>(high) << 32) | low;
}

void bench()
{
    println("bench: cycles mean something only under KVM");
    bench_program("null_syscall", "bench_syscall", 0);
    bench_program("page_fault", "bench_page_fault", 1024);
    constexpr int kRounds = 21;
    uint64_t samples[kRounds];
    for (int i = 0; i < kRounds; ++i) {
        uint64_t start = cycles();
        auto started = ipc::loader::spawn(user::ipc(), g_loader, "exit_at_once", 0);
        if (started.is_error()) {
            println("bench: spawn_to_exit failed: {}", ipc::error_name(started.error()));
            return;
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
}

void shutdown()
{
    println("shell: powering off");
    user::flush();
    int64_t result = user::syscall1(user::number_of(abi::SyscallNumber::SystemShutdown), abi::kSystemControlHandle);
    println("shutdown: {} (this shell was not given SystemControl)", ipc::error_name(static_cast<ipc::Error>(result)));
}

void execute(const char* line)
{
    shell::Command command = shell::parse_command(line);
    switch (command.kind) {
    case shell::CommandKind::None: return;
    case shell::CommandKind::Help: help(); return;
    case shell::CommandKind::Ps: ps(); return;
    case shell::CommandKind::Mem: mem(); return;
    case shell::CommandKind::Cpus: cpus(); return;
    case shell::CommandKind::Run: run(command.program, command.argument, true); return;
    case shell::CommandKind::Start: run(command.program, command.argument, false); return;
    case shell::CommandKind::Kill: kill(command.argument); return;
    case shell::CommandKind::Bench: bench(); return;
    case shell::CommandKind::Shutdown: shutdown(); return;
    case shell::CommandKind::Invalid: println("{}", command.problem); return;
    case shell::CommandKind::Unknown: break;
    }
    println("unknown command: {} (type help)", StringView(command.word.text, command.word.length));
}

shell::LineEditor g_editor;

// Input read but not fed to the editor yet: what was typed (or pasted)
// after the end of a line belongs to the next one.
char g_typed[64];
size_t g_typed_count;
size_t g_typed_next;

// The next input byte, waiting for one; false if there is no console.
bool next_byte(uint8_t& byte)
{
    if (g_typed_next == g_typed_count) {
        g_typed_count = user::read_input(g_typed, sizeof(g_typed));
        g_typed_next = 0;
        if (g_typed_count == 0)
            return false;
    }
    byte = static_cast<uint8_t>(g_typed[g_typed_next++]);
    return true;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    g_loader = user::find_server("loader");
    println("Herald shell, {} ms after boot. Type help.", self_info().uptime_ms);
    for (;;) {
        user::print("herald> ");
        user::flush();
        for (;;) {
            uint8_t byte;
            if (!next_byte(byte)) {
                println("shell: no console input; stopping");
                return 1;
            }
            char echo[shell::LineEditor::kMaxEcho];
            size_t echo_length = 0;
            auto event = g_editor.feed(byte, echo, sizeof(echo), echo_length);
            user::print(StringView(echo, echo_length));
            user::flush();
            if (event == shell::LineEditor::Event::LineReady) {
                execute(g_editor.line());
                break;
            }
            if (event == shell::LineEditor::Event::Cancelled)
                break;
        }
    }
}
