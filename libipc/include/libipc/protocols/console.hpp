// Console: the serial console, owned by the console server (docs/system.md, "The console").
// Find it in the registry as "console".
//
//   Write      bytes (payload)      -> bytes written. Each Write comes out in
//                                      one piece: a task that writes whole
//                                      lines never has another task's bytes
//                                      inside them (libherald's print()
//                                      buffers up to the newline so).
//   Read       max bytes            -> up to that many bytes of input
//                                      (payload), maybe none: it never waits
//   Subscribe  notification (handle) -> {}: the console signals bit 1 on it
//                                      whenever input arrives (then Read)
//   Echo       bytes (payload)      -> bytes written. Like Write, for the
//                                      line being typed (a prompt, the line
//                                      editor's echo): while it is open,
//                                      another task's output goes on a line
//                                      of its own and the typed line is
//                                      drawn again after it. One open line:
//                                      the last Echo's (the shell's).
//
// Input comes from COM1's interrupt, which the kernel delivers to the server
// as a notification; it keeps kInputBuffer bytes, and when nobody reads,
// later input waits in the UART and the host rather than being dropped.
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"

namespace ipc::console {

inline constexpr uint64_t kInputBit = 1;
inline constexpr size_t kInputBuffer = 1024;
inline constexpr size_t kMaxSubscribers = 8;

struct Write {
    static constexpr uint32_t label = 1;
    using Request = Bytes;
    struct Reply {
        uint64_t written;
    };
};

struct Read {
    static constexpr uint32_t label = 2;
    static constexpr bool idempotent = true; // what it asks of a console ends with it
    struct Request {
        uint64_t max;
    };
    using Reply = Bytes;
};

struct Subscribe {
    static constexpr uint32_t label = 3;
    static constexpr bool idempotent = true; // what it asks of a console ends with it
    using Request = WithHandle<>;
    using Reply = Empty;
};

struct Echo {
    static constexpr uint32_t label = 4;
    using Request = Bytes;
    using Reply = Write::Reply;
};

using Protocol = ipc::Protocol<Write, Read, Subscribe, Echo>;

inline constexpr Error kTooManySubscribers = protocol_error(0);

static_assert(Protocol::is_valid);

} // namespace ipc::console
