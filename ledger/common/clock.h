// Clock: the ledger's only source of time, passed in so tests can drive time by hand.
// Thread-safe implementations only.
#ifndef GOVLEDGER_LEDGER_COMMON_CLOCK_H_
#define GOVLEDGER_LEDGER_COMMON_CLOCK_H_

#include <atomic>
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

// A clock that moves only when told to (for tests). Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_micros) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void Set(int64_t micros) { now_.store(micros); }
  void Advance(int64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_CLOCK_H_
