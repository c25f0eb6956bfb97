#include "projections/event_source.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
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
  ASSIGN_OR_RETURN(std::optional<uint64_t> position, store_->FindEventId(*id));
  if (!position) return std::nullopt;
  // The index is covered by no hash: its entry must name the event with this id.
  ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->Get(*position));
  if (!stored) return errors::CorruptEvent(*position, "indexed by event id but missing");
  RETURN_IF_ERROR(CheckEventIdIndexEntry(event_id, *position, *stored));
  return position;
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
  // Read before the scan: appends only add versions, so the scan sees at least these.
  ASSIGN_OR_RETURN(const uint64_t last, store_->StreamVersion(stream_id));
  std::vector<uint64_t> out;
  RETURN_IF_ERROR(
      store_->ScanStream(stream_id, 1, /*forward=*/true, [&](uint64_t, uint64_t position) {
        out.push_back(position);
        return true;
      }));
  // The index is covered by no hash: the scan, which ends at a version the index lacks, reaches
  // the stream's last, and each entry names the stream's own event at that version (read in
  // position order, as GetMany needs).
  if (out.size() < last) return errors::StreamVersionMissing(stream_id, out.size() + 1, last);
  std::vector<std::pair<uint64_t, uint64_t>> entries;  // (position, version)
  entries.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) entries.emplace_back(out[i], i + 1);
  std::sort(entries.begin(), entries.end());
  std::vector<uint64_t> positions(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) positions[i] = entries[i].first;
  absl::Status damage;
  size_t i = 0;
  RETURN_IF_ERROR(store_->GetMany(positions, [&](uint64_t position, absl::string_view stored) {
    damage = CheckStreamIndexEntry(stream_id, entries[i++].second, position, stored);
    return damage.ok();
  }));
  RETURN_IF_ERROR(damage);
  return out;
}

}  // namespace govledger::projections
