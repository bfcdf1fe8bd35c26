// LogLine: one log line built piece by piece ({}-style, microkernel/lib/
// format.hpp), then sent whole: write() to the kernel log through DebugWrite,
// which needs no IPC buffer (so a task whose buffer is in use, or a test of
// the system calls themselves, can still report), or view() to print it
// elsewhere. A line longer than Capacity is cut, never overrun.
#pragma once

#include "microkernel/lib/format.hpp"
#include "user/runtime/syscall.hpp"

namespace herald::user {

template<usize Capacity>
class LogLine {
public:
    LogLine() = default;
    LogLine(const LogLine&) = delete; // m_sink points into m_buffer
    LogLine& operator=(const LogLine&) = delete;

    template<typename... Args>
    LogLine& add(const char* format_string, const Args&... args)
    {
        format(m_sink, format_string, args...);
        return *this;
    }
    StringView view() const { return m_sink.view(); }
    void write() const { debug_write(view().chars(), view().length()); }

private:
    char m_buffer[Capacity];
    BufferSink m_sink { m_buffer, Capacity };
};

} // namespace herald::user
