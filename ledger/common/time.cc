#include "ledger/common/time.h"

#include "absl/time/time.h"

namespace govledger {

std::string FormatRfc3339(int64_t micros) {
  const absl::Time t = absl::FromUnixMicros(micros);
  return absl::FormatTime(micros % kMicrosPerSecond == 0 ? "%Y-%m-%dT%H:%M:%SZ"
                                                         : "%Y-%m-%dT%H:%M:%E6SZ",
                          t, absl::UTCTimeZone());
}

}  // namespace govledger
