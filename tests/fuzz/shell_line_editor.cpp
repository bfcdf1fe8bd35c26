// Fuzzes the shell's line editor (user/shell/line_editor.cpp) and the
// command parser behind it, as the shell runs them: every byte typed goes
// through the editor, every finished line through parse_command().
//
// Input: the first byte picks the echo buffer's capacity (the shell's
// kMaxEcho, or a small one, which must never put the terminal out of step);
// the rest is what is typed. A model terminal plays the echo back, and what
// it shows must be the line the editor holds.
#include "fuzz.hpp"
#include "user/shell/command.hpp"
#include "user/shell/line_editor.hpp"

#include <memory>
#include <string>

using namespace herald;
using Event = shell::LineEditor::Event;

namespace {

// What a serial terminal does with the echo: text at the cursor, BS moves
// the cursor left, CR LF starts a new line, BEL rings.
struct Terminal {
    std::string row;
    size_t cursor = 0;

    void show(const char* echo, size_t length)
    {
        for (size_t i = 0; i < length; ++i) {
            char c = echo[i];
            if (c == '\b') {
                FUZZ_CHECK(cursor > 0); // the editor never backs out of its line
                --cursor;
            } else if (c == '\r') {
                cursor = 0;
            } else if (c == '\n') {
                row.clear();
                cursor = 0;
            } else if (c == '\a') {
            } else {
                FUZZ_CHECK(c >= 0x20 && c <= 0x7E); // nothing else reaches the terminal
                if (cursor == row.size())
                    row.push_back(c);
                else
                    row[cursor] = c;
                ++cursor;
            }
        }
    }

    // The text up to the cursor, where the editor's line is; after it only
    // blanks that erased characters.
    std::string visible() const
    {
        FUZZ_CHECK(row.find_first_not_of(' ', cursor) == std::string::npos);
        return row.substr(0, cursor);
    }
};

void check_line(const shell::LineEditor& editor)
{
    size_t length = editor.length();
    FUZZ_CHECK(length <= shell::LineEditor::kMaxLineLength);
    FUZZ_CHECK(editor.line()[length] == '\0');
    for (size_t i = 0; i < length; ++i)
        FUZZ_CHECK(editor.line()[i] >= 0x20 && editor.line()[i] <= 0x7E);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    size_t capacity = data[0] >= 0x80 ? shell::LineEditor::kMaxEcho : data[0] % 8;
    auto editor = std::make_unique<shell::LineEditor>(); // all zero, as in the shell's .bss
    Terminal terminal;
    std::unique_ptr<char[]> echo(new char[capacity ? capacity : 1]); // exact size: an overrun is caught
    for (size_t i = 1; i < size; ++i) {
        size_t length = 0;
        Event event = editor->feed(data[i], echo.get(), capacity, length);
        FUZZ_CHECK(length <= capacity);
        check_line(*editor);
        terminal.show(echo.get(), length);
        if (event == Event::LineReady || event == Event::EndOfInput) { // Ctrl-D finishes the line too
            (void)shell::parse_command(editor->line());
            // A full echo buffer shows the finished line ending; a small one may not.
            if (capacity == shell::LineEditor::kMaxEcho)
                FUZZ_CHECK(terminal.visible().empty());
        } else if (event == Event::Cancelled) {
            FUZZ_CHECK(editor->length() == 0);
            if (capacity == shell::LineEditor::kMaxEcho)
                FUZZ_CHECK(terminal.visible().empty());
        } else if (capacity == shell::LineEditor::kMaxEcho) {
            FUZZ_CHECK(terminal.visible() == std::string(editor->line(), editor->length()));
        }
    }
    return 0;
}
