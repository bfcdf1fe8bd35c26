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
#include "microkernel/boot/embedded_programs.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/panic.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/task/program_loader.hpp"

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

Optional<TaskExit> run_program(const char* name, u64 parameter, usize cpu)
{
    auto program = find_embedded_program(name);
    if (!program) {
        klog("bench: program {} is missing from the image", name);
        return nullopt;
    }
    auto task = spawn_program(name, ByteReader(program->start, program->size()), { parameter, cpu });
    if (task.is_error()) {
        klog("bench: cannot start {}: {}", name, error_name(task.error()));
        return nullopt;
    }
    for (u64 waited = 0; waited < 120'000; waited += kTickMs) {
        if (auto exit = find_exit(task.value()))
            return exit;
        scheduler_sleep_ms(kTickMs);
    }
    klog("bench: {} did not finish", name);
    return nullopt;
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

} // namespace

void after_boot()
{
    klog("bench: Herald benchmarks on {} CPUs", processor_count());
    if (running_under_tcg())
        klog("bench: WARNING: TCG (software emulation): the cycle counts below mean NOTHING; run under KVM");
    report_program("null_syscall", "bench_syscall", 0, 0);
    usize cpu = processor_count() - 1;
    auto partner = find_embedded_program("bench_yield");
    if (partner)
        (void)spawn_program("bench_yield", ByteReader(partner->start, partner->size()), { 1, cpu });
    report_program("yield_same_cpu", "bench_yield", 0, cpu);
    bench_ipi_round_trip();
    klog("bench: done");
    x86::qemu_exit(x86::QemuExitCode::Success);
}

} // namespace herald
