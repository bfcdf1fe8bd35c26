// Fuzzes the kernel command line lookup (microkernel/boot/command_line.cpp)
// against a reference written from its contract: the value of the first
// space-separated word that is "key=value" or just "key".
//
// Input: the key, a NUL byte, then the command line (bytes up to 256, as
// BootInfo keeps it). Without a NUL the key is "acpi", the one kmain asks for.
#include "fuzz.hpp"
#include "microkernel/boot/command_line.hpp"

#include <string>

using namespace herald;

namespace {

struct Reference {
    bool found = false;
    size_t value_at = 0;
    size_t value_length = 0;
};

Reference reference(const std::string& line, const std::string& key)
{
    size_t at = 0;
    while (at < line.size()) {
        size_t end = line.find(' ', at);
        if (end == std::string::npos)
            end = line.size();
        std::string word = line.substr(at, end - at);
        if (!word.empty()) {
            size_t equals = word.find('=');
            if (word.substr(0, equals) == key) {
                if (equals == std::string::npos)
                    return { true, end, 0 };
                return { true, at + equals + 1, word.size() - equals - 1 };
            }
        }
        at = end + 1;
    }
    return {};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const char* text = reinterpret_cast<const char*>(data);
    const void* nul = std::memchr(data, '\0', size);
    std::string key = nul ? std::string(text, static_cast<const char*>(nul) - text) : "acpi";
    size_t line_at = nul ? key.size() + 1 : 0;
    std::string line(text + line_at, size - line_at);

    auto value = command_line_value(StringView(line.data(), line.size()), StringView(key.data(), key.size()));
    Reference expected = reference(line, key);
    FUZZ_CHECK(value.has_value() == expected.found);
    if (value && expected.value_length > 0) {
        FUZZ_CHECK(value->chars() == line.data() + expected.value_at);
        FUZZ_CHECK(value->length() == expected.value_length);
    } else if (value) {
        FUZZ_CHECK(value->length() == 0);
    }
    return 0;
}
