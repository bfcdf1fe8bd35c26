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
//
// A thread per CPU (up to kMaxServerThreads), all receiving on the one
// endpoint: the kernel hands a request to the thread waiting on the
// caller's CPU, so spawns asked for on different CPUs are built at once
// (docs/system.md, "The loader"; the figure is spawn_clients in
// docs/benchmarks.md). The threads share the LoaderService, whose books are
// under one lock (lock_books); what a request leaves to do after its reply
// is the thread's own (thread_local). Each thread builds a program's pages
// in a window of its own in the heap (kWindowPages, taken with malloc at
// the start and released at once, so that each starts reserved and empty):
// touched, filled, given (Give leaves them reserved and empty again, and
// the next touch maps zeroed frames), never grown or shrunk, so that
// threads never move the heap's end under one another. A segment larger
// than the window, and a file read from the disk, are built at the heap's
// end as before, one thread at a time (HeapEndLock); the loader's threads
// never malloc once they serve (a malloc could grow the heap under them).
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/file.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "loader_service.hpp"
#include "microkernel/abi/memory.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

namespace {

using namespace herald;
using user::number_of;

constexpr uint64_t kPage = abi::kPageSize;
constexpr size_t kMaxServerThreads = 8;  // CPUs beyond are served by the others
constexpr uint64_t kWindowPages = 32;    // 128 KiB: every segment of the archive's programs but the FAT and PCI servers' largest

// A spin lock whose waiter spins with PAUSE, then yields: its holder may be
// in an IPC call (a TaskInfo of the books, the memory server's Grow).
class SpinYieldLock {
public:
    void lock()
    {
        for (unsigned spins = 1; __atomic_exchange_n(&m_taken, true, __ATOMIC_ACQUIRE); ++spins) {
            if (spins % kSpinsBeforeYield == 0)
                user::yield();
            else
                __builtin_ia32_pause();
        }
    }
    void unlock() { __atomic_store_n(&m_taken, false, __ATOMIC_RELEASE); }

private:
    static constexpr unsigned kSpinsBeforeYield = 64;
    bool m_taken { false };
};

// The thread's build window (nullptr: none, build at the heap's end) and
// the handle its last reply carried a copy of (closed after the reply).
thread_local uint8_t* t_window;
thread_local ipc::Handle t_close_after_reply = abi::HandleNone;

// The heap's end: grown and shrunk by one thread at a time, last in first
// out. A disk spawn holds it from the read to the release (its segments'
// pages are grown above the file's), so it is the thread's own again then.
class HeapEndLock {
public:
    void lock()
    {
        if (t_depth++ == 0)
            m_lock.lock();
    }
    void unlock()
    {
        if (--t_depth == 0)
            m_lock.unlock();
    }

private:
    static thread_local unsigned t_depth;
    SpinYieldLock m_lock;
};
thread_local unsigned HeapEndLock::t_depth;

struct HeapEndGuard {
    explicit HeapEndGuard(HeapEndLock& lock) : lock(lock) { lock.lock(); }
    ~HeapEndGuard() { lock.unlock(); }
    HeapEndLock& lock;
};

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
    // moves them to the task: in the thread's window, or at the heap's end.
    ipc::Result<void> map(loader::TaskRef task, uint64_t to, uint64_t pages, uint64_t flags, const uint8_t* data,
        size_t length, uint64_t offset) override
    {
        if (t_window && pages <= kWindowPages)
            return map_in_window(task, to, pages, flags, data, length, offset);
        HeapEndGuard guard(m_heap_end);
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
        t_close_after_reply = handle;
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
    // Holds the heap's end from here to release_disk_file().
    ipc::Result<ByteReader> read_disk_file(StringView path) override
    {
        auto server = ipc::registry::lookup(user::ipc(), abi::HandleRegistry, "fat");
        if (server.is_error())
            return ipc::Error::NotFound; // no file server: no disk
        m_heap_end.lock();
        auto read = read_through(server.value(), path);
        (void)ipc::sys::handle_close(server.value());
        if (read.is_error())
            m_heap_end.unlock(); // no release_disk_file() follows
        return read;
    }

    void release_disk_file() override
    {
        drop_disk_pages();
        m_heap_end.unlock();
    }

    void lock_books() override { m_books.lock(); }
    void unlock_books() override { m_books.unlock(); }

    void after_reply()
    {
        if (t_close_after_reply != abi::HandleNone)
            (void)ipc::sys::handle_close(t_close_after_reply);
        t_close_after_reply = abi::HandleNone;
    }

private:
    void drop_disk_pages()
    {
        if (m_disk_pages)
            (void)ipc::memory::shrink(user::ipc(), m_disk_pages);
        m_disk_pages = 0;
    }

    // The window's pages are empty (reserved, unmapped) but after a Give
    // that failed: those are released, so that the next program finds
    // zeros where it has no bytes (its BSS).
    ipc::Result<void> map_in_window(loader::TaskRef task, uint64_t to, uint64_t pages, uint64_t flags,
        const uint8_t* data, size_t length, uint64_t offset)
    {
        ipc::Transport& t = user::ipc();
        uint8_t* here = t_window;
        for (uint64_t page = 0; page < pages; ++page)
            here[page * kPage] = 0; // every page must be mapped to move
        if (length)
            __builtin_memcpy(here + offset, data, length);
        auto window = reinterpret_cast<uint64_t>(here);
        auto given = ipc::memory::give(t, task, window, to, pages, flags);
        if (given.is_error())
            (void)ipc::memory::release(t, window, pages);
        return given;
    }

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
                drop_disk_pages(); // read_disk_file lets the heap's end go
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

    uint64_t m_disk_pages = 0; // under m_heap_end
    HeapEndLock m_heap_end;
    SpinYieldLock m_books;
};

SyscallBackend g_backend;
loader::LoaderService g_loader;

// The service, plus what ipc::serve does after each reply (close the handle
// it carried a copy of) and with the kernel's own messages. One per thread:
// a List is answered from the thread's own entries.
class Server {
public:
    ipc::Result<ipc::Bytes> handle(ipc::loader::List, const ipc::Empty&, ipc::Badge badge)
    {
        return g_loader.list(m_list, badge);
    }

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

private:
    abi::TaskListEntry m_list[loader::LoaderService::kMaxListed] {};
};

constexpr ipc::Handle kEndpoint = 4; // microkernel/bootstrap.hpp kServerEndpointHandle
Server g_servers[kMaxServerThreads];
uint8_t* g_windows[kMaxServerThreads];

// How much of a thread's stack is touched before it serves: an estimate
// of how deep a request's handling reaches, with room (not measured).
constexpr size_t kServingStackBytes = 24 * 1024;

// Maps the stack a thread will serve on now, so that its pages are not
// mapped, one frame at a time, by the requests themselves: the fuzz test
// (qemu-sysfuzz-smp*) counts free frames before and after its spawns, and
// a loader thread's stack growing meanwhile would move that count.
[[gnu::noinline]] void touch_stack()
{
    volatile uint8_t depth[kServingStackBytes];
    for (size_t i = sizeof(depth); i > 0; i -= abi::kPageSize)
        depth[i - 1] = 0; // from the top down, one page after another
    // The array's address escapes: without this, clang keeps only the six
    // bytes written (volatile or not: nothing else can see the rest) and the
    // frame is 6 bytes, not 24 KiB (the self-test
    // the_loaders_threads_wait_on_stacks_mapped_ahead caught it).
    asm volatile("" : : "r"(depth) : "memory");
}

// Thread `index` serves (the main thread is 0).
int64_t serve(uint64_t index)
{
    touch_stack();
    t_window = g_windows[index];
    ipc::Error error = ipc::serve<ipc::loader::Protocol>(user::ipc(), kEndpoint, g_servers[index]);
    user::println("loader: thread {} stopped serving: {}", index, ipc::error_name(error));
    return 1;
}

// A window of kWindowPages whole pages inside one malloc'd block, released
// (reserved, no frame behind it: the state a Give leaves it in); nullptr if
// the heap has no room (that thread builds at the heap's end). The block's
// pages are not all untouched: the allocator wrote into the heap before
// (window 0 holds the sentinel the first chunk had when the runtime's TLS
// calloc made it), and a window that starts with a frame mapped would give
// it back only at its first Give, one frame off the memory service's count
// in between (qemu-sysfuzz-smp4 counts them). Nothing of the allocator's
// lives inside the block: releasing it loses nothing.
uint8_t* new_window()
{
    void* block = malloc((kWindowPages + 1) * kPage);
    if (!block)
        return nullptr;
    auto window = (reinterpret_cast<uintptr_t>(block) + kPage - 1) & ~(kPage - 1);
    (void)ipc::memory::release(user::ipc(), window, kWindowPages); // if refused: a frame held until the first Give
    return reinterpret_cast<uint8_t*>(window);
}

// The windows (all taken here, before anyone serves: no malloc after),
// then a thread for each CPU from 1, pinned to it. How many serve.
size_t start_threads()
{
    abi::SelfInfo info {};
    size_t cpus = user::self_info(&info) == 0 ? static_cast<size_t>(info.cpu_count) : 1;
    size_t threads = cpus < kMaxServerThreads ? cpus : kMaxServerThreads;
    for (size_t i = 0; i < threads; ++i)
        g_windows[i] = new_window();
    size_t started = 1;
    for (size_t cpu = 1; cpu < threads; ++cpu) {
        if (!user::thread_create(serve, cpu, cpu)) {
            user::debug_write("loader: cannot start a server thread; fewer CPUs serve spawns");
            break;
        }
        ++started;
    }
    return started;
}

} // namespace

extern "C" int64_t herald_main(uint64_t archive_length)
{
    const ipc::Handle endpoint = kEndpoint;
    ipc::SyscallTransport& transport = user::ipc();
    g_loader.init(g_backend, ByteReader(reinterpret_cast<const u8*>(abi::kArchiveViewBase), archive_length));
    // The threads and their windows before "loader" is published: they
    // malloc (their windows, their thread-local blocks), and no thread may
    // malloc once requests can arrive (the file's header).
    size_t threads = start_threads();
    // With RightMint: the registry gives each client a copy badged with its
    // task id, which Kill and List go by.
    auto client_handle = ipc::sys::handle_mint(endpoint, abi::RightSend | abi::RightGrant | abi::RightMint, 0);
    if (client_handle.is_error()
        || ipc::registry::publish(transport, abi::HandleRegistry, "loader", client_handle.value()).is_error())
        user::debug_write("loader: cannot publish \"loader\" in the registry");
    user::println("loader: serving with {} thread{}", threads, threads == 1 ? "" : "s (a thread per CPU)");
    return serve(0);
}
