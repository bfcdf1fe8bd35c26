#include "program_loader.hpp"

#include "../abi/syscalls.hpp"
#include "../boot/boot_archive.hpp"
#include "../boot/elf.hpp"
#include "../abi/ipc.hpp"
#include "../object/endpoint.hpp"
#include "../object/task_object.hpp"
#include "../ipc/ipc.hpp"
#include "../mm/address_space.hpp"
#include "../mm/layout.hpp"
#include "../pager/managed_memory.hpp"
#include "../pager/pager.hpp"
#include "../sched/scheduler.hpp"

namespace herald {

namespace {

// The System V ABI wants RSP + 8 16-byte aligned at a function's entry;
// _start is entered by IRET, not CALL, so the top itself is aligned.
constexpr u64 kUserStackTop = abi::kUserSpaceEnd;

ErrorOr<void> load_segment(AddressSpace& space, ByteReader file, const ElfSegment& segment)
{
    u64 first_page = align_down(segment.virtual_address, layout::kPageSize);
    u64 end = 0;
    if (!align_up(segment.virtual_address + segment.memory_size, layout::kPageSize, end))
        return Error::OutOfRange;
    PageFlags flags { .writable = segment.writable, .user = true, .executable = segment.executable };
    HERALD_TRY(space.map_anonymous(VirtualAddress(first_page), (end - first_page) / layout::kPageSize, flags));
    auto bytes = file.slice(segment.file_offset, segment.file_size);
    if (!bytes)
        return Error::Truncated;
    // The rest of the segment (BSS) stays as the frames came: zeroed.
    return space.write(VirtualAddress(segment.virtual_address), bytes->data(), bytes->size());
}

SpinLock g_registry_lock;
Endpoint* g_registry GUARDED_BY(g_registry_lock);

} // namespace

Ref<Endpoint> name_registry()
{
    SpinLockGuard guard(g_registry_lock);
    return g_registry ? Ref<Endpoint>(*g_registry) : Ref<Endpoint>();
}

namespace {

ErrorOr<void> install_handles(Task& task, const SpawnOptions& options)
{
    if (!options.is_memory_server)
        HERALD_TRY(install_standard_handles(task));
    for (const InitialHandle& handle : options.handles) {
        if (handle.object && !grant_handle(task, *handle.object, handle.rights, handle.badge, handle.index))
            return Error::AlreadyMapped;
    }
    return {};
}

ErrorOr<Thread*> build(StringView name, ByteReader file, const ElfImage& image, const SpawnOptions& options,
    AddressSpace& space, Ref<TaskObject>* object)
{
    for (usize i = 0; i < image.segment_count; ++i)
        HERALD_TRY(load_segment(space, file, image.segments[i]));
    if (options.is_memory_server)
        HERALD_TRY(space.map_memory_view(managed_ranges()));
    if (options.map_archive) {
        auto pages = boot_archive_pages();
        if (!pages || pages->length > abi::kArchiveViewSize)
            return Error::NotFound;
        HERALD_TRY(space.map_read_only_view(VirtualAddress(abi::kArchiveViewBase), *pages));
    }
    PageFlags stack { .writable = true, .user = true, .executable = false };
    u64 committed = kInitialStackPages * layout::kPageSize;
    HERALD_TRY(space.map_anonymous(VirtualAddress(kUserStackTop - committed), kInitialStackPages, stack));
    Task* task = HERALD_TRY(create_task(name, &space));
    if (options.io_port_count != 0)
        (void)task->io_ports.add(options.io_port_first, static_cast<u16>(options.io_port_first + options.io_port_count - 1));
    if (auto installed = install_handles(*task, options); installed.is_error()) {
        discard_task(*task);
        return installed.error();
    }
    Ref<TaskObject> capability = object ? TaskObject::create(*task) : Ref<TaskObject>();
    if (object && (!capability || !capability->claim_start())) {
        if (capability)
            capability->forget_unstarted_task();
        discard_task(*task);
        return Error::OutOfMemory;
    }
    auto thread = create_user_thread(*task, image.entry, kUserStackTop, options.parameter);
    if (thread.is_error()) {
        if (capability)
            capability->forget_unstarted_task(); // the task goes here, the object with `capability`
        discard_task(*task);
        return thread;
    }
    if (capability) { // before the thread runs: its end must find the object
        task->object = capability.ptr();
        capability->started();
        *object = move(capability);
    }
    return thread;
}

} // namespace

ErrorOr<void> install_standard_handles(Task& task)
{
    if (Ref<KernelObject> memory = pager_client_object()) {
        if (!grant_handle(task, *memory, abi::RightSend | abi::RightGrant, task.id, abi::HandleMemory))
            return Error::AlreadyMapped;
    }
    if (Ref<Endpoint> registry = name_registry()) {
        // Badged with the task's id: the registry knows who asks (names have owners).
        if (!grant_handle(task, *registry, abi::RightSend | abi::RightGrant, task.id, abi::HandleRegistry))
            return Error::AlreadyMapped;
    }
    return {};
}

void set_name_registry(Endpoint* registry)
{
    // g_registry holds a reference: taken here, given back when replaced.
    Endpoint* kept = registry ? Ref<Endpoint>(*registry).leak() : nullptr;
    Endpoint* previous;
    {
        SpinLockGuard guard(g_registry_lock);
        previous = g_registry;
        g_registry = kept;
    }
    if (previous)
        Ref<Endpoint>::adopt(*previous).clear(); // after the lock: it may be the last
}

ErrorOr<u64> spawn_program(StringView name, ByteReader elf_file, const SpawnOptions& options, Ref<TaskObject>* object)
{
    // Segments lie below the heap (abi/memory.hpp has the layout).
    ElfImage image = HERALD_TRY(parse_elf(elf_file, abi::kUserCodeBase, abi::kUserHeapBase));
    AddressSpace* space = HERALD_TRY(AddressSpace::create());
    auto thread = build(name, elf_file, image, options, *space, object);
    if (thread.is_error()) {
        // Nothing of the task runs yet: what was built goes back.
        space->destroy();
        return thread.error();
    }
    u64 task_id = thread.value()->task->id;
    if (options.cpu)
        scheduler_enqueue_on(*thread.value(), *options.cpu);
    else
        scheduler_enqueue(*thread.value());
    return task_id;
}

} // namespace herald
