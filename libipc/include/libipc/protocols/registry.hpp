// The name registry: how tasks find servers by name ("memory", "loader",
// "console", "echo", ...). docs/ipc-libipc.md has the whole story.
//
//   Register  name, handle (transferred)  -> {}
//             InvalidRequest: the name is empty, unterminated, or has bytes
//                             after its terminating NUL
//             kReserved: a system name, and the caller's program has
//                        another name (see "Owners" below)
//             kAlreadyRegistered: the name is taken by a task that still
//                                 runs (first come, first served)
//             kTooManyNames: the caller holds kMaxNamesPerTask names already,
//                            or the running tasks of its program hold
//                            kMaxNamesPerProgram together
//             kFull: the registry holds kMaxEntries names of running tasks
//   Lookup    name                        -> handle (a transferred copy)
//             InvalidRequest as above; NotFound: nobody registered the name,
//             or the task that did has ended
//   Reserve   name, task id               -> {}: makes it a system name, for
//             that task (0: for any task of the program of that name)
//             Denied: only init may (it reserves its manifest's names
//                     before it starts anything, then each for the task it
//                     started, again at every restart), and only the task
//                     of init that reserved first: a copy of init may not
//             kFull: kMaxReserved names are reserved already
//   ReservedFor name                      -> task id: the task init named
//             for that system name (its last Reserve), 0 while any task of
//             the program may have it (before init started one, or during
//             a restart); NotFound: not a name init reserved. Open to
//             anyone: a server asks it to serve only the task init started
//             for a program (virtio-blk serves only init's `fat`:
//             docs/security.md, "The disk")
//
// Owners (docs/security.md). The registry knows who asks by the badge of
// the caller's HandleRegistry, which the kernel sets to the task's id. A
// name belongs to the task that registered it, and is gone once that task
// ends (the registry asks the kernel, TaskList, when the name is next used
// or the table is full). System names, the servers the kernel starts
// (kSystemNames) and the programs of init's manifest (Reserve), may be
// registered only by a task running the program of that name ("kv" by a
// task started from the program "kv"), and a manifest's name, once init has
// said which task it started for it, only by that task (a copy of kv that
// another program started cannot take "kv", not even while init's kv is
// being restarted). Badge 0 is the registry itself (the
// services built into the kernel it publishes at start): no limits.
//
// The registry endpoint is herald::abi::HandleRegistry (1) in every task
// but the registry itself, with RightSend and RightGrant (Register transfers
// a handle). A server publishes a handle with only the rights its clients
// should have (usually a send-only one minted from its endpoint): Lookup
// gives every client a copy with exactly those rights and that badge.
//
// Lookup's reply transfers a handle, which needs the kernel to allow handle
// transfer in replies (microkernel/ipc/ipc.cpp reply_receive); a kernel that
// strips it makes every Lookup fail with BadMessage.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocol.hpp"
#include "microkernel/abi/ipc.hpp"

namespace ipc::registry {

// A name: 1 to kMaxNameLength bytes, none of them NUL, then NULs to the end
// of the field. Names compare exactly, all kNameSize bytes (so "echo" and
// "Echo" are two names).
inline constexpr size_t kNameSize = 32;
inline constexpr size_t kMaxNameLength = kNameSize - 1;

struct Name {
    char bytes[kNameSize];
};

struct Register {
    static constexpr uint32_t label = 1;
    using Request = WithHandle<Name>;
    using Reply = Empty;
};

struct Lookup {
    static constexpr uint32_t label = 2;
    static constexpr bool idempotent = true; // a read
    using Request = Name;
    using Reply = WithHandle<>;
};

struct Reservation {
    Name name;
    uint64_t task_id; // 0: any task of the program `name`
};

struct Reserve {
    static constexpr uint32_t label = 3;
    using Request = Reservation;
    using Reply = Empty;
};

struct ReservedFor {
    static constexpr uint32_t label = 4;
    static constexpr bool idempotent = true; // a read
    using Request = Name;
    struct Reply {
        uint64_t task_id; // 0: any task of the program
    };
};

using Protocol = ipc::Protocol<Register, Lookup, Reserve, ReservedFor>;

inline constexpr Error kAlreadyRegistered = protocol_error(0);
inline constexpr Error kFull = protocol_error(1);
inline constexpr Error kReserved = protocol_error(2);
inline constexpr Error kTooManyNames = protocol_error(3);

// Entries the registry keeps (it holds one handle for each).
inline constexpr size_t kMaxEntries = 64;
// Names one task may hold: a server needs one or two; a program that tries
// to fill the table stops here (docs/security.md).
inline constexpr size_t kMaxNamesPerTask = 8;
// Names the running tasks of one program may hold together (by task name:
// the registry cannot see the loader's trees): a quarter of the table, so
// that copies of one program cannot fill it, 8 names a copy (kv, echo and
// the other servers run once and hold one or two).
inline constexpr size_t kMaxNamesPerProgram = 16;
static_assert(kMaxNamesPerProgram >= kMaxNamesPerTask && kMaxNamesPerProgram < kMaxEntries);
// Names init may reserve: one per manifest line (user/init/manifest.hpp kMaxEntries).
inline constexpr size_t kMaxReserved = 32;
// Reserved from the start: the servers the kernel starts itself.
inline constexpr const char* kSystemNames[] = { "memory", "registry", "console", "loader" };
// The program whose task may Reserve.
inline constexpr const char* kReservingProgram = "init";

static_assert(Protocol::is_valid);
static_assert(carries_handle<Register::Request> && !carries_handle<Register::Reply>);
static_assert(!carries_handle<Lookup::Request> && carries_handle<Lookup::Reply>);
static_assert(shape_of<Register::Request>() == Shape::Words && sizeof(Name) == 4 * sizeof(uint64_t));

// A name as the protocol carries it; InvalidRequest for nullptr, "" or one
// longer than kMaxNameLength.
constexpr Result<Name> make_name(const char* text)
{
    if (!text || text[0] == '\0')
        return Error::InvalidRequest;
    Name name {};
    size_t length = 0;
    for (; text[length] != '\0'; ++length) {
        if (length == kMaxNameLength)
            return Error::InvalidRequest;
        name.bytes[length] = text[length];
    }
    return name;
}

// What the registry accepts: a non-empty name, terminated, NUL-padded.
constexpr bool is_valid_name(const Name& name)
{
    if (name.bytes[0] == '\0')
        return false;
    size_t end = 1;
    while (end < kNameSize && name.bytes[end] != '\0')
        ++end;
    if (end == kNameSize)
        return false; // no terminating NUL
    for (size_t i = end; i < kNameSize; ++i) {
        if (name.bytes[i] != '\0')
            return false; // garbage after the name: it would not compare exactly
    }
    return true;
}

constexpr bool same_name(const Name& a, const Name& b)
{
    for (size_t i = 0; i < kNameSize; ++i) {
        if (a.bytes[i] != b.bytes[i])
            return false;
    }
    return true;
}

// ---- clients ----

// Registers `handle` under `name` with the registry at `registry`. The
// registry gets a copy; the caller keeps its own handle (and may close it).
inline Result<void> publish(Transport& transport, Handle registry, const char* name, Handle handle)
{
    Name wire = IPC_TRY(make_name(name));
    IPC_TRY(Client<Protocol>(transport, registry).call<Register>({ wire, handle }));
    return {};
}

// The handle registered under `name`: a new handle of the caller's, with the
// rights and badge the publisher gave it. NotFound if there is none (yet).
inline Result<Handle> lookup(Transport& transport, Handle registry, const char* name)
{
    Name wire = IPC_TRY(make_name(name));
    auto reply = IPC_TRY(Client<Protocol>(transport, registry).call<Lookup>(wire));
    return reply.handle;
}

// lookup_waiting's first retries only yield: a server started just before
// its client on the same CPU registers within a few turns of the scheduler.
inline constexpr uint32_t kYieldingRetries = 64;
// Then it sleeps this long between lookups: the kernel's tick, which is
// what any shorter sleep lasts anyway (so the count of milliseconds stays
// true to the time).
inline constexpr uint32_t kSleepStepMs = 10;

// lookup(), repeated while the answer is NotFound, for a server that
// registers a little after its clients start. Any other error is returned at
// once; patience 0 asks once.
//
// The bound is time, not a count of lookups: on a multi-CPU system a yield
// with nothing else to run returns at once, so thousands of them pass in a
// few milliseconds, less than a loaded host may keep the server's emulated
// CPU from running. So after kYieldingRetries yields it sleeps kSleepStepMs
// between lookups until it has slept `patience_ms` in all (a sleep may last
// up to a tick longer than asked: the wait is never shorter, unless the
// transport cannot sleep and only yields).
inline Result<Handle> lookup_waiting(Transport& transport, Handle registry, const char* name, uint32_t patience_ms)
{
    uint32_t yields = 0;
    uint64_t slept_ms = 0; // wider than patience_ms: the sum cannot wrap
    for (;;) {
        auto found = lookup(transport, registry, name);
        if (!found.is_error() || found.error() != Error::NotFound || slept_ms >= patience_ms)
            return found;
        if (yields < kYieldingRetries) {
            ++yields;
            (void)transport.yield(); // a transport that cannot yield just asks again
            continue;
        }
        // A transport that cannot sleep yields instead, or just asks again;
        // the step counts all the same, so the loop always ends.
        if (transport.sleep_ms(kSleepStepMs).is_error())
            (void)transport.yield();
        slept_ms += kSleepStepMs;
    }
}

// ---- the server ----

// What the registry needs to know about tasks (user/programs/registry.cpp
// asks the kernel with TaskList; the host tests fake it). Not pure virtual
// (ring-3 programs have no __cxa_pure_virtual): the defaults know nothing,
// so every owner counts as running and no task as running a system program.
class Tasks {
public:
    // Whether task `id` has not ended.
    virtual bool is_running(uint64_t id)
    {
        (void)id;
        return true;
    }
    // Whether task `id` runs the program `program` (its task name).
    virtual bool runs_program(uint64_t id, const char* program)
    {
        (void)id, (void)program;
        return false;
    }
    // The program task `id` runs (its task name); false if unknown.
    virtual bool program_of(uint64_t id, Name& program)
    {
        (void)id, (void)program;
        return false;
    }
    // The registry is done with a handle it held.
    virtual void close(Handle handle) { (void)handle; }

protected:
    Tasks() = default;
    ~Tasks() = default;
};

// The registry's table and its answers (user/programs/registry.cpp serves
// it). Constexpr-constructible, all zeros, so a ring-3 program can keep one
// in .bss without a global constructor.
//
// It keeps every handle it is given until its owner ends: a Lookup answers
// with a copy of the stored handle. A refused Register's handle is closed by
// ipc::dispatch (the handler only owns it when it succeeds).
class Service {
public:
    // Until this is called (a registry that cannot ask the kernel), owners
    // never end and only badge 0 may register system names.
    void set_tasks(Tasks& tasks) { m_tasks = &tasks; }

    Result<Empty> handle(Register, const Register::Request& request, Badge caller)
    {
        const Name& name = request.value;
        if (!is_valid_name(name))
            return Error::InvalidRequest;
        if (!may_register(name, caller))
            return kReserved;
        if (Entry* taken = find(name)) {
            if (is_running(taken->owner))
                return kAlreadyRegistered;
            remove(*taken); // its owner ended
        }
        if (caller != kSystem && names_of(caller) >= kMaxNamesPerTask)
            return kTooManyNames;
        Name program {};
        bool known = caller != kSystem && m_tasks && m_tasks->program_of(caller, program);
        if (known && names_of_program(program) >= kMaxNamesPerProgram) {
            forget_ended(); // the program's ended tasks hold theirs no more
            if (names_of_program(program) >= kMaxNamesPerProgram)
                return kTooManyNames;
        }
        if (m_count == kMaxEntries)
            forget_ended();
        if (m_count == kMaxEntries)
            return kFull;
        m_entries[m_count++] = Entry { name, request.handle, caller, program };
        return Empty {};
    }

    Result<WithHandle<>> handle(Lookup, const Lookup::Request& name, Badge)
    {
        if (!is_valid_name(name))
            return Error::InvalidRequest;
        Entry* entry = find(name);
        if (!entry)
            return Error::NotFound;
        if (!is_running(entry->owner)) {
            remove(*entry);
            return Error::NotFound;
        }
        return WithHandle<> { {}, entry->handle };
    }

    Result<Empty> handle(Reserve, const Reserve::Request& request, Badge caller)
    {
        if (caller == kSystem || !m_tasks || !m_tasks->runs_program(caller, kReservingProgram))
            return Error::Denied;
        // Only the task of init that reserved first: the kernel's init, which
        // reserves before it starts anything. A copy of init (the loader
        // refuses to start one; this holds if one starts anyway) runs init's
        // code and would name its own copies of the servers (its `fat`
        // would get the disk: ReservedFor).
        if (m_reserver != kSystem && m_reserver != caller)
            return Error::Denied;
        m_reserver = caller;
        const Name& name = request.name;
        if (!is_valid_name(name))
            return Error::InvalidRequest;
        Reserved* reserved = find_reserved(name);
        if (!reserved) {
            if (m_reserved_count == kMaxReserved)
                return kFull;
            reserved = &m_reserved[m_reserved_count++];
            reserved->name = name;
        }
        reserved->task = request.task_id;
        // Somebody else took it first (another program, another copy, or the
        // task init started before a restart): it loses it.
        if (Entry* taken = find(name); taken && !may_register(name, taken->owner))
            remove(*taken);
        return Empty {};
    }

    Result<ReservedFor::Reply> handle(ReservedFor, const ReservedFor::Request& name, Badge)
    {
        if (!is_valid_name(name))
            return Error::InvalidRequest;
        const Reserved* reserved = find_reserved(name);
        if (!reserved)
            return Error::NotFound;
        return ReservedFor::Reply { reserved->task };
    }

    size_t count() const { return m_count; }

private:
    static constexpr Badge kSystem = 0;

    struct Entry {
        Name name;
        Handle handle;
        Badge owner; // the task id of the registering task; kSystem for the registry's own
        Name program; // the owner's program, all zeros if unknown
    };

    struct Reserved {
        Name name;
        Badge task; // the one task that may register it; 0: any task of the program
    };

    Entry* find(const Name& name)
    {
        for (size_t i = 0; i < m_count; ++i) {
            if (same_name(m_entries[i].name, name))
                return &m_entries[i];
        }
        return nullptr;
    }

    static bool is_system_name(const Name& name)
    {
        for (const char* system : kSystemNames) {
            if (same_name(make_name(system).value(), name))
                return true;
        }
        return false;
    }

    Reserved* find_reserved(const Name& name)
    {
        for (size_t i = 0; i < m_reserved_count; ++i) {
            if (same_name(m_reserved[i].name, name))
                return &m_reserved[i];
        }
        return nullptr;
    }

    bool may_register(const Name& name, Badge caller)
    {
        if (caller == kSystem)
            return true;
        const Reserved* reserved = find_reserved(name);
        if (!reserved && !is_system_name(name))
            return true;
        if (!m_tasks || !m_tasks->runs_program(caller, name.bytes))
            return false;
        return !reserved || reserved->task == 0 || reserved->task == caller;
    }

    bool is_running(Badge owner) { return owner == kSystem || !m_tasks || m_tasks->is_running(owner); }

    size_t names_of(Badge owner) const
    {
        size_t count = 0;
        for (size_t i = 0; i < m_count; ++i)
            count += m_entries[i].owner == owner;
        return count;
    }

    size_t names_of_program(const Name& program) const
    {
        size_t count = 0;
        for (size_t i = 0; i < m_count; ++i)
            count += same_name(m_entries[i].program, program);
        return count;
    }

    // Drops the entry (its handle closed); the last one takes its place.
    void remove(Entry& entry)
    {
        if (m_tasks)
            m_tasks->close(entry.handle);
        entry = m_entries[--m_count];
        m_entries[m_count] = Entry {};
    }

    void forget_ended()
    {
        for (size_t i = m_count; i-- > 0;) {
            if (!is_running(m_entries[i].owner))
                remove(m_entries[i]);
        }
    }

    Entry m_entries[kMaxEntries] = {};
    size_t m_count = 0;
    Reserved m_reserved[kMaxReserved] = {};
    size_t m_reserved_count = 0;
    Badge m_reserver = kSystem; // the task of init that reserved first; kSystem: none yet
    Tasks* m_tasks = nullptr;
};

} // namespace ipc::registry
