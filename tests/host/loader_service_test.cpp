// LoaderService (servers/loader/loader_service.hpp) on the host, with a fake
// backend standing in for the kernel's tasks, and a boot archive built here
// from the real hello.elf (HERALD_USER_PROGRAM_DIR), a truncated copy of it,
// a data file and a corrupt entry. Requests go through libipc's dispatch, as
// in both placements.
#include "servers/loader/loader_service.hpp"

#include "microkernel/abi/memory.hpp"
#include "tools/archive_writer.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

using namespace herald;
using namespace herald::loader;
namespace proto = ipc::loader;
using IpcError = ipc::Error;

#ifdef HERALD_USER_PROGRAM_DIR

namespace {

constexpr uint64_t kPage = abi::kPageSize;
using Blob = std::vector<uint8_t>;

Blob read_program(const char* name)
{
    std::ifstream file(std::filesystem::path(HERALD_USER_PROGRAM_DIR) / name, std::ios::binary);
    return Blob((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

struct FakeTask {
    std::string name;
    std::map<uint64_t, std::pair<Blob, uint64_t>> pages; // address -> (bytes, flags)
    bool started { false };
    uint64_t entry { 0 }, stack_top { 0 }, argument { 0 };
    std::vector<ipc::Handle> given;
    bool ended { false };
    bool killed { false };
    bool closed { false };
    uint64_t id { 0 };
};

// The kernel's side, as both backends promise it. Everything the service
// does wrong by those promises (mapping twice, into a started or forgotten
// task, starting twice) lands in `errors`, which every test checks empty.
class FakeBackend final : public Backend {
public:
    std::map<TaskRef, FakeTask> tasks;
    std::vector<std::string> errors;
    std::vector<std::string> lines;
    std::vector<ipc::Handle> done;
    std::vector<abi::TaskListEntry> listing;
    TaskRef next_ref { 100 };
    uint64_t next_id { 7 };
    ipc::Handle next_client_handle { 40 };
    int maps_before_failure { -1 }; // -1: never fails
    bool fail_start { false };
    bool fail_give { false };
    bool fail_client_handle { false };
    // The books' lock (a pool of threads serves in ring 3): how deep it is
    // held, and another thread's request to run while a task is being built.
    int books_depth { 0 };
    std::function<void()> while_building;

    void lock_books() override
    {
        if (books_depth++ != 0)
            errors.push_back("the books' lock taken twice (it is not recursive: a thread would wait for itself)");
    }
    void unlock_books() override
    {
        if (--books_depth < 0)
            errors.push_back("the books' lock let go but not held");
    }

    FakeTask* live(TaskRef task, const char* what)
    {
        auto found = tasks.find(task);
        if (found == tasks.end() || found->second.closed) {
            errors.push_back(std::string(what) + ": a task the service does not hold");
            return nullptr;
        }
        return &found->second;
    }

    ipc::Result<TaskRef> create(StringView name) override
    {
        if (books_depth != 0)
            errors.push_back("a task built under the books' lock: spawns could not overlap");
        if (auto other = std::exchange(while_building, nullptr))
            other();
        TaskRef ref = next_ref++;
        tasks[ref].name = std::string(name.chars(), name.length());
        tasks[ref].id = next_id++;
        return ref;
    }
    ipc::Result<void> map(TaskRef task, uint64_t to, uint64_t pages, uint64_t flags, const uint8_t* data, size_t length,
        uint64_t offset) override
    {
        FakeTask* t = live(task, "map");
        if (!t)
            return IpcError::Denied;
        if (t->started)
            errors.push_back("map: the task has started");
        if (maps_before_failure == 0)
            return ipc::Error::NoMemory;
        if (maps_before_failure > 0)
            --maps_before_failure;
        if (to % kPage || offset + length > pages * kPage)
            errors.push_back("map: unaligned, or the bytes do not fit the pages");
        for (uint64_t i = 0; i < pages; ++i) {
            if (t->pages.count(to + i * kPage))
                errors.push_back("map: a page mapped twice");
            t->pages[to + i * kPage] = { Blob(kPage, 0), flags };
        }
        for (size_t i = 0; i < length; ++i) {
            uint64_t at = to + offset + i;
            t->pages[at & ~(kPage - 1)].first[at % kPage] = data[i];
        }
        return {};
    }
    ipc::Result<void> give(TaskRef task, ipc::Handle handle) override
    {
        FakeTask* t = live(task, "give");
        if (!t)
            return IpcError::Denied;
        if (t->started)
            errors.push_back("give: the task has started");
        if (fail_give)
            return IpcError::BadHandle;
        t->given.push_back(handle);
        return {};
    }
    void done_with(ipc::Handle handle) override { done.push_back(handle); }
    ipc::Result<void> start(TaskRef task, uint64_t entry, uint64_t stack_top, uint64_t argument) override
    {
        FakeTask* t = live(task, "start");
        if (!t)
            return IpcError::Denied;
        if (t->started)
            errors.push_back("start: started twice");
        if (fail_start)
            return IpcError::NoMemory;
        t->started = true;
        t->entry = entry;
        t->stack_top = stack_top;
        t->argument = argument;
        return {};
    }
    ipc::Result<uint64_t> task_id(TaskRef task) override
    {
        FakeTask* t = live(task, "task_id");
        return t ? ipc::Result<uint64_t>(t->id) : IpcError::Denied;
    }
    ipc::Result<ipc::Handle> handle_for_client(TaskRef task) override
    {
        if (!live(task, "handle_for_client"))
            return IpcError::Denied;
        if (fail_client_handle)
            return IpcError::NoMemory;
        return next_client_handle++;
    }
    bool has_ended(TaskRef task) override
    {
        FakeTask* t = live(task, "has_ended");
        return t && t->ended;
    }
    ipc::Result<void> kill(TaskRef task) override
    {
        FakeTask* t = live(task, "kill");
        if (!t)
            return IpcError::Denied;
        t->killed = true;
        return {};
    }
    void close(TaskRef task) override
    {
        if (FakeTask* t = live(task, "close"))
            t->closed = true;
    }
    ipc::Result<size_t> list(abi::TaskListEntry* out, size_t max) override
    {
        size_t count = std::min(max, listing.size());
        if (count)
            std::memcpy(out, listing.data(), count * sizeof(abi::TaskListEntry));
        return count;
    }
    void log(StringView line) override { lines.emplace_back(line.chars(), line.length()); }

    size_t created() const { return tasks.size(); }
};

Blob make_archive(Blob* hello_out = nullptr)
{
    Blob hello = read_program("hello.elf");
    REQUIRE(hello.size() > 100);
    if (hello_out)
        *hello_out = hello;
    tools::ArchiveWriter writer;
    REQUIRE(writer.add("hello", ArchiveKind::Program, hello).empty());
    REQUIRE(writer.add("init", ArchiveKind::Program, hello).empty()); // a program, but only the kernel starts it
    REQUIRE(writer.add("broken", ArchiveKind::Program, Blob(hello.begin(), hello.begin() + 100)).empty());
    REQUIRE(writer.add("notes.txt", ArchiveKind::File, Blob { '#', ' ', 'h', 'i', '\n' }).empty());
    REQUIRE(writer.add("big.txt", ArchiveKind::File, Blob(ipc::kMaxPayload + 1, 'x')).empty());
    REQUIRE(writer.add("corrupt", ArchiveKind::Program, hello).empty());
    Blob blob = writer.encode();
    // The last entry's first data byte flipped: its checksum no longer holds.
    auto archive = Archive::parse(ByteReader(blob.data(), blob.size()));
    REQUIRE(!archive.is_error());
    auto entry = archive.value().find("corrupt");
    REQUIRE(!entry.is_error());
    blob[static_cast<size_t>(entry.value().bytes.data() - blob.data())] ^= 0xFF;
    return blob;
}

struct Fixture {
    Blob hello;
    Blob archive = make_archive(&hello);
    FakeBackend backend;
    LoaderService service;
    uint8_t payload[ipc::kMaxPayload] {};
    ipc::Badge caller { 3 }; // the badge of the calling client's loader handle: its task id

    Fixture() { REQUIRE(service.init(backend, ByteReader(archive.data(), archive.size()))); }
    ~Fixture() { CHECK(backend.errors.empty()); }

    template<typename Op>
    ipc::Message call(const typename Op::Request& request, ipc::Handle* unclaimed = nullptr)
    {
        ipc::Message in = ipc::encode(Op::label, request, payload).value();
        in.badge = caller;
        ipc::Message out;
        ipc::Handle left = ipc::dispatch<proto::Protocol>(in, payload, service, out);
        if (unclaimed)
            *unclaimed = left;
        return out;
    }
    template<typename Op>
    ipc::Result<typename Op::Reply> reply_of(const typename Op::Request& request)
    {
        return ipc::decode_reply<Op>(call<Op>(request), payload);
    }
    ipc::Result<proto::Spawn::Reply> spawn(const char* name, uint64_t argument = 0)
    {
        return reply_of<proto::Spawn>(proto::Program { proto::make_name(name).value(), argument });
    }
};

} // namespace

TEST_CASE("loader service: Spawn builds the program's segments and stack, then starts it", "[loader_service]")
{
    Fixture f;
    auto started = f.spawn("hello", 0x1234);
    REQUIRE(!started.is_error());
    REQUIRE(f.backend.created() == 1);
    FakeTask& task = f.backend.tasks.begin()->second;
    CHECK(task.name == "hello");
    CHECK(started.value().value.task_id == task.id);
    CHECK(started.value().handle == 40);
    CHECK(task.started);
    CHECK(!task.closed); // tracked: kept for Kill
    CHECK(task.argument == 0x1234);
    CHECK(task.stack_top == abi::kUserSpaceEnd);

    auto image = parse_elf(ByteReader(f.hello.data(), f.hello.size()), abi::kUserCodeBase, abi::kUserHeapBase);
    REQUIRE(!image.is_error());
    CHECK(task.entry == image.value().entry);
    size_t segment_pages = 0;
    for (size_t s = 0; s < image.value().segment_count; ++s) {
        const ElfSegment& segment = image.value().segments[s];
        uint64_t flags = (segment.writable ? abi::MapWritable : 0) | (segment.executable ? abi::MapExecutable : 0);
        uint64_t first = segment.virtual_address & ~(kPage - 1);
        uint64_t end = (segment.virtual_address + segment.memory_size + kPage - 1) & ~(kPage - 1);
        segment_pages += (end - first) / kPage;
        for (uint64_t address = first; address < end; ++address) {
            auto page = task.pages.find(address & ~(kPage - 1));
            REQUIRE(page != task.pages.end());
            CHECK(page->second.second == flags);
            uint8_t expected = 0; // before and after the file's bytes (BSS)
            if (address >= segment.virtual_address && address < segment.virtual_address + segment.file_size)
                expected = f.hello[segment.file_offset + (address - segment.virtual_address)];
            if (page->second.first[address % kPage] != expected) {
                FAIL_CHECK("byte at " << std::hex << address << " differs from the file");
                break;
            }
        }
    }
    for (uint64_t i = 1; i <= abi::kInitialStackPages; ++i) {
        auto page = task.pages.find(abi::kUserSpaceEnd - i * kPage);
        REQUIRE(page != task.pages.end());
        CHECK(page->second.second == abi::MapWritable);
        CHECK(page->second.first == Blob(kPage, 0));
    }
    CHECK(task.pages.size() == segment_pages + abi::kInitialStackPages);
    CHECK(task.given.empty());
    CHECK(f.backend.done.empty());
    CHECK(f.backend.lines.empty());
}

TEST_CASE("loader service: SpawnWith gives the task the handle, and is then done with it", "[loader_service]")
{
    Fixture f;
    ipc::Handle unclaimed = 99;
    ipc::Message out = f.call<proto::SpawnWith>(
        ipc::WithHandle<proto::Program> { { proto::make_name("hello").value(), 0 }, 17 }, &unclaimed);
    auto reply = ipc::decode_reply<proto::SpawnWith>(out, f.payload);
    REQUIRE(!reply.is_error());
    CHECK(out.transfer_handle); // the reply carries the client's handle
    CHECK(unclaimed == abi::HandleNone); // the service took the request's
    FakeTask& task = f.backend.tasks.begin()->second;
    CHECK(task.given == std::vector<ipc::Handle> { 17 });
    CHECK(f.backend.done == std::vector<ipc::Handle> { 17 });
}

TEST_CASE("loader service: init is the kernel's to start: Spawn refuses it, with a log line", "[loader_service]")
{
    Fixture f;
    auto copy = f.spawn("init");
    REQUIRE(copy.is_error());
    CHECK(copy.error() == IpcError::Denied);
    CHECK(f.backend.created() == 0);
    REQUIRE(f.backend.lines.size() == 1);
    CHECK(f.backend.lines[0] == "loader: task 3 asked to start init: only the kernel starts it");
    CHECK(!f.spawn("hello").is_error()); // the same program under another name starts
}

TEST_CASE("loader service: bad programs are refused with a log line, and no task is left", "[loader_service]")
{
    Fixture f;
    auto missing = f.spawn("no_such_program");
    REQUIRE(missing.is_error());
    CHECK(missing.error() == IpcError::NotFound);

    auto broken = f.spawn("broken");
    REQUIRE(broken.is_error());
    CHECK(broken.error() == proto::kBadProgram);
    auto data = f.spawn("notes.txt");
    REQUIRE(data.is_error());
    CHECK(data.error() == proto::kBadProgram);
    auto corrupt = f.spawn("corrupt");
    REQUIRE(corrupt.is_error());
    CHECK(corrupt.error() == proto::kBadProgram);

    CHECK(f.backend.created() == 0);
    REQUIRE(f.backend.lines.size() == 3);
    CHECK(f.backend.lines[0] == "loader: broken is not a program Herald can run: truncated");
    CHECK(f.backend.lines[1].rfind("loader: notes.txt is not a program Herald can run: ", 0) == 0);
    CHECK(f.backend.lines[2] == "loader: archive entry corrupt is corrupt: bad checksum");

    // A refused SpawnWith leaves the handle with whoever sent it.
    ipc::Handle unclaimed = 0;
    f.call<proto::SpawnWith>(ipc::WithHandle<proto::Program> { { proto::make_name("broken").value(), 0 }, 23 }, &unclaimed);
    CHECK(unclaimed == 23);
    CHECK(f.backend.done.empty());
}

TEST_CASE("loader service: a task that cannot be built or started is forgotten, never started", "[loader_service]")
{
    Fixture f;
    f.backend.maps_before_failure = 1; // the first segment, then no memory
    auto no_memory = f.spawn("hello");
    REQUIRE(no_memory.is_error());
    CHECK(no_memory.error() == IpcError::NoMemory);
    REQUIRE(f.backend.lines.size() == 1);
    CHECK(f.backend.lines[0] == "loader: cannot build hello: out of memory");
    FakeTask& first = f.backend.tasks.begin()->second;
    CHECK(first.closed);
    CHECK(!first.started);

    f.backend.maps_before_failure = -1;
    f.backend.fail_give = true;
    ipc::Handle unclaimed = 0;
    f.call<proto::SpawnWith>(ipc::WithHandle<proto::Program> { { proto::make_name("hello").value(), 0 }, 5 }, &unclaimed);
    CHECK(unclaimed == 5);
    CHECK(f.backend.done.empty());

    f.backend.fail_give = false;
    f.backend.fail_start = true;
    auto not_started = f.spawn("hello");
    REQUIRE(not_started.is_error());
    CHECK(not_started.error() == IpcError::NoMemory);
    for (auto& [ref, task] : f.backend.tasks) {
        CHECK(task.closed);
        CHECK(!task.started);
    }
    CHECK(f.service.tracked() == 0);
}

TEST_CASE("loader service: Kill ends a task it started, by id", "[loader_service]")
{
    Fixture f;
    auto started = f.spawn("hello");
    REQUIRE(!started.is_error());
    auto unknown = f.reply_of<proto::Kill>({ 999 });
    REQUIRE(unknown.is_error());
    CHECK(unknown.error() == IpcError::NotFound);
    CHECK(!f.reply_of<proto::Kill>({ started.value().value.task_id }).is_error());
    CHECK(f.backend.tasks.begin()->second.killed);
}

TEST_CASE("loader service: Kill is Denied to anyone but the starter and the task itself", "[loader_service]")
{
    Fixture f;
    auto started = f.spawn("hello");
    REQUIRE(!started.is_error());
    uint64_t id = started.value().value.task_id;
    for (ipc::Badge other : { ipc::Badge { 4 }, ipc::Badge { 0 } }) {
        f.caller = other; // another client, and one nobody named
        auto refused = f.reply_of<proto::Kill>({ id });
        REQUIRE(refused.is_error());
        CHECK(refused.error() == IpcError::Denied);
    }
    CHECK(!f.backend.tasks.begin()->second.killed);
    f.caller = id; // the task itself
    CHECK(!f.reply_of<proto::Kill>({ id }).is_error());
    CHECK(f.backend.tasks.begin()->second.killed);
}

TEST_CASE("loader service: it tracks up to kMaxTracked tasks, forgets ended ones first, and refuses when full", "[loader_service]")
{
    Fixture f;
    // Clients of kMaxTasksPerClient tasks each, until the table is full.
    for (size_t i = 0; i < LoaderService::kMaxTracked; ++i) {
        f.caller = 1000 + i / LoaderService::kMaxTasksPerClient; // clients the loader did not start (ids from 7 up)
        REQUIRE(!f.spawn("hello").is_error());
    }
    CHECK(f.service.tracked() == LoaderService::kMaxTracked);
    size_t created = f.backend.created();
    f.caller = 99; // a client with no task yet: the table is full of live ones
    auto refused = f.spawn("hello");
    REQUIRE(refused.is_error());
    CHECK(refused.error() == proto::kTooManyTasks);
    CHECK(f.backend.created() == created); // refused before anything was built

    auto first = f.backend.tasks.begin();
    first->second.ended = true;
    REQUIRE(!f.spawn("hello").is_error());
    CHECK(first->second.closed); // forgotten to make room
    CHECK(!f.backend.tasks.rbegin()->second.closed);
    CHECK(f.service.tracked() == LoaderService::kMaxTracked);
}

TEST_CASE("loader service: a client may have kMaxTasksPerClient live tasks, then kTooManyTasks", "[loader_service]")
{
    Fixture f;
    for (size_t i = 0; i < LoaderService::kMaxTasksPerClient; ++i)
        REQUIRE(!f.spawn("hello").is_error());
    size_t created = f.backend.created();
    auto refused = f.spawn("hello");
    REQUIRE(refused.is_error());
    CHECK(refused.error() == proto::kTooManyTasks);
    CHECK(f.backend.created() == created);

    // Another client is not held back by this one.
    f.caller = 4;
    CHECK(!f.spawn("hello").is_error());

    // One of the first client's tasks ends: it may start one more, and only one.
    f.caller = 3;
    f.backend.tasks.begin()->second.ended = true;
    CHECK(!f.spawn("hello").is_error());
    auto again = f.spawn("hello");
    REQUIRE(again.is_error());
    CHECK(again.error() == proto::kTooManyTasks);
    CHECK(std::string(proto::error_text(proto::kTooManyTasks)).find("too many tasks") == 0);
}

TEST_CASE("loader service: List and ReadFile", "[loader_service]")
{
    Fixture f;
    auto mine = f.spawn("hello");
    f.caller = 4;
    auto theirs = f.spawn("hello");
    f.caller = 3;
    REQUIRE(!mine.is_error());
    REQUIRE(!theirs.is_error());
    f.backend.listing.resize(LoaderService::kMaxListed + 5);
    for (size_t i = 0; i < f.backend.listing.size(); ++i)
        f.backend.listing[i].task_id = i; // ids 7 and 8 are the two spawned above
    auto list = f.reply_of<proto::List>(ipc::Empty {});
    REQUIRE(!list.is_error());
    REQUIRE(list.value().length == sizeof(abi::TaskListEntry)); // only the caller's own
    abi::TaskListEntry only {};
    std::memcpy(&only, list.value().data, sizeof(only));
    CHECK(only.task_id == mine.value().value.task_id);
    f.caller = 0;
    auto nobody = f.reply_of<proto::List>(ipc::Empty {});
    REQUIRE(!nobody.is_error());
    CHECK(nobody.value().length == 0);
    f.caller = 3;

    auto notes = f.reply_of<proto::ReadFile>(proto::make_name("notes.txt").value());
    REQUIRE(!notes.is_error());
    CHECK(std::string(reinterpret_cast<const char*>(notes.value().data), notes.value().length) == "# hi\n");
    auto program = f.reply_of<proto::ReadFile>(proto::make_name("hello").value());
    REQUIRE(program.is_error());
    CHECK(program.error() == IpcError::InvalidRequest);
    auto big = f.reply_of<proto::ReadFile>(proto::make_name("big.txt").value());
    REQUIRE(big.is_error());
    CHECK(big.error() == IpcError::InvalidRequest);
    auto missing = f.reply_of<proto::ReadFile>(proto::make_name("missing").value());
    REQUIRE(missing.is_error());
    CHECK(missing.error() == IpcError::NotFound);

    // A name that fills all 32 bytes with no NUL: looked up as 32 characters, found nowhere.
    proto::Name full {};
    std::memset(full.bytes, 'a', sizeof(full.bytes));
    auto unterminated = f.reply_of<proto::ReadFile>(full);
    REQUIRE(unterminated.is_error());
    CHECK(unterminated.error() == IpcError::NotFound);
}

TEST_CASE("loader service: an unusable archive is said once, then every program is NotFound", "[loader_service]")
{
    FakeBackend backend;
    LoaderService service;
    Blob garbage(4096, 0x5A);
    CHECK(!service.init(backend, ByteReader(garbage.data(), garbage.size())));
    REQUIRE(backend.lines.size() == 1);
    CHECK(backend.lines[0] == "loader: the boot archive is unusable: bad magic");
    auto spawned = service.handle(proto::Spawn {}, proto::Program { proto::make_name("hello").value(), 0 }, 0);
    REQUIRE(spawned.is_error());
    CHECK(spawned.error() == IpcError::NotFound);
    CHECK(backend.created() == 0);
}

TEST_CASE("loader service: kernel messages other than fault injection get no answer", "[loader_service]")
{
    Fixture f;
    ipc::Message reply;
    ipc::Message other = ipc::make_message(abi::kPageFaultLabel);
    other.badge = abi::kKernelBadge;
    CHECK(f.service.on_kernel_message(other, reply) == ipc::KernelMessage::NoAnswer);
    ipc::Message forged = ipc::make_message(abi::kFaultInjectionLabel);
    forged.badge = 3;
    CHECK(f.service.on_kernel_message(forged, reply) == ipc::KernelMessage::NoAnswer);
}

#endif

TEST_CASE("loader service: a task's tree ends with it, at Kill or at the next request after it ended", "[loader_service]")
{
    Fixture f;
    auto spawn_as = [&](ipc::Badge starter) {
        f.caller = starter;
        auto started = f.spawn("hello");
        REQUIRE(!started.is_error());
        return started.value().value.task_id;
    };
    auto task_of = [&](uint64_t id) -> FakeTask& {
        for (auto& [ref, task] : f.backend.tasks) {
            if (task.id == id)
                return task;
        }
        FAIL("no task " << id);
        return f.backend.tasks.begin()->second;
    };

    // Killed: client 3 starts a, a starts b1 and b2, b1 starts c.
    uint64_t a = spawn_as(3);
    uint64_t b1 = spawn_as(a), b2 = spawn_as(a);
    uint64_t c = spawn_as(b1);
    uint64_t other = spawn_as(3); // a sibling of a: not in a's tree
    f.caller = 3;
    REQUIRE(!f.reply_of<proto::Kill>({ a }).is_error());
    for (uint64_t id : { a, b1, b2, c })
        CHECK(task_of(id).killed);
    CHECK(!task_of(other).killed);

    // Ended on its own: seen at the next request, by anyone.
    uint64_t d = spawn_as(3);
    uint64_t e = spawn_as(d);
    uint64_t g = spawn_as(e);
    task_of(d).ended = true;
    CHECK(!task_of(e).killed);
    f.caller = 77;
    (void)f.reply_of<proto::List>(ipc::Empty {});
    CHECK(task_of(e).killed);
    CHECK(task_of(g).killed);
    CHECK(!task_of(other).killed);
    CHECK(!task_of(d).killed); // it had ended already
}

TEST_CASE("loader service: a tree may have kMaxTasksPerTree live tasks, each client within its own limit", "[loader_service]")
{
    Fixture f;
    auto spawn_as = [&](ipc::Badge starter) {
        f.caller = starter;
        return f.spawn("hello");
    };
    auto id_of = [](const ipc::Result<proto::Spawn::Reply>& started) {
        REQUIRE(!started.is_error());
        return started.value().value.task_id;
    };
    // Client 3 (not started by the loader) starts the root; the root starts
    // b, which starts its client limit; then c, which starts until refused.
    uint64_t root = id_of(spawn_as(3));
    uint64_t b = id_of(spawn_as(root));
    for (size_t i = 0; i < LoaderService::kMaxTasksPerClient; ++i)
        REQUIRE(!spawn_as(b).is_error());
    uint64_t c = id_of(spawn_as(root));
    size_t in_tree = 3 + LoaderService::kMaxTasksPerClient; // root, b, c and b's
    size_t by_c = 0;
    ipc::Result<proto::Spawn::Reply> refused = ipc::Error::Unsupported;
    while (!(refused = spawn_as(c)).is_error())
        ++by_c;
    CHECK(refused.error() == proto::kTooManyTasks);
    CHECK(by_c < LoaderService::kMaxTasksPerClient); // the tree's limit stopped it, not its own
    CHECK(in_tree + by_c == LoaderService::kMaxTasksPerTree);
    size_t created = f.backend.created();
    CHECK(spawn_as(root).is_error()); // the root is in the same tree
    CHECK(f.backend.created() == created);

    // Another client's tree is not held back, and the tree's own client 3
    // may start another root.
    CHECK(!spawn_as(4).is_error());
    uint64_t second_root = id_of(spawn_as(3));
    CHECK(!spawn_as(second_root).is_error());

    // One task of the tree ends: the tree may start one more, and only one.
    for (auto& [ref, task] : f.backend.tasks) {
        if (task.id == b + 1) // b's first
            task.ended = true;
    }
    CHECK(!spawn_as(c).is_error());
    CHECK(spawn_as(c).is_error());
}

TEST_CASE("loader service: spawns at once (a pool of threads) hold their entries while building, within the quota",
    "[loader_service]")
{
    Fixture f;
    for (size_t i = 0; i + 1 < LoaderService::kMaxTasksPerClient; ++i)
        REQUIRE(!f.spawn("hello").is_error());

    // While the client's last allowed spawn is being built (outside the
    // books' lock), another of its threads asks for one more: the entry the
    // first one holds counts, so the second is refused.
    std::vector<bool> others_refused_for_quota;
    f.backend.while_building = [&] {
        auto other = f.service.handle(proto::Spawn {}, proto::Program { proto::make_name("hello").value(), 0 }, f.caller);
        others_refused_for_quota.push_back(other.is_error() && other.error() == proto::kTooManyTasks);
    };
    CHECK(!f.spawn("hello").is_error());
    REQUIRE(others_refused_for_quota.size() == 1);
    CHECK(others_refused_for_quota[0]);
    CHECK(f.service.tracked() == LoaderService::kMaxTasksPerClient);

    // A spawn that fails while building gives its entry back.
    f.caller = 4;
    f.backend.maps_before_failure = 0;
    CHECK(f.spawn("hello").is_error());
    f.backend.maps_before_failure = -1;
    for (size_t i = 0; i < LoaderService::kMaxTasksPerClient; ++i)
        CHECK(!f.spawn("hello").is_error());
    CHECK(f.spawn("hello").error() == proto::kTooManyTasks);
    CHECK(f.backend.books_depth == 0);
}

TEST_CASE("loader service: a child being built when its starter is forgotten is ended with the starter's tree",
    "[loader_service]")
{
    Fixture f;
    auto a = f.spawn("hello"); // R (badge 3, untracked) starts A
    REQUIRE(!a.is_error());
    uint64_t a_id = a.value().value.task_id;
    TaskRef a_ref = 0;
    for (auto& [ref, t] : f.backend.tasks) if (t.id == a_id) a_ref = ref;
    f.backend.while_building = [&] {
        // A ends (killed, or another of its threads exits) while B builds;
        // R spawns again: its quota check forgets A.
        f.backend.tasks[a_ref].ended = true;
        auto again = f.service.handle(proto::Spawn {}, proto::Program { proto::make_name("hello").value(), 0 }, 3);
        CHECK(!again.is_error());
    };
    f.caller = a_id;
    auto b = f.spawn("hello"); // A starts B
    REQUIRE(!b.is_error());
    uint64_t b_id = b.value().value.task_id;
    f.caller = 3;
    (void)f.reply_of<proto::List>(ipc::Empty {}); // end_orphans
    (void)f.spawn("hello");
    bool b_killed = false;
    for (auto& [ref, t] : f.backend.tasks) if (t.id == b_id) b_killed = t.killed;
    CHECK(b_killed); // its starter A has ended: B is ended with A's tree
    CHECK(f.backend.books_depth == 0);
}

TEST_CASE("loader service: a task that started but cannot be handed to its client is killed and stays tracked until it ends",
    "[loader_service]")
{
    Fixture f;
    f.backend.fail_client_handle = true;
    CHECK(f.spawn("hello").is_error());
    f.backend.fail_client_handle = false;
    REQUIRE(f.backend.created() == 1);
    FakeTask& task = f.backend.tasks.begin()->second;
    CHECK(task.started);
    CHECK(task.killed);     // never left running, untracked
    CHECK(!task.closed);    // tracked: what it may have spawned joins its tree
    CHECK(f.service.tracked() == 1);
    task.ended = true;
    CHECK(!f.spawn("hello").is_error()); // the quota check forgets it
    CHECK(task.closed);
    CHECK(f.service.tracked() == 1);
    CHECK(f.backend.books_depth == 0);
}
