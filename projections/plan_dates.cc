#include "projections/plan_dates.h"

#include <limits>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace govledger::projections {

int64_t DateMicros(const v1::Date& d) {
  return absl::ToUnixMicros(
      absl::FromCivil(absl::CivilDay(d.year(), d.month(), d.day()), absl::UTCTimeZone()));
}

std::string FormatDate(const v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

int64_t EndOfWeekMicros(const v1::ProgrammeRegistered& programme, int week) {
  // A plan is at most 100 years from 1900-2199 (the rules), so this never
  // overflows for what this version accepts; held at the limit for the rest.
  const int64_t start = DateMicros(programme.mobilisation_date());
  int64_t length, end;
  if (__builtin_mul_overflow(int64_t{week}, kMicrosPerWeek, &length) ||
      __builtin_add_overflow(start, length, &end)) {
    return week < 0 ? std::numeric_limits<int64_t>::min()
                    : std::numeric_limits<int64_t>::max();
  }
  return end - 1;
}

int PlanWeekAt(const v1::ProgrammeRegistered& programme, int64_t micros) {
  const int64_t start = DateMicros(programme.mobilisation_date());
  if (micros < start) return 0;
  // micros - start can pass int64 (micros near its top, start before 1970),
  // not uint64; and 2^64 microseconds are about 30.5 million weeks, an int.
  const uint64_t since = static_cast<uint64_t>(micros) - static_cast<uint64_t>(start);
  return static_cast<int>(since / kMicrosPerWeek) + 1;
}

}  // namespace govledger::projections
