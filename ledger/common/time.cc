#include "ledger/common/time.h"

#include "absl/time/time.h"

namespace govledger {

std::string FormatRfc3339(int64_t micros) {
  const absl::Time t = absl::FromUnixMicros(micros);
  // %4Y: years before 1000 keep four digits, so that the date is always the first 10.
  return absl::FormatTime(micros % kMicrosPerSecond == 0 ? "%4Y-%m-%dT%H:%M:%SZ"
                                                         : "%4Y-%m-%dT%H:%M:%E6SZ",
                          t, absl::UTCTimeZone());
}

}  // namespace govledger
