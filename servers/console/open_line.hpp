// OpenLine: the line being typed, as the terminal shows it (the shell's
// prompt and the editor's echo, sent with the console's Echo), so that the
// console can draw it again after another task's output interrupted it.
//
// Without it a server's log line that arrives while the operator types lands
// inside the typed text ("herald> r" + "rtc: serving" + "un sleep 500"). With
// it the console moves the other output to a line of its own and draws the
// typed line again below it, as a shell does when a background job prints:
//
//   herald> r
//   rtc: serving
//   herald> run sleep 500
//
// The model keeps what the terminal shows, not the bytes sent: printable
// bytes are appended, BS takes the last one back (the editor erases with
// "\b \b", which so leaves nothing), LF ends the line, CR and other controls
// (the bell) change nothing that shows. A line longer than kMaxLength keeps
// its first kMaxLength bytes (the editor's lines are 127 characters and the
// prompt 8, so this does not happen with the shell).
//
// Portable and freestanding; the host tests build it (console_service_test).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::console {

class OpenLine {
public:
    static constexpr size_t kMaxLength = 256;

    // Echoed bytes: the model follows them.
    void follow(const uint8_t* bytes, size_t length)
    {
        for (size_t i = 0; i < length; ++i)
            follow(bytes[i]);
    }

    // True from an Echo that did not end its line until one that did.
    bool is_open() const { return m_open; }
    const uint8_t* shown() const { return m_shown; }
    size_t length() const { return m_length; }

private:
    static constexpr uint8_t kBackspace = 0x08;

    void follow(uint8_t byte)
    {
        m_open = true;
        if (byte == '\n') {
            m_open = false;
            m_length = 0;
        } else if (byte == kBackspace) {
            if (m_length > 0)
                --m_length;
        } else if (byte >= 0x20 && byte < 0x7F && m_length < kMaxLength) {
            m_shown[m_length++] = byte;
        }
    }

    uint8_t m_shown[kMaxLength] {};
    size_t m_length { 0 };
    bool m_open { false };
};

} // namespace herald::console
