// User programs linked into the kernel image itself, until the boot archive
// carries them: herald_embed_user_programs() in cmake/HeraldUser.cmake
// generates an assembly file that includes each program's ELF file in
// .rodata and lists them in a table:
//
//   extern "C" const EmbeddedProgram herald_embedded_programs[];
//   extern "C" const u64 herald_embedded_program_count;
//
// Both are declared weak here, so an image that embeds nothing links too and
// sees no programs. The bytes are a linked ELF file; parse them with
// parse_elf() (boot/elf.hpp) like any other untrusted program.
#pragma once

#include "../lib/assert.hpp"
#include "../lib/optional.hpp"
#include "../lib/string_view.hpp"
#include "../lib/types.hpp"

namespace herald {

struct EmbeddedProgram {
    const char* name; // the program's target name, NUL-terminated: "hello"
    const u8* start;  // its ELF file, [start, end)
    const u8* end;

    usize size() const { return static_cast<usize>(end - start); }
};

} // namespace herald

extern "C" {
// The generated table's layout is three 8-byte words per entry.
static_assert(sizeof(herald::EmbeddedProgram) == 24);
[[gnu::weak]] extern const herald::EmbeddedProgram herald_embedded_programs[];
[[gnu::weak]] extern const herald::u64 herald_embedded_program_count;
}

namespace herald {

inline usize embedded_program_count()
{
    // An undefined weak symbol has address 0: no table in this image.
    if (&herald_embedded_program_count == nullptr)
        return 0;
    return herald_embedded_program_count;
}

inline const EmbeddedProgram& embedded_program(usize index)
{
    HERALD_ASSERT(index < embedded_program_count());
    return herald_embedded_programs[index];
}

inline Optional<EmbeddedProgram> find_embedded_program(StringView name)
{
    for (usize i = 0; i < embedded_program_count(); ++i) {
        if (StringView(herald_embedded_programs[i].name) == name)
            return herald_embedded_programs[i];
    }
    return nullopt;
}

} // namespace herald
