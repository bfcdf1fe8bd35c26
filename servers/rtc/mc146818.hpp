// The portable part of the rtc driver (docs/drivers.md, "Writing a driver"):
// what the CMOS real-time clock's registers mean, with no port I/O, so that
// the host tests (rtc_test.cpp, host-rtc) run it as it is.
//
// The chip is the Motorola MC146818A (the PC/AT's "CMOS"; QEMU models it as
// hw/rtc/mc146818rtc.c). Its registers sit behind an index port and a data
// port; the facts below are the datasheet's ("MC146818A Real-Time Clock Plus
// RAM", Motorola: "Address Map", "Time, Calendar and Alarm Data Modes",
// "Update Cycle", "Registers" A-D) and OSDev's "CMOS" page for the PC's
// conventions (the ports, IRQ 8, the century register).
//
//   read_time(reader, out)  reads a consistent time: waits for register A's
//                           UIP to clear, reads every time register, and
//                           again until two reads agree (an update can start
//                           between the check and the last read)
//   decode(raw, b, out)     the registers as register B says they are coded:
//                           BCD or binary (DM), 12 or 24 hours (24/12, the
//                           hour's bit 7 meaning PM), checked as a date
//   valid_date(time)        every field in range, the day in its month
//
// Nothing here trusts the chip: a register that is not BCD when B says it
// is, or a date that does not exist, is an error, never a wrong answer.
#pragma once

#include <stdint.h>

namespace mc146818 {

// The PC's ports (IBM PC/AT Technical Reference; OSDev "CMOS"): write the
// register's index to 0x70, then read or write it at 0x71. Bit 7 of the
// index masks NMIs on the PC; this driver never sets it.
inline constexpr uint16_t kIndexPort = 0x70;
inline constexpr uint16_t kDataPort = 0x71;
// Its interrupt: ISA IRQ 8 (the PC/AT's second PIC, input 0).
inline constexpr uint64_t kIrq = 8;

// The address map (datasheet, "Address Map").
enum Register : uint8_t {
    kSeconds = 0x00,
    kMinutes = 0x02,
    kHours = 0x04,
    kDayOfMonth = 0x07,
    kMonth = 0x08,
    kYear = 0x09,
    kRegisterA = 0x0A,
    kRegisterB = 0x0B,
    kRegisterC = 0x0C,
    kRegisterD = 0x0D,
    // Not the MC146818's: the PC/AT keeps the century in CMOS RAM at 0x32
    // (ACPI's FADT CENTURY field names this index; QEMU uses it). Coded as
    // the time registers are.
    kCentury = 0x32,
};

// Register A (datasheet, "Register A"): bit 7 is Update In Progress. While it is
// 0 an update will not start for at least 244 us; while it is 1 the time
// registers may be changing.
inline constexpr uint8_t kUpdateInProgress = 0x80;

// Register B (datasheet, "Register B").
inline constexpr uint8_t kSet = 0x80;                // SET: updates stopped (someone is setting the time)
inline constexpr uint8_t kPeriodicEnable = 0x40;     // PIE
inline constexpr uint8_t kAlarmEnable = 0x20;        // AIE
inline constexpr uint8_t kUpdateEndedEnable = 0x10;  // UIE: interrupt after each update (once a second)
inline constexpr uint8_t kSquareWaveEnable = 0x08;   // SQWE
inline constexpr uint8_t kBinary = 0x04;             // DM: 1 binary, 0 BCD
inline constexpr uint8_t k24Hour = 0x02;             // 24/12: 1 24-hour, 0 12-hour
inline constexpr uint8_t kDaylightSaving = 0x01;     // DSE

// Register C (datasheet, "Register C"): which interrupts are pending. Reading it
// clears every flag and makes the chip release its IRQ line.
inline constexpr uint8_t kInterruptRequest = 0x80;   // IRQF
inline constexpr uint8_t kPeriodicFlag = 0x40;       // PF
inline constexpr uint8_t kAlarmFlag = 0x20;          // AF
inline constexpr uint8_t kUpdateEndedFlag = 0x10;    // UF

// Register D (datasheet, "Register D"): Valid RAM and Time, 0 when the battery
// ran down and nothing the chip holds can be believed.
inline constexpr uint8_t kValidRamAndTime = 0x80;

// In 12-hour mode the hours register's bit 7 says PM, in BCD and in binary
// (datasheet, "Time, Calendar and Alarm Data Modes").
inline constexpr uint8_t kHourPm = 0x80;

// The time registers as read, still coded.
struct RawTime {
    uint8_t second;
    uint8_t minute;
    uint8_t hour;
    uint8_t day;
    uint8_t month;
    uint8_t year;    // 0-99
    uint8_t century; // kCentury's value
};

// A date and time, decoded: year 2000-2099 (or the century register's).
struct DateTime {
    uint16_t year;
    uint8_t month;  // 1-12
    uint8_t day;    // 1-31, as the month has
    uint8_t hour;   // 0-23
    uint8_t minute; // 0-59
    uint8_t second; // 0-59
};

enum class TimeError : uint8_t {
    None,
    NotBcd,       // a nibble above 9 while register B says BCD
    OutOfRange,   // a field past its range, or a day its month does not have
    Invalid,      // register D's VRT bit is 0: the battery ran down
    NeverSteady,  // the registers changed under every pair of reads
};

const char* error_name(TimeError error);

// The binary value of a BCD byte; false if a nibble is above 9.
bool from_bcd(uint8_t bcd, uint8_t& value);

bool is_leap_year(uint16_t year);
uint8_t days_in_month(uint16_t year, uint8_t month); // 0 for a month outside 1-12
bool valid_date(const DateTime& time);

// Decodes raw as register B (`b`) says it is coded. A century register
// that does not decode to 19-20 (none, or never written) means 20: the
// two-digit year is 2000 + year.
TimeError decode(const RawTime& raw, uint8_t b, DateTime& out);

// Reads one CMOS register (the driver's port I/O; a test's fake chip).
using RegisterReader = uint8_t (*)(void* context, uint8_t index);

// How many times read_time looks at UIP before giving up: the update cycle
// takes 1984 us (datasheet, "Update Cycle"), a port read about a microsecond.
inline constexpr uint32_t kMaxUipPolls = 100'000;
// How many pairs of reads may disagree before read_time gives up.
inline constexpr uint32_t kMaxReadPairs = 8;

// Reads the time registers consistently: UIP clear, then all of them, twice
// in a row alike (OSDev "CMOS", "RTC Update In Progress").
TimeError read_raw(RegisterReader reader, void* context, RawTime& out);

// read_raw, register B and D, decode: the chip's time, or why not.
TimeError read_time(RegisterReader reader, void* context, DateTime& out);

} // namespace mc146818
