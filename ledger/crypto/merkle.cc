#include "ledger/crypto/merkle.h"

#include <utility>

#include "ledger/common/status_macros.h"
#include "ledger/crypto/sha256.h"

namespace govledger::crypto {
namespace {

std::string HashString(const Hash& h) { return std::string(AsBytes(h)); }

// The largest power of 2 below n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// PATH(m, D[begin:end]), appended to `out` deepest first.
absl::Status Path(uint64_t m, uint64_t begin, uint64_t end, const RangeHash& range,
                  std::vector<std::string>* out) {
  const uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    RETURN_IF_ERROR(Path(m, begin, begin + k, range, out));
    ASSIGN_OR_RETURN(std::string sibling, range(begin + k, end));
    out->push_back(std::move(sibling));
  } else {
    RETURN_IF_ERROR(Path(m - k, begin + k, end, range, out));
    ASSIGN_OR_RETURN(std::string sibling, range(begin, begin + k));
    out->push_back(std::move(sibling));
  }
  return absl::OkStatus();
}

// SUBPROOF(m, D[begin:end], whole), appended to `out`.
absl::Status Subproof(uint64_t m, uint64_t begin, uint64_t end, bool whole,
                      const RangeHash& range, std::vector<std::string>* out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      ASSIGN_OR_RETURN(std::string h, range(begin, end));
      out->push_back(std::move(h));
    }
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    RETURN_IF_ERROR(Subproof(m, begin, begin + k, whole, range, out));
    ASSIGN_OR_RETURN(std::string right, range(begin + k, end));
    out->push_back(std::move(right));
  } else {
    RETURN_IF_ERROR(Subproof(m - k, begin + k, end, false, range, out));
    ASSIGN_OR_RETURN(std::string left, range(begin, begin + k));
    out->push_back(std::move(left));
  }
  return absl::OkStatus();
}

bool Lsb(uint64_t x) { return (x & 1) != 0; }

}  // namespace

std::string MerkleLeafHash(absl::string_view data) {
  static constexpr char kLeaf[1] = {0x00};
  return HashString(Sha256(absl::string_view(kLeaf, 1), data));
}

std::string MerkleNodeHash(absl::string_view left, absl::string_view right) {
  std::string joined;
  joined.reserve(1 + left.size() + right.size());
  joined.push_back('\x01');
  joined.append(left.data(), left.size());
  joined.append(right.data(), right.size());
  return HashString(Sha256(joined));
}

std::string MerkleEmptyRoot() { return HashString(Sha256("")); }

std::string MerkleRootOfLeaves(const std::vector<std::string>& leaf_hashes) {
  if (leaf_hashes.empty()) return MerkleEmptyRoot();
  // Level by level; an odd node at the end of a level is carried up unchanged, which is the
  // definition's split at the largest power of 2 for every n.
  std::vector<std::string> level = leaf_hashes;
  while (level.size() > 1) {
    std::vector<std::string> up;
    up.reserve((level.size() + 1) / 2);
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      up.push_back(MerkleNodeHash(level[i], level[i + 1]));
    }
    if (level.size() % 2 == 1) up.push_back(std::move(level.back()));
    level = std::move(up);
  }
  return level.front();
}

absl::StatusOr<std::vector<std::string>> MerkleInclusionProof(uint64_t index, uint64_t size,
                                                              const RangeHash& range) {
  if (index >= size) {
    return absl::InvalidArgumentError("a leaf index must be below the tree's size");
  }
  std::vector<std::string> out;
  RETURN_IF_ERROR(Path(index, 0, size, range, &out));
  return out;
}

absl::StatusOr<std::vector<std::string>> MerkleConsistencyProof(uint64_t first, uint64_t second,
                                                                const RangeHash& range) {
  if (first == 0 || first > second) {
    return absl::InvalidArgumentError("a consistency proof needs 0 < first <= second");
  }
  std::vector<std::string> out;
  RETURN_IF_ERROR(Subproof(first, 0, second, true, range, &out));
  return out;
}

absl::StatusOr<std::string> MerkleRoot(uint64_t size, const RangeHash& range) {
  if (size == 0) return MerkleEmptyRoot();
  return range(0, size);
}

bool VerifyMerkleInclusion(absl::string_view leaf_hash, uint64_t index, uint64_t size,
                           const std::vector<std::string>& proof, absl::string_view root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return false;
    if (Lsb(fn) || fn == sn) {
      r = MerkleNodeHash(p, r);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyMerkleConsistency(uint64_t first, uint64_t second, absl::string_view first_root,
                             absl::string_view second_root,
                             const std::vector<std::string>& proof) {
  if (first > second) return false;
  if (first == 0) return proof.empty();
  if (first == second) return proof.empty() && first_root == second_root;
  if (proof.empty()) return false;
  std::vector<std::string> path;
  // A first tree of a power of 2 leaves is a subtree of the second: its root starts the path.
  if ((first & (first - 1)) == 0) path.emplace_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = first - 1, sn = second - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;
    if (Lsb(fn) || fn == sn) {
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

}  // namespace govledger::crypto
