// FileService: the file protocol (libipc/protocols/file.hpp) served from a
// mounted Volume (servers/fat, docs/storage.md). Portable: the FAT server
// (main.cpp) runs it in ipc::serve on the disk it reaches through the block
// protocol; the host tests drive it through libipc's fake transport.
//
// It checks what the library cannot: lengths and offsets wider than FAT's
// 32 bits, a Create kind that is neither file nor directory, a Read longer
// than one payload. File ids belong to the client that opened them (the
// badge of its handle, which the registry makes the client's task id): a
// client may read, write, truncate and close only its own, and another's
// id is kBadFile, as a closed one is. The library's errors become the
// protocol's (to_ipc_error).
//
// Who asks: a client with badge 0 (a handle nobody badged: not one the
// registry handed out) is Denied everything; each client may hold at most
// kMaxOpenPerClient open files (kClientLimit beyond), so that no client can
// take the whole table (the Volume's Volume::kMaxOpenFiles, 16) from the others.
// forget_client() closes what a client left open.
//
// Not yet: the server does not hear of clients that end (it would need the
// kernel's task list, as the loader has): a client that ends without
// closing keeps its share until forget_client() is called for it; and a
// disk changed behind the server's back is not noticed.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fat_volume.hpp"
#include "libipc/protocols/file.hpp"

namespace herald::fat {

ipc::Error to_ipc_error(Error error);

class FileService {
public:
    // Open files the service tracks, over all clients (a file two clients
    // opened counts twice).
    static constexpr size_t kMaxOpenFiles = 32;
    // Open files one client (one badge) may hold at a time.
    static constexpr size_t kMaxOpenPerClient = 6;

    constexpr explicit FileService(Volume& volume) : m_volume(&volume) { }

    ipc::Result<ipc::file::Open::Reply> handle(ipc::file::Open, const ipc::Bytes& path, ipc::Badge badge);
    ipc::Result<ipc::Empty> handle(ipc::file::Close, const ipc::file::FileId& request, ipc::Badge badge);
    ipc::Result<ipc::Bytes> handle(ipc::file::Read, const ipc::file::Read::Request& request, ipc::Badge badge);
    ipc::Result<ipc::file::Write::Reply> handle(ipc::file::Write, const ipc::file::Write::Request& request, ipc::Badge badge);
    ipc::Result<ipc::Empty> handle(ipc::file::Truncate, const ipc::file::Truncate::Request& request, ipc::Badge badge);
    ipc::Result<ipc::Empty> handle(ipc::file::Create, const ipc::file::Create::Request& request, ipc::Badge badge);
    ipc::Result<ipc::Empty> handle(ipc::file::Delete, const ipc::Bytes& path, ipc::Badge badge);
    ipc::Result<ipc::file::List::Reply> handle(ipc::file::List, const ipc::file::List::Request& request, ipc::Badge badge);
    ipc::Result<ipc::file::Stat::Reply> handle(ipc::file::Stat, const ipc::Bytes& path, ipc::Badge badge);
    ipc::Result<ipc::Empty> handle(ipc::file::Sync, const ipc::Empty&, ipc::Badge badge);
    ipc::Result<ipc::file::Info::Reply> handle(ipc::file::Info, const ipc::Empty&, ipc::Badge badge);

    size_t open_files() const;
    size_t open_files_of(ipc::Badge badge) const;
    // Closes every file `badge` holds open (a client that ended).
    void forget_client(ipc::Badge badge);

private:
    struct Owner {
        FileId file;
        ipc::Badge badge;
        bool in_use;
    };

    // The owner record of `file` for `badge`, or null.
    Owner* owner_of(uint64_t file, ipc::Badge badge);

    Volume* m_volume;
    Owner m_owners[kMaxOpenFiles] {};
    uint8_t m_buffer[ipc::kMaxPayload] {}; // a Read's bytes, a List's page
};

} // namespace herald::fat
