// study: gathering a run's logs into rows, and results.csv (study.hpp).
#include "study.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace study {

namespace {

// The study's workloads in the order the report shows them; a trailing
// '_' marks a numbered family (fault_scaling_1, _2, ...).
constexpr std::array<std::string_view, 17> kWorkloadOrder {
    "calibration", "null_syscall", "yield_same_cpu", "ipi_round_trip", "ipc_round_trip_same_cpu",
    "ipc_round_trip_cross_cpu", "ipc_round_trip_4k", "console_line", "page_fault", "heap_growth",
    "spawn_to_exit", "ipc_throughput_", "ipc_server_threads_", "spawn_storm", "request_reply", "fault_scaling_", "console_flood",
};

struct WorkloadKey {
    std::size_t rank;
    std::uint64_t number;
    std::string_view name;
};

// "ipc_throughput_4_pairs" -> 4 after the prefix "ipc_throughput_".
std::uint64_t leading_number(std::string_view text)
{
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

WorkloadKey workload_key(std::string_view name)
{
    for (std::size_t rank = 0; rank < kWorkloadOrder.size(); ++rank) {
        std::string_view known = kWorkloadOrder[rank];
        if (known.back() == '_') {
            if (name.substr(0, known.size()) == known)
                return { rank, leading_number(name.substr(known.size())), name };
        } else if (name == known) {
            return { rank, 0, name };
        }
    }
    return { kWorkloadOrder.size(), 0, name };
}

std::size_t placement_rank(std::string_view name)
{
    auto found = std::find(kPlacements.begin(), kPlacements.end(), name);
    return static_cast<std::size_t>(found - kPlacements.begin());
}

std::vector<std::string_view> split_tabs(std::string_view line)
{
    std::vector<std::string_view> fields;
    while (true) {
        auto tab = line.find('\t');
        fields.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos)
            return fields;
        line = line.substr(tab + 1);
    }
}

std::optional<std::uint64_t> parse_number(std::string_view text)
{
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

const char* status_name(FigureStatus status)
{
    switch (status) {
    case FigureStatus::Measured:
        return "measured";
    case FigureStatus::Skipped:
        return "skipped";
    case FigureStatus::Failed:
        return "failed";
    }
    return "?";
}

class Loader {
public:
    Loader(Study& study, const ReadFile& read_file) : m_study(study), m_read_file(read_file) { }

    void line(std::string_view text)
    {
        if (text.empty() || text.front() == '#')
            return;
        auto fields = split_tabs(text);
        std::string_view kind = fields[0];
        if (kind == "meta" && fields.size() == 3)
            m_study.meta.emplace_back(std::string(fields[1]), std::string(fields[2]));
        else if (kind == "figures" && fields.size() == 4)
            figures(fields[1], fields[2], std::string(fields[3]));
        else if (kind == "isolation" && fields.size() == 4)
            isolation(fields[1], fields[2], std::string(fields[3]));
        else if (kind == "ring0" && fields.size() == 5)
            ring0(fields);
        else
            m_study.notes.push_back("manifest: cannot read the line '" + std::string(text) + "'");
    }

private:
    std::optional<RunLog> read_log(const std::string& path)
    {
        auto text = m_read_file(path);
        if (!text) {
            m_study.notes.push_back("cannot read the log " + path);
            return std::nullopt;
        }
        RunLog log = parse_run_log(*text);
        for (const std::string& problem : log.problems)
            m_study.notes.push_back(path + ": " + problem);
        return log;
    }

    void figures(std::string_view placement, std::string_view cpus_text, const std::string& path)
    {
        auto cpus = parse_number(cpus_text);
        auto log = read_log(path);
        if (!log || !cpus)
            return;
        // The image says what it is; a mismatch means the driver booted the
        // wrong image, and the figures would land in the wrong row.
        if (log->placement != placement || log->cpus != *cpus) {
            m_study.notes.push_back(path + ": expected placement=" + std::string(placement) + " cpus=" + std::string(cpus_text)
                + ", the run said placement=" + log->placement + " cpus=" + std::to_string(log->cpus) + "; figures not used");
            return;
        }
        if (!log->done)
            m_study.notes.push_back(path + ": the run did not reach 'bench: done'"
                + (log->panic ? " (" + *log->panic + ")" : std::string()) + "; figures up to there are used");
        for (const Figure& figure : log->figures) {
            Row row;
            row.placement = std::string(placement);
            row.workload = figure.name;
            row.cpus = static_cast<unsigned>(*cpus);
            row.mode = log->mode;
            row.status = figure.status;
            row.median = figure.median;
            row.minimum = figure.minimum;
            row.unit = figure.unit;
            row.events = figure.events;
            row.why = figure.why;
            m_study.rows.push_back(std::move(row));
        }
    }

    void isolation(std::string_view placement, std::string_view server, const std::string& path)
    {
        IsolationResult result { std::string(placement), std::string(server), "no_result", {} };
        if (auto log = read_log(path)) {
            auto said = std::find_if(log->isolation.begin(), log->isolation.end(),
                [&](const RunLog::Isolation& entry) { return entry.server == server; });
            if (said != log->isolation.end()) {
                result.outcome = said->outcome;
                result.detail = said->detail;
            } else if (log->panic) {
                result.outcome = "kernel_panic";
                result.detail = *log->panic;
            } else {
                result.detail = "no isolation line and no panic in " + path;
            }
        }
        m_study.isolation.push_back(std::move(result));
    }

    void ring0(const std::vector<std::string_view>& fields)
    {
        auto text = parse_number(fields[2]);
        auto data = parse_number(fields[3]);
        auto lines = parse_number(fields[4]);
        if (!text || !data || !lines) {
            m_study.notes.push_back("manifest: bad ring0 numbers for " + std::string(fields[1]));
            return;
        }
        m_study.ring0.push_back({ std::string(fields[1]), *text, *data, *lines });
    }

    Study& m_study;
    const ReadFile& m_read_file;
};

template<typename T>
void csv_field(std::string& out, const T& value)
{
    out += ',';
    out += value;
}

} // namespace

bool workload_before(std::string_view a, std::string_view b)
{
    WorkloadKey left = workload_key(a), right = workload_key(b);
    if (left.rank != right.rank)
        return left.rank < right.rank;
    if (left.number != right.number)
        return left.number < right.number;
    return left.name < right.name;
}

bool placement_before(std::string_view a, std::string_view b)
{
    std::size_t left = placement_rank(a), right = placement_rank(b);
    return left != right ? left < right : a < b;
}

Study load_study(std::string_view manifest, const ReadFile& read_file)
{
    Study study;
    Loader loader(study, read_file);
    while (!manifest.empty()) {
        auto newline = manifest.find('\n');
        loader.line(manifest.substr(0, newline));
        manifest = newline == std::string_view::npos ? std::string_view() : manifest.substr(newline + 1);
    }
    std::stable_sort(study.rows.begin(), study.rows.end(), [](const Row& a, const Row& b) {
        if (a.placement != b.placement)
            return placement_before(a.placement, b.placement);
        if (a.workload != b.workload)
            return workload_before(a.workload, b.workload);
        return a.cpus < b.cpus;
    });
    std::stable_sort(study.isolation.begin(), study.isolation.end(), [](const IsolationResult& a, const IsolationResult& b) {
        if (a.server != b.server)
            return a.server < b.server;
        return placement_before(a.placement, b.placement);
    });
    std::stable_sort(study.ring0.begin(), study.ring0.end(),
        [](const Ring0Size& a, const Ring0Size& b) { return placement_before(a.placement, b.placement); });
    return study;
}

std::optional<std::string> Study::meta_value(std::string_view key) const
{
    for (const auto& [name, value] : meta) {
        if (name == key)
            return value;
    }
    return std::nullopt;
}

const Row* Study::find(std::string_view placement, std::string_view workload, unsigned cpus) const
{
    for (const Row& row : rows) {
        if (row.placement == placement && row.workload == workload && row.cpus == cpus)
            return &row;
    }
    return nullptr;
}

std::vector<unsigned> Study::cpu_counts() const
{
    std::set<unsigned> counts;
    for (const Row& row : rows)
        counts.insert(row.cpus);
    return { counts.begin(), counts.end() };
}

std::vector<std::string> Study::workloads() const
{
    std::vector<std::string> names;
    for (const Row& row : rows) {
        if (std::find(names.begin(), names.end(), row.workload) == names.end())
            names.push_back(row.workload);
    }
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return workload_before(a, b); });
    return names;
}

std::vector<std::string> Study::placements() const
{
    std::vector<std::string> names;
    auto add = [&](const std::string& name) {
        if (std::find(names.begin(), names.end(), name) == names.end())
            names.push_back(name);
    };
    for (const Row& row : rows)
        add(row.placement);
    for (const IsolationResult& result : isolation)
        add(result.placement);
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return placement_before(a, b); });
    return names;
}

std::string render_csv(const Study& study)
{
    std::string out = "placement,workload,cpus,mode,status,median,min,unit";
    for (std::string_view event : kEventNames) {
        out += ',';
        out += event;
    }
    out += '\n';
    for (const Row& row : study.rows) {
        out += row.placement;
        csv_field(out, row.workload);
        csv_field(out, std::to_string(row.cpus));
        csv_field(out, row.mode);
        csv_field(out, status_name(row.status));
        bool measured = row.status == FigureStatus::Measured;
        csv_field(out, measured ? std::to_string(row.median) : std::string());
        csv_field(out, measured ? std::to_string(row.minimum) : std::string());
        csv_field(out, row.unit);
        for (const auto& event : row.events)
            csv_field(out, event ? format_hundredths(*event) : std::string());
        out += '\n';
    }
    return out;
}

} // namespace study
