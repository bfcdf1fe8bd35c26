#include "loader_service.hpp"

#include "libipc/protocols/memory.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/lib/format.hpp"
#include "microkernel/lib/utility.hpp"
#include "servers/common/fault_on_purpose.hpp"

namespace herald::loader {

using namespace ipc::loader;

namespace {

constexpr uint64_t kPage = abi::kPageSize;

// A task being built: forgotten (and so gone, never started) when the
// spawn fails, unless released.
class BuildingTask {
public:
    BuildingTask(Backend& backend, TaskRef task) : m_backend(backend), m_task(task) { }
    ~BuildingTask()
    {
        if (m_task)
            m_backend.close(m_task);
    }
    BuildingTask(const BuildingTask&) = delete;
    BuildingTask& operator=(const BuildingTask&) = delete;
    TaskRef get() const { return m_task; }
    TaskRef release()
    {
        TaskRef task = m_task;
        m_task = 0;
        return task;
    }

private:
    Backend& m_backend;
    TaskRef m_task;
};

// The books, held for a scope (loader_service.hpp).
class BooksGuard {
public:
    explicit BooksGuard(Backend& backend) : m_backend(backend) { m_backend.lock_books(); }
    ~BooksGuard() { m_backend.unlock_books(); }
    BooksGuard(const BooksGuard&) = delete;
    BooksGuard& operator=(const BooksGuard&) = delete;

private:
    Backend& m_backend;
};

// One formatted log line through the backend.
template<typename... Args>
void log(Backend& backend, const char* format_string, const Args&... args)
{
    char line[160];
    BufferSink sink(line, sizeof(line));
    format(sink, format_string, args...);
    backend.log(sink.view());
}

} // namespace

bool LoaderService::init(Backend& backend, ByteReader archive_bytes)
{
    m_backend = &backend;
    auto archive = Archive::parse(archive_bytes);
    if (archive.is_error()) {
        log(backend, "loader: the boot archive is unusable: {}", error_name(archive.error()));
        return false;
    }
    m_archive = new (m_archive_storage) Archive(archive.value());
    return true;
}

ipc::Result<Spawn::Reply> LoaderService::handle(Spawn, const Program& request, ipc::Badge badge)
{
    {
        BooksGuard books(*m_backend);
        end_orphans();
    }
    return spawn(request, abi::HandleNone, badge);
}

ipc::Result<SpawnWith::Reply> LoaderService::handle(SpawnWith, const SpawnWith::Request& request, ipc::Badge badge)
{
    {
        BooksGuard books(*m_backend);
        end_orphans();
    }
    return spawn(request.value, request.handle, badge);
}

ipc::Result<ipc::Empty> LoaderService::handle(Kill, const Kill::Request& request, ipc::Badge badge)
{
    BooksGuard books(*m_backend);
    end_orphans();
    Tracked* tracked = find_tracked(request.task_id);
    if (!tracked)
        return ipc::Error::NotFound;
    if (badge == 0 || (tracked->starter != badge && tracked->task_id != badge))
        return ipc::Error::Denied;
    IPC_TRY(m_backend->kill(tracked->task));
    end_tree_of(*tracked); // what it started goes with it, now
    return ipc::Empty {};
}

ipc::Result<ipc::Bytes> LoaderService::handle(List, const ipc::Empty&, ipc::Badge badge) { return list(m_list, badge); }

ipc::Result<ipc::Bytes> LoaderService::list(abi::TaskListEntry* out, ipc::Badge badge)
{
    BooksGuard books(*m_backend);
    end_orphans();
    size_t count = IPC_TRY(m_backend->list(out, kMaxListed));
    if (count > kMaxListed)
        return ipc::Error::BadLength; // not reached: the backend fills at most kMaxListed
    size_t kept = 0;
    for (size_t i = 0; i < count; ++i) {
        if (started_by(out[i].task_id, badge))
            out[kept++] = out[i];
    }
    return ipc::Bytes { reinterpret_cast<const uint8_t*>(out), static_cast<uint32_t>(kept * sizeof(abi::TaskListEntry)) };
}

bool LoaderService::started_by(uint64_t task_id, ipc::Badge caller) const
{
    if (caller == 0)
        return false;
    for (const Tracked& tracked : m_tracked) {
        if (tracked.task && tracked.task_id == task_id)
            return tracked.starter == caller;
    }
    return false;
}

ipc::Result<ipc::Bytes> LoaderService::handle(ReadFile, const Name& request, ipc::Badge)
{
    ArchiveEntry entry = IPC_TRY(find(StringView::from_bounded(request.bytes, kNameSize)));
    if (entry.kind != ArchiveKind::File || entry.bytes.size() > ipc::kMaxPayload)
        return ipc::Error::InvalidRequest;
    return ipc::Bytes { entry.bytes.data(), static_cast<uint32_t>(entry.bytes.size()) };
}

ipc::KernelMessage LoaderService::on_kernel_message(const ipc::Message& in, ipc::Message&)
{
    if (servers::is_fault_injection(in))
        servers::fault_on_purpose();
    return ipc::KernelMessage::NoAnswer;
}

size_t LoaderService::tracked() const
{
    size_t count = 0;
    for (const Tracked& tracked : m_tracked)
        count += tracked.task != 0;
    return count;
}

// A spawn's table entry, taken (quota checked) under the books' lock before
// the task is built: given back if the spawn fails, filled in if it
// succeeds.
class LoaderService::Reservation {
public:
    Reservation(LoaderService& service, Tracked& entry) : m_service(service), m_entry(&entry) { }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation()
    {
        if (!m_entry)
            return;
        BooksGuard books(*m_service.m_backend);
        *m_entry = Tracked {};
    }
    // The task's id, before it starts: a task it starts at once (on
    // another CPU, before fill) joins its tree (root_for).
    void name(uint64_t task_id)
    {
        BooksGuard books(*m_service.m_backend);
        m_entry->task_id = task_id;
        if (m_entry->root == 0)
            m_entry->root = task_id; // a root of its own
    }
    // A task whose starter's tree was ended while it was being built (its
    // entry marked `ending`, with no handle to kill it by) is killed here,
    // with what it started at once: its starter's entry may be gone by
    // now, so no later request would find it an orphan. So is a started
    // task the client cannot be given (`end`); either stays in its entry
    // until it is seen ended (forget_ended).
    void fill(TaskRef task, bool end = false)
    {
        BooksGuard books(*m_service.m_backend);
        m_entry->task = task;
        m_entry->ending = m_entry->ending || end;
        m_entry->building = false;
        if (m_entry->ending) {
            (void)m_service.m_backend->kill(task); // an error: it has ended already
            m_service.end_tree_of(*m_entry);
        }
        m_entry = nullptr;
    }

private:
    LoaderService& m_service;
    Tracked* m_entry;
};

namespace {

// A Spawn name that starts so names a file on the disk (docs/storage.md).
constexpr StringView kDiskPrefix = "/disk/";

// The kernel starts init (microkernel/bootstrap.cpp start_init), and nothing
// else may: init's task name lets it Reserve the manifest's names
// (ipc::registry::kReservingProgram), and a copy would name its own copies
// of the servers (docs/security.md, "A copy of init").
constexpr StringView kStartedByTheKernelOnly = "init";

// A disk file read for a Spawn, released however the Spawn ends.
class DiskFileGuard {
public:
    explicit DiskFileGuard(Backend& backend) : m_backend(backend) { }
    DiskFileGuard(const DiskFileGuard&) = delete;
    DiskFileGuard& operator=(const DiskFileGuard&) = delete;
    ~DiskFileGuard()
    {
        if (m_held)
            m_backend.release_disk_file();
    }
    ipc::Result<ByteReader> read(StringView path)
    {
        if (path.length() == 0)
            return ipc::Error::NotFound;
        auto bytes = m_backend.read_disk_file(path);
        m_held = !bytes.is_error();
        return bytes;
    }

private:
    Backend& m_backend;
    bool m_held { false };
};

} // namespace

// A handle that came with the request is the service's to be done with only
// if this succeeds; if not, it stays where it was (ipc::dispatch closes the
// ring-3 loader's copy).
ipc::Result<ipc::WithHandle<Started>> LoaderService::spawn(const Program& request, ipc::Handle given, ipc::Badge starter)
{
    // A program from the disk keeps the "/disk/" prefix in its task name:
    // servers grant by task name (the PCI server's manifest lines, the
    // registry's system names and init's Reserve), and a file anyone can
    // write must never run as `rtc` or `init`. No manifest name has a '/'.
    StringView name = StringView::from_bounded(request.name.bytes, kNameSize);
    if (name == kStartedByTheKernelOnly) {
        log(*m_backend, "loader: task {} asked to start {}: only the kernel starts it", starter, name);
        return ipc::Error::Denied;
    }
    DiskFileGuard disk_file(*m_backend);
    ByteReader bytes(nullptr, 0);
    if (name.starts_with(kDiskPrefix)) {
        bytes = IPC_TRY(disk_file.read(name.substring(kDiskPrefix.length())));
    } else {
        bytes = IPC_TRY(find(name)).bytes;
    }
    auto image = parse_elf(bytes, abi::kUserCodeBase, abi::kUserHeapBase);
    if (image.is_error()) {
        log(*m_backend, "loader: {} is not a program Herald can run: {}", name, error_name(image.error()));
        return kBadProgram;
    }
    Reservation entry(*this, *IPC_TRY(reserve(starter)));
    BuildingTask task(*m_backend, IPC_TRY(m_backend->create(name)));
    uint64_t task_id = IPC_TRY(m_backend->task_id(task.get()));
    entry.name(task_id);
    for (usize i = 0; i < image.value().segment_count; ++i) {
        if (auto loaded = load_segment(task.get(), bytes, image.value().segments[i]); loaded.is_error())
            return no_memory_for(name, loaded.error());
    }
    if (auto stack = m_backend->map(task.get(), abi::kUserSpaceEnd - abi::kInitialStackPages * kPage,
            abi::kInitialStackPages, abi::MapWritable, nullptr, 0, 0);
        stack.is_error())
        return no_memory_for(name, stack.error());
    if (given != abi::HandleNone)
        IPC_TRY(m_backend->give(task.get(), given));
    IPC_TRY(m_backend->start(task.get(), image.value().entry, abi::kUserSpaceEnd, request.argument));
    // Point of no return: the task runs. Whatever fails now, it stays in
    // its entry (it may have spawned already, under its id), killed and
    // marked ending if the client cannot have it.
    auto for_client = m_backend->handle_for_client(task.get());
    if (for_client.is_error()) {
        entry.fill(task.release(), true);
        return for_client.error();
    }
    entry.fill(task.release());
    if (given != abi::HandleNone)
        m_backend->done_with(given); // the task has its copy
    return ipc::WithHandle<Started> { { task_id }, for_client.value() };
}

ipc::Result<ArchiveEntry> LoaderService::find(StringView name)
{
    if (!m_archive)
        return ipc::Error::NotFound;
    auto entry = m_archive->find(name);
    if (!entry.is_error())
        return entry.value();
    if (entry.error() == Error::NotFound)
        return ipc::Error::NotFound;
    log(*m_backend, "loader: archive entry {} is corrupt: {}", name, error_name(entry.error()));
    return kBadProgram;
}

ipc::Result<void> LoaderService::load_segment(TaskRef task, ByteReader file, const ElfSegment& segment)
{
    uint64_t first = segment.virtual_address & ~(kPage - 1);
    uint64_t end = (segment.virtual_address + segment.memory_size + kPage - 1) & ~(kPage - 1);
    auto bytes = file.slice(segment.file_offset, segment.file_size);
    if (!bytes)
        return kBadProgram; // parse_elf checked it: cannot happen
    uint64_t flags = (segment.writable ? abi::MapWritable : 0) | (segment.executable ? abi::MapExecutable : 0);
    return m_backend->map(task, first, (end - first) / kPage, flags, bytes->data(), bytes->size(),
        segment.virtual_address - first);
}

// No memory for the program's pages (the memory service's answer in ring
// 3, the kernel's frame pool in ring 0): it cannot be built now.
ipc::Error LoaderService::no_memory_for(StringView name, ipc::Error error)
{
    bool out_of_memory = error == ipc::memory::kOutOfMemory || error == ipc::Error::NoMemory;
    log(*m_backend, "loader: cannot build {}: {}", name, out_of_memory ? "out of memory" : ipc::error_name(error));
    return out_of_memory ? ipc::Error::NoMemory : error;
}

// The table entry a spawn by `starter` builds in, marked `building`; or
// kTooManyTasks (check_quota).
ipc::Result<LoaderService::Tracked*> LoaderService::reserve(ipc::Badge starter)
{
    BooksGuard books(*m_backend);
    uint64_t root = root_for(starter); // 0: the new task roots a tree of its own
    IPC_TRY(check_quota(starter, root));
    Tracked* entry = free_slot();
    if (!entry)
        return kTooManyTasks; // not reached: check_quota saw a free slot
    *entry = Tracked { 0, 0, starter, false, root, true };
    return entry;
}

// Refused before anything is built. No log line: a fork bomb would flood
// the log; the error says it all.
ipc::Result<void> LoaderService::check_quota(ipc::Badge starter, uint64_t root)
{
    Live live = live_tasks_of(starter, root);
    if (live.of_starter >= kMaxTasksPerClient || live.in_tree >= kMaxTasksPerTree)
        return kTooManyTasks;
    if (!free_slot())
        return kTooManyTasks;
    return {};
}

// The root of the tree a task `starter` starts joins: the starter's, if
// the loader started the starter (its entry may still be `building`: a
// task can run, and spawn, before the spawn that started it has filled its
// entry in); 0 if not (the new task will be a root).
uint64_t LoaderService::root_for(ipc::Badge starter)
{
    if (starter == 0)
        return 0;
    for (const Tracked& tracked : m_tracked) {
        if (tracked.in_use() && tracked.task_id == starter)
            return tracked.root;
    }
    return 0;
}

// The starter's tasks and the tree's that still run; ended ones are
// forgotten on the way. Only those entries are asked about (at most
// kMaxTasksPerClient + kMaxTasksPerTree live ones), so a spawn costs a
// bounded number of TaskInfo calls. A forgotten entry's children are
// killed, never untracked (forget), so the counts only go down. An entry
// being built counts as live.
LoaderService::Live LoaderService::live_tasks_of(ipc::Badge starter, uint64_t root)
{
    Live live {};
    for (Tracked& tracked : m_tracked) {
        bool of_starter = tracked.starter == starter;
        bool in_tree = root != 0 && tracked.root == root;
        if (!tracked.in_use() || (!of_starter && !in_tree))
            continue;
        if (!tracked.building && m_backend->has_ended(tracked.task)) {
            forget(tracked);
            continue;
        }
        live.of_starter += of_starter;
        live.in_tree += in_tree;
    }
    return live;
}

LoaderService::Tracked* LoaderService::free_slot()
{
    for (int pass = 0; pass < 2; ++pass) {
        for (Tracked& tracked : m_tracked) {
            if (!tracked.in_use())
                return &tracked;
        }
        forget_ended();
    }
    return nullptr;
}

// What it started is ended first: once its entry is gone, nothing would
// tie them to it any more.
void LoaderService::forget(Tracked& tracked)
{
    end_tree_of(tracked);
    m_backend->close(tracked.task);
    tracked = Tracked {};
}

LoaderService::Tracked* LoaderService::find_tracked(uint64_t task_id)
{
    for (Tracked& tracked : m_tracked) {
        if (tracked.task && tracked.task_id == task_id)
            return &tracked;
    }
    return nullptr;
}

// Each tracked task whose starter is a tracked task that has ended loses
// its tree. The loader is never told that a task ended, so it looks at
// each request: one TaskInfo per tracked starter that still has live
// tasks (init and the shell, typically), asked once per sweep.
void LoaderService::end_orphans()
{
    bool asked[kMaxTracked] {};
    for (Tracked& child : m_tracked) {
        if (!child.task || child.ending || child.starter == 0)
            continue;
        Tracked* starter = find_tracked(child.starter);
        if (!starter)
            continue; // started by a task the loader did not start (init, the kernel's): no tree above it
        size_t index = static_cast<size_t>(starter - m_tracked);
        if (!starter->ending && !asked[index]) {
            asked[index] = true;
            starter->ending = m_backend->has_ended(starter->task);
        }
        if (starter->ending)
            end_tree_of(*starter);
    }
}

// Kills every tracked task `root` started, and theirs, breadth first with a
// work list (no recursion: in ring 0 this runs on a kernel stack). Each
// entry is marked `ending` as it joins the list, so it is taken once. An
// entry still `building` has no handle to kill by: it is only marked, and
// its spawn kills the task when it fills the entry in (Reservation::fill);
// once named, what that task started at once is ended here too.
void LoaderService::end_tree_of(Tracked& root)
{
    root.ending = true;
    size_t pending = 0;
    m_ending[pending++] = root.task_id;
    while (pending) {
        uint64_t parent = m_ending[--pending];
        for (Tracked& tracked : m_tracked) {
            if (!tracked.in_use() || tracked.ending || tracked.starter != parent || parent == 0)
                continue;
            if (tracked.task)
                (void)m_backend->kill(tracked.task); // an error: it has ended already
            tracked.ending = true;
            if (tracked.task_id != 0 && pending < kMaxTracked)
                m_ending[pending++] = tracked.task_id;
        }
    }
}

void LoaderService::forget_ended()
{
    for (Tracked& tracked : m_tracked) {
        if (tracked.task && m_backend->has_ended(tracked.task))
            forget(tracked);
    }
}

} // namespace herald::loader
