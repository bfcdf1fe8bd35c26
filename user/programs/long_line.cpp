// long_line: a DebugWrite of the longest line allowed (4096 bytes, which the
// kernel log cuts to fit one LogRead), then a short one that must still come
// out after it; then a line without '\n' that the runtime prints when the
// program returns. (tests/insystem/system_tests.cpp checks the log.)
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {
char g_text[herald::abi::kMaxDebugWrite];
}

extern "C" int64_t herald_main(uint64_t)
{
    for (char& c : g_text)
        c = 'x';
    if (herald::user::debug_write(g_text, sizeof(g_text)) != static_cast<int64_t>(sizeof(g_text)))
        return 1;
    herald::user::debug_write("long_line: after the longest line");
    herald::user::printf("long_line: no newline at the end");
    return 0;
}
