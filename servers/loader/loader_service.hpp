// LoaderService: the loader's logic, the same code in ring 3 (the loader
// server, servers/loader/main.cpp) and in ring 0 (the loader built into the
// kernel, microkernel/services/loader_in_kernel.cpp); host-tested with a
// fake backend (tests/host/loader_service_test.cpp).
//
// It serves the loader protocol (libipc/protocols/loader.hpp) from the boot
// archive, and Spawn also from the disk: a name "/disk/PATH" is the file
// PATH on the FAT server's volume, which the backend reads whole
// (read_disk_file) and which then goes through the same checks as an
// archive entry. Spawn: find the entry, check the ELF file (the kernel's
// parse_elf(): class, machine, segments inside user memory below the heap,
// sizes that add up), create the task, map each segment's pages (the file's
// bytes, the rest zero: BSS) and four zeroed pages at the top of its stack
// (seed), give it the handle a SpawnWith carried, start it at the entry
// point with the argument in RDX, and answer with its id and a handle to
// wait on. A program that fails a check is refused with kBadProgram and one
// log line saying why; a task that was never started goes away with the
// service's reference to it. It remembers up to kMaxTracked tasks it
// started, each with who asked for it (the badge of the caller's loader
// handle: the registry badges each client's copy with the client's task id,
// docs/ipc.md), so that Kill can find them by id and refuse anyone but the
// starter (or the task itself), and List shows a client only what it
// started; waiting for one is not a request (ipc::loader::wait waits in the
// kernel on the task handle Spawn gives, which can also kill it).
//
// Quotas (docs/security.md): a client may have at most kMaxTasksPerClient
// live tasks it started; beyond that, and when the table of kMaxTracked is
// full of live tasks, Spawn is refused with kTooManyTasks before anything
// is built (a task the loader could not track could not be killed by id).
// A tree (a task the loader started for a client it did not start, and
// every task started by a task of the tree) may have at most
// kMaxTasksPerTree live tasks, so that a fork bomb's copies, each within its
// own client limit, cannot fill the table together. The tasks a client
// started form a tree: when a tracked task ends (Kill ends it at once; one
// that exits or dies is seen by the first Spawn, SpawnWith, Kill or List
// that looks after it ended: end_orphans), the tasks it started are killed
// too, and theirs, so a fork bomb leaves no orphans behind. A task of the
// tree still being built then is not killed by that request (it has no
// handle yet): its entry is marked, and its own spawn kills it when it
// fills the entry in (or, if its starter's tree was not ended but its
// starter had only ended, the first such request after the fill does).
//
// Several threads may serve at once (the ring-3 loader has a thread per
// CPU): the books (the tracked tasks, the quotas, the trees) are kept under
// the backend's lock_books(); reading and checking a program and building
// its task run without it, so that spawns overlap. A spawn takes its table
// entry (quota checked) under the lock before it builds (the entry is
// `building`: it counts against the quotas, no request can find it but
// root_for, once it has the new task's id: the task may run and spawn
// before its entry is filled in), and fills it in under the lock once the
// task has started; a task whose starter's tree was ended meanwhile is
// killed then (above).
//
// What differs between the rings is how tasks are built: the Backend.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/boot/archive.hpp"
#include "microkernel/boot/elf.hpp"

namespace herald::loader {

// A task this service created, as the backend names it: in ring 3 a handle
// in the loader's table (all rights), in ring 0 a reference to the kernel's
// task object. Never 0.
using TaskRef = uint64_t;

// How the service reaches the kernel. Not pure virtual (ring-3 programs
// have no __cxa_pure_virtual): the defaults refuse.
class Backend {
public:
    // A new task named `name`, with no thread and an empty address space.
    virtual ipc::Result<TaskRef> create(StringView name)
    {
        (void)name;
        return ipc::Error::Unsupported;
    }
    // Maps `pages` pages at `to` in the task (not started yet; flags:
    // abi::MemoryMapFlags), zeroed but for `length` bytes of `data` at
    // `offset` from `to`.
    virtual ipc::Result<void> map(TaskRef task, uint64_t to, uint64_t pages, uint64_t flags, const uint8_t* data,
        size_t length, uint64_t offset)
    {
        (void)task, (void)to, (void)pages, (void)flags, (void)data, (void)length, (void)offset;
        return ipc::Error::Unsupported;
    }
    // Gives the task (not started yet) a copy of `handle`, the one a
    // SpawnWith carried (as the request arrived: the loader's own copy in
    // ring 3, the caller's index in ring 0), at abi::HandleFirstFree.
    virtual ipc::Result<void> give(TaskRef task, ipc::Handle handle)
    {
        (void)task, (void)handle;
        return ipc::Error::Unsupported;
    }
    // The service is done with the handle a SpawnWith carried (the task has
    // its copy): the ring-3 loader closes its own; in ring 0 it is the
    // caller's, and stays.
    virtual void done_with(ipc::Handle handle) { (void)handle; }
    // Starts the task's thread at `entry`, RSP = `stack_top`, RDX = `argument`.
    virtual ipc::Result<void> start(TaskRef task, uint64_t entry, uint64_t stack_top, uint64_t argument)
    {
        (void)task, (void)entry, (void)stack_top, (void)argument;
        return ipc::Error::Unsupported;
    }
    virtual ipc::Result<uint64_t> task_id(TaskRef task)
    {
        (void)task;
        return ipc::Error::Unsupported;
    }
    // A handle to the task with RightReceive and RightSend for the reply to
    // carry (the client waits on it, reads the status, may kill it): ring 3
    // mints one (and closes it once the reply has gone), ring 0 puts one in
    // the caller's table.
    virtual ipc::Result<ipc::Handle> handle_for_client(TaskRef task)
    {
        (void)task;
        return ipc::Error::Unsupported;
    }
    // Whether the task has ended (exited or was killed).
    virtual bool has_ended(TaskRef task)
    {
        (void)task;
        return false;
    }
    virtual ipc::Result<void> kill(TaskRef task)
    {
        (void)task;
        return ipc::Error::Unsupported;
    }
    // Forgets the task; one never started goes away with it.
    virtual void close(TaskRef task) { (void)task; }
    // Up to `max` entries of the kernel's task list (TaskList).
    virtual ipc::Result<size_t> list(abi::TaskListEntry* out, size_t max)
    {
        (void)out, (void)max;
        return ipc::Error::Unsupported;
    }
    // The bytes of the file `path` on the disk (the FAT server's volume),
    // for a Spawn of "/disk/PATH" (docs/storage.md, "Programs on the disk"):
    // valid until release_disk_file(). NotFound without a file server or
    // such a file; the ring-0 loader has no disk (Unsupported).
    virtual ipc::Result<ByteReader> read_disk_file(StringView path)
    {
        (void)path;
        return ipc::Error::Unsupported;
    }
    virtual void release_disk_file() { }
    // The books' lock (above): ring 3 has a lock, ring 0 serves under its
    // own lock around the whole service.
    virtual void lock_books() { }
    virtual void unlock_books() { }
    // One line of the log, without its '\n'.
    virtual void log(StringView line) { (void)line; }

protected:
    Backend() = default;
    ~Backend() = default;
};

class LoaderService {
public:
    // Below the ring-3 loader's 256-handle table, so that ended tasks are
    // forgotten before it fills.
    static constexpr size_t kMaxTracked = 192;
    static constexpr size_t kMaxListed = ipc::kMaxPayload / sizeof(abi::TaskListEntry);
    static constexpr size_t kMaxTasksPerClient = ipc::loader::kMaxTasksPerClient;
    static constexpr size_t kMaxTasksPerTree = ipc::loader::kMaxTasksPerTree;
    static_assert(kMaxTasksPerClient < kMaxTracked && kMaxTasksPerTree < kMaxTracked);

    // The boot archive's bytes, as this ring sees them. False, with a log
    // line, if the archive is unusable: then every program is NotFound.
    bool init(Backend& backend, ByteReader archive);

    ipc::Result<ipc::loader::Spawn::Reply> handle(ipc::loader::Spawn, const ipc::loader::Program& request, ipc::Badge);
    ipc::Result<ipc::loader::SpawnWith::Reply> handle(ipc::loader::SpawnWith, const ipc::loader::SpawnWith::Request& request,
        ipc::Badge);
    // Denied unless the caller started the task (or is the task); badge 0,
    // a caller nobody named, may kill nothing.
    ipc::Result<ipc::Empty> handle(ipc::loader::Kill, const ipc::loader::Kill::Request& request, ipc::Badge);
    // The kernel's list, cut to the tasks this caller started.
    ipc::Result<ipc::Bytes> handle(ipc::loader::List, const ipc::Empty&, ipc::Badge);
    // The same into `out` (kMaxListed entries): a thread's own, for a
    // server whose threads answer at once (the reply is sent after the
    // books' lock has gone).
    ipc::Result<ipc::Bytes> list(abi::TaskListEntry* out, ipc::Badge);
    ipc::Result<ipc::Bytes> handle(ipc::loader::ReadFile, const ipc::loader::Name& request, ipc::Badge);

    // Messages only the kernel sends (badge abi::kKernelBadge): the
    // fault-injection request (abi::kFaultInjectionLabel, test and
    // benchmark images only) makes the service fault on purpose; NoAnswer
    // for anything else.
    ipc::KernelMessage on_kernel_message(const ipc::Message& in, ipc::Message& reply);

    size_t tracked() const;

private:
    struct Tracked {
        uint64_t task_id;
        TaskRef task;
        ipc::Badge starter; // the badge of the client that asked for it (0: nobody named)
        bool ending;        // ended, or killed by the loader: what it started is being ended
        uint64_t root;      // the task id of its tree's root (its own, for a root; 0 until a building root is named)
        bool building;      // taken by a spawn that is building its task (task 0; task_id once created)
        bool in_use() const { return task != 0 || building; }
    };
    class Reservation;

    ipc::Result<ipc::WithHandle<ipc::loader::Started>> spawn(const ipc::loader::Program& request, ipc::Handle given,
        ipc::Badge starter);
    bool started_by(uint64_t task_id, ipc::Badge caller) const;
    ipc::Result<Tracked*> reserve(ipc::Badge starter);
    ipc::Result<void> check_quota(ipc::Badge starter, uint64_t root);
    uint64_t root_for(ipc::Badge starter);
    struct Live {
        size_t of_starter;
        size_t in_tree;
    };
    Live live_tasks_of(ipc::Badge starter, uint64_t root);
    Tracked* free_slot();
    ipc::Result<ArchiveEntry> find(StringView name);
    ipc::Result<void> load_segment(TaskRef task, ByteReader file, const ElfSegment& segment);
    ipc::Error no_memory_for(StringView name, ipc::Error error);
    void forget(Tracked& tracked);
    Tracked* find_tracked(uint64_t task_id);
    void end_orphans();
    void end_tree_of(Tracked& root);
    void forget_ended();

    Backend* m_backend { nullptr };
    // Placement new: a member Archive (no default constructor) or an
    // Optional (a destructor) would need a global constructor in ring 3.
    alignas(Archive) unsigned char m_archive_storage[sizeof(Archive)] {};
    const Archive* m_archive { nullptr };
    Tracked m_tracked[kMaxTracked] {};
    abi::TaskListEntry m_list[kMaxListed] {};
    uint64_t m_ending[kMaxTracked] {}; // end_tree_of's work list: each entry at most once
};

} // namespace herald::loader
