// A program whose only thread-local variables are 4-byte aligned and 12
// bytes long (tests/insystem/thread_tests.cpp): the linker then places them
// at align_up(12, 4) = 12 bytes below the thread pointer, not at a
// 16-aligned 16, so a runtime that rounds the block to its own alignment
// copies the template to the wrong place (every thread, the main one
// included, would read shifted bytes). threads.cpp's variables are 64-byte
// aligned and cannot see that.
//
// Exit 0 when the main thread and two threads each read the template's
// values and keep their own writes; else the number of the failed check.
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

// Below 16 bytes (the compiler aligns larger objects to 16), with external
// linkage (a local one may be split into separately aligned variables by the
// optimizer): the segment stays 4-aligned.
constexpr uint32_t kWords = 3;
struct Words {
    uint32_t word[kWords];
};
alignas(4) constinit thread_local Words t_small_words = { { 0x1111, 0x2222, 0x3333 } };

namespace {

int64_t check_words(uint64_t seed)
{
    uint32_t* t_words = t_small_words.word;
    for (uint32_t i = 0; i < kWords; ++i) {
        if (t_words[i] != 0x1111u * (i + 1))
            return 1;
    }
    for (uint32_t i = 0; i < kWords; ++i)
        t_words[i] = static_cast<uint32_t>(seed + i);
    herald::user::yield();
    for (uint32_t i = 0; i < kWords; ++i) {
        if (t_words[i] != static_cast<uint32_t>(seed + i))
            return 2;
    }
    return 0;
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    using namespace herald::user;
    ThreadControl* workers[2] = {};
    for (uint64_t i = 0; i < 2; ++i) {
        if (!(workers[i] = thread_create(check_words, 0x100 * (i + 1))))
            return 3;
    }
    int64_t result = check_words(0x900);
    for (ThreadControl* worker : workers) {
        int64_t value = -1;
        if (thread_join(worker, &value) != 0)
            return 4;
        if (value != 0 && result == 0)
            result = 10 + value;
    }
    return result;
}
