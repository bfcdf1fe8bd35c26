// bench_ipc: clock ticks per IPC round trip (Call to an echo server and its
// reply) between two address spaces. Start parameter:
//   bits 0-7    the endpoint handle
//   bit 8       kPayload: each call carries 4 KiB to the server and back
//               (echo's Echo, from the IPC buffer as it is: only the
//               kernel copies), instead of one word (Ping)
//   bits 16-31  rounds of 100 calls to measure
// Exits with (median << 32) | minimum ticks per round trip
// (bench_common.hpp); -1 for bad parameters, -2 if a call fails.
#include "bench_common.hpp"
#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"

namespace {
constexpr int kCallsPerRound = 100;
constexpr int kMaxRounds = 1001;
constexpr uint64_t kPayload = 1u << 8;
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
uint64_t g_samples[kMaxRounds];

template<typename Call>
int64_t measure(int rounds, Call call)
{
    for (int i = 0; i < 10; ++i)
        (void)call(0); // warm up: both sides' caches and TLBs
    bench::window_begin();
    for (int round = 0; round < rounds; ++round) {
        uint64_t start = bench::cycles();
        for (int i = 0; i < kCallsPerRound; ++i) {
            if (!call(static_cast<uint64_t>(i)))
                return -2;
        }
        g_samples[round] = (bench::cycles() - start) / kCallsPerRound;
    }
    bench::window_end(static_cast<uint64_t>(rounds) * kCallsPerRound);
    return bench::median_and_minimum(g_samples, rounds);
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    using namespace ipc::echo;
    ipc::Handle endpoint = parameter & 0xFF;
    bool payload = parameter & kPayload;
    int rounds = static_cast<int>((parameter >> 16) & 0xFFFF);
    if (rounds < 1 || rounds > kMaxRounds)
        return -1;
    ipc::SyscallTransport transport(g_ipc_buffer);
    ipc::Client<Protocol> client(transport, endpoint);
    if (!payload)
        return measure(rounds, [&](uint64_t i) { return !client.call<Ping>({ i }).is_error(); });
    if (transport.register_buffer().is_error())
        return -1;
    for (size_t i = 0; i < ipc::kMaxPayload; ++i)
        g_ipc_buffer[i] = static_cast<uint8_t>(i * 7);
    // The request's bytes are the IPC buffer itself: nothing is copied in
    // ring 3, so the round trip is the kernel's two 4 KiB copies and the IPC.
    ipc::Bytes page { g_ipc_buffer, static_cast<uint32_t>(ipc::kMaxPayload) };
    return measure(rounds, [&](uint64_t) {
        auto echoed = client.call<Echo>(page);
        return !echoed.is_error() && echoed.value().length == ipc::kMaxPayload && echoed.value().data == g_ipc_buffer;
    });
}
