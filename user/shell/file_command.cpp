#include "file_command.hpp"

namespace herald::shell {

namespace {

using user::Token;

constexpr const char kDiskPrefix[] = "/disk";
constexpr size_t kDiskPrefixLength = sizeof(kDiskPrefix) - 1;

FileCommand invalid(FileCommand command, const char* problem)
{
    command.kind = FileCommandKind::Invalid;
    command.problem = problem;
    return command;
}

bool starts_with_disk(const Token& path)
{
    if (path.length < kDiskPrefixLength)
        return false;
    for (size_t i = 0; i < kDiskPrefixLength; ++i) {
        if (path.text[i] != kDiskPrefix[i])
            return false;
    }
    return path.length == kDiskPrefixLength || path.text[kDiskPrefixLength] == '/';
}

// The path as the file server takes it: "/disk" dropped, a leading '/' kept
// (the root when nothing is left). False if it is too long.
bool take_path(FileCommand& command, Token path)
{
    if (starts_with_disk(path)) {
        path.text += kDiskPrefixLength;
        path.length -= kDiskPrefixLength;
    }
    size_t at = 0;
    if (path.length == 0 || path.text[0] != '/')
        command.path[at++] = '/';
    if (path.length > kMaxDiskPath - at)
        return false;
    for (size_t i = 0; i < path.length; ++i)
        command.path[at++] = path.text[i];
    command.path[at] = '\0';
    command.path_length = at;
    return true;
}

} // namespace

FileCommand parse_file_command(const char* line)
{
    const char* cursor = line;
    FileCommand command;
    Token word = user::next_token(cursor);
    if (word.equals("disk")) {
        command.kind = FileCommandKind::Disk;
        return command;
    }
    struct Shape {
        const char* word;
        FileCommandKind kind;
        const char* usage;
    };
    constexpr Shape kShapes[] = {
        { "ls", FileCommandKind::Ls, "usage: ls [DIR]" },
        { "cat", FileCommandKind::Cat, "usage: cat FILE" },
        { "write", FileCommandKind::Write, "usage: write FILE TEXT" },
        { "rm", FileCommandKind::Rm, "usage: rm FILE" },
    };
    for (const Shape& shape : kShapes) {
        if (!word.equals(shape.word))
            continue;
        Token path = user::next_token(cursor);
        if (path.empty() && shape.kind != FileCommandKind::Ls)
            return invalid(command, shape.usage);
        if (!take_path(command, path))
            return invalid(command, "the path is too long (255 characters at most)");
        if (shape.kind == FileCommandKind::Ls && !user::next_token(cursor).empty())
            return invalid(command, shape.usage);
        if (shape.kind == FileCommandKind::Write) {
            command.text = user::skip_spaces(cursor);
            while (command.text[command.text_length] != '\0')
                ++command.text_length;
            if (command.text_length == 0)
                return invalid(command, shape.usage);
        } else if (shape.kind != FileCommandKind::Ls && !user::next_token(cursor).empty()) {
            return invalid(command, shape.usage);
        }
        command.kind = shape.kind;
        return command;
    }
    return command;
}

} // namespace herald::shell
