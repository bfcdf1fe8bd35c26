// The shell's disk commands (files.hpp): each is a few requests of the file
// protocol to the FAT server. `write` and `rm` end with Sync, so that what
// they did is on the disk before the next `shutdown`.
#include "files.hpp"

#include "file_command.hpp"
#include "libipc/protocols/file.hpp"
#include "libipc/reconnecting_client.hpp"
#include "session.hpp"
#include "user/runtime/herald.hpp"

namespace herald::shell {

namespace {

namespace file = ipc::file;
using user::println;

constexpr uint64_t kBytesPerMiB = 1024 * 1024;

// A reply's bytes are in the IPC buffer, which printing (a Write to the
// console) overwrites: they are copied here first.
uint8_t g_reply[ipc::kMaxPayload];

ipc::Bytes kept(const ipc::Bytes& bytes)
{
    uint32_t length = bytes.length <= sizeof g_reply ? bytes.length : 0;
    __builtin_memcpy(g_reply, bytes.data, length);
    return ipc::Bytes { g_reply, length };
}

// The FAT server, found again if it is restarted.
ipc::ReconnectingClient<file::Protocol>& files()
{
    static ipc::ReconnectingClient<file::Protocol> client(user::ipc(), abi::HandleRegistry, "fat");
    return client;
}

ipc::Bytes path_of(const FileCommand& command)
{
    return ipc::Bytes { reinterpret_cast<const uint8_t*>(command.path), static_cast<uint32_t>(command.path_length) };
}

int failed(const char* what, const FileCommand& command, ipc::Error error)
{
    println("{}: {}: {}", what, StringView(command.path, command.path_length), file::error_text(error));
    return error == ipc::Error::NotFound ? kStatusNotFound : kStatusFailed;
}

int list(const FileCommand& command)
{
    uint64_t cookie = 0;
    for (;;) {
        auto page = files().call<file::List>({ { cookie }, path_of(command) });
        if (page.is_error())
            return failed("ls", command, page.error());
        file::ListReader reader(kept(page.value().bytes));
        file::ListEntryHeader header {};
        const char* name = nullptr;
        while (reader.next(header, name)) {
            if (header.is_directory)
                println("         -  {}/", StringView(name, header.name_length));
            else
                println("{:10}  {}", header.size, StringView(name, header.name_length));
        }
        if (reader.malformed()) {
            println("ls: the file server sent a malformed page");
            return kStatusFailed;
        }
        if (page.value().fixed.at_end || page.value().fixed.next_cookie == cookie)
            return kStatusOk;
        cookie = page.value().fixed.next_cookie;
    }
}

int cat(const FileCommand& command)
{
    auto opened = files().call<file::Open>(path_of(command));
    if (opened.is_error())
        return failed("cat", command, opened.error());
    uint64_t id = opened.value().file;
    int status = kStatusOk;
    char last = '\n';
    for (uint64_t offset = 0;;) {
        auto bytes = files().call<file::Read>({ id, offset, ipc::kMaxPayload });
        if (bytes.is_error()) {
            status = failed("cat", command, bytes.error());
            break;
        }
        ipc::Bytes piece = kept(bytes.value());
        if (piece.length == 0)
            break;
        const char* text = reinterpret_cast<const char*>(piece.data);
        user::print(StringView(text, piece.length));
        last = text[piece.length - 1];
        offset += piece.length;
    }
    if (last != '\n')
        println("");
    (void)files().call<file::Close>({ id });
    return status;
}

int write(const FileCommand& command)
{
    auto created = files().call<file::Create>({ { file::kFile }, path_of(command) });
    if (created.is_error() && created.error() != file::kAlreadyExists)
        return failed("write", command, created.error());
    auto opened = files().call<file::Open>(path_of(command));
    if (opened.is_error())
        return failed("write", command, opened.error());
    uint64_t id = opened.value().file;
    // TEXT and its newline, at most one payload: the line editor's lines are shorter.
    static char text[ipc::kMaxPayload];
    size_t length = command.text_length < sizeof(text) - 1 ? command.text_length : sizeof(text) - 1;
    __builtin_memcpy(text, command.text, length);
    text[length++] = '\n';
    ipc::Result<file::Write::Reply> written = ipc::Error::InvalidRequest;
    auto truncated = files().call<file::Truncate>({ id, 0 });
    if (!truncated.is_error())
        written = files().call<file::Write>({ { id, 0 }, ipc::Bytes { reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(length) } });
    (void)files().call<file::Close>({ id });
    if (truncated.is_error())
        return failed("write", command, truncated.error());
    if (written.is_error())
        return failed("write", command, written.error());
    if (auto synced = files().call<file::Sync>({}); synced.is_error())
        return failed("write", command, synced.error());
    return kStatusOk;
}

int remove(const FileCommand& command)
{
    if (auto deleted = files().call<file::Delete>(path_of(command)); deleted.is_error())
        return failed("rm", command, deleted.error());
    if (auto synced = files().call<file::Sync>({}); synced.is_error())
        return failed("rm", command, synced.error());
    return kStatusOk;
}

int disk()
{
    auto info = files().call<file::Info>({});
    if (info.is_error()) {
        println("disk: {}", file::error_text(info.error()));
        return kStatusFailed;
    }
    const auto& v = info.value();
    println("disk: FAT{}, {} MiB ({} clusters of {} bytes), {} MiB free ({} clusters)", v.fat_bits,
        v.clusters * v.bytes_per_cluster / kBytesPerMiB, v.clusters, v.bytes_per_cluster,
        v.free_clusters * v.bytes_per_cluster / kBytesPerMiB, v.free_clusters);
    return kStatusOk;
}

} // namespace

bool run_file_command(const char* line, int& status)
{
    FileCommand command = parse_file_command(line);
    switch (command.kind) {
    case FileCommandKind::NotOne: return false;
    case FileCommandKind::Ls: status = list(command); return true;
    case FileCommandKind::Cat: status = cat(command); return true;
    case FileCommandKind::Write: status = write(command); return true;
    case FileCommandKind::Rm: status = remove(command); return true;
    case FileCommandKind::Disk: status = disk(); return true;
    case FileCommandKind::Invalid: println("{}", command.problem); status = kStatusUsage; return true;
    }
    return false;
}

void print_file_help()
{
    println("  ls [DIR]          the disk's files (the FAT server; see disk)");
    println("  cat FILE          print a file of the disk");
    println("  write FILE TEXT   make FILE hold TEXT (and a newline), on the disk at once");
    println("  rm FILE           delete a file (or an empty directory) of the disk");
    println("  disk              the disk: FAT type, size, free space");
}

} // namespace herald::shell
