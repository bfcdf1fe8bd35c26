#include "line_editor.hpp"

namespace herald::shell {

namespace {

constexpr uint8_t kBell = 0x07;
constexpr uint8_t kBackspace = 0x08;
constexpr uint8_t kDelete = 0x7F;
constexpr uint8_t kCtrlC = 0x03;
constexpr uint8_t kCtrlD = 0x04; // ASCII EOT
constexpr uint8_t kCtrlU = 0x15;
constexpr uint8_t kEscape = 0x1B;

size_t room(size_t capacity, size_t length) { return length < capacity ? capacity - length : 0; }

// Appends `text` (`count` bytes) whole, or nothing; whether it fit.
bool append(const char* text, size_t count, char* echo, size_t capacity, size_t& length)
{
    if (room(capacity, length) < count)
        return false;
    for (size_t i = 0; i < count; ++i)
        echo[length + i] = text[i];
    length += count;
    return true;
}

// Appends as much of `text` as fits.
void append_some(const char* text, size_t count, char* echo, size_t capacity, size_t& length)
{
    size_t fits = room(capacity, length);
    append(text, count < fits ? count : fits, echo, capacity, length);
}

} // namespace

void LineEditor::reset()
{
    m_length = 0;
    m_line[0] = '\0';
    m_escape = Escape::None;
    m_after_cr = false;
    m_line_done = false;
}

LineEditor::Event LineEditor::feed(uint8_t byte, char* echo, size_t echo_capacity, size_t& echo_length)
{
    if (m_line_done) {
        m_line_done = false;
        m_length = 0;
        m_line[0] = '\0';
    }
    bool after_cr = m_after_cr;
    m_after_cr = false;
    if (after_cr && byte == '\n')
        return Event::None;

    switch (m_escape) {
    case Escape::None:
        break;
    case Escape::Started:
        if (byte == kEscape)
            return Event::None;
        if (byte < 0x20)
            break; // a control byte ends the sequence and is handled as itself
        m_escape = byte == '[' ? Escape::Csi : byte == 'O' ? Escape::Ss3 : Escape::None;
        return Event::None;
    case Escape::Csi:
        if (byte < 0x20 || byte >= 0x80)
            break;
        if (byte >= 0x40 && byte <= 0x7E)
            m_escape = Escape::None; // the final byte
        return Event::None;          // parameters, intermediates and DEL
    case Escape::Ss3:
        if (byte < 0x20)
            break;
        m_escape = Escape::None;
        return Event::None;
    }
    m_escape = Escape::None;
    return handle(byte, echo, echo_capacity, echo_length);
}

LineEditor::Event LineEditor::handle(uint8_t byte, char* echo, size_t echo_capacity, size_t& echo_length)
{
    if (byte == '\r' || byte == '\n') {
        m_after_cr = byte == '\r';
        m_line_done = true;
        append_some("\r\n", 2, echo, echo_capacity, echo_length);
        return Event::LineReady;
    }
    if (byte == kCtrlD) {
        append_some("\r\n", 2, echo, echo_capacity, echo_length);
        m_line_done = true;
        return Event::EndOfInput;
    }
    if (byte == kCtrlC) {
        m_length = 0;
        m_line[0] = '\0';
        append_some("^C\r\n", 4, echo, echo_capacity, echo_length);
        return Event::Cancelled;
    }
    if (byte == kBackspace || byte == kDelete) {
        if (m_length > 0 && append("\b \b", 3, echo, echo_capacity, echo_length))
            m_line[--m_length] = '\0';
        return Event::None;
    }
    if (byte == kCtrlU) {
        while (m_length > 0 && append("\b \b", 3, echo, echo_capacity, echo_length))
            m_line[--m_length] = '\0';
        return Event::None;
    }
    if (byte == kEscape) {
        m_escape = Escape::Started;
        return Event::None;
    }
    if (byte >= 0x20 && byte <= 0x7E) {
        char character = static_cast<char>(byte);
        if (m_length == kMaxLineLength) {
            char bell = static_cast<char>(kBell);
            append(&bell, 1, echo, echo_capacity, echo_length);
        } else if (append(&character, 1, echo, echo_capacity, echo_length)) {
            m_line[m_length++] = character;
            m_line[m_length] = '\0';
        }
    }
    return Event::None;
}

} // namespace herald::shell
