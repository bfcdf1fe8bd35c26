// exec_profile: where a benchmark's instructions go, from QEMU's own log
// (docs/benchmarks.md, "Profiles"). Under -icount shift=0 the guest clock
// counts instructions; QEMU's log says which code ran:
//
//   -d in_asm     each translated block, once: its guest instructions
//                 ("0x<address>:  <bytes>  <mnemonic>" lines after "IN:")
//   -d out_asm    the host code made for it: the first address after
//                 "OUT:" is the block's host pointer
//   -d exec       each run of a block: "Trace <cpu>: <host pointer> [...]"
//   -d nochain    every run goes through the loop that logs it
//
// TraceReader takes that log line by line and counts, per block, the runs
// inside the window between the first run of `window_begin` and the next run
// of `window_end` (the benchmark probe's Begin and End, tests/bench). A
// block's instructions times its runs is what it cost: summed, that is the
// window's instruction count, as the guest clock measured it (a block cut
// short by a fault is counted whole: a small excess).
//
// Attribution: a kernel address names a kernel function (its symbols). User
// programs all live at the same addresses (0x08000000 up), so a user block is
// the program whose file has the block's bytes at the block's address; code
// that several programs share byte for byte (the runtime) goes to the one of
// them that ran something of its own in the window, or is reported as shared.
// Host code: tools/profile/main.cpp and tests/host/exec_profile_test.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace herald::tools::profile {

struct Block {
    std::uint64_t pc { 0 };
    std::uint32_t instructions { 0 };
    std::string bytes; // the guest instructions' bytes, in order
};

class TraceReader {
public:
    TraceReader(std::uint64_t window_begin, std::uint64_t window_end) : m_begin(window_begin), m_end(window_end) { }

    void line(std::string_view text);

    bool window_opened() const { return m_state != Window::Before; }
    bool window_closed() const { return m_state == Window::Closed; }
    // Each block that ran in the window, with how many times.
    std::vector<std::pair<Block, std::uint64_t>> executed() const;
    // Instructions each CPU ran in the window (the "Trace <cpu>:" of each
    // run), by CPU index. QEMU's clock under -icount counts them all as
    // one sum; the busiest CPU's share bounds what a machine whose CPUs run
    // at once would take (docs/benchmarks.md, "Scaling under icount").
    const std::map<unsigned, std::uint64_t>& per_cpu_instructions() const { return m_cpu_instructions; }

private:
    enum class Window { Before, Open, Closed };
    enum class Reading { Nothing, GuestCode, HostCode };

    std::uint64_t m_begin, m_end;
    Window m_state { Window::Before };
    Reading m_reading { Reading::Nothing };
    Block m_block;                                // being read
    std::map<std::uint64_t, Block> m_blocks;      // by host pointer
    std::map<std::uint64_t, std::uint64_t> m_runs; // by host pointer, in the window
    std::map<unsigned, std::uint64_t> m_cpu_instructions; // by CPU, in the window
};

struct Symbol {
    std::uint64_t address;
    std::string name;
};

// Sorted by address; the function an address is in is the last one at or
// before it.
class Symbols {
public:
    explicit Symbols(std::vector<Symbol> symbols);
    std::string_view at(std::uint64_t address) const;
    std::uint64_t address_of(std::string_view prefix) const; // the first whose name starts so; 0 if none

private:
    std::vector<Symbol> m_symbols;
};

struct Segment {
    std::uint64_t address;
    std::string bytes; // as in the file
};

struct Program {
    std::string name;
    std::vector<Segment> segments;
    Symbols symbols;
};

// A user block's program(s): every program whose file holds the block's
// bytes at its address.
std::vector<const Program*> programs_with(const Block& block, const std::vector<Program>& programs);

struct Row {
    std::string where; // "kernel", a program's name, or "shared: a, b"
    std::string function;
    std::uint64_t instructions;
};

// The instructions of each function that ran, most first. Addresses below
// `user_base` or at or above `user_end` are the kernel's.
std::vector<Row> attribute(const std::vector<std::pair<Block, std::uint64_t>>& executed, const Symbols& kernel,
    const std::vector<Program>& programs, std::uint64_t user_base, std::uint64_t user_end);

} // namespace herald::tools::profile
