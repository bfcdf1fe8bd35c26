#include "mc146818.hpp"

namespace mc146818 {

namespace {

constexpr uint8_t kLowNibble = 0x0F;
constexpr uint8_t kDecimalBase = 10;
constexpr uint8_t kHoursPerHalfDay = 12;
constexpr uint16_t kDefaultCentury = 20;
constexpr uint16_t kYearsPerCentury = 100;

// One register as register B codes it: BCD unless DM says binary.
bool field(uint8_t coded, bool binary, uint8_t& value)
{
    if (binary) {
        value = coded;
        return true;
    }
    return from_bcd(coded, value);
}

// The hours register in 12-hour mode: 1-12 with bit 7 for PM; 12 AM is
// midnight (0), 12 PM is noon (12).
TimeError hour_of_12(uint8_t coded, bool binary, uint8_t& hour)
{
    bool pm = coded & kHourPm;
    uint8_t twelve = 0;
    if (!field(static_cast<uint8_t>(coded & ~kHourPm), binary, twelve))
        return TimeError::NotBcd;
    if (twelve < 1 || twelve > kHoursPerHalfDay)
        return TimeError::OutOfRange;
    hour = static_cast<uint8_t>(twelve % kHoursPerHalfDay + (pm ? kHoursPerHalfDay : 0));
    return TimeError::None;
}

bool same(const RawTime& a, const RawTime& b)
{
    return a.second == b.second && a.minute == b.minute && a.hour == b.hour && a.day == b.day && a.month == b.month
        && a.year == b.year && a.century == b.century;
}

// Every time register once, after UIP reads 0; false if it never does.
bool read_once(RegisterReader reader, void* context, RawTime& out)
{
    uint32_t polls = 0;
    while (reader(context, kRegisterA) & kUpdateInProgress) {
        if (++polls == kMaxUipPolls)
            return false;
    }
    out.second = reader(context, kSeconds);
    out.minute = reader(context, kMinutes);
    out.hour = reader(context, kHours);
    out.day = reader(context, kDayOfMonth);
    out.month = reader(context, kMonth);
    out.year = reader(context, kYear);
    out.century = reader(context, kCentury);
    return true;
}

} // namespace

const char* error_name(TimeError error)
{
    switch (error) {
    case TimeError::None: return "no error";
    case TimeError::NotBcd: return "a register is not BCD";
    case TimeError::OutOfRange: return "not a date";
    case TimeError::Invalid: return "the clock lost its time (VRT 0)";
    case TimeError::NeverSteady: return "the registers never held still";
    }
    return "?";
}

bool from_bcd(uint8_t bcd, uint8_t& value)
{
    uint8_t tens = bcd >> 4;
    uint8_t ones = bcd & kLowNibble;
    if (tens >= kDecimalBase || ones >= kDecimalBase)
        return false;
    value = static_cast<uint8_t>(tens * kDecimalBase + ones);
    return true;
}

bool is_leap_year(uint16_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

uint8_t days_in_month(uint16_t year, uint8_t month)
{
    constexpr uint8_t kDays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && is_leap_year(year))
        return 29;
    return kDays[month - 1];
}

bool valid_date(const DateTime& time)
{
    return time.month >= 1 && time.month <= 12 && time.day >= 1 && time.day <= days_in_month(time.year, time.month)
        && time.hour < 24 && time.minute < 60 && time.second < 60;
}

TimeError decode(const RawTime& raw, uint8_t b, DateTime& out)
{
    bool binary = b & kBinary;
    uint8_t year = 0, century = 0;
    DateTime time {};
    if (!field(raw.second, binary, time.second) || !field(raw.minute, binary, time.minute)
        || !field(raw.day, binary, time.day) || !field(raw.month, binary, time.month) || !field(raw.year, binary, year))
        return TimeError::NotBcd;
    if (b & k24Hour) {
        if (!field(raw.hour, binary, time.hour))
            return TimeError::NotBcd;
    } else if (TimeError error = hour_of_12(raw.hour, binary, time.hour); error != TimeError::None) {
        return error;
    }
    if (year >= kYearsPerCentury)
        return TimeError::OutOfRange;
    // The century register is the PC's, not the chip's: anything but 19 or 20
    // (no such register, never written) is taken as 20.
    uint16_t hundreds = kDefaultCentury;
    if (field(raw.century, binary, century) && (century == 19 || century == 20))
        hundreds = century;
    time.year = static_cast<uint16_t>(hundreds * kYearsPerCentury + year);
    if (!valid_date(time))
        return TimeError::OutOfRange;
    out = time;
    return TimeError::None;
}

TimeError read_raw(RegisterReader reader, void* context, RawTime& out)
{
    RawTime last {};
    if (!read_once(reader, context, last))
        return TimeError::NeverSteady;
    for (uint32_t pair = 0; pair < kMaxReadPairs; ++pair) {
        RawTime now {};
        if (!read_once(reader, context, now))
            return TimeError::NeverSteady;
        if (same(now, last)) {
            out = now;
            return TimeError::None;
        }
        last = now;
    }
    return TimeError::NeverSteady;
}

TimeError read_time(RegisterReader reader, void* context, DateTime& out)
{
    if (!(reader(context, kRegisterD) & kValidRamAndTime))
        return TimeError::Invalid;
    RawTime raw {};
    TimeError error = read_raw(reader, context, raw);
    if (error != TimeError::None)
        return error;
    return decode(raw, reader(context, kRegisterB), out);
}

} // namespace mc146818
