// bench_log: reads what a benchmark run printed on its serial port (the
// study's contract, docs/study.md "What a run prints") into Figure records.
//
//   bench: begin placement=<p> mode=<m> cpus=<n>
//   bench: <figure> median=<N> min=<N> unit=<unit>[ <event>=<value>]...
//   bench: <figure> skipped: <why>
//   bench: <figure> failed: <why>
//   bench: done
//   isolation: server=<s> outcome=<o> <free text>
//   PANIC on CPU <n> ...              (the kernel's panic report)
//
// Everything else in a log is free text and is ignored. A line may end in
// CR (the serial port's CR LF). Host code: used by the study-report tool and
// tested by tests/host/study_report_test.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace study {

// The kernel's event counters, in the order of the CSV's columns
// (docs/study.md, "Event counters").
inline constexpr std::array<std::string_view, 15> kEventNames {
    "syscalls", "exceptions", "interrupts", "ipis", "context_switches", "as_switches",
    "tlb_flush_page", "tlb_flush_full", "shootdown_ipis", "ipc_fast", "ipc_full",
    "bytes_copied", "faults_kernel", "faults_pager", "frames_zeroed",
};

// Events per operation in hundredths (the contract prints at most two
// decimals), so that sums and differences are exact.
using Hundredths = std::int64_t;

enum class FigureStatus { Measured, Skipped, Failed };

struct Figure {
    std::string name;
    FigureStatus status = FigureStatus::Measured;
    std::uint64_t median = 0;
    std::uint64_t minimum = 0;
    std::string unit;
    std::array<std::optional<Hundredths>, kEventNames.size()> events {};
    std::string why; // skipped or failed
};

struct RunLog {
    std::string placement; // from the begin line; empty if none came
    std::string mode;
    unsigned cpus = 0;
    std::vector<Figure> figures;
    bool done = false;                // "bench: done" came
    std::optional<std::string> panic; // the first "PANIC on CPU" line
    struct Isolation {
        std::string server;
        std::string outcome;
        std::string detail;
    };
    std::vector<Isolation> isolation;
    std::vector<std::string> problems; // malformed bench: lines, said plainly
};

// Parses one line; exposed for the tests.
std::optional<Hundredths> parse_hundredths(std::string_view text);

RunLog parse_run_log(std::string_view text);

// "1234" or "1234.50": hundredths as the contract prints them.
std::string format_hundredths(Hundredths value);

// True for units that count things per second (more is better).
bool is_rate_unit(std::string_view unit);

} // namespace study
