// registry: the name registry server (libipc/protocols/registry.hpp). Its
// endpoint, with the receive right, arrives as the handle its start
// parameter's low byte names (4 when the kernel starts it at bootstrap);
// every other task reaches it as abi::HandleRegistry.
// Keeps up to 64 names, each with the handle published under it, and serves
// Register and Lookup forever. Servers built into the kernel cannot publish
// themselves: the kernel hands the registry their handles at start, and the
// parameter's higher bits say which (abi::kRegistryBuiltinShift): those are
// published first, as if they had registered.
//
// Exits only if serving fails (the handle is bad, or the kernel has no IPC):
// status 1, after logging why.
#include <stdint.h>

#include "libipc/protocols/registry.hpp"
#include "libipc/syscall_transport.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/syscall.hpp"

namespace {
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
ipc::registry::Service g_registry;

void publish_builtins(uint64_t parameter)
{
    using namespace herald::abi;
    for (uint64_t i = 0; i < kRegistryBuiltins; ++i) {
        if (!(parameter >> kRegistryBuiltinShift & (1ull << i)))
            continue;
        ipc::registry::Register::Request entry { ipc::registry::make_name(kRegistryBuiltinNames[i]).value(),
            kRegistryBuiltinHandle + i };
        if (g_registry.handle(ipc::registry::Register {}, entry, 0).is_error())
            herald::user::debug_write("registry: cannot publish a service built into the kernel");
    }
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t endpoint = parameter & herald::abi::kRegistryEndpointMask;
    publish_builtins(parameter);
    ipc::SyscallTransport transport(g_ipc_buffer);
    if (transport.register_buffer().is_error()) {
        herald::user::debug_write("registry: cannot register the IPC buffer");
        return 1;
    }
    ipc::Error error = ipc::serve<ipc::registry::Protocol>(transport, endpoint, g_registry);
    herald::user::debug_write("registry: stopped serving:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}
