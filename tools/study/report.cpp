// report: report.md of a study (report.hpp).
#include "report.hpp"

#include <algorithm>
#include <cstdio>

namespace study {

namespace {

// How the report names each event per operation (singular, plural).
struct EventWords {
    std::string_view one;
    std::string_view many;
};

constexpr std::array<EventWords, kEventNames.size()> kEventWords { {
    { "system call", "system calls" },
    { "exception", "exceptions" },
    { "interrupt", "interrupts" },
    { "IPI", "IPIs" },
    { "context switch", "context switches" },
    { "address-space switch", "address-space switches" },
    { "single-page TLB flush", "single-page TLB flushes" },
    { "full TLB flush", "full TLB flushes" },
    { "shootdown IPI", "shootdown IPIs" },
    { "IPC message (fast path)", "IPC messages (fast path)" },
    { "IPC message (full path)", "IPC messages (full path)" },
    { "byte copied between address spaces", "bytes copied between address spaces" },
    { "page fault resolved by the kernel", "page faults resolved by the kernel" },
    { "page fault served by the pager", "page faults served by the pager" },
    { "frame zeroed", "frames zeroed" },
} };

std::string cell(const Row* row)
{
    if (!row)
        return "";
    switch (row->status) {
    case FigureStatus::Skipped:
        return "skipped";
    case FigureStatus::Failed:
        return "**failed**";
    case FigureStatus::Measured:
        break;
    }
    return with_thousands(row->median);
}

// Signed percentage with one decimal: "+45.2%".
std::string percent(double ratio)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%+.1f%%", (ratio - 1.0) * 100.0);
    return text;
}

std::string ratio_text(double ratio)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%.2f×", ratio);
    return text;
}

std::string signed_thousands(std::int64_t value)
{
    std::string magnitude = with_thousands(static_cast<std::uint64_t>(value < 0 ? -value : value));
    return (value < 0 ? "-" : "+") + magnitude;
}

bool measured(const Row* row) { return row && row->status == FigureStatus::Measured; }

// format_hundredths with thousands separators (the CSV keeps plain digits).
std::string hundredths_for_people(Hundredths value)
{
    std::uint64_t magnitude = static_cast<std::uint64_t>(value < 0 ? -value : value);
    std::string text = (value < 0 ? "-" : "") + with_thousands(magnitude / 100);
    std::string plain = format_hundredths(static_cast<Hundredths>(magnitude));
    auto dot = plain.find('.');
    return dot == std::string::npos ? text : text + plain.substr(dot);
}

std::string unit_of(const Study& study, const std::string& workload, unsigned cpus)
{
    for (const Row& row : study.rows) {
        if (row.workload == workload && row.cpus == cpus && row.status == FigureStatus::Measured)
            return row.unit;
    }
    return "";
}

// The CPU count the report leads with: 2 if present (the study's default),
// else the largest.
unsigned main_cpus(const Study& study)
{
    auto counts = study.cpu_counts();
    if (counts.empty())
        return 0;
    if (std::find(counts.begin(), counts.end(), 2u) != counts.end())
        return 2;
    return counts.back();
}

void figures_table(std::string& out, const Study& study, unsigned cpus)
{
    auto placements = study.placements();
    out += "\n### " + std::to_string(cpus) + (cpus == 1 ? " CPU" : " CPUs") + "\n\n| workload | unit |";
    for (const auto& placement : placements)
        out += " " + placement + " |";
    out += "\n|---|---|";
    for (std::size_t i = 0; i < placements.size(); ++i)
        out += "---:|";
    out += "\n";
    for (const auto& workload : study.workloads()) {
        bool any = false;
        for (const auto& placement : placements)
            any = any || study.find(placement, workload, cpus);
        if (!any)
            continue;
        out += "| " + workload + " | " + unit_of(study, workload, cpus) + " |";
        for (const auto& placement : placements)
            out += " " + cell(study.find(placement, workload, cpus)) + " |";
        out += "\n";
    }
}

// ---- goals (issue 11, "Performance goals"; docs/study.md) ----

struct GoalResult {
    std::string goal;
    std::string measured;
    std::string verdict; // met | missed | not measured
};

// Linux's row for a workload: at `cpus` if it ran there, else at the fewest
// CPUs it ran with (under icount Linux may run on one CPU only).
const Row* linux_row(const Study& study, const std::string& workload, unsigned cpus, unsigned& used_cpus)
{
    if (const Row* row = study.find("linux", workload, cpus); measured(row)) {
        used_cpus = cpus;
        return row;
    }
    for (unsigned count : study.cpu_counts()) {
        if (const Row* row = study.find("linux", workload, count); measured(row)) {
            used_cpus = count;
            return row;
        }
    }
    return nullptr;
}

GoalResult ratio_goal(const std::string& goal, const Row* ours, const Row* theirs, double limit, const std::string& their_name)
{
    if (!measured(ours) || !measured(theirs) || theirs->median == 0)
        return { goal, "", "not measured" };
    double ratio = static_cast<double>(ours->median) / static_cast<double>(theirs->median);
    std::string text = with_thousands(ours->median) + " vs " + with_thousands(theirs->median) + " (" + their_name + "): " + ratio_text(ratio);
    return { goal, text, ratio <= limit ? "met" : "missed" };
}

GoalResult absolute_goal(const std::string& goal, const Row* ours, std::uint64_t limit)
{
    if (!measured(ours))
        return { goal, "", "not measured" };
    return { goal, with_thousands(ours->median) + " " + ours->unit, ours->median <= limit ? "met" : "missed" };
}

// The microkernel against the monolithic placement on a macro workload:
// within 1.2× (a cost no more than 1.2 times, a rate no less than 1/1.2).
GoalResult macro_goal(const Study& study, const std::string& workload, unsigned cpus)
{
    constexpr double kLimit = 1.2;
    std::string goal = workload + ": microkernel within 1.2× of monolithic";
    const Row* micro = study.find("microkernel", workload, cpus);
    const Row* mono = study.find("monolithic", workload, cpus);
    if (!measured(micro) || !measured(mono) || micro->median == 0 || mono->median == 0)
        return { goal, "", "not measured" };
    bool rate = is_rate_unit(micro->unit);
    // Always "how many times worse the microkernel is".
    double worse = rate ? static_cast<double>(mono->median) / static_cast<double>(micro->median)
                        : static_cast<double>(micro->median) / static_cast<double>(mono->median);
    std::string text = with_thousands(micro->median) + " vs " + with_thousands(mono->median) + " " + micro->unit + ": " + ratio_text(worse)
        + (rate ? " slower" : " the cost");
    return { goal, text, worse <= kLimit ? "met" : "missed" };
}

std::vector<GoalResult> evaluate_goals(const Study& study, unsigned cpus)
{
    std::vector<GoalResult> goals;
    unsigned linux_cpus = cpus;
    auto linux_name = [&](const char* what) { return std::string(what) + " on " + std::to_string(linux_cpus) + " CPU" + (linux_cpus == 1 ? "" : "s"); };
    const Row* micro_syscall = study.find("microkernel", "null_syscall", cpus);
    const Row* linux_syscall = linux_row(study, "null_syscall", cpus, linux_cpus);
    goals.push_back(ratio_goal("null system call ≤ 0.5× Linux's getppid", micro_syscall, linux_syscall, 0.5, linux_name("Linux getppid")));
    goals.push_back(absolute_goal("IPC round trip on one CPU ≤ 700 instructions", study.find("microkernel", "ipc_round_trip_same_cpu", cpus), 700));
    goals.push_back(absolute_goal("IPC round trip across CPUs ≤ 1,400 instructions (2× the one-CPU goal)",
        study.find("microkernel", "ipc_round_trip_cross_cpu", cpus), 1400));
    goals.push_back(ratio_goal("page fault served in ring 3 ≤ 1.5× served in ring 0", study.find("microkernel", "page_fault", cpus),
        study.find("memory-in-kernel", "page_fault", cpus), 1.5, "memory-in-kernel"));
    const Row* linux_fault = linux_row(study, "page_fault", cpus, linux_cpus);
    goals.push_back(ratio_goal("page fault served in ring 3 ≤ 0.5× Linux's minor fault", study.find("microkernel", "page_fault", cpus),
        linux_fault, 0.5, linux_name("Linux")));
    const Row* linux_spawn = linux_row(study, "spawn_to_exit", cpus, linux_cpus);
    goals.push_back(ratio_goal("spawn→exit ≤ 0.25× Linux's fork+exec+wait", study.find("microkernel", "spawn_to_exit", cpus), linux_spawn,
        0.25, linux_name("Linux")));
    for (const auto& workload : study.workloads()) {
        if (workload == "spawn_storm" || workload == "request_reply" || workload == "console_flood" || workload.rfind("fault_scaling_", 0) == 0)
            goals.push_back(macro_goal(study, workload, cpus));
    }
    return goals;
}

void goals_section(std::string& out, const Study& study, unsigned cpus)
{
    out += "\n## Goals\n\nFrom issue 11, Herald at " + std::to_string(cpus)
        + " CPUs. Instructions (icount) or cycles (KVM); in wall mode the goals are not meaningful.\n\n"
          "| goal | measured | verdict |\n|---|---|---|\n";
    for (const GoalResult& goal : evaluate_goals(study, cpus))
        out += "| " + goal.goal + " | " + goal.measured + " | " + goal.verdict + " |\n";
}

// ---- differences explained ----

bool same_figure(const Row& a, const Row& b)
{
    return a.unit == b.unit && a.median == b.median && explain_difference(a, b).empty();
}

void difference_line(std::string& out, const Row& from, const Row& to, const std::string& label)
{
    if (from.unit != to.unit)
        return;
    std::int64_t delta = static_cast<std::int64_t>(to.median) - static_cast<std::int64_t>(from.median);
    out += "- " + label + ": " + signed_thousands(delta) + " " + to.unit;
    if (from.median != 0)
        out += " (" + percent(static_cast<double>(to.median) / static_cast<double>(from.median)) + ")";
    std::string events = explain_difference(from, to);
    out += events.empty() ? "; the event counts are the same" : "; per operation: " + events;
    out += "\n";
}

// A workload whose figure and events are the same in every placement
// involves no movable server (a system call, a yield, IPC between two
// programs): one line says so instead of a list of zeros.
void differences_section(std::string& out, const Study& study, unsigned cpus)
{
    out += "\n## Where the differences come from\n\nAt " + std::to_string(cpus)
        + " CPUs, each placement against the microkernel (every server in ring 3), per operation. "
          "The event counts are the kernel's own (docs/study.md, \"Event counters\").\n";
    std::string unchanged;
    for (const auto& workload : study.workloads()) {
        const Row* base = study.find("microkernel", workload, cpus);
        if (!measured(base))
            continue;
        std::string lines;
        std::size_t compared = 0;
        for (std::string_view placement : kPlacements) {
            if (placement == "microkernel" || placement == "linux")
                continue;
            const Row* other = study.find(placement, workload, cpus);
            if (!measured(other))
                continue;
            ++compared;
            if (!same_figure(*base, *other))
                difference_line(lines, *base, *other, std::string(placement));
        }
        if (compared == 0)
            continue;
        if (lines.empty()) {
            unchanged += (unchanged.empty() ? "" : ", ") + workload;
            continue;
        }
        out += "\n### " + workload + "\n\nmicrokernel: " + with_thousands(base->median) + " " + base->unit
            + "; placements not listed measured the same.\n\n" + lines;
    }
    if (!unchanged.empty())
        out += "\nThe same figure and events in every placement (no movable server takes part): " + unchanged + ".\n";
}

// ---- scaling, isolation, ring 0 ----

bool numbered_family(const std::string& workload, std::string_view prefix)
{
    return workload.rfind(prefix, 0) == 0;
}

void scaling_section(std::string& out, const Study& study)
{
    std::string body;
    for (std::string_view family :
        { std::string_view("fault_scaling_"), std::string_view("ipc_throughput_"), std::string_view("ipc_server_threads_") }) {
        for (const auto& workload : study.workloads()) {
            if (!numbered_family(workload, family))
                continue;
            body += "| " + workload + " |";
            for (unsigned cpus : study.cpu_counts()) {
                std::string cells;
                for (const auto& placement : study.placements()) {
                    const Row* row = study.find(placement, workload, cpus);
                    if (measured(row))
                        cells += (cells.empty() ? "" : "<br>") + placement + " " + with_thousands(row->median);
                }
                body += " " + cells + " |";
            }
            body += "\n";
        }
    }
    if (body.empty())
        return;
    out += "\n## Scaling\n\nPer second of the guest's clock (under icount, 10^9 instructions make a second).\n\n| workload |";
    std::string rule = "|---|";
    for (unsigned cpus : study.cpu_counts()) {
        out += " " + std::to_string(cpus) + (cpus == 1 ? " CPU |" : " CPUs |");
        rule += "---|";
    }
    out += "\n" + rule + "\n" + body;
}

void isolation_section(std::string& out, const Study& study)
{
    if (study.isolation.empty())
        return;
    std::vector<std::string> servers;
    for (const auto& result : study.isolation) {
        if (std::find(servers.begin(), servers.end(), result.server) == servers.end())
            servers.push_back(result.server);
    }
    out += "\n## Fault isolation\n\nEach server made to fault by a test-only request: in ring 3 the server "
           "should end alone (its clients get PeerGone, the rest runs on); in ring 0 the kernel panics.\n\n| server |";
    std::vector<std::string> placements;
    for (const auto& result : study.isolation) {
        if (std::find(placements.begin(), placements.end(), result.placement) == placements.end())
            placements.push_back(result.placement);
    }
    std::sort(placements.begin(), placements.end(), [](const std::string& a, const std::string& b) { return placement_before(a, b); });
    std::string rule = "|---|";
    for (const auto& placement : placements) {
        out += " " + placement + " |";
        rule += "---|";
    }
    out += "\n" + rule + "\n";
    for (const auto& server : servers) {
        out += "| " + server + " |";
        for (const auto& placement : placements) {
            auto found = std::find_if(study.isolation.begin(), study.isolation.end(),
                [&](const IsolationResult& result) { return result.server == server && result.placement == placement; });
            out += " " + (found == study.isolation.end() ? std::string() : found->outcome) + " |";
        }
        out += "\n";
    }
}

void ring0_section(std::string& out, const Study& study)
{
    if (study.ring0.empty())
        return;
    out += "\n## The size of ring 0\n\nThe normal kernel image of each placement (tools/ring0-size.sh): text bytes "
           "(.text and .rodata) and data bytes (.data and .bss), and the lines of the project's sources and headers "
           "compiled into it, each file counted once.\n\n"
           "| placement | text bytes | data bytes | source lines |\n|---|---:|---:|---:|\n";
    for (const Ring0Size& size : study.ring0)
        out += "| " + size.placement + " | " + with_thousands(size.text_bytes) + " | " + with_thousands(size.data_bytes) + " | "
            + with_thousands(size.source_lines) + " |\n";
}

void notes_section(std::string& out, const Study& study)
{
    // One line per figure, CPU count and reason, naming the placements it
    // applies to: a figure that needs more CPUs is skipped in every placement
    // alike, and 5 lines saying so would hide a failure among them.
    struct Group {
        const Row* first;
        std::vector<std::string> placements;
    };
    std::vector<Group> groups;
    for (const Row& row : study.rows) {
        if (row.status == FigureStatus::Measured)
            continue;
        auto same = [&row](const Group& group) {
            return group.first->workload == row.workload && group.first->cpus == row.cpus
                && group.first->status == row.status && group.first->why == row.why;
        };
        auto found = std::find_if(groups.begin(), groups.end(), same);
        if (found == groups.end())
            groups.push_back(Group { &row, { row.placement } });
        else
            found->placements.push_back(row.placement);
    }
    std::string body;
    for (const Group& group : groups) {
        const Row& row = *group.first;
        std::string where;
        for (const std::string& placement : group.placements)
            where += (where.empty() ? "" : ", ") + placement;
        body += "- " + row.workload + ", " + std::to_string(row.cpus) + " CPUs, " + where + ": "
            + (row.status == FigureStatus::Skipped ? "skipped: " : "**failed**: ") + row.why + "\n";
    }
    for (const std::string& note : study.notes)
        body += "- " + note + "\n";
    if (!body.empty())
        out += "\n## Notes\n\n" + body;
}

} // namespace

std::string with_thousands(std::uint64_t value)
{
    std::string digits = std::to_string(value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string explain_difference(const Row& from, const Row& to)
{
    std::string out;
    for (std::size_t i = 0; i < kEventNames.size(); ++i) {
        if (!from.events[i] || !to.events[i])
            continue;
        Hundredths delta = *to.events[i] - *from.events[i];
        if (delta == 0)
            continue;
        bool one = delta == 100 || delta == -100;
        if (!out.empty())
            out += ", ";
        out += (delta > 0 ? "+" : "") + hundredths_for_people(delta) + " " + std::string(one ? kEventWords[i].one : kEventWords[i].many);
    }
    return out;
}

std::string render_figure_tables(const Study& study)
{
    std::string out;
    for (unsigned cpus : study.cpu_counts())
        figures_table(out, study, cpus);
    return out;
}

std::string render_report(const Study& study, const std::vector<std::string>& plot_names)
{
    std::string out = "# Herald study: the same servers in ring 3 and in ring 0, and Linux\n\n";
    out += "Written by `./herald study`; docs/study.md says how to read it.\n\n";
    for (const auto& [key, value] : study.meta)
        out += "- " + key + ": " + value + "\n";
    out += "\nEach figure is the median over its samples: a cost per operation (lower is better) or a rate "
           "(`*_per_second`, higher is better). Under icount the unit is instructions counted by QEMU: exact and "
           "repeatable, but not time (no caches, no TLB model; docs/study.md, \"What QEMU counts\").\n";
    out += "\n## Figures\n";
    for (unsigned cpus : study.cpu_counts())
        figures_table(out, study, cpus);
    unsigned cpus = main_cpus(study);
    if (cpus != 0) {
        goals_section(out, study, cpus);
        differences_section(out, study, cpus);
    }
    scaling_section(out, study);
    isolation_section(out, study);
    ring0_section(out, study);
    if (!plot_names.empty()) {
        out += "\n## Plots\n\n";
        for (const auto& name : plot_names)
            out += "- [" + name + "](plots/" + name + ")\n";
    }
    notes_section(out, study);
    return out;
}

} // namespace study
