// chatter: prints kLines lines of a fixed shape through the console server,
//   chatter NNN line K <48 letters> end
// so that a test can see whether any line of one task got mixed with another
// task's (each line must come out whole). The argument is its number.
#include <stdint.h>

#include "user/runtime/herald.hpp"

namespace {
constexpr int kLines = 3;
constexpr int kLetters = 48;
}

extern "C" int64_t herald_main(uint64_t number)
{
    for (int line = 0; line < kLines; ++line) {
        char letters[kLetters + 1];
        for (int i = 0; i < kLetters; ++i)
            letters[i] = static_cast<char>('a' + (number * 7 + line * 3 + i) % 26);
        letters[kLetters] = '\0';
        herald::user::println("chatter {:03} line {} {} end", number % 1000, line, static_cast<const char*>(letters));
    }
    return 0;
}
