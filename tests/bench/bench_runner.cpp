// The benchmark image's after_boot() (./herald bench). It prints one line
// per figure,
//   bench: <name> median=<N> min=<N> unit=<unit>
// and ends QEMU. These are measurements, not tests: nothing passes or fails.
// Cycle counts are only meaningful under KVM; under TCG (software
// emulation) the runner says so loudly (docs/benchmarks.md).
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/idt.hpp"
#include "microkernel/arch/x86_64/lapic.hpp"
#include "microkernel/arch/x86_64/qemu_exit.hpp"
#include "microkernel/arch/x86_64/vectors.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/boot/boot_archive.hpp"
#include "microkernel/ipc/endpoint.hpp"
#include "microkernel/task/task.hpp"
#include "microkernel/boot/command_line.hpp"
#include "microkernel/bootstrap.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/mm/pager.hpp"
#include "microkernel/log.hpp"
#include "microkernel/panic.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/task/program_loader.hpp"
#include "isolation.hpp"

namespace herald {

namespace {

struct ExitQemuOnFailure {
    ExitQemuOnFailure() { set_panic_action(PanicAction::ExitQemu); }
} g_exit_qemu_on_failure;

bool running_under_tcg()
{
    StringView brand = StringView::from_bounded(cpu_features().brand, sizeof(cpu_features().brand));
    for (usize i = 0; i + 3 <= brand.length(); ++i) {
        if (brand.substring(i, 3) == "TCG")
            return true;
    }
    return false;
}

void report(StringView name, u64 median, u64 minimum, StringView unit)
{
    klog("bench: {} median={} min={} unit={}", name, median, minimum, unit);
}

u64 start_program(const char* name, SpawnOptions options)
{
    auto program = find_boot_program(name);
    if (program.is_error()) {
        klog("bench: program {} is missing from the boot archive", name);
        return 0;
    }
    auto task = spawn_program(name, program.value(), options);
    if (task.is_error()) {
        klog("bench: cannot start {}: {}", name, error_name(task.error()));
        return 0;
    }
    return task.value();
}

Optional<TaskExit> wait_for(u64 task, const char* name)
{
    for (u64 waited = 0; task && waited < 300'000; waited += kTickMs) {
        if (auto exit = find_exit(task))
            return exit;
        scheduler_sleep_ms(kTickMs);
    }
    klog("bench: {} did not finish", name);
    return nullopt;
}

Optional<TaskExit> run_program(const char* name, u64 parameter, usize cpu)
{
    SpawnOptions options;
    options.parameter = parameter;
    options.cpu = cpu;
    return wait_for(start_program(name, options), name);
}

// ---- IPC: an echo server and bench_ipc clients ----
constexpr u64 kEndpointHandle = 8;

SpawnOptions with_endpoint(Endpoint& endpoint, u32 rights, u64 parameter, usize cpu)
{
    SpawnOptions options;
    options.parameter = parameter;
    options.cpu = cpu;
    options.handles[0] = InitialHandle { &endpoint, rights, 0, kEndpointHandle };
    return options;
}

// `pairs` client-server pairs, pair i with both sides on CPU first_cpu + i
// (or the server on the next CPU, when across_cpus). Reports pair 0's
// cycles per round trip, or (throughput) round trips per second of all
// pairs together, from the first start to the last client's exit.
void bench_ipc(StringView figure, usize pairs, usize first_cpu, bool across_cpus, u64 rounds, bool throughput)
{
    u64 servers[4] = {}, clients[4] = {};
    u64 start = x86::rdtsc();
    for (usize i = 0; i < pairs; ++i) {
        Endpoint* endpoint = Endpoint::create();
        if (!endpoint)
            return;
        usize client_cpu = first_cpu + i;
        usize server_cpu = across_cpus ? client_cpu + 1 : client_cpu;
        servers[i] = start_program("ipc_echo_server", with_endpoint(*endpoint, abi::RightReceive, kEndpointHandle, server_cpu));
        clients[i] = start_program("bench_ipc", with_endpoint(*endpoint, abi::RightSend, (rounds << 16) | kEndpointHandle, client_cpu));
        endpoint->release();
    }
    Optional<TaskExit> first;
    bool failed = false;
    for (usize i = 0; i < pairs; ++i) {
        auto exit = wait_for(clients[i], "bench_ipc");
        failed = failed || !exit || exit->killed || exit->status < 0;
        if (i == 0)
            first = exit;
    }
    u64 elapsed = x86::rdtsc() - start;
    for (usize i = 0; i < pairs; ++i)
        kill_task(servers[i]);
    if (failed) {
        klog("bench: {} failed", figure);
        return;
    }
    if (!throughput) {
        u64 packed = static_cast<u64>(first->status);
        report(figure, packed >> 32, packed & 0xFFFF'FFFF, "cycles");
        return;
    }
    u64 round_trips = pairs * (rounds * 100 + 10);
    u64 per_second = round_trips * 1000 * tsc::ticks_per_ms().value() / max<u64>(elapsed, 1);
    // One run, so median and minimum are the same figure.
    report(figure, per_second, per_second, "round_trips_per_second");
}

// Programs report (median << 32) | minimum as their exit status.
void report_program(StringView figure, const char* program, u64 parameter, usize cpu)
{
    auto exit = run_program(program, parameter, cpu);
    if (!exit || exit->killed || exit->status < 0) {
        klog("bench: {} failed", figure);
        return;
    }
    u64 packed = static_cast<u64>(exit->status);
    report(figure, packed >> 32, packed & 0xFFFF'FFFF, "cycles");
}

// ---- IPI round trip: CPU 0 pings CPU 1, whose handler pongs back ----
u64 g_pongs;
u32 g_pinger_apic_id;

void answer_ping(x86::InterruptFrame&) { x86::lapic::send_ipi(g_pinger_apic_id, x86::kVectorPongIpi); }
void count_pong(x86::InterruptFrame&) { __atomic_add_fetch(&g_pongs, 1, __ATOMIC_RELEASE); }

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

void bench_ipi_round_trip()
{
    if (processor_count() < 2) {
        klog("bench: ipi_round_trip skipped: needs 2 CPUs (./herald bench --smp 2)");
        return;
    }
    constexpr usize kRounds = 501;
    static u64 samples[kRounds];
    g_pinger_apic_id = this_processor().apic_id;
    x86::set_interrupt_handler(x86::kVectorPingIpi, answer_ping);
    x86::set_interrupt_handler(x86::kVectorPongIpi, count_pong);
    u32 target = processor(1).apic_id;
    for (usize round = 0; round < kRounds; ++round) {
        u64 before = __atomic_load_n(&g_pongs, __ATOMIC_ACQUIRE);
        u64 start = x86::rdtsc();
        x86::lapic::send_ipi(target, x86::kVectorPingIpi);
        constexpr u64 kGiveUpCycles = 10'000'000'000ull;
        while (__atomic_load_n(&g_pongs, __ATOMIC_ACQUIRE) == before) {
            if (x86::rdtsc() - start > kGiveUpCycles) {
                klog("bench: ipi_round_trip failed: no answer from CPU 1");
                return;
            }
            x86::pause();
        }
        samples[round] = x86::rdtsc() - start;
    }
    sort(samples, kRounds);
    report("ipi_round_trip", samples[kRounds / 2], samples[0], "cycles");
}

// ---- the pager: the memory server's or the kernel's (mm/pager.hpp) ----
constexpr u64 kFaultSamples = 1024;
constexpr u64 kGrowthPages = 8192; // 32 MiB
constexpr u64 kThroughputMode = 1ull << 32;

void bench_pager()
{
    char name[48];
    BufferSink sink(name, sizeof(name));
    format(sink, "page_fault_{}", pager_mode_name());
    report_program(sink.view(), "bench_page_fault", kFaultSamples, 0);

    auto exit = run_program("bench_page_fault", kThroughputMode | kGrowthPages, 0);
    BufferSink growth(name, sizeof(name));
    format(growth, "heap_growth_{}", pager_mode_name());
    if (!exit || exit->killed || exit->status <= 0) {
        klog("bench: {} failed", growth.view());
        return;
    }
    u64 per_second = kGrowthPages * 1000 * tsc::ticks_per_ms().value() / static_cast<u64>(exit->status);
    report(growth.view(), per_second, per_second, "frames_per_second");
}

bool only_memory_figures()
{
    auto option = command_line_value(boot_info().command_line_view(), "bench");
    return option && *option == "memory";
}

} // namespace

void after_boot()
{
    run_isolation_if_asked(); // bench_only=isolation: fault isolation instead (isolation.cpp)
    klog("bench: Herald benchmarks on {} CPUs, pager in the {}", processor_count(), pager_mode_name());
    if (running_under_tcg())
        klog("bench: WARNING: TCG (software emulation): the cycle counts below mean NOTHING; run under KVM");
    bench_pager();
    start_system(false); // the registry, the console and the loader, for bench_spawn
    report_program("spawn_to_exit", "bench_spawn", 0, 0);
    if (only_memory_figures()) {
        klog("bench: done");
        kernel_log_flush();
        x86::qemu_exit(x86::QemuExitCode::Success);
    }
    report_program("null_syscall", "bench_syscall", 0, 0);
    usize cpu = processor_count() - 1;
    auto partner = find_boot_program("bench_yield");
    if (!partner.is_error())
        (void)spawn_program("bench_yield", partner.value(), { 1, cpu });
    report_program("yield_same_cpu", "bench_yield", 0, cpu);
    bench_ipi_round_trip();
    bench_ipc("ipc_round_trip_same_cpu", 1, 0, false, 201, false);
    if (processor_count() >= 2)
        bench_ipc("ipc_round_trip_cross_cpu", 1, 0, true, 201, false);
    const usize pair_counts[] = { 1, 2, 4 };
    for (usize pairs : pair_counts) {
        if (pairs > processor_count()) {
            klog("bench: ipc_throughput_{}_pairs skipped: needs {} CPUs (./herald bench --smp {})", pairs, pairs, pairs);
            continue;
        }
        char name[32];
        BufferSink sink(name, sizeof(name));
        format(sink, "ipc_throughput_{}_pairs", pairs);
        bench_ipc(sink.view(), pairs, 0, false, 50, true);
    }
    klog("bench: done");
    kernel_log_flush();
    x86::qemu_exit(x86::QemuExitCode::Success);
}

} // namespace herald
