// echo: the example server (docs/new-server.md walks through it). It serves
// the echo protocol (libipc/protocols/echo.hpp) and publishes itself in the
// registry as "echo", so that any task can find it by name. Start it by
// name: from init's manifest, or `run echo` in the shell.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/registry.hpp"
#include "user/runtime/herald.hpp"

namespace {

ipc::echo::Service g_service; // the protocol's reference answers

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    ipc::SyscallTransport& transport = herald::user::ipc();

    // 1. An endpoint to receive on.
    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error()) {
        herald::user::println("echo: no endpoint: {}", ipc::error_name(endpoint.error()));
        return 1;
    }
    // 2. A send-only handle to it, published under our name.
    auto for_clients = ipc::sys::handle_mint(endpoint.value(), herald::abi::RightSend, 0);
    if (for_clients.is_error()
        || ipc::registry::publish(transport, herald::abi::HandleRegistry, "echo", for_clients.value()).is_error()) {
        herald::user::println("echo: cannot publish \"echo\" (is another echo running?)");
        return 1;
    }
    herald::user::println("echo: serving");
    // 3. Serve forever.
    ipc::Error error = ipc::serve<ipc::echo::Protocol>(transport, endpoint.value(), g_service);
    herald::user::println("echo: stopped: {}", ipc::error_name(error));
    return 1;
}
