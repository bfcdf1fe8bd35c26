// bench_ipc: cycles per IPC round trip (Call to an echo server and its
// reply) between two address spaces. Start parameter: (rounds << 16) |
// endpoint handle; measures rounds of 100 calls. Exits with
// (median << 32) | minimum cycles per round trip (bench_common.hpp).
#include "bench_common.hpp"
#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"

namespace {
constexpr int kCallsPerRound = 100;
constexpr int kMaxRounds = 1001;
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
uint64_t g_samples[kMaxRounds];
}

extern "C" int64_t herald_main(uint64_t parameter)
{
    using namespace ipc::echo;
    ipc::Handle endpoint = parameter & 0xFFFF;
    int rounds = static_cast<int>(parameter >> 16);
    if (rounds < 1 || rounds > kMaxRounds)
        return -1;
    ipc::SyscallTransport transport(g_ipc_buffer);
    ipc::Client<Protocol> client(transport, endpoint);
    for (int i = 0; i < 10; ++i)
        (void)client.call<Ping>({ 0 }); // warm up: both sides' caches and TLBs
    for (int round = 0; round < rounds; ++round) {
        uint64_t start = bench::cycles();
        for (int i = 0; i < kCallsPerRound; ++i) {
            if (client.call<Ping>({ static_cast<uint64_t>(i) }).is_error())
                return -2;
        }
        g_samples[round] = (bench::cycles() - start) / kCallsPerRound;
    }
    return bench::median_and_minimum(g_samples, rounds);
}
