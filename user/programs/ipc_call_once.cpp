// ipc_call_once: one Ping call of 41 on its endpoint (start parameter).
// Exits 0 if the answer is 42, 1 for another answer, or |error| if the call
// failed (PeerGone: 7).
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"

extern "C" int64_t herald_main(uint64_t endpoint)
{
    ipc::SyscallTransport transport(nullptr); // words only
    ipc::Client<ipc::echo::Protocol> client(transport, endpoint);
    auto reply = client.call<ipc::echo::Ping>({ 41 });
    if (reply.is_error())
        return -static_cast<int64_t>(reply.error());
    return reply.value().value == 42 ? 0 : 1;
}
