// Names for addresses in ring-3 programs, for the one-line report of a
// program the kernel kills for a fault (task/user_faults.cpp).
//
// The build lists each program's functions the way it lists the kernel's
// (llvm-nm | mksymtab) and the boot archive carries the table as the entry
// PROGRAM.sym (boot/archive.hpp, ArchiveKind::Symbols). A task's name is the
// archive name of its program (the loader and the bootstrap name tasks so),
// which is how the table is found. Without one (a program from elsewhere,
// a corrupt entry), addresses stay bare numbers.
#pragma once

#include "../lib/format.hpp"
#include "../lib/types.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}

// Writes " (function+0xoffset)" for the ring-3 address `rip` of `program`,
// or nothing when it has no symbol there.
void print_user_symbol(FormatSink& sink, StringView program, u64 rip);

// Writes "function+0xoffset <- caller+0x... <- ..." for the return
// addresses on the current task's user stack, found by following its frame
// pointers from `frame_pointer` (programs are compiled with them). Reads
// the stack through the fault-safe user copy, never the pager: an unmapped
// or garbled frame ends the walk. Returns the number of frames written.
usize print_user_backtrace(FormatSink& sink, StringView program, u64 frame_pointer);

} // namespace herald
