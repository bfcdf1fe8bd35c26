// IpcMessage: one IPC message as the kernel carries it (abi/ipc.hpp): what
// a blocked sender holds, what the arch layer reads from and writes to the
// message registers (arch/x86_64/syscall_abi.hpp). Plain data, portable.
#pragma once

#include "types.hpp"

namespace herald {

struct IpcMessage {
    u64 info { 0 };  // abi::MessageInfo, encoded
    u64 words[8] {};
    u64 badge { 0 }; // of the handle it was sent through
};

} // namespace herald
