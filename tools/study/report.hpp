// report: report.md of a study (docs/study.md shows one): the figures per
// CPU count, the goals with what was measured, each difference
// between placements explained from the kernel's event counters, the
// scaling workloads, fault isolation side by side and the size of ring 0.
// plots: the gnuplot scripts and data behind the report's SVG plots.
#pragma once

#include "study.hpp"

#include <string>
#include <vector>

namespace study {

std::string render_report(const Study& study, const std::vector<std::string>& plot_names);

// The figures tables alone (one per CPU count), for the terminal.
std::string render_figure_tables(const Study& study);

// "1234567" -> "1,234,567".
std::string with_thousands(std::uint64_t value);

// The events that differ between two rows, in words, per operation:
// "+2 address-space switches, +1 IPC message (full path)"; empty if none.
std::string explain_difference(const Row& from, const Row& to);

struct PlotFile {
    std::string name;    // file name, relative to the plots folder
    std::string content;
};

// For every workload a clustered bar chart across placements (bars) and
// CPU counts (clusters): <workload>.gp and <workload>.dat; for the
// numbered families (fault_scaling_N, ipc_throughput_N_pairs) a line per
// placement over N at the largest CPU count. Each .gp writes <name>.svg.
std::vector<PlotFile> render_plots(const Study& study);

} // namespace study
