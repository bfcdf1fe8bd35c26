// The reclaim queue: how frames of dead tasks go back to the pager.
//
// A task's address space is torn down by the kernel, on whichever CPU the
// task ended, at a moment when the memory server cannot be asked anything
// (the kernel never waits for a server). So each frame the pager had mapped
// is pushed here, and then the task's id, and the pager takes them out when
// it next looks (abi::MemoryReclaim). No memory is needed to queue a frame:
// the queue is a list threaded through the freed frames themselves, through
// the physmap. Task ids go into a fixed ring; if the pager falls behind by
// more than kEndedTaskCapacity tasks, the oldest ids are dropped (counted)
// and the pager keeps a stale record, never a wrong mapping.
#pragma once

#include "../lib/address.hpp"
#include "../lib/types.hpp"

namespace herald {

inline constexpr usize kEndedTaskCapacity = 4096;

void reclaim_frame(PhysicalAddress frame);
void reclaim_task_ended(u64 task_id);

// Takes up to `max` entries, frames first (abi::kReclaimTaskBit marks task ids).
usize reclaim_take(u64* out, usize max);

usize reclaim_pending_frames();
u64 reclaim_dropped_task_ids();

} // namespace herald
