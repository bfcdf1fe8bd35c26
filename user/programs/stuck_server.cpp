// stuck_server: a server whose loop stops answering (the supervisor's
// heartbeat self-test, tests/insystem/supervisor_tests.cpp). It publishes
// "stuck_server" (the self-test's manifest names it, so only it may),
// answers its first kAnswered messages (echo, and the heartbeat's Ping,
// which ipc::dispatch answers), then takes the next call and never
// answers it: the supervisor's ping goes unanswered, and the supervisor
// must end it and start a new one.
#include <stdint.h>

#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/registry.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {
ipc::echo::Service g_service;
constexpr int kAnswered = 2;
constexpr uint64_t kNapMs = 1000;
} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    using namespace herald;
    ipc::SyscallTransport& transport = user::ipc();
    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error())
        return 1;
    auto send_only = ipc::sys::handle_mint(endpoint.value(), abi::RightSend, 0);
    if (send_only.is_error() || ipc::registry::publish(transport, abi::HandleRegistry, "stuck_server", send_only.value()).is_error())
        return 2;
    (void)ipc::sys::handle_close(send_only.value());
    auto in = transport.receive(endpoint.value());
    for (int answered = 0;; ++answered) {
        if (in.is_error())
            return 3;
        if (answered == kAnswered) {
            for (;;)
                (void)user::sleep_ms(kNapMs); // holds the call: stuck
        }
        ipc::Message reply;
        ipc::dispatch<ipc::echo::Protocol>(transport, in.value(), g_service, reply);
        in = transport.reply_receive(endpoint.value(), reply);
    }
}
