// tools/profile/exec_profile.*: reading QEMU's block log and attributing the
// instructions of a benchmark's window (docs/benchmarks.md, "Profiles").
#include "tools/profile/exec_profile.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

using namespace herald::tools::profile;

namespace {

// QEMU 7.2's -d in_asm,out_asm,exec,nochain, cut down: a block of two
// instructions (one long enough to go on in a second line) at the window's
// start, a kernel block, a user block, the window's end.
const char* kLog = R"(PROLOGUE: [size=45]
0x7f27c0000000:  55                       pushq    %rbp

----------------
IN: 
0x00120ec0:  55                       pushq    %rbp
0x00120ec1:  48 b8 01 02 03 04 05 06  movabsq  $0x807060504030201, %rax
0x00120ec9:  07 08

OUT: [size=72]
  -- guest addr 0x0000000000020ec0 + tb prologue
0x7f27c0000100:  8b 5d f0                 movl     -0x10(%rbp), %ebx

----------------
IN: 
0x00100010:  0f 05                    syscall  
0x00100012:  c3                       retq     

OUT: [size=40]
  -- guest addr 0x0000000000000010 + tb prologue
0x7f27c0000200:  8b 5d f0                 movl     -0x10(%rbp), %ebx

----------------
IN: 
0x08000000:  31 c0                    xorl     %eax, %eax
0x08000002:  c3                       retq     

OUT: [size=40]
  -- guest addr 0x0000000008000000 + tb prologue
0x7f27c0000300:  8b 5d f0                 movl     -0x10(%rbp), %ebx

----------------
IN: 
0x00120fb0:  c3                       retq     

OUT: [size=40]
  -- guest addr 0x0000000000020fb0 + tb prologue
0x7f27c0000400:  8b 5d f0                 movl     -0x10(%rbp), %ebx

Trace 0: 0x7f27c0000200 [00000000/0000000000100010/00000040/ff020200] 
Trace 0: 0x7f27c0000100 [00000000/0000000000120ec0/00000040/ff020200] 
Trace 0: 0x7f27c0000200 [00000000/0000000000100010/00000040/ff020200] 
Trace 1: 0x7f27c0000300 [00000000/0000000008000000/00000040/ff020200] 
Trace 0: 0x7f27c0000200 [00000000/0000000000100010/00000040/ff020200] 
Trace 0: 0x7f27c0000400 [00000000/0000000000120fb0/00000040/ff020200] 
Trace 0: 0x7f27c0000200 [00000000/0000000000100010/00000040/ff020200] 
)";

TraceReader read(const char* log)
{
    TraceReader reader(0x120ec0, 0x120fb0);
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line))
        reader.line(line);
    return reader;
}

} // namespace

TEST_CASE("exec profile: blocks run inside the window, with their instructions", "[exec_profile]")
{
    TraceReader reader = read(kLog);
    CHECK(reader.window_opened());
    CHECK(reader.window_closed());
    auto executed = reader.executed();
    REQUIRE(executed.size() == 3);
    std::uint64_t total = 0;
    for (const auto& [block, runs] : executed) {
        total += block.instructions * runs;
        if (block.pc == 0x120ec0) {
            CHECK(block.instructions == 2); // the second line of the long one is no instruction
            CHECK(block.bytes.size() == 11);
            CHECK(runs == 1);
        } else if (block.pc == 0x100010) {
            CHECK(block.instructions == 2);
            CHECK(runs == 2); // the runs before Begin and at End's side do not count
        } else {
            CHECK(block.pc == 0x08000000);
            CHECK(block.bytes == std::string("\x31\xc0\xc3", 3));
        }
    }
    CHECK(total == 2 + 2 * 2 + 2);
    // CPU 1 ran the user block, CPU 0 the rest.
    auto per_cpu = reader.per_cpu_instructions();
    REQUIRE(per_cpu.size() == 2);
    CHECK(per_cpu.at(0) == 2 + 2 * 2);
    CHECK(per_cpu.at(1) == 2);
}

TEST_CASE("exec profile: no Begin, no window", "[exec_profile]")
{
    TraceReader reader(0xdead, 0xbeef);
    std::istringstream in(kLog);
    std::string line;
    while (std::getline(in, line))
        reader.line(line);
    CHECK_FALSE(reader.window_opened());
    CHECK(reader.executed().empty());
}

TEST_CASE("exec profile: kernel code by symbol, user code by the program that holds its bytes", "[exec_profile]")
{
    Symbols kernel({ { 0x100000, "entry" }, { 0x100010, "herald::syscall_path()" }, { 0x120ec0, "herald::bench::Probe::begin(herald::Thread&)" } });
    CHECK(kernel.at(0x100011) == "herald::syscall_path()");
    CHECK(kernel.at(0x0ffff) == "?");
    CHECK(kernel.address_of("herald::bench::Probe::begin(") == 0x120ec0);
    CHECK(kernel.address_of("nothing") == 0);

    std::vector<Program> programs;
    programs.push_back(Program { "client", { { 0x08000000, std::string("\x31\xc0\xc3\x90", 4) } }, Symbols({ { 0x08000000, "client_main" } }) });
    programs.push_back(Program { "server", { { 0x08000000, std::string("\x31\xc0\xc3", 3) }, { 0x08001000, std::string("\xcc", 1) } },
        Symbols({ { 0x08000000, "server_main" }, { 0x08001000, "server_trap" } }) });
    programs.push_back(Program { "other", { { 0x08000000, std::string("\x90\x90", 2) } }, Symbols({ { 0x08000000, "other_main" } }) });

    Block shared { 0x08000000, 2, std::string("\x31\xc0\xc3", 3) };
    CHECK(programs_with(shared, programs).size() == 2);
    Block server_only { 0x08001000, 1, std::string("\xcc", 1) };
    REQUIRE(programs_with(server_only, programs).size() == 1);
    CHECK(programs_with(server_only, programs)[0]->name == "server");
    Block past_the_end { 0x08001000, 2, std::string("\xcc\xcc", 2) };
    CHECK(programs_with(past_the_end, programs).empty());

    Block syscall { 0x100010, 2, "\x0f\x05" };
    // The shared block goes to the program seen running code of its own.
    auto rows = attribute({ { shared, 10 }, { server_only, 1 }, { syscall, 3 } }, kernel, programs, 0x08000000, 0x40'0000'0000);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].where == "server");
    CHECK(rows[0].function == "server_main");
    CHECK(rows[0].instructions == 20);
    CHECK(rows[1].where == "kernel");
    CHECK(rows[1].function == "herald::syscall_path()");
    CHECK(rows[1].instructions == 6);
    CHECK(rows[2].instructions == 1);
    // Without that hint it stays shared, and says between whom.
    rows = attribute({ { shared, 10 } }, kernel, programs, 0x08000000, 0x40'0000'0000);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].where == "shared: client server");
}
