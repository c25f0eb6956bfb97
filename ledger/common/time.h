// Times as the ledger holds them: microseconds since the Unix epoch (UTC), converted to and from
// protobuf Timestamps, and written for people. Every fold, rule and comparison of times works in these microseconds
// (append refuses an effective time finer than a microsecond, so nothing is lost).
#ifndef GOVLEDGER_LEDGER_COMMON_TIME_H_
#define GOVLEDGER_LEDGER_COMMON_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>

namespace govledger {

inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

// `t` in microseconds (nanoseconds below a microsecond dropped). A time past what 64 bits of
// microseconds hold (about 292,000 years from 1970, never a valid Timestamp, but one a peer
// can send) is held at the limit.
inline int64_t ToMicros(const google::protobuf::Timestamp& t) {
  int64_t micros;
  if (__builtin_mul_overflow(t.seconds(), kMicrosPerSecond, &micros) ||
      __builtin_add_overflow(micros, int64_t{t.nanos() / 1000}, &micros)) {
    return t.seconds() < 0 ? INT64_MIN : INT64_MAX;
  }
  return micros;
}

// Sets `t` to `micros` (negative ones, before 1970, included: nanos stay in 0..999,999,999).
inline void SetMicros(int64_t micros, google::protobuf::Timestamp* t) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t rest = micros % kMicrosPerSecond;
  if (rest < 0) {
    rest += kMicrosPerSecond;
    --seconds;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(rest * 1000));
}

// `micros` as RFC 3339 in UTC, the form of every time in messages, listings and reports
// (JSON output keeps protobuf's mapping): "2016-12-14T09:30:00Z", or
// "2016-12-14T09:30:00.250000Z" when it has microseconds (always six digits then). Its first
// 10 characters are the UTC date, years before 1000 included ("0500-01-01T00:00:00Z").
std::string FormatRfc3339(int64_t micros);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_TIME_H_
