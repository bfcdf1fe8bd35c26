// File: files on a disk, served by the FAT file-system server
// (servers/fat, docs/storage.md), published as "fat". The server tells its
// clients apart by the badge of their handle (the registry badges each
// copy with the client's task id) and bounds what each may hold open.
//
// Paths travel in the payload: '/'-separated from the root, at most
// kMaxPathLength bytes, matched without regard to case. Files are read and
// written by offset through the id Open gives (no file position on the
// server), at most kMaxPayload (4096) bytes a message.
//
//   Open      path                       -> {file, size}; IsADirectory for a directory
//   Close     {file}                     -> {}
//   Read      {file, offset, length}     -> up to length (<= 4096) bytes (payload); none at the end
//   Write     {file, offset} + bytes     -> {written}: all of them, or an error and none
//                                           (kNoSpace); a gap past the end reads as zeros
//   Truncate  {file, size}               -> {}: shorter (clusters freed) or longer (zeros)
//   Create    {kind} + path              -> {}: an empty file (kFile) or directory (kDirectory);
//                                           8.3 names only (kBadName otherwise)
//   Delete    path                       -> {}: a file that is not open, or an empty directory
//   List      {cookie} + path            -> {next_cookie, at_end} + entries (payload, packed:
//                                           ListEntryHeader then the name, each); start with
//                                           cookie 0, go on with next_cookie until at_end
//   Stat      path                       -> {size, is_directory, attributes, date, time}
//   Sync      {}                         -> {}: everything written so far is on the disk
//   Info      {}                         -> {fat_bits, bytes_per_cluster, clusters, free_clusters}
//
// Nothing is on the disk before Sync (or before the server's cache needs
// the room): a client that wants its writes to survive a power-off syncs.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocol.hpp"

namespace ipc::file {

inline constexpr size_t kMaxPathLength = 255;
inline constexpr uint64_t kFile = 0;
inline constexpr uint64_t kDirectory = 1;

struct FileId {
    uint64_t file;
};

struct Open {
    static constexpr uint32_t label = 1;
    using Request = Bytes; // the path
    struct Reply {
        uint64_t file;
        uint64_t size;
    };
};

struct Close {
    static constexpr uint32_t label = 2;
    using Request = FileId;
    using Reply = Empty;
};

struct Read {
    static constexpr uint32_t label = 3;
    static constexpr bool idempotent = true; // by offset: the same answer twice
    struct Request {
        uint64_t file;
        uint64_t offset;
        uint64_t length;
    };
    using Reply = Bytes;
};

struct Write {
    static constexpr uint32_t label = 4;
    static constexpr bool idempotent = true; // by offset: writing twice is writing once
    struct At {
        uint64_t file;
        uint64_t offset;
    };
    using Request = WithBytes<At>;
    struct Reply {
        uint64_t written;
    };
};

struct Truncate {
    static constexpr uint32_t label = 5;
    static constexpr bool idempotent = true;
    struct Request {
        uint64_t file;
        uint64_t size;
    };
    using Reply = Empty;
};

struct Create {
    static constexpr uint32_t label = 6;
    struct Kind {
        uint64_t kind; // kFile or kDirectory
    };
    using Request = WithBytes<Kind>;
    using Reply = Empty;
};

struct Delete {
    static constexpr uint32_t label = 7;
    using Request = Bytes; // the path
    using Reply = Empty;
};

struct List {
    static constexpr uint32_t label = 8;
    static constexpr bool idempotent = true;
    struct From {
        uint64_t cookie;
    };
    using Request = WithBytes<From>;
    struct Page {
        uint64_t next_cookie;
        uint64_t at_end; // 1: no entry after this page's
    };
    using Reply = WithBytes<Page>;
};

struct Stat {
    static constexpr uint32_t label = 9;
    static constexpr bool idempotent = true;
    using Request = Bytes; // the path
    struct Reply {
        uint64_t size;
        uint64_t is_directory;
        uint64_t attributes; // FAT's: 0x01 read-only, 0x02 hidden, 0x04 system, 0x10 directory, 0x20 archive
        uint64_t date;       // DOS format: (year - 1980) << 9 | month << 5 | day
        uint64_t time;       // hours << 11 | minutes << 5 | seconds / 2
    };
};

struct Sync {
    static constexpr uint32_t label = 10;
    static constexpr bool idempotent = true;
    using Request = Empty;
    using Reply = Empty;
};

// The mounted volume: its FAT type (16 or 32), cluster size, and clusters in
// all and free (the shell's `disk`).
struct Info {
    static constexpr uint32_t label = 11;
    static constexpr bool idempotent = true;
    using Request = Empty;
    struct Reply {
        uint64_t fat_bits;
        uint64_t bytes_per_cluster;
        uint64_t clusters;
        uint64_t free_clusters;
    };
};

using Protocol = ipc::Protocol<Open, Close, Read, Write, Truncate, Create, Delete, List, Stat, Sync, Info>;
static_assert(Protocol::is_valid);

// The protocol's own errors; NotFound and InvalidRequest are libipc's.
inline constexpr Error kNoSpace = protocol_error(0);
inline constexpr Error kAlreadyExists = protocol_error(1);
inline constexpr Error kNotADirectory = protocol_error(2);
inline constexpr Error kIsADirectory = protocol_error(3);
inline constexpr Error kNotEmpty = protocol_error(4);
inline constexpr Error kBadName = protocol_error(5);
inline constexpr Error kBusy = protocol_error(6);       // Delete: the file is open
inline constexpr Error kTooLarge = protocol_error(7);   // past FAT's 4 GiB - 1 byte
inline constexpr Error kBadFile = protocol_error(8);    // not an open file id
inline constexpr Error kTooManyOpen = protocol_error(9);
inline constexpr Error kCorrupt = protocol_error(10);   // the image is corrupt (the server's log says where)
inline constexpr Error kIoError = protocol_error(11);   // the disk failed
inline constexpr Error kNoVolume = protocol_error(12);  // no FAT volume mounted (none, or not one this server reads)
inline constexpr Error kClientLimit = protocol_error(13); // this client holds FileService's per-client share of open files

constexpr const char* error_text(Error error)
{
    if (error == kNoSpace)
        return "no space left on the disk";
    if (error == kAlreadyExists)
        return "already exists";
    if (error == kNotADirectory)
        return "not a directory";
    if (error == kIsADirectory)
        return "is a directory";
    if (error == kNotEmpty)
        return "directory not empty";
    if (error == kBadName)
        return "bad name (8.3 names only: NAME.EXT)";
    if (error == kBusy)
        return "the file is open";
    if (error == kTooLarge)
        return "file too large";
    if (error == kBadFile)
        return "not an open file";
    if (error == kTooManyOpen)
        return "too many open files";
    if (error == kCorrupt)
        return "the file system is corrupt";
    if (error == kIoError)
        return "the disk failed";
    if (error == kNoVolume)
        return "no file system mounted (no disk, or not a FAT volume: the log says which)";
    if (error == kClientLimit)
        return "this program has too many files open";
    if (error == Error::NotFound)
        return "no such file or directory";
    return error_name(error);
}

// One entry of a List page: this header, then name_length bytes of name
// (no NUL), then the next entry.
struct ListEntryHeader {
    uint32_t size;
    uint8_t is_directory;
    uint8_t attributes;
    uint16_t name_length;
};
static_assert(sizeof(ListEntryHeader) == 8);

// Adds an entry to a page of `capacity` bytes of which `used` are taken;
// false (and nothing added) if it does not fit or the name is too long.
constexpr bool append_entry(uint8_t* page, size_t capacity, size_t& used, ListEntryHeader header, const char* name,
    size_t name_length)
{
    if (name_length == 0 || name_length > kMaxPathLength || used > capacity
        || capacity - used < sizeof(ListEntryHeader) + name_length)
        return false;
    header.name_length = static_cast<uint16_t>(name_length);
    __builtin_memcpy(page + used, &header, sizeof header);
    __builtin_memcpy(page + used + sizeof header, name, name_length);
    used += sizeof header + name_length;
    return true;
}

// Reads a List page back, checking every length against the page.
class ListReader {
public:
    explicit constexpr ListReader(Bytes page) : m_page(page) { }

    // The next entry (name: a view into the page, name_length bytes); false
    // at the end of the page, or at an entry that does not fit (malformed()).
    bool next(ListEntryHeader& header, const char*& name)
    {
        if (m_used == m_page.length || m_malformed)
            return false;
        if (!m_page.data || m_page.length - m_used < sizeof(ListEntryHeader)) {
            m_malformed = true;
            return false;
        }
        __builtin_memcpy(&header, m_page.data + m_used, sizeof header);
        size_t rest = m_page.length - m_used - sizeof header;
        if (header.name_length == 0 || header.name_length > kMaxPathLength || header.name_length > rest) {
            m_malformed = true;
            return false;
        }
        name = reinterpret_cast<const char*>(m_page.data + m_used + sizeof header);
        m_used += sizeof header + header.name_length;
        return true;
    }
    bool malformed() const { return m_malformed; }

private:
    Bytes m_page;
    size_t m_used { 0 };
    bool m_malformed { false };
};

// A path as the requests carry it; InvalidRequest if empty or too long.
constexpr Result<Bytes> path_bytes(const char* path)
{
    if (!path)
        return Error::InvalidRequest;
    size_t length = 0;
    while (path[length] != '\0') {
        if (++length > kMaxPathLength)
            return Error::InvalidRequest;
    }
    if (length == 0)
        return Error::InvalidRequest;
    return Bytes { reinterpret_cast<const uint8_t*>(path), static_cast<uint32_t>(length) };
}

} // namespace ipc::file
