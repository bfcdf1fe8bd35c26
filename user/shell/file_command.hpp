// The shell's disk commands (docs/storage.md, "The shell's disk commands"),
// parsed apart from command.hpp so that they stay in files of their own:
//
//   ls [DIR]          the entries of DIR (default: the root)
//   cat FILE          FILE's bytes
//   write FILE TEXT   FILE (created if need be) holds TEXT and a newline, synced
//   rm FILE           deletes FILE (or an empty directory), synced
//   disk              the volume: FAT type, size, free space
//
// FILE and DIR are paths on the disk: "notes.txt", "/notes.txt" and
// "/disk/notes.txt" are the same file (the last as `run /disk/NAME` names
// it). TEXT is the rest of the line, spaces and all. Portable and
// freestanding, like command.hpp: the host tests build it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "user/runtime/string.hpp"

namespace herald::shell {

inline constexpr size_t kMaxDiskPath = 255; // ipc::file::kMaxPathLength

enum class FileCommandKind : uint8_t {
    NotOne,  // not a disk command: the shell goes on with its others
    Ls,
    Cat,
    Write,
    Rm,
    Disk,
    Invalid, // problem says what is wrong
};

struct FileCommand {
    FileCommandKind kind { FileCommandKind::NotOne };
    char path[kMaxDiskPath + 1] {}; // NUL-terminated, from the root, without "/disk"
    size_t path_length { 0 };
    const char* text { nullptr };   // Write: into the line
    size_t text_length { 0 };
    const char* problem { nullptr };
};

FileCommand parse_file_command(const char* line);

} // namespace herald::shell
