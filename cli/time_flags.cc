#include "cli/time_flags.h"

#include <google/protobuf/util/time_util.h>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "cli/printable.h"
#include "ledger/common/numbers.h"
#include "ledger/common/time.h"
#include "ledger/envelope.h"

namespace govledger::cli {
namespace {

// Shaped as a date, YYYY-MM-DD (digits not checked).
bool IsDate(absl::string_view text) {
  return text.size() == 10 && text[4] == '-' && text[7] == '-';
}

}  // namespace

std::string TimeZoneProblem(absl::string_view text) {
  // What follows "YYYY-MM-DDTHH:MM:SS" and any fraction of a second: the zone. Anything else
  // is no time at all, which the parser says.
  if (IsDate(text) || text.size() < 19) return "";
  absl::string_view offset = text.substr(19);
  if (absl::ConsumePrefix(&offset, ".")) {
    while (!offset.empty() && absl::ascii_isdigit(offset.front())) offset.remove_prefix(1);
  }
  if (offset == "Z" || offset == "z") return "";
  if (offset.empty()) {
    return "has no zone: end it with Z (UTC) or an offset, such as +01:00 (British Summer "
           "Time), for the local time may occur twice and means another instant elsewhere";
  }
  if ((offset.front() != '+' && offset.front() != '-') ||
      offset.find_first_not_of("+-:0123456789", 1) != absl::string_view::npos) {
    return "";
  }
  if (offset.size() != 6 || offset[3] != ':' || !absl::ascii_isdigit(offset[1]) ||
      !absl::ascii_isdigit(offset[2]) || !absl::ascii_isdigit(offset[4]) ||
      !absl::ascii_isdigit(offset[5])) {
    return "has an offset not written +HH:MM (two digits each, such as +01:00)";
  }
  const int minutes = ((offset[1] - '0') * 10 + (offset[2] - '0')) * 60 + (offset[4] - '0') * 10 +
                      (offset[5] - '0');
  if ((offset[0] == '+' && minutes > 14 * 60) || (offset[0] == '-' && minutes > 12 * 60)) {
    return absl::StrCat("has the offset ", offset,
                        ", beyond any time zone's (-12:00 to +14:00): a slip, most likely "
                        "(British time is +00:00 or +01:00)");
  }
  return "";
}

namespace {

// `text`, or `text` + `time_of_day` when it is a date, as a Timestamp.
absl::StatusOr<google::protobuf::Timestamp> Parse(absl::string_view flag, const std::string& text,
                                                  absl::string_view time_of_day,
                                                  absl::string_view date_means) {
  google::protobuf::Timestamp t;
  std::string rfc3339 = IsDate(text) ? absl::StrCat(text, time_of_day) : text;
  // RFC 3339 (section 5.6) allows "t" and "z" in lower case; protobuf's parser takes only "T"
  // and "Z".
  if (rfc3339.size() > 10 && rfc3339[10] == 't') rfc3339[10] = 'T';
  if (!rfc3339.empty() && rfc3339.back() == 'z') rfc3339.back() = 'Z';
  // Said of a time well formed but for its zone (anything else gets the message below).
  if (const std::string zone = TimeZoneProblem(text); !zone.empty()) {
    const bool zoneless = absl::StartsWith(zone, "has no zone");
    if (google::protobuf::util::TimeUtil::FromString(zoneless ? rfc3339 + "Z" : rfc3339, &t)) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " '", PrintableText(text), "' ", zone));
    }
  }
  if (text.empty() || !google::protobuf::util::TimeUtil::FromString(rfc3339, &t)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", PrintableText(text),
        "' is not a time: give RFC 3339, e.g. 2016-12-14T09:30:00Z, or a date, e.g. 2016-12-14 (",
        date_means, ", UTC)"));
  }
  return t;
}

}  // namespace

absl::StatusOr<google::protobuf::Timestamp> ParseEffectiveFlag(absl::string_view flag,
                                                               const std::string& text) {
  absl::StatusOr<google::protobuf::Timestamp> t =
      Parse(flag, text, "T00:00:00Z", "the start of that day");
  if (!t.ok()) return t;
  // As the server would refuse it (exit 1), said before any call (exit 2).
  if (absl::Status s = CheckEffectiveTime(*t); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", PrintableText(text), "' ", s.message()));
  }
  if (t->seconds() == 0 && t->nanos() == 0) {  // the rules' refusal of a new event's
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", PrintableText(text),
        "' is 1970-01-01T00:00:00Z, which the ledger refuses for a new event (it is what a "
        "Timestamp left empty holds): leave ",
        flag, " out to date the event when recorded"));
  }
  return t;
}

absl::StatusOr<google::protobuf::Timestamp> ParseInstantFlag(absl::string_view flag,
                                                             const std::string& text) {
  absl::StatusOr<google::protobuf::Timestamp> t =
      Parse(flag, text, "T23:59:59.999999Z", "the end of that day, or now for today");
  if (!t.ok() || !IsDate(text)) return t;
  // Today's date: the day is not over, and a server answers nothing after now. One now for the
  // whole command, so that two flags giving today's date name one point (compare --since
  // today --at today). absl's clock: protobuf's GetCurrentTime gives whole seconds on Debian 12.
  static const google::protobuf::Timestamp now =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  const google::protobuf::Timestamp day_start =
      *t - google::protobuf::util::TimeUtil::MicrosecondsToDuration(kMicrosPerDay - 1);
  if (now < *t && day_start <= now) return now;
  return t;
}

absl::StatusOr<v1::Date> ParseDateFlag(absl::string_view flag, const std::string& text) {
  int y = 0, m = 0, d = 0;
  const std::string_view all(text);
  if (!IsDate(text) || !ParseWholeNumber(all.substr(0, 4), 9999, &y) ||
      !ParseWholeNumber(all.substr(5, 2), 99, &m) || !ParseWholeNumber(all.substr(8, 2), 99, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", PrintableText(text), "' is not a date: give YYYY-MM-DD, e.g. 2016-12-14"));
  }
  if (const absl::CivilDay day(y, m, d);
      day.year() != y || day.month() != m || day.day() != d) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", PrintableText(text), "' is not a day of the calendar"));
  }
  v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

}  // namespace govledger::cli
