// plots: gnuplot scripts and their data for report.md (report.hpp).
// Each script is self-contained (run it in the plots folder: gnuplot X.gp)
// and writes an SVG of the same name.
#include "report.hpp"

#include <algorithm>

namespace study {

namespace {

constexpr std::string_view kHeader = "set terminal svg size 760,420 dynamic font 'sans,11'\n"
                                     "set datafile missing '?'\n"
                                     "set key outside right top\n"
                                     "set grid ytics\n"
                                     "set yrange [0:*]\n";

// The numbered families get a line plot over N; the rest a bar chart.
struct Family {
    std::string_view prefix;
    std::string_view title;
};
constexpr std::array<Family, 3> kFamilies { {
    { "fault_scaling_", "fault_scaling" },
    { "ipc_throughput_", "ipc_throughput" },
    { "ipc_server_threads_", "ipc_server_threads" },
} };

const Family* family_of(const std::string& workload)
{
    for (const Family& family : kFamilies) {
        if (workload.rfind(family.prefix, 0) == 0)
            return &family;
    }
    return nullptr;
}

std::uint64_t family_number(const std::string& workload, const Family& family)
{
    std::uint64_t value = 0;
    for (char c : workload.substr(family.prefix.size())) {
        if (c < '0' || c > '9')
            break;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

std::string value_or_missing(const Row* row)
{
    return row && row->status == FigureStatus::Measured ? std::to_string(row->median) : "?";
}

std::string unit_for(const Study& study, const std::string& workload)
{
    for (const Row& row : study.rows) {
        if (row.workload == workload && row.status == FigureStatus::Measured)
            return row.unit;
    }
    return "";
}

// Bars: one cluster per CPU count, one bar per placement.
void bar_chart(std::vector<PlotFile>& files, const Study& study, const std::string& workload)
{
    auto placements = study.placements();
    std::string data = "# cpus";
    for (const auto& placement : placements)
        data += " " + placement;
    data += "\n";
    for (unsigned cpus : study.cpu_counts()) {
        data += "\"" + std::to_string(cpus) + (cpus == 1 ? " CPU\"" : " CPUs\"");
        for (const auto& placement : placements)
            data += " " + value_or_missing(study.find(placement, workload, cpus));
        data += "\n";
    }
    std::string script(kHeader);
    script += "set output '" + workload + ".svg'\n";
    script += "set title '" + workload + " (median)'\n";
    script += "set ylabel '" + unit_for(study, workload) + "'\n";
    script += "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n";
    script += "plot ";
    for (std::size_t i = 0; i < placements.size(); ++i) {
        script += i == 0 ? "'" + workload + ".dat' using 2:xtic(1)" : ", '' using " + std::to_string(i + 2);
        script += " title '" + placements[i] + "'";
    }
    script += "\n";
    files.push_back({ workload + ".dat", data });
    files.push_back({ workload + ".gp", script });
}

// Lines over N at the largest CPU count that ran the family.
void line_chart(std::vector<PlotFile>& files, const Study& study, const Family& family)
{
    std::vector<std::string> members;
    for (const auto& workload : study.workloads()) {
        if (family_of(workload) == &family)
            members.push_back(workload);
    }
    if (members.empty())
        return;
    auto placements = study.placements();
    std::string name(family.title);
    std::string data = "# n";
    for (const auto& placement : placements)
        data += " " + placement;
    data += "\n";
    // Each N is taken from the largest CPU count that measured it.
    for (const auto& workload : members) {
        data += std::to_string(family_number(workload, family));
        for (const auto& placement : placements) {
            const Row* best = nullptr;
            for (unsigned cpus : study.cpu_counts()) {
                const Row* row = study.find(placement, workload, cpus);
                if (row && row->status == FigureStatus::Measured)
                    best = row;
            }
            data += " " + value_or_missing(best);
        }
        data += "\n";
    }
    std::string script(kHeader);
    script += "set output '" + name + ".svg'\n";
    script += "set title '" + name + " over N (at the most CPUs measured)'\n";
    script += "set xlabel 'N'\nset ylabel '" + unit_for(study, members.front()) + "'\n";
    script += "set logscale x 2\n";
    script += "plot ";
    for (std::size_t i = 0; i < placements.size(); ++i) {
        script += i == 0 ? "'" + name + ".dat'" : ", ''";
        script += " using 1:" + std::to_string(i + 2) + " with linespoints title '" + placements[i] + "'";
    }
    script += "\n";
    files.push_back({ name + ".dat", data });
    files.push_back({ name + ".gp", script });
}

} // namespace

std::vector<PlotFile> render_plots(const Study& study)
{
    std::vector<PlotFile> files;
    for (const auto& workload : study.workloads()) {
        if (!family_of(workload))
            bar_chart(files, study, workload);
    }
    for (const Family& family : kFamilies)
        line_chart(files, study, family);
    return files;
}

} // namespace study
