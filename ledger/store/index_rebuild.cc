#include "ledger/store/index_rebuild.h"

#include <chrono>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/uuid.h"
#include "ledger/stored_event.h"

namespace govledger {
namespace {

constexpr size_t kChunk = 10000;       // events' entries per write
constexpr size_t kAnomaliesKept = 20;  // sentences kept of them

}  // namespace

absl::StatusOr<IndexRebuildResult> RebuildIndexes(RocksDbEventStore& store) {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const ChainPoint head, store.LoadHead());
  // The whole chain first, before anything is changed: a log that does not verify leaves the
  // indexes as they were (a rebuild stopped part of the way would leave its mark, and every
  // later start would stop at the damage too, while the events since the last backup could
  // still be exported).
  ASSIGN_OR_RETURN(const ChainPoint verified, VerifyChain(store, ChainPoint{}, head.position));
  if (verified != head) {
    return errors::ChainBroken(head.position,
                               "the head recorded in `meta` names another hash than the event "
                               "there has");
  }
  RETURN_IF_ERROR(store.BeginIndexRebuild());
  IndexRebuildResult result;
  const auto anomaly = [&](std::string sentence) {
    if (result.anomalies.size() < kAnomaliesKept) result.anomalies.push_back(std::move(sentence));
    ++result.anomaly_count;
  };
  absl::flat_hash_map<std::string, uint64_t> versions;  // stream -> last version indexed
  std::vector<RocksDbEventStore::IndexEntry> chunk;
  absl::flat_hash_map<UuidBytes, uint64_t> chunk_ids;  // the chunk's ids -> their positions
  // Puts the chunk's entries, an id an earlier chunk indexed left out.
  const auto flush = [&]() -> absl::Status {
    std::vector<UuidBytes> ids;
    std::vector<size_t> holders;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i].event_id) {
        ids.push_back(*chunk[i].event_id);
        holders.push_back(i);
      }
    }
    ASSIGN_OR_RETURN(const std::vector<std::optional<uint64_t>> found, store.FindEventIds(ids));
    for (size_t k = 0; k < found.size(); ++k) {
      if (!found[k]) continue;
      RocksDbEventStore::IndexEntry& e = chunk[holders[k]];
      anomaly(absl::StrCat("the event at position ", e.position, " has the event id of the one at ",
                           *found[k], "; the index keeps ", *found[k]));
      e.event_id.reset();
    }
    RETURN_IF_ERROR(store.PutIndexEntries(chunk));
    chunk.clear();
    chunk_ids.clear();
    return absl::OkStatus();
  };
  uint64_t expected = 1;
  absl::Status failure;
  RETURN_IF_ERROR(
      store.ScanLog(1, /*forward=*/true, [&](uint64_t position, absl::string_view stored) {
        if (position > head.position) return false;
        if (position != expected++) {  // gone since it was verified: the scan ends at a gap
          failure = errors::CorruptEvent(expected - 1, "missing");
          return false;
        }
        absl::StatusOr<StoredEventKeys> keys = ReadStoredEventKeys(stored);
        if (!keys.ok()) {  // (verified, so only if changed since)
          failure = errors::CorruptEvent(position, "stored bytes do not parse as an event");
          return false;
        }
        RocksDbEventStore::IndexEntry e;
        e.position = position;
        uint64_t& last = versions[std::string(keys->stream_id)];
        if (keys->stream_version <= last) {
          anomaly(absl::StrCat("the event at position ", position, " is version ",
                               keys->stream_version, " of stream '", keys->stream_id,
                               "', not above the stream's version before it (", last,
                               "); the index leaves it out"));
        } else {
          if (keys->stream_version != last + 1) {
            anomaly(absl::StrCat("the log holds no version ", last + 1, " of stream '",
                                 keys->stream_id, "' (the event at position ", position,
                                 " is version ", keys->stream_version,
                                 "): reads of the stream stop at that gap, which no rebuild "
                                 "mends; its events are all in the log (govledger export "
                                 "reads them)"));
          }
          e.stream_id = std::string(keys->stream_id);
          e.stream_version = keys->stream_version;
          last = keys->stream_version;
        }
        if (std::optional<UuidBytes> id = ParseUuid(keys->event_id); !id) {
          anomaly(absl::StrCat("the event at position ", position,
                               " has an event id that is not a "
                               "UUID (",
                               keys->event_id, "); the index holds none for it"));
        } else if (auto [it, first] = chunk_ids.try_emplace(*id, position); !first) {
          anomaly(absl::StrCat("the event at position ", position,
                               " has the event id of the one at ", it->second, "; the index keeps ",
                               it->second));
        } else {
          e.event_id = *id;
        }
        chunk.push_back(std::move(e));
        if (chunk.size() == kChunk) failure = flush();
        return failure.ok();
      }));
  RETURN_IF_ERROR(failure);
  if (expected <= head.position) return errors::CorruptEvent(expected, "missing");
  RETURN_IF_ERROR(flush());
  RETURN_IF_ERROR(store.EndIndexRebuild());
  result.events = head.position;
  result.streams = versions.size();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace govledger
