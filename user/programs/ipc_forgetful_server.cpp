// ipc_forgetful_server: receives calls on its endpoint (start parameter)
// and never replies, receiving again each time. Each new call takes the
// place of the unanswered one, whose caller must then get PeerGone instead
// of waiting forever (docs/ipc.md, "Failures").
#include <stdint.h>

#include "libipc/syscalls.hpp"

extern "C" int64_t herald_main(uint64_t endpoint)
{
    for (;;) {
        if (ipc::sys::receive(endpoint).is_error())
            return 1;
    }
}
