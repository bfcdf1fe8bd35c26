// Copying between the kernel and user memory, safely (and storing one word).
//
// The user range is checked first ([kUserCodeBase, kUserSpaceEnd), no
// overflow). A page that is nevertheless missing or not writable faults
// inside user_copy_bytes (user_copy.asm); the page-fault handler sees that
// RIP and resumes at a fixup that makes the copy return false, so a bad
// pointer from ring 3 becomes an error code, never a kernel panic. With SMAP
// the kernel may only touch user pages between STAC and CLAC.
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

struct InterruptFrame;

bool is_user_range(u64 address, u64 length);
bool copy_from_user(void* kernel_destination, u64 user_source, u64 length);
bool copy_to_user(u64 user_destination, const void* kernel_source, u64 length);
// One aligned 8-byte store into user memory, atomic (a word another thread
// reads as it changes is the old value or the new one); false if the
// address is not aligned, not user memory, or faults.
bool store_to_user(u64 user_destination, u64 value);

// For the exception path: true (and RIP moved to the fixup) when `frame` is
// a fault inside a user copy.
bool recover_from_user_copy_fault(InterruptFrame& frame);

void user_copy_init(bool smap);

} // namespace herald::x86
