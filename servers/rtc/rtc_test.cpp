// Host tests of the rtc driver's portable part (mc146818.cpp; ctest:
// host-rtc): BCD and binary, 12 and 24 hours as register B says, dates that
// do not exist, and read_time against a fake chip whose update can start
// between two reads.
#include "mc146818.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace mc146818;

namespace {

constexpr uint8_t kBcd24 = k24Hour;           // QEMU's and SeaBIOS's setting
constexpr uint8_t kBinary24 = kBinary | k24Hour;
constexpr uint8_t kBcd12 = 0;
constexpr uint8_t kBinary12 = kBinary;

DateTime decoded(const RawTime& raw, uint8_t b)
{
    DateTime time {};
    REQUIRE(decode(raw, b, time) == TimeError::None);
    return time;
}

bool is(const DateTime& time, uint16_t year, uint8_t month, uint8_t day, uint8_t hour, uint8_t minute, uint8_t second)
{
    return time.year == year && time.month == month && time.day == day && time.hour == hour && time.minute == minute
        && time.second == second;
}

// A chip: its registers, and a script of what happens at each read (an
// update starting, the time moving on), as a real one does behind the
// driver's back.
struct FakeChip {
    uint8_t registers[128] = {};
    uint32_t reads = 0;
    // At read number `at`, register `index` becomes `value`.
    struct Change {
        uint32_t at;
        uint8_t index;
        uint8_t value;
    };
    std::vector<Change> script;
    bool racing = false; // the seconds change after every read of them

    static uint8_t read(void* context, uint8_t index)
    {
        auto* chip = static_cast<FakeChip*>(context);
        for (const Change& change : chip->script) {
            if (change.at == chip->reads)
                chip->registers[change.index] = change.value;
        }
        ++chip->reads;
        uint8_t value = chip->registers[index];
        if (chip->racing && index == kSeconds)
            chip->registers[kSeconds] ^= 0x01;
        return value;
    }

    void set_time(uint8_t year, uint8_t month, uint8_t day, uint8_t hour, uint8_t minute, uint8_t second)
    {
        registers[kYear] = year;
        registers[kMonth] = month;
        registers[kDayOfMonth] = day;
        registers[kHours] = hour;
        registers[kMinutes] = minute;
        registers[kSeconds] = second;
    }
};

FakeChip qemu_chip()
{
    FakeChip chip;
    chip.registers[kRegisterB] = kBcd24;
    chip.registers[kRegisterD] = kValidRamAndTime;
    chip.registers[kCentury] = 0x20;
    chip.set_time(0x26, 0x11, 0x28, 0x21, 0x47, 0x36);
    return chip;
}

} // namespace

TEST_CASE("rtc: BCD bytes decode digit by digit; a nibble above 9 is refused", "[rtc]")
{
    uint8_t value = 0xAA;
    CHECK((from_bcd(0x00, value) && value == 0));
    CHECK((from_bcd(0x09, value) && value == 9));
    CHECK((from_bcd(0x10, value) && value == 10));
    CHECK((from_bcd(0x59, value) && value == 59));
    CHECK((from_bcd(0x99, value) && value == 99));
    CHECK_FALSE(from_bcd(0x0A, value));
    CHECK_FALSE(from_bcd(0xA0, value));
    CHECK_FALSE(from_bcd(0x3F, value));
    CHECK_FALSE(from_bcd(0xFF, value));
    int refused = 0;
    for (int byte = 0; byte < 256; ++byte)
        refused += !from_bcd(static_cast<uint8_t>(byte), value);
    CHECK(refused == 256 - 100);
}

TEST_CASE("rtc: the same time in each of register B's four codings", "[rtc]")
{
    // 2026-11-28 21:47:36: every field past 9, so BCD read as binary (or the
    // other way round) cannot give the same answer.
    CHECK(is(decoded({ 0x36, 0x47, 0x21, 0x28, 0x11, 0x26, 0x20 }, kBcd24), 2026, 11, 28, 21, 47, 36));
    CHECK(is(decoded({ 36, 47, 21, 28, 11, 26, 20 }, kBinary24), 2026, 11, 28, 21, 47, 36));
    CHECK(is(decoded({ 0x36, 0x47, 0x09 | kHourPm, 0x28, 0x11, 0x26, 0x20 }, kBcd12), 2026, 11, 28, 21, 47, 36));
    CHECK(is(decoded({ 36, 47, 9 | kHourPm, 28, 11, 26, 20 }, kBinary12), 2026, 11, 28, 21, 47, 36));
    // The other bits of B (SET, interrupts, square wave, daylight saving)
    // change nothing.
    CHECK(is(decoded({ 0x36, 0x47, 0x21, 0x28, 0x11, 0x26, 0x20 },
                 kBcd24 | kUpdateEndedEnable | kPeriodicEnable | kDaylightSaving | kSquareWaveEnable),
        2026, 11, 28, 21, 47, 36));
}

TEST_CASE("rtc: a misread coding is caught or differs", "[rtc]")
{
    DateTime time {};
    // Binary 59 is 0x3B: not BCD.
    CHECK(decode({ 59, 0, 0, 1, 1, 26, 20 }, kBcd24, time) == TimeError::NotBcd);
    // BCD 0x59 read as binary is 89 seconds: not a time.
    CHECK(decode({ 0x59, 0, 0, 1, 1, 0x26, 0x20 }, kBinary24, time) == TimeError::OutOfRange);
    // 12-hour PM read as 24-hour: bit 7 makes it no hour (81, 129).
    CHECK(decode({ 0, 0, 0x01 | kHourPm, 1, 1, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange);
    CHECK(decode({ 0, 0, 1 | kHourPm, 1, 1, 26, 20 }, kBinary24, time) == TimeError::OutOfRange);
}

TEST_CASE("rtc: 12-hour mode: 12 AM is midnight, 12 PM noon", "[rtc]")
{
    struct Case {
        uint8_t coded;
        uint8_t hour;
    };
    const Case cases[] = {
        { 0x12, 0 }, { 0x01, 1 }, { 0x11, 11 }, { 0x12 | kHourPm, 12 }, { 0x01 | kHourPm, 13 }, { 0x11 | kHourPm, 23 },
    };
    for (const Case& c : cases) {
        CAPTURE(int(c.coded));
        CHECK(decoded({ 0, 0, c.coded, 1, 1, 0x26, 0x20 }, kBcd12).hour == c.hour);
        uint8_t binary = static_cast<uint8_t>((c.coded & kHourPm) | (((c.coded & 0x70) >> 4) * 10 + (c.coded & 0x0F)));
        CHECK(decoded({ 0, 0, binary, 1, 1, 26, 20 }, kBinary12).hour == c.hour);
    }
    DateTime time {};
    CHECK(decode({ 0, 0, 0x00, 1, 1, 0x26, 0x20 }, kBcd12, time) == TimeError::OutOfRange);          // hour 0
    CHECK(decode({ 0, 0, 0x13, 1, 1, 0x26, 0x20 }, kBcd12, time) == TimeError::OutOfRange);          // hour 13
    CHECK(decode({ 0, 0, 0x00 | kHourPm, 1, 1, 0x26, 0x20 }, kBcd12, time) == TimeError::OutOfRange); // 0 PM
}

TEST_CASE("rtc: dates that do not exist are refused", "[rtc]")
{
    DateTime time {};
    CHECK(decode({ 0, 0, 0, 0x31, 0x04, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // April 31
    CHECK(decode({ 0, 0, 0, 0x00, 0x04, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // day 0
    CHECK(decode({ 0, 0, 0, 0x01, 0x00, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // month 0
    CHECK(decode({ 0, 0, 0, 0x01, 0x13, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // month 13
    CHECK(decode({ 0, 0, 0x24, 0x01, 0x01, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // 24:00
    CHECK(decode({ 0, 0x60, 0, 0x01, 0x01, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // minute 60
    CHECK(decode({ 0x60, 0, 0, 0x01, 0x01, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange); // second 60
    CHECK(decode({ 0, 0, 0, 1, 1, 100, 20 }, kBinary24, time) == TimeError::OutOfRange);          // year 100
    // February 29 only in leap years: 2024 and 2000 are, 2026 is not, 1900 is not.
    CHECK(decode({ 0, 0, 0, 0x29, 0x02, 0x24, 0x20 }, kBcd24, time) == TimeError::None);
    CHECK(decode({ 0, 0, 0, 0x29, 0x02, 0x00, 0x20 }, kBcd24, time) == TimeError::None);
    CHECK(decode({ 0, 0, 0, 0x29, 0x02, 0x26, 0x20 }, kBcd24, time) == TimeError::OutOfRange);
    CHECK(decode({ 0, 0, 0, 0x29, 0x02, 0x00, 0x19 }, kBcd24, time) == TimeError::OutOfRange);
    // A refused decode leaves the output alone.
    DateTime kept { 1999, 12, 31, 23, 59, 59 };
    CHECK(decode({ 0, 0, 0, 0x31, 0x04, 0x26, 0x20 }, kBcd24, kept) == TimeError::OutOfRange);
    CHECK(is(kept, 1999, 12, 31, 23, 59, 59));
}

TEST_CASE("rtc: days in each month, leap years by the Gregorian rule", "[rtc]")
{
    const uint8_t days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    for (uint8_t month = 1; month <= 12; ++month)
        CHECK(days_in_month(2026, month) == days[month - 1]);
    CHECK(days_in_month(2024, 2) == 29);
    CHECK(days_in_month(2100, 2) == 28);
    CHECK(days_in_month(2000, 2) == 29);
    CHECK(days_in_month(2026, 0) == 0);
    CHECK(days_in_month(2026, 13) == 0);
}

TEST_CASE("rtc: the century register when it holds 19 or 20, else 20", "[rtc]")
{
    CHECK(decoded({ 0, 0, 0, 0x31, 0x12, 0x99, 0x19 }, kBcd24).year == 1999);
    CHECK(decoded({ 0, 0, 0, 0x01, 0x01, 0x26, 0x20 }, kBcd24).year == 2026);
    CHECK(decoded({ 0, 0, 0, 1, 1, 26, 19 }, kBinary24).year == 1926);
    CHECK(decoded({ 0, 0, 0, 0x01, 0x01, 0x26, 0x00 }, kBcd24).year == 2026); // never written
    CHECK(decoded({ 0, 0, 0, 0x01, 0x01, 0x26, 0xFF }, kBcd24).year == 2026); // no such register
    CHECK(decoded({ 0, 0, 0, 0x01, 0x01, 0x26, 0x21 }, kBcd24).year == 2026); // not one we believe
}

TEST_CASE("rtc: read_time reads QEMU's chip", "[rtc]")
{
    FakeChip chip = qemu_chip();
    DateTime time {};
    REQUIRE(read_time(FakeChip::read, &chip, time) == TimeError::None);
    CHECK(is(time, 2026, 11, 28, 21, 47, 36));
    chip.registers[kRegisterB] = kBinary12;
    chip.set_time(26, 11, 28, 9 | kHourPm, 47, 36);
    REQUIRE(read_time(FakeChip::read, &chip, time) == TimeError::None);
    CHECK(is(time, 2026, 11, 28, 21, 47, 36));
}

TEST_CASE("rtc: read_time waits out an update in progress", "[rtc]")
{
    FakeChip chip = qemu_chip();
    // UIP is set for the first 50 reads; the update lands while it is.
    chip.registers[kRegisterA] = kUpdateInProgress;
    chip.script.push_back({ 20, kSeconds, 0x37 });
    chip.script.push_back({ 50, kRegisterA, 0 });
    DateTime time {};
    REQUIRE(read_time(FakeChip::read, &chip, time) == TimeError::None);
    CHECK(is(time, 2026, 11, 28, 21, 47, 37));
    CHECK(chip.reads > 50);
}

TEST_CASE("rtc: read_time reads again when an update lands between two reads", "[rtc]")
{
    FakeChip chip = qemu_chip();
    // 23:59:59 on December 31st, 2026, and the year turns between the reads
    // of the seconds and of the year: one pass would mix the two times
    // (2027-12-31 23:59:59, or 2026-01-01 00:00:00). The second pass sees
    // the new time, the third agrees with it.
    chip.set_time(0x26, 0x12, 0x31, 0x23, 0x59, 0x59);
    chip.script.push_back({ 3, kSeconds, 0x00 });
    chip.script.push_back({ 3, kMinutes, 0x00 });
    chip.script.push_back({ 3, kHours, 0x00 });
    chip.script.push_back({ 3, kDayOfMonth, 0x01 });
    chip.script.push_back({ 3, kMonth, 0x01 });
    chip.script.push_back({ 3, kYear, 0x27 });
    DateTime time {};
    REQUIRE(read_time(FakeChip::read, &chip, time) == TimeError::None);
    CHECK(is(time, 2027, 1, 1, 0, 0, 0));
}

TEST_CASE("rtc: read_time refuses a chip that lost its time or never holds still", "[rtc]")
{
    DateTime time { 2000, 1, 1, 0, 0, 0 };
    FakeChip dead = qemu_chip();
    dead.registers[kRegisterD] = 0;
    CHECK(read_time(FakeChip::read, &dead, time) == TimeError::Invalid);

    FakeChip stuck = qemu_chip();
    stuck.registers[kRegisterA] = kUpdateInProgress;
    CHECK(read_time(FakeChip::read, &stuck, time) == TimeError::NeverSteady);
    CHECK(stuck.reads >= kMaxUipPolls);

    // Every pair of reads disagrees: the seconds change at every read of them.
    FakeChip racing = qemu_chip();
    racing.racing = true;
    CHECK(read_time(FakeChip::read, &racing, time) == TimeError::NeverSteady);

    FakeChip garbage = qemu_chip();
    garbage.registers[kMonth] = 0x1F;
    CHECK(read_time(FakeChip::read, &garbage, time) == TimeError::NotBcd);
    CHECK(is(time, 2000, 1, 1, 0, 0, 0));
}
