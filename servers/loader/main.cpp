// loader: the loader server (docs/system.md, "The loader"), the ring-3
// placement of LoaderService (loader_service.hpp; the ring-0 one is
// microkernel/services/loader_in_kernel.cpp). The kernel gives it the
// archive, read-only at abi::kArchiveViewBase (its length is the start
// parameter), and ProcessControl, the right to create tasks. It serves the
// loader protocol (libipc/protocols/loader.hpp) and publishes itself as
// "loader".
//
// This file is the ring-3 part only: the backend and the serve loop. A
// Spawn of "/disk/NAME" reads the file through the FAT server, as this
// loader's own client (read_disk_file). Tasks
// are built with system calls on task handles (TaskCreate, TaskGiveHandle,
// TaskStart, ...); a program's pages are built in this loader's own heap
// (grown, filled, then moved into the task with the memory protocol's Give,
// and the reservation shrunk away), so they come from the memory service
// like every other page of the program.
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/file.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "loader_service.hpp"
#include "microkernel/abi/memory.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::number_of;

constexpr uint64_t kPage = abi::kPageSize;

int64_t syscall(abi::SyscallNumber number, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0)
{
    return user::syscall4(number_of(number), a, b, c, d);
}

ipc::Result<void> ok_or_error(int64_t result)
{
    if (result < 0)
        return static_cast<ipc::Error>(result);
    return {};
}

// A task is a handle in this loader's table, with all rights.
class SyscallBackend final : public loader::Backend {
public:
    ipc::Result<loader::TaskRef> create(StringView name) override
    {
        int64_t created = syscall(abi::SyscallNumber::TaskCreate, abi::kProcessControlHandle,
            reinterpret_cast<uint64_t>(name.chars()), name.length());
        if (created < 0)
            return static_cast<ipc::Error>(created);
        return static_cast<loader::TaskRef>(created);
    }

    // Builds the pages in this loader's heap (zeros, then the bytes), then
    // moves them to the task.
    ipc::Result<void> map(loader::TaskRef task, uint64_t to, uint64_t pages, uint64_t flags, const uint8_t* data,
        size_t length, uint64_t offset) override
    {
        ipc::Transport& t = user::ipc();
        auto grown = IPC_TRY(ipc::memory::grow(t, pages));
        auto* here = reinterpret_cast<uint8_t*>(grown.old_end);
        for (uint64_t page = 0; page < pages; ++page)
            here[page * kPage] = 0; // every page must be mapped to move
        if (length)
            __builtin_memcpy(here + offset, data, length);
        auto given = ipc::memory::give(t, task, grown.old_end, to, pages, flags);
        (void)ipc::memory::shrink(t, pages); // our reservation, empty now (or still ours if Give failed)
        return given;
    }

    ipc::Result<void> give(loader::TaskRef task, ipc::Handle handle) override
    {
        return ok_or_error(syscall(abi::SyscallNumber::TaskGiveHandle, task, handle, abi::HandleFirstFree));
    }

    void done_with(ipc::Handle handle) override { (void)ipc::sys::handle_close(handle); }

    ipc::Result<void> start(loader::TaskRef task, uint64_t entry, uint64_t stack_top, uint64_t argument) override
    {
        return ok_or_error(syscall(abi::SyscallNumber::TaskStart, task, entry, stack_top, argument));
    }

    ipc::Result<uint64_t> task_id(loader::TaskRef task) override
    {
        auto status = IPC_TRY(ipc::loader::info(task));
        return status.task_id;
    }

    // The reply carries a copy; ours goes once it has been sent (after_reply).
    ipc::Result<ipc::Handle> handle_for_client(loader::TaskRef task) override
    {
        ipc::Handle handle = IPC_TRY(ipc::sys::handle_mint(task, abi::RightReceive | abi::RightSend, 0));
        m_close_after_reply = handle;
        return handle;
    }

    bool has_ended(loader::TaskRef task) override
    {
        abi::TaskStatus status {};
        return ipc::loader::has_ended(task, status);
    }

    ipc::Result<void> kill(loader::TaskRef task) override { return ok_or_error(syscall(abi::SyscallNumber::TaskKill, task)); }

    void close(loader::TaskRef task) override { (void)ipc::sys::handle_close(task); }

    ipc::Result<size_t> list(abi::TaskListEntry* out, size_t max) override
    {
        int64_t count = user::syscall3(number_of(abi::SyscallNumber::TaskList), abi::kTaskListHandle,
            reinterpret_cast<uint64_t>(out), max);
        if (count < 0)
            return static_cast<ipc::Error>(count);
        return static_cast<size_t>(count);
    }

    void log(StringView line) override { user::println("{}", line); }

    // The whole file, read through the FAT server ("fat") into pages grown
    // on this loader's heap, kept until release_disk_file() shrinks them
    // away (map() grows and shrinks above them meanwhile: last in, first out).
    ipc::Result<ByteReader> read_disk_file(StringView path) override
    {
        auto server = ipc::registry::lookup(user::ipc(), abi::HandleRegistry, "fat");
        if (server.is_error())
            return ipc::Error::NotFound; // no file server: no disk
        auto read = read_through(server.value(), path);
        (void)ipc::sys::handle_close(server.value());
        return read;
    }

    void release_disk_file() override
    {
        if (m_disk_pages)
            (void)ipc::memory::shrink(user::ipc(), m_disk_pages);
        m_disk_pages = 0;
    }

    void after_reply()
    {
        if (m_close_after_reply != abi::HandleNone)
            (void)ipc::sys::handle_close(m_close_after_reply);
        m_close_after_reply = abi::HandleNone;
    }

private:
    ipc::Result<ByteReader> read_through(ipc::Handle server, StringView path)
    {
        ipc::Client<ipc::file::Protocol> files(user::ipc(), server);
        if (path.length() > ipc::file::kMaxPathLength)
            return ipc::Error::NotFound;
        auto opened = files.call<ipc::file::Open>(
            ipc::Bytes { reinterpret_cast<const uint8_t*>(path.chars()), static_cast<uint32_t>(path.length()) });
        // No volume is "no such program" to the one who asked; a file the
        // server cannot open (corrupt, busy, too many open) is not a program.
        if (opened.is_error()) {
            ipc::Error error = opened.error();
            return error == ipc::Error::NotFound || error == ipc::file::kNoVolume ? ipc::Error::NotFound
                                                                                    : ipc::loader::kBadProgram;
        }
        uint64_t file = opened.value().file;
        uint64_t size = opened.value().size;
        auto bytes = size == 0 || size > kMaxDiskProgram ? ipc::Result<ByteReader>(ipc::loader::kBadProgram)
                                                         : read_whole(files, file, size);
        (void)files.call<ipc::file::Close>({ file });
        if (bytes.is_error())
            log_line("loader: /disk/{}: cannot read it ({} bytes; at most {})", path, size, kMaxDiskProgram);
        return bytes;
    }

    ipc::Result<ByteReader> read_whole(ipc::Client<ipc::file::Protocol>& files, uint64_t file, uint64_t size)
    {
        uint64_t pages = (size + kPage - 1) / kPage;
        // The memory protocol's errors are not the loader's (its
        // protocol_error(1), kOverLimit, would read as kTooManyTasks): any
        // refusal to grow is NoMemory to the one who asked.
        auto grown = ipc::memory::grow(user::ipc(), pages);
        if (grown.is_error())
            return ipc::Error::NoMemory;
        m_disk_pages = pages;
        auto* here = reinterpret_cast<uint8_t*>(grown.value().old_end);
        for (uint64_t offset = 0; offset < size;) {
            auto piece = files.call<ipc::file::Read>({ file, offset, ipc::kMaxPayload });
            if (piece.is_error() || piece.value().length == 0 || piece.value().length > size - offset) {
                release_disk_file();
                return ipc::loader::kBadProgram; // it changed under us, or the server failed
            }
            __builtin_memcpy(here + offset, piece.value().data, piece.value().length);
            offset += piece.value().length;
        }
        return ByteReader(here, size);
    }

    template<typename... Args>
    void log_line(const char* format_string, const Args&... args)
    {
        user::println(format_string, args...);
    }

    // A program on the disk may be this large (the heap pages it takes while it is loaded).
    static constexpr uint64_t kMaxDiskProgram = 4 * 1024 * 1024;

    ipc::Handle m_close_after_reply = abi::HandleNone;
    uint64_t m_disk_pages = 0;
};

SyscallBackend g_backend;
loader::LoaderService g_loader;

// The service, plus what ipc::serve does after each reply (close the handle
// it carried a copy of) and with the kernel's own messages.
class Server {
public:
    void after_reply() { g_backend.after_reply(); }

    ipc::KernelMessage on_kernel_message(const ipc::Message& message, ipc::Message& reply)
    {
        return g_loader.on_kernel_message(message, reply);
    }

    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        return g_loader.handle(operation, request, badge);
    }
};

Server g_server;

} // namespace

extern "C" int64_t herald_main(uint64_t archive_length)
{
    const ipc::Handle endpoint = 4; // microkernel/bootstrap.hpp kServerEndpointHandle
    ipc::SyscallTransport& transport = user::ipc();
    g_loader.init(g_backend, ByteReader(reinterpret_cast<const u8*>(abi::kArchiveViewBase), archive_length));
    // With RightMint: the registry gives each client a copy badged with its
    // task id, which Kill and List go by.
    auto client_handle = ipc::sys::handle_mint(endpoint, abi::RightSend | abi::RightGrant | abi::RightMint, 0);
    if (client_handle.is_error()
        || ipc::registry::publish(transport, abi::HandleRegistry, "loader", client_handle.value()).is_error())
        user::debug_write("loader: cannot publish \"loader\" in the registry");
    ipc::Error error = ipc::serve<ipc::loader::Protocol>(transport, endpoint, g_server);
    user::println("loader: stopped serving: {}", ipc::error_name(error));
    return 1;
}
