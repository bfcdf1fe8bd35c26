// bench_log: the study's log reader (bench_log.hpp has the format).
#include "bench_log.hpp"

#include <charconv>

namespace study {

namespace {

constexpr std::string_view kBench = "bench: ";
constexpr std::string_view kIsolation = "isolation: ";
constexpr std::string_view kPanic = "PANIC on CPU";

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    return text;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text)
{
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

// Splits "key=value" words; a word without '=' has an empty key.
struct Word {
    std::string_view key;
    std::string_view value;
};

std::vector<Word> split_words(std::string_view text)
{
    std::vector<Word> words;
    while (!text.empty()) {
        auto space = text.find(' ');
        std::string_view word = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
        if (word.empty())
            continue;
        auto equals = word.find('=');
        if (equals == std::string_view::npos)
            words.push_back({ {}, word });
        else
            words.push_back({ word.substr(0, equals), word.substr(equals + 1) });
    }
    return words;
}

std::optional<std::size_t> event_index(std::string_view name)
{
    for (std::size_t i = 0; i < kEventNames.size(); ++i) {
        if (kEventNames[i] == name)
            return i;
    }
    return std::nullopt;
}

void parse_begin(std::string_view rest, RunLog& log)
{
    for (const Word& word : split_words(rest)) {
        if (word.key == "placement")
            log.placement = std::string(word.value);
        else if (word.key == "mode")
            log.mode = std::string(word.value);
        else if (word.key == "cpus")
            log.cpus = static_cast<unsigned>(parse_unsigned(word.value).value_or(0));
    }
}

// "<figure> median=... min=... unit=... events..." or "<figure> skipped: why"
// or "<figure> failed: why". Other "bench: " lines are free text (a title, a
// warning); a line with "median=" that does not parse is a problem worth
// saying.
void parse_figure(std::string_view line, RunLog& log)
{
    auto space = line.find(' ');
    if (space == std::string_view::npos)
        return;
    Figure figure;
    figure.name = std::string(line.substr(0, space));
    std::string_view rest = line.substr(space + 1);
    for (auto [prefix, status] : { std::pair { std::string_view("skipped:"), FigureStatus::Skipped },
             std::pair { std::string_view("failed:"), FigureStatus::Failed } }) {
        if (rest.substr(0, prefix.size()) == prefix) {
            figure.status = status;
            figure.why = std::string(trim(rest.substr(prefix.size())));
            log.figures.push_back(std::move(figure));
            return;
        }
    }
    if (rest.find("median=") == std::string_view::npos)
        return;
    bool has_median = false, has_min = false;
    for (const Word& word : split_words(rest)) {
        if (word.key == "median") {
            auto value = parse_unsigned(word.value);
            has_median = value.has_value();
            figure.median = value.value_or(0);
        } else if (word.key == "min") {
            auto value = parse_unsigned(word.value);
            has_min = value.has_value();
            figure.minimum = value.value_or(0);
        } else if (word.key == "unit") {
            figure.unit = std::string(word.value);
        } else if (auto index = event_index(word.key)) {
            figure.events[*index] = parse_hundredths(word.value);
            if (!figure.events[*index])
                log.problems.push_back(figure.name + ": bad event value " + std::string(word.key) + "=" + std::string(word.value));
        }
        // Other words (free text after the figure, unknown keys) are ignored.
    }
    if (!has_median || !has_min || figure.unit.empty()) {
        log.problems.push_back("not a figure line: bench: " + std::string(line));
        return;
    }
    log.figures.push_back(std::move(figure));
}

void parse_isolation(std::string_view rest, RunLog& log)
{
    RunLog::Isolation isolation;
    std::string detail;
    for (const Word& word : split_words(rest)) {
        if (word.key == "server")
            isolation.server = std::string(word.value);
        else if (word.key == "outcome")
            isolation.outcome = std::string(word.value);
        else {
            if (!detail.empty())
                detail += ' ';
            detail += word.key.empty() ? std::string(word.value) : std::string(word.key) + "=" + std::string(word.value);
        }
    }
    isolation.detail = detail;
    log.isolation.push_back(std::move(isolation));
}

} // namespace

std::optional<Hundredths> parse_hundredths(std::string_view text)
{
    auto dot = text.find('.');
    auto whole = parse_unsigned(text.substr(0, dot));
    if (!whole)
        return std::nullopt;
    Hundredths value = static_cast<Hundredths>(*whole) * 100;
    if (dot == std::string_view::npos)
        return value;
    std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.size() > 2)
        return std::nullopt;
    auto digits = parse_unsigned(fraction);
    if (!digits)
        return std::nullopt;
    return value + static_cast<Hundredths>(fraction.size() == 1 ? *digits * 10 : *digits);
}

std::string format_hundredths(Hundredths value)
{
    bool negative = value < 0;
    std::uint64_t magnitude = negative ? static_cast<std::uint64_t>(-value) : static_cast<std::uint64_t>(value);
    std::string text = (negative ? "-" : "") + std::to_string(magnitude / 100);
    std::uint64_t cents = magnitude % 100;
    if (cents != 0) {
        text += '.';
        text += static_cast<char>('0' + cents / 10);
        text += static_cast<char>('0' + cents % 10);
    }
    return text;
}

bool is_rate_unit(std::string_view unit)
{
    constexpr std::string_view kSuffix = "_per_second";
    return unit.size() > kSuffix.size() && unit.substr(unit.size() - kSuffix.size()) == kSuffix;
}

RunLog parse_run_log(std::string_view text)
{
    RunLog log;
    while (!text.empty()) {
        auto newline = text.find('\n');
        std::string_view line = trim(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        if (line.substr(0, kBench.size()) == kBench) {
            std::string_view rest = line.substr(kBench.size());
            if (rest.substr(0, 6) == "begin ")
                parse_begin(rest.substr(6), log);
            else if (rest == "done")
                log.done = true;
            else
                parse_figure(rest, log);
        } else if (line.substr(0, kIsolation.size()) == kIsolation) {
            parse_isolation(line.substr(kIsolation.size()), log);
        } else if (!log.panic && line.find(kPanic) != std::string_view::npos) {
            log.panic = std::string(line.substr(line.find(kPanic)));
        }
    }
    return log;
}

} // namespace study
