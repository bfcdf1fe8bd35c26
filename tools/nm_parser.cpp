#include "nm_parser.hpp"

#include <algorithm>
#include <charconv>

namespace herald::tools {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view skip_blanks(std::string_view text)
{
    while (!text.empty() && is_blank(text.front()))
        text.remove_prefix(1);
    return text;
}

// Removes and returns the next blank-separated field of `text`.
std::string_view take_field(std::string_view& text)
{
    text = skip_blanks(text);
    std::size_t end = 0;
    while (end < text.size() && !is_blank(text[end]))
        ++end;
    std::string_view field = text.substr(0, end);
    text.remove_prefix(end);
    return field;
}

std::optional<std::uint64_t> parse_hex(std::string_view field)
{
    if (field.empty() || field.size() > 16)
        return std::nullopt;
    std::uint64_t value = 0;
    auto [end, status] = std::from_chars(field.data(), field.data() + field.size(), value, 16);
    if (status != std::errc() || end != field.data() + field.size())
        return std::nullopt;
    return value;
}

std::string_view strip_line_end(std::string_view line)
{
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
        line.remove_suffix(1);
    return line;
}

bool is_undefined_type(std::string_view field)
{
    return field == "U" || field == "w" || field == "v";
}

// Higher is better; see select_code_symbols().
int preference(const NmSymbol& symbol)
{
    int binding = 0;
    switch (symbol.type) {
    case 'T':
    case 'i':
        binding = 2;
        break;
    case 'W':
        binding = 1;
        break;
    default:
        break;
    }
    return (symbol.size != 0 ? 10 : 0) + binding;
}

} // namespace

bool parse_nm_line(std::string_view line, std::optional<NmSymbol>& symbol, std::string& error)
{
    symbol.reset();
    line = strip_line_end(line);
    if (skip_blanks(line).empty())
        return true;

    // Undefined symbols print blanks where the address would be.
    if (is_blank(line.front())) {
        std::string_view rest = line;
        std::string_view type = take_field(rest);
        if (is_undefined_type(type))
            return true;
        error = "missing address";
        return false;
    }

    std::string_view rest = line;
    auto address = parse_hex(take_field(rest));
    if (!address) {
        error = "bad address";
        return false;
    }

    // Either "SIZE TYPE NAME" or "TYPE NAME": a type is one character, a
    // size is a zero-padded hex number.
    std::uint64_t size = 0;
    std::string_view type = take_field(rest);
    if (type.size() > 1) {
        auto parsed_size = parse_hex(type);
        if (!parsed_size) {
            error = "bad size or type";
            return false;
        }
        size = *parsed_size;
        type = take_field(rest);
    }
    if (type.size() != 1) {
        error = "missing or bad type";
        return false;
    }

    // The name is everything after the type, spaces included.
    symbol = NmSymbol { *address, size, type.front(), std::string(skip_blanks(rest)) };
    return true;
}

bool parse_nm_output(std::string_view text, std::vector<NmSymbol>& symbols, std::string& error)
{
    std::size_t line_number = 0;
    while (!text.empty()) {
        std::size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++line_number;

        std::optional<NmSymbol> symbol;
        std::string line_error;
        if (!parse_nm_line(line, symbol, line_error)) {
            error = "line " + std::to_string(line_number) + ": " + line_error + ": \"" + std::string(line) + "\"";
            return false;
        }
        if (symbol)
            symbols.push_back(std::move(*symbol));
    }
    return true;
}

bool is_code_symbol(char type)
{
    return type == 'T' || type == 't' || type == 'W' || type == 'i';
}

std::vector<NmSymbol> select_code_symbols(std::vector<NmSymbol> symbols)
{
    std::erase_if(symbols, [](const NmSymbol& symbol) {
        return !is_code_symbol(symbol.type) || symbol.name.empty();
    });
    std::stable_sort(symbols.begin(), symbols.end(), [](const NmSymbol& a, const NmSymbol& b) {
        if (a.address != b.address)
            return a.address < b.address;
        return preference(a) > preference(b);
    });
    auto duplicate = std::unique(symbols.begin(), symbols.end(),
        [](const NmSymbol& a, const NmSymbol& b) { return a.address == b.address; });
    symbols.erase(duplicate, symbols.end());
    return symbols;
}

} // namespace herald::tools
