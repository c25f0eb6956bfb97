#include "tests/memory_event_store.h"

#include <mutex>

#include "absl/strings/match.h"
#include "ledger/common/errors.h"

namespace govledger {

absl::Status MemoryEventStore::Write(const std::vector<EventWrite>& events,
                                     const ChainPoint& head) {
  std::unique_lock lock(mu_);
  for (const EventWrite& e : events) {
    if (e.position != events_.size() + 1) {
      return errors::Storage("commit", "positions must follow the head without a gap");
    }
    events_.push_back(e.stored_bytes);
    streams_[e.stream_id].push_back(e.position);
    event_ids_[e.event_id] = e.position;
  }
  head_ = head;
  return absl::OkStatus();
}

// Memory is as durable as this store gets.
absl::Status MemoryEventStore::Sync() { return absl::OkStatus(); }

absl::StatusOr<ChainPoint> MemoryEventStore::LoadHead() {
  std::shared_lock lock(mu_);
  return head_;
}

absl::StatusOr<ChainPoint> MemoryEventStore::LoadVerified() {
  std::shared_lock lock(mu_);
  return verified_;
}

absl::Status MemoryEventStore::SaveVerified(const ChainPoint& point) {
  std::unique_lock lock(mu_);
  verified_ = point;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryEventStore::Get(uint64_t position) {
  std::shared_lock lock(mu_);
  if (position == 0 || position > events_.size()) return std::nullopt;
  return events_[position - 1];
}

absl::StatusOr<uint64_t> MemoryEventStore::LastPosition() {
  std::shared_lock lock(mu_);
  return events_.size();
}

absl::Status MemoryEventStore::ScanLog(uint64_t from, bool forward, const LogVisitor& fn) {
  std::shared_lock lock(mu_);
  for (uint64_t p = from; p >= 1 && p <= events_.size(); forward ? ++p : --p) {
    if (!fn(p, events_[p - 1])) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MemoryEventStore::StreamVersion(absl::string_view stream_id) {
  std::shared_lock lock(mu_);
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : it->second.size();
}

absl::Status MemoryEventStore::ScanStream(absl::string_view stream_id, uint64_t from,
                                          bool forward, const StreamVisitor& fn) {
  std::shared_lock lock(mu_);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return absl::OkStatus();
  const std::vector<uint64_t>& positions = it->second;
  for (uint64_t v = from; v >= 1 && v <= positions.size(); forward ? ++v : --v) {
    if (!fn(v, positions[v - 1])) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<uint64_t>>> MemoryEventStore::FindEventIds(
    const std::vector<UuidBytes>& event_ids) {
  std::shared_lock lock(mu_);
  std::vector<std::optional<uint64_t>> out;
  out.reserve(event_ids.size());
  for (const UuidBytes& id : event_ids) {
    auto it = event_ids_.find(id);
    out.push_back(it == event_ids_.end() ? std::nullopt : std::optional<uint64_t>(it->second));
  }
  return out;
}

absl::Status MemoryEventStore::GetMany(const std::vector<uint64_t>& positions,
                                       const LogVisitor& fn) {
  std::shared_lock lock(mu_);
  for (uint64_t p : positions) {
    if (p == 0 || p > events_.size()) return errors::CorruptEvent(p, "missing");
    if (!fn(p, events_[p - 1])) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryEventStore::GetProjection(
    absl::string_view key) {
  std::lock_guard lock(projections_mu_);
  auto it = projections_.find(key);
  if (it == projections_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryEventStore::PutProjection(absl::string_view key, absl::string_view value,
                                             bool /*sync*/) {
  std::lock_guard lock(projections_mu_);
  projections_[std::string(key)] = std::string(value);
  return absl::OkStatus();
}

absl::Status MemoryEventStore::DeleteProjection(absl::string_view key) {
  std::lock_guard lock(projections_mu_);
  if (auto it = projections_.find(key); it != projections_.end()) projections_.erase(it);
  return absl::OkStatus();
}

absl::Status MemoryEventStore::DropProjections(absl::string_view prefix) {
  std::lock_guard lock(projections_mu_);
  for (auto it = projections_.lower_bound(prefix);
       it != projections_.end() && absl::StartsWith(it->first, prefix);) {
    it = projections_.erase(it);
  }
  return absl::OkStatus();
}

}  // namespace govledger
