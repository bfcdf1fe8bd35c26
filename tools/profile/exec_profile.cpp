// exec_profile (exec_profile.hpp): reading QEMU's log, attributing blocks.
#include "exec_profile.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace herald::tools::profile {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// "0x<hex>" at the start of `text` (after `skip` characters); false if none.
bool hex_at(std::string_view text, std::uint64_t& value, std::size_t& end)
{
    if (!starts_with(text, "0x"))
        return false;
    auto [next, error] = std::from_chars(text.data() + 2, text.data() + text.size(), value, 16);
    if (error != std::errc() || next == text.data() + 2)
        return false;
    end = static_cast<std::size_t>(next - text.data());
    return true;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

// "0x<address>:  48 89 e5                 movq %rsp, %rbp": the address,
// the bytes (two hex digits each, one space apart) and whether a mnemonic
// follows (after two spaces or more). A long instruction's bytes go on in
// a line of their own, without a mnemonic.
bool guest_line(std::string_view text, std::uint64_t& address, std::string& bytes, bool& mnemonic)
{
    std::size_t end;
    if (!hex_at(text, address, end) || end >= text.size() || text[end] != ':')
        return false;
    std::size_t i = end + 1;
    while (i < text.size() && text[i] == ' ')
        ++i;
    bytes.clear();
    while (i + 1 < text.size() && hex_digit(text[i]) >= 0 && hex_digit(text[i + 1]) >= 0
        && (i + 2 == text.size() || text[i + 2] == ' ')) {
        bytes.push_back(static_cast<char>(hex_digit(text[i]) * 16 + hex_digit(text[i + 1])));
        i += 2;
        if (i + 1 < text.size() && text[i] == ' ' && text[i + 1] != ' ')
            ++i; // the next byte
        else
            break;
    }
    while (i < text.size() && text[i] == ' ')
        ++i;
    mnemonic = i < text.size();
    return !bytes.empty();
}

} // namespace

void TraceReader::line(std::string_view text)
{
    if (m_state == Window::Closed)
        return;
    if (starts_with(text, "Trace ")) {
        // "Trace <cpu>: 0x<host pointer> [<cs base>/<pc>/<flags>/<cflags>] ..."
        std::size_t colon = text.find(": ");
        std::uint64_t pointer;
        std::size_t end;
        if (colon == std::string_view::npos || !hex_at(text.substr(colon + 2), pointer, end))
            return;
        auto block = m_blocks.find(pointer);
        if (block == m_blocks.end())
            return;
        std::uint64_t pc = block->second.pc;
        if (m_state == Window::Before && pc == m_begin)
            m_state = Window::Open;
        else if (m_state == Window::Open && pc == m_end)
            m_state = Window::Closed;
        if (m_state == Window::Open) {
            ++m_runs[pointer];
            unsigned cpu = 0;
            std::from_chars(text.data() + 6, text.data() + colon, cpu);
            m_cpu_instructions[cpu] += block->second.instructions;
        }
        return;
    }
    if (starts_with(text, "IN:")) {
        m_reading = Reading::GuestCode;
        m_block = Block {};
        return;
    }
    if (starts_with(text, "OUT:")) {
        m_reading = m_reading == Reading::GuestCode ? Reading::HostCode : Reading::Nothing;
        return;
    }
    if (m_reading == Reading::GuestCode) {
        std::uint64_t address;
        std::string bytes;
        bool mnemonic;
        if (guest_line(text, address, bytes, mnemonic)) {
            if (m_block.bytes.empty())
                m_block.pc = address;
            m_block.instructions += mnemonic ? 1 : 0;
            m_block.bytes += bytes;
        }
        return;
    }
    if (m_reading == Reading::HostCode) {
        std::uint64_t pointer;
        std::size_t end;
        if (hex_at(text, pointer, end)) {
            // The first host instruction: the block's host pointer (a block
            // made again at a pointer that was freed replaces the old one).
            if (m_block.instructions > 0) {
                m_blocks[pointer] = m_block;
                m_runs.erase(pointer);
            }
            m_reading = Reading::Nothing;
        }
    }
}

std::vector<std::pair<Block, std::uint64_t>> TraceReader::executed() const
{
    std::vector<std::pair<Block, std::uint64_t>> result;
    for (const auto& [pointer, runs] : m_runs)
        result.emplace_back(m_blocks.at(pointer), runs);
    return result;
}

Symbols::Symbols(std::vector<Symbol> symbols) : m_symbols(std::move(symbols))
{
    std::stable_sort(m_symbols.begin(), m_symbols.end(), [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
}

std::string_view Symbols::at(std::uint64_t address) const
{
    auto after = std::upper_bound(m_symbols.begin(), m_symbols.end(), address,
        [](std::uint64_t value, const Symbol& symbol) { return value < symbol.address; });
    if (after == m_symbols.begin())
        return "?";
    return std::prev(after)->name;
}

std::uint64_t Symbols::address_of(std::string_view prefix) const
{
    for (const Symbol& symbol : m_symbols) {
        if (starts_with(symbol.name, prefix))
            return symbol.address;
    }
    return 0;
}

std::vector<const Program*> programs_with(const Block& block, const std::vector<Program>& programs)
{
    std::vector<const Program*> found;
    for (const Program& program : programs) {
        for (const Segment& segment : program.segments) {
            if (block.pc < segment.address || block.pc - segment.address > segment.bytes.size()
                || block.bytes.size() > segment.bytes.size() - (block.pc - segment.address))
                continue;
            if (std::string_view(segment.bytes).substr(block.pc - segment.address, block.bytes.size()) == block.bytes) {
                found.push_back(&program);
                break;
            }
        }
    }
    return found;
}

std::vector<Row> attribute(const std::vector<std::pair<Block, std::uint64_t>>& executed, const Symbols& kernel,
    const std::vector<Program>& programs, std::uint64_t user_base, std::uint64_t user_end)
{
    auto is_user = [&](const Block& block) { return block.pc >= user_base && block.pc < user_end; };
    // Programs that surely ran: a block of their own, of no other program.
    std::set<const Program*> ran;
    for (const auto& [block, runs] : executed) {
        if (!is_user(block))
            continue;
        auto owners = programs_with(block, programs);
        if (owners.size() == 1)
            ran.insert(owners[0]);
    }
    std::map<std::pair<std::string, std::string>, std::uint64_t> totals;
    for (const auto& [block, runs] : executed) {
        std::uint64_t instructions = runs * block.instructions;
        if (!is_user(block)) {
            totals[{ "kernel", std::string(kernel.at(block.pc)) }] += instructions;
            continue;
        }
        auto owners = programs_with(block, programs);
        if (owners.size() > 1) {
            std::vector<const Program*> likely;
            for (const Program* owner : owners) {
                if (ran.count(owner))
                    likely.push_back(owner);
            }
            if (!likely.empty())
                owners = likely;
        }
        if (owners.empty()) {
            totals[{ "unknown user code", "?" }] += instructions;
        } else if (owners.size() == 1) {
            totals[{ owners[0]->name, std::string(owners[0]->symbols.at(block.pc)) }] += instructions;
        } else {
            std::string names = "shared:";
            for (const Program* owner : owners)
                names += " " + owner->name;
            totals[{ names, std::string(owners[0]->symbols.at(block.pc)) }] += instructions;
        }
    }
    std::vector<Row> rows;
    for (const auto& [key, instructions] : totals)
        rows.push_back(Row { key.first, key.second, instructions });
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.instructions > b.instructions; });
    return rows;
}

} // namespace herald::tools::profile
