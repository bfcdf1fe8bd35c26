// loader: starts programs from the boot archive (docs/system.md, "The loader"). The kernel
// gives it the archive, read-only at abi::kArchiveViewBase (its length is
// the start parameter), and ProcessControl, the right to create tasks. It
// serves the loader protocol (libipc/protocols/loader.hpp) and publishes
// itself as "loader".
//
// Spawn: find the entry, check the ELF file (the kernel's parse_elf():
// class, machine, segments inside user memory below the heap, sizes that
// add up), create the task (TaskCreate), then for each segment grow this
// loader's own heap, copy the file bytes there (the rest stays zero: BSS),
// and Give the pages to the task (memory protocol); four zeroed pages at the
// top of its stack the same way (seed); then TaskStart at the entry point
// with the argument in RDX. A program that fails any check is refused with
// kBadProgram and one log line saying why; the task, never started, goes
// away with its handle.
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/boot/archive.hpp"
#include "microkernel/boot/elf.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using namespace ipc::loader;
using user::number_of;

constexpr uint64_t kPage = abi::kPageSize;
// Below the 256-handle table, so that ended tasks are forgotten before it fills.
constexpr size_t kMaxTracked = 192;

struct Tracked {
    uint64_t task_id;
    ipc::Handle handle; // all rights: kill
};

int64_t syscall(abi::SyscallNumber number, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0)
{
    return user::syscall4(number_of(number), a, b, c, d);
}

// Closes a handle when it goes out of scope, unless released.
class OwnedHandle {
public:
    explicit OwnedHandle(ipc::Handle handle) : m_handle(handle) { }
    ~OwnedHandle()
    {
        if (m_handle != abi::HandleNone)
            (void)ipc::sys::handle_close(m_handle);
    }
    OwnedHandle(const OwnedHandle&) = delete;
    OwnedHandle& operator=(const OwnedHandle&) = delete;
    ipc::Handle get() const { return m_handle; }
    ipc::Handle release()
    {
        ipc::Handle handle = m_handle;
        m_handle = abi::HandleNone;
        return handle;
    }

private:
    ipc::Handle m_handle;
};

class Loader {
public:
    // The handle the last reply carried a copy of: closed once it is sent
    // (ipc::serve calls this after each reply).
    void after_reply()
    {
        if (m_close_after_reply != abi::HandleNone)
            (void)ipc::sys::handle_close(m_close_after_reply);
        m_close_after_reply = abi::HandleNone;
    }

    bool init(uint64_t archive_length)
    {
        ByteReader bytes(reinterpret_cast<const u8*>(abi::kArchiveViewBase), archive_length);
        auto archive = Archive::parse(bytes);
        if (archive.is_error()) {
            user::println("loader: the boot archive is unusable: {}", error_name(archive.error()));
            return false;
        }
        // Placement new: a member Archive (no default constructor) or an
        // Optional (a destructor) would need a global constructor.
        m_archive = new (m_archive_storage) Archive(archive.value());
        return true;
    }

    ipc::Result<Spawn::Reply> handle(Spawn, const Program& request, ipc::Badge)
    {
        return spawn(request, abi::HandleNone);
    }

    ipc::Result<SpawnWith::Reply> handle(SpawnWith, const SpawnWith::Request& request, ipc::Badge)
    {
        return spawn(request.value, request.handle);
    }

    ipc::Result<ipc::Empty> handle(Kill, const Kill::Request& request, ipc::Badge)
    {
        for (Tracked& tracked : m_tracked) {
            if (tracked.task_id == request.task_id && tracked.handle != abi::HandleNone) {
                int64_t killed = syscall(abi::SyscallNumber::TaskKill, tracked.handle);
                return killed < 0 ? ipc::Result<ipc::Empty>(static_cast<ipc::Error>(killed)) : ipc::Empty {};
            }
        }
        return ipc::Error::NotFound;
    }

private:
    // A handle that came with the request is the loader's to close only if
    // this succeeds; if not, ipc::dispatch closes it.
    ipc::Result<ipc::WithHandle<Started>> spawn(const Program& request, ipc::Handle given)
    {
        StringView name = StringView::from_bounded(request.name.bytes, kNameSize);
        auto entry = find(name);
        if (entry.is_error())
            return entry.error();
        auto image = parse_elf(entry.value().bytes, abi::kUserCodeBase, abi::kUserHeapBase);
        if (image.is_error()) {
            user::println("loader: {} is not a program Herald can run: {}", name, error_name(image.error()));
            return kBadProgram;
        }
        int64_t created = syscall(abi::SyscallNumber::TaskCreate, abi::kProcessControlHandle,
            reinterpret_cast<uint64_t>(name.chars()), name.length());
        if (created < 0)
            return static_cast<ipc::Error>(created);
        OwnedHandle task(static_cast<ipc::Handle>(created));
        for (usize i = 0; i < image.value().segment_count; ++i) {
            if (auto loaded = load_segment(task.get(), entry.value().bytes, image.value().segments[i]); loaded.is_error())
                return no_memory_for(name, loaded.error());
        }
        if (auto stack = give_pages(task.get(), abi::kUserSpaceEnd - abi::kInitialStackPages * kPage, abi::kInitialStackPages,
                abi::MapWritable, nullptr, 0, 0);
            stack.is_error())
            return no_memory_for(name, stack.error());
        if (given != abi::HandleNone) {
            int64_t placed = syscall(abi::SyscallNumber::TaskGiveHandle, task.get(), given, abi::HandleFirstFree);
            if (placed < 0)
                return static_cast<ipc::Error>(placed);
        }
        int64_t started = syscall(abi::SyscallNumber::TaskStart, task.get(), image.value().entry, abi::kUserSpaceEnd,
            request.argument);
        if (started < 0)
            return static_cast<ipc::Error>(started);
        auto status = ipc::loader::info(task.get());
        if (status.is_error())
            return status.error();
        auto for_client = ipc::sys::handle_mint(task.get(), abi::RightReceive, 0);
        if (for_client.is_error())
            return for_client.error();
        m_close_after_reply = for_client.value(); // the reply carries a copy; ours goes then
        track(status.value().task_id, task.release());
        if (given != abi::HandleNone)
            (void)ipc::sys::handle_close(given); // the task has its copy
        return ipc::WithHandle<Started> { { status.value().task_id }, for_client.value() };
    }

public:

    ipc::Result<ipc::Bytes> handle(List, const ipc::Empty&, ipc::Badge)
    {
        constexpr size_t kMax = ipc::kMaxPayload / sizeof(abi::TaskListEntry);
        int64_t count = user::syscall2(number_of(abi::SyscallNumber::TaskList), reinterpret_cast<uint64_t>(m_list), kMax);
        if (count < 0)
            return static_cast<ipc::Error>(count);
        return ipc::Bytes { reinterpret_cast<const uint8_t*>(m_list), static_cast<uint32_t>(count * sizeof(abi::TaskListEntry)) };
    }

    ipc::Result<ipc::Bytes> handle(ReadFile, const Name& request, ipc::Badge)
    {
        auto entry = find(StringView::from_bounded(request.bytes, kNameSize));
        if (entry.is_error())
            return entry.error();
        if (entry.value().kind != ArchiveKind::File || entry.value().bytes.size() > ipc::kMaxPayload)
            return ipc::Error::InvalidRequest;
        return ipc::Bytes { entry.value().bytes.data(), static_cast<uint32_t>(entry.value().bytes.size()) };
    }

private:
    // The memory server said no: the program cannot be built now.
    static ipc::Error no_memory_for(StringView name, ipc::Error error)
    {
        user::println("loader: cannot build {}: the memory service says {}", name,
            error == ipc::memory::kOutOfMemory ? "out of memory" : ipc::error_name(error));
        return error == ipc::memory::kOutOfMemory ? ipc::Error::NoMemory : error;
    }

    ipc::Result<ArchiveEntry> find(StringView name)
    {
        if (!m_archive)
            return ipc::Error::NotFound;
        auto entry = m_archive->find(name);
        if (!entry.is_error())
            return entry.value();
        if (entry.error() == Error::NotFound)
            return ipc::Error::NotFound;
        user::println("loader: archive entry {} is corrupt: {}", name, error_name(entry.error()));
        return kBadProgram;
    }

    ipc::Result<void> load_segment(ipc::Handle task, ByteReader file, const ElfSegment& segment)
    {
        uint64_t first = segment.virtual_address & ~(kPage - 1);
        uint64_t end = (segment.virtual_address + segment.memory_size + kPage - 1) & ~(kPage - 1);
        auto bytes = file.slice(segment.file_offset, segment.file_size);
        if (!bytes)
            return kBadProgram; // parse_elf checked it: cannot happen
        uint64_t flags = (segment.writable ? abi::MapWritable : 0) | (segment.executable ? abi::MapExecutable : 0);
        return give_pages(task, first, (end - first) / kPage, flags, bytes->data(), bytes->size(),
            segment.virtual_address - first);
    }

    // Builds `pages` pages in this loader's heap (zeros, then `length`
    // bytes of `data` at `offset`) and moves them to `to` in the task.
    ipc::Result<void> give_pages(ipc::Handle task, uint64_t to, uint64_t pages, uint64_t flags, const uint8_t* data,
        size_t length, uint64_t offset)
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

    void track(uint64_t task_id, ipc::Handle handle)
    {
        for (int pass = 0; pass < 2; ++pass) {
            for (Tracked& tracked : m_tracked) {
                if (tracked.handle == abi::HandleNone) {
                    tracked = Tracked { task_id, handle };
                    return;
                }
            }
            forget_ended();
        }
        (void)ipc::sys::handle_close(handle); // full of live tasks: this one cannot be killed by id
    }

    void forget_ended()
    {
        for (Tracked& tracked : m_tracked) {
            abi::TaskStatus status {};
            if (tracked.handle != abi::HandleNone && ipc::loader::has_ended(tracked.handle, status)) {
                (void)ipc::sys::handle_close(tracked.handle);
                tracked = Tracked {};
            }
        }
    }

    ipc::Handle m_close_after_reply = abi::HandleNone;
    alignas(Archive) unsigned char m_archive_storage[sizeof(Archive)] = {};
    const Archive* m_archive = nullptr;
    Tracked m_tracked[kMaxTracked] = {};
    abi::TaskListEntry m_list[ipc::kMaxPayload / sizeof(abi::TaskListEntry)] = {};
};

constinit Loader g_loader;

} // namespace

extern "C" int64_t herald_main(uint64_t archive_length)
{
    const ipc::Handle endpoint = 4; // microkernel/bootstrap.hpp kServerEndpointHandle
    ipc::SyscallTransport& transport = user::ipc();
    g_loader.init(archive_length);
    auto client_handle = ipc::sys::handle_mint(endpoint, abi::RightSend | abi::RightGrant, 0);
    if (client_handle.is_error()
        || ipc::registry::publish(transport, abi::HandleRegistry, "loader", client_handle.value()).is_error())
        user::debug_write("loader: cannot publish \"loader\" in the registry");
    ipc::Error error = ipc::serve<Protocol>(transport, endpoint, g_loader);
    user::println("loader: stopped serving: {}", ipc::error_name(error));
    return 1;
}
