// mkarchive: builds Herald's boot archive (format in
// microkernel/boot/archive.hpp and docs/boot-archive.md).
//
//   mkarchive OUTPUT NAME=KIND:PATH...
//
// KIND is
//   program               PATH is an ELF64 executable
//   file                  PATH is data (a manifest, a text file, ...)
//   symbols               PATH is a symbol table made by mksymtab
//                         (microkernel/debug/symbol_table.hpp), named
//                         PROGRAM.sym after the program it describes
//   program-truncate<N>   for tests: a Program entry holding only the first N
//                         bytes of the ELF file PATH (which must be longer),
//                         a broken program the loader must refuse
//
// Entries keep the order of the arguments. The archive is written to a
// temporary file next to OUTPUT, read back, checked with Archive::parse()
// and entry() for every entry, and only then renamed to OUTPUT, so OUTPUT
// is either the old archive or a complete new one. Any error: a message on
// stderr and exit status 1.
#include "microkernel/boot/archive.hpp"
#include "microkernel/debug/symbol_table.hpp"
#include "tools/archive_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace herald {

// ErrorOr's headers assert on broken invariants; a host tool just aborts.
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line)
{
    std::fprintf(stderr, "mkarchive: HERALD_ASSERT(%s) failed at %s:%d\n", expression, file, line);
    std::abort();
}

} // namespace herald

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::string_view kTruncatePrefix = "program-truncate";
constexpr std::uint8_t kElfMagic[4] = { 0x7f, 'E', 'L', 'F' };

int fail(const std::string& message)
{
    std::fprintf(stderr, "mkarchive: %s\n", message.c_str());
    return 1;
}

std::optional<Bytes> read_file(const std::string& path, std::string& error)
{
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) {
        error = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    Bytes contents;
    std::uint8_t buffer[65536];
    std::size_t count;
    while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
        contents.insert(contents.end(), buffer, buffer + count);
    bool failed = std::ferror(file) != 0;
    int saved = errno;
    std::fclose(file);
    if (failed) {
        error = "cannot read " + path + ": " + std::strerror(saved);
        return std::nullopt;
    }
    return contents;
}

bool write_file(const std::string& path, const Bytes& bytes)
{
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file)
        return false;
    bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    written = written && std::fflush(file) == 0 && fsync(fileno(file)) == 0;
    bool closed = std::fclose(file) == 0;
    return written && closed;
}

struct Argument {
    std::string name;
    herald::ArchiveKind kind;
    std::optional<std::size_t> truncate; // program-truncate<N>
    std::string path;
};

// NAME=KIND:PATH. NAME cannot hold '=' and KIND cannot hold ':', so PATH may
// hold both.
std::optional<Argument> parse_argument(std::string_view text, std::string& error)
{
    std::size_t equals = text.find('=');
    std::size_t colon = equals == std::string_view::npos ? equals : text.find(':', equals + 1);
    if (colon == std::string_view::npos) {
        error = "\"" + std::string(text) + "\": expected NAME=KIND:PATH";
        return std::nullopt;
    }
    Argument argument;
    argument.name = text.substr(0, equals);
    std::string_view kind = text.substr(equals + 1, colon - equals - 1);
    argument.path = text.substr(colon + 1);
    if (argument.path.empty()) {
        error = "\"" + std::string(text) + "\": no PATH";
        return std::nullopt;
    }
    if (kind == "program") {
        argument.kind = herald::ArchiveKind::Program;
    } else if (kind == "file") {
        argument.kind = herald::ArchiveKind::File;
    } else if (kind == "symbols") {
        argument.kind = herald::ArchiveKind::Symbols;
    } else if (kind.substr(0, kTruncatePrefix.size()) == kTruncatePrefix) {
        std::string_view digits = kind.substr(kTruncatePrefix.size());
        std::size_t length = 0;
        bool valid = !digits.empty() && digits.size() <= 9;
        for (char c : digits) {
            valid = valid && c >= '0' && c <= '9';
            length = length * 10 + std::size_t(c - '0');
        }
        if (!valid) {
            error = "\"" + std::string(text) + "\": expected program-truncate<N> with N a number of bytes";
            return std::nullopt;
        }
        argument.kind = herald::ArchiveKind::Program;
        argument.truncate = length;
    } else {
        error = "\"" + std::string(text) + "\": unknown kind \"" + std::string(kind)
            + "\" (program, file, symbols or program-truncate<N>)";
        return std::nullopt;
    }
    return argument;
}

std::optional<Bytes> entry_data(const Argument& argument, std::string& error)
{
    auto data = read_file(argument.path, error);
    if (!data)
        return std::nullopt;
    if (argument.kind == herald::ArchiveKind::Program
        && (data->size() < sizeof(kElfMagic) || std::memcmp(data->data(), kElfMagic, sizeof(kElfMagic)) != 0)) {
        error = argument.name + ": " + argument.path + " is not an ELF file";
        return std::nullopt;
    }
    if (argument.kind == herald::ArchiveKind::Symbols) {
        std::string_view name = argument.name;
        std::string_view suffix = herald::kSymbolsSuffix;
        if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
            error = argument.name + ": a symbols entry is named PROGRAM" + std::string(suffix);
            return std::nullopt;
        }
        auto table = herald::SymbolTable::parse(herald::ByteReader(data->data(), data->size()));
        if (table.is_error()) {
            error = argument.name + ": " + argument.path + " is not a symbol table: " + herald::error_name(table.error());
            return std::nullopt;
        }
    }
    if (argument.truncate) {
        if (data->size() <= *argument.truncate) {
            error = argument.name + ": " + argument.path + " has " + std::to_string(data->size())
                + " bytes, nothing to truncate to " + std::to_string(*argument.truncate);
            return std::nullopt;
        }
        data->resize(*argument.truncate);
    }
    return data;
}

// Reads the archive the way the kernel will: a bad one fails the build, not
// the boot.
std::string check_archive(const Bytes& bytes, const herald::tools::ArchiveWriter& writer)
{
    using namespace herald;
    auto archive = Archive::parse(ByteReader(bytes.data(), bytes.size()));
    if (archive.is_error())
        return std::string("does not parse: ") + error_name(archive.error());
    if (archive.value().count() != writer.count())
        return "wrong entry count";
    for (usize i = 0; i < archive.value().count(); ++i) {
        auto entry = archive.value().entry(i);
        if (entry.is_error())
            return "entry " + std::to_string(i) + " does not read back: " + error_name(entry.error());
    }
    return {};
}

} // namespace

int main(int argc, char** argv)
{
    using namespace herald;
    if (argc < 3)
        return fail("usage: mkarchive OUTPUT NAME=KIND:PATH... (KIND: program, file, symbols, program-truncate<N>)");
    std::string output = argv[1];

    tools::ArchiveWriter writer;
    for (int i = 2; i < argc; ++i) {
        std::string error;
        auto argument = parse_argument(argv[i], error);
        if (!argument)
            return fail(error);
        auto data = entry_data(*argument, error);
        if (!data)
            return fail(error);
        error = writer.add(argument->name, argument->kind, std::move(*data));
        if (!error.empty())
            return fail(error);
    }
    Bytes bytes = writer.encode();

    std::string temporary = output + ".tmp." + std::to_string(getpid());
    if (!write_file(temporary, bytes)) {
        int saved = errno;
        std::remove(temporary.c_str());
        return fail("cannot write " + temporary + ": " + std::strerror(saved));
    }
    std::string error;
    auto written = read_file(temporary, error);
    if (written && *written != bytes)
        error = "reads back different bytes";
    if (written && error.empty())
        error = check_archive(*written, writer);
    if (!error.empty()) {
        std::remove(temporary.c_str());
        return fail("internal error: " + temporary + ": " + error);
    }
    if (std::rename(temporary.c_str(), output.c_str()) != 0) {
        int saved = errno;
        std::remove(temporary.c_str());
        return fail("cannot rename " + temporary + " to " + output + ": " + std::strerror(saved));
    }
    return 0;
}
