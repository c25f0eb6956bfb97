// Dates of the governance record: a payload's Date as an instant and as text, and a
// programme's plan weeks (week 1 starts on its mobilisation date). Used by the rules, the
// queries and the CLI alike.
#ifndef GOVLEDGER_PROJECTIONS_PLAN_DATES_H_
#define GOVLEDGER_PROJECTIONS_PLAN_DATES_H_

#include <cstdint>
#include <string>

#include "govledger/v1/events.pb.h"
#include "ledger/common/time.h"  // kMicrosPerDay

namespace govledger::projections {

inline constexpr int64_t kMicrosPerWeek = 7 * kMicrosPerDay;

// Microseconds since the Unix epoch of a Date at 00:00 UTC (of a Timestamp: ToMicros and
// SetMicros; an instant as text: FormatRfc3339; ledger/common/time.h). A day past its month's
// end counts on into the next month, as a date the rules accept never is.
int64_t DateMicros(const v1::Date& d);
// "2015-05-04".
std::string FormatDate(const v1::Date& d);

// The last microsecond of week `week` of a programme's plan (week 1 starts on
// the mobilisation date); held at the limits of int64 rather than overflow.
int64_t EndOfWeekMicros(const v1::ProgrammeRegistered& programme, int week);
// The plan week `micros` falls in: 0 before mobilisation (not capped at the
// plan's length).
int PlanWeekAt(const v1::ProgrammeRegistered& programme, int64_t micros);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_PLAN_DATES_H_
