// The shell's disk commands, run (file_command.hpp parses them): clients of
// the FAT server ("fat", libipc/protocols/file.hpp; docs/storage.md).
#pragma once

namespace herald::shell {

// Runs `line` if it is a disk command and returns true, its status in
// `status`; false if it is not one.
bool run_file_command(const char* line, int& status);
// The disk commands' lines of `help`.
void print_file_help();

} // namespace herald::shell
