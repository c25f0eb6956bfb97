#include "ledger/merkle_tree.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/common/status_macros.h"
#include "govledger/internal/snapshot.pb.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"

namespace govledger {

MerkleTree::MerkleTree(EventStore* store, uint64_t chunk) : store_(store), chunk_(chunk) {}

absl::StatusOr<std::vector<std::string>> MerkleTree::Leaves(uint64_t begin, uint64_t end) {
  std::vector<std::string> out;
  out.reserve(end - begin);
  absl::Status bad;
  RETURN_IF_ERROR(store_->ScanLog(begin + 1, /*forward=*/true,
                                  [&](uint64_t position, absl::string_view stored) {
    if (position != begin + 1 + out.size()) {
      bad = absl::DataLossError(absl::StrCat("no event at position ", begin + 1 + out.size(),
                                             " for the Merkle tree"));
      return false;
    }
    const absl::string_view hash = StoredEventHash(stored);
    if (hash.empty()) {
      bad = absl::DataLossError(
          absl::StrCat("the event at position ", position, " is too short to hold a hash"));
      return false;
    }
    out.push_back(crypto::MerkleLeafHash(hash));
    return out.size() < end - begin;
  }));
  RETURN_IF_ERROR(bad);
  if (out.size() < end - begin) {
    return absl::DataLossError(absl::StrCat("no event at position ", begin + 1 + out.size(),
                                            " for the Merkle tree"));
  }
  return out;
}

void MerkleTree::Load() {
  loaded_ = true;
  absl::StatusOr<std::optional<std::string>> bytes = store_->GetProjection(kProjectionKey);
  if (!bytes.ok() || !bytes->has_value()) return;
  internal::MerkleChunksSnapshot saved;
  if (!saved.ParseFromString(**bytes) || saved.chunk_size() != chunk_ ||
      saved.position() % chunk_ != 0 || saved.roots().size() % crypto::kHashSize != 0 ||
      saved.roots().size() / crypto::kHashSize != saved.position() / chunk_ ||
      saved.position() == 0) {
    return;
  }
  // The log still holds, at the last position the roots cover, the event they were made from
  // (the chain, verified at start, then vouches for every event before it). No bound on the
  // position: an event stored there is within the log, whose end the start-up checks.
  if (!CheckAnchor(*store_, UINT64_MAX, saved.position(), saved.hash(), "the saved Merkle tree")
           .ok()) {
    return;
  }
  for (size_t at = 0; at < saved.roots().size(); at += crypto::kHashSize) {
    chunk_roots_.push_back(saved.roots().substr(at, crypto::kHashSize));
  }
  saved_chunks_ = chunk_roots_.size();
}

absl::Status MerkleTree::SaveLocked(bool sync) {
  if (chunk_roots_.size() == saved_chunks_) return absl::OkStatus();
  internal::MerkleChunksSnapshot saved;
  saved.set_chunk_size(chunk_);
  saved.set_position(chunk_roots_.size() * chunk_);
  ASSIGN_OR_RETURN(*saved.mutable_hash(),
                   AnchorHash(*store_, saved.position(), "the Merkle tree"));
  std::string* roots = saved.mutable_roots();
  roots->reserve(chunk_roots_.size() * crypto::kHashSize);
  for (const std::string& root : chunk_roots_) roots->append(root);
  RETURN_IF_ERROR(store_->PutProjection(kProjectionKey, saved.SerializeAsString(), sync));
  saved_chunks_ = chunk_roots_.size();
  return absl::OkStatus();
}

absl::Status MerkleTree::Save(bool sync) {
  std::lock_guard<std::mutex> lock(mu_);
  return SaveLocked(sync);
}

absl::Status MerkleTree::Extend(uint64_t size) {
  if (!loaded_) Load();
  const uint64_t complete = size / chunk_;
  while (chunk_roots_.size() < complete) {
    const uint64_t begin = chunk_roots_.size() * chunk_;
    // Up to 64 chunks per read: one scan, bounded memory.
    const uint64_t end = std::min(complete, chunk_roots_.size() + 64) * chunk_;
    // The first chunk's leaves already kept are not read again.
    std::vector<std::string> leaves = std::move(tail_leaves_);
    tail_leaves_.clear();
    ASSIGN_OR_RETURN(std::vector<std::string> more, Leaves(begin + leaves.size(), end));
    leaves.insert(leaves.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
    for (uint64_t at = 0; at < leaves.size(); at += chunk_) {
      chunk_roots_.push_back(crypto::MerkleRootOfLeaves(std::vector<std::string>(
          std::make_move_iterator(leaves.begin() + at),
          std::make_move_iterator(leaves.begin() + at + chunk_))));
    }
  }
  if (chunk_roots_.size() >= saved_chunks_ + kSaveEveryChunks) {
    // A failure only costs the next start a longer read.
    SaveLocked(/*sync=*/false).IgnoreError();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MerkleTree::RangeHash(uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if (n == chunk_ && begin % chunk_ == 0) return chunk_roots_[begin / chunk_];
  if (n > chunk_) {
    // Split as the definition does; the left part is a power of 2 of at least a chunk, aligned.
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    ASSIGN_OR_RETURN(std::string left, RangeHash(begin, begin + k));
    ASSIGN_OR_RETURN(std::string right, RangeHash(begin + k, end));
    return crypto::MerkleNodeHash(left, right);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> leaves, ChunkLeaves(begin, end));
  return crypto::MerkleRootOfLeaves(leaves);
}

absl::StatusOr<std::vector<std::string>> MerkleTree::ChunkLeaves(uint64_t begin, uint64_t end) {
  const uint64_t tail = chunk_roots_.size() * chunk_;
  if (begin < tail) return Leaves(begin, end);
  const uint64_t held = tail + tail_leaves_.size();
  if (end > held) {
    ASSIGN_OR_RETURN(std::vector<std::string> more, Leaves(held, end));
    tail_leaves_.insert(tail_leaves_.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
  }
  return std::vector<std::string>(tail_leaves_.begin() + (begin - tail),
                                  tail_leaves_.begin() + (end - tail));
}

absl::StatusOr<std::string> MerkleTree::Root(uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Extend(size));
  return crypto::MerkleRoot(size, [this](uint64_t b, uint64_t e) { return RangeHash(b, e); });
}

absl::StatusOr<std::vector<std::string>> MerkleTree::InclusionProof(uint64_t position,
                                                                    uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Extend(size));
  return crypto::MerkleInclusionProof(position - 1, size,
                                      [this](uint64_t b, uint64_t e) { return RangeHash(b, e); });
}

absl::StatusOr<std::vector<std::string>> MerkleTree::ConsistencyProof(uint64_t from,
                                                                      uint64_t to) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Extend(to));
  return crypto::MerkleConsistencyProof(from, to,
                                        [this](uint64_t b, uint64_t e) { return RangeHash(b, e); });
}

}  // namespace govledger
