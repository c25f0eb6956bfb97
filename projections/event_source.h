// EventSource: how the read side fetches the events an answer folds, by
// position, instead of holding the log in memory. Two implementations: over a
// log held in a vector (tests, the benchmark's baseline) and over an EventStore
// (govledgerd: RocksDB point reads, MultiGet).
//
// Events come back as stored (server fields set: position, recorded and
// effective time, actor) without their chain fields (prev_hash, hash): answers
// never show the chain.
//
// Thread-safety: StoreEventSource as its store (several threads when it
// allows); VectorEventSource indexes on first use, so one thread at a time.
#ifndef GOVLEDGER_PROJECTIONS_EVENT_SOURCE_H_
#define GOVLEDGER_PROJECTIONS_EVENT_SOURCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/store/event_store.h"

namespace govledger::projections {

class EventSource {
 public:
  virtual ~EventSource() = default;
  // The events at `positions` (each 1..head, in any order), in that order.
  // DATA_LOSS when one is missing or does not parse.
  virtual absl::StatusOr<std::vector<v1::Event>> Read(
      const std::vector<uint64_t>& positions) = 0;
  // The positions of the stream's events, ascending (none for an unknown
  // stream). DATA_LOSS (INDEX_DAMAGED) when a store's stream index lacks a
  // version or names an event that is not the stream's at that version.
  virtual absl::StatusOr<std::vector<uint64_t>> StreamPositions(
      absl::string_view stream_id) = 0;
  // The position of the event with this id (any case), nullopt if none.
  // DATA_LOSS (INDEX_DAMAGED) when a store's event id index names another event.
  virtual absl::StatusOr<std::optional<uint64_t>> FindEvent(
      absl::string_view event_id) = 0;
};

// Over a log in memory, position order from 1. REQUIRES: `log` outlives it
// and does not change (its streams and ids are indexed on first use).
class VectorEventSource final : public EventSource {
 public:
  explicit VectorEventSource(const std::vector<v1::Event>& log) : log_(log) {}
  absl::StatusOr<std::vector<v1::Event>> Read(
      const std::vector<uint64_t>& positions) override;
  absl::StatusOr<std::vector<uint64_t>> StreamPositions(
      absl::string_view stream_id) override;
  absl::StatusOr<std::optional<uint64_t>> FindEvent(
      absl::string_view event_id) override;

 private:
  void IndexOnce();

  const std::vector<v1::Event>& log_;
  bool indexed_ = false;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> streams_;
  absl::flat_hash_map<std::string, uint64_t> ids_;  // lower case
};

// Over an EventStore. REQUIRES: `store` outlives it.
class StoreEventSource final : public EventSource {
 public:
  explicit StoreEventSource(EventStore* store) : store_(store) {}
  absl::StatusOr<std::vector<v1::Event>> Read(
      const std::vector<uint64_t>& positions) override;
  absl::StatusOr<std::vector<uint64_t>> StreamPositions(
      absl::string_view stream_id) override;
  absl::StatusOr<std::optional<uint64_t>> FindEvent(
      absl::string_view event_id) override;

 private:
  EventStore* const store_;
};

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_EVENT_SOURCE_H_
