// The shell's line editor over a serial console: bytes arrive one at a time
// and the editor keeps the line and says what to echo back.
//
//   printable ASCII (0x20..0x7E)  appended and echoed; past kMaxLineLength
//                                 refused with a bell (0x07)
//   CR, LF                        end the line: LineReady, echo "\r\n". An LF
//                                 right after a CR is ignored (CR LF is one
//                                 Enter); LF LF, CR CR are two lines.
//   BS 0x08, DEL 0x7F             erase the last character: "\b \b"
//   Ctrl-U 0x15                   erase the line: "\b \b" per character
//   Ctrl-C 0x03                   drop the line: Cancelled, echo "^C\r\n"
//   Ctrl-D 0x04                   the end of input: EndOfInput, the line
//                                 so far is finished, echo "\r\n";
//                                 ./herald sends it after piped or --exec
//                                 input
//   ESC sequences                 swallowed: ESC [ params final (CSI, e.g.
//                                 the arrow keys ESC [ A), ESC O x (SS3),
//                                 ESC x. A control byte inside a sequence
//                                 ends it and is handled as itself (so Esc
//                                 then Enter still ends the line).
//   anything else                 ignored (other controls, bytes >= 0x80)
//
// The echo never disagrees with the line: an edit whose echo does not fit
// the caller's buffer is not made (Ctrl-U erases as many characters as their
// echo fits). The end of a line and Ctrl-C always take effect, echoing what
// fits. An echo buffer of kMaxEcho bytes always suffices.
//
// Portable and freestanding (<stddef.h>, <stdint.h>; no allocation), so the
// host tests build the same code. Valid all-zero; not synchronized.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::shell {

class LineEditor {
public:
    static constexpr size_t kMaxLineLength = 127;
    static constexpr size_t kMaxEcho = 3 * kMaxLineLength; // Ctrl-U on a full line

    enum class Event { None, LineReady, Cancelled, EndOfInput };

    // Feeds one input byte. Appends the bytes to send back to the terminal
    // to `echo` (capacity `echo_capacity`, length in/out `echo_length`;
    // `echo` may be null when the capacity is 0).
    Event feed(uint8_t byte, char* echo, size_t echo_capacity, size_t& echo_length);

    // The line, NUL-terminated: after LineReady or EndOfInput the finished
    // line (maybe empty), valid until the next feed(); otherwise the line
    // being edited (empty after Cancelled).
    const char* line() const { return m_line; }
    size_t length() const { return m_length; }

    // Forgets the line and any half-read escape sequence.
    void reset();

private:
    enum class Escape : uint8_t { None, Started, Csi, Ss3 };

    Event handle(uint8_t byte, char* echo, size_t echo_capacity, size_t& echo_length);

    char m_line[kMaxLineLength + 1];
    size_t m_length;
    Escape m_escape;
    bool m_after_cr;   // the last byte was a CR: an LF now is its other half
    bool m_line_done;  // LineReady was returned: the next feed starts a new line
};

} // namespace herald::shell
