// The shell's session: what was typed ahead, and how the commands went.
//
// Type-ahead. Input is read from the console as it comes, also while `run`
// waits for a program, and kept here in order until the line editor takes
// it: nothing typed (or piped in) is dropped. When this queue is full the
// shell stops reading; the console's buffer then fills, the console stops
// draining the UART, and QEMU stops reading the host, so input waits
// instead of being lost. Ctrl-C while a program runs kills it and, as a
// terminal's interrupt does, drops what was typed before it.
//
// Status. Each command ends with a status, as in a POSIX shell:
//   0     it did what it was asked
//   1     it could not (a server said no, the task to kill is not ours)
//   2     usage: missing or malformed arguments
//   126   run/start: not a program Herald can run (a corrupt or non-ELF entry)
//   127   unknown command, or no such program in the boot archive
//   a program's own, for run: its exit status, as POSIX keeps it (the low
//         8 bits: -7 gives 249), but never 0 for a status that is not 0;
//         killed by CPU exception V: 128 + V (a page fault: 142); killed on
//         request (kill, Ctrl-C): 137 (128 + 9, as for SIGKILL)
// The session's status is the first failure's, or 0 when every command
// succeeded; the shell prints it when it powers off (`shell: powering off:
// status N ...`), and ./herald run --exec exits with it.
//
// Portable (host-tested in tests/host/init_shell_test.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/task.hpp"

namespace herald::shell {

inline constexpr int kStatusOk = 0;
inline constexpr int kStatusFailed = 1;
inline constexpr int kStatusUsage = 2;
inline constexpr int kStatusNotRunnable = 126;
inline constexpr int kStatusNotFound = 127;
inline constexpr int kStatusSignalBase = 128;
inline constexpr int kStatusKilled = kStatusSignalBase + 9;

// A program's end as a command status (above).
int status_of_end(const abi::TaskStatus& status);

class TypeAhead {
public:
    static constexpr size_t kCapacity = 4096;

    size_t count() const { return m_count; }
    size_t room() const { return kCapacity - m_count; }

    // Appends up to room() bytes; returns how many it took.
    size_t push(const char* bytes, size_t count);
    // The oldest byte; false when empty.
    bool pop(uint8_t& byte);

    // If a Ctrl-C (0x03) is queued: drops it and everything before it and
    // returns true.
    bool take_interrupt();

private:
    uint8_t m_bytes[kCapacity];
    size_t m_head;
    size_t m_count;
};

// The first failure of a session.
class Session {
public:
    static constexpr size_t kMaxCommand = 128;

    // A command `line` ended with `status`.
    void record(int status, const char* line);

    int status() const { return m_status; }
    // The command that failed first ("" while none has).
    const char* first_failure() const { return m_first_failure; }

private:
    int m_status;
    char m_first_failure[kMaxCommand];
};

} // namespace herald::shell
