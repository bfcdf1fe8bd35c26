// tests/bench/bench_report.*: the lines the benchmark image prints (the
// study's contract) and the options it reads.
#include "tests/bench/bench_report.hpp"

#include <catch2/catch.hpp>
#include <regex>
#include <string>

using namespace herald;
using namespace herald::bench;

namespace {

class StringSink final : public FormatSink {
public:
    void write(const char* chars, usize length) override { text.append(chars, length); }
    using FormatSink::write;
    std::string text;
};

std::string per_operation(u64 total, u64 operations)
{
    StringSink sink;
    format_per_operation(sink, total, operations);
    return sink.text;
}

} // namespace

TEST_CASE("bench report: modes and their units", "[bench_report]")
{
    CHECK(parse_mode("icount").value_or(Mode::Wall) == Mode::Icount);
    CHECK(parse_mode("kvm").value_or(Mode::Wall) == Mode::Kvm);
    CHECK(parse_mode("wall").value_or(Mode::Kvm) == Mode::Wall);
    CHECK_FALSE(parse_mode("tcg").has_value());
    CHECK_FALSE(parse_mode("").has_value());
    CHECK(cost_unit(Mode::Icount) == "instructions");
    CHECK(cost_unit(Mode::Kvm) == "cycles");
    CHECK(cost_unit(Mode::Wall) == "tsc_ticks");
    for (Mode mode : { Mode::Icount, Mode::Kvm, Mode::Wall })
        CHECK(parse_mode(mode_name(mode)).value_or(Mode(99)) == mode);
}

TEST_CASE("bench report: bench_only selects exact names", "[bench_report]")
{
    FigureSelection all;
    CHECK(all.selects_all());
    CHECK(all.wants("page_fault"));
    FigureSelection some("null_syscall,page_fault,fault_scaling_2");
    CHECK_FALSE(some.selects_all());
    CHECK(some.wants("null_syscall"));
    CHECK(some.wants("page_fault"));
    CHECK(some.wants("fault_scaling_2"));
    CHECK_FALSE(some.wants("page"));
    CHECK_FALSE(some.wants("page_fault_kernel"));
    CHECK_FALSE(some.wants("fault_scaling_1"));
    CHECK_FALSE(some.wants(""));
    FigureSelection one("calibration");
    CHECK(one.wants("calibration"));
    CHECK_FALSE(one.wants("calibratio"));
    FigureSelection trailing("a,");
    CHECK(trailing.wants("a"));
    CHECK_FALSE(trailing.wants("b"));
}

TEST_CASE("bench report: events per operation have exactly two decimals, rounded", "[bench_report]")
{
    CHECK(per_operation(0, 100) == "0.00");
    CHECK(per_operation(200, 100) == "2.00");
    CHECK(per_operation(1, 3) == "0.33");
    CHECK(per_operation(2, 3) == "0.67");
    CHECK(per_operation(1, 200) == "0.01"); // 0.005 rounds up
    CHECK(per_operation(1, 201) == "0.00");
    CHECK(per_operation(8192 * 20100ull, 20100) == "8192.00");
    CHECK(per_operation(5, 1) == "5.00");
}

TEST_CASE("bench report: a figure line names its unit and every event, in the contract's order", "[bench_report]")
{
    EventDeltas events;
    for (usize i = 0; i < abi::kEventCount; ++i)
        events.values[i] = (i + 1) * 100;
    StringSink sink;
    format_figure(sink, "page_fault", 3216, 2960, "instructions", events, 100);
    CHECK(sink.text
        == "bench: page_fault median=3216 min=2960 unit=instructions syscalls=1.00 exceptions=2.00 interrupts=3.00 "
           "ipis=4.00 context_switches=5.00 as_switches=6.00 tlb_flush_page=7.00 tlb_flush_full=8.00 "
           "shootdown_ipis=9.00 ipc_fast=10.00 ipc_full=11.00 bytes_copied=12.00 faults_kernel=13.00 "
           "faults_pager=14.00 frames_zeroed=15.00");
    // The study's reader (docs/benchmarks.md, "Lines") takes this form.
    std::regex contract("^bench: [a-z0-9_]+ median=[0-9]+ min=[0-9]+ unit=[a-z_]+( [a-z_]+=[0-9]+\\.[0-9]{2}){15}$");
    CHECK(std::regex_match(sink.text, contract));
}

TEST_CASE("bench report: begin, skipped and failed lines", "[bench_report]")
{
    StringSink begin;
    format_begin(begin, "microkernel", Mode::Icount, 2);
    CHECK(begin.text == "bench: begin placement=microkernel mode=icount cpus=2");
    StringSink skipped;
    format_skipped(skipped, "fault_scaling_4", "needs 4 CPUs");
    CHECK(skipped.text == "bench: fault_scaling_4 skipped: needs 4 CPUs");
    StringSink failed;
    format_failed(failed, "spawn_storm", "3 programs did not start");
    CHECK(failed.text == "bench: spawn_storm failed: 3 programs did not start");
}

TEST_CASE("bench report: rates per second of the guest's clock", "[bench_report]")
{
    // Under -icount shift=0 the TSC runs at 10^9 ticks a second.
    CHECK(per_second(4096, 4096 * 2000, 1'000'000) == 500'000);
    CHECK(per_second(8000, 1'000'000'000, 1'000'000) == 8000);
    CHECK(per_second(5, 0, 1'000'000) == 0);
}

TEST_CASE("bench report: the event names are the study's columns", "[bench_report]")
{
    const char* expected[] = { "syscalls", "exceptions", "interrupts", "ipis", "context_switches", "as_switches",
        "tlb_flush_page", "tlb_flush_full", "shootdown_ipis", "ipc_fast", "ipc_full", "bytes_copied",
        "faults_kernel", "faults_pager", "frames_zeroed" };
    REQUIRE(abi::kEventCount == sizeof(expected) / sizeof(expected[0]));
    for (usize i = 0; i < abi::kEventCount; ++i)
        CHECK(std::string(abi::kEventNames[i]) == expected[i]);
}
