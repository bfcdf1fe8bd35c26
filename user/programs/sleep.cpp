// sleep: sleeps ARG milliseconds (default 1000), then exits 0. For scripted
// sessions and their tests: a program that keeps `run` waiting while input
// goes on arriving (tests/system/scripted-session.sh).
#include "user/runtime/syscall.hpp"

namespace {

constexpr uint64_t kDefaultMs = 1000;

} // namespace

extern "C" int64_t herald_main(uint64_t milliseconds)
{
    return herald::user::sleep_ms(milliseconds ? milliseconds : kDefaultMs) < 0 ? 1 : 0;
}
