// bench_console_line: clock ticks to write one 80-character line (79
// characters and '\n') through the console protocol: a Write from the IPC
// buffer to the console, which puts it out on COM1 and answers. 11 rounds
// of 10 lines; exits with (median << 32) | minimum ticks per line, -1 if
// there is no console, -2 if a Write fails.
#include "bench_common.hpp"
#include "libipc/protocols/console.hpp"
#include "libipc/syscall_transport.hpp"
#include "user/runtime/herald.hpp"

namespace {
constexpr int kRounds = 11;
constexpr int kLinesPerRound = 10;
constexpr uint32_t kLineLength = 80;
alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
uint64_t g_samples[kRounds];
} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    ipc::Handle console = herald::user::find_server("console");
    if (console == herald::abi::HandleNone)
        return -1;
    // Our own IPC buffer from here on (the runtime's was needed for the
    // lookup): the line is written there once, so the client copies nothing.
    ipc::SyscallTransport transport(g_ipc_buffer);
    if (transport.register_buffer().is_error())
        return -1;
    const char prefix[] = "console_line: ";
    for (uint32_t i = 0; i < kLineLength - 1; ++i)
        g_ipc_buffer[i] = i < sizeof(prefix) - 1 ? static_cast<uint8_t>(prefix[i]) : static_cast<uint8_t>('a' + i % 26);
    g_ipc_buffer[kLineLength - 1] = '\n';
    ipc::Client<ipc::console::Protocol> client(transport, console);
    ipc::Bytes line { g_ipc_buffer, kLineLength };
    bench::window_begin();
    for (int round = 0; round < kRounds; ++round) {
        uint64_t start = bench::cycles();
        for (int i = 0; i < kLinesPerRound; ++i) {
            if (client.call<ipc::console::Write>(line).is_error())
                return -2;
        }
        g_samples[round] = (bench::cycles() - start) / kLinesPerRound;
    }
    bench::window_end(kRounds * kLinesPerRound);
    return bench::median_and_minimum(g_samples, kRounds);
}
