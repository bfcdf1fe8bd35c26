// Frame-pointer stack walking for backtraces in panic reports.
//
// With frame pointers (System V x86-64, -fno-omit-frame-pointer) every
// function's prologue pushes the caller's rbp and points rbp at it, so the
// frames form a linked list on the stack:
//
//   [rbp]     the caller's rbp (the next frame)
//   [rbp + 8] the return address into the caller
//
// The walker reads the stack only through FrameMemory, because during a panic
// the chain may be corrupt and a wild read would fault inside the panic
// handler. The same code then runs in host tests against a fake stack.
#pragma once

#include "microkernel/lib/optional.hpp"
#include "microkernel/lib/types.hpp"

namespace herald {

class FrameMemory {
public:
    // The 8 bytes at `address`, or nullopt when they may not be read.
    virtual Optional<u64> read_u64(u64 address) const = 0;

protected:
    // Not virtual and not public: nobody deletes through this interface, and
    // a virtual destructor would make the kernel link against operator delete.
    ~FrameMemory() = default;
};

// FrameMemory over one contiguous range [low, high) of directly readable
// memory, such as a kernel thread's stack. Only 8-byte aligned reads that lie
// entirely inside the range succeed.
class StackRangeMemory final : public FrameMemory {
public:
    StackRangeMemory(u64 low, u64 high) : m_low(low), m_high(high) { }

    Optional<u64> read_u64(u64 address) const override;

private:
    u64 m_low;
    u64 m_high;
};

// Follows the frame-pointer chain from `frame_pointer` and stores up to
// `max_frames` return addresses, innermost first. Returns how many it stored.
// Stops at a null or misaligned frame pointer, unreadable memory, a return
// address of 0, or a next frame pointer that is not above the current one
// (the stack grows down, so callers' frames are always higher; anything else
// is a loop or corruption).
usize walk_stack(u64 frame_pointer, const FrameMemory& memory, u64* return_addresses, usize max_frames);

} // namespace herald
