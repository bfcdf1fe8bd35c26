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
// forget_client() closes what a client left open. A client that ends
// without closing its files is not told to the server: when an Open finds
// a table full (kTooManyOpen), the service asks which clients still run
// (Clients: the kernel's task list in the server, main.cpp) and closes the
// files of those that ended, then tries once more. Task ids are never
// reused, so a new client never inherits an old one's badge or files.
//
// Not yet: a disk changed behind the server's back is not noticed.
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

    // Whether a client (a badge: its task id) still runs.
    class Clients {
    public:
        virtual bool running(ipc::Badge badge) = 0;

    protected:
        ~Clients() = default;
    };

    constexpr explicit FileService(Volume& volume, Clients* clients = nullptr) : m_volume(&volume), m_clients(clients) { }

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
    // Closes the files of every client that no longer runs (none without
    // Clients); how many it closed.
    size_t forget_ended_clients();

private:
    struct Owner {
        FileId file;
        ipc::Badge badge;
        bool in_use;
    };

    // The owner record of `file` for `badge`, or null.
    Owner* owner_of(uint64_t file, ipc::Badge badge);
    ipc::Result<ipc::file::Open::Reply> open(const ipc::Bytes& path, ipc::Badge badge);

    Volume* m_volume;
    Clients* m_clients;
    Owner m_owners[kMaxOpenFiles] {};
    uint8_t m_buffer[ipc::kMaxPayload] {}; // a Read's bytes, a List's page
};

} // namespace herald::fat
