// Fuzzes the shell's command parser (user/shell/command.cpp).
//
// Input: one line (made NUL-terminated; a NUL inside ends it early, as it
// would the shell's C string). Checks the result against the line itself:
// the word is the line's first word, a program name is the second, at most
// kMaxProgramName characters, and every argument the parser accepted reads
// back as the same number.
#include "fuzz.hpp"
#include "user/shell/command.hpp"

#include <memory>
#include <string>

using namespace herald;
using shell::CommandKind;

namespace {

// The line's words, split as the shell's manual says (whitespace).
std::vector<std::string> words_of(const char* line)
{
    std::vector<std::string> words;
    std::string word;
    for (const char* c = line;; ++c) {
        if (*c == '\0' || user::is_space(*c)) {
            if (!word.empty())
                words.push_back(word);
            word.clear();
            if (*c == '\0')
                return words;
        } else {
            word += *c;
        }
    }
}

// Reads a number as the manual says: decimal, or 0x and hex digits; the
// reference for what the parser accepted.
bool number_of(const std::string& text, uint64_t& value)
{
    if (text.empty())
        return false;
    size_t end = 0;
    try {
        bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        if (!hex && text.find_first_not_of("0123456789") != std::string::npos)
            return false;
        if (hex && text.find_first_not_of("0123456789abcdefABCDEF", 2) != std::string::npos)
            return false;
        value = std::stoull(hex ? text.substr(2) : text, &end, hex ? 16 : 10);
    } catch (...) {
        return false; // out of range
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::unique_ptr<char[]> line(new char[size + 1]);
    std::memcpy(line.get(), data, size);
    line[size] = '\0';

    shell::Command command = shell::parse_command(line.get());
    std::vector<std::string> words = words_of(line.get());
    if (words.empty()) {
        FUZZ_CHECK(command.kind == CommandKind::None);
        return 0;
    }
    FUZZ_CHECK(command.word.text >= line.get() && command.word.text + command.word.length <= line.get() + size);
    FUZZ_CHECK(std::string(command.word.text, command.word.length) == words[0]);
    FUZZ_CHECK((command.kind == CommandKind::Invalid) == (command.problem != nullptr));

    uint64_t number = 0;
    switch (command.kind) {
    case CommandKind::Run:
    case CommandKind::Start:
        FUZZ_CHECK(words[0] == (command.kind == CommandKind::Run ? "run" : "start"));
        FUZZ_CHECK(words.size() >= 2 && words[1] == command.program);
        FUZZ_CHECK(words[1].size() <= shell::kMaxProgramName);
        if (words.size() >= 3)
            FUZZ_CHECK(number_of(words[2], number) && number == command.argument);
        else
            FUZZ_CHECK(command.argument == 0);
        break;
    case CommandKind::Kill:
        FUZZ_CHECK(words[0] == "kill" && words.size() >= 2);
        FUZZ_CHECK(number_of(words[1], number) && number == command.argument);
        break;
    case CommandKind::Invalid:
        if (words[0] == "kill") {
            FUZZ_CHECK(words.size() < 2 || !number_of(words[1], number));
        } else {
            FUZZ_CHECK(words[0] == "run" || words[0] == "start");
            FUZZ_CHECK(words.size() < 2 || words[1].size() > shell::kMaxProgramName
                || (words.size() >= 3 && !number_of(words[2], number)));
        }
        break;
    case CommandKind::Unknown:
        for (const char* known : { "help", "ps", "mem", "cpus", "run", "start", "kill", "bench", "shutdown" })
            FUZZ_CHECK(words[0] != known);
        break;
    case CommandKind::None:
        FUZZ_CHECK(false); // there was a word
        break;
    default:
        break; // a command without arguments: its word was checked above
    }
    return 0;
}
