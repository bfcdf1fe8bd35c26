// HandleTable: a task's capabilities. A handle is an index into this table;
// each entry names a kernel object, the rights the holder has on it, and a
// badge (a number the receiver sees with every message sent through that
// handle, so a server can tell its clients apart). Index 0 is never valid.
//
// Not synchronized: the owning task's lock guards it. Portable.
//
// Quotas (docs/security.md, "Quotas"): a task may hold kCapacity - 1
// handles, of which at most kMaxIpcObjects to endpoints and notifications
// and kMaxSavedReplies saved replies; one more is QuotaExceeded. The kinds
// a program can make at will are bounded, so that one task cannot pin
// kernel pool memory without limit (pool pages never go back to the
// system); a handle given to another task counts against the receiver.
#pragma once

#include "../abi/ipc.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "kernel_object.hpp"

namespace herald {

struct HandleEntry {
    KernelObject* object { nullptr };
    u32 rights { 0 };
    u64 badge { 0 };
};

class HandleTable {
public:
    static constexpr usize kCapacity = 256; // abi::kMaxHandles
    // Endpoints and notifications together: half the table, so that a task
    // that makes them until refused still has room for the handles it is
    // given (task handles, replies' transfers). The registry, which holds
    // one per published name (64 at most), stays below it.
    static constexpr usize kMaxIpcObjects = abi::kMaxIpcObjectHandles;
    // Saved replies: each one pins a blocked caller; a server sets aside at
    // most one per caller it answers later, far fewer than this today.
    static constexpr usize kMaxSavedReplies = abi::kMaxSavedReplyHandles;

    // Installs `object` (taking a new reference) and returns its index.
    ErrorOr<u64> insert(KernelObject& object, u32 rights, u64 badge, u64 first_index = 1);
    // Installs at a fixed index (well-known handles); SlotTaken if taken,
    // OutOfRange for an index the table cannot have.
    ErrorOr<void> insert_at(u64 index, KernelObject& object, u32 rights, u64 badge);

    // The entry, if `index` names one of type `type` that has all of `rights`.
    // BadHandle: no such handle; WrongType: another type; NoRights: rights
    // missing.
    ErrorOr<HandleEntry> lookup(u64 index, ObjectType type, u32 rights) const;
    // The same check without the reason, for the IPC fast paths (which hand
    // every failure to the full path, where lookup() names it): the entry
    // itself, or nullptr. Inline, and no copy of the entry.
    const HandleEntry* find(u64 index, ObjectType type, u32 rights) const
    {
        if (index == 0 || index >= kCapacity)
            return nullptr;
        const HandleEntry& entry = m_entries[index];
        if (!entry.object || entry.object->type() != type || (entry.rights & rights) != rights)
            return nullptr;
        return &entry;
    }
    Optional<HandleEntry> get(u64 index) const;

    // Removes the entry and drops its reference; BadHandle if none.
    ErrorOr<void> close(u64 index);
    // Closes every handle (task exit).
    void close_all();

    usize count() const;

private:
    // The counter of `type`'s quota, if it has one.
    u16* quota_counter(ObjectType type);
    static usize quota_limit(ObjectType type);

    HandleEntry m_entries[kCapacity] {};
    u16 m_ipc_objects { 0 };
    u16 m_saved_replies { 0 };
};

} // namespace herald
