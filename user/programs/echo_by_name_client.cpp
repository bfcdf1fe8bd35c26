// echo_by_name_client: finds the echo server by name ("echo", published by
// echo_named_server) through the registry (abi::HandleRegistry, or the
// handle its start parameter names if that is not 0), waiting a bounded
// while for it to register, then makes 32 checked echo calls (Ping, Sum,
// Reverse in turn).
//
// Exits with the number of calls that failed or came back wrong (0: all
// right), or 100 + |error| if the lookup failed.
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/syscall_transport.hpp"
#include "microkernel/abi/ipc.hpp"
#include "user/runtime/syscall.hpp"

namespace {

constexpr uint64_t kCalls = 32;
// How long to wait for the server to register before giving up: it may
// start after us, on a CPU a loaded host keeps from running for a while.
constexpr uint32_t kLookupPatienceMs = 10'000;

alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];
uint8_t g_text[256];

uint64_t mix(uint64_t x)
{
    x += 0x9E37'79B9'7F4A'7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBull;
    return x ^ (x >> 31);
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    using namespace ipc::echo;

    ipc::Handle registry = parameter ? parameter : herald::abi::HandleRegistry;
    ipc::SyscallTransport transport(g_ipc_buffer);
    if (transport.register_buffer().is_error()) {
        herald::user::debug_write("echo_by_name_client: cannot register the IPC buffer");
        return 100 - static_cast<int64_t>(ipc::Error::BadAddress);
    }

    auto echo = ipc::registry::lookup_waiting(transport, registry, "echo", kLookupPatienceMs);
    if (echo.is_error()) {
        herald::user::debug_write("echo_by_name_client: no \"echo\" in the registry:");
        herald::user::debug_write(ipc::error_name(echo.error()));
        return 100 - static_cast<int64_t>(echo.error());
    }
    ipc::Client<Protocol> client(transport, echo.value());

    int64_t failures = 0;
    for (uint64_t i = 0; i < kCalls; ++i) {
        uint64_t value = mix(i);
        switch (i % 3) {
        case 0: {
            auto ping = client.call<Ping>({ value });
            failures += ping.is_error() || ping.value().value != value;
            break;
        }
        case 1: {
            uint64_t a = value >> 1, b = mix(i + 100) >> 1; // halved: no overflow
            auto sum = client.call<Sum>({ a, b });
            failures += sum.is_error() || sum.value().sum != a + b;
            break;
        }
        default: {
            uint32_t length = static_cast<uint32_t>(value % (sizeof(g_text) + 1));
            for (uint32_t k = 0; k < length; ++k)
                g_text[k] = static_cast<uint8_t>(mix(i * 1000 + k));
            auto reversed = client.call<Reverse>(ipc::Bytes { g_text, length });
            bool right = !reversed.is_error() && reversed.value().length == length;
            for (uint32_t k = 0; right && k < length; ++k)
                right = reversed.value().data[k] == g_text[length - 1 - k];
            failures += !right;
        }
        }
    }
    herald::user::debug_write(failures == 0 ? "echo_by_name_client: all 32 calls right"
                                            : "echo_by_name_client: some calls failed");
    return failures;
}
