// Waiting for the kernel's views of user pages (mm/address_space.hpp,
// PageView; docs/memory.md, "Views"): a MemoryUnmap waits, before it hands a
// frame back, until no CPU's view slot holds that frame; a task's teardown,
// until none holds a page of its space. The slots are per CPU
// (Processor::page_views), written only by their CPU, under the lock of the
// space whose page they name.
#pragma once

#include "../lib/page_view_record.hpp"
#include "../lib/types.hpp"
#include "processor.hpp"

namespace herald {

// This CPU's slot `slot` (kViewSource, kViewDestination), for a PageView.
inline PageViewRecord& this_cpu_view_slot(usize slot) { return this_processor().page_views[slot]; }

// Returns once no other CPU reaches `frame` (4 KiB-aligned) through a view:
// call after its entry is gone and before the frame is handed back, holding
// no spin lock (the ring-0 memory service lets its own go first, so that
// page faults go on meanwhile: a view may last a console write). Answers TLB
// shootdowns while it waits. Not with `page_views=off` (below).
void wait_for_page_views_of(u64 frame);
// The same for every page of `space` (an AddressSpace being torn down,
// marked so: no new views).
void wait_for_page_views_of_space(const void* space);

// `page_views=off` on the kernel command line (kmain): MemoryUnmap no longer
// waits for views, as before they were made: only for the test image's
// check that its test of them fails so (qemu-selftest-ipc-copy-caught).
void page_views_ignored_by_unmap();

// How many of the waits above found another CPU's view of what they wait
// for, and spun (since boot, every CPU): what the IPC copy's self-test
// checks rises while it holds a copy open (tests/insystem/ipc_copy_tests.cpp),
// and stays flat with `page_views=off`. Not one of the ABI's event counters
// (abi/events.hpp): those are the benchmark lines' and the study's columns,
// and this one is for the test; a relaxed atomic, off the fast paths.
u64 page_view_waits();

} // namespace herald
