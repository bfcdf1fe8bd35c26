// study: the results of one `./herald study` run, gathered from the runs'
// logs (bench_log.hpp) as the driver (tools/study/run-study.sh) listed them
// in its manifest, and written out as results.csv. report.hpp turns a Study
// into report.md; plots.hpp into gnuplot scripts.
//
// The manifest is text, one run or fact per line, fields separated by tabs:
//   meta       <key> <value>                     (mode, qemu, command, ...)
//   figures    <placement> <cpus> <log file>     (a benchmark image's run)
//   isolation  <placement> <server> <log file>   (a fault-isolation run)
//   ring0      <placement> <text bytes> <data bytes> <source lines>
// Lines starting with '#' and empty lines are skipped.
//
// Everything here is ordered (placements and workloads in the study's own
// order, then by CPU count) so that two runs that measured the same
// figures write byte-identical CSV files.
#pragma once

#include "bench_log.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace study {

// The placements, from everything in ring 3 to everything in ring 0, then
// the reference (docs/study.md, "Placements").
inline constexpr std::array<std::string_view, 6> kPlacements {
    "microkernel", "memory-in-kernel", "loader-in-kernel", "console-in-kernel", "monolithic", "linux",
};

struct Row {
    std::string placement;
    std::string workload;
    unsigned cpus = 0;
    std::string mode;
    FigureStatus status = FigureStatus::Measured;
    std::uint64_t median = 0;
    std::uint64_t minimum = 0;
    std::string unit;
    std::array<std::optional<Hundredths>, kEventNames.size()> events {};
    std::string why;
};

struct IsolationResult {
    std::string placement;
    std::string server;
    std::string outcome; // contained | kernel_panic | no_result | what the image said
    std::string detail;
};

struct Ring0Size {
    std::string placement;
    std::uint64_t text_bytes = 0;
    std::uint64_t data_bytes = 0;
    std::uint64_t source_lines = 0;
};

struct Study {
    std::vector<std::pair<std::string, std::string>> meta;
    std::vector<Row> rows;
    std::vector<IsolationResult> isolation;
    std::vector<Ring0Size> ring0;
    std::vector<std::string> notes; // what went wrong while reading, said plainly

    std::optional<std::string> meta_value(std::string_view key) const;
    const Row* find(std::string_view placement, std::string_view workload, unsigned cpus) const;
    // The CPU counts that have rows, ascending.
    std::vector<unsigned> cpu_counts() const;
    // The workloads that have rows, in the study's order.
    std::vector<std::string> workloads() const;
    // The placements that have rows or isolation results, in the study's order.
    std::vector<std::string> placements() const;
};

using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

Study load_study(std::string_view manifest, const ReadFile& read_file);

// Orders workloads as the study lists them (micro, then macro, numbered
// ones by their number); unknown names last, alphabetically.
bool workload_before(std::string_view a, std::string_view b);
bool placement_before(std::string_view a, std::string_view b);

// results.csv: one row per figure,
// placement,workload,cpus,mode,status,median,min,unit,<events...>
std::string render_csv(const Study& study);

} // namespace study
