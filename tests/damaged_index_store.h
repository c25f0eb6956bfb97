// DamagedIndexStore: a ForwardingEventStore whose `streams` and `event_ids` indexes can be
// damaged as an entry rewritten or deleted in the database would damage them (neither index is
// covered by a hash), for the checks of each reader that takes events through one.
#ifndef GOVLEDGER_TESTS_DAMAGED_INDEX_STORE_H_
#define GOVLEDGER_TESTS_DAMAGED_INDEX_STORE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/common/status_macros.h"
#include "tests/forwarding_event_store.h"

namespace govledger::testing {

class DamagedIndexStore : public ForwardingEventStore {
 public:
  // FindEventIds finds every id at this position (0: the index as written)...
  std::atomic<uint64_t> every_id_at = 0;
  // ... or, when this is set, only this id there.
  std::optional<UuidBytes> misdirected_id;  // set before use
  // Stream `misindexed_stream`'s entry for `misindexed_version` names the event at
  // `misindexed_to` (0: as written).
  std::string misindexed_stream;  // set before use
  uint64_t misindexed_version = 1;
  uint64_t misindexed_to = 0;
  // That stream's index has no entry for this version (0: none): a scan ends there, as
  // RocksDB's ends at a gap in the dense versions.
  uint64_t unindexed_version = 0;

  absl::StatusOr<std::vector<std::optional<uint64_t>>> FindEventIds(
      const std::vector<UuidBytes>& ids) override {
    ASSIGN_OR_RETURN(std::vector<std::optional<uint64_t>> found,
                     ForwardingEventStore::FindEventIds(ids));
    for (size_t i = 0; i < ids.size() && every_id_at != 0; ++i) {
      if (!misdirected_id || ids[i] == *misdirected_id) found[i] = every_id_at.load();
    }
    return found;
  }
  absl::Status ScanStream(absl::string_view stream_id, uint64_t from, bool forward,
                          const StreamVisitor& fn) override {
    return ForwardingEventStore::ScanStream(
        stream_id, from, forward, [&](uint64_t version, uint64_t position) {
          if (stream_id == misindexed_stream && version == unindexed_version) return false;
          const bool misindexed =
              stream_id == misindexed_stream && version == misindexed_version && misindexed_to != 0;
          return fn(version, misindexed ? misindexed_to : position);
        });
  }
};

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_DAMAGED_INDEX_STORE_H_
