#include "projections/event_source.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/uuid.h"
#include "ledger/stored_event.h"

namespace govledger::projections {

absl::StatusOr<std::vector<v1::Event>> VectorEventSource::Read(
    const std::vector<uint64_t>& positions) {
  std::vector<v1::Event> out;
  out.reserve(positions.size());
  for (uint64_t p : positions) {
    if (p == 0 || p > log_.size()) {
      return absl::DataLossError(
          absl::StrCat("the log holds no event at position ", p));
    }
    out.push_back(log_[p - 1]);
    out.back().clear_prev_hash();
    out.back().clear_hash();
  }
  return out;
}

void VectorEventSource::IndexOnce() {
  if (indexed_) return;
  indexed_ = true;
  for (const v1::Event& e : log_) {
    streams_[e.stream_id()].push_back(e.position());
    ids_.emplace(absl::AsciiStrToLower(e.event_id()), e.position());
  }
}

absl::StatusOr<std::vector<uint64_t>> VectorEventSource::StreamPositions(
    absl::string_view stream_id) {
  IndexOnce();
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return std::vector<uint64_t>();
  return it->second;
}

absl::StatusOr<std::optional<uint64_t>> VectorEventSource::FindEvent(
    absl::string_view event_id) {
  IndexOnce();
  auto it = ids_.find(absl::AsciiStrToLower(event_id));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::optional<uint64_t>> StoreEventSource::FindEvent(
    absl::string_view event_id) {
  std::optional<UuidBytes> id = ParseUuid(event_id);
  if (!id) return std::nullopt;
  return store_->FindEventId(*id);
}

absl::StatusOr<std::vector<v1::Event>> StoreEventSource::Read(
    const std::vector<uint64_t>& positions) {
  // The store reads in position order; answers want fold order.
  std::vector<size_t> order(positions.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return positions[a] < positions[b];
  });
  std::vector<uint64_t> sorted(positions.size());
  for (size_t i = 0; i < order.size(); ++i) sorted[i] = positions[order[i]];
  std::vector<v1::Event> out(positions.size());
  size_t i = 0;
  absl::Status damage;  // or a hash that does not match
  absl::Status status = store_->GetMany(
      sorted, [&](uint64_t position, absl::string_view stored) {
        v1::Event& e = out[order[i++]];
        // Each event against its own hash (not its link to the one before, which this read
        // need not hold): an event edited on disk is never folded into an answer.
        if (absl::StatusOr<StoredEventHashes> checked = CheckStoredEvent(position, stored);
            !checked.ok()) {
          damage = checked.status();
          return false;
        }
        if (!e.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
          damage = absl::DataLossError(
              absl::StrCat("the stored event at position ", position, " does not parse"));
          return false;
        }
        e.clear_prev_hash();
        e.clear_hash();
        return true;
      });
  if (!status.ok()) return status;
  if (!damage.ok()) return damage;
  return out;
}

absl::StatusOr<std::vector<uint64_t>> StoreEventSource::StreamPositions(
    absl::string_view stream_id) {
  std::vector<uint64_t> out;
  absl::Status status = store_->ScanStream(
      stream_id, 1, /*forward=*/true, [&](uint64_t, uint64_t position) {
        out.push_back(position);
        return true;
      });
  if (!status.ok()) return status;
  return out;
}

}  // namespace govledger::projections
