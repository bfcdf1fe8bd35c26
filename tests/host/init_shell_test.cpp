#include "user/init/manifest.hpp"
#include "user/shell/command.hpp"
#include "user/shell/file_command.hpp"
#include "user/runtime/task_status.hpp"
#include "user/shell/line_editor.hpp"
#include "user/shell/session.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace herald;

namespace {

// xorshift64: the same sequence on every run.
struct Random {
    uint64_t state;
    uint64_t next()
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    size_t below(size_t bound) { return static_cast<size_t>(next() % bound); }
};

// ---------------------------------------------------------------- manifest

struct Parsed {
    std::unique_ptr<init::Manifest> manifest = std::make_unique<init::Manifest>();
    std::vector<init::ManifestError> errors;
    size_t error_count = 0;

    size_t count() const { return manifest->count(); }
    const init::ManifestEntry& operator[](size_t index) const { return (*manifest)[index]; }
    std::string reason(size_t index) const { return errors.at(index).reason; }
    size_t line(size_t index) const { return errors.at(index).line; }
};

// Parses from a heap copy of exactly `text.size()` bytes, so that the
// sanitizers catch a read past the end.
Parsed parse(const std::string& text, size_t max_errors = 64)
{
    Parsed parsed;
    std::unique_ptr<char[]> copy(new char[text.size() + 1]);
    std::memcpy(copy.get(), text.data(), text.size());
    std::vector<init::ManifestError> errors(max_errors);
    parsed.error_count = init::parse_manifest(text.empty() ? nullptr : copy.get(), text.size(), *parsed.manifest,
        max_errors ? errors.data() : nullptr, max_errors);
    errors.resize(std::min(parsed.error_count, max_errors));
    parsed.errors = errors;
    return parsed;
}

// The single error of a one-line manifest, or "" when it parsed.
std::string error_of(const std::string& line)
{
    Parsed parsed = parse(line);
    if (parsed.error_count == 0)
        return "";
    CHECK(parsed.error_count == 1);
    CHECK(parsed.count() == 0);
    return parsed.reason(0);
}

uint64_t argument_of(const std::string& number)
{
    Parsed parsed = parse("p " + number + " ignore");
    REQUIRE(parsed.error_count == 0);
    REQUIRE(parsed.count() == 1);
    return parsed[0].argument;
}

void check_entry_valid(const init::ManifestEntry& entry)
{
    size_t length = strnlen(entry.name, sizeof entry.name);
    REQUIRE(length >= 1);
    REQUIRE(length <= init::kMaxNameLength);
    for (size_t i = length; i < sizeof entry.name; ++i)
        REQUIRE(entry.name[i] == '\0');
    REQUIRE(init::is_valid_program_name(entry.name));
    REQUIRE((entry.on_exit == init::OnExit::Ignore || entry.on_exit == init::OnExit::Restart
        || entry.on_exit == init::OnExit::Halt || entry.on_exit == init::OnExit::Never));
}

// ---------------------------------------------------------------- line editor

using Event = shell::LineEditor::Event;

// A terminal that shows the echo: the current screen line and the cursor.
struct Terminal {
    std::string screen;
    size_t cursor = 0;
    std::vector<std::string> finished; // the screen lines ended by "\r\n"
    size_t bells = 0;

    void show(const std::string& echo)
    {
        bool ok = true;
        for (char c : echo) {
            if (c == '\b') {
                ok = ok && cursor > 0; // never backs into the prompt
                cursor -= cursor > 0;
            } else if (c == '\r') {
                cursor = 0;
            } else if (c == '\n') {
                finished.push_back(screen.substr(0, screen.find_last_not_of(' ') + 1));
                screen.clear();
                cursor = 0;
            } else if (c == '\a') {
                ++bells;
            } else {
                ok = ok && c >= 0x20 && c <= 0x7E;
                if (cursor < screen.size())
                    screen[cursor] = c;
                else
                    screen.push_back(c);
                ++cursor;
            }
        }
        REQUIRE(ok);
    }
    // What the user sees on the line being edited.
    std::string visible() const { return screen.substr(0, cursor); }
    bool clean_after_cursor() const { return screen.find_first_not_of(' ', cursor) == std::string::npos; }
};

struct Editor {
    std::unique_ptr<shell::LineEditor> editor = std::make_unique<shell::LineEditor>(); // value-initialized: all zero
    std::vector<Event> events;
    std::vector<std::string> lines; // delivered by LineReady and EndOfInput
    std::string echo;               // all echo so far

    // Feeds `input`; returns the echo of just this input.
    std::string type(const std::string& input)
    {
        std::string this_echo;
        bool ok = true;
        for (char c : input) {
            char buffer[shell::LineEditor::kMaxEcho];
            size_t length = 0;
            Event event = editor->feed(static_cast<uint8_t>(c), buffer, sizeof buffer, length);
            ok = ok && length <= sizeof buffer && invariants_hold();
            this_echo.append(buffer, std::min(length, sizeof buffer));
            if (event != Event::None)
                events.push_back(event);
            if (event == Event::LineReady || event == Event::EndOfInput)
                lines.push_back(std::string(editor->line(), editor->length()));
            if (event == Event::Cancelled)
                ok = ok && editor->length() == 0;
        }
        REQUIRE(ok);
        echo += this_echo;
        return this_echo;
    }

    // The line is at most 127 printable characters, NUL-terminated.
    bool invariants_hold() const
    {
        size_t length = editor->length();
        if (length > shell::LineEditor::kMaxLineLength || editor->line()[length] != '\0')
            return false;
        for (size_t i = 0; i < length; ++i) {
            if (editor->line()[i] < 0x20 || editor->line()[i] > 0x7E)
                return false;
        }
        return true;
    }
    std::string line() const { return std::string(editor->line(), editor->length()); }
};

} // namespace

// ================================================================ manifest

TEST_CASE("manifest: the example parses", "[manifest]")
{
    Parsed parsed = parse("# comments start with '#', blank lines are ignored\n"
                          "# name        argument   on-exit\n"
                          "echo_server   0          restart\n"
                          "\n"
                          "shell         0          restart\n"
                          "hello         42         ignore\n");
    CHECK(parsed.error_count == 0);
    REQUIRE(parsed.count() == 3);
    CHECK(std::string(parsed[0].name) == "echo_server");
    CHECK(parsed[0].argument == 0);
    CHECK(parsed[0].on_exit == init::OnExit::Restart);
    CHECK_FALSE(parsed[0].wait);
    CHECK(std::string(parsed[1].name) == "shell");
    CHECK(parsed[1].on_exit == init::OnExit::Restart);
    CHECK(std::string(parsed[2].name) == "hello");
    CHECK(parsed[2].argument == 42);
    CHECK(parsed[2].on_exit == init::OnExit::Ignore);
    CHECK_FALSE(parsed[2].wait);
}

TEST_CASE("manifest: policies and the wait field", "[manifest]")
{
    Parsed parsed = parse("a 1 ignore\nb 2 restart\nc 3 halt\nd 4 ignore wait\ne 5 restart wait\nf 6 halt wait");
    CHECK(parsed.error_count == 0);
    REQUIRE(parsed.count() == 6);
    CHECK(parsed[0].on_exit == init::OnExit::Ignore);
    CHECK(parsed[1].on_exit == init::OnExit::Restart);
    CHECK(parsed[2].on_exit == init::OnExit::Halt);
    CHECK(parsed[3].on_exit == init::OnExit::Ignore);
    CHECK(parsed[4].on_exit == init::OnExit::Restart);
    CHECK(parsed[5].on_exit == init::OnExit::Halt);
    for (size_t i = 0; i < 6; ++i) {
        CHECK(parsed[i].argument == i + 1);
        CHECK(parsed[i].wait == (i >= 3));
    }
    CHECK(std::string(init::on_exit_name(init::OnExit::Ignore)) == "ignore");
    CHECK(std::string(init::on_exit_name(init::OnExit::Restart)) == "restart");
    CHECK(std::string(init::on_exit_name(init::OnExit::Halt)) == "halt");
    CHECK(std::string(init::on_exit_name(init::OnExit::Never)) == "never");
    // Keywords are exact: case and prefixes matter.
    CHECK(error_of("a 1 Restart") == "unknown on-exit policy");
    CHECK(error_of("a 1 restar") == "unknown on-exit policy");
    CHECK(error_of("a 1 restarts") == "unknown on-exit policy");
    CHECK(error_of("a 1 ignore Wait") == "unknown 4th field");
    CHECK(error_of("a 1 ignore waiting") == "unknown 4th field");
    CHECK(error_of("a 1 ignore now") == "unknown 4th field");
}

TEST_CASE("manifest: separators, comments and line endings", "[manifest]")
{
    Parsed parsed = parse("\t  a\t\t7 \t restart   \n"
                          "   # indented comment\n"
                          "#\n"
                          "   \t \n"
                          "b 8 halt # a comment after the fields\n"
                          "c 9 ignore wait#x\n" // '#' inside a field is no comment

                          "d 10 ignore #wait\n"
                          "e 0x0B ignore\r\n"
                          "f 12 ignore wait\r\n"
                          "\r\n"
                          "g 13 ignore"); // no final newline
    REQUIRE(parsed.error_count == 1);
    CHECK(parsed.line(0) == 6);
    CHECK(parsed.reason(0) == "unknown 4th field");
    REQUIRE(parsed.count() == 6);
    CHECK(std::string(parsed[0].name) == "a");
    CHECK(parsed[0].argument == 7);
    CHECK(parsed[0].on_exit == init::OnExit::Restart);
    CHECK(std::string(parsed[1].name) == "b");
    CHECK(parsed[1].on_exit == init::OnExit::Halt);
    CHECK(std::string(parsed[2].name) == "d");
    CHECK_FALSE(parsed[2].wait);
    CHECK(std::string(parsed[3].name) == "e");
    CHECK(parsed[3].argument == 11);
    CHECK(std::string(parsed[4].name) == "f");
    CHECK(parsed[4].wait);
    CHECK(std::string(parsed[5].name) == "g");
    CHECK(parsed[5].argument == 13);
}

TEST_CASE("manifest: empty and blank texts", "[manifest]")
{
    for (const char* text : { "", "\n", "\n\n\n", "   ", "# only a comment", "#x\n#y\n", "\r\n\r\n", "\t" }) {
        Parsed parsed = parse(text);
        CHECK(parsed.error_count == 0);
        CHECK(parsed.count() == 0);
    }
    // A null text of length 0.
    init::Manifest manifest {};
    CHECK(init::parse_manifest(nullptr, 0, manifest, nullptr, 0) == 0);
    CHECK(manifest.count() == 0);
}

TEST_CASE("manifest: names", "[manifest]")
{
    std::string longest(31, 'n');
    Parsed parsed = parse("A-Za_z.0-9 0 ignore\n" + longest + " 0 ignore\nx 0 ignore\n...- 0 ignore\n");
    CHECK(parsed.error_count == 0);
    REQUIRE(parsed.count() == 4);
    CHECK(std::string(parsed[0].name) == "A-Za_z.0-9");
    CHECK(std::string(parsed[1].name) == longest);
    CHECK(parsed[1].name[31] == '\0');
    CHECK(std::string(parsed[2].name) == "x");
    for (size_t i = 1; i < sizeof parsed[2].name; ++i)
        CHECK(parsed[2].name[i] == '\0');

    CHECK(error_of(std::string(32, 'n') + " 0 ignore") == "name too long");
    CHECK(error_of(std::string(100, 'n') + " 0 ignore") == "name too long");
    for (const char* bad : { "a/b", "a$", "na+me", "\"q\"", "a,b", "\x01x", "\x80", "\xff", "sh=1", "a#b" })
        CHECK(error_of(std::string(bad) + " 0 ignore") == "bad character in name");

    CHECK(init::is_valid_program_name("shell"));
    CHECK(init::is_valid_program_name(longest.c_str()));
    CHECK_FALSE(init::is_valid_program_name(""));
    CHECK_FALSE(init::is_valid_program_name(std::string(32, 'n').c_str()));
    CHECK_FALSE(init::is_valid_program_name("a b"));
}

TEST_CASE("manifest: duplicate names are two instances", "[manifest]")
{
    Parsed parsed = parse("worker 1 restart\nworker 2 ignore\n");
    CHECK(parsed.error_count == 0);
    REQUIRE(parsed.count() == 2);
    CHECK(std::string(parsed[0].name) == "worker");
    CHECK(std::string(parsed[1].name) == "worker");
    CHECK(parsed[0].argument == 1);
    CHECK(parsed[1].argument == 2);
}

TEST_CASE("manifest: arguments in decimal and hex", "[manifest]")
{
    CHECK(argument_of("0") == 0);
    CHECK(argument_of("42") == 42);
    CHECK(argument_of("007") == 7);
    CHECK(argument_of("0x0") == 0);
    CHECK(argument_of("0x2a") == 42);
    CHECK(argument_of("0X2A") == 42);
    CHECK(argument_of("0xDeadBeef") == 0xdeadbeef);
    CHECK(argument_of("18446744073709551615") == UINT64_MAX);
    CHECK(argument_of("0xffffffffffffffff") == UINT64_MAX);
    CHECK(argument_of("0x0000000000000000ffffffffffffffff") == UINT64_MAX);
    CHECK(argument_of("000000000000000000000000000000001") == 1);

    CHECK(error_of("p 18446744073709551616 ignore") == "number too large");
    CHECK(error_of("p 99999999999999999999 ignore") == "number too large");
    CHECK(error_of("p 0x10000000000000000 ignore") == "number too large");
    for (const char* bad : { "-1", "+1", "0x", "0X", "x10", "12a", "0xg", "1.5", "1_000", "0b101", "ten", "0x-1", "0xx1" })
        CHECK(error_of(std::string("p ") + bad + " ignore") == "bad number");
}

TEST_CASE("manifest: missing and extra fields", "[manifest]")
{
    CHECK(error_of("shell") == "missing argument");
    CHECK(error_of("shell # 0 restart") == "missing argument");
    CHECK(error_of("shell 0") == "missing on-exit policy");
    CHECK(error_of("shell 0\t") == "missing on-exit policy");
    CHECK(error_of("shell 0 restart wait extra") == "too many fields");
    CHECK(error_of("shell 0 restart wait wait") == "too many fields");
    CHECK(error_of("a b c d e f g") == "too many fields");
    CHECK(error_of("shell 0 restart wait # five fields in a comment are fine") == "");
    // The first error of a line is the one reported.
    CHECK(error_of("sh$ll x bogus") == "bad character in name");
    CHECK(error_of("shell x bogus") == "bad number");
}

TEST_CASE("manifest: line length limit", "[manifest]")
{
    auto padded = [](size_t length) {
        std::string line = "p 1 ignore";
        line += std::string(length - line.size() - 2, ' ');
        line += "#x";
        REQUIRE(line.size() == length);
        return line;
    };
    CHECK(error_of(padded(200)) == "");
    CHECK(error_of(padded(200) + "\r") == ""); // the CR of CR LF does not count
    CHECK(error_of(padded(201)) == "line too long");
    CHECK(error_of(std::string(201, '#')) == "line too long");
    CHECK(error_of(std::string(5000, 'a')) == "line too long");

    // A long line is skipped; the lines around it are not.
    Parsed parsed = parse("a 1 ignore\n" + padded(201) + "\nb 2 ignore\n");
    REQUIRE(parsed.error_count == 1);
    CHECK(parsed.line(0) == 2);
    REQUIRE(parsed.count() == 2);
    CHECK(std::string(parsed[0].name) == "a");
    CHECK(std::string(parsed[1].name) == "b");
}

TEST_CASE("manifest: NUL bytes are errors of their line", "[manifest]")
{
    std::string text = std::string("a 1 ignore\nb 2", 14) + std::string(1, '\0') + " ignore\n# comment" + std::string(1, '\0')
        + "\n" + std::string(1, '\0') + "\nc 3 ignore";
    Parsed parsed = parse(text);
    REQUIRE(parsed.error_count == 3);
    CHECK(parsed.line(0) == 2);
    CHECK(parsed.line(1) == 3);
    CHECK(parsed.line(2) == 4);
    for (size_t i = 0; i < 3; ++i)
        CHECK(parsed.reason(i) == "NUL byte in line");
    REQUIRE(parsed.count() == 2);
    CHECK(std::string(parsed[0].name) == "a");
    CHECK(std::string(parsed[1].name) == "c");
}

TEST_CASE("manifest: a bad line never stops the rest", "[manifest]")
{
    Parsed parsed = parse("echo_server 0 restart\n"
                          "shel$ 0 restart\n"     // 2: bad name
                          "hello 42 ignroe\n"     // 3: typo in the policy
                          "x 0x 0 ignore\n"       // 4: bad number
                          "\n"
                          "y 1 ignore wiat\n"     // 6: unknown 4th field
                          "z 1 ignore wait more\n" // 7: too many fields
                          "shell 0 restart\n");
    REQUIRE(parsed.error_count == 5);
    CHECK(parsed.line(0) == 2);
    CHECK(parsed.reason(0) == "bad character in name");
    CHECK(parsed.line(1) == 3);
    CHECK(parsed.reason(1) == "unknown on-exit policy");
    CHECK(parsed.line(2) == 4);
    CHECK(parsed.reason(2) == "bad number");
    CHECK(parsed.line(3) == 6);
    CHECK(parsed.reason(3) == "unknown 4th field");
    CHECK(parsed.line(4) == 7);
    CHECK(parsed.reason(4) == "too many fields");
    REQUIRE(parsed.count() == 2);
    CHECK(std::string(parsed[0].name) == "echo_server");
    CHECK(std::string(parsed[1].name) == "shell");
}

TEST_CASE("manifest: at most 32 entries", "[manifest]")
{
    std::string text;
    for (int i = 0; i < 40; ++i)
        text += "p" + std::to_string(i) + " " + std::to_string(i) + " ignore\n";
    text += "bad$ 0 ignore\n"; // line 41: its own error, not "too many entries"
    Parsed parsed = parse(text);
    REQUIRE(parsed.count() == init::kMaxEntries);
    for (size_t i = 0; i < init::kMaxEntries; ++i) {
        CHECK(std::string(parsed[i].name) == "p" + std::to_string(i));
        CHECK(parsed[i].argument == i);
    }
    REQUIRE(parsed.error_count == 9);
    for (size_t i = 0; i < 8; ++i) {
        CHECK(parsed.line(i) == 33 + i);
        CHECK(parsed.reason(i) == "too many entries");
    }
    CHECK(parsed.line(8) == 41);
    CHECK(parsed.reason(8) == "bad character in name");

    // Exactly 32 is fine.
    std::string full;
    for (int i = 0; i < 32; ++i)
        full += "p 0 ignore\n";
    Parsed exact = parse(full);
    CHECK(exact.error_count == 0);
    CHECK(exact.count() == 32);
}

TEST_CASE("manifest: errors are counted past max_errors", "[manifest]")
{
    std::string text;
    for (int i = 0; i < 10; ++i)
        text += "bad$ 0 ignore\nok 0 ignore\n";
    Parsed three = parse(text, 3);
    CHECK(three.error_count == 10);
    REQUIRE(three.errors.size() == 3);
    CHECK(three.line(0) == 1);
    CHECK(three.line(1) == 3);
    CHECK(three.line(2) == 5);
    CHECK(three.count() == 10);

    Parsed none = parse(text, 0); // errors == nullptr
    CHECK(none.error_count == 10);
    CHECK(none.count() == 10);

    // A null `errors` with a nonzero max_errors is not written through.
    init::Manifest manifest {};
    CHECK(init::parse_manifest(text.data(), text.size(), manifest, nullptr, 5) == 10);
}

TEST_CASE("manifest: the output is cleared first", "[manifest]")
{
    auto manifest = std::make_unique<init::Manifest>();
    std::memset(manifest.get(), 0xA5, sizeof *manifest);
    manifest->m_count = 7;
    std::string text = "only 1 halt\n";
    CHECK(init::parse_manifest(text.data(), text.size(), *manifest, nullptr, 0) == 0);
    REQUIRE(manifest->count() == 1);
    CHECK(std::string((*manifest)[0].name) == "only");
    for (size_t i = 4; i < sizeof manifest->entries[0].name; ++i)
        CHECK((*manifest)[0].name[i] == '\0');
    CHECK(manifest->entries[1].name[0] == '\0');

    // All-zero is an empty manifest.
    init::Manifest zero {};
    CHECK(zero.count() == 0);
}

TEST_CASE("manifest: device grants (docs/drivers.md, \"Authority\")", "[manifest]")
{
    Parsed parsed = parse("rtc 0 never ports=0x70-0x71 irq=8\n"
                          "blk 0 restart wait pci=1af4:1001 class=01 irq=11 irq=10 dma=0x40 tasks=list\n"
                          "plain 0 ignore\n");
    REQUIRE(parsed.error_count == 0);
    REQUIRE(parsed.count() == 3);
    CHECK(parsed[0].on_exit == init::OnExit::Never); // a line of grants only: init does not start it
    const init::DeviceGrant& rtc = parsed[0].grant;
    CHECK(rtc.port_count == 1);
    CHECK(rtc.allows_ports(0x70, 0x71));
    CHECK(rtc.allows_ports(0x71, 0x71));
    CHECK_FALSE(rtc.allows_ports(0x70, 0x72));
    CHECK_FALSE(rtc.allows_ports(0x71, 0x70)); // backwards
    CHECK_FALSE(rtc.allows_ports(0x60, 0x60));
    CHECK(rtc.allows_irq(8));
    CHECK_FALSE(rtc.allows_irq(9));
    CHECK_FALSE(rtc.allows_function(0x1af4, 0x1001, 0x01));
    const init::DeviceGrant& blk = parsed[1].grant;
    CHECK(parsed[1].wait);
    CHECK(blk.allows_function(0x1af4, 0x1001, 0x01));
    CHECK(blk.allows_function(0x8086, 0x2922, 0x01)); // by class: storage
    CHECK_FALSE(blk.allows_function(0x8086, 0x10d3, 0x02));
    CHECK(blk.allows_irq(10));
    CHECK(blk.allows_irq(11));
    CHECK_FALSE(blk.allows_ports(0, 0));
    CHECK(blk.dma_pages == 64);
    CHECK(rtc.dma_pages == 0);
    CHECK(blk.task_list);
    CHECK_FALSE(rtc.task_list);
    const init::DeviceGrant& plain = parsed[2].grant;
    CHECK_FALSE(plain.allows_ports(0x70, 0x70));
    CHECK_FALSE(plain.allows_irq(0));
    CHECK_FALSE(plain.allows_function(0, 0, 0));
    CHECK(init::grant_of(*parsed.manifest, "rtc") == &rtc);
    CHECK(init::grant_of(*parsed.manifest, "blk") == &blk);
    CHECK(init::grant_of(*parsed.manifest, "rt") == nullptr);
    CHECK(init::grant_of(*parsed.manifest, "rtcx") == nullptr);
}

TEST_CASE("manifest: bad grants are refused with the line", "[manifest]")
{
    CHECK(error_of("a 0 ignore ports=0x71-0x70") == "bad grant");
    CHECK(error_of("a 0 ignore ports=0x70") == "bad grant");
    CHECK(error_of("a 0 ignore ports=0-0x10000") == "bad grant");
    CHECK(error_of("a 0 ignore irq=256") == "bad grant");
    CHECK(error_of("a 0 ignore irq=") == "bad grant");
    CHECK(error_of("a 0 ignore pci=1af4") == "bad grant");
    CHECK(error_of("a 0 ignore pci=1af41:1001") == "bad grant");
    CHECK(error_of("a 0 ignore pci=0x1af4:1001") == "bad grant");
    CHECK(error_of("a 0 ignore class=100") == "bad grant");
    CHECK(error_of("a 0 ignore dma=0") == "bad grant");
    CHECK(error_of("a 0 ignore dma=4097") == "bad grant"); // past kMaxDmaGrantPages
    CHECK(error_of("a 0 ignore dma=") == "bad grant");
    CHECK(error_of("a 0 ignore dma=x") == "bad grant");
    CHECK(error_of("a 0 ignore dma=1 dma=2") == "too many grants");
    CHECK(error_of("a 0 ignore tasks=all") == "bad grant");
    CHECK(error_of("a 0 ignore tasks=") == "bad grant");
    CHECK(error_of("a 0 ignore tasks=list tasks=list") == "too many grants");
    CHECK(error_of("a 0 ignore irq=1 irq=2 irq=3 irq=4 irq=5") == "too many grants");
    CHECK(error_of("a 0 ignore wait irq=1 now") == "too many fields");
    CHECK(error_of("a 0 ignore irq=1 wait") == "too many fields"); // wait comes first
    CHECK(error_of("a 0 ignore waitt irq=1") == "unknown 4th field");
}

TEST_CASE("manifest: the restart backoff", "[manifest]")
{
    init::Backoff backoff {};
    SECTION("a crash loop: at once, then 100 ms doubling up to the cap, never giving up")
    {
        uint64_t now = 1000;
        std::vector<uint64_t> delays;
        for (int i = 0; i < 12; ++i) {
            uint64_t delay = backoff.delay_after_end(now, now + 5); // ran 5 ms
            delays.push_back(delay);
            now += 5 + delay;
        }
        CHECK(delays == std::vector<uint64_t> { 0, 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000, 10000 });
        static_assert(init::kMaxBackoffMs == 10000 && init::kFirstBackoffMs == 100);
    }
    SECTION("a good run resets it")
    {
        CHECK(backoff.delay_after_end(0, 10) == 0);
        CHECK(backoff.delay_after_end(10, 20) == 100);
        CHECK(backoff.delay_after_end(120, 130) == 200);
        CHECK(backoff.delay_after_end(330, 330 + init::kStableRunMs) == 0); // ran long enough
        CHECK(backoff.delay_after_end(20000, 20001) == 100);                // the next short one: backs off again
    }
    SECTION("a run just short of stable still counts as short")
    {
        CHECK(backoff.delay_after_end(0, 1) == 0);
        CHECK(backoff.delay_after_end(1, init::kStableRunMs) == 100);
    }
    SECTION("under fault injection a run of kFaultsStableRunMs is stable")
    {
        backoff.stable_run_ms = init::kFaultsStableRunMs;
        CHECK(backoff.delay_after_end(0, 10) == 0);
        CHECK(backoff.delay_after_end(10, 20) == 100);
        CHECK(backoff.delay_after_end(120, 120 + init::kFaultsStableRunMs) == 0); // long enough now
        CHECK(backoff.delay_after_end(2000, 2000 + init::kFaultsStableRunMs - 1) == 100);
    }
    SECTION("a clock that goes backwards counts as a short run")
    {
        CHECK(backoff.delay_after_end(50000, 50001) == 0);
        CHECK(backoff.delay_after_end(50000, 10) == 100);
    }
    SECTION("all-zero is a program that never ended")
    {
        init::Backoff zero {};
        CHECK(zero.short_runs == 0);
        CHECK(zero.delay_ms == 0);
    }
}

TEST_CASE("manifest: random bytes", "[manifest]")
{
    Random random { 0x9E3779B97F4A7C15ull };
    // Mostly manifest-shaped lines with mutations, so that many entries parse
    // and the table fills up; every third round raw bytes.
    static const char* const names[] = { "shell", "echo_server", "a", "n.x-1", "bad$", "#c", "" };
    static const std::string longest_name(31, 'L'), too_long_name(32, 'L');
    static const char* const numbers[] = { "0", "42", "0x1f", "0XFF", "18446744073709551615", "18446744073709551616",
        "0x", "-1", "" };
    static const char* const policies[] = { "ignore", "restart", "halt", "halt", "restart", "bogus", "#", "" };
    static const char* const fourths[] = { "", "", "", "wait", "wait", "nowait", "wait x", "# wait" };
    static const char* const separators[] = { " ", "\t", "  \t ", " " };
    auto pick = [&random](const auto& array) { return array[random.below(sizeof array / sizeof array[0])]; };
    size_t most_entries = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        size_t length = random.below(round % 10 == 0 ? 8000 : 1500);
        bool raw = round % 3 == 0;
        while (text.size() < length) {
            if (raw) {
                text.push_back(static_cast<char>(random.next()));
                continue;
            }
            std::string line = pick(separators);
            line += random.below(10) == 0 ? (random.below(2) ? longest_name : too_long_name) : std::string(pick(names));
            line += pick(separators);
            line += pick(numbers);
            line += pick(separators);
            line += pick(policies);
            line += pick(separators);
            line += pick(fourths);
            if (random.below(8) == 0) // a stray byte anywhere, NUL included
                line.insert(random.below(line.size() + 1), 1, static_cast<char>(random.next()));
            if (random.below(40) == 0)
                line += std::string(random.below(300), ' ');
            line += random.below(4) == 0 ? "\r\n" : "\n";
            text += line;
        }
        size_t max_errors = random.below(8);
        Parsed parsed = parse(text, max_errors);
        REQUIRE(parsed.count() <= init::kMaxEntries);
        for (size_t i = 0; i < parsed.count(); ++i)
            check_entry_valid(parsed[i]);
        size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
        REQUIRE(parsed.error_count <= lines);
        REQUIRE(parsed.errors.size() == std::min(parsed.error_count, max_errors));
        for (const auto& error : parsed.errors) {
            REQUIRE(error.line >= 1);
            REQUIRE(error.line <= lines);
            REQUIRE(error.reason != nullptr);
        }
        for (size_t i = 1; i < parsed.errors.size(); ++i)
            REQUIRE(parsed.errors[i].line > parsed.errors[i - 1].line); // one error per line, in order
        most_entries = std::max(most_entries, parsed.count());
    }
    CHECK(most_entries == init::kMaxEntries); // the generator does reach the limit
}

// ================================================================ line editor

TEST_CASE("line_editor: typing a line", "[line_editor]")
{
    Editor e;
    CHECK(e.line().empty());
    CHECK(e.type("ls -l") == "ls -l");
    CHECK(e.line() == "ls -l");
    CHECK(e.events.empty());
    CHECK(e.type("\r") == "\r\n");
    REQUIRE(e.events == std::vector<Event> { Event::LineReady });
    CHECK(e.line() == "ls -l"); // valid until the next feed
    CHECK(std::string(e.editor->line()) == "ls -l");
    e.type("x");
    CHECK(e.line() == "x"); // the next feed starts a new line
}

TEST_CASE("line_editor: Enter as CR, LF or CR LF", "[line_editor]")
{
    SECTION("CR LF is one Enter")
    {
        Editor e;
        CHECK(e.type("a\r\nb\r\n") == "a\r\nb\r\n");
        CHECK(e.lines == std::vector<std::string> { "a", "b" });
    }
    SECTION("LF alone")
    {
        Editor e;
        CHECK(e.type("a\nb\n") == "a\r\nb\r\n");
        CHECK(e.lines == std::vector<std::string> { "a", "b" });
    }
    SECTION("LF LF is two lines, the second empty")
    {
        Editor e;
        CHECK(e.type("a\n\n") == "a\r\n\r\n");
        CHECK(e.lines == std::vector<std::string> { "a", "" });
    }
    SECTION("CR CR is two lines")
    {
        Editor e;
        e.type("a\r\r");
        CHECK(e.lines == std::vector<std::string> { "a", "" });
    }
    SECTION("CR LF LF is two lines; LF CR is two")
    {
        Editor e;
        e.type("a\r\n\n");
        CHECK(e.lines == std::vector<std::string> { "a", "" });
        Editor f;
        f.type("a\n\r");
        CHECK(f.lines == std::vector<std::string> { "a", "" });
    }
    SECTION("an LF only right after the CR is swallowed")
    {
        Editor e;
        e.type("a\rb\n");
        CHECK(e.lines == std::vector<std::string> { "a", "b" });
        Editor f;
        f.type("a\r\x01\n"); // an ignored byte in between: the LF is a new Enter
        CHECK(f.lines == std::vector<std::string> { "a", "" });
    }
    SECTION("an empty line is a LineReady of length 0")
    {
        Editor e;
        CHECK(e.type("\r\n") == "\r\n");
        REQUIRE(e.events == std::vector<Event> { Event::LineReady });
        CHECK(e.editor->length() == 0);
        CHECK(e.editor->line()[0] == '\0');
    }
}

TEST_CASE("line_editor: backspace and Ctrl-U", "[line_editor]")
{
    Editor e;
    e.type("abc");
    CHECK(e.type("\x08") == "\b \b");
    CHECK(e.line() == "ab");
    CHECK(e.type("\x7f") == "\b \b");
    CHECK(e.line() == "a");
    CHECK(e.type("\x7f") == "\b \b");
    CHECK(e.line() == "");
    CHECK(e.type("\x7f\x08") == ""); // nothing to erase
    CHECK(e.line() == "");

    e.type("hello");
    CHECK(e.type("\x15") == "\b \b\b \b\b \b\b \b\b \b");
    CHECK(e.line() == "");
    CHECK(e.type("\x15") == "");
    e.type("ok\r");
    CHECK(e.lines == std::vector<std::string> { "ok" });
    CHECK(e.events == std::vector<Event> { Event::LineReady });
}

TEST_CASE("line_editor: Ctrl-C cancels the line", "[line_editor]")
{
    Editor e;
    e.type("rm -rf");
    CHECK(e.type("\x03") == "^C\r\n");
    REQUIRE(e.events == std::vector<Event> { Event::Cancelled });
    CHECK(e.line() == "");
    CHECK(e.type("\x03") == "^C\r\n"); // on an empty line too
    e.type("ls\n");
    CHECK(e.lines == std::vector<std::string> { "ls" });
    CHECK(e.events == std::vector<Event> { Event::Cancelled, Event::Cancelled, Event::LineReady });
}

TEST_CASE("line_editor: Ctrl-D ends the input, finishing the line read so far", "[line_editor]")
{
    SECTION("after a whole line: an empty last line")
    {
        Editor e;
        e.type("ps\n");
        CHECK(e.type("\x04") == "\r\n");
        CHECK(e.events == std::vector<Event> { Event::LineReady, Event::EndOfInput });
        CHECK(e.lines == std::vector<std::string> { "ps", "" });
    }
    SECTION("in the middle of a line: the line is delivered with it")
    {
        Editor e;
        CHECK(e.type("run hello\x04") == "run hello\r\n");
        CHECK(e.events == std::vector<Event> { Event::EndOfInput });
        CHECK(e.lines == std::vector<std::string> { "run hello" });
        CHECK(e.line() == "run hello"); // valid until the next feed
        e.type("x");
        CHECK(e.line() == "x");
    }
    SECTION("inside an escape sequence it is still itself")
    {
        Editor e;
        e.type("a\x1b[\x04");
        CHECK(e.events == std::vector<Event> { Event::EndOfInput });
        CHECK(e.lines == std::vector<std::string> { "a" });
    }
}

TEST_CASE("line_editor: the line is at most 127 characters", "[line_editor]")
{
    Editor e;
    std::string full(127, 'x');
    CHECK(e.type(full) == full);
    CHECK(e.line() == full);
    CHECK(e.type("yz") == "\a\a");
    CHECK(e.line() == full);
    CHECK(e.type("\x7f") == "\b \b");
    CHECK(e.type("yz") == "y\a");
    CHECK(e.line() == std::string(126, 'x') + "y");
    std::string echo = e.type("\x15"); // erasing a full line: the largest echo
    CHECK(echo.size() == shell::LineEditor::kMaxEcho);
    CHECK(e.line() == "");
    e.type(full + "\n");
    CHECK(e.lines == std::vector<std::string> { full });
}

TEST_CASE("line_editor: escape sequences are swallowed", "[line_editor]")
{
    Editor e;
    e.type("ab");
    CHECK(e.type("\x1b[A\x1b[B\x1b[C\x1b[D") == ""); // arrow keys
    CHECK(e.type("\x1b[3~\x1b[1;5C\x1b[200~") == ""); // Delete, Ctrl-Right, bracketed paste start
    CHECK(e.type("\x1bOA\x1bOP") == "");              // SS3 arrows, F1
    CHECK(e.type("\x1b" "x") == "");                  // Alt-x
    CHECK(e.type("\x1b\x1b[A") == "");                // ESC ESC [ A
    CHECK(e.type("\x1b[12;34 q") == "");              // an intermediate byte
    CHECK(e.line() == "ab");
    CHECK(e.type("c") == "c"); // typing goes on afterwards
    CHECK(e.line() == "abc");

    SECTION("a control byte ends a sequence and acts")
    {
        Editor f;
        f.type("ls\x1b\r");
        CHECK(f.lines == std::vector<std::string> { "ls" });
        Editor g;
        g.type("ls\x1b[1\r");
        CHECK(g.lines == std::vector<std::string> { "ls" });
        Editor h;
        h.type("ls\x1bO\x03");
        CHECK(h.events == std::vector<Event> { Event::Cancelled });
        Editor i;
        i.type("ab\x1b[\x08" "c");
        CHECK(i.line() == "ac");
        Editor j;
        j.type("ab\x1b[\x1b[Dc"); // a new ESC inside a CSI starts over
        CHECK(j.line() == "abc");
    }
    SECTION("bytes after a sequence are typed normally")
    {
        Editor f;
        f.type("\x1b[Ahello\x1b[Bworld");
        CHECK(f.line() == "helloworld");
        Editor g;
        g.type("\x1b" "Ahi"); // ESC A: a two-byte sequence swallows just the A
        CHECK(g.line() == "hi");
    }
}

TEST_CASE("line_editor: other bytes are ignored", "[line_editor]")
{
    Editor e;
    e.type("a");
    for (int byte = 0; byte < 256; ++byte) {
        bool handled = byte == '\r' || byte == '\n' || byte == 0x08 || byte == 0x7F || byte == 0x03 || byte == 0x04
            || byte == 0x15 || byte == 0x1B || (byte >= 0x20 && byte <= 0x7E);
        if (handled)
            continue;
        CHECK(e.type(std::string(1, static_cast<char>(byte))) == "");
    }
    CHECK(e.line() == "a");
    CHECK(e.events.empty());
    CHECK(e.type("\t") == ""); // a tab too
}

TEST_CASE("line_editor: reset and the all-zero state", "[line_editor]")
{
    Editor e;
    e.type("abc\x1b[");
    e.editor->reset();
    CHECK(e.line() == "");
    CHECK(e.type("A") == "A"); // the half-read sequence is forgotten
    e.type("\r");
    e.editor->reset();
    CHECK(e.type("\n") == "\r\n"); // and the CR before the reset
    CHECK(e.lines == std::vector<std::string> { "A", "" });

    shell::LineEditor zero {};
    CHECK(zero.length() == 0);
    CHECK(std::string(zero.line()) == "");
}

TEST_CASE("line_editor: a small echo buffer never desynchronizes the terminal", "[line_editor]")
{
    shell::LineEditor editor {};
    char echo[8];
    size_t length = 0;
    for (char c : std::string("abcd"))
        editor.feed(static_cast<uint8_t>(c), echo, sizeof echo, length);
    CHECK(std::string(echo, length) == "abcd");

    // Full echo buffer: typing is refused, not made invisibly.
    length = 8;
    CHECK(editor.feed('e', echo, sizeof echo, length) == Event::None);
    CHECK(length == 8);
    CHECK(editor.length() == 4);
    CHECK(editor.feed(0x7F, echo, sizeof echo, length) == Event::None);
    CHECK(editor.length() == 4);

    // Ctrl-U erases as many characters as their echo fits: 2 of 4 in 7 bytes.
    length = 1;
    editor.feed(0x15, echo, sizeof echo, length);
    CHECK(length == 7);
    CHECK(editor.length() == 2);
    CHECK(std::string(editor.line()) == "ab");

    // Enter always ends the line, echoing what fits.
    length = 7;
    CHECK(editor.feed('\r', echo, sizeof echo, length) == Event::LineReady);
    CHECK(length == 8);
    CHECK(echo[7] == '\r');
    CHECK(std::string(editor.line()) == "ab");
    // Ctrl-C too, with no echo buffer at all.
    size_t none = 0;
    editor.feed('z', nullptr, 0, none);
    CHECK(editor.length() == 0); // refused: it could not be echoed
    CHECK(editor.feed(0x03, nullptr, 0, none) == Event::Cancelled);
    CHECK(none == 0);
    // An echo length already past the capacity is left alone.
    size_t past = 20;
    CHECK(editor.feed('q', echo, sizeof echo, past) == Event::None);
    CHECK(past == 20);
}

TEST_CASE("line_editor: random bytes keep the terminal and the line in step", "[line_editor]")
{
    Random random { 0xD1B54A32D192ED03ull };
    static const char* const pieces[] = { "\r", "\n", "\r\n", "\x08", "\x7f", "\x03", "\x15", "\x1b[A", "\x1b[1;5C",
        "\x1bOB", "\x1b", "[", "O", "~", "a", "b", "hello ", "0123456789", "\t", "\x01" };
    constexpr size_t piece_count = sizeof pieces / sizeof pieces[0];
    for (int round = 0; round < 120; ++round) {
        Editor e;
        Terminal terminal;
        for (int step = 0; step < 400; ++step) {
            std::string input;
            if (round % 2 == 0)
                input = std::string(1, static_cast<char>(random.next()));
            else if (random.below(4) == 0)
                input = std::string(1 + random.below(160), 'x'); // runs into the limit
            else
                input = pieces[random.below(piece_count)];
            size_t events_before = e.events.size();
            terminal.show(e.type(input));
            // What the terminal shows is the line being edited (after an
            // Enter or Ctrl-C, the new, empty one).
            bool line_ended = e.events.size() > events_before && !input.empty()
                && (input.back() == '\r' || input.back() == '\n' || input.back() == '\x03' || input.back() == '\x04');
            if (line_ended)
                REQUIRE(terminal.visible().empty());
            else
                REQUIRE(terminal.visible() == e.line());
            REQUIRE(terminal.clean_after_cursor());
        }
        // Each event ended one line on the terminal: a LineReady or an end
        // of input shows the line delivered, a Ctrl-C shows "^C" after the
        // line dropped.
        size_t next_line = 0;
        size_t next_shown = 0;
        for (size_t i = 0; i < e.events.size(); ++i) {
            if (e.events[i] == Event::Cancelled) {
                const std::string& shown = terminal.finished.at(next_shown++);
                REQUIRE(shown.size() >= 2);
                REQUIRE(shown.compare(shown.size() - 2, 2, "^C") == 0);
                continue;
            }
            const std::string& line = e.lines.at(next_line++);
            REQUIRE(terminal.finished.at(next_shown++) == line.substr(0, line.find_last_not_of(' ') + 1));
        }
        REQUIRE(next_shown == terminal.finished.size());
        REQUIRE(next_line == e.lines.size());
    }
}

TEST_CASE("line_editor: random bytes with random echo capacities", "[line_editor]")
{
    Random random { 12345 };
    shell::LineEditor editor {};
    for (int step = 0; step < 200000; ++step) {
        size_t capacity = random.below(10);
        std::unique_ptr<char[]> echo(capacity ? new char[capacity] : nullptr); // exact size: overruns are caught
        size_t length = random.below(capacity + 2);
        size_t before = length;
        uint8_t byte = static_cast<uint8_t>(random.next());
        if (random.below(3) == 0)
            byte = static_cast<uint8_t>("\r\n\x08\x7f\x03\x15\x1b[a"[random.below(9)]);
        Event event = editor.feed(byte, echo.get(), capacity, length);
        REQUIRE(length >= before);
        if (before <= capacity)
            REQUIRE(length <= capacity);
        else
            REQUIRE(length == before);
        REQUIRE(editor.length() <= shell::LineEditor::kMaxLineLength);
        REQUIRE(editor.line()[editor.length()] == '\0');
        REQUIRE(std::strlen(editor.line()) == editor.length());
        if (event == Event::Cancelled)
            REQUIRE(editor.length() == 0);
        if (step % 50000 == 0)
            editor.reset();
    }
}

// ================================================================ shell commands

namespace {

shell::Command command_of(const std::string& line)
{
    // A heap copy of exactly the line and its NUL: a read past it is caught.
    std::unique_ptr<char[]> copy(new char[line.size() + 1]);
    std::memcpy(copy.get(), line.c_str(), line.size() + 1);
    shell::Command command = shell::parse_command(copy.get());
    command.word = {}; // it points into the copy, which goes now
    return command;
}

} // namespace

// ================================================================ how tasks end

namespace {

std::string described(abi::TaskState state, int64_t exit_status)
{
    char buffer[128];
    BufferSink sink(buffer, sizeof buffer);
    user::describe_end(sink, abi::TaskStatus { 7, state, exit_status });
    return std::string(sink.view().chars(), sink.view().length());
}

} // namespace

TEST_CASE("shell command: words without arguments", "[shell_command]")
{
    using Kind = shell::CommandKind;
    CHECK(command_of("").kind == Kind::None);
    CHECK(command_of(" \t\r\n").kind == Kind::None);
    CHECK(command_of("help").kind == Kind::Help);
    CHECK(command_of("  ps  ").kind == Kind::Ps);
    CHECK(command_of("mem").kind == Kind::Mem);
    CHECK(command_of("cpus now").kind == Kind::Cpus); // arguments ignored
    CHECK(command_of("pci").kind == Kind::Pci);
    CHECK(command_of("date").kind == Kind::Date);
    CHECK(command_of("bench").kind == Kind::Bench);
    CHECK(command_of("shutdown").kind == Kind::Shutdown);
    CHECK(command_of("Help").kind == Kind::Unknown);
    CHECK(command_of("helpme").kind == Kind::Unknown);
    CHECK(command_of("hel").kind == Kind::Unknown);
}

TEST_CASE("shell command: the unknown word is the one typed", "[shell_command]")
{
    std::string line = "  frobnicate --now";
    shell::Command command = shell::parse_command(line.c_str());
    REQUIRE(command.kind == shell::CommandKind::Unknown);
    CHECK(std::string(command.word.text, command.word.length) == "frobnicate");
    CHECK(command.word.text == line.c_str() + 2);
}

TEST_CASE("shell command: run and start", "[shell_command]")
{
    using Kind = shell::CommandKind;
    shell::Command run = command_of("run hello");
    REQUIRE(run.kind == Kind::Run);
    CHECK(std::string(run.program) == "hello");
    CHECK(run.argument == 0);

    shell::Command start = command_of("start\techo_server 0x10 extra");
    REQUIRE(start.kind == Kind::Start);
    CHECK(std::string(start.program) == "echo_server");
    CHECK(start.argument == 16);

    CHECK(command_of("run spin 18446744073709551615").argument == UINT64_MAX);
    CHECK(std::string(command_of("run").problem) == "usage: run NAME [ARG]   (ARG: a number)");
    CHECK(std::string(command_of("start").problem) == "usage: start NAME [ARG]   (ARG: a number)");
    CHECK(command_of("run hello -1").kind == Kind::Invalid);
    CHECK(command_of("run hello 18446744073709551616").kind == Kind::Invalid);
    CHECK(command_of("run hello 0x").kind == Kind::Invalid);

    std::string longest(shell::kMaxProgramName, 'a');
    CHECK(command_of("run " + longest).kind == Kind::Run);
    CHECK(std::string(command_of("run " + longest).program) == longest);
    shell::Command too_long = command_of("run " + longest + "a");
    REQUIRE(too_long.kind == Kind::Invalid);
    CHECK(std::string(too_long.problem) == "run: name too long");
    CHECK(std::string(command_of("start " + longest + "a").problem) == "start: name too long");
}

TEST_CASE("shell command: kill", "[shell_command]")
{
    using Kind = shell::CommandKind;
    shell::Command kill = command_of("kill 7");
    REQUIRE(kill.kind == Kind::Kill);
    CHECK(kill.argument == 7);
    CHECK(command_of("kill 0x2a").argument == 42);
    CHECK(std::string(command_of("kill").problem) == "usage: kill ID");
    CHECK(command_of("kill seven").kind == Kind::Invalid);
    CHECK(command_of("kill 7x").kind == Kind::Invalid);
}

TEST_CASE("shell command: random lines", "[shell_command]")
{
    Random random { 777 };
    const char* pieces[] = { "run", "start", "kill", "help", " ", "\t", "0x", "12", "ff", "hello", "-", "\x7f", "a" };
    for (int step = 0; step < 20000; ++step) {
        std::string line;
        for (size_t n = random.below(8); n > 0; --n)
            line += random.below(4) == 0 ? std::string(1, static_cast<char>(1 + random.below(255))) : pieces[random.below(13)];
        shell::Command command = command_of(line);
        switch (command.kind) {
        case shell::CommandKind::Run:
        case shell::CommandKind::Start: {
            size_t length = strnlen(command.program, sizeof command.program);
            REQUIRE(length >= 1);
            REQUIRE(length <= shell::kMaxProgramName);
            REQUIRE(line.find(command.program) != std::string::npos);
            break;
        }
        case shell::CommandKind::Invalid:
            REQUIRE(command.problem != nullptr);
            break;
        default:
            REQUIRE(command.problem == nullptr);
        }
    }
}

TEST_CASE("task_status: an end in words, as init and the shell print it", "[task_status]")
{
    using abi::TaskState;
    CHECK(described(TaskState::Exited, 0) == "exited with status 0");
    CHECK(described(TaskState::Exited, 3) == "exited with status 3");
    CHECK(described(TaskState::Exited, -7) == "exited with status -7 (peer gone)");
    CHECK(described(TaskState::Exited, -68) == "exited with status -68 (not found)");
    CHECK(described(TaskState::Exited, -11) == "exited with status -11 (quota exceeded: too many handles of that kind)");
    CHECK(described(TaskState::Exited, -12) == "exited with status -12 (not granted)"); // the device calls' (docs/drivers.md)
    CHECK(described(TaskState::Exited, -15) == "exited with status -15"); // no such ipc::Error
    CHECK(described(TaskState::Exited, -1025) == "exited with status -1025"); // some protocol's own
    CHECK(described(TaskState::Killed, abi::kKilledStatus) == "was killed");
    CHECK(described(TaskState::Killed, -1014) == "was killed by #PF page fault (status -1014)");
    CHECK(described(TaskState::Killed, abi::fault_status(13)) == "was killed by #GP general protection (status -1013)");
    CHECK(described(TaskState::Killed, abi::fault_status(0)) == "was killed by #DE divide error (status -1000)");
    CHECK(described(TaskState::Killed, abi::fault_status(31)) == "was killed by #31 reserved (status -1031)");
    CHECK(described(TaskState::Killed, abi::fault_status(32)) == "was killed (status -1032)"); // not an exception
    CHECK(described(TaskState::Killed, -999) == "was killed (status -999)");
    CHECK(described(TaskState::Killed, 5) == "was killed (status 5)");
}

TEST_CASE("shell: a program's end as a command status", "[shell]")
{
    using abi::TaskState;
    auto status = [](TaskState state, int64_t exit_status) {
        return shell::status_of_end(abi::TaskStatus { 1, state, exit_status });
    };
    CHECK(status(TaskState::Exited, 0) == 0);
    CHECK(status(TaskState::Exited, 1) == 1);
    CHECK(status(TaskState::Exited, 255) == 255);
    CHECK(status(TaskState::Exited, -7) == 249);  // POSIX keeps the low 8 bits
    CHECK(status(TaskState::Exited, 256) == 1);   // but a failure never reads as 0
    CHECK(status(TaskState::Exited, -256) == 1);
    CHECK(status(TaskState::Exited, 0x1'0000'0003) == 3);
    CHECK(status(TaskState::Killed, abi::kKilledStatus) == 137);
    CHECK(status(TaskState::Killed, abi::fault_status(14)) == 142);
    CHECK(status(TaskState::Killed, abi::fault_status(0)) == 128);
    CHECK(status(TaskState::Killed, 0) == 137); // a killed task failed, whatever its number
}

TEST_CASE("shell: the session's status is the first failure's", "[shell]")
{
    auto session = std::make_unique<shell::Session>(); // value-initialized, as the shell's global
    CHECK(session->status() == 0);
    CHECK(std::string(session->first_failure()).empty());
    session->record(0, "ps");
    CHECK(session->status() == 0);
    session->record(127, "frobnicate");
    session->record(0, "mem");
    session->record(142, "run fault_pf");
    CHECK(session->status() == 127);
    CHECK(std::string(session->first_failure()) == "frobnicate");

    shell::Session long_line {};
    std::string line(300, 'x');
    long_line.record(1, line.c_str());
    CHECK(std::string(long_line.first_failure()) == std::string(shell::Session::kMaxCommand - 1, 'x'));
}

TEST_CASE("shell: type-ahead keeps every byte in order and takes Ctrl-C", "[shell]")
{
    auto typed = std::make_unique<shell::TypeAhead>();
    auto drain = [&typed] {
        std::string out;
        uint8_t byte;
        while (typed->pop(byte))
            out.push_back(static_cast<char>(byte));
        return out;
    };
    SECTION("in order, across the ring's end")
    {
        std::string expected;
        for (int round = 0; round < 5; ++round) {
            std::string chunk(shell::TypeAhead::kCapacity - 100, static_cast<char>('a' + round));
            REQUIRE(typed->push(chunk.data(), chunk.size()) == chunk.size());
            REQUIRE(drain() == chunk);
        }
        CHECK(typed->count() == 0);
    }
    SECTION("a full queue takes no more, and says so")
    {
        std::string lots(shell::TypeAhead::kCapacity + 10, 'x');
        CHECK(typed->push(lots.data(), lots.size()) == shell::TypeAhead::kCapacity);
        CHECK(typed->room() == 0);
        CHECK(typed->push("y", 1) == 0);
        uint8_t byte;
        CHECK(typed->pop(byte));
        CHECK(typed->push("y", 1) == 1);
        std::string all = drain();
        CHECK(all.size() == shell::TypeAhead::kCapacity);
        CHECK(all.back() == 'y');
    }
    SECTION("Ctrl-C drops itself and what came before; what comes after stays")
    {
        typed->push("ps\r\x03mem\r", 8);
        CHECK(typed->take_interrupt());
        CHECK(drain() == "mem\r");
        typed->push("a\x03" "b\x03" "c", 5); // split: "\x03b" would be one byte
        CHECK(typed->take_interrupt()); // through the last one
        CHECK(drain() == "c");
        typed->push("run hello\r", 10);
        CHECK_FALSE(typed->take_interrupt());
        CHECK(drain() == "run hello\r");
    }
}

TEST_CASE("shell: the disk commands", "[shell]")
{
    using herald::shell::FileCommandKind;
    using herald::shell::parse_file_command;
    CHECK(parse_file_command("ps").kind == FileCommandKind::NotOne);
    CHECK(parse_file_command("lsx").kind == FileCommandKind::NotOne);
    CHECK(parse_file_command("disk").kind == FileCommandKind::Disk);

    auto ls = parse_file_command("ls");
    CHECK(ls.kind == FileCommandKind::Ls);
    CHECK(std::string(ls.path) == "/");
    CHECK(std::string(parse_file_command("  ls   /disk  ").path) == "/");
    CHECK(std::string(parse_file_command("ls /disk/MANY").path) == "/MANY");
    CHECK(std::string(parse_file_command("ls MANY").path) == "/MANY");
    CHECK(std::string(parse_file_command("ls /diskette").path) == "/diskette"); // not the prefix
    CHECK(parse_file_command("ls a b").kind == FileCommandKind::Invalid);

    auto cat = parse_file_command("cat /disk/readme.txt");
    CHECK(cat.kind == FileCommandKind::Cat);
    CHECK(std::string(cat.path) == "/readme.txt");
    CHECK(cat.path_length == 11);
    CHECK(parse_file_command("cat").kind == FileCommandKind::Invalid);
    CHECK(parse_file_command("cat a b").kind == FileCommandKind::Invalid);
    CHECK(parse_file_command("rm").kind == FileCommandKind::Invalid);
    CHECK(std::string(parse_file_command("rm notes.txt").path) == "/notes.txt");

    auto write = parse_file_command("write notes.txt  two  words ");
    REQUIRE(write.kind == FileCommandKind::Write);
    CHECK(std::string(write.path) == "/notes.txt");
    CHECK(std::string(write.text, write.text_length) == "two  words ");
    CHECK(parse_file_command("write notes.txt").kind == FileCommandKind::Invalid);
    CHECK(parse_file_command("write notes.txt    ").kind == FileCommandKind::Invalid);

    std::string long_path = "cat /" + std::string(255, 'a');
    CHECK(parse_file_command(long_path.c_str()).kind == FileCommandKind::Invalid);
    std::string longest = "cat /" + std::string(254, 'a');
    CHECK(parse_file_command(longest.c_str()).path_length == 255);
}
