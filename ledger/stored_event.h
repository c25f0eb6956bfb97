// The stored form of an event and the hash chain over it (ledger/store/FORMAT.md).
//
// Stored bytes = record || 0x7A 0x20 || hash, where record is the serialized v1::Event with
// every field but `hash` set, and hash = SHA-256(prev_hash || record). The whole value parses
// as a v1::Event (0x7A 0x20 is field 15, `hash`, length 32). The hash covers the bytes as
// stored, never a re-serialisation, because protobuf serialisation is not canonical.
#ifndef GOVLEDGER_LEDGER_STORED_EVENT_H_
#define GOVLEDGER_LEDGER_STORED_EVENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/event_store.h"

namespace govledger {

// Bytes of the trailer that carries the hash: tag 0x7A, length 0x20, 32 hash bytes.
inline constexpr size_t kHashTrailerSize = 2 + crypto::kHashSize;

// True when `stored` ends with the hash trailer (a cheap shape check; see VerifyStoredEvent).
bool HasHashTrailer(absl::string_view stored);

// Protobuf wire framing, for building messages from stored bytes without re-encoding them.
void AppendBytesField(int field, absl::string_view bytes, std::string* out);
void AppendVarintField(int field, uint64_t value, std::string* out);

// Chains a serialized record (REQUIRES: an Event with every field but `hash` set, prev_hash
// equal to `prev`) to `prev`: returns the stored bytes and puts the event's hash in *hash.
std::string ChainRecord(std::string record, const crypto::Hash& prev, crypto::Hash* hash);

// Parses stored bytes into an event (hash included). DATA_LOSS if they do not parse or lack
// the hash trailer.
absl::StatusOr<v1::Event> DecodeStoredEvent(uint64_t position, absl::string_view stored);

// The position, stream version, event id, stream id, event type and previous hash of stored
// bytes (fields 10, 11, 1, 2, 3 and 14), read without parsing or copying the rest (the payload is
// skipped); the views point into `stored`. DATA_LOSS if the bytes do not parse as a message.
struct StoredEventKeys {
  uint64_t position = 0;
  uint64_t stream_version = 0;
  absl::string_view event_id;
  absl::string_view stream_id;
  absl::string_view event_type;
  absl::string_view prev_hash;
};
absl::StatusOr<StoredEventKeys> ReadStoredEventKeys(absl::string_view stored);

// The `streams` and `event_ids` indexes are covered by no hash (FORMAT.md): a reader that takes
// an event through one checks that the entry names that event. Each is DATA_LOSS naming
// `position` when `stored`, the event there, is not the one the entry names: INDEX_DAMAGED, or
// as CheckStoredEvent when the event itself fails its own checks (changed, or moved there).
// `stored` is what the stream index gives as version `version` of `stream_id`.
absl::Status CheckStreamIndexEntry(absl::string_view stream_id, uint64_t version, uint64_t position,
                                   absl::string_view stored);
// `stored` is what the event id index gives for `event_id` (any case).
absl::Status CheckEventIdIndexEntry(absl::string_view event_id, uint64_t position,
                                    absl::string_view stored);

// Checks `stored` alone as the event at `position`: trailer present, its hash SHA-256 over the
// previous hash it names and its record, and the record naming this position; not its link to
// the event before (what a reader of some events, not of the chain, can check). Returns the
// previous hash it names and its own, or DATA_LOSS as VerifyStoredEvent.
struct StoredEventHashes {
  crypto::Hash prev;
  crypto::Hash hash;
};
absl::StatusOr<StoredEventHashes> CheckStoredEvent(uint64_t position, absl::string_view stored);

// Checks that `stored` is the event at `position` chained to `prev`: trailer present, its hash
// is SHA-256 over the previous hash it names and its record, and the record names this
// position and `prev`. Returns its hash, or DATA_LOSS (CHAIN_BROKEN or EVENT_CORRUPT) naming
// the position and the first check that failed, in that order: an event changed after it was
// written fails its own hash, while the event after it still chains to the hash stored with
// it; an event replaced with a recomputed hash fails the next event's previous hash.
absl::StatusOr<crypto::Hash> VerifyStoredEvent(uint64_t position, absl::string_view stored,
                                               const crypto::Hash& prev);

// Walks the chain from `start` (a point already trusted) to position `end`, verifying every
// event. Returns the point at `end`, or DATA_LOSS naming the first bad or missing position.
// `progress`, if set, is called with each verified position.
absl::StatusOr<ChainPoint> VerifyChain(EventStore& store, const ChainPoint& start, uint64_t end,
                                       const std::function<void(uint64_t)>& progress = {});

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORED_EVENT_H_
