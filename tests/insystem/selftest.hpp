// In-system self-tests: test cases that run inside the booted test image
// (herald-test.elf) against the real kernel on real (emulated) hardware.
//
//   HERALD_SELFTEST(paging_maps_kernel_text_read_only) {
//       EXPECT(translation.has_value());
//       EXPECT_EQ(translation->page_size, 4096u);
//   }
//
// Each case is placed in the .herald_selftests section, so defining it is
// enough to run it. The runner prints one line per case and ends with
// "N passed, N failed", then ends QEMU through isa-debug-exit (docs/testing.md).
// Cases whose name starts with "fault_" deliberately crash the kernel,
// "alone_" cases break the system for the rest of the run (they end a
// server), and "tool_" cases are utilities (for example dumping firmware
// tables for host test fixtures); all run only when named on the command
// line (test=NAME).
#pragma once

#include "microkernel/lib/format.hpp"
#include "microkernel/lib/types.hpp"
#include "microkernel/sched/scheduler.hpp"

namespace herald::selftest {

struct Case {
    const char* name;
    void (*run)();
};

// Records a failed expectation (and keeps going, like Catch2's CHECK).
void record_failure(const char* file, int line, const char* expression);
void record_failure_values(const char* file, int line, const char* expression, u64 actual, u64 expected);

// The case means nothing in this image (a check of a ring-3 server that
// this placement builds into the kernel): the runner prints
// "selftest: <case> skipped: <why>" and counts it apart; the case returns
// right after. Never silently: each image's expected skips are listed in
// tests/qemu/CMakeLists.txt, and any other one fails the run.
void skip(const char* why);

// Looks at `condition` once a tick until it holds or `timeout_ms` has
// passed; whether it held at the last look. For what other CPUs must do
// first (reap a thread, settle, block, print): a fixed sleep is a guess that
// an emulated CPU descheduled by a loaded host can outlast.
template<typename Condition>
bool eventually(Condition condition, u64 timeout_ms)
{
    for (u64 waited = 0; waited < timeout_ms; waited += kTickMs) {
        if (condition())
            return true;
        scheduler_sleep_ms(kTickMs);
    }
    return condition();
}

} // namespace herald::selftest

#define HERALD_SELFTEST(name)                                                                    \
    static void selftest_##name();                                                               \
    [[gnu::used, gnu::section(".herald_selftests")]] static const ::herald::selftest::Case       \
        selftest_case_##name { #name, selftest_##name };                                         \
    static void selftest_##name()

#define EXPECT(expr)                                                          \
    do {                                                                      \
        if (!(expr))                                                          \
            ::herald::selftest::record_failure(__FILE__, __LINE__, #expr);    \
    } while (0)

#define EXPECT_EQ(actual, expected)                                                             \
    do {                                                                                        \
        auto _actual = (actual);                                                                \
        auto _expected = (expected);                                                            \
        if (!(_actual == _expected))                                                            \
            ::herald::selftest::record_failure_values(__FILE__, __LINE__, #actual " == " #expected, \
                static_cast<::herald::u64>(_actual), static_cast<::herald::u64>(_expected));    \
    } while (0)
