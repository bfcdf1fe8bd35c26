// The invariants of a PlatformTopology that either parser (MADT, MP table)
// filled in, whatever the input: shared by the madt and mp_table targets.
#pragma once

#include "fuzz.hpp"
#include "microkernel/acpi/platform_topology.hpp"

namespace herald::fuzz {

inline void check_topology(const PlatformTopology& topology)
{
    FUZZ_CHECK(topology.cpu_count <= kMaxCpus);
    FUZZ_CHECK(topology.io_apic_count <= PlatformTopology::kMaxIoApics);
    FUZZ_CHECK(topology.override_count <= PlatformTopology::kMaxOverrides);
    FUZZ_CHECK(topology.local_nmi_count <= PlatformTopology::kMaxLocalNmis);
    for (usize i = 0; i < topology.cpu_count; ++i) {
        const Cpu& cpu = topology.cpus[i];
        FUZZ_CHECK(cpu.enabled || cpu.online_capable); // unusable ones are not recorded
        FUZZ_CHECK(!(cpu.enabled && cpu.online_capable));
        for (usize j = 0; j < i; ++j)
            FUZZ_CHECK(topology.cpus[j].apic_id != cpu.apic_id); // an IPI names one CPU
    }
    for (usize i = 0; i < topology.io_apic_count; ++i) {
        for (usize j = 0; j < i; ++j)
            FUZZ_CHECK(topology.io_apics[j].id != topology.io_apics[i].id);
    }
    if (topology.cpus_truncated)
        FUZZ_CHECK(topology.cpu_count == kMaxCpus);
    if (topology.local_nmis_truncated)
        FUZZ_CHECK(topology.local_nmi_count == PlatformTopology::kMaxLocalNmis);
}

} // namespace herald::fuzz
