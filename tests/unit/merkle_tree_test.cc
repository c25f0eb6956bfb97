// MerkleTree (ledger/merkle_tree.h): the tree of a store's log, from chunk roots kept in memory
// and leaves read from the store, gives the definition's roots and proofs at every size, as the
// log grows, and names a missing event.
#include "ledger/merkle_tree.h"

#include <algorithm>
#include <string>
#include <vector>

#include "govledger/internal/snapshot.pb.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/memory_event_store.h"
#include "tests/forwarding_event_store.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::StatusIs;
using ::testing::HasSubstr;

class MerkleTreeTest : public ::testing::Test {
 protected:
  // Appends events whose stored bytes end with distinct 32-byte hashes, up to `size`.
  void GrowTo(uint64_t size) {
    std::vector<EventWrite> writes;
    for (uint64_t p = hashes_.size() + 1; p <= size; ++p) {
      const crypto::Hash h = crypto::Sha256("event", std::to_string(p));
      hashes_.emplace_back(crypto::AsBytes(h));
      EventWrite w;
      w.position = p;
      w.stream_id = "s";
      w.stream_version = p;
      w.event_id[0] = static_cast<uint8_t>(p);
      w.event_id[1] = static_cast<uint8_t>(p >> 8);
      w.stored_bytes = "record" + std::string("\x7a\x20", 2) + hashes_.back();
      writes.push_back(std::move(w));
    }
    ASSERT_TRUE(store_.Write(writes, ChainPoint{size, crypto::Sha256(hashes_.back())}).ok());
  }

  crypto::RangeHash Naive() const {
    return [this](uint64_t begin, uint64_t end) -> absl::StatusOr<std::string> {
      std::vector<std::string> leaves;
      for (uint64_t i = begin; i < end; ++i) leaves.push_back(crypto::MerkleLeafHash(hashes_[i]));
      return crypto::MerkleRootOfLeaves(leaves);
    };
  }

  // Counts the events the tree reads.
  class CountingStore final : public ::govledger::testing::ForwardingEventStore {
   public:
    absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) override {
      return ForwardingEventStore::ScanLog(from, forward,
                                           [&](uint64_t position, absl::string_view stored) {
                                             ++read;
                                             return fn(position, stored);
                                           });
    }
    uint64_t read = 0;
  };

  CountingStore store_;
  std::vector<std::string> hashes_;
};

TEST_F(MerkleTreeTest, RootsAndProofsAreTheDefinitionsAsTheLogGrows) {
  MerkleTree tree(&store_, /*chunk=*/4);
  for (uint64_t size = 1; size <= 37; ++size) {
    GrowTo(size);
    SCOPED_TRACE(size);
    absl::StatusOr<std::string> root = tree.Root(size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, *Naive()(0, size));
    for (uint64_t position = 1; position <= size; ++position) {
      absl::StatusOr<std::vector<std::string>> proof = tree.InclusionProof(position, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(*proof, *crypto::MerkleInclusionProof(position - 1, size, Naive()));
      EXPECT_TRUE(crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(hashes_[position - 1]),
                                                position - 1, size, *proof, *root));
    }
    for (uint64_t from = 1; from <= size; ++from) {
      absl::StatusOr<std::vector<std::string>> proof = tree.ConsistencyProof(from, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(*proof, *crypto::MerkleConsistencyProof(from, size, Naive()));
    }
  }
  // Earlier sizes still answer after the tree has grown past them.
  EXPECT_EQ(*tree.Root(5), *Naive()(0, 5));
  EXPECT_EQ(*tree.Root(0), crypto::MerkleEmptyRoot());
}

TEST_F(MerkleTreeTest, TheDefaultChunkGivesTheSameRoots) {
  GrowTo(2500);
  MerkleTree tree(&store_);
  for (uint64_t size : {1u, 1023u, 1024u, 1025u, 2048u, 2049u, 2500u}) {
    EXPECT_EQ(*tree.Root(size), *Naive()(0, size)) << size;
  }
  const std::vector<std::string> proof = *tree.InclusionProof(1500, 2500);
  EXPECT_TRUE(crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(hashes_[1499]), 1499, 2500,
                                            proof, *tree.Root(2500)));
}

// Tree heads and proofs of a growing log read each event of its unfinished last chunk once,
// not once a call, nor again when the chunk completes.
TEST_F(MerkleTreeTest, EachEventOfTheUnfinishedChunkIsReadOnce) {
  MerkleTree tree(&store_);
  GrowTo(2048 + 1000);
  ASSERT_TRUE(tree.Root(2048 + 1000).ok());
  EXPECT_EQ(store_.read, 2048u + 1000u);
  for (uint64_t size = 2048 + 1001; size <= 2048 + 1030; ++size) {
    SCOPED_TRACE(size);
    GrowTo(size);
    store_.read = 0;
    const absl::StatusOr<std::string> root = tree.Root(size);
    ASSERT_EQ(*root, *Naive()(0, size));
    // The new event only, also when it completes a chunk (at 3,072).
    EXPECT_EQ(store_.read, 1u);
    if (size % 1024 == 0) continue;
    // A proof of an event of the unfinished chunk reads nothing more.
    store_.read = 0;
    const uint64_t position = size - std::min<uint64_t>(3, size % 1024 - 1);
    const std::vector<std::string> proof = *tree.InclusionProof(position, size);
    EXPECT_TRUE(crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(hashes_[position - 1]),
                                              position - 1, size, proof, *root));
    EXPECT_EQ(store_.read, 0u);
  }
}

TEST_F(MerkleTreeTest, SavedChunkRootsAreLoadedWhenTheyMatchTheLog) {
  GrowTo(41);
  {
    MerkleTree tree(&store_, /*chunk=*/4);
    ASSERT_TRUE(tree.Root(41).ok());
    ASSERT_TRUE(tree.Save(/*sync=*/true).ok());
  }
  absl::StatusOr<std::optional<std::string>> bytes =
      store_.GetProjection(MerkleTree::kProjectionKey);
  ASSERT_TRUE(bytes.ok() && bytes->has_value());
  internal::MerkleChunksSnapshot saved;
  ASSERT_TRUE(saved.ParseFromString(**bytes));
  EXPECT_EQ(saved.chunk_size(), 4u);
  EXPECT_EQ(saved.position(), 40u);
  EXPECT_EQ(saved.hash(), hashes_[39]);
  EXPECT_EQ(saved.roots().size(), 10u * 32);

  // A tree loads them: proven by roots altered behind its back, which it then uses.
  internal::MerkleChunksSnapshot altered = saved;
  (*altered.mutable_roots())[0] ^= 1;
  ASSERT_TRUE(store_.PutProjection(MerkleTree::kProjectionKey, altered.SerializeAsString(), true)
                  .ok());
  EXPECT_NE(*MerkleTree(&store_, 4).Root(41), *Naive()(0, 41));
  // Roots saved for another log (the hash at their position differs), or another chunk size,
  // are not used: the tree reads the log.
  altered.set_hash(hashes_[38]);
  ASSERT_TRUE(store_.PutProjection(MerkleTree::kProjectionKey, altered.SerializeAsString(), true)
                  .ok());
  EXPECT_EQ(*MerkleTree(&store_, 4).Root(41), *Naive()(0, 41));
  EXPECT_EQ(*MerkleTree(&store_, 8).Root(41), *Naive()(0, 41));
  ASSERT_TRUE(store_.PutProjection(MerkleTree::kProjectionKey, "not a snapshot", true).ok());
  EXPECT_EQ(*MerkleTree(&store_, 4).Root(41), *Naive()(0, 41));
  // The good ones again: loaded, then extended as the log grows.
  ASSERT_TRUE(store_.PutProjection(MerkleTree::kProjectionKey, saved.SerializeAsString(), true)
                  .ok());
  MerkleTree loaded(&store_, 4);
  EXPECT_EQ(*loaded.Root(41), *Naive()(0, 41));
  GrowTo(50);
  EXPECT_EQ(*loaded.Root(50), *Naive()(0, 50));
}

TEST_F(MerkleTreeTest, AnEventTheStoreDoesNotHoldIsDataLoss) {
  GrowTo(6);
  MerkleTree tree(&store_, /*chunk=*/4);
  EXPECT_THAT(tree.Root(9).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no event at position 7")));
  EXPECT_THAT(tree.InclusionProof(2, 10).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 7")));
  // What it holds still answers.
  EXPECT_EQ(*tree.Root(6), *Naive()(0, 6));
}

}  // namespace
}  // namespace govledger
