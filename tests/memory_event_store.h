// MemoryEventStore: an EventStore in memory, for unit tests only (govledgerd always stores in
// RocksDB). Nothing survives the object.
// Thread-safe.
#ifndef GOVLEDGER_TESTS_MEMORY_EVENT_STORE_H_
#define GOVLEDGER_TESTS_MEMORY_EVENT_STORE_H_

#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ledger/store/event_store.h"

namespace govledger {

class MemoryEventStore final : public EventStore {
 public:
  absl::Status Write(const std::vector<EventWrite>& events, const ChainPoint& head) override;
  absl::Status Sync() override;
  absl::StatusOr<ChainPoint> LoadHead() override;
  absl::StatusOr<ChainPoint> LoadVerified() override;
  absl::Status SaveVerified(const ChainPoint& point) override;
  absl::StatusOr<std::optional<std::string>> Get(uint64_t position) override;
  absl::StatusOr<uint64_t> LastPosition() override;
  absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) override;
  absl::StatusOr<uint64_t> StreamVersion(absl::string_view stream_id) override;
  absl::Status ScanStream(absl::string_view stream_id, uint64_t from, bool forward,
                          const StreamVisitor& fn) override;
  absl::StatusOr<std::vector<std::optional<uint64_t>>> FindEventIds(
      const std::vector<UuidBytes>& event_ids) override;
  absl::Status GetMany(const std::vector<uint64_t>& positions, const LogVisitor& fn) override;
  absl::StatusOr<std::optional<std::string>> GetProjection(absl::string_view key) override;
  absl::Status PutProjection(absl::string_view key, absl::string_view value, bool sync) override;
  absl::Status DeleteProjection(absl::string_view key) override;
  absl::Status DropProjections(absl::string_view prefix) override;

 private:
  mutable std::shared_mutex mu_;
  std::vector<std::string> events_;  // events_[p - 1] holds position p
  std::map<std::string, std::vector<uint64_t>, std::less<>> streams_;  // version v at [v - 1]
  std::map<UuidBytes, uint64_t> event_ids_;
  ChainPoint head_;
  ChainPoint verified_;
  // Its own lock: a projection may be written from inside a ScanLog visitor.
  mutable std::mutex projections_mu_;
  std::map<std::string, std::string, std::less<>> projections_;  // guarded by projections_mu_
};

}  // namespace govledger

#endif  // GOVLEDGER_TESTS_MEMORY_EVENT_STORE_H_
