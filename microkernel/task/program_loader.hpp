// Starting a ring-3 program from an ELF64 file in kernel memory.
//
// The loader server (a later issue) does this for every program but the
// first few; the kernel keeps this small loader for the bootstrap programs
// and for the in-system tests. Each program gets its own address space:
// its segments at their link addresses (0x08000000 and up), a 20 MiB stack
// region at the top of user space with its top 4 pages committed (seed),
// and one thread that starts at the ELF entry point with the parameter in
// RDX (seed).
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "../lib/string_view.hpp"
#include "../object/ref.hpp"
#include "task.hpp"

namespace herald {

class KernelObject;
class Endpoint;
class TaskObject;

// A handle the new task holds from its start (abi::WellKnownHandle, or any
// other index the two sides agree on).
struct InitialHandle {
    KernelObject* object { nullptr };
    u32 rights { 0 };
    u64 badge { 0 };
    u64 index { 0 };
};

struct SpawnOptions {
    u64 parameter { 0 };
    Optional<usize> cpu; // pin to this CPU; otherwise the least loaded one
    InitialHandle handles[6] {};
    // The memory server itself: it gets the memory view (abi/memory.hpp)
    // and no abi::HandleMemory (its own endpoint goes there instead).
    bool is_memory_server { false };
    // The loader: the boot archive, read-only at abi::kArchiveViewBase.
    bool map_archive { false };
    // I/O ports its ring-3 code may use (the console: COM1), none by default.
    u16 io_port_first { 0 };
    u16 io_port_count { 0 };
};

// Every task also gets abi::HandleMemory: a send right to the memory
// service (pager/pager.hpp) badged with its task id, once the pager runs.
//
// The name registry (abi::HandleRegistry): once set, every task spawned
// gets handle 1 to it, with the rights to send and to pass handles along
// (publishing a server means sending the registry a handle). The registry
// itself is started before the tasks that use it; nullptr unsets it.
void set_name_registry(Endpoint* registry);
// The registry, a reference for the caller, or null (the self-tests give a
// program an unbadged handle to it).
Ref<Endpoint> name_registry();

// The handles every task gets: abi::HandleMemory and abi::HandleRegistry,
// when they exist (the kernel's spawn_program and TaskCreate both give them).
ErrorOr<void> install_standard_handles(Task& task);

// Returns the new task's id. Not a Task*: the task may run, end and be
// freed before the caller looks at it. With `object`, the task is also a
// capability, as if started through TaskStart: *object gets a reference to
// its TaskObject, which outlives the task and says when it ended (the
// servers the kernel starts, for their supervisor: ServerTask).
ErrorOr<u64> spawn_program(StringView name, ByteReader elf_file, const SpawnOptions& options,
    Ref<TaskObject>* object = nullptr);

} // namespace herald
