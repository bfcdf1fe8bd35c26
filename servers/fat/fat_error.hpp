// The FAT library's errors and its Result<T> (servers/fat, docs/storage.md).
//
// Every operation of the library returns a Result: a value, or one Error
// that says what went wrong in words a shell can print (error_text). A
// corrupt image gives an error from the Corrupt* group, never a crash; the
// device's own failures come back as IoError. The library stands alone (it links
// no libipc and no kernel library; its one outside header, libipc/
// basic_result.hpp, depends on nothing) so that it compiles into a ring-3 server, the
// host tests and a fuzzer alike; the file protocol maps these errors to its
// own (libipc/protocols/file.hpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/basic_result.hpp"

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

// A value or an Error (the one template, libipc/basic_result.hpp, depends on
// nothing, so the library still stands alone).
template<typename T>
using Result = BasicResult<T, Error>;

} // namespace herald::fat

// Propagates an error to the caller; evaluates to the value on success.
#define FAT_TRY(expr) RESULT_TRY(expr)
