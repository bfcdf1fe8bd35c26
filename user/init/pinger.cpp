// pinger: init's heartbeat helper (user/init/pinger.hpp has the protocol
// and why it exists). Started by init through the loader, with the receive
// end of init's probe endpoint at abi::HandleFirstFree (SpawnWith); it
// answers on the notification init's first message carries.
#include <stdint.h>

#include "libipc/protocol.hpp"
#include "pinger.hpp"
#include "user/runtime/herald.hpp"

using namespace herald;

extern "C" int64_t herald_main(uint64_t)
{
    const ipc::Handle probes = abi::HandleFirstFree;
    ipc::SyscallTransport& transport = user::ipc();
    ipc::Handle answers = abi::HandleNone;
    for (;;) {
        auto message = transport.receive(probes);
        if (message.is_error())
            return 0; // init is gone: nobody to ask or to answer
        ipc::Handle target = ipc::received_handle(message.value());
        if (message.value().label == init::kPingerSetup && target != abi::HandleNone) {
            if (answers != abi::HandleNone)
                (void)transport.close(answers);
            answers = target;
            continue;
        }
        if (message.value().label != init::kPingerProbe || target == abi::HandleNone) {
            if (target != abi::HandleNone)
                (void)transport.close(target);
            continue;
        }
        bool answered = !ipc::ping(transport, target).is_error(); // may block until the server is killed
        (void)transport.close(target);
        if (answers != abi::HandleNone)
            (void)transport.signal(answers, answered ? init::kPingAnswered : init::kPingFailed);
    }
}
