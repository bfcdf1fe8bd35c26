// workloads.c: Herald's benchmark workloads on Linux, the monolithic reference
// (docs/study.md, "Linux in the same emulator"). Built static and booted as
// /init of an initramfs by linux-reference.sh; prints the study's contract
// lines on the serial console (docs/study.md; the contract is issue 11's):
//
//   bench: begin placement=linux mode=<mode> cpus=<N>
//   bench: <figure> median=<N> min=<N> unit=<unit>
//   bench: <figure> skipped: <why>  |  bench: <figure> failed: <why>
//   bench: done
//
// then ends QEMU through isa-debug-exit (port 0xf4: 0x10 -> QEMU exits 33).
// Each figure mirrors one of Herald's benchmark programs (user/programs/
// bench_*.cpp, tests/bench/bench_runner.cpp): the same rounds, batch sizes,
// rdtsc reads and median/minimum. Where Linux must do it differently (pipes
// for IPC, fork+exec for spawn) the comment of the workload says so.
//
// As /init it reads `bench_mode=icount|kvm|wall` and `bench_only=FIG,...` from
// /proc/cmdline, and first brings every present CPU online (see
// bring_cpus_online: under QEMU 7.2's -icount the kernel cannot do it alone).
// With --host it runs the same workloads as an ordinary process on the host
// (no mounts, no hotplug, lines on stdout, programs from --bin-dir): the
// host-side test (tests/study/) uses that to check that every workload works
// and prints contract lines.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

// ---- what a run is asked for ----

enum Mode { ModeIcount, ModeKvm, ModeWall };

static struct {
    int as_init;             // pid 1 in the guest (else --host)
    enum Mode mode;
    char only[512];          // bench_only list, "" = every figure
    char bin_dir[256];       // where exit0 and storm_child are
    int console;             // where the contract lines go
    int cpus;                // CPUs this run may use (online, in its affinity mask)
    int cpu_ids[CPU_SETSIZE]; // the i-th of them (in the guest: i; a host may give any)
} g;

// The unit of a cost under each mode (the contract: icount counts
// instructions, KVM cycles, TCG's wall clock TSC ticks).
static const char* cost_unit(void)
{
    switch (g.mode) {
    case ModeIcount: return "instructions";
    case ModeKvm: return "cycles";
    default: return "tsc_ticks";
    }
}

static const char* mode_name(void)
{
    switch (g.mode) {
    case ModeIcount: return "icount";
    case ModeKvm: return "kvm";
    default: return "wall";
    }
}

// ---- output ----

static void say(const char* format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof(line) - 1, format, args);
    va_end(args);
    if (length < 0)
        return;
    if (length > (int)sizeof(line) - 2)
        length = sizeof(line) - 2;
    line[length++] = '\n';
    for (int done = 0; done < length;) {
        ssize_t n = write(g.console, line + done, length - done);
        if (n <= 0 && errno != EINTR)
            break;
        if (n > 0)
            done += n;
    }
    // Let the UART finish before the next measurement starts, so that its
    // interrupts land outside the timed regions (tcdrain fails harmlessly
    // when the console is a pipe or file, as under --host).
    tcdrain(g.console);
}

static void report(const char* figure, uint64_t median, uint64_t minimum, const char* unit)
{
    say("bench: %s median=%llu min=%llu unit=%s", figure, (unsigned long long)median, (unsigned long long)minimum, unit);
}

static void skipped(const char* figure, const char* why) { say("bench: %s skipped: %s", figure, why); }
static void failed(const char* figure, const char* why) { say("bench: %s failed: %s (errno %d, %s)", figure, why, errno, strerror(errno)); }

// bench_only=a,b: exact names; "fault_scaling" stands for every fault_scaling_<N>.
static int wanted(const char* figure)
{
    if (!g.only[0])
        return 1;
    char list[sizeof(g.only)];
    snprintf(list, sizeof(list), "%s", g.only);
    for (char* save = NULL, *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (strcmp(item, figure) == 0)
            return 1;
        if (strcmp(item, "fault_scaling") == 0 && strncmp(figure, "fault_scaling_", 14) == 0)
            return 1;
    }
    return 0;
}

// ---- timing, as user/programs/bench_common.hpp does it ----

static inline uint64_t cycles(void)
{
    uint32_t low, high;
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return ((uint64_t)high << 32) | low;
}

// The cost of an empty timed region (two cycles() back to back), subtracted
// from every timed region as sel4bench does (issue 11). Herald's programs do
// not subtract it yet; it is printed so that anyone can add it back.
static uint64_t g_overhead;

static void measure_overhead(void)
{
    enum { kSamples = 101 };
    uint64_t samples[kSamples];
    for (int i = 0; i < kSamples; ++i) {
        uint64_t start = cycles();
        samples[i] = cycles() - start;
    }
    uint64_t smallest = samples[0];
    for (int i = 1; i < kSamples; ++i)
        smallest = samples[i] < smallest ? samples[i] : smallest;
    g_overhead = smallest;
    say("linux: timestamp overhead %llu %s per timed region (lfence; rdtsc), subtracted from every figure", (unsigned long long)g_overhead,
        cost_unit());
}

static uint64_t timed(uint64_t start, uint64_t end)
{
    uint64_t elapsed = end - start;
    return elapsed > g_overhead ? elapsed - g_overhead : 0;
}

static int compare_u64(const void* a, const void* b)
{
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

// Herald's median: the middle element of the sorted samples (count / 2).
static void report_samples(const char* figure, uint64_t* samples, int count, const char* unit)
{
    qsort(samples, count, sizeof(*samples), compare_u64);
    report(figure, samples[count / 2], samples[0], unit);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

// ---- raw system calls: Herald's stubs are one SYSCALL each, so are these ----

static inline long syscall0(long number)
{
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number) : "rcx", "r11", "memory");
    return result;
}

static inline long syscall3(long number, long a, long b, long c)
{
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return result;
}

// ---- CPUs ----

// CPUs are numbered 0..g.cpus-1 here: the run's own CPUs, in order.
static void find_cpus(void)
{
    cpu_set_t set;
    g.cpus = 0;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        CPU_ZERO(&set);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set))
            g.cpu_ids[g.cpus++] = cpu;
    }
}

static int pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(g.cpu_ids[cpu], &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu = 0; cpu < g.cpus; ++cpu)
        CPU_SET(g.cpu_ids[cpu], &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static int read_sysfs_flag(const char* path)
{
    char value = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, &value, 1);
    close(fd);
    return n == 1 ? value - '0' : -1;
}

// Linux cannot start its second CPU under QEMU 7.2's -icount (docs/study.md):
// QEMU's single-threaded round robin gives CPU 0 the whole slice up to the
// next timer deadline and CPU 1 what is left, nothing, unless CPU 0 stops
// early (PAUSE, HLT). The kernel's bring-up loop on CPU 0 waits for CPU 1 in
// a loop around schedule() without PAUSE, so CPU 1 never runs again. The
// script boots with maxcpus=1 under icount; here each remaining CPU is
// brought online through sysfs while a helper on CPU 0 runs PAUSE in a loop:
// every PAUSE ends CPU 0's slice and gives the new CPU its turn, and the
// helper's sched_yield lets the bring-up (this process, also kept on CPU 0,
// ahead of the CPUs already online in QEMU's order) run in between.
static void pin_to_cpu_0(void)
{
    cpu_set_t zero;
    CPU_ZERO(&zero);
    CPU_SET(0, &zero);
    sched_setaffinity(0, sizeof(zero), &zero);
}

static void bring_cpus_online(void)
{
    cpu_set_t everywhere;
    CPU_ZERO(&everywhere);
    pin_to_cpu_0();
    for (int cpu = 1; cpu < CPU_SETSIZE; ++cpu) {
        char path[96];
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
        int online = read_sysfs_flag(path);
        if (online < 0)
            break;
        CPU_SET(cpu, &everywhere);
        if (online == 1)
            continue;
        pid_t helper = fork();
        if (helper == 0) {
            for (;;) {
                __builtin_ia32_pause();
                syscall0(SYS_sched_yield);
            }
        }
        uint64_t start = now_ns();
        int fd = open(path, O_WRONLY);
        ssize_t written = fd >= 0 ? write(fd, "1", 1) : -1;
        int saved = errno;
        if (fd >= 0)
            close(fd);
        if (helper > 0) {
            kill(helper, SIGKILL);
            waitpid(helper, NULL, 0);
        }
        if (written == 1)
            say("linux: CPU %d brought online in %llu ms of the guest's clock (CPU hotplug, with a PAUSE loop on CPU 0)", cpu,
                (unsigned long long)((now_ns() - start) / 1000000));
        else
            say("linux: CPU %d could not be brought online: %s", cpu, strerror(saved));
    }
    CPU_SET(0, &everywhere);
    sched_setaffinity(0, sizeof(everywhere), &everywhere);
}

// ---- null_syscall (bench_syscall.cpp): getppid, 201 rounds of 100 calls ----

static void null_syscall(void)
{
    enum { kRounds = 201, kCallsPerRound = 100 };
    static uint64_t samples[kRounds];
    for (int round = 0; round < kRounds; ++round) {
        uint64_t start = cycles();
        for (int i = 0; i < kCallsPerRound; ++i)
            syscall0(SYS_getppid);
        samples[round] = timed(start, cycles()) / kCallsPerRound;
    }
    report_samples("null_syscall", samples, kRounds, cost_unit());
}

// ---- yield_same_cpu (bench_yield.cpp): two processes pinned to the last
// CPU hand it back and forth with sched_yield; 101 rounds of 50 yields, and
// each of ours is followed by one of the partner's (two switches). Both run
// under SCHED_FIFO at one priority, where sched_yield puts the caller behind
// the other (POSIX): each yield is a switch, as in Herald. Under the default
// CFS a yield switches only while the two tasks' virtual run times are close,
// so a round could time yields that do not switch at all ----

static void yield_same_cpu(void)
{
    enum { kRounds = 101, kYieldsPerRound = 50 };
    static uint64_t samples[kRounds];
    int cpu = g.cpus - 1;
    struct sched_param fifo = { .sched_priority = 1 }, normal = { .sched_priority = 0 };
    if (pin_to(cpu) != 0) {
        failed("yield_same_cpu", "cannot pin to the last CPU");
        return;
    }
    if (sched_setscheduler(0, SCHED_FIFO, &fifo) != 0) {
        failed("yield_same_cpu", "cannot switch to SCHED_FIFO (needs root)");
        unpin();
        return;
    }
    pid_t partner = fork(); // inherits the pin and the policy
    if (partner == 0) {
        for (int i = 0; i < kRounds * kYieldsPerRound + 100; ++i)
            syscall0(SYS_sched_yield);
        _exit(0);
    }
    if (partner < 0) {
        failed("yield_same_cpu", "fork");
    } else {
        for (int i = 0; i < 10; ++i)
            syscall0(SYS_sched_yield); // let the partner start
        for (int round = 0; round < kRounds; ++round) {
            uint64_t start = cycles();
            for (int i = 0; i < kYieldsPerRound; ++i)
                syscall0(SYS_sched_yield);
            samples[round] = timed(start, cycles()) / (2 * kYieldsPerRound);
        }
    }
    sched_setscheduler(0, SCHED_OTHER, &normal); // the partner's last yields run on
    if (partner > 0)
        waitpid(partner, NULL, 0);
    unpin();
    if (partner > 0)
        report_samples("yield_same_cpu", samples, kRounds, cost_unit());
}

// ---- ipc_round_trip_* (bench_ipc.cpp + ipc_echo_server): a client and an
// echo server in two processes; a round trip is the client's 8-byte write
// into one pipe, the server's read and 8-byte write back into another, and
// the client's read (Herald: one Call and one ReplyRecv carrying a u64).
// 10 warm-up calls, then 201 rounds of 100 ----

// One round trip: 0, or -1 if a pipe broke.
static int echo(int to_server, int from_server, uint64_t message)
{
    if (syscall3(SYS_write, to_server, (long)&message, sizeof(message)) != sizeof(message))
        return -1;
    return syscall3(SYS_read, from_server, (long)&message, sizeof(message)) == sizeof(message) ? 0 : -1;
}

static void ipc_round_trip(const char* figure, int client_cpu, int server_cpu)
{
    enum { kRounds = 201, kCallsPerRound = 100 };
    static uint64_t samples[kRounds];
    int to_server[2], to_client[2];
    if (pipe(to_server) != 0 || pipe(to_client) != 0) {
        failed(figure, "pipe");
        return;
    }
    pid_t server = fork();
    if (server == 0) {
        pin_to(server_cpu);
        close(to_server[1]);
        close(to_client[0]);
        uint64_t message;
        while (syscall3(SYS_read, to_server[0], (long)&message, sizeof(message)) == sizeof(message))
            syscall3(SYS_write, to_client[1], (long)&message, sizeof(message));
        _exit(0);
    }
    close(to_server[0]);
    close(to_client[1]);
    if (server < 0 || pin_to(client_cpu) != 0) {
        failed(figure, server < 0 ? "fork" : "cannot pin the client");
        close(to_server[1]);
        close(to_client[0]);
        return;
    }
    int broken = 0;
    for (int i = 0; i < 10 && !broken; ++i)
        broken = echo(to_server[1], to_client[0], (uint64_t)i) != 0; // warm up
    for (int round = 0; round < kRounds && !broken; ++round) {
        uint64_t start = cycles();
        for (int i = 0; i < kCallsPerRound && !broken; ++i)
            broken = echo(to_server[1], to_client[0], (uint64_t)i) != 0;
        samples[round] = timed(start, cycles()) / kCallsPerRound;
    }
    close(to_server[1]); // the server's read returns 0: it exits
    close(to_client[0]);
    waitpid(server, NULL, 0);
    unpin();
    if (broken) {
        failed(figure, "a pipe read or write failed");
        return;
    }
    report_samples(figure, samples, kRounds, cost_unit());
}

// ---- page_fault (bench_page_fault.cpp): a store to each of 1,024 fresh
// pages of anonymous memory, each timed: a minor fault that maps a zeroed
// page. MADV_NOHUGEPAGE keeps Debian's transparent huge pages (always) from
// serving the range with 2 MiB pages: Herald maps 4 KiB pages ----

static volatile uint8_t* fresh_anonymous(size_t bytes)
{
    void* memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return NULL;
    madvise(memory, bytes, MADV_NOHUGEPAGE);
    return memory;
}

static void page_fault(void)
{
    enum { kPages = 1024, kPageSize = 4096 };
    static uint64_t samples[kPages];
    volatile uint8_t* memory = fresh_anonymous((size_t)kPages * kPageSize);
    if (!memory) {
        failed("page_fault", "mmap");
        return;
    }
    pin_to(0);
    for (int page = 0; page < kPages; ++page) {
        uint64_t start = cycles();
        memory[(size_t)page * kPageSize] = 1;
        samples[page] = timed(start, cycles());
    }
    unpin();
    munmap((void*)memory, (size_t)kPages * kPageSize);
    report_samples("page_fault", samples, kPages, cost_unit());
}

// ---- spawn_to_exit (bench_spawn.cpp): fork, execve of the smallest static
// program (exit0: _start makes the exit_group call), waitpid; 21 runs, on
// CPU 0 (the child inherits the pin). Herald's is a Spawn request to the
// loader and a TaskWait ----

static void program_path(char* path, size_t size, const char* name)
{
    snprintf(path, size, "%s/%s", g.bin_dir, name);
}

static pid_t start_program(const char* path, const char* argument)
{
    pid_t child = fork();
    if (child == 0) {
        char* argv[] = { (char*)path, (char*)argument, NULL };
        char* envp[] = { NULL };
        execve(path, argv, envp);
        _exit(127);
    }
    return child;
}

static int exited_cleanly(pid_t child)
{
    int status = 0;
    return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void spawn_to_exit(void)
{
    enum { kRuns = 21 };
    static uint64_t samples[kRuns];
    char path[300];
    program_path(path, sizeof(path), "exit0");
    pin_to(0);
    for (int run = 0; run < kRuns; ++run) {
        uint64_t start = cycles();
        pid_t child = start_program(path, NULL);
        int ok = exited_cleanly(child);
        samples[run] = timed(start, cycles());
        if (!ok) {
            unpin();
            failed("spawn_to_exit", "exit0 did not run and exit with 0");
            return;
        }
    }
    unpin();
    report_samples("spawn_to_exit", samples, kRuns, cost_unit());
}

// ---- console_line: one write of an 80-character line (and its newline) to
// the serial console, 101 lines each timed. The 8250 driver copies the line
// into the tty's buffer and sends it from its transmit interrupts, which
// QEMU's UART raises at once: the timed write includes sending the line.
// Under --host the "console" is wherever stdout goes ----

static void console_line(void)
{
    enum { kLines = 101, kCharacters = 80 };
    static uint64_t samples[kLines];
    char line[kCharacters + 1];
    for (int i = 0; i < kLines; ++i) {
        int length = snprintf(line, sizeof(line), "console_line %03d ", i);
        for (int c = length; c < kCharacters; ++c)
            line[c] = (char)('a' + (i + c) % 26);
        line[kCharacters] = '\n';
        tcdrain(g.console);
        uint64_t start = cycles();
        long written = syscall3(SYS_write, g.console, (long)line, sizeof(line));
        samples[i] = timed(start, cycles());
        if (written != (long)sizeof(line)) {
            failed("console_line", "short write to the console");
            return;
        }
    }
    report_samples("console_line", samples, kLines, cost_unit());
}

// ---- spawn_storm: 200 programs at once (storm_child: grows its heap by
// 1 MiB with brk, stores to every page, prints 10 lines, exits), then a
// waitpid for each in order, as user/programs/spawn_storm.cpp does. The cost
// per program, as Herald's figure: a whole storm, from the first fork to the
// last waitpid, divided by 200; 3 storms. Not pinned: Linux spreads the
// children over the CPUs ----

static void spawn_storm(void)
{
    enum { kPrograms = 200, kStorms = 3 };
    static pid_t children[kPrograms];
    static uint64_t samples[kStorms];
    char path[300];
    program_path(path, sizeof(path), "storm_child");
    for (int storm = 0; storm < kStorms; ++storm) {
        int failures = 0;
        uint64_t start = cycles();
        for (int i = 0; i < kPrograms; ++i) {
            char number[16];
            snprintf(number, sizeof(number), "%d", i);
            children[i] = start_program(path, number);
        }
        for (int i = 0; i < kPrograms; ++i)
            failures += !exited_cleanly(children[i]);
        samples[storm] = timed(start, cycles()) / kPrograms;
        if (failures) {
            char why[64];
            snprintf(why, sizeof(why), "%d of %d programs failed", failures, kPrograms);
            failed("spawn_storm", why);
            return;
        }
    }
    report_samples("spawn_storm", samples, kStorms, cost_unit());
}

// ---- fault_scaling_<N>: N processes, process i pinned to CPU i, each
// stores to every page of 16 MiB of fresh anonymous memory; faults per
// second of the guest's clock (CLOCK_MONOTONIC), from the release of all
// of them (they map their memory first, then wait on a pipe) to the last
// one's end. Under icount QEMU's virtual clock is shared by all CPUs and
// advances with every instruction any of them executes: N CPUs cannot
// overlap in that time (docs/study.md). 3 runs ----

static int fault_scaling_run(int processes, uint64_t* per_second)
{
    enum { kBytes = 16 << 20, kPageSize = 4096 };
    uint64_t* ends = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int ready[2], go[2];
    if (ends == MAP_FAILED || pipe(ready) != 0 || pipe(go) != 0)
        return -1;
    pid_t children[8];
    int started = 0;
    for (int i = 0; i < processes; ++i) {
        children[i] = fork();
        if (children[i] == 0) {
            close(go[1]);
            close(ready[0]);
            pin_to(i);
            volatile uint8_t* memory = fresh_anonymous(kBytes);
            char byte = memory ? 'r' : 'x';
            char ignored;
            if (write(ready[1], &byte, 1) != 1 || !memory)
                _exit(1);
            (void)!read(go[0], &ignored, 1); // 0 (end of file) once the parent closes go[1]
            for (size_t offset = 0; offset < kBytes; offset += kPageSize)
                memory[offset] = 1;
            ends[i] = now_ns();
            _exit(0);
        }
        started += children[i] > 0;
    }
    close(ready[1]);
    close(go[0]);
    int all_ready = started == processes;
    for (int i = 0; i < started; ++i) {
        char byte = 0;
        all_ready = all_ready && read(ready[0], &byte, 1) == 1 && byte == 'r';
    }
    uint64_t start = now_ns();
    close(go[1]);
    int failures = !all_ready;
    for (int i = 0; i < processes; ++i)
        failures += children[i] > 0 ? !exited_cleanly(children[i]) : 1;
    close(ready[0]);
    uint64_t last = 0;
    for (int i = 0; i < processes; ++i)
        last = ends[i] > last ? ends[i] : last;
    munmap(ends, 4096);
    if (failures || last <= start)
        return -1;
    uint64_t faults = (uint64_t)processes * (kBytes / kPageSize);
    *per_second = faults * 1000000000ull / (last - start);
    return 0;
}

static void fault_scaling(void)
{
    enum { kRuns = 3 };
    const int counts[] = { 1, 2, 4, 8 };
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); ++c) {
        char figure[32];
        snprintf(figure, sizeof(figure), "fault_scaling_%d", counts[c]);
        if (!wanted(figure))
            continue;
        if (counts[c] > g.cpus) {
            char why[96];
            snprintf(why, sizeof(why), "needs %d CPUs, Linux has %d online", counts[c], g.cpus);
            skipped(figure, why);
            continue;
        }
        uint64_t samples[kRuns];
        int run = 0;
        while (run < kRuns && fault_scaling_run(counts[c], &samples[run]) == 0)
            ++run;
        if (run < kRuns) {
            failed(figure, "a process could not map, touch or report its memory");
            continue;
        }
        report_samples(figure, samples, kRuns, "faults_per_second");
    }
}

// ---- the run ----

static void read_command_line(void)
{
    char text[4096] = "";
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof(text) - 1);
        text[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    for (char* save = NULL, *word = strtok_r(text, " \n", &save); word; word = strtok_r(NULL, " \n", &save)) {
        if (strcmp(word, "bench_mode=icount") == 0)
            g.mode = ModeIcount;
        else if (strcmp(word, "bench_mode=kvm") == 0)
            g.mode = ModeKvm;
        else if (strcmp(word, "bench_mode=wall") == 0)
            g.mode = ModeWall;
        else if (strncmp(word, "bench_only=", 11) == 0)
            snprintf(g.only, sizeof(g.only), "%s", word + 11);
    }
}

static void set_up_as_init(void)
{
    mkdir("/dev", 0755);
    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    g.console = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
    if (g.console < 0)
        g.console = open("/dev/console", O_WRONLY | O_NOCTTY);
    if (g.console < 0)
        g.console = 1;
    // The storm's children print on their stdout: the serial console too.
    dup2(g.console, 1);
    dup2(g.console, 2);
    read_command_line();
    snprintf(g.bin_dir, sizeof(g.bin_dir), "%s", "");
}

// isa-debug-exit (-device isa-debug-exit,iobase=0xf4,iosize=4): QEMU exits
// with (value << 1) | 1, so Herald's success value 0x10 gives 33
// (microkernel/arch/x86_64/qemu_exit.hpp). Power off if the port is absent.
static void end_qemu(void)
{
    enum { kDebugExitPort = 0xf4, kSuccess = 0x10 };
    tcdrain(g.console);
    sync();
    if (ioperm(kDebugExitPort, 4, 1) == 0)
        outb(kSuccess, kDebugExitPort);
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

static void usage(void)
{
    fprintf(stderr, "usage: workloads --host --bin-dir DIR [--mode icount|kvm|wall] [--only FIG,FIG]\n"
                    "       (as /init it reads bench_mode= and bench_only= from /proc/cmdline)\n");
    exit(2);
}

static void parse_host_arguments(int argc, char** argv)
{
    g.console = 1;
    g.mode = ModeWall;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--host") == 0)
            continue;
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--bin-dir") == 0)
            snprintf(g.bin_dir, sizeof(g.bin_dir), "%s", argv[++i]);
        else if (strcmp(argv[i], "--only") == 0)
            snprintf(g.only, sizeof(g.only), "%s", argv[++i]);
        else if (strcmp(argv[i], "--mode") == 0) {
            const char* mode = argv[++i];
            g.mode = strcmp(mode, "icount") == 0 ? ModeIcount : strcmp(mode, "kvm") == 0 ? ModeKvm : ModeWall;
        } else
            usage();
    }
    if (!g.bin_dir[0])
        usage();
}

int main(int argc, char** argv)
{
    g.as_init = getpid() == 1;
    if (g.as_init) {
        set_up_as_init();
        bring_cpus_online();
    } else if (argc > 1 && strcmp(argv[1], "--host") == 0) {
        parse_host_arguments(argc, argv);
    } else {
        usage();
    }
    find_cpus();
    say("bench: begin placement=linux mode=%s cpus=%d", mode_name(), g.cpus);
    measure_overhead();
    if (wanted("null_syscall"))
        null_syscall();
    if (wanted("yield_same_cpu"))
        yield_same_cpu();
    if (wanted("ipc_round_trip_same_cpu"))
        ipc_round_trip("ipc_round_trip_same_cpu", 0, 0);
    if (wanted("ipc_round_trip_cross_cpu")) {
        if (g.cpus >= 2)
            ipc_round_trip("ipc_round_trip_cross_cpu", 0, 1);
        else
            skipped("ipc_round_trip_cross_cpu", "needs 2 CPUs, Linux has 1 online");
    }
    if (wanted("page_fault"))
        page_fault();
    if (wanted("spawn_to_exit"))
        spawn_to_exit();
    if (wanted("console_line"))
        console_line();
    if (wanted("spawn_storm"))
        spawn_storm();
    fault_scaling();
    say("bench: done");
    if (g.as_init)
        end_qemu();
    return 0;
}
