// Times given on the command line: every flag that takes a time parses it here, so that they all
// accept the same forms and refuse the same way.
#ifndef GOVLEDGER_CLI_TIME_FLAGS_H_
#define GOVLEDGER_CLI_TIME_FLAGS_H_

#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/events.pb.h"

namespace govledger::cli {

// A time when something took effect (--effective): RFC 3339 (2016-10-05T12:00:00Z), or a date
// YYYY-MM-DD meaning the start of that day, UTC, within the ledger's range and in whole
// microseconds (CheckEffectiveTime). INVALID_ARGUMENT naming `flag` and the text (made
// printable) otherwise.
absl::StatusOr<google::protobuf::Timestamp> ParseEffectiveFlag(absl::string_view flag,
                                                               const std::string& text);

// A point to answer "as at" (--at and the like): RFC 3339, or a date YYYY-MM-DD meaning the last
// microsecond of that day, UTC (everything that day is in), or, for today's date (by this
// machine's clock), now. INVALID_ARGUMENT as above.
absl::StatusOr<google::protobuf::Timestamp> ParseInstantFlag(absl::string_view flag,
                                                             const std::string& text);

// What is wrong with the zone of an RFC 3339 time that protobuf's parser takes (it reads
// "+1:00" and "+23:59"), or "" if nothing: none given ("2016-10-10T00:30:00", a local time that
// may occur twice), an offset not of two digits each, or one beyond any time zone's (-12:00 to
// +14:00). A bare date (YYYY-MM-DD), and text that is no time (whatever follows its seconds
// is neither Z nor an offset), have nothing wrong here: the parser refuses the latter.
std::string TimeZoneProblem(absl::string_view text);

// A calendar date (--signed-on): YYYY-MM-DD exactly, a day of the calendar. INVALID_ARGUMENT
// naming `flag` and the text (made printable) otherwise.
absl::StatusOr<v1::Date> ParseDateFlag(absl::string_view flag, const std::string& text);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_TIME_FLAGS_H_
