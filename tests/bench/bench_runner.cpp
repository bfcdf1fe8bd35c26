// The benchmark image's after_boot() (./herald bench, ./herald study). It
// prints the study's lines (bench_report.hpp; docs/benchmarks.md):
//
//   bench: begin placement=<placement> mode=<mode> cpus=<N>
//   bench: <figure> median=<N> min=<N> unit=<unit> <event>=<per operation>...
//   bench: <figure> skipped: <why>            (or failed: <why>)
//   bench: done
//
// and ends QEMU. These are measurements, not tests: nothing passes or fails.
// The mode (bench_mode= on the command line: icount, kvm or wall) says what
// the guest's clock counts, and so the unit of every cost; bench_only=
// picks figures. One function per figure, in the order they run; each
// figure's events come from the probe's window around its operations
// (bench_probe.hpp).
#include "microkernel/abi/ipc.hpp"
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/idt.hpp"
#include "microkernel/arch/x86_64/lapic.hpp"
#include "microkernel/arch/x86_64/qemu_exit.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/arch/x86_64/vectors.hpp"
#include "microkernel/boot/boot_archive.hpp"
#include "microkernel/boot/command_line.hpp"
#include "microkernel/bootstrap.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/object/system_control.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/pager/pager.hpp"
#include "microkernel/panic.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/task/program_loader.hpp"
#include "microkernel/task/task.hpp"
#include "bench_probe.hpp"
#include "bench_report.hpp"
#include "probe_protocol.hpp"
#include "microkernel/services/services.hpp"
#include "isolation.hpp"

namespace herald {

namespace {

using bench::Mode;
using bench::Window;
using bench::probe;

struct ExitQemuOnFailure {
    ExitQemuOnFailure() { set_panic_action(PanicAction::ExitQemu); }
} g_exit_qemu_on_failure;

Mode g_mode = Mode::Wall;
bench::FigureSelection g_selection;

// ---- lines ----

constexpr usize kLineCapacity = 640; // a figure line with its 15 events is under 500

template<typename Formatter>
void print_line(Formatter formatter)
{
    char line[kLineCapacity];
    BufferSink sink(line, sizeof(line));
    formatter(sink);
    klog("{}", sink.view());
}

void report(StringView figure, u64 median, u64 minimum, StringView unit, const Window& window)
{
    // Free text: what the events are averaged over (tools/profile reads it).
    klog("window: {} operations={} ticks={}", figure, window.operations, window.ticks);
    print_line([&](FormatSink& sink) { bench::format_figure(sink, figure, median, minimum, unit, window.events, window.operations); });
}

// A cost per operation, in the mode's unit.
void report_cost(StringView figure, u64 median, u64 minimum, const Window& window)
{
    report(figure, median, minimum, bench::cost_unit(g_mode), window);
}

// Operations per second of the guest's clock over the window (one run:
// median and minimum are the same figure).
void report_rate(StringView figure, StringView unit, const Window& window)
{
    u64 rate = bench::per_second(window.operations, window.ticks, tsc::ticks_per_ms().value());
    report(figure, rate, rate, unit, window);
}

void skipped(StringView figure, StringView why)
{
    print_line([&](FormatSink& sink) { bench::format_skipped(sink, figure, why); });
}

void failed(StringView figure, StringView why)
{
    print_line([&](FormatSink& sink) { bench::format_failed(sink, figure, why); });
}

// "name_<n>suffix" in `buffer`.
StringView numbered(char* buffer, usize capacity, StringView prefix, usize n, StringView suffix)
{
    BufferSink sink(buffer, capacity);
    format(sink, "{}{}{}", prefix, n, suffix);
    return sink.view();
}

// A figure that needs `cpus` CPUs: says it is skipped when there are fewer.
bool skipped_without_cpus(StringView figure, usize cpus)
{
    if (cpus <= processor_count())
        return false;
    char why[48];
    skipped(figure, numbered(why, sizeof(why), "needs ", cpus, " CPUs"));
    return true;
}

// Before a figure: the kernel's lines printed so far have reached COM1
// (through the console, which would otherwise print them during the next
// window and count there).
void settle()
{
    for (u64 waited = 0; kernel_log_waiting_lines() > 0 && waited < 2000; waited += kTickMs)
        scheduler_sleep_ms(kTickMs);
    scheduler_sleep_ms(kTickMs);
}

// ---- programs ----

u64 start_program(const char* name, const SpawnOptions& options)
{
    auto program = find_boot_program(name);
    if (program.is_error()) {
        klog("bench-runner: program {} is missing from the boot archive", name);
        return 0;
    }
    auto task = spawn_program(name, program.value(), options);
    if (task.is_error()) {
        klog("bench-runner: cannot start {}: {}", name, error_name(task.error()));
        return 0;
    }
    return task.value();
}

Optional<TaskExit> wait_for(u64 task, const char* name)
{
    for (u64 waited = 0; task && waited < 600'000; waited += kTickMs) {
        if (auto exit = find_exit(task))
            return exit;
        scheduler_sleep_ms(kTickMs);
    }
    if (task)
        klog("bench-runner: {} did not finish", name);
    return nullopt;
}

bool ended_well(const Optional<TaskExit>& exit) { return exit && !exit->killed && exit->status >= 0; }

constexpr u64 kEndpointHandle = 8;

// Options for a program that takes part in the probe's window (and, if
// `endpoint`, holds it at kEndpointHandle with `rights`).
SpawnOptions options_for(u64 parameter, usize cpu, Endpoint* endpoint = nullptr, u32 rights = 0)
{
    SpawnOptions options;
    options.parameter = parameter;
    options.cpu = cpu;
    options.handles[0] = InitialHandle { &probe(), abi::RightSend, 0, bench::kProbeHandle };
    if (endpoint)
        options.handles[1] = InitialHandle { endpoint, rights, 0, kEndpointHandle };
    return options;
}

// The usual figure: one program measures its operations and exits with
// (median << 32) | minimum ticks per operation (user/programs/bench_common.hpp).
void measure_program(StringView figure, const char* program, u64 parameter, usize cpu)
{
    probe().arm(1);
    u64 task = start_program(program, options_for(parameter, cpu));
    if (!task)
        probe().cancel();
    auto exit = wait_for(task, program);
    auto window = probe().window();
    if (!ended_well(exit) || !window) {
        failed(figure, "the program did not finish its measurement (see the log above)");
        return;
    }
    u64 packed = static_cast<u64>(exit->status);
    report_cost(figure, packed >> 32, packed & 0xFFFF'FFFF, *window);
}

// `count` copies of `program`, copy i pinned to CPU i % CPUs, all in the
// probe's window; their exits. Fails (false) if one did not start or end well.
bool run_together(const char* program, usize count, u64 parameter, Endpoint* endpoint = nullptr)
{
    constexpr usize kMaxCopies = 8;
    u64 tasks[kMaxCopies] = {};
    count = min(count, kMaxCopies);
    probe().arm(static_cast<u32>(count));
    bool all = true;
    for (usize i = 0; i < count; ++i) {
        tasks[i] = start_program(program, options_for(parameter, i % processor_count(), endpoint, abi::RightSend));
        all = all && tasks[i] != 0;
    }
    if (!all)
        probe().cancel();
    for (usize i = 0; i < count; ++i)
        all = ended_well(wait_for(tasks[i], program)) && all;
    return all;
}

// ---- calibration: what one tick of the guest's clock is ----

constexpr u64 kCalibrationIterations = 250'000;
constexpr u64 kInstructionsPerIteration = 4; // the loop below
constexpr u64 kCalibrationInstructions = kCalibrationIterations * kInstructionsPerIteration;
constexpr usize kCalibrationSamples = 21;

[[gnu::noinline]] void known_loop(u64 iterations)
{
    u64 scratch = 0;
    asm volatile("1:\n\t"
                 "add $1, %1\n\t"
                 "add $2, %1\n\t"
                 "dec %0\n\t"
                 "jnz 1b"
                 : "+r"(iterations), "+r"(scratch)
                 :
                 : "cc");
}

u64 clock_now()
{
    asm volatile("lfence" ::: "memory");
    return x86::rdtsc();
}

void sort(u64* values, usize count)
{
    for (usize i = 1; i < count; ++i) {
        u64 value = values[i];
        usize j = i;
        while (j > 0 && values[j - 1] > value) {
            values[j] = values[j - 1];
            --j;
        }
        values[j] = value;
    }
}

// Ticks that `operation(2n)` takes beyond `operation(n)`: the cost of n more
// of its units, with whatever it does once (and the clock reads) taken out.
// The median of kCalibrationSamples, interrupts off.
template<typename Operation>
u64 extra_ticks(u64 n, Operation operation, u64* minimum = nullptr)
{
    u64 samples[kCalibrationSamples];
    for (usize i = 0; i < kCalibrationSamples; ++i) {
        u64 t0 = clock_now();
        operation(n);
        u64 t1 = clock_now();
        operation(2 * n);
        u64 t2 = clock_now();
        u64 once = t1 - t0, twice = t2 - t1;
        samples[i] = twice > once ? twice - once : 0;
    }
    sort(samples, kCalibrationSamples);
    if (minimum)
        *minimum = samples[0];
    return samples[kCalibrationSamples / 2];
}

alignas(4096) u8 g_scratch[3 * 8192];

// "calibration: <what>: <ticks> ticks for <what counts> (<ratio>)"
void say_ticks(StringView what, u64 ticks, u64 units, StringView unit_name)
{
    u64 thousandths = units ? ticks * 1000 / units : 0;
    klog("calibration: {}: {} ticks for {} {} ({}.{:03} ticks each)", what, ticks, units, unit_name, thousandths / 1000,
        thousandths % 1000);
}

// How QEMU counts string instructions: a REP instruction's iterations, and
// the copy and fill routines every ring uses (lib/memory_functions.cpp).
void calibrate_string_instructions()
{
    auto stosb = [](u64 bytes) {
        void* d = g_scratch;
        asm volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(0) : "memory");
    };
    auto stosq = [](u64 words) {
        void* d = g_scratch;
        asm volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(0) : "memory");
    };
    auto movsb = [](u64 bytes) {
        void* d = g_scratch;
        const void* s = g_scratch + 8192;
        asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(bytes) : : "memory");
    };
    auto movsq = [](u64 words) {
        void* d = g_scratch;
        const void* s = g_scratch + 8192;
        asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
    };
    auto zero_pages = [](u64 pages) { __builtin_memset(g_scratch, 0, pages * 4096); };
    auto copy_pages = [](u64 pages) { __builtin_memcpy(g_scratch, g_scratch + 8192, pages * 4096); };
    say_ticks("rep stosb, 4096 more bytes", extra_ticks(4096, stosb), 4096, "iterations");
    say_ticks("rep stosq, 512 more words (4096 bytes)", extra_ticks(512, stosq), 512, "iterations");
    say_ticks("rep movsb, 4096 more bytes", extra_ticks(4096, movsb), 4096, "iterations");
    say_ticks("rep movsq, 512 more words (4096 bytes)", extra_ticks(512, movsq), 512, "iterations");
    say_ticks("memset, one more page", extra_ticks(1, zero_pages), 1, "pages");
    say_ticks("memcpy, one more page", extra_ticks(1, copy_pages), 1, "pages");
}

bool g_spin_stop;
bool g_spinning;

// CPU 1's part: spin until told to stop, with PAUSE in the loop (parameter
// 1) or without.
void spin_until_stopped(u64 with_pause)
{
    __atomic_store_n(&g_spinning, true, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&g_spin_stop, __ATOMIC_ACQUIRE)) {
        if (with_pause)
            x86::pause();
    }
    __atomic_store_n(&g_spinning, false, __ATOMIC_RELEASE);
}

// Long enough (5 timer ticks) for QEMU to run the other CPUs in between:
// it runs one CPU at a time, a slice each.
constexpr u64 kLongLoopIterations = 12'500'000;
constexpr u64 kLongLoopInstructions = kLongLoopIterations * kInstructionsPerIteration;

u64 ticks_of_long_loop()
{
    u64 start = clock_now();
    known_loop(kLongLoopIterations);
    return clock_now() - start;
}

// The long loop on CPU 0 while CPU 1 spins; 0 if CPU 1 could not be made to.
u64 ticks_with_cpu1_spinning(bool with_pause)
{
    auto thread = create_kernel_thread("spin", spin_until_stopped, with_pause ? 1 : 0);
    if (thread.is_error())
        return 0;
    __atomic_store_n(&g_spin_stop, false, __ATOMIC_RELEASE);
    scheduler_enqueue_on(*thread.value(), 1);
    for (u64 waited = 0; !__atomic_load_n(&g_spinning, __ATOMIC_ACQUIRE) && waited < 1000; waited += kTickMs)
        scheduler_sleep_ms(kTickMs);
    u64 ticks = ticks_of_long_loop();
    __atomic_store_n(&g_spin_stop, true, __ATOMIC_RELEASE);
    while (__atomic_load_n(&g_spinning, __ATOMIC_ACQUIRE))
        scheduler_sleep_ms(kTickMs);
    return ticks;
}

// What the clock counts with more than one CPU: a long loop on CPU 0,
// interrupts on, with CPU 1 idle (HLT), spinning with PAUSE, and spinning
// without.
void calibrate_with_another_cpu_busy()
{
    if (processor_count() < 2)
        return;
    say_ticks("a long loop on CPU 0, CPU 1 idle", ticks_of_long_loop(), kLongLoopInstructions, "instructions of CPU 0");
    say_ticks("the same loop, CPU 1 spinning with PAUSE", ticks_with_cpu1_spinning(true), kLongLoopInstructions,
        "instructions of CPU 0");
    say_ticks("the same loop, CPU 1 spinning without PAUSE", ticks_with_cpu1_spinning(false), kLongLoopInstructions,
        "instructions of CPU 0");
}

// Idle time: HLT until the next timer interrupt. Under -icount sleep=off
// the clock jumps to the timer's deadline: ticks without instructions.
void calibrate_idle()
{
    u64 samples[5];
    for (u64& sample : samples) {
        scheduler_sleep_ms(kTickMs); // start just after a tick
        u64 start = clock_now();
        scheduler_sleep_ms(kTickMs);
        sample = clock_now() - start;
    }
    sort(samples, 5);
    klog("calibration: a sleep of one {} ms tick, the CPUs idle (HLT): {} ticks (median of 5); the kernel's rate is {} "
         "ticks a millisecond",
        kTickMs, samples[2], tsc::ticks_per_ms().value());
}

// A loop of exactly kCalibrationInstructions instructions, interrupts off:
// under icount one tick per instruction (median = 1,000,000), under KVM the
// cycles the loop takes, under plain TCG whatever the host's speed makes it.
Window measure_known_loop(u64& median, u64& minimum)
{
    bool interrupts = x86::read_rflags() & x86::kRflagsInterruptEnable;
    x86::disable_interrupts();
    bench::WindowClock clock;
    clock.begin();
    median = extra_ticks(kCalibrationIterations, known_loop, &minimum);
    Window window = clock.end(kCalibrationSamples);
    if (interrupts)
        x86::enable_interrupts();
    return window;
}

void figure_calibration()
{
    u64 median, minimum;
    Window window = measure_known_loop(median, minimum);
    report_cost("calibration", median, minimum, window);
    say_ticks("a known loop, interrupts off (median of 21)", median, kCalibrationInstructions, "instructions");
    if (g_mode == Mode::Icount && median != kCalibrationInstructions)
        klog("calibration: WARNING: bench_mode=icount, but the clock did not tick once per instruction: "
             "is QEMU running with -icount shift=0,sleep=off?");
    calibrate_string_instructions();
    calibrate_with_another_cpu_busy();
    calibrate_idle();
}

// No bench_mode on the command line: guessed from the clock, said so.
Mode infer_mode()
{
    StringView brand = StringView::from_bounded(cpu_features().brand, sizeof(cpu_features().brand));
    bool tcg = false;
    for (usize i = 0; i + 3 <= brand.length(); ++i)
        tcg = tcg || brand.substring(i, 3) == "TCG";
    if (!tcg)
        return Mode::Kvm;
    u64 median, minimum;
    (void)measure_known_loop(median, minimum);
    return median == kCalibrationInstructions ? Mode::Icount : Mode::Wall;
}

// ---- the kernel's entry paths ----

void figure_null_syscall() { measure_program("null_syscall", "bench_syscall", 0, 0); }

void figure_yield_same_cpu()
{
    usize cpu = processor_count() - 1;
    auto partner = find_boot_program("bench_yield");
    if (!partner.is_error())
        (void)spawn_program("bench_yield", partner.value(), { 1, cpu });
    measure_program("yield_same_cpu", "bench_yield", 0, cpu);
}

// CPU 0 pings CPU 1, whose handler pongs back.
u64 g_pongs;
u32 g_pinger_apic_id;

void answer_ping(x86::InterruptFrame&) { x86::lapic::send_ipi(g_pinger_apic_id, x86::kVectorPongIpi); }
void count_pong(x86::InterruptFrame&) { __atomic_add_fetch(&g_pongs, 1, __ATOMIC_RELEASE); }

void figure_ipi_round_trip()
{
    if (processor_count() < 2)
        return skipped("ipi_round_trip", "needs 2 CPUs (./herald bench --smp 2)");
    constexpr usize kRounds = 501;
    static u64 samples[kRounds];
    g_pinger_apic_id = this_processor().apic_id;
    x86::set_interrupt_handler(x86::kVectorPingIpi, answer_ping);
    x86::set_interrupt_handler(x86::kVectorPongIpi, count_pong);
    u32 target = processor(1).apic_id;
    bench::WindowClock clock;
    clock.begin();
    for (usize round = 0; round < kRounds; ++round) {
        u64 before = __atomic_load_n(&g_pongs, __ATOMIC_ACQUIRE);
        u64 start = clock_now();
        x86::lapic::send_ipi(target, x86::kVectorPingIpi);
        constexpr u64 kGiveUpTicks = 10'000'000'000ull;
        while (__atomic_load_n(&g_pongs, __ATOMIC_ACQUIRE) == before) {
            if (clock_now() - start > kGiveUpTicks)
                return failed("ipi_round_trip", "no answer from CPU 1");
            x86::pause();
        }
        samples[round] = clock_now() - start;
    }
    Window window = clock.end(kRounds);
    sort(samples, kRounds);
    report_cost("ipi_round_trip", samples[kRounds / 2], samples[0], window);
}

// ---- IPC ----

constexpr u64 kIpcPayload = 1u << 8; // bench_ipc's parameter bits

u64 ipc_parameter(u64 rounds, bool payload) { return (rounds << 16) | (payload ? kIpcPayload : 0) | kEndpointHandle; }

// An echo server on `cpu`, on a new endpoint (returned, with the server's
// task); nullptr if either could not be had.
Ref<Endpoint> start_echo_server(usize cpu, u64& server)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    if (!endpoint)
        return {};
    SpawnOptions options;
    options.parameter = kEndpointHandle;
    options.cpu = cpu;
    options.handles[0] = InitialHandle { endpoint.ptr(), abi::RightReceive, 0, kEndpointHandle };
    server = start_program("ipc_echo_server", options);
    if (!server)
        return {};
    return endpoint;
}

// One client on CPU 0 and its echo server on `server_cpu`.
void measure_round_trip(StringView figure, usize server_cpu, bool payload)
{
    u64 server = 0;
    Ref<Endpoint> endpoint = start_echo_server(server_cpu, server);
    if (!endpoint)
        return failed(figure, "no echo server");
    probe().arm(1);
    u64 client = start_program("bench_ipc", options_for(ipc_parameter(201, payload), 0, endpoint.ptr(), abi::RightSend));
    endpoint.clear();
    if (!client)
        probe().cancel();
    auto exit = wait_for(client, "bench_ipc");
    kill_task(server);
    auto window = probe().window();
    if (!ended_well(exit) || !window)
        return failed(figure, "bench_ipc did not finish (see the log above)");
    u64 packed = static_cast<u64>(exit->status);
    report_cost(figure, packed >> 32, packed & 0xFFFF'FFFF, *window);
}

void figure_ipc_round_trip_same_cpu() { measure_round_trip("ipc_round_trip_same_cpu", 0, false); }

void figure_ipc_round_trip_cross_cpu()
{
    if (processor_count() < 2)
        return skipped("ipc_round_trip_cross_cpu", "needs 2 CPUs (./herald bench --smp 2)");
    measure_round_trip("ipc_round_trip_cross_cpu", 1, false);
}

void figure_ipc_round_trip_4k() { measure_round_trip("ipc_round_trip_4k", 0, true); }

// `pairs` client-server pairs, pair i on CPU i: round trips per second of
// all of them together, over the window in which all run.
void figure_ipc_throughput(usize pairs)
{
    char name[40];
    StringView figure = numbered(name, sizeof(name), "ipc_throughput_", pairs, "_pairs");
    if (skipped_without_cpus(figure, pairs))
        return;
    constexpr usize kMaxPairs = 8;
    constexpr u64 kRounds = 50;
    u64 servers[kMaxPairs] = {}, clients[kMaxPairs] = {};
    probe().arm(static_cast<u32>(pairs));
    bool all = true;
    for (usize i = 0; i < pairs; ++i) {
        Ref<Endpoint> endpoint = start_echo_server(i, servers[i]);
        clients[i] = endpoint ? start_program("bench_ipc", options_for(ipc_parameter(kRounds, false), i, endpoint.ptr(), abi::RightSend)) : 0;
        if (endpoint)
            endpoint.clear();
        all = all && clients[i];
    }
    if (!all)
        probe().cancel();
    for (usize i = 0; i < pairs; ++i)
        all = ended_well(wait_for(clients[i], "bench_ipc")) && all;
    for (usize i = 0; i < pairs; ++i)
        kill_task(servers[i]);
    auto window = probe().window();
    if (!all || !window)
        return failed(figure, "a client did not finish (see the log above)");
    report_rate(figure, "round_trips_per_second", *window);
}

// N clients, client i on CPU i, calling one echo server with N threads,
// thread i on CPU i (bench_echo_threads): round trips per second of all
// clients together, over the window in which all run. Against
// ipc_throughput_<N>_pairs, what sharing one server (one endpoint, one task)
// costs.
void figure_ipc_server_threads(usize threads)
{
    char name[40];
    StringView figure = numbered(name, sizeof(name), "ipc_server_threads_", threads, "");
    if (skipped_without_cpus(figure, threads))
        return;
    constexpr u64 kRounds = 50;
    Ref<Endpoint> endpoint = Endpoint::create();
    if (!endpoint)
        return failed(figure, "no endpoint");
    SpawnOptions options;
    options.parameter = (threads << 8) | kEndpointHandle;
    options.cpu = 0;
    options.handles[0] = InitialHandle { endpoint.ptr(), abi::RightReceive, 0, kEndpointHandle };
    u64 server = start_program("bench_echo_threads", options);
    if (!server)
        return failed(figure, "no server");
    scheduler_sleep_ms(2 * kTickMs); // every server thread waits on its CPU before the first call
    bool all = run_together("bench_ipc", threads, ipc_parameter(kRounds, false), endpoint.ptr());
    endpoint.clear();
    kill_task(server);
    auto window = probe().window();
    if (!all || !window)
        return failed(figure, "a client did not finish (see the log above)");
    report_rate(figure, "round_trips_per_second", *window);
}

// ---- the console ----

void figure_console_line() { measure_program("console_line", "bench_console_line", 0, 0); }

// ---- the pager ----

constexpr u64 kFaultSamples = 1024;
constexpr u64 kGrowthPages = 8192; // 32 MiB
constexpr u64 kThroughputMode = 1ull << 32;

void figure_page_fault() { measure_program("page_fault", "bench_page_fault", kFaultSamples, 0); }

void figure_heap_growth()
{
    probe().arm(1);
    u64 task = start_program("bench_page_fault", options_for(kThroughputMode | kGrowthPages, 0));
    if (!task)
        probe().cancel();
    auto exit = wait_for(task, "bench_page_fault");
    auto window = probe().window();
    if (!ended_well(exit) || !window)
        return failed("heap_growth", "bench_page_fault did not finish (see the log above)");
    report_rate("heap_growth", "frames_per_second", *window);
}

// ---- programs through the loader ----

void figure_spawn_to_exit() { measure_program("spawn_to_exit", "bench_spawn", 0, 0); }

// ---- macro workloads ----

constexpr u64 kStormPrograms = 200;

// 200 programs through the loader, each growing and touching 1 MiB of heap
// and printing 10 lines: ticks per program (the storm's total in free text).
void figure_spawn_storm()
{
    probe().arm(1);
    u64 task = start_program("bench_spawn_storm", options_for(kStormPrograms, 0));
    if (!task)
        probe().cancel();
    auto exit = wait_for(task, "bench_spawn_storm");
    auto window = probe().window();
    if (!exit || exit->killed || exit->status != 0 || !window) {
        char why[64];
        return failed("spawn_storm", numbered(why, sizeof(why), "", exit ? static_cast<u64>(exit->status) : kStormPrograms,
                                          " programs failed or the storm did not finish"));
    }
    klog("spawn_storm: {} programs in {} ticks", window->operations, window->ticks);
    u64 per_program = window->ticks / max<u64>(window->operations, 1);
    report_cost("spawn_storm", per_program, per_program, *window);
}

constexpr usize kSpawnClients = 4;
// 4 x 12 children and the 4 clients end within the kernel's 64 exit
// records (kExitRecords), so that the runner still finds each client's.
constexpr u64 kSpawnsPerClient = 12;
constexpr u64 kSmallestChild = 1 << 16; // user/programs/bench_spawn_storm.cpp

// 4 clients (client i on CPU i modulo the CPUs) x 12 spawns of
// exit_at_once, each client waiting for one before the next: the loader
// asked by several clients at once. Ticks per spawn over the window in
// which all run.
void figure_spawn_clients()
{
    bool all = run_together("bench_spawn_storm", kSpawnClients, kSmallestChild | kSpawnsPerClient);
    auto window = probe().window();
    if (!all || !window)
        return failed("spawn_clients", "a client did not finish (see the log above)");
    klog("spawn_clients: {} programs in {} ticks", window->operations, window->ticks);
    u64 per_program = window->ticks / max<u64>(window->operations, 1);
    report_cost("spawn_clients", per_program, per_program, *window);
}

constexpr usize kRequestClients = 4;
constexpr u64 kRequestRounds = 100; // of 100 calls: 10,000 calls per client

// 4 clients x 10,000 calls with 4 KiB each way to one echo server: ticks
// per call over the window in which all run.
void figure_request_reply()
{
    u64 server = 0;
    Ref<Endpoint> endpoint = start_echo_server(0, server);
    if (!endpoint)
        return failed("request_reply", "no echo server");
    bool all = run_together("bench_ipc", kRequestClients, ipc_parameter(kRequestRounds, true), endpoint.ptr());
    endpoint.clear();
    kill_task(server);
    auto window = probe().window();
    if (!all || !window)
        return failed("request_reply", "a client did not finish (see the log above)");
    klog("request_reply: {} calls in {} ticks", window->operations, window->ticks);
    u64 per_call = window->ticks / max<u64>(window->operations, 1);
    report_cost("request_reply", per_call, per_call, *window);
}

constexpr u64 kScalingPages = 4096; // 16 MiB

// N tasks on N CPUs each touching 16 MiB of fresh heap: faults per second.
void figure_fault_scaling(usize tasks)
{
    char name[32];
    StringView figure = numbered(name, sizeof(name), "fault_scaling_", tasks, "");
    if (skipped_without_cpus(figure, tasks))
        return;
    bool all = run_together("bench_page_fault", tasks, kThroughputMode | kScalingPages);
    auto window = probe().window();
    if (!all || !window)
        return failed(figure, "a task did not finish (see the log above)");
    report_rate(figure, "faults_per_second", *window);
}

constexpr usize kFloodPrograms = 4;
constexpr u64 kFloodLines = 2000;

void figure_console_flood()
{
    bool all = run_together("bench_console_flood", kFloodPrograms, kFloodLines);
    auto window = probe().window();
    if (!all || !window)
        return failed("console_flood", "a program did not finish (see the log above)");
    report_rate("console_flood", "lines_per_second", *window);
}

// ---- the disk ----

constexpr u64 kDiskReads = 256;                  // 1 MiB in 4 KiB reads
constexpr u64 kDiskModeSequential = 1;           // user/programs/bench_disk.cpp
constexpr u64 kDiskModeRandom = 2;
constexpr u64 kDiskBytesPerRead = 4096;
constexpr u64 kBytesPerKiB = 1024;
constexpr u64 kDriverServesTestClients = 1;      // servers/virtio-blk/main.cpp kServeTestClients
constexpr i64 kDriverFoundNoDisk = 2;            // virtio-blk's exit status without a device
constexpr u64 kDriverSettleMs = 500; // a driver with no disk has ended by then

u64 g_disk_driver;  // the virtio-blk driver the disk figures share, 0: none
bool g_disk_looked; // started (or found no disk) once

enum class Disk : u8 { Serving, None, DriverFailed };

// Starts the virtio-blk driver once, as init would (the task list at the
// handle init gives it), serving bench_disk. The PCI server (start_system)
// grants it the device by init.manifest's line.
Disk start_disk_driver()
{
    if (!g_disk_looked) {
        g_disk_looked = true;
        SpawnOptions options;
        options.parameter = kDriverServesTestClients;
        options.handles[0] = InitialHandle { &system_control(), abi::RightReceive, 0, abi::HandleFirstFree };
        g_disk_driver = start_program("virtio-blk", options);
    }
    if (!g_disk_driver)
        return Disk::DriverFailed;
    // Without a device it ends at once, saying so; with one it serves until killed.
    for (u64 waited = 0;; waited += kTickMs) {
        if (auto exit = find_exit(g_disk_driver))
            return !exit->killed && exit->status == kDriverFoundNoDisk ? Disk::None : Disk::DriverFailed;
        if (waited >= kDriverSettleMs)
            break; // serving, or about to (bench_disk waits for its name)
        scheduler_sleep_ms(kTickMs);
    }
    return Disk::Serving;
}

// bench_disk's reads through the block protocol, in the probe's window.
Optional<Window> disk_window(StringView figure, u64 mode)
{
    switch (start_disk_driver()) {
    case Disk::Serving: break;
    case Disk::None: skipped(figure, "no disk"); return nullopt;
    case Disk::DriverFailed: failed(figure, "the virtio-blk driver did not start or ended (see the log above)"); return nullopt;
    }
    probe().arm(1);
    u64 task = start_program("bench_disk", options_for(mode | kDiskReads << 8, 0));
    if (!task)
        probe().cancel();
    auto exit = wait_for(task, "bench_disk");
    auto window = probe().window();
    if (!ended_well(exit) || !window) {
        failed(figure, "bench_disk did not finish its reads (see the log above)");
        return nullopt;
    }
    return window;
}

// Sequential 4 KiB reads, one at a time: KiB per second of the guest's clock.
void figure_disk_read_sequential()
{
    auto window = disk_window("disk_read_sequential", kDiskModeSequential);
    if (!window)
        return;
    u64 kib = window->operations * kDiskBytesPerRead / kBytesPerKiB;
    u64 rate = bench::per_second(kib, window->ticks, tsc::ticks_per_ms().value());
    klog("disk: sequential read: {} KiB in {} ticks: {}.{:02} MiB/s", kib, window->ticks, rate / kBytesPerKiB,
        rate % kBytesPerKiB * 100 / kBytesPerKiB);
    report("disk_read_sequential", rate, rate, "kib_per_second", *window);
}

// 4 KiB reads at random places, one at a time: reads per second (IOPS).
void figure_disk_read_random_4k()
{
    auto window = disk_window("disk_read_random_4k", kDiskModeRandom);
    if (!window)
        return;
    report_rate("disk_read_random_4k", "reads_per_second", *window);
}

// ---- the order of the run ----

struct Figure {
    const char* name;
    void (*run)();
};

// Fixed names; the parameterized ones (throughput, scaling) come after.
constexpr Figure kFigures[] = {
    { "calibration", figure_calibration },
    { "null_syscall", figure_null_syscall },
    { "yield_same_cpu", figure_yield_same_cpu },
    { "ipi_round_trip", figure_ipi_round_trip },
    { "ipc_round_trip_same_cpu", figure_ipc_round_trip_same_cpu },
    { "ipc_round_trip_cross_cpu", figure_ipc_round_trip_cross_cpu },
    { "ipc_round_trip_4k", figure_ipc_round_trip_4k },
    { "console_line", figure_console_line },
    { "page_fault", figure_page_fault },
    { "heap_growth", figure_heap_growth },
    { "spawn_to_exit", figure_spawn_to_exit },
};

constexpr Figure kMacroFigures[] = {
    { "spawn_storm", figure_spawn_storm },
    { "spawn_clients", figure_spawn_clients },
    { "request_reply", figure_request_reply },
    { "console_flood", figure_console_flood },
    { "disk_read_sequential", figure_disk_read_sequential },
    { "disk_read_random_4k", figure_disk_read_random_4k },
};

void run_if_selected(StringView name, void (*run)())
{
    if (!g_selection.wants(name))
        return;
    settle();
    run();
}

template<typename Run>
void run_numbered(StringView prefix, usize n, StringView suffix, Run run)
{
    char name[40];
    if (!g_selection.wants(numbered(name, sizeof(name), prefix, n, suffix)))
        return;
    settle();
    run(n);
}

void read_options()
{
    StringView line = boot_info().command_line_view();
    if (auto only = command_line_value(line, "bench_only"))
        g_selection = bench::FigureSelection(*only);
    auto mode_option = command_line_value(line, "bench_mode");
    auto mode = mode_option ? bench::parse_mode(*mode_option) : nullopt;
    if (mode) {
        g_mode = *mode;
        return;
    }
    g_mode = infer_mode();
    klog("bench-runner: {}; guessed mode {} from the clock", mode_option ? "unknown bench_mode" : "no bench_mode on the command line",
        bench::mode_name(g_mode));
}

} // namespace

void after_boot()
{
    run_isolation_if_asked(); // bench_only=isolation: fault isolation instead (isolation.cpp)
    read_options();
    print_line([](FormatSink& sink) { bench::format_begin(sink, placement_name(), g_mode, processor_count()); });
    if (g_mode == Mode::Wall)
        klog("bench: WARNING: TCG wall clock: the tsc_ticks below are emulator latency only and mean NOTHING about "
             "hardware; use bench_mode=icount (instructions) or kvm (cycles)");
    start_system(false); // the registry, the console and the loader
    for (const Figure& figure : kFigures)
        run_if_selected(figure.name, figure.run);
    const usize pair_counts[] = { 1, 2, 4, 8 };
    for (usize pairs : pair_counts)
        run_numbered("ipc_throughput_", pairs, "_pairs", figure_ipc_throughput);
    for (usize threads : pair_counts)
        run_numbered("ipc_server_threads_", threads, "", figure_ipc_server_threads);
    for (const Figure& figure : kMacroFigures)
        run_if_selected(figure.name, figure.run);
    const usize task_counts[] = { 1, 2, 4, 8 };
    for (usize tasks : task_counts)
        run_numbered("fault_scaling_", tasks, "", figure_fault_scaling);
    if (g_disk_driver)
        kill_task(g_disk_driver);
    settle();
    klog("bench: done");
    kernel_log_flush();
    x86::qemu_exit(x86::QemuExitCode::Success);
}

} // namespace herald
