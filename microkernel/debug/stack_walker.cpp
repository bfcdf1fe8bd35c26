#include "stack_walker.hpp"

namespace herald {

Optional<u64> StackRangeMemory::read_u64(u64 address) const
{
    if (!is_aligned(address, sizeof(u64)))
        return nullopt;
    if (address < m_low || m_high < sizeof(u64) || address > m_high - sizeof(u64))
        return nullopt;
    u64 value;
    __builtin_memcpy(&value, reinterpret_cast<const void*>(address), sizeof(value));
    return value;
}

namespace {

bool is_plausible_frame_pointer(u64 frame_pointer)
{
    // The aligned address just below 2^64 would wrap when reading [rbp + 8].
    return frame_pointer != 0 && is_aligned(frame_pointer, sizeof(u64))
        && frame_pointer <= ~u64(0) - 2 * sizeof(u64) + 1;
}

} // namespace

usize walk_stack(u64 frame_pointer, const FrameMemory& memory, u64* return_addresses, usize max_frames)
{
    usize frames = 0;
    while (frames < max_frames && is_plausible_frame_pointer(frame_pointer)) {
        auto return_address = memory.read_u64(frame_pointer + 8);
        if (!return_address || *return_address == 0)
            break;
        // Record this frame even if its saved rbp turns out to be bad: the
        // return address is still right, and the outermost frame usually
        // holds a saved rbp of 0.
        return_addresses[frames++] = *return_address;

        auto next = memory.read_u64(frame_pointer);
        if (!next || *next <= frame_pointer)
            break;
        frame_pointer = *next;
    }
    return frames;
}

} // namespace herald
