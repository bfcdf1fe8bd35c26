// The init manifest (init.manifest in the boot archive): which programs init
// starts, in order, and what to do when each one ends.
//
// Format, one program per line; fields are separated by spaces or tabs:
//
//   # name        argument   on-exit    [wait]
//   echo_server   0          restart
//   setup         0x10       ignore     wait
//   shell         0          restart
//
//   name      1..kMaxNameLength characters of [A-Za-z0-9._-], the program's
//             name in the boot archive.
//   argument  a u64, decimal or 0x-hex (0x/0X), passed to the program in RDX.
//   on-exit   ignore   let it end;
//             restart  start it again when it ends, or misses its heartbeat
//                      (a server: docs/reliability.md), at once the first
//                      time and after a growing delay when it keeps ending
//                      (Backoff);
//             halt     power the system off when it ends;
//             never    init does not start it: the line only grants devices
//                      (a driver started by hand, or by a test).
//   wait      optional: init waits for this program to end before starting
//             the next line (one-shot setup programs).
//   grants    optional, after those: what the program may get as a driver
//             from the PCI server (docs/drivers.md, "Authority"), MINIX 3's
//             per-service policy; each field at most kMaxGrants times:
//               ports=FIRST-LAST   I/O ports (numbers as above)
//               irq=N              an interrupt line
//               pci=VVVV:DDDD      PCI functions with these ids (hex)
//               class=CC           PCI functions of this class (hex)
//               dma=PAGES          DMA memory, at most PAGES pages in all
//                                  (1..kMaxDmaGrantPages; once per line)
//               tasks=list         not a device: init gives the program a
//                                  handle that lists the tasks (TaskList,
//                                  SystemControl with RightReceive only) at
//                                  abi::HandleFirstFree, for a server that
//                                  admits its callers by program or must
//                                  hear that they ended (once per line)
//             e.g. `rtc 0 restart ports=0x70-0x71 irq=8`.
//
// A '#' at the start of a field starts a comment that runs to the end of the
// line; blank lines are ignored. A CR is treated as a separator, so files
// with CR LF line endings parse. Lines are at most kMaxLineLength characters
// (not counting the line ending); at most kMaxEntries entries. The same name
// may appear twice (two instances).
//
// A bad line is skipped and reported, and never stops the lines after it
// from being parsed: one typo must not leave the system without a shell.
//
// Portable and freestanding (<stddef.h>, <stdint.h>; no allocation), so the
// host tests build the same code. Every type here is valid all-zero.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::init {

constexpr size_t kMaxEntries = 32;
constexpr size_t kMaxNameLength = 31;
constexpr size_t kMaxLineLength = 200;
// Backoff (MINIX's reincarnation server backs off exponentially too): the
// first end after a good run restarts at once; each further end within
// kStableRunMs of its start doubles the delay, from kFirstBackoffMs up to
// kMaxBackoffMs.
constexpr uint64_t kFirstBackoffMs = 100;
constexpr uint64_t kMaxBackoffMs = 10'000;
constexpr uint64_t kStableRunMs = 10'000;

enum class OnExit : uint8_t { Ignore, Restart, Halt, Never };

// "ignore", "restart", "halt" (or "?" for a value outside the enum).
const char* on_exit_name(OnExit policy);

constexpr size_t kMaxGrants = 4;
// dma=: 16 MiB at most per driver (4 KiB pages).
constexpr uint64_t kMaxDmaGrantPages = 4096;

// A driver's grant (the manifest's grant fields); all zero: nothing.
struct DeviceGrant {
    struct Ports {
        uint16_t first;
        uint16_t last;
    };
    struct Function {
        uint16_t vendor;
        uint16_t device;
        uint8_t class_code;
        bool by_class; // class=CC rather than pci=VVVV:DDDD
    };
    Ports ports[kMaxGrants];
    size_t port_count;
    uint8_t irqs[kMaxGrants];
    size_t irq_count;
    Function functions[kMaxGrants];
    size_t function_count;
    uint64_t dma_pages; // dma=: 0, no DMA memory
    bool task_list;     // tasks=list: init hands it a TaskList handle

    bool allows_ports(uint64_t first, uint64_t last) const;
    bool allows_irq(uint64_t line) const;
    bool allows_function(uint16_t vendor, uint16_t device, uint8_t class_code) const;
};

struct ManifestEntry {
    char name[kMaxNameLength + 1]; // NUL-terminated, the rest zero-filled
    uint64_t argument;
    OnExit on_exit;
    bool wait;
    DeviceGrant grant;
};

struct ManifestError {
    size_t line;        // 1-based
    const char* reason; // a static string, e.g. "unknown on-exit policy"
};

class Manifest {
public:
    size_t count() const { return m_count; }
    // Precondition: index < count().
    const ManifestEntry& operator[](size_t index) const { return entries[index]; }

    ManifestEntry entries[kMaxEntries];
    size_t m_count;
};

// Parses all of `text` (`length` bytes, not NUL-terminated; may be null when
// `length` is 0) into `out`, which is cleared first. Lines with errors are
// skipped, and each is reported once (its first error): up to `max_errors`
// are written to `errors` (which may be null when `max_errors` is 0). Returns
// the number of errors, all of them, even past `max_errors`.
//
// Errors: "line too long", "NUL byte in line", "too many fields",
// "name too long", "bad character in name", "missing argument",
// "bad number", "number too large", "missing on-exit policy",
// "unknown on-exit policy", "unknown 4th field", "bad grant", "too many
// grants", "too many entries" (a valid line after kMaxEntries entries).
size_t parse_manifest(const char* text, size_t length, Manifest& out, ManifestError* errors, size_t max_errors);

// Whether `name` (NUL-terminated) is a valid manifest name.
bool is_valid_program_name(const char* name);

// The grant of the entry named `name` (NUL-terminated); nullptr if the
// manifest has no such entry. With two entries of one name, the first.
const DeviceGrant* grant_of(const Manifest& manifest, const char* name);

// When to start a program again after it ended: 0 (at once) after a run
// of at least kStableRunMs, or for its first short run; then kFirstBackoffMs,
// doubling with every further short run in a row, at most kMaxBackoffMs. It
// never gives up: a server that keeps crashing is tried every kMaxBackoffMs
// (its clients get errors meanwhile, never a hang). Times come from a
// monotonic clock in milliseconds; all-zero is a program that never ended.
struct Backoff {
    // It started at `started_ms` and was seen ended at `ended_ms`: the delay
    // before its next start.
    uint64_t delay_after_end(uint64_t started_ms, uint64_t ended_ms);

    uint32_t short_runs; // ends in a row, each before kStableRunMs
    uint64_t delay_ms;   // the last delay given
    // A run at least this long is not a crash loop; 0: kStableRunMs. Under
    // fault injection init uses kFaultsStableRunMs: the injector ends a
    // server every few seconds on purpose, and each new one starts clean.
    uint64_t stable_run_ms;
};

// 150 ms: a new server has published its name and answered by then, and
// the injector waits this long and a margin before it hurts a server again
// (faults/main.cpp, kSettleMs); was 500 ms, which made that wait the largest
// part of an injection once the watch after it got shorter
// (docs/reliability.md, "Where the time goes").
constexpr uint64_t kFaultsStableRunMs = 150;

} // namespace herald::init
