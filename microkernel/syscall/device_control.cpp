// The device calls (abi/device.hpp, docs/drivers.md): restricting, enabling,
// binding and mapping the device capabilities. The objects
// (object/io_port_range.*, interrupt.*, device_memory.*) do the work; this
// file decodes the arguments, looks the handles up and gives new handles.
#include "handlers.hpp"

#include "../abi/device.hpp"
#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../ipc/ipc.hpp"
#include "../object/device_memory.hpp"
#include "../object/interrupt.hpp"
#include "../object/io_port_range.hpp"
#include "../object/lookup.hpp"
#include "../object/notification.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"
#include "user_access.hpp"

namespace herald {

namespace {

// A restricted copy goes into the caller's table with the rights (and
// badge) of the handle it came from: narrowing never adds a right.
template<typename T>
ErrorOr<u64> restricted(u64 handle, u64 first, u64 second)
{
    Thread& self = current_thread();
    auto parent = HERALD_TRY(lookup_handle<T>(self, handle, 0));
    Ref<T> child = HERALD_TRY(parent.object->restrict(first, second));
    u64 index = grant_handle(*self.task, *child, parent.rights, parent.badge);
    if (!index)
        return Error::OutOfMemory;
    return index;
}

ErrorOr<void> fill_info(Thread& self, u64 handle, abi::DeviceInfo& info)
{
    if (auto ports = lookup<IoPortRange>(self, handle, 0); !ports.is_error()) {
        info = { abi::DeviceKind::IoPorts, ports.value()->first(), ports.value()->last() };
        return {};
    }
    if (auto lines = lookup<Interrupt>(self, handle, 0); !lines.is_error()) {
        auto kind = lines.value()->is_msi() ? abi::DeviceKind::MsiInterrupt : abi::DeviceKind::Interrupt;
        info = { kind, lines.value()->first(), lines.value()->last() };
        return {};
    }
    auto memory = HERALD_TRY(lookup<DeviceMemory>(self, handle, 0));
    info = { abi::DeviceKind::DeviceMemory, memory->base().get(), memory->base().get() + memory->length() - 1 };
    return {};
}

} // namespace

// (io ports, first, last) -> a new handle to ports first..last.
ErrorOr<u64> sys_io_port_restrict(const SyscallArgs& args)
{
    return restricted<IoPortRange>(args.arg(0), args.arg(1), args.arg(2));
}

// (io ports) -> 0: opened in the caller's I/O permission bitmap.
ErrorOr<u64> sys_io_port_enable(const SyscallArgs& args)
{
    Thread& self = current_thread();
    auto ports = HERALD_TRY(lookup<IoPortRange>(self, args.arg(0), abi::RightSend));
    HERALD_TRY(ports->enable_for(*self.task));
    return 0u;
}

// (interrupt, first, last) -> a new handle to lines first..last.
ErrorOr<u64> sys_interrupt_restrict(const SyscallArgs& args)
{
    return restricted<Interrupt>(args.arg(0), args.arg(1), args.arg(2));
}

// (interrupt of one line, notification, bits) -> 0.
ErrorOr<u64> sys_interrupt_bind(const SyscallArgs& args)
{
    Thread& self = current_thread();
    auto line = HERALD_TRY(lookup<Interrupt>(self, args.arg(0), abi::RightSend));
    auto notification = HERALD_TRY(lookup<Notification>(self, args.arg(1), abi::RightSend));
    HERALD_TRY(line->bind(move(notification), args.arg(2)));
    return 0u;
}

// (interrupt) -> 0: the line is unmasked again.
ErrorOr<u64> sys_interrupt_ack(const SyscallArgs& args)
{
    auto line = HERALD_TRY(lookup<Interrupt>(current_thread(), args.arg(0), abi::RightSend));
    HERALD_TRY(line->acknowledge());
    return 0u;
}

// (interrupt root, MsiMessage* out) -> a new handle to one MSI vector, with
// the root handle's rights and badge; the message that raises it in *out.
ErrorOr<u64> sys_interrupt_allocate_msi(const SyscallArgs& args)
{
    Thread& self = current_thread();
    auto root = HERALD_TRY(lookup_handle<Interrupt>(self, args.arg(0), 0));
    x86::msi::Message message {};
    Ref<Interrupt> vector = HERALD_TRY(root.object->allocate_msi(message));
    abi::MsiMessage out { message.address, message.data };
    if (!copy_to_user_paged(args.arg(1), &out, sizeof(out)))
        return Error::BadAddress; // `vector` goes, and its vector is free again
    u64 index = grant_handle(*self.task, *vector, root.rights, root.badge);
    if (!index)
        return Error::OutOfMemory;
    return index;
}

// (device memory, physical base, length) -> a new handle.
ErrorOr<u64> sys_device_memory_restrict(const SyscallArgs& args)
{
    // Unaligned, empty or beyond the CPU's addresses: BadArgument.
    return restricted<DeviceMemory>(args.arg(0), args.arg(1), args.arg(2));
}

// (device memory, user address) -> 0.
ErrorOr<u64> sys_device_memory_map(const SyscallArgs& args)
{
    Thread& self = current_thread();
    auto memory = HERALD_TRY(lookup<DeviceMemory>(self, args.arg(0), abi::RightSend));
    auto mapped = memory->map_into(self.task->id, VirtualAddress(args.arg(1)));
    if (mapped.is_error()) {
        // An address outside the caller's user memory, or taken already.
        if (mapped.error() == Error::OutOfRange || mapped.error() == Error::AlreadyMapped)
            return Error::BadAddress;
        return mapped.error();
    }
    return 0u;
}

// (any device handle, DeviceInfo* out) -> 0.
ErrorOr<u64> sys_device_info(const SyscallArgs& args)
{
    abi::DeviceInfo info {};
    HERALD_TRY(fill_info(current_thread(), args.arg(0), info));
    if (!copy_to_user_paged(args.arg(1), &info, sizeof(info)))
        return Error::BadAddress;
    return 0u;
}

} // namespace herald
