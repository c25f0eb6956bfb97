// The Merkle tree of the log (RFC 9162, "Certificate Transparency Version 2.0", section 2.1),
// and its proofs: that an event is in the log a tree head signs, and that a later log extends
// an earlier one.
//
// The leaves are the events' chain hashes in position order (leaf i is the event at position
// i + 1). With SHA-256 and the RFC's domain separation:
//   MTH({})    = SHA-256()
//   MTH({d})   = SHA-256(0x00 || d)                       (a leaf)
//   MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of 2 < n
// An event's chain hash covers its stored bytes and, through its previous hash, every event
// before it (sha256.h); the tree adds proofs of logarithmic size, which the chain alone cannot
// give: the chain shows event p under a head only to whoever reads every event from p to it.
//
// Proofs are built from any source of subtree hashes (RangeHash), so the same code serves a
// vector of leaves in tests and the store-backed tree of the daemon (ledger/merkle_tree.h).
// Thread-safe: pure functions.
#ifndef GOVLEDGER_LEDGER_CRYPTO_MERKLE_H_
#define GOVLEDGER_LEDGER_CRYPTO_MERKLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace govledger::crypto {

// SHA-256(0x00 || data): the hash of a leaf whose data (a chain hash) is `data`.
std::string MerkleLeafHash(absl::string_view data);
// SHA-256(0x01 || left || right): an interior node.
std::string MerkleNodeHash(absl::string_view left, absl::string_view right);
// MTH of no leaves: SHA-256 of nothing.
std::string MerkleEmptyRoot();

// MTH(D[begin:end]) for 0 <= begin < end <= the tree's size, where [begin, end) is a subtree
// of the proof algorithms below: begin is a multiple of the largest power of 2 below
// end - begin (or of end - begin itself, a power of 2).
using RangeHash = std::function<absl::StatusOr<std::string>(uint64_t begin, uint64_t end)>;

// MTH(D[begin:end]) from the leaf hashes of a range (RangeHash's contract), computed by the
// definition: what a RangeHash falls back to below the subtrees it keeps.
std::string MerkleRootOfLeaves(const std::vector<std::string>& leaf_hashes);

// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 PATH),
// deepest sibling first. REQUIRES: index < size.
absl::StatusOr<std::vector<std::string>> MerkleInclusionProof(uint64_t index, uint64_t size,
                                                              const RangeHash& range);
// The consistency proof from the tree of the first `first` leaves to that of the first
// `second` (RFC 9162 PROOF). REQUIRES: 0 < first <= second (empty when equal).
absl::StatusOr<std::vector<std::string>> MerkleConsistencyProof(uint64_t first, uint64_t second,
                                                                const RangeHash& range);
// The root of the first `size` leaves. REQUIRES: size > 0.
absl::StatusOr<std::string> MerkleRoot(uint64_t size, const RangeHash& range);

// Whether `proof` shows leaf hash `leaf_hash` at `index` in the tree of `size` leaves whose
// root is `root` (RFC 9162 section 2.1.3.2).
bool VerifyMerkleInclusion(absl::string_view leaf_hash, uint64_t index, uint64_t size,
                           const std::vector<std::string>& proof, absl::string_view root);
// Whether `proof` shows the tree of `first` leaves with root `first_root` to be a prefix of the
// tree of `second` leaves with root `second_root` (RFC 9162 section 2.1.4.2; first == second
// needs an empty proof and equal roots; first == 0 is consistent with anything, by an empty
// proof).
bool VerifyMerkleConsistency(uint64_t first, uint64_t second, absl::string_view first_root,
                             absl::string_view second_root,
                             const std::vector<std::string>& proof);

}  // namespace govledger::crypto

#endif  // GOVLEDGER_LEDGER_CRYPTO_MERKLE_H_
