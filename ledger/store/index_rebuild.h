// RebuildIndexes: the `streams` and `event_ids` indexes made again from the log (govledgerd
// --rebuild-indexes; FORMAT.md, "Rebuilding the indexes"). Neither index is covered by a hash;
// the log is, so the log is what they are rebuilt from.
#ifndef GOVLEDGER_LEDGER_STORE_INDEX_REBUILD_H_
#define GOVLEDGER_LEDGER_STORE_INDEX_REBUILD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/store/rocksdb_event_store.h"

namespace govledger {

struct IndexRebuildResult {
  uint64_t events = 0;   // read, 1 to the head
  uint64_t streams = 0;  // with an entry in `streams`
  // What the log holds that an index cannot (an event id used twice, a stream version taken
  // twice or skipped: what damaged indexes let in before), the first few, each a sentence
  // naming the positions; and how many there were in all.
  std::vector<std::string> anomalies;
  uint64_t anomaly_count = 0;
  double seconds = 0;
};

// Reads the log from position 1 to the head, checking its chain as `govledger verify` does
// (an index is only rebuilt from a log that verifies), then empties both indexes and puts each
// event's entries again. Where the log holds an event id twice, or a stream version twice, the
// index keeps the first (as appends would have), and each such is an anomaly. DATA_LOSS
// (CHAIN_BROKEN or EVENT_CORRUPT, naming the position) when the log does not verify, with
// nothing changed. A rebuild cut short (a crash) leaves the store's mark
// (IndexRebuildUnfinished), and the next is begun again from position 1.
// REQUIRES: nothing appends to `store` meanwhile.
absl::StatusOr<IndexRebuildResult> RebuildIndexes(RocksDbEventStore& store);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORE_INDEX_REBUILD_H_
