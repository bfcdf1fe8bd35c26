// Copies between the kernel and user memory that the pager may not have
// mapped yet: a heap page nobody touched, a stack page below the four the
// thread started with. A copy that fails asks the pager for each missing
// page, exactly as the thread's own access would have, and tries once more;
// only then is the pointer bad (BadAddress).
#pragma once

#include "../lib/types.hpp"

namespace herald {

bool copy_from_user_paged(void* kernel_destination, u64 user_source, u64 length);
bool copy_to_user_paged(u64 user_destination, const void* kernel_source, u64 length);

// Makes every page of [address, address + length) present (and writable,
// if `write`) in the current task, asking the pager where needed.
bool ensure_user_pages(u64 address, u64 length, bool write);

} // namespace herald
