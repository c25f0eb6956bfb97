// EventStore: the narrow interface between the ledger and its storage engine.
//
// Write() is called by one thread at a time (the ledger's writer); SaveVerified() by
// Ledger::Open and ~Ledger, never while Write() may run. Sync() may be called from any thread,
// concurrently with Write(), and implementations must allow it: the ledger's sync thread calls
// it, and so do CreateCheckpoint (a backup) and a store's own synced writes (SaveVerified, a
// synced PutProjection, DropProjections), which the writer, the query and warming threads and
// shutdown make. Every other method may be called from any thread at any time, concurrently
// with them. What a store returns is never newer than what its last
// successful Write wrote (which may not be on disk yet: the ledger bounds what it serves by the
// head it published after a Sync). Implementations:
// RocksDbEventStore (what govledgerd runs on) and MemoryEventStore (unit tests only). Both pass
// tests/unit/event_store_test.cc. The stored bytes and their layout are in ledger/store/FORMAT.md.
#ifndef GOVLEDGER_LEDGER_STORE_EVENT_STORE_H_
#define GOVLEDGER_LEDGER_STORE_EVENT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/sha256.h"

namespace govledger {

// A position in the log and the hash of the event there (position 0: the empty log).
struct ChainPoint {
  uint64_t position = 0;
  crypto::Hash hash = crypto::kGenesisHash;
  friend bool operator==(const ChainPoint&, const ChainPoint&) = default;
};

// One event to write.
struct EventWrite {
  uint64_t position = 0;
  std::string stream_id;
  uint64_t stream_version = 0;
  UuidBytes event_id{};
  std::string stored_bytes;  // FORMAT.md: record || 0x7A 0x20 || hash
};

// The hash a stored event ends with (its last crypto::kHashSize bytes; FORMAT.md, "The stored
// event"), or "" when `stored` is too short to hold one. A shape check only: VerifyStoredEvent
// (ledger/stored_event.h) checks the hash itself.
inline absl::string_view StoredEventHash(absl::string_view stored) {
  return stored.size() < crypto::kHashSize ? absl::string_view()
                                           : stored.substr(stored.size() - crypto::kHashSize);
}

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Writes `events` and sets the head to `head` in one atomic write, which this store's reads
  // see at once. It is on disk only once a later Sync returns OK: a crash before that may lose
  // it (with every Write after it), never a Write that an OK Sync followed. REQUIRES: events
  // hold positions head+1, head+2, ... in order, and `head` is the last of them.
  virtual absl::Status Write(const std::vector<EventWrite>& events, const ChainPoint& head) = 0;

  // Puts every Write that returned before the call on disk. May run on another thread
  // concurrently with Write (the ledger writes the next group while the last one syncs).
  virtual absl::Status Sync() = 0;

  // Write then Sync: one commit, on disk when OK is returned (for tests: the ledger
  // writes and syncs apart, to group commits).
  absl::Status Commit(const std::vector<EventWrite>& events, const ChainPoint& head) {
    if (absl::Status s = Write(events, head); !s.ok()) return s;
    return Sync();
  }

  // The head as of the last Write (position 0 for an empty store).
  virtual absl::StatusOr<ChainPoint> LoadHead() = 0;

  // The last point whose chain was verified, as saved by SaveVerified (position 0 if never).
  virtual absl::StatusOr<ChainPoint> LoadVerified() = 0;
  virtual absl::Status SaveVerified(const ChainPoint& point) = 0;

  // The stored bytes of the event at `position`, or nullopt when there is none.
  virtual absl::StatusOr<std::optional<std::string>> Get(uint64_t position) = 0;

  // The highest position holding an event (0: none). In a sound store it is the head's: the
  // ledger refuses to start on one holding events past its head, where an append would
  // overwrite them.
  virtual absl::StatusOr<uint64_t> LastPosition() = 0;

  // Calls fn(position, stored_bytes) for consecutive stored events starting at `from`, in
  // increasing (forward) or decreasing order, until fn returns false or the log ends.
  // The bytes are valid only during the call.
  using LogVisitor = std::function<bool(uint64_t position, absl::string_view stored_bytes)>;
  virtual absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) = 0;

  // The stream's current version (0 when it has no events).
  virtual absl::StatusOr<uint64_t> StreamVersion(absl::string_view stream_id) = 0;

  // Calls fn(version, position) for the stream's events starting at version `from`, in
  // increasing (forward) or decreasing order, until fn returns false, the stream ends, or the
  // next version has no entry (the index is dense: only damage leaves a gap).
  using StreamVisitor = std::function<bool(uint64_t version, uint64_t position)>;
  virtual absl::Status ScanStream(absl::string_view stream_id, uint64_t from, bool forward,
                                  const StreamVisitor& fn) = 0;

  // The position of each event id (nullopt for an unknown id), in the order given: one
  // batched look-up, cheaper per id than one call each.
  virtual absl::StatusOr<std::vector<std::optional<uint64_t>>> FindEventIds(
      const std::vector<UuidBytes>& event_ids) = 0;

  // FindEventIds for one id.
  absl::StatusOr<std::optional<uint64_t>> FindEventId(const UuidBytes& event_id) {
    absl::StatusOr<std::vector<std::optional<uint64_t>>> found = FindEventIds({event_id});
    if (!found.ok()) return found.status();
    return found->front();
  }

  // The stored bytes of the events at `positions` (ascending, each at most the head), visited
  // in that order as fn(position, stored_bytes) until fn returns false. DATA_LOSS naming the
  // position when one is missing. The bytes are valid only during the call.
  virtual absl::Status GetMany(const std::vector<uint64_t>& positions, const LogVisitor& fn) = 0;

  // Projections (FORMAT.md, "projections"): state derived from the log (snapshots of folds),
  // kept beside it but outside the chain. Any writer may rebuild them from the log at any
  // time, so they are written without sync unless the caller asks (PutProjection's `sync`, at
  // a clean shutdown; DropProjections, always): a crash may lose the latest, never the log.
  // The value stored under `key`, or nullopt.
  virtual absl::StatusOr<std::optional<std::string>> GetProjection(absl::string_view key) = 0;
  // Stores `value` under `key`; `sync`: on disk when OK is returned (clean shutdown).
  virtual absl::Status PutProjection(absl::string_view key, absl::string_view value,
                                     bool sync) = 0;
  // Deletes the projection under `key`, if any (not synced, as PutProjection without sync).
  virtual absl::Status DeleteProjection(absl::string_view key) = 0;
  // Deletes every projection whose key starts with `prefix` ("" for all), synced. The log and
  // its indexes are untouched. Projection keys are ASCII.
  virtual absl::Status DropProjections(absl::string_view prefix) = 0;
};

// A projection is saved with its anchor: the position of the log it was made from and the hash
// of the event there. It is used again only while the log still holds that event (a log
// restored from an older backup, or replaced, does not). CheckAnchor is the one way every
// projection's anchor is checked when it is loaded (the governance state, QueryService's
// index); AnchorHash gives the hash to save for those that do not hold it
// already (the governance state saves the hash of the ChainPoint it was folded to).

// The hash of the event at `position`, to save as a projection's anchor; "" for position 0
// (the empty log). DATA_LOSS naming `what` when there is no event there.
inline absl::StatusOr<std::string> AnchorHash(EventStore& store, uint64_t position,
                                              absl::string_view what) {
  if (position == 0) return std::string();
  absl::StatusOr<std::optional<std::string>> stored = store.Get(position);
  if (!stored.ok()) return stored.status();
  const absl::string_view hash = *stored ? StoredEventHash(**stored) : absl::string_view();
  if (hash.empty()) {
    return absl::DataLossError(
        absl::StrCat("no event at position ", position, " to anchor ", what, " to"));
  }
  return std::string(hash);
}

// OK if a projection anchored at (`position`, `hash`) was made from this log: `position` is at
// most `head` and the event there has `hash` (position 0 always matches). Else DATA_LOSS
// naming `what` and the mismatch.
inline absl::Status CheckAnchor(EventStore& store, uint64_t head, uint64_t position,
                                absl::string_view hash, absl::string_view what) {
  if (position > head) {
    return absl::DataLossError(
        absl::StrCat(what, " claims position ", position, ", past the head ", head));
  }
  if (position == 0) return absl::OkStatus();
  absl::StatusOr<std::optional<std::string>> stored = store.Get(position);
  if (!stored.ok()) return stored.status();
  if (!*stored || StoredEventHash(**stored) != hash) {
    return absl::DataLossError(
        absl::StrCat(what, "'s hash at position ", position, " does not match the log's"));
  }
  return absl::OkStatus();
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORE_EVENT_STORE_H_
