// Typed lookups of a thread's handles (Zircon's GetDispatcherWithRights):
// lookup<T>(thread, handle, rights) checks that the handle names a T (its
// kType tag) with all of `rights`, and hands back a Ref<T> held for as long
// as the caller needs the object. The one cast from KernelObject to T is
// here, after the tag was checked.
#pragma once

#include "../lib/error.hpp"
#include "handle_table.hpp"
#include "ref.hpp"

namespace herald {

struct Thread;

// A looked-up handle: its object, and the rights and badge it carries.
template<typename T>
struct HandleRef {
    Ref<T> object;
    u32 rights { 0 };
    u64 badge { 0 };
};

// The entry, its object retained for the caller (who adopts it into a Ref).
// BadHandle, WrongType, NoRights (HandleTable::lookup).
ErrorOr<HandleEntry> lookup_retained(Thread& thread, u64 handle, ObjectType type, u32 rights);

template<typename T>
ErrorOr<HandleRef<T>> lookup_handle(Thread& thread, u64 handle, u32 rights)
{
    auto entry = lookup_retained(thread, handle, T::kType, rights);
    if (entry.is_error())
        return entry.error();
    HandleEntry& found = entry.value();
    // The tag is T's: the object is a T.
    return HandleRef<T> { Ref<T>::adopt(static_cast<T&>(*found.object)), found.rights, found.badge };
}

template<typename T>
ErrorOr<Ref<T>> lookup(Thread& thread, u64 handle, u32 rights)
{
    auto entry = lookup_handle<T>(thread, handle, rights);
    if (entry.is_error())
        return entry.error();
    return move(entry.value().object);
}

// Any object's handle, retained: for the calls that copy a handle whatever
// its type (HandleMint, TaskGiveHandle, a transfer with a message). The
// reference is taken under the task's handles_lock, so that a sibling
// thread closing the handle a moment later cannot free the object under
// the caller. BadHandle: no such handle.
ErrorOr<HandleRef<KernelObject>> lookup_any(Thread& thread, u64 handle);

// For the IPC fast paths, which take no reference: the T that `handle`
// names in `table` with all of `rights` (and the entry, for its badge), or
// nullptr. The caller holds the task's handles_lock, and must keep the
// object alive by other means once it lets the lock go (fastpath.cpp takes
// the object's own lock first: hand over hand).
template<typename T>
T* find_unretained(const HandleTable& table, u64 handle, u32 rights, const HandleEntry*& entry)
{
    entry = table.find(handle, T::kType, rights);
    // The tag is T's: the object is a T.
    return entry ? static_cast<T*>(entry->object) : nullptr;
}

} // namespace herald
