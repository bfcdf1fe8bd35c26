#include "lookup.hpp"

#include "../sync/spinlock.hpp"
#include "../task/task.hpp"

namespace herald {

ErrorOr<HandleEntry> lookup_retained(Thread& thread, u64 handle, ObjectType type, u32 rights)
{
    SpinLockGuard guard(thread.task->handles_lock);
    if (!thread.task->handles)
        return Error::BadHandle; // its task is ending: no handles any more
    auto entry = thread.task->handles->lookup(handle, type, rights);
    if (!entry.is_error())
        (void)Ref<KernelObject>(*entry.value().object).leak(); // the caller adopts it
    return entry;
}

ErrorOr<HandleRef<KernelObject>> lookup_any(Thread& thread, u64 handle)
{
    SpinLockGuard guard(thread.task->handles_lock);
    if (!thread.task->handles)
        return Error::BadHandle;
    Optional<HandleEntry> entry = thread.task->handles->get(handle);
    if (!entry)
        return Error::BadHandle;
    return HandleRef<KernelObject> { Ref<KernelObject>(*entry->object), entry->rights, entry->badge };
}

} // namespace herald
