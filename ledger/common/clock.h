// Clock: the ledger's only source of time, passed in so tests can drive time by hand
// (tests/testutil.h, FakeClock).
// Thread-safe implementations only.
#ifndef GOVLEDGER_LEDGER_COMMON_CLOCK_H_
#define GOVLEDGER_LEDGER_COMMON_CLOCK_H_

#include <cstdint>

namespace govledger {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

// The wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_CLOCK_H_
