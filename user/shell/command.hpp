// The shell's command parser: one finished line (line_editor.hpp) into the
// command to run, without running it, so that the host tests and the fuzzer
// (tests/fuzz) build the same code that reads what the operator types.
//
//   help | ps | mem | cpus | pci | date | bench | shutdown   anything after the word is ignored
//   run NAME [ARG] | start NAME [ARG]           NAME: 1 to kMaxProgramName
//                                               characters; ARG: a u64, decimal
//                                               or 0x-hex (user/runtime/string.hpp)
//   kill ID                                     ID: a u64, as ARG
//   (blank)                                     nothing to do
//   any other word                              Unknown, with the word
//
// Words are separated by whitespace (user::is_space). A command whose
// arguments are wrong is Invalid, with the line the shell prints (`problem`,
// a static string). The parser only reads the line; the command it returns
// points into it (`word`), so the line must outlive it.
//
// Portable and freestanding (<stddef.h>, <stdint.h>; no allocation).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "user/runtime/string.hpp"

namespace herald::shell {

// The longest program name the loader takes (ipc::loader::kNameSize - 1:
// the name travels NUL-terminated in 32 bytes; main.cpp checks they agree).
inline constexpr size_t kMaxProgramName = 31;

enum class CommandKind : uint8_t {
    None,     // a blank line
    Help,
    Ps,
    Mem,
    Cpus,
    Pci,      // the PCI server's functions and who holds them
    Date,     // the real-time clock's date and time (servers/rtc)
    Run,      // program, argument: start it and wait
    Start,    // program, argument: start it and come back at once
    Kill,     // argument: the task id
    Bench,
    Shutdown,
    Unknown,  // word: a command the shell does not have
    Invalid,  // problem: a known command with bad arguments
};

struct Command {
    CommandKind kind { CommandKind::None };
    user::Token word {};                    // the command word as typed
    char program[kMaxProgramName + 1] {};   // Run, Start: NUL-terminated
    uint64_t argument { 0 };                // Run, Start: ARG (0 if none); Kill: ID
    const char* problem { nullptr };        // Invalid: what to tell the operator
};

// Parses a NUL-terminated line.
Command parse_command(const char* line);

} // namespace herald::shell
