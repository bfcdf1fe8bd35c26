// What a Herald program gets from its runtime (docs/system.md, "Writing a program"):
//
//   println("{} frames free", count);   // formatted, to the console server
//   void* p = malloc(4096);             // the heap, from the memory server
//   ipc::Transport& t = herald::user::ipc(); // IPC with the runtime's buffer
//
// Output is line-buffered: a line goes to the console in one Write when it
// ends (or the buffer fills, or flush()), so lines of different tasks never
// mix. Before the console exists (or in a task started without the
// registry) output goes to the kernel log (DebugWrite) instead. When the
// console is restarted (docs/reliability.md), the line being written when
// it ended goes to the kernel log, and the next one to the new console: the
// runtime looks "console" up again (ipc::ReconnectingClient), without
// waiting for it.
//
// Each thread has its own transport and IPC buffer (the kernel keeps one
// per thread), registered the first time the thread needs it, and its own
// line: threads may print and make IPC calls at once (thread.hpp). A thread
// that registers its own buffer (SetIpcBuffer) must then do all its IPC
// through that one, and not print: both would claim the buffer.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/syscall_transport.hpp"
#include "microkernel/lib/format.hpp"

namespace herald::user {

// The calling thread's transport (its IPC buffer registered on first use).
ipc::SyscallTransport& ipc();

// A handle to the server published under `name`, waiting a while for it to
// register; HandleNone if there is no registry or no such server.
ipc::Handle find_server(const char* name);

// Appends to the current line; a '\n' sends it (and so does returning from
// herald_main: the runtime flushes before the task exits).
void print(StringView text);
inline void print(const char* text) { print(StringView(text)); }
void flush();
// flush(), ending an unfinished line with '\n' first (done at exit).
void finish_line();
// flush(), then `text` as part of the line being typed (a prompt, a line
// editor's echo: the console's Echo), so that other tasks' output does not
// land inside it (docs/system.md, "The console").
void echo(StringView text);

class ConsoleSink final : public FormatSink {
public:
    void write(const char* chars, usize length) override { print(StringView(chars, length)); }
    using FormatSink::write;
};

template<typename... Args>
void println(const char* format_string, const Args&... args)
{
    ConsoleSink sink;
    format(sink, format_string, args...);
    print("\n");
}

template<typename... Args>
void printf(const char* format_string, const Args&... args) // {}-style, no newline added
{
    ConsoleSink sink;
    format(sink, format_string, args...);
}

// Reads up to `max` bytes of console input, waiting for at least one.
// Returns the count, or 0 if there is no console. A console that is being
// restarted is waited for (input it held is lost).
size_t read_input(char* buffer, size_t max);
// The same without waiting: 0 when nothing was typed.
size_t read_input_now(char* buffer, size_t max);

// Lines the console took so far (the others went to the kernel log), and
// how often the runtime found a restarted console: for tests.
uint64_t console_lines();
uint32_t console_reconnects();

} // namespace herald::user

extern "C" {
void* malloc(size_t size);
void free(void* pointer);
void* realloc(void* pointer, size_t size);
void* calloc(size_t count, size_t size);
}
