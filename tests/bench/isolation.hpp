// The benchmark image's fault-isolation mode (isolation.cpp).
#pragma once

namespace herald {

// With `bench_only=isolation isolation=<server>` on the command line: runs
// the fault-isolation case and ends QEMU (or the kernel panics: a server in
// ring 0). Otherwise returns at once.
void run_isolation_if_asked();

} // namespace herald
