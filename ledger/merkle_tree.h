// MerkleTree: the Merkle tree (crypto/merkle.h) of a store's log, for tree heads and proofs.
//
// It keeps in memory the root of every complete, aligned chunk of `chunk` leaves (events
// 1..1024, 1025..2048, ... with the default): 32 bytes a chunk, 32 KB a million events. Each
// call first extends them to the size asked for, reading the new events' hashes from the store;
// any subtree is then a combination of chunk roots and, below a chunk, of at most one chunk's
// leaves read from the store. The leaves of the unfinished chunk at the end of the log are kept
// too (at most chunk - 1 of them, about 80 KB with the default), so that tree heads and proofs
// of a growing log read each of its events once, not once a call; the first call after a start
// reads the whole log (about 1.3 s a million events). The leaves are the events' chain hashes,
// and every event read is verified first, its hash against its stored bytes and its link to
// the one before (DATA_LOSS naming the first that fails): the ledger's start verifies only the
// events after its last verified point, and nothing derived from the log is kept across starts
// (roots saved once were trusted beside a log rewritten under them), so a tree head is never
// signed over events that are not what their hashes say.
//
// Thread-safe: calls are serialized.
#ifndef GOVLEDGER_LEDGER_MERKLE_TREE_H_
#define GOVLEDGER_LEDGER_MERKLE_TREE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/event_store.h"

namespace govledger {

class MerkleTree {
 public:
  // REQUIRES: `store` outlives the tree; chunk is a power of 2.
  explicit MerkleTree(EventStore* store, uint64_t chunk = 1024);

  // Sizes are numbers of events from position 1; each REQUIRES the store to hold events 1 to
  // the size (a published head, never a write not yet synced). DATA_LOSS naming the position
  // when an event is missing.

  // The root of the first `size` events (the empty tree's for 0).
  absl::StatusOr<std::string> Root(uint64_t size);
  // The audit path of the event at `position` in the tree of `size` events.
  // REQUIRES: 1 <= position <= size.
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t position, uint64_t size);
  // The consistency proof from `from` events to `to`. REQUIRES: 1 <= from <= to.
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t from, uint64_t to);

  // Makes a call that still has more than one read of chunks to make (the first build after a
  // start, about 1.3 s a million events) stop after the read in progress, UNAVAILABLE
  // (errors::ShuttingDown), it and every later one; a call that extends the tree by one read
  // or less (a growing log's) still answers. For a shutdown: its wait is bounded by one read,
  // not the log's size. Thread-safe; may be called while a call runs.
  void Stop() { stopping_ = true; }

 private:
  // Adds the roots of the chunks complete within the first `size` events. REQUIRES: mu_ held.
  absl::Status Extend(uint64_t size);
  // The leaf hashes of events begin + 1 to end, each event verified against its stored bytes
  // and chained to the one before (event `begin`'s hash, read too). REQUIRES: mu_ held.
  absl::StatusOr<std::vector<std::string>> Leaves(uint64_t begin, uint64_t end);
  // Leaves(begin, end) of a range within one chunk: from tail_leaves_ (read only past what it
  // holds) when that chunk is the unfinished one. REQUIRES: mu_ held; the chunks within `end`
  // extended.
  absl::StatusOr<std::vector<std::string>> ChunkLeaves(uint64_t begin, uint64_t end);
  // MTH(D[begin:end]) (crypto::RangeHash). REQUIRES: mu_ held; the chunks within `end` extended.
  absl::StatusOr<std::string> RangeHash(uint64_t begin, uint64_t end);

  EventStore* const store_;
  const uint64_t chunk_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::string> chunk_roots_;  // guarded by mu_
  // The first leaves of the chunk after the complete ones (events chunk_roots_.size() * chunk_
  // + 1 on); emptied when that chunk completes. Guarded by mu_.
  std::vector<std::string> tail_leaves_;
  // The events read and verified in order, 1 to read_, and the last one's chain hash. Guarded
  // by mu_.
  uint64_t read_ = 0;
  crypto::Hash read_hash_ = crypto::kGenesisHash;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_MERKLE_TREE_H_
