// The test image's after_boot(): runs every self-test case and reports.
#include "microkernel/arch/x86_64/qemu_exit.hpp"
#include "microkernel/boot/command_line.hpp"
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/panic.hpp"
#include "selftest.hpp"

extern "C" const herald::selftest::Case __selftests_start[];
extern "C" const herald::selftest::Case __selftests_end[];

namespace herald {

namespace selftest {

namespace {

usize g_failures_in_case;
const char* g_skipped_because;

// The test image ends QEMU on any failure, from the very start of boot: a
// boot that fails early must end the run as a failure, not as a timeout.
struct ExitQemuOnFailure {
    ExitQemuOnFailure() { set_panic_action(PanicAction::ExitQemu); }
} g_exit_qemu_on_failure;

// "fault_" cases crash on purpose; "alone_" cases break the system for the
// rest of the run (they end a server); "tool_" cases are utilities, not
// tests (tool_dump_firmware_tables). All run only when named.
bool runs_only_by_name(StringView name)
{
    return name.starts_with("fault_") || name.starts_with("alone_") || name.starts_with("tool_");
}

// test=NAME runs that case, test=A,B those two, test=all (or no test=)
// every case but the ones that run only by name.
bool selected(StringView name, const Optional<StringView>& only)
{
    if (!only || only->is_empty() || *only == "all")
        return !runs_only_by_name(name);
    for (StringView rest = *only; !rest.is_empty();) {
        usize comma = rest.find(',');
        if (rest.substring(0, comma) == name)
            return true;
        rest = rest.substring(comma + 1);
    }
    return false;
}

} // namespace

void record_failure(const char* file, int line, const char* expression)
{
    ++g_failures_in_case;
    klog("    FAILED at {}:{}: {}", file, line, expression);
}

void record_failure_values(const char* file, int line, const char* expression, u64 actual, u64 expected)
{
    ++g_failures_in_case;
    klog("    FAILED at {}:{}: {} (actual {:#x}, expected {:#x})", file, line, expression, actual, expected);
}

void skip(const char* why) { g_skipped_because = why; }

} // namespace selftest

void after_boot()
{
    using namespace selftest;
    Optional<StringView> only = command_line_value(boot_info().command_line_view(), "test");
    usize passed = 0;
    usize failed = 0;
    usize skipped = 0;
    for (const Case* test = __selftests_start; test != __selftests_end; ++test) {
        if (!selected(test->name, only))
            continue;
        g_failures_in_case = 0;
        g_skipped_because = nullptr;
        klog("selftest: {} ...", test->name);
        test->run();
        if (g_failures_in_case == 0 && g_skipped_because) {
            ++skipped;
            klog("selftest: {} skipped: {}", test->name, g_skipped_because);
        } else if (g_failures_in_case == 0) {
            ++passed;
            klog("selftest: {} ok", test->name);
        } else {
            ++failed;
            klog("selftest: {} FAILED", test->name);
        }
    }
    if (passed + failed + skipped == 0) {
        klog("selftest: no test matches \"{}\"", only ? *only : StringView());
        ++failed;
    }
    if (skipped)
        klog("selftest: {} passed, {} failed, {} skipped", passed, failed, skipped);
    else
        klog("selftest: {} passed, {} failed", passed, failed);
    kernel_log_flush(); // lines the console server has not printed yet
    x86::qemu_exit(failed == 0 ? x86::QemuExitCode::Success : x86::QemuExitCode::Failure);
}

} // namespace herald
