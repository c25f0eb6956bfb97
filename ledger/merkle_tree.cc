#include "ledger/merkle_tree.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/errors.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"
#include "ledger/stored_event.h"

namespace govledger {
namespace {

absl::Status MissingEvent(uint64_t position) {
  return absl::DataLossError(
      absl::StrCat("no event at position ", position, " for the Merkle tree"));
}

}  // namespace

MerkleTree::MerkleTree(EventStore* store, uint64_t chunk) : store_(store), chunk_(chunk) {}

absl::StatusOr<std::vector<std::string>> MerkleTree::Leaves(uint64_t begin, uint64_t end) {
  std::vector<std::string> out;
  out.reserve(end - begin);
  // Event `begin`'s hash: the last one read in order, or read again (a proof within a chunk).
  crypto::Hash prev = begin == read_ ? read_hash_ : crypto::kGenesisHash;
  bool have_prev = begin == read_ || begin == 0;
  absl::Status bad;
  RETURN_IF_ERROR(store_->ScanLog(have_prev ? begin + 1 : begin, /*forward=*/true,
                                  [&](uint64_t position, absl::string_view stored) {
    if (!have_prev) {  // event `begin`: the hash the first event of the range chains to
      const absl::string_view hash = StoredEventHash(stored);
      if (position != begin || hash.empty()) {
        bad = position != begin ? MissingEvent(begin) : errors::CorruptEvent(position,
                                                                "stored bytes lack a hash");
        return false;
      }
      std::copy(hash.begin(), hash.end(), prev.begin());
      have_prev = true;
      return true;
    }
    if (position != begin + 1 + out.size()) {
      bad = MissingEvent(begin + 1 + out.size());
      return false;
    }
    absl::StatusOr<crypto::Hash> hash = VerifyStoredEvent(position, stored, prev);
    if (!hash.ok()) {
      bad = hash.status();
      return false;
    }
    prev = *hash;
    out.push_back(crypto::MerkleLeafHash(crypto::AsBytes(prev)));
    return out.size() < end - begin;
  }));
  RETURN_IF_ERROR(bad);
  if (!have_prev) return MissingEvent(begin);
  if (out.size() < end - begin) return MissingEvent(begin + 1 + out.size());
  if (end > read_) {
    read_ = end;
    read_hash_ = prev;
  }
  return out;
}

absl::Status MerkleTree::Extend(uint64_t size) {
  const uint64_t complete = size / chunk_;
  bool first = true;
  while (chunk_roots_.size() < complete) {
    if (!first && stopping_) return errors::ShuttingDown();
    first = false;
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
