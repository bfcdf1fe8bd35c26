// The FAT library's errors and its Result<T> (servers/fat, docs/storage.md).
//
// Every operation of the library returns a Result: a value, or one Error
// that says what went wrong in words a shell can print (error_text). A
// corrupt image gives an error from the Corrupt* group, never a crash; the
// device's own failures come back as IoError. The library stands alone (no
// libipc, no kernel library) so that it compiles into a ring-3 server, the
// host tests and a fuzzer alike; the file protocol maps these errors to its
// own (libipc/protocols/file.hpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::fat {

enum class Error : int32_t {
    // The device.
    IoError = 1,       // the block device failed a read, write or flush
    OutOfRange,        // a sector beyond the end of the device
    // The image, at mount time (the boot sector's BIOS parameter block).
    NotFat,            // no 0x55AA signature or no jump instruction: not a FAT boot sector
    BadGeometry,       // a size in the BPB is zero, not a power of two, or larger than the device
    BadClusterCount,   // the cluster count does not fit the FAT type or the FAT's own size
    Unsupported,       // a valid FAT this library does not handle (FAT12, a sector size unlike the device's)
    // The image, found while working on it.
    CorruptChain,      // a cluster chain points outside the volume, at a free cluster, or ends early
    ChainLoop,         // a cluster chain is longer than the volume has clusters: it loops
    CorruptDirectory,  // a directory entry that cannot be (a size larger than its chain, ...)
    // The caller's request.
    NotFound,          // no such file or directory
    NotADirectory,     // a path goes through a file
    IsADirectory,      // reading or writing a directory as a file
    AlreadyExists,     // create: the name is taken
    DirectoryNotEmpty, // delete: the directory still holds entries
    BadName,           // not a valid 8.3 name (create), or an empty or overlong path
    NoSpace,           // no free cluster left (nothing of the request was written)
    DirectoryFull,     // FAT16's fixed root directory has no free entry
    FileTooLarge,      // past FAT's 4 GiB - 1 byte limit of a file
    TooManyOpenFiles,  // the table of open files is full
    BadFileHandle,     // not a handle this volume gave out, or one closed since
    Busy,              // delete: the file is open
    NotMounted,        // an operation before a successful mount
    BadArgument,       // a null buffer with a non-zero length
};

constexpr const char* error_text(Error error)
{
    switch (error) {
    case Error::IoError: return "the block device failed";
    case Error::OutOfRange: return "a sector beyond the end of the device";
    case Error::NotFat: return "not a FAT file system (no boot-sector signature or jump)";
    case Error::BadGeometry: return "corrupt boot sector: a size is zero, not a power of two or beyond the device";
    case Error::BadClusterCount: return "corrupt boot sector: the cluster count does not fit the FAT";
    case Error::Unsupported: return "a FAT variant this library does not handle";
    case Error::CorruptChain: return "corrupt image: a cluster chain leaves the volume or ends early";
    case Error::ChainLoop: return "corrupt image: a cluster chain loops";
    case Error::CorruptDirectory: return "corrupt image: a directory entry is inconsistent";
    case Error::NotFound: return "no such file or directory";
    case Error::NotADirectory: return "not a directory";
    case Error::IsADirectory: return "is a directory";
    case Error::AlreadyExists: return "already exists";
    case Error::DirectoryNotEmpty: return "directory not empty";
    case Error::BadName: return "bad name (8.3 names only: NAME.EXT)";
    case Error::NoSpace: return "no space left on the volume";
    case Error::DirectoryFull: return "the root directory is full";
    case Error::FileTooLarge: return "file too large for FAT (4 GiB - 1)";
    case Error::TooManyOpenFiles: return "too many open files";
    case Error::BadFileHandle: return "bad file handle";
    case Error::Busy: return "the file is open";
    case Error::NotMounted: return "no volume mounted";
    case Error::BadArgument: return "bad argument";
    }
    return "unknown error";
}

// A value or an Error, for trivially copyable values (as ipc::Result,
// without depending on libipc).
template<typename T>
class [[nodiscard]] Result {
    static_assert(__is_trivially_copyable(T), "fat::Result<T> needs a trivially copyable T");

public:
    constexpr Result(const T& value) : m_value(value), m_has_value(true) { }
    constexpr Result(Error error) : m_error(error), m_has_value(false) { }

    constexpr bool is_error() const { return !m_has_value; }
    constexpr Error error() const
    {
        if (m_has_value)
            __builtin_trap(); // asking a success for its error is a bug in the caller
        return m_error;
    }
    constexpr T& value()
    {
        if (!m_has_value)
            __builtin_trap(); // check is_error() first
        return m_value;
    }
    constexpr const T& value() const
    {
        if (!m_has_value)
            __builtin_trap();
        return m_value;
    }
    constexpr T release_value() { return value(); }

private:
    union {
        T m_value;
        Error m_error;
    };
    bool m_has_value;
};

template<>
class [[nodiscard]] Result<void> {
public:
    constexpr Result() = default;
    constexpr Result(Error error) : m_error(error), m_has_value(false) { }

    constexpr bool is_error() const { return !m_has_value; }
    constexpr Error error() const
    {
        if (m_has_value)
            __builtin_trap();
        return m_error;
    }
    constexpr void release_value() const { }

private:
    Error m_error { Error::IoError }; // unused while m_has_value
    bool m_has_value { true };
};

} // namespace herald::fat

// Propagates an error to the caller; evaluates to the value on success.
#define FAT_TRY(expr)                                    \
    ({                                                   \
        auto _fat_result = (expr);                       \
        if (_fat_result.is_error())                      \
            return _fat_result.error();                  \
        _fat_result.release_value();                     \
    })
