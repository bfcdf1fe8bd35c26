// KernelObject: what a handle points at, the base of every capability-bearing
// type in this folder (one header and source each, with its operations as
// methods, as Zircon's dispatchers). Each type names its ObjectType as
// `kType`, the tag a typed lookup checks. Reference-counted: every handle
// and every IPC call in progress on the object holds a reference, and the
// object is destroyed when the last one goes. A thread waiting in an
// object's queue holds none: destroy() wakes every waiter first, under the
// object's lock, so no waiter is left pointing at it; a kill that looks at
// a waiter's object is covered by retire.hpp (the object is freed only once
// no kill can be looking). That holds with several threads in a task too,
// where a sibling may close the last handle while a thread waits; nothing
// on the IPC paths pays for it. Portable (host-tested through handle_table).
#pragma once

#include "../lib/types.hpp"
#include "ref.hpp"

namespace herald {

enum class ObjectType : u8 {
    Endpoint,
    Notification,
    KernelService, // answered by the kernel itself (kernel_service.hpp)
    MemoryControl, // the memory server's right to map frames (memory_control.hpp)
    Task,          // a task as a capability (task_object.hpp)
    ProcessControl, // the loader's right to create tasks (process_control.hpp)
    SystemControl,  // init's right to power off (system_control.hpp)
    KernelLog,      // the console's right to read the kernel log (kernel_log_control.hpp)
    SavedReply,     // a reply right set aside to answer later (saved_reply.hpp)
    IoPortRange,    // I/O ports first..last a driver may use (io_port_range.hpp)
    Interrupt,      // interrupt lines first..last; bound to a notification (interrupt.hpp)
    DeviceMemory,   // a physical range that is not RAM, mapped uncached (device_memory.hpp)
    FaultControl,   // the injector's right to hurt ring-3 tasks, faults=on only (fault_control.hpp)
};

class KernelObject {
public:
    ObjectType type() const { return m_type; }
    u32 references() const { return __atomic_load_n(&m_references, __ATOMIC_RELAXED); }

    // A handle with these rights was opened on (or closed from) the object;
    // endpoints count receive rights to know when nobody can receive anymore.
    virtual void handle_opened(u32 /*rights*/) { }
    virtual void handle_closed(u32 /*rights*/) { }

    // For the types whose waiters a kill looks at without a reference
    // (Endpoint, Notification): their destroy() ends with retire(*this)
    // (retire.hpp), which calls this once no kill can be looking.
    virtual void free_retired_storage() { }
    KernelObject* retired_next { nullptr }; // retire.cpp's list

protected:
    explicit KernelObject(ObjectType type) : m_type(type) { }
    ~KernelObject() = default;
    virtual void destroy() = 0;

private:
    // Only through Ref<T> (ref.hpp): a reference is an object, never a
    // pair of calls to keep in step by hand.
    template<typename>
    friend class Ref;
    void retain() { __atomic_add_fetch(&m_references, 1, __ATOMIC_RELAXED); }
    void release()
    {
        if (__atomic_sub_fetch(&m_references, 1, __ATOMIC_ACQ_REL) == 0)
            destroy();
    }

    ObjectType m_type;
    u32 m_references { 1 };
};

// `object` as a T, if its tag says it is one; nullptr otherwise. The only
// way from a KernelObject to its type besides lookup<T> (lookup.hpp).
template<typename T>
T* object_cast(KernelObject& object)
{
    return object.type() == T::kType ? static_cast<T*>(&object) : nullptr;
}

} // namespace herald
