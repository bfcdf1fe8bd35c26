#include "fault_injection.hpp"

#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../object/endpoint.hpp"
#include "../ipc/ipc.hpp"
#include "../object/kernel_service.hpp"
#include "../lib/syscall_error.hpp"
#include "../sched/scheduler.hpp"

namespace herald {

i64 inject_server_fault(Server server)
{
    Ref<KernelObject> object = server_client_object(server);
    if (!object)
        return static_cast<i64>(to_syscall_error(Error::BadHandle));
    IpcMessage request { abi::MessageInfo { abi::kFaultInjectionLabel, 0, false }.encode(), {}, abi::kKernelBadge };
    if (auto* service = object_cast<KernelService>(*object)) {
        // In the caller's thread, like any Call on it: this is where ring 0 faults.
        (void)service->call(current_thread(), request);
        return 0;
    }
    if (auto* endpoint = object_cast<Endpoint>(*object)) {
        IpcMessage reply;
        auto status = ipc_call_from_kernel(current_thread(), *endpoint, request, reply); // `object` keeps it
        return status.is_error() ? static_cast<i64>(to_syscall_error(status.error())) : 0;
    }
    return static_cast<i64>(to_syscall_error(Error::BadHandle));
}

} // namespace herald
