// The boot archive the loader handed over (boot/archive.hpp for the format):
// where the kernel finds the programs it starts itself (the memory server,
// the registry, the console, the loader, init) and, for the loader server,
// the memory to map read-only into its address space.
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "../lib/string_view.hpp"
#include "../mm/memory_inventory.hpp"
#include "archive.hpp"

namespace herald {

// Finds and checks the archive among the boot modules (the one whose name
// ends in ".archive", else the first), once the physmap exists. Logs
// `herald: archive "<name>": <N> entries` or why there is none.
void boot_archive_init();

// Null when there is no usable archive.
const Archive* boot_archive();

// The program `name`'s ELF bytes. NotFound; Unsupported for a data file;
// or the entry's own error (a corrupt entry).
ErrorOr<ByteReader> find_boot_program(StringView name);

// The archive's pages (page-aligned outward), for the loader's view.
Optional<PhysicalRange> boot_archive_pages();

} // namespace herald
