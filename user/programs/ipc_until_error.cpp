// ipc_until_error: calls its endpoint (start parameter) until a call fails,
// then exits with the error's magnitude. Used to show that a client of a
// server that dies gets PeerGone (7), not a hang.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"

namespace {
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
}

extern "C" int64_t herald_main(uint64_t endpoint)
{
    using namespace ipc::echo;
    ipc::SyscallTransport transport(g_ipc_buffer);
    ipc::Client<Protocol> client(transport, endpoint);
    for (uint64_t i = 0;; ++i) {
        auto reply = client.call<Ping>({ i });
        if (reply.is_error())
            return -static_cast<int64_t>(reply.error());
    }
}
