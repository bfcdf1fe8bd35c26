#include "kernel_symbols.hpp"

#include "../lib/bytes.hpp"
#include "../mm/kernel_stacks.hpp"
#include "../mm/layout.hpp"
#include "stack_walker.hpp"
#include "symbol_table.hpp"

extern "C" const herald::u8 __ksyms_start[];
extern "C" const herald::u8 __ksyms_end[];

namespace herald {

namespace {

// Only the kernel region and the mapped part of the kernel-stack region can
// hold a kernel stack; refusing anything else (guard pages included) keeps a
// corrupt frame pointer from faulting inside the panic report.
class KernelStackMemory final : public FrameMemory {
public:
    Optional<u64> read_u64(u64 address) const override
    {
        if (!is_aligned(address, 8))
            return nullopt;
        bool in_kernel_region = address >= layout::kLowMemoryEnd && address <= layout::kKernelRegionEnd - sizeof(u64);
        if (!in_kernel_region && !is_mapped_kernel_stack(address, sizeof(u64)))
            return nullopt;
        return *reinterpret_cast<const u64*>(address);
    }
};

Optional<SymbolTable> load_table()
{
    ByteReader blob(__ksyms_start, static_cast<usize>(__ksyms_end - __ksyms_start));
    auto table = SymbolTable::parse(blob);
    if (table.is_error())
        return nullopt;
    return table.release_value();
}

const Optional<SymbolTable>& table()
{
    // Parsed on first use: the panic path may run before anything else.
    static Optional<SymbolTable> cached = load_table();
    return cached;
}

} // namespace

void print_symbolized(FormatSink& sink, u64 address)
{
    format(sink, "{:#018x}", address);
    if (!table())
        return;
    if (auto symbol = table()->lookup(address))
        format(sink, " {}+{:#x}", symbol->name, symbol->offset);
}

void print_backtrace(FormatSink& sink, u64 frame_pointer, u64 max_frames)
{
    constexpr usize kMaxFrames = 64;
    u64 addresses[kMaxFrames];
    usize count = walk_stack(frame_pointer, KernelStackMemory(), addresses, min<u64>(max_frames, kMaxFrames));
    for (usize i = 0; i < count; ++i) {
        format(sink, "    #{:<2} ", i);
        // A return address points after the call; step back one byte so the
        // lookup lands in the calling function even for a tail-position call.
        print_symbolized(sink, addresses[i] - 1);
        sink.write("\n", 1);
    }
    if (count == 0)
        sink.write("    (no frames)\n", 16);
}

usize kernel_symbol_count() { return table() ? table()->count() : 0; }

} // namespace herald
