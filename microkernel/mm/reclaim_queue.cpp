#include "reclaim_queue.hpp"

#include "../abi/memory.hpp"
#include "../sync/spinlock.hpp"
#include "layout.hpp"

namespace herald {

namespace {

SpinLock g_lock;
u64 g_first_frame GUARDED_BY(g_lock); // physical address of the newest frame, 0 = none
usize g_frames GUARDED_BY(g_lock);
u64 g_ended[kEndedTaskCapacity] GUARDED_BY(g_lock);
usize g_ended_head GUARDED_BY(g_lock); // next to take
usize g_ended_count GUARDED_BY(g_lock);
u64 g_dropped GUARDED_BY(g_lock);

u64& next_link(u64 frame) { return *reinterpret_cast<u64*>(layout::physmap_address(frame)); }

} // namespace

void reclaim_frame(PhysicalAddress frame)
{
    SpinLockGuard guard(g_lock);
    next_link(frame.get()) = g_first_frame;
    g_first_frame = frame.get();
    ++g_frames;
}

void reclaim_task_ended(u64 task_id)
{
    SpinLockGuard guard(g_lock);
    if (g_ended_count == kEndedTaskCapacity) {
        g_ended_head = (g_ended_head + 1) % kEndedTaskCapacity;
        --g_ended_count;
        ++g_dropped;
    }
    g_ended[(g_ended_head + g_ended_count) % kEndedTaskCapacity] = task_id;
    ++g_ended_count;
}

// Frames first: a task's id must not reach the pager before its frames,
// or the pager would forget the task and then not know the frames' kind.
usize reclaim_take(u64* out, usize max)
{
    SpinLockGuard guard(g_lock);
    usize taken = 0;
    while (taken < max && g_first_frame) {
        out[taken++] = g_first_frame;
        g_first_frame = next_link(g_first_frame);
        --g_frames;
    }
    while (taken < max && g_ended_count && !g_first_frame) {
        out[taken++] = g_ended[g_ended_head] << 1 | abi::kReclaimTaskBit;
        g_ended_head = (g_ended_head + 1) % kEndedTaskCapacity;
        --g_ended_count;
    }
    return taken;
}

usize reclaim_pending_frames()
{
    SpinLockGuard guard(g_lock);
    return g_frames;
}

u64 reclaim_dropped_task_ids()
{
    SpinLockGuard guard(g_lock);
    return g_dropped;
}

} // namespace herald
