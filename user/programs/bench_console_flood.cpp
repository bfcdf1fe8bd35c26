// bench_console_flood: prints `lines` (the parameter) lines through the
// runtime's println, the way every program prints (one console Write per
// line), as one of several copies printing at once. The runner reads the
// window (bench_common.hpp) and reports lines per second. Exits 0.
#include "bench_common.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

extern "C" int64_t herald_main(uint64_t lines)
{
    herald::user::SelfInfo self {};
    (void)herald::user::self_info(&self);
    herald::user::println("console_flood: task {} starts", self.task_id); // finds the console
    bench::window_begin();
    for (uint64_t line = 0; line < lines; ++line)
        herald::user::println("console_flood: task {} line {:04} of {} abcdefghijklmnopqrstuvwxyz", self.task_id, line, lines);
    bench::window_end(lines);
    return 0;
}
