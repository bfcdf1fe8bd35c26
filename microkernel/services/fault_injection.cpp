#include "fault_injection.hpp"

#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../object/endpoint.hpp"
#include "../ipc/ipc.hpp"
#include "../object/kernel_service.hpp"
#include "../sched/scheduler.hpp"

namespace herald {

i64 inject_server_fault(Server server)
{
    KernelObject* object = server_client_object(server);
    if (!object)
        return static_cast<i64>(abi::SyscallError::BadHandle);
    IpcMessage request { abi::MessageInfo { abi::kFaultInjectionLabel, 0, false }.encode(), {}, abi::kKernelBadge };
    i64 status = 0;
    if (object->type() == ObjectType::KernelService) {
        // In the caller's thread, like any Call on it: this is where ring 0 faults.
        (void)static_cast<KernelService*>(object)->call(current_thread(), request, nullptr);
    } else if (object->type() == ObjectType::Endpoint) {
        IpcMessage reply;
        status = ipc_call_from_kernel(current_thread(), *static_cast<Endpoint*>(object), request, reply);
    } else {
        status = static_cast<i64>(abi::SyscallError::BadHandle);
    }
    object->release();
    return status;
}

} // namespace herald
