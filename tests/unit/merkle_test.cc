// The log's Merkle tree and its proofs (ledger/crypto/merkle.h): RFC 9162's known answers, the
// definition computed naively for every size up to 70, every proof verifying, and every proof
// refused once anything in it or about it is changed.
#include "ledger/crypto/merkle.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "ledger/crypto/sha256.h"
#include "tests/testutil.h"

namespace govledger::crypto {
namespace {

// MTH(D[begin:end]) straight from the definition.
std::string Naive(const std::vector<std::string>& leaves, uint64_t begin, uint64_t end) {
  if (end - begin == 1) return MerkleLeafHash(leaves[begin]);
  uint64_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return MerkleNodeHash(Naive(leaves, begin, begin + k), Naive(leaves, begin + k, end));
}

std::vector<std::string> Leaves(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(ToHex(std::string(1, static_cast<char>(i))));
  return out;
}

RangeHash NaiveRange(const std::vector<std::string>& leaves) {
  return [&leaves](uint64_t begin, uint64_t end) -> absl::StatusOr<std::string> {
    return Naive(leaves, begin, end);
  };
}

std::string Flip(std::string s, size_t byte) {
  s[byte % s.size()] ^= 0x01;
  return s;
}

// The test vectors of RFC 6962's reference implementation (certificate-transparency,
// merkle_tree_test): eight leaves, and the root of each prefix.
TEST(MerkleTest, KnownAnswers) {
  EXPECT_EQ(ToHex(MerkleEmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::vector<std::string> leaves = {
      "",         absl::HexStringToBytes("00"),       absl::HexStringToBytes("10"),
      absl::HexStringToBytes("2021"),                 absl::HexStringToBytes("3031"),
      absl::HexStringToBytes("40414243"),             absl::HexStringToBytes("5051525354555657"),
      absl::HexStringToBytes("606162636465666768696a6b6c6d6e6f")};
  const std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (size_t n = 1; n <= leaves.size(); ++n) {
    SCOPED_TRACE(n);
    std::vector<std::string> hashes;
    for (size_t i = 0; i < n; ++i) hashes.push_back(MerkleLeafHash(leaves[i]));
    EXPECT_EQ(ToHex(MerkleRootOfLeaves(hashes)), roots[n - 1]);
    EXPECT_EQ(ToHex(Naive(leaves, 0, n)), roots[n - 1]);
  }
}

TEST(MerkleTest, TheRootOfLeavesIsTheDefinitionForEverySize) {
  const std::vector<std::string> leaves = Leaves(70);
  for (size_t n = 1; n <= leaves.size(); ++n) {
    std::vector<std::string> hashes;
    for (size_t i = 0; i < n; ++i) hashes.push_back(MerkleLeafHash(leaves[i]));
    EXPECT_EQ(MerkleRootOfLeaves(hashes), Naive(leaves, 0, n)) << n;
  }
}

TEST(MerkleTest, EveryInclusionProofVerifiesAndNothingElseDoes) {
  const std::vector<std::string> leaves = Leaves(40);
  const RangeHash range = NaiveRange(leaves);
  for (uint64_t size = 1; size <= leaves.size(); ++size) {
    const std::string root = Naive(leaves, 0, size);
    for (uint64_t i = 0; i < size; ++i) {
      SCOPED_TRACE(::testing::PrintToString(std::make_pair(i, size)));
      absl::StatusOr<std::vector<std::string>> proof = MerkleInclusionProof(i, size, range);
      ASSERT_TRUE(proof.ok()) << proof.status();
      const std::string leaf = MerkleLeafHash(leaves[i]);
      EXPECT_TRUE(VerifyMerkleInclusion(leaf, i, size, *proof, root));
      EXPECT_FALSE(VerifyMerkleInclusion(Flip(leaf, i), i, size, *proof, root));
      EXPECT_FALSE(VerifyMerkleInclusion(leaf, i, size, *proof, Flip(root, size)));
      if (size > 1) {
        EXPECT_FALSE(VerifyMerkleInclusion(leaf, (i + 1) % size, size, *proof, root));
      }
      EXPECT_FALSE(VerifyMerkleInclusion(leaf, size, size, *proof, root));
      for (size_t p = 0; p < proof->size(); ++p) {
        std::vector<std::string> bad = *proof;
        bad[p] = Flip(bad[p], p);
        EXPECT_FALSE(VerifyMerkleInclusion(leaf, i, size, bad, root));
      }
      if (!proof->empty()) {
        std::vector<std::string> shorter(proof->begin(), proof->end() - 1);
        EXPECT_FALSE(VerifyMerkleInclusion(leaf, i, size, shorter, root));
      }
      std::vector<std::string> longer = *proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyMerkleInclusion(leaf, i, size, longer, root));
    }
  }
}

TEST(MerkleTest, EveryConsistencyProofVerifiesAndNothingElseDoes) {
  const std::vector<std::string> leaves = Leaves(40);
  const RangeHash range = NaiveRange(leaves);
  for (uint64_t second = 1; second <= leaves.size(); ++second) {
    const std::string second_root = Naive(leaves, 0, second);
    for (uint64_t first = 1; first <= second; ++first) {
      SCOPED_TRACE(::testing::PrintToString(std::make_pair(first, second)));
      const std::string first_root = Naive(leaves, 0, first);
      absl::StatusOr<std::vector<std::string>> proof =
          MerkleConsistencyProof(first, second, range);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(proof->empty(), first == second);
      EXPECT_TRUE(VerifyMerkleConsistency(first, second, first_root, second_root, *proof));
      EXPECT_FALSE(
          VerifyMerkleConsistency(first, second, Flip(first_root, 1), second_root, *proof));
      EXPECT_FALSE(
          VerifyMerkleConsistency(first, second, first_root, Flip(second_root, 2), *proof));
      for (size_t p = 0; p < proof->size(); ++p) {
        std::vector<std::string> bad = *proof;
        bad[p] = Flip(bad[p], p);
        EXPECT_FALSE(VerifyMerkleConsistency(first, second, first_root, second_root, bad));
      }
      if (first < second && first > 1) {
        EXPECT_FALSE(
            VerifyMerkleConsistency(first - 1, second, first_root, second_root, *proof));
      }
      // A log that rewrote history: a second tree whose leaf `first - 1` changed.
      std::vector<std::string> rewritten = leaves;
      rewritten[first - 1] += "!";
      EXPECT_FALSE(VerifyMerkleConsistency(first, second, first_root,
                                           Naive(rewritten, 0, second), *proof));
    }
  }
  EXPECT_TRUE(VerifyMerkleConsistency(0, 5, "", Naive(leaves, 0, 5), {}));
  EXPECT_FALSE(VerifyMerkleConsistency(3, 2, Naive(leaves, 0, 3), Naive(leaves, 0, 2), {}));
}

TEST(MerkleTest, ProofsOfImpossibleRangesAreRefused) {
  const std::vector<std::string> leaves = Leaves(4);
  const RangeHash range = NaiveRange(leaves);
  EXPECT_FALSE(MerkleInclusionProof(4, 4, range).ok());
  EXPECT_FALSE(MerkleConsistencyProof(0, 4, range).ok());
  EXPECT_FALSE(MerkleConsistencyProof(3, 2, range).ok());
  // A source that fails: its error, as it is.
  const RangeHash broken = [](uint64_t, uint64_t) -> absl::StatusOr<std::string> {
    return absl::DataLossError("no event at position 3");
  };
  EXPECT_EQ(MerkleInclusionProof(1, 4, broken).status().message(), "no event at position 3");
}

}  // namespace
}  // namespace govledger::crypto
