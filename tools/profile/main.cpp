// exec_profile: prints where a benchmark window's instructions went, from
// QEMU's log (exec_profile.hpp; run by tools/profile/profile-figure.sh,
// docs/benchmarks.md "Profiles").
//
//   exec_profile --trace LOG --kernel KERNEL.elf [--program NAME=FILE.elf]...
//                [--serial SERIAL-LOG --figure NAME] [--top N] [--nm LLVM-NM]
//
// LOG may be a FIFO that QEMU writes (-D): it is read as it comes, to its
// end (QEMU would wait for a reader otherwise). The operations of the window
// come from the run's serial log, which the runner ends with
// "window: <figure> operations=<N> ticks=<T>" for each figure.
#include "exec_profile.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/boot/elf.hpp"
#include "tools/nm_parser.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

using namespace herald::tools::profile;

namespace {

[[noreturn]] void fail(const std::string& why)
{
    std::fprintf(stderr, "exec_profile: %s\n", why.c_str());
    std::exit(2);
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail("cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

Symbols symbols_of(const std::string& nm, const std::string& elf)
{
    std::string command = nm + " -n -C -S --defined-only '" + elf + "'";
    std::FILE* pipe = popen(command.c_str(), "r");
    if (!pipe)
        fail("cannot run " + command);
    std::string text;
    char buffer[65536];
    std::size_t count;
    while ((count = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
        text.append(buffer, count);
    if (pclose(pipe) != 0)
        fail(command + " failed");
    std::vector<herald::tools::NmSymbol> parsed;
    std::string error;
    if (!herald::tools::parse_nm_output(text, parsed, error))
        fail(elf + ": " + error);
    std::vector<Symbol> symbols;
    for (const auto& symbol : parsed) {
        if (herald::tools::is_code_symbol(symbol.type))
            symbols.push_back(Symbol { symbol.address, symbol.name });
    }
    return Symbols(std::move(symbols));
}

Program program_of(const std::string& name, const std::string& path, const std::string& nm)
{
    std::string file = read_file(path);
    herald::ByteReader bytes(reinterpret_cast<const herald::u8*>(file.data()), file.size());
    auto image = herald::parse_elf(bytes, herald::abi::kUserCodeBase, herald::abi::kUserSpaceEnd);
    if (image.is_error())
        fail(path + ": not a program Herald runs");
    Program program { name, {}, symbols_of(nm, path) };
    for (herald::usize i = 0; i < image.value().segment_count; ++i) {
        const herald::ElfSegment& segment = image.value().segments[i];
        if (segment.executable)
            program.segments.push_back(Segment { segment.virtual_address, file.substr(segment.file_offset, segment.file_size) });
    }
    return program;
}

} // namespace

// The kernel's headers assert on broken invariants; a host tool just aborts.
namespace herald {
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line)
{
    std::fprintf(stderr, "exec_profile: HERALD_ASSERT(%s) failed at %s:%d\n", expression, file, line);
    std::abort();
}
} // namespace herald

int main(int argc, char** argv)
{
    std::string trace, kernel, nm = "llvm-nm";
    std::vector<std::pair<std::string, std::string>> program_files;
    std::string serial, figure;
    std::size_t top = 40;
    for (int i = 1; i < argc; ++i) {
        std::string option = argv[i];
        if (i + 1 >= argc)
            fail("missing a value after " + option);
        std::string value = argv[++i];
        if (option == "--trace")
            trace = value;
        else if (option == "--kernel")
            kernel = value;
        else if (option == "--nm")
            nm = value;
        else if (option == "--serial")
            serial = value;
        else if (option == "--figure")
            figure = value;
        else if (option == "--top")
            top = std::strtoull(value.c_str(), nullptr, 10);
        else if (option == "--program") {
            auto equals = value.find('=');
            if (equals == std::string::npos)
                fail("--program wants NAME=FILE.elf");
            program_files.emplace_back(value.substr(0, equals), value.substr(equals + 1));
        } else
            fail("unknown option " + option);
    }
    if (trace.empty() || kernel.empty())
        fail("usage: exec_profile --trace LOG --kernel KERNEL.elf [--program NAME=FILE.elf]... [--serial LOG --figure NAME] "
             "[--top N] [--nm LLVM-NM]");

    Symbols kernel_symbols = symbols_of(nm, kernel);
    std::uint64_t begin = kernel_symbols.address_of("herald::bench::Probe::begin(");
    std::uint64_t end = kernel_symbols.address_of("herald::bench::Probe::end(");
    if (!begin || !end)
        fail(kernel + " has no benchmark probe (herald::bench::Probe::begin/end): not a benchmark image");
    std::vector<Program> programs;
    for (const auto& [name, path] : program_files)
        programs.push_back(program_of(name, path, nm));

    TraceReader reader(begin, end);
    std::ifstream in(trace);
    if (!in)
        fail("cannot read " + trace);
    std::string line;
    while (std::getline(in, line))
        reader.line(line); // after the window: only drained
    if (!reader.window_closed())
        fail(reader.window_opened() ? "the log ended inside the window" : "the window never opened (no Begin mark ran)");

    std::uint64_t operations = 1, ticks = 0;
    if (!serial.empty()) {
        std::string log = read_file(serial);
        std::string key = "window: " + figure + " operations=";
        auto at = log.find(key);
        if (at == std::string::npos)
            fail(serial + " has no line \"" + key + "...\"");
        operations = std::max<std::uint64_t>(1, std::strtoull(log.c_str() + at + key.size(), nullptr, 10));
        auto ticks_at = log.find(" ticks=", at);
        if (ticks_at != std::string::npos)
            ticks = std::strtoull(log.c_str() + ticks_at + 7, nullptr, 10);
    }

    auto rows = attribute(reader.executed(), kernel_symbols, programs, herald::abi::kUserCodeBase, herald::abi::kUserSpaceEnd);
    std::uint64_t total = 0;
    std::map<std::string, std::uint64_t> by_where;
    for (const Row& row : rows) {
        total += row.instructions;
        by_where[row.where] += row.instructions;
    }
    auto share = [&](std::uint64_t n) { return total ? 100.0 * static_cast<double>(n) / static_cast<double>(total) : 0.0; };
    auto per_operation = [&](std::uint64_t n) { return static_cast<double>(n) / static_cast<double>(operations); };
    std::printf("profile: %llu instructions ran in the window (the guest's clock counted %llu ticks), %llu operations: "
                "%.0f per operation\n",
        static_cast<unsigned long long>(total), static_cast<unsigned long long>(ticks), static_cast<unsigned long long>(operations),
        per_operation(total));
    // Per CPU: with several CPUs at work (the scaling figures), the busiest
    // one is the bound on a machine whose CPUs run at once.
    std::uint64_t busiest = 0;
    for (const auto& [cpu, n] : reader.per_cpu_instructions()) {
        std::printf("cpu %u: %llu instructions, %.0f per operation\n", cpu, static_cast<unsigned long long>(n), per_operation(n));
        busiest = std::max(busiest, n);
    }
    if (busiest)
        std::printf("busiest CPU: %.0f instructions per operation; %.0f operations per 10^9 of its instructions\n",
            per_operation(busiest), 1e9 * static_cast<double>(operations) / static_cast<double>(busiest));
    std::vector<std::pair<std::uint64_t, std::string>> wheres;
    for (const auto& [where, n] : by_where)
        wheres.emplace_back(n, where);
    std::sort(wheres.rbegin(), wheres.rend());
    std::printf("\n%12s %7s  %s\n", "per op", "share", "where");
    for (const auto& [n, where] : wheres)
        std::printf("%12.0f %6.1f%%  %s\n", per_operation(n), share(n), where.c_str());
    std::printf("\n%12s %7s  %s\n", "per op", "share", "function");
    for (std::size_t i = 0; i < rows.size() && i < top; ++i)
        std::printf("%12.0f %6.1f%%  %s: %s\n", per_operation(rows[i].instructions), share(rows[i].instructions),
            rows[i].where.c_str(), rows[i].function.c_str());
    return 0;
}
