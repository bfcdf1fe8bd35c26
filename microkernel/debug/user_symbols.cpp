#include "user_symbols.hpp"

#include "../arch/x86_64/user_copy.hpp"
#include "../boot/boot_archive.hpp"
#include "stack_walker.hpp"
#include "symbol_table.hpp"

namespace herald {

namespace {

// Enough callers to see which request handler a crash came through
// (handler, dispatch, serve, herald_main, _start).
constexpr usize kMaxUserFrames = 8;

// The user stack of the current task, read with the user-copy fixup: a
// frame pointer into an unmapped page gives nullopt, never a kernel fault.
class UserStackMemory final : public FrameMemory {
public:
    Optional<u64> read_u64(u64 address) const override
    {
        u64 value = 0;
        if (!is_aligned(address, sizeof(u64)) || !x86::copy_from_user(&value, address, sizeof(value)))
            return nullopt;
        return value;
    }
};

Optional<SymbolTable> symbols_of(StringView program)
{
    const Archive* archive = boot_archive();
    char name[Archive::kNameSize];
    BufferSink entry_name(name, sizeof(name));
    format(entry_name, "{}{}", program, kSymbolsSuffix);
    if (!archive || entry_name.truncated())
        return nullopt;
    auto entry = archive->find(entry_name.view());
    if (entry.is_error() || entry.value().kind != ArchiveKind::Symbols)
        return nullopt;
    auto table = SymbolTable::parse(entry.value().bytes);
    if (table.is_error())
        return nullopt;
    return table.release_value();
}

void print_address(FormatSink& sink, const Optional<SymbolTable>& table, u64 address)
{
    Optional<Symbolized> symbol = table ? table->lookup(address) : nullopt;
    if (symbol)
        format(sink, "{}+{:#x}", symbol->name, symbol->offset);
    else
        format(sink, "{:#x}", address);
}

} // namespace

void print_user_symbol(FormatSink& sink, StringView program, u64 rip)
{
    Optional<SymbolTable> table = symbols_of(program);
    Optional<Symbolized> symbol = table ? table->lookup(rip) : nullopt;
    if (symbol)
        format(sink, " ({}+{:#x})", symbol->name, symbol->offset);
}

usize print_user_backtrace(FormatSink& sink, StringView program, u64 frame_pointer)
{
    u64 return_addresses[kMaxUserFrames];
    usize count = walk_stack(frame_pointer, UserStackMemory(), return_addresses, kMaxUserFrames);
    Optional<SymbolTable> table = symbols_of(program);
    for (usize i = 0; i < count; ++i) {
        if (i > 0)
            sink.write(" <- ");
        // A return address points after its call: one byte back is inside
        // the calling function even when the call was its last instruction.
        print_address(sink, table, return_addresses[i] - 1);
    }
    return count;
}

} // namespace herald
