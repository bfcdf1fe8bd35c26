// ipc_echo_client: calls an echo server (ipc_echo_server) through the
// endpoint whose handle it gets as its start parameter, checking every
// reply: Ping and Sum (message words), Reverse (payloads of 0 to 4096
// bytes) and one Sum that overflows, which must come back as the typed
// error InvalidRequest.
//
// Exits with the number of calls that failed or came back wrong: 0 means
// every one was right.
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/syscall_transport.hpp"
#include "user/runtime/syscall.hpp"

namespace {

constexpr uint64_t kRounds = 64;
// Ping, Sum and Reverse each round, plus the overflowing Sum.
constexpr int64_t kCalls = 3 * kRounds + 1;

alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
uint8_t g_text[ipc::kMaxPayload];

// A different, well-mixed value for every round (splitmix64's finaliser).
uint64_t mix(uint64_t x)
{
    x += 0x9E37'79B9'7F4A'7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBull;
    return x ^ (x >> 31);
}

// Decimal, for the summary line (there is no printf in ring 3).
void log_result(int64_t mismatches)
{
    char line[64] = "ipc_echo_client: mismatches ";
    size_t length = 0;
    while (line[length] != '\0')
        ++length;
    char digits[20];
    size_t count = 0;
    uint64_t value = static_cast<uint64_t>(mismatches);
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0)
        line[length++] = digits[--count];
    herald::user::debug_write(line, length);
}

} // namespace

extern "C" int64_t herald_main(uint64_t endpoint)
{
    using namespace ipc::echo;

    ipc::SyscallTransport transport(g_ipc_buffer);
    if (transport.register_buffer().is_error()) {
        herald::user::debug_write("ipc_echo_client: cannot register the IPC buffer");
        return kCalls;
    }
    ipc::Client<Protocol> client(transport, endpoint);

    int64_t mismatches = 0;
    for (uint64_t round = 0; round < kRounds; ++round) {
        uint64_t value = mix(round);
        auto ping = client.call<Ping>({ value });
        if (ping.is_error() || ping.value().value != value)
            ++mismatches;

        // Halved so that the sum cannot overflow.
        uint64_t a = mix(round + 1000) >> 1;
        uint64_t b = mix(round + 2000) >> 1;
        auto sum = client.call<Sum>({ a, b });
        if (sum.is_error() || sum.value().sum != a + b)
            ++mismatches;

        // Lengths from 0 up to the whole payload, in an order that is not
        // monotonic: round * 67 mod 4097 covers both ends over 64 rounds.
        uint32_t length = round == kRounds - 1 ? ipc::kMaxPayload : static_cast<uint32_t>(round * 67 % (ipc::kMaxPayload + 1));
        for (uint32_t i = 0; i < length; ++i)
            g_text[i] = static_cast<uint8_t>(mix(round * 4096 + i));
        auto reversed = client.call<Reverse>(ipc::Bytes { g_text, length });
        bool right = !reversed.is_error() && reversed.value().length == length;
        for (uint32_t i = 0; right && i < length; ++i)
            right = reversed.value().data[i] == g_text[length - 1 - i];
        if (!right)
            ++mismatches;
    }

    // A server-side error travels back as itself.
    auto overflow = client.call<Sum>({ ~0ull, 1 });
    if (!overflow.is_error() || overflow.error() != ipc::Error::InvalidRequest)
        ++mismatches;

    log_result(mismatches);
    return mismatches;
}
