// The name registry: how tasks find servers by name ("memory", "loader",
// "console", "echo", ...). docs/ipc-libipc.md has the whole story.
//
//   Register  name, handle (transferred)  -> {}
//             InvalidRequest: the name is empty, unterminated, or has bytes
//                             after its terminating NUL
//             kAlreadyRegistered: the name is taken (first come, first served)
//             kFull: the registry holds kMaxEntries names already
//   Lookup    name                        -> handle (a transferred copy)
//             InvalidRequest as above; NotFound: nobody registered the name
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
    using Request = Name;
    using Reply = WithHandle<>;
};

using Protocol = ipc::Protocol<Register, Lookup>;

inline constexpr Error kAlreadyRegistered = protocol_error(0);
inline constexpr Error kFull = protocol_error(1);

// Entries the registry keeps (it holds one handle for each).
inline constexpr size_t kMaxEntries = 64;

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

// The registry's table and its answers (user/programs/registry.cpp serves
// it). Constexpr-constructible, all zeros, so a ring-3 program can keep one
// in .bss without a global constructor.
//
// It keeps every handle it is given until it ends: a Lookup answers with a
// copy of the stored handle. A refused Register's handle is closed by
// ipc::dispatch (the handler only owns it when it succeeds).
class Service {
public:
    Result<Empty> handle(Register, const Register::Request& request, Badge)
    {
        if (!is_valid_name(request.value))
            return Error::InvalidRequest;
        if (find(request.value))
            return kAlreadyRegistered;
        if (m_count == kMaxEntries)
            return kFull;
        m_entries[m_count++] = Entry { request.value, request.handle };
        return Empty {};
    }

    Result<WithHandle<>> handle(Lookup, const Lookup::Request& name, Badge)
    {
        if (!is_valid_name(name))
            return Error::InvalidRequest;
        const Entry* entry = find(name);
        if (!entry)
            return Error::NotFound;
        return WithHandle<> { {}, entry->handle };
    }

    size_t count() const { return m_count; }

private:
    struct Entry {
        Name name;
        Handle handle;
    };

    const Entry* find(const Name& name) const
    {
        for (size_t i = 0; i < m_count; ++i) {
            if (same_name(m_entries[i].name, name))
                return &m_entries[i];
        }
        return nullptr;
    }

    Entry m_entries[kMaxEntries] = {};
    size_t m_count = 0;
};

} // namespace ipc::registry
