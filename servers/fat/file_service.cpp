// The file protocol on a Volume (file_service.hpp).
#include "file_service.hpp"

namespace herald::fat {

namespace file = ipc::file;

namespace {

constexpr uint64_t kMaxFatOffset = 0xFFFFFFFF;

const char* text_of(const ipc::Bytes& bytes) { return reinterpret_cast<const char*>(bytes.data); }

size_t name_length(const char* name)
{
    size_t length = 0;
    while (length < kMaxNameLength && name[length] != '\0')
        ++length;
    return length;
}

} // namespace

ipc::Error to_ipc_error(Error error)
{
    switch (error) {
    case Error::IoError:
    case Error::OutOfRange: return file::kIoError;
    case Error::NotFat:
    case Error::BadGeometry:
    case Error::BadClusterCount:
    case Error::Unsupported:
    case Error::NotMounted: return file::kNoVolume;
    case Error::CorruptChain:
    case Error::ChainLoop:
    case Error::CorruptDirectory: return file::kCorrupt;
    case Error::NotFound: return ipc::Error::NotFound;
    case Error::NotADirectory: return file::kNotADirectory;
    case Error::IsADirectory: return file::kIsADirectory;
    case Error::AlreadyExists: return file::kAlreadyExists;
    case Error::DirectoryNotEmpty: return file::kNotEmpty;
    case Error::BadName: return file::kBadName;
    case Error::NoSpace:
    case Error::DirectoryFull: return file::kNoSpace;
    case Error::FileTooLarge: return file::kTooLarge;
    case Error::TooManyOpenFiles: return file::kTooManyOpen;
    case Error::BadFileHandle: return file::kBadFile;
    case Error::Busy: return file::kBusy;
    case Error::BadArgument: return ipc::Error::InvalidRequest;
    }
    return file::kIoError;
}

// The library's Result as the protocol's: its value, or its error translated.
// A handle nobody badged is no client the registry named: refused.
#define REFUSE_UNNAMED(badge)            \
    do {                                 \
        if ((badge) == 0)                \
            return ipc::Error::Denied;   \
    } while (0)

#define FILE_TRY(expr)                                     \
    ({                                                     \
        auto _file_result = (expr);                        \
        if (_file_result.is_error())                       \
            return to_ipc_error(_file_result.error());     \
        _file_result.release_value();                      \
    })

FileService::Owner* FileService::owner_of(uint64_t file, ipc::Badge badge)
{
    for (Owner& owner : m_owners) {
        if (owner.in_use && owner.file == file && owner.badge == badge)
            return &owner;
    }
    return nullptr;
}

size_t FileService::open_files() const
{
    size_t count = 0;
    for (const Owner& owner : m_owners)
        count += owner.in_use;
    return count;
}

size_t FileService::open_files_of(ipc::Badge badge) const
{
    size_t count = 0;
    for (const Owner& owner : m_owners)
        count += owner.in_use && owner.badge == badge;
    return count;
}

void FileService::forget_client(ipc::Badge badge)
{
    for (Owner& owner : m_owners) {
        if (owner.in_use && owner.badge == badge) {
            owner.in_use = false;
            (void)m_volume->close(owner.file);
        }
    }
}

size_t FileService::forget_ended_clients()
{
    if (!m_clients)
        return 0;
    size_t closed = 0;
    for (Owner& owner : m_owners) {
        if (!owner.in_use || m_clients->running(owner.badge))
            continue;
        ipc::Badge ended = owner.badge;
        closed += open_files_of(ended);
        forget_client(ended);
    }
    return closed;
}

ipc::Result<file::Open::Reply> FileService::handle(file::Open, const ipc::Bytes& path, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    // The tables are full: clients that ended may hold their share still.
    auto opened = open(path, badge);
    if (opened.is_error() && opened.error() == file::kTooManyOpen && forget_ended_clients() > 0)
        opened = open(path, badge);
    return opened;
}

ipc::Result<file::Open::Reply> FileService::open(const ipc::Bytes& path, ipc::Badge badge)
{
    if (open_files_of(badge) >= kMaxOpenPerClient)
        return file::kClientLimit;
    Owner* free_owner = nullptr;
    for (Owner& owner : m_owners) {
        if (!owner.in_use) {
            free_owner = &owner;
            break;
        }
    }
    if (!free_owner)
        return file::kTooManyOpen;
    FileId id = FILE_TRY(m_volume->open(text_of(path), path.length));
    auto stat = m_volume->stat(id);
    if (stat.is_error()) {
        (void)m_volume->close(id);
        return to_ipc_error(stat.error());
    }
    *free_owner = { id, badge, true };
    return file::Open::Reply { id, stat.value().size };
}

ipc::Result<ipc::Empty> FileService::handle(file::Close, const file::FileId& request, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    Owner* owner = owner_of(request.file, badge);
    if (!owner)
        return file::kBadFile;
    owner->in_use = false;
    FILE_TRY(m_volume->close(owner->file));
    return ipc::Empty {};
}

ipc::Result<ipc::Bytes> FileService::handle(file::Read, const file::Read::Request& request, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    Owner* owner = owner_of(request.file, badge);
    if (!owner)
        return file::kBadFile;
    if (request.length > ipc::kMaxPayload)
        return ipc::Error::InvalidRequest;
    if (request.offset > kMaxFatOffset)
        return ipc::Bytes {}; // past the end of any FAT file
    uint32_t count = FILE_TRY(m_volume->read(owner->file, static_cast<uint32_t>(request.offset), m_buffer,
        static_cast<uint32_t>(request.length)));
    return ipc::Bytes { m_buffer, count };
}

ipc::Result<file::Write::Reply> FileService::handle(file::Write, const file::Write::Request& request, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    Owner* owner = owner_of(request.fixed.file, badge);
    if (!owner)
        return file::kBadFile;
    if (request.fixed.offset > kMaxFatOffset)
        return file::kTooLarge;
    uint32_t written = FILE_TRY(m_volume->write(owner->file, static_cast<uint32_t>(request.fixed.offset),
        request.bytes.data, request.bytes.length));
    return file::Write::Reply { written };
}

ipc::Result<ipc::Empty> FileService::handle(file::Truncate, const file::Truncate::Request& request, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    Owner* owner = owner_of(request.file, badge);
    if (!owner)
        return file::kBadFile;
    if (request.size > kMaxFatOffset)
        return file::kTooLarge;
    FILE_TRY(m_volume->truncate(owner->file, static_cast<uint32_t>(request.size)));
    return ipc::Empty {};
}

ipc::Result<ipc::Empty> FileService::handle(file::Create, const file::Create::Request& request, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    if (request.fixed.kind != file::kFile && request.fixed.kind != file::kDirectory)
        return ipc::Error::InvalidRequest;
    FILE_TRY(m_volume->create(text_of(request.bytes), request.bytes.length, request.fixed.kind == file::kDirectory));
    return ipc::Empty {};
}

ipc::Result<ipc::Empty> FileService::handle(file::Delete, const ipc::Bytes& path, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    FILE_TRY(m_volume->remove(text_of(path), path.length));
    return ipc::Empty {};
}

ipc::Result<file::List::Reply> FileService::handle(file::List, const file::List::Request& request, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    file::List::Reply reply { { request.fixed.cookie, 1 }, {} };
    if (request.fixed.cookie > kMaxDirectorySlots)
        return reply; // past the end of any directory
    uint32_t cookie = static_cast<uint32_t>(request.fixed.cookie);
    size_t used = 0;
    Entry entry;
    for (;;) {
        uint32_t before = cookie;
        if (!FILE_TRY(m_volume->list(text_of(request.bytes), request.bytes.length, cookie, entry)))
            break;
        file::ListEntryHeader header { entry.size, static_cast<uint8_t>(entry.is_directory() ? 1 : 0), entry.attributes, 0 };
        if (!file::append_entry(m_buffer, sizeof m_buffer, used, header, entry.name, name_length(entry.name))) {
            cookie = before; // the next page starts with it
            reply.fixed.at_end = 0;
            break;
        }
    }
    reply.fixed.next_cookie = cookie;
    reply.bytes = ipc::Bytes { m_buffer, static_cast<uint32_t>(used) };
    return reply;
}

ipc::Result<file::Stat::Reply> FileService::handle(file::Stat, const ipc::Bytes& path, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    Stat stat = FILE_TRY(m_volume->stat(text_of(path), path.length));
    return file::Stat::Reply { stat.size, stat.is_directory, stat.attributes, stat.write_date, stat.write_time };
}

ipc::Result<ipc::Empty> FileService::handle(file::Sync, const ipc::Empty&, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    FILE_TRY(m_volume->sync());
    return ipc::Empty {};
}

ipc::Result<file::Info::Reply> FileService::handle(file::Info, const ipc::Empty&, ipc::Badge badge)
{
    REFUSE_UNNAMED(badge);
    if (!m_volume->is_mounted())
        return file::kNoVolume;
    VolumeInfo info = m_volume->info();
    return file::Info::Reply { info.type == FatType::Fat32 ? 32u : 16u, info.bytes_per_cluster, info.cluster_count,
        info.free_clusters };
}

} // namespace herald::fat
