// The benchmark image's lines and options (bench_report.hpp).
#include "bench_report.hpp"

namespace herald::bench {

Optional<Mode> parse_mode(StringView text)
{
    if (text == "icount")
        return Mode::Icount;
    if (text == "kvm")
        return Mode::Kvm;
    if (text == "wall")
        return Mode::Wall;
    return nullopt;
}

StringView mode_name(Mode mode)
{
    switch (mode) {
    case Mode::Icount: return "icount";
    case Mode::Kvm: return "kvm";
    case Mode::Wall: return "wall";
    }
    return "?";
}

StringView cost_unit(Mode mode)
{
    switch (mode) {
    case Mode::Icount: return "instructions";
    case Mode::Kvm: return "cycles";
    case Mode::Wall: return "tsc_ticks";
    }
    return "?";
}

bool FigureSelection::wants(StringView figure) const
{
    if (m_all)
        return true;
    StringView rest = m_list;
    while (!rest.is_empty()) {
        usize comma = rest.find(','); // rest.length() when there is none
        if (rest.substring(0, comma) == figure)
            return true;
        rest = rest.substring(comma + 1);
    }
    return false;
}

void format_per_operation(FormatSink& sink, u64 total, u64 operations)
{
    // Hundredths, rounded half up; total * 100 stays far below 2^64 for
    // anything a benchmark counts.
    u64 hundredths = (total * 100 + operations / 2) / operations;
    format(sink, "{}.{:02}", hundredths / 100, hundredths % 100);
}

void format_begin(FormatSink& sink, StringView placement, Mode mode, usize cpus)
{
    format(sink, "bench: begin placement={} mode={} cpus={}", placement, mode_name(mode), cpus);
}

void format_figure(FormatSink& sink, StringView figure, u64 median, u64 minimum, StringView unit,
    const EventDeltas& events, u64 operations)
{
    format(sink, "bench: {} median={} min={} unit={}", figure, median, minimum, unit);
    for (usize i = 0; i < abi::kEventCount; ++i) {
        format(sink, " {}=", abi::kEventNames[i]);
        format_per_operation(sink, events.values[i], operations == 0 ? 1 : operations);
    }
}

void format_skipped(FormatSink& sink, StringView figure, StringView why)
{
    format(sink, "bench: {} skipped: {}", figure, why);
}

void format_failed(FormatSink& sink, StringView figure, StringView why)
{
    format(sink, "bench: {} failed: {}", figure, why);
}

u64 per_second(u64 count, u64 ticks, u64 ticks_per_ms)
{
    if (ticks == 0)
        return 0;
    return count * 1000 * ticks_per_ms / ticks;
}

} // namespace herald::bench
