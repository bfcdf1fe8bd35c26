// The study's reader and writers (tools/study): the log format of the
// contract, the manifest, results.csv's order and columns, the report's
// explanations and goals, the plots' data.
#include "tools/study/bench_log.hpp"
#include "tools/study/report.hpp"
#include "tools/study/study.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

using namespace study;

namespace {

constexpr const char* kMicrokernelLog = "herald: Herald microkernel (x86-64) starting\r\n"
                                        "bench: begin placement=microkernel mode=icount cpus=2\r\n"
                                        "bench: Herald benchmarks, free text\r\n"
                                        "bench: page_fault median=3238 min=2982 unit=instructions syscalls=1 as_switches=2.00 "
                                        "ipc_full=1 faults_pager=1 frames_zeroed=1\r\n"
                                        "bench: null_syscall median=206 min=206 unit=instructions syscalls=1\r\n"
                                        "bench: ipc_throughput_4_pairs skipped: needs 4 CPUs\r\n"
                                        "bench: spawn_storm failed: a program was killed\r\n"
                                        "bench: done\r\n";

constexpr const char* kMonolithicLog = "bench: begin placement=monolithic mode=icount cpus=2\n"
                                       "bench: page_fault median=2100 min=2000 unit=instructions syscalls=0 as_switches=0 "
                                       "ipc_full=0 faults_pager=0 frames_zeroed=1 faults_kernel=1\n"
                                       "bench: null_syscall median=206 min=206 unit=instructions syscalls=1\n"
                                       "bench: ipc_throughput_4_pairs skipped: needs 4 CPUs\n"
                                       "bench: done\n";

constexpr const char* kLinuxLog = "bench: begin placement=linux mode=icount cpus=1\n"
                                  "bench: null_syscall median=337 min=330 unit=instructions\n"
                                  "bench: page_fault median=6751 min=6700 unit=instructions\n"
                                  "bench: done\n";

Study load(const std::string& manifest, const std::map<std::string, std::string>& files)
{
    return load_study(manifest, [&](const std::string& path) -> std::optional<std::string> {
        auto found = files.find(path);
        if (found == files.end())
            return std::nullopt;
        return found->second;
    });
}

const std::map<std::string, std::string> kFiles {
    { "micro.log", kMicrokernelLog },
    { "mono.log", kMonolithicLog },
    { "linux.log", kLinuxLog },
    { "iso-micro.log", "bench: begin placement=microkernel mode=icount cpus=2\nisolation: server=console outcome=contained clients got PeerGone\nbench: done\n" },
    { "iso-mono.log", "bench: begin placement=monolithic mode=icount cpus=2\nPANIC on CPU 0 (APIC id 0): page fault in ring 0\n" },
};

// Deliberately out of the study's order: the output must not depend on it.
const std::string kManifest = "# a comment\n"
                              "meta\tmode\ticount\n"
                              "figures\tlinux\t1\tlinux.log\n"
                              "figures\tmonolithic\t2\tmono.log\n"
                              "figures\tmicrokernel\t2\tmicro.log\n"
                              "isolation\tmonolithic\tconsole\tiso-mono.log\n"
                              "isolation\tmicrokernel\tconsole\tiso-micro.log\n"
                              "ring0\tmonolithic\t200000\t30000\t21000\n"
                              "ring0\tmicrokernel\t150000\t20000\t15000\n";

} // namespace

TEST_CASE("study: a run log's figures, events, skips, failures and end")
{
    RunLog log = parse_run_log(kMicrokernelLog);
    CHECK(log.placement == "microkernel");
    CHECK(log.mode == "icount");
    CHECK(log.cpus == 2);
    CHECK(log.done);
    CHECK_FALSE(log.panic);
    CHECK(log.problems.empty());
    REQUIRE(log.figures.size() == 4);
    const Figure& fault = log.figures[0];
    CHECK(fault.name == "page_fault");
    CHECK(fault.median == 3238);
    CHECK(fault.minimum == 2982);
    CHECK(fault.unit == "instructions");
    CHECK(fault.events[0] == 100); // syscalls
    CHECK(fault.events[5] == 200); // as_switches=2.00
    CHECK_FALSE(fault.events[1]);  // exceptions: not printed
    CHECK(log.figures[2].status == FigureStatus::Skipped);
    CHECK(log.figures[2].why == "needs 4 CPUs");
    CHECK(log.figures[3].status == FigureStatus::Failed);
    CHECK(log.figures[3].why == "a program was killed");
}

TEST_CASE("study: a malformed figure line is a problem, other bench: lines are free text")
{
    RunLog log = parse_run_log("bench: x median=12 unit=instructions\n"          // no min
                               "bench: y median=1 min=1 unit=instructions ipc_fast=1.234\n" // 3 decimals
                               "bench: WARNING: anything at all\n"
                               "bench: done\n");
    CHECK(log.figures.size() == 1); // y, with its bad event left out
    CHECK(log.problems.size() == 2);
    CHECK(log.done);
}

TEST_CASE("study: a panic and an isolation line are found")
{
    RunLog log = parse_run_log("noise\nxx PANIC on CPU 1 (APIC id 1): page fault\nPANIC on CPU 0: later\n"
                               "isolation: server=loader outcome=contained detail words\n");
    REQUIRE(log.panic);
    CHECK(*log.panic == "PANIC on CPU 1 (APIC id 1): page fault");
    REQUIRE(log.isolation.size() == 1);
    CHECK(log.isolation[0].server == "loader");
    CHECK(log.isolation[0].outcome == "contained");
    CHECK(log.isolation[0].detail == "detail words");
    CHECK_FALSE(log.done);
}

TEST_CASE("study: hundredths parse and print exactly")
{
    CHECK(parse_hundredths("3") == 300);
    CHECK(parse_hundredths("2.5") == 250);
    CHECK(parse_hundredths("2.05") == 205);
    CHECK_FALSE(parse_hundredths("2."));
    CHECK_FALSE(parse_hundredths("2.123"));
    CHECK_FALSE(parse_hundredths("-1"));
    CHECK_FALSE(parse_hundredths("x"));
    CHECK_FALSE(parse_hundredths(""));
    CHECK(format_hundredths(300) == "3");
    CHECK(format_hundredths(205) == "2.05");
    CHECK(format_hundredths(-150) == "-1.50");
    CHECK(with_thousands(1234567) == "1,234,567");
    CHECK(with_thousands(999) == "999");
    CHECK(is_rate_unit("faults_per_second"));
    CHECK_FALSE(is_rate_unit("instructions"));
}

TEST_CASE("study: results.csv has fixed columns in the study's order")
{
    Study result = load(kManifest, kFiles);
    CHECK(result.notes.empty());
    std::string csv = render_csv(result);
    std::string header = csv.substr(0, csv.find('\n'));
    CHECK(header == "placement,workload,cpus,mode,status,median,min,unit,syscalls,exceptions,interrupts,ipis,context_switches,"
                    "as_switches,tlb_flush_page,tlb_flush_full,shootdown_ipis,ipc_fast,ipc_full,bytes_copied,faults_kernel,"
                    "faults_pager,frames_zeroed");
    // microkernel rows first (null_syscall before page_fault), then monolithic, then linux.
    auto at = [&](const char* text) { return csv.find(text); };
    CHECK(at("microkernel,null_syscall,2,icount,measured,206,206,instructions,1,") != std::string::npos);
    CHECK(at("microkernel,null_syscall") < at("microkernel,page_fault"));
    CHECK(at("microkernel,page_fault") < at("microkernel,ipc_throughput_4_pairs"));
    CHECK(at("microkernel,ipc_throughput_4_pairs,2,icount,skipped,,,") != std::string::npos);
    CHECK(at("microkernel,spawn_storm") < at("monolithic,null_syscall"));
    CHECK(at("monolithic,page_fault") < at("linux,null_syscall"));
    CHECK(at("microkernel,page_fault,2,icount,measured,3238,2982,instructions,1,,,,,2,,,,,1,,,1,1") != std::string::npos);
    // The same runs listed in another order give the same bytes.
    std::string reordered = "figures\tmicrokernel\t2\tmicro.log\nfigures\tlinux\t1\tlinux.log\nfigures\tmonolithic\t2\tmono.log\n";
    CHECK(render_csv(load(reordered, kFiles)) == csv);
}

TEST_CASE("study: a run that is not what the driver booted is not used, and said so")
{
    Study result = load("figures\tmonolithic\t4\tmono.log\nfigures\tmicrokernel\t2\tmissing.log\nnonsense\n", kFiles);
    CHECK(result.rows.empty());
    REQUIRE(result.notes.size() == 3);
    CHECK(result.notes[0].find("expected placement=monolithic cpus=4") != std::string::npos);
    CHECK(result.notes[1].find("cannot read the log missing.log") != std::string::npos);
    CHECK(result.notes[2].find("cannot read the line") != std::string::npos);
}

TEST_CASE("study: differences are explained from the event counts")
{
    Study result = load(kManifest, kFiles);
    const Row* micro = result.find("microkernel", "page_fault", 2);
    const Row* mono = result.find("monolithic", "page_fault", 2);
    REQUIRE(micro);
    REQUIRE(mono);
    CHECK(explain_difference(*micro, *mono)
        == "-1 system call, -2 address-space switches, -1 IPC message (full path), -1 page fault served by the pager");
    Row none = *micro, many = *micro;
    none.events[11] = 0;
    many.events[11] = 1359600; // bytes_copied, 13,596 per operation
    CHECK(explain_difference(none, many) == "+13,596 bytes copied between address spaces");
    const Row* micro_syscall = result.find("microkernel", "null_syscall", 2);
    CHECK(explain_difference(*micro_syscall, *result.find("monolithic", "null_syscall", 2)).empty());
}

TEST_CASE("study: the report holds figures, goals, differences, isolation and ring-0 size")
{
    Study result = load(kManifest, kFiles);
    std::string report = render_report(result, { "page_fault.svg" });
    CHECK(report.find("| page_fault | instructions | 3,238 | 2,100 |  |") != std::string::npos);
    CHECK(report.find("| null_syscall | instructions |  |  | 337 |") != std::string::npos); // linux at 1 CPU
    // 206 vs Linux's 337 on one CPU: 0.61x, the 0.5x goal is missed.
    CHECK(report.find("| null system call ≤ 0.5× Linux's getppid | 206 vs 337 (Linux getppid on 1 CPU): 0.61× | missed |") != std::string::npos);
    CHECK(report.find("| IPC round trip on one CPU ≤ 700 instructions |  | not measured |") != std::string::npos);
    // 3,238 vs 6,751: 0.48x, met.
    CHECK(report.find("0.48× | met |") != std::string::npos);
    CHECK(report.find("- monolithic: -1,138 instructions (-35.1%); per operation: -1 system call") != std::string::npos);
    // null_syscall is the same in both placements: one line, not a list of zeros.
    CHECK(report.find("no movable server takes part): null_syscall.") != std::string::npos);
    CHECK(report.find("### null_syscall") == std::string::npos);
    CHECK(report.find("| console | contained | kernel_panic |") != std::string::npos);
    CHECK(report.find("| monolithic | 200,000 | 30,000 | 21,000 |") != std::string::npos);
    CHECK(report.find("- spawn_storm, 2 CPUs, microkernel: **failed**: a program was killed\n") != std::string::npos);
    // The same skip in two placements is one line naming both.
    CHECK(report.find("- ipc_throughput_4_pairs, 2 CPUs, microkernel, monolithic: skipped: needs 4 CPUs\n") != std::string::npos);
    CHECK(report.find("[page_fault.svg](plots/page_fault.svg)") != std::string::npos);
}

TEST_CASE("study: plots have a bar chart per workload and lines for the numbered families")
{
    Study result = load(kManifest, kFiles);
    auto files = render_plots(result);
    auto find = [&](const std::string& name) -> const PlotFile* {
        for (const auto& file : files) {
            if (file.name == name)
                return &file;
        }
        return nullptr;
    };
    const PlotFile* data = find("page_fault.dat");
    REQUIRE(data);
    CHECK(data->content == "# cpus microkernel monolithic linux\n\"1 CPU\" ? ? 6751\n\"2 CPUs\" 3238 2100 ?\n");
    const PlotFile* script = find("page_fault.gp");
    REQUIRE(script);
    CHECK(script->content.find("set output 'page_fault.svg'") != std::string::npos);
    CHECK(script->content.find("using 2:xtic(1) title 'microkernel', '' using 3 title 'monolithic', '' using 4 title 'linux'") != std::string::npos);
    // ipc_throughput_4_pairs was only skipped: a line chart with no number.
    const PlotFile* lines = find("ipc_throughput.dat");
    REQUIRE(lines);
    CHECK(lines->content == "# n microkernel monolithic linux\n4 ? ? ?\n");
}
