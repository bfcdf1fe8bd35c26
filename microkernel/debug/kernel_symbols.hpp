// The kernel's own symbol table (the .ksyms section filled at build time)
// and backtraces through it.
#pragma once

#include "../lib/format.hpp"
#include "../lib/types.hpp"

namespace herald {

// Writes "0x<address> name+0xoffset" (or just the address when unknown).
void print_symbolized(FormatSink& sink, u64 address);

// Prints up to `max_frames` return addresses found by following the frame
// pointer chain that starts at `frame_pointer`, one per line.
void print_backtrace(FormatSink& sink, u64 frame_pointer, u64 max_frames = 32);

// Number of symbols in the embedded table (0 when it is missing or corrupt).
usize kernel_symbol_count();

} // namespace herald
