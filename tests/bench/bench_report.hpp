// What a benchmark image prints, and how it reads its options: the study's
// contract (docs/benchmarks.md, "Lines"), in portable code that the host
// tests check (tests/host/bench_report_test.cpp).
//
//   bench: begin placement=<placement> mode=<mode> cpus=<N>
//   bench: <figure> median=<N> min=<N> unit=<unit> <event>=<per operation>...
//   bench: <figure> skipped: <why>
//   bench: <figure> failed: <why>
//   bench: done
//
// Options on the kernel command line: bench_mode=icount|kvm|wall (the unit
// of costs: instructions, cycles, tsc_ticks) and bench_only=<figure>,...
#pragma once

#include "microkernel/abi/events.hpp"
#include "microkernel/lib/format.hpp"
#include "microkernel/lib/optional.hpp"
#include "microkernel/lib/string_view.hpp"

namespace herald::bench {

enum class Mode : u8 { Icount, Kvm, Wall };

Optional<Mode> parse_mode(StringView text);
StringView mode_name(Mode mode);
// What a cost is counted in: instructions (icount), cycles (kvm), tsc_ticks (wall).
StringView cost_unit(Mode mode);

// bench_only=a,b,c: the figures to run; without it, every one.
class FigureSelection {
public:
    FigureSelection() = default;
    explicit FigureSelection(StringView list) : m_list(list), m_all(false) { }
    bool wants(StringView figure) const;
    bool selects_all() const { return m_all; }

private:
    StringView m_list;
    bool m_all { true };
};

// Event counts over a measured window (differences of the counters).
struct EventDeltas {
    u64 values[abi::kEventCount] {};
};

// `total / operations` rounded to hundredths, as "12.34" (operations > 0).
void format_per_operation(FormatSink& sink, u64 total, u64 operations);

// Lines of the contract, without a newline.
void format_begin(FormatSink& sink, StringView placement, Mode mode, usize cpus);
void format_figure(FormatSink& sink, StringView figure, u64 median, u64 minimum, StringView unit,
    const EventDeltas& events, u64 operations);
void format_skipped(FormatSink& sink, StringView figure, StringView why);
void format_failed(FormatSink& sink, StringView figure, StringView why);

// `count` things in `ticks` of a clock that ticks `ticks_per_ms` times a
// millisecond: how many a second (0 if no time passed).
u64 per_second(u64 count, u64 ticks, u64 ticks_per_ms);

} // namespace herald::bench
