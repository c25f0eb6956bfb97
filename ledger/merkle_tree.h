// MerkleTree: the Merkle tree (crypto/merkle.h) of a store's log, for tree heads and proofs.
//
// It keeps in memory the root of every complete, aligned chunk of `chunk` leaves (events
// 1..1024, 1025..2048, ... with the default): 32 bytes a chunk, 32 KB a million events. Each
// call first extends them to the size asked for, reading the new events' hashes from the store;
// any subtree is then a combination of chunk roots and, below a chunk, of at most one chunk's
// leaves read from the store. The leaves of the unfinished chunk at the end of the log are kept
// too (at most chunk - 1 of them, about 80 KB with the default), so that tree heads and proofs
// of a growing log read each of its events once, not once a call. The roots are saved among the store's projections (key
// `merkle-chunks`, FORMAT.md) by Save and whenever a call has added 1,024 chunks since the last
// save, and the first call after a start loads them if the stored event at their last position
// still has the hash they were saved with; otherwise it reads the whole log's hashes once
// (about 0.7 s a million events). The leaves are the chain hashes the events were stored with,
// which the ledger verified at start (ledger.h): the tree adds no trust of its own, only proofs
// of logarithmic size.
//
// Thread-safe: calls are serialized.
#ifndef GOVLEDGER_LEDGER_MERKLE_TREE_H_
#define GOVLEDGER_LEDGER_MERKLE_TREE_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

  // Saves the chunk roots if any were added since they were loaded or saved; `sync`: on disk
  // when OK is returned. A failure costs the next start a read of the log.
  absl::Status Save(bool sync);

  // The chunks a call adds before the roots are saved without being asked (a crash then
  // costs the next start at most this many chunks' reading).
  static constexpr uint64_t kSaveEveryChunks = 1024;

  // Key of the saved roots among the store's projections.
  static constexpr char kProjectionKey[] = "merkle-chunks";

 private:
  // Loads the saved roots the first time; adds the roots of the chunks complete within the first
  // `size` events. REQUIRES: mu_ held.
  absl::Status Extend(uint64_t size);
  // The saved roots, if they match the log. REQUIRES: mu_ held.
  void Load();
  absl::Status SaveLocked(bool sync);
  // The leaf hashes of events begin + 1 to end. REQUIRES: mu_ held.
  absl::StatusOr<std::vector<std::string>> Leaves(uint64_t begin, uint64_t end);
  // Leaves(begin, end) of a range within one chunk: from tail_leaves_ (read only past what it
  // holds) when that chunk is the unfinished one. REQUIRES: mu_ held; the chunks within `end`
  // extended.
  absl::StatusOr<std::vector<std::string>> ChunkLeaves(uint64_t begin, uint64_t end);
  // MTH(D[begin:end]) (crypto::RangeHash). REQUIRES: mu_ held; the chunks within `end` extended.
  absl::StatusOr<std::string> RangeHash(uint64_t begin, uint64_t end);

  EventStore* const store_;
  const uint64_t chunk_;
  std::mutex mu_;
  std::vector<std::string> chunk_roots_;  // guarded by mu_
  // The first leaves of the chunk after the complete ones (events chunk_roots_.size() * chunk_
  // + 1 on); emptied when that chunk completes. Guarded by mu_.
  std::vector<std::string> tail_leaves_;
  bool loaded_ = false;                    // Load has run; guarded by mu_
  size_t saved_chunks_ = 0;                // chunks the saved roots hold; guarded by mu_
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_MERKLE_TREE_H_
