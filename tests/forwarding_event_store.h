// ForwardingEventStore: an EventStore that passes every call to a MemoryEventStore it owns, for
// tests to override the calls they watch or break (a failing write, a counted scan).
#ifndef GOVLEDGER_TESTS_FORWARDING_EVENT_STORE_H_
#define GOVLEDGER_TESTS_FORWARDING_EVENT_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "ledger/store/event_store.h"
#include "tests/memory_event_store.h"

namespace govledger::testing {

class ForwardingEventStore : public EventStore {
 public:
  absl::Status Write(const std::vector<EventWrite>& events, const ChainPoint& head) override {
    return base_.Write(events, head);
  }
  absl::Status Sync() override { return base_.Sync(); }
  absl::StatusOr<ChainPoint> LoadHead() override { return base_.LoadHead(); }
  absl::StatusOr<ChainPoint> LoadVerified() override { return base_.LoadVerified(); }
  absl::Status SaveVerified(const ChainPoint& p) override { return base_.SaveVerified(p); }
  absl::StatusOr<std::optional<std::string>> Get(uint64_t p) override { return base_.Get(p); }
  absl::StatusOr<uint64_t> LastPosition() override { return base_.LastPosition(); }
  absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) override {
    return base_.ScanLog(from, forward, fn);
  }
  absl::StatusOr<uint64_t> StreamVersion(absl::string_view stream_id) override {
    return base_.StreamVersion(stream_id);
  }
  absl::Status ScanStream(absl::string_view stream_id, uint64_t from, bool forward,
                          const StreamVisitor& fn) override {
    return base_.ScanStream(stream_id, from, forward, fn);
  }
  absl::StatusOr<std::vector<std::optional<uint64_t>>> FindEventIds(
      const std::vector<UuidBytes>& ids) override {
    return base_.FindEventIds(ids);
  }
  absl::Status GetMany(const std::vector<uint64_t>& positions, const LogVisitor& fn) override {
    return base_.GetMany(positions, fn);
  }
  absl::StatusOr<std::optional<std::string>> GetProjection(absl::string_view key) override {
    return base_.GetProjection(key);
  }
  absl::Status PutProjection(absl::string_view key, absl::string_view value,
                             bool sync) override {
    return base_.PutProjection(key, value, sync);
  }
  absl::Status DeleteProjection(absl::string_view key) override {
    return base_.DeleteProjection(key);
  }
  absl::Status DropProjections(absl::string_view prefix) override {
    return base_.DropProjections(prefix);
  }

 private:
  MemoryEventStore base_;
};

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_FORWARDING_EVENT_STORE_H_
