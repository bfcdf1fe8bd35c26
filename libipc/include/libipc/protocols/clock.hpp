// Clock: what time it is, from a real-time clock driver (servers/rtc, the
// driver of docs/drivers.md, "Writing a driver"). Find it in the registry as
// "rtc".
//
//   Now  {} -> year, month, day, hour, minute, second (as the clock keeps
//              them: QEMU's is UTC unless -rtc base=localtime), and how many
//              update-ended interrupts the driver has taken since it started
//              (one a second while its interrupt loop works)
//
// Errors: kInvalidTime when the chip holds no date it can believe (a
// register not coded as it says, a day its month does not have, the battery
// ran down); kBusy when its registers never held still long enough to read.
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"

namespace ipc::clock {

struct Now {
    static constexpr uint32_t label = 1;
    static constexpr bool idempotent = true;
    using Request = Empty;
    struct Reply {
        uint64_t year;   // e.g. 2026
        uint64_t month;  // 1-12
        uint64_t day;    // 1-31
        uint64_t hour;   // 0-23
        uint64_t minute; // 0-59
        uint64_t second; // 0-59
        uint64_t updates;
    };
};

using Protocol = ipc::Protocol<Now>;
static_assert(Protocol::is_valid);

inline constexpr Error kInvalidTime = protocol_error(0);
inline constexpr Error kBusy = protocol_error(1);

} // namespace ipc::clock
