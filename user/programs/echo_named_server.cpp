// echo_named_server: an echo server (libipc/protocols/echo.hpp) that clients
// find by name. Creates its own endpoint, publishes a send-only handle to it
// in the registry (abi::HandleRegistry, or the handle its start parameter
// names if that is not 0) as "echo", then serves it forever.
//
// Exits only on failure: 100 + |error| if the endpoint cannot be made or
// published, 1 if the IPC buffer cannot be registered or serving stops.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/syscall_transport.hpp"
#include "microkernel/abi/ipc.hpp"
#include "user/runtime/syscall.hpp"

namespace {
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
ipc::echo::Service g_service;

int64_t failed(const char* what, ipc::Error error)
{
    herald::user::debug_write(what);
    herald::user::debug_write(ipc::error_name(error));
    return 100 - static_cast<int64_t>(error);
}
} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    ipc::Handle registry = parameter ? parameter : herald::abi::HandleRegistry;
    ipc::SyscallTransport transport(g_ipc_buffer);
    if (transport.register_buffer().is_error()) {
        herald::user::debug_write("echo_named_server: cannot register the IPC buffer");
        return 1;
    }

    auto endpoint = ipc::sys::endpoint_create(); // all rights, ours alone
    if (endpoint.is_error())
        return failed("echo_named_server: cannot create an endpoint:", endpoint.error());
    // Clients get exactly what the registry is given: send, nothing more.
    auto send_only = ipc::sys::handle_mint(endpoint.value(), herald::abi::RightSend, 0);
    if (send_only.is_error())
        return failed("echo_named_server: cannot mint a send handle:", send_only.error());
    auto published = ipc::registry::publish(transport, registry, "echo", send_only.value());
    if (published.is_error())
        return failed("echo_named_server: cannot register \"echo\":", published.error());
    (void)ipc::sys::handle_close(send_only.value()); // the registry holds its own copy

    ipc::Error error = ipc::serve<ipc::echo::Protocol>(transport, endpoint.value(), g_service);
    herald::user::debug_write("echo_named_server: stopped serving:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}
