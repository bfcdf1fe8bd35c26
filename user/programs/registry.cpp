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
// A Lookup answers with a copy of the published handle badged with the
// caller's task id (the badge of its HandleRegistry, which the kernel sets)
// when the publisher gave the registry RightMint: so a server can tell its
// clients apart (docs/ipc.md, "Identity through the registry"). Without
// RightMint, every client gets the same handle, as published.
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

// A copy of `published` badged `client`, or HandleNone when the publisher
// did not allow it (no RightMint, or a badge of its own): then the client
// gets the handle as published. Tried with the grant right first, which a
// client needs to pass handles to the server (Subscribe, SpawnWith).
ipc::Handle badged_copy(ipc::Handle published, ipc::Badge client)
{
    using namespace herald::abi;
    if (client == 0)
        return HandleNone;
    const uint32_t tries[] = { RightSend | RightGrant, RightSend };
    for (uint32_t rights : tries) {
        auto copy = ipc::sys::handle_mint(published, rights, client);
        if (!copy.is_error())
            return copy.value();
    }
    return HandleNone;
}

// ipc::serve's handler: the Service, plus the badged copies of Lookup.
class Server {
public:
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        return g_registry.handle(operation, request, badge);
    }

    ipc::Result<ipc::WithHandle<>> handle(ipc::registry::Lookup lookup, const ipc::registry::Name& name, ipc::Badge badge)
    {
        auto found = IPC_TRY(g_registry.handle(lookup, name, badge));
        ipc::Handle copy = badged_copy(found.handle, badge);
        if (copy == herald::abi::HandleNone)
            return found;
        m_close_after_reply = copy; // the reply carries a copy of it
        return ipc::WithHandle<> { {}, copy };
    }

    void after_reply()
    {
        if (m_close_after_reply != herald::abi::HandleNone)
            (void)ipc::sys::handle_close(m_close_after_reply);
        m_close_after_reply = herald::abi::HandleNone;
    }

private:
    ipc::Handle m_close_after_reply = herald::abi::HandleNone;
};

Server g_server;

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
    ipc::Error error = ipc::serve<ipc::registry::Protocol>(transport, endpoint, g_server);
    herald::user::debug_write("registry: stopped serving:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}
