// ipc_stress_client: round trips to an echo server (ipc_echo_server), each
// carrying a sequence number and a checksum of it, so that a lost,
// duplicated or corrupted message shows: the reply to call i must be i.
//
// Start parameter: (round trips << 16) | endpoint handle. Exits with the
// number of bad replies (0: all good), or 1,000,000 + the error's magnitude
// if a call fails outright.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"

namespace {
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];

uint64_t checksum(uint64_t sequence) { return (sequence * 0x9E37'79B9'7F4A'7C15ull) ^ (sequence >> 7); }
} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    using namespace ipc::echo;
    ipc::Handle endpoint = parameter & 0xFFFF;
    uint64_t round_trips = parameter >> 16;
    ipc::SyscallTransport transport(g_ipc_buffer);
    ipc::Client<Protocol> client(transport, endpoint);
    int64_t bad = 0;
    for (uint64_t i = 0; i < round_trips; ++i) {
        auto sum = client.call<Sum>({ i, checksum(i) });
        if (sum.is_error())
            return 1'000'000 - static_cast<int64_t>(sum.error());
        if (sum.value().sum != i + checksum(i))
            ++bad;
    }
    return bad;
}
