// MerkleTree (ledger/merkle_tree.h): the tree of a store's log, from chunk roots kept in memory
// and leaves read from the store, gives the definition's roots and proofs at every size, as the
// log grows, and names a missing event and one that is not what its hash says.
#include "ledger/merkle_tree.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "govledger/v1/ledger.pb.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"
#include "tests/memory_event_store.h"
#include "ledger/stored_event.h"
#include "tests/forwarding_event_store.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::StatusIs;
using ::testing::HasSubstr;

class MerkleTreeTest : public ::testing::Test {
 protected:
  // Appends events chained as the ledger chains them, up to `size`.
  void GrowTo(uint64_t size) {
    std::vector<EventWrite> writes;
    for (uint64_t p = hashes_.size() + 1; p <= size; ++p) {
      writes.push_back(Chained(p, "payload " + std::to_string(p), prev_));
      hashes_.emplace_back(crypto::AsBytes(prev_));
    }
    ASSERT_TRUE(store_.Write(writes, ChainPoint{size, prev_}).ok());
  }

  // The event at `position` with `payload`, chained to `*prev` (then its hash).
  static EventWrite Chained(uint64_t position, const std::string& payload, crypto::Hash& prev) {
    v1::Event e;
    e.set_position(position);
    e.set_stream_id("s");
    e.set_stream_version(position);
    e.set_payload(payload);
    e.set_prev_hash(std::string(crypto::AsBytes(prev)));
    EventWrite w;
    w.position = position;
    w.stream_id = "s";
    w.stream_version = position;
    w.event_id[0] = static_cast<uint8_t>(position);
    w.event_id[1] = static_cast<uint8_t>(position >> 8);
    w.stored_bytes = ChainRecord(e.SerializeAsString(), prev, &prev);
    return w;
  }

  crypto::RangeHash Naive() const {
    return [this](uint64_t begin, uint64_t end) -> absl::StatusOr<std::string> {
      std::vector<std::string> leaves;
      for (uint64_t i = begin; i < end; ++i) leaves.push_back(crypto::MerkleLeafHash(hashes_[i]));
      return crypto::MerkleRootOfLeaves(leaves);
    };
  }

  // Counts the events the tree reads, and gives `changed` bytes for the events it holds (a log
  // changed on disk).
  class CountingStore final : public ::govledger::testing::ForwardingEventStore {
   public:
    absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) override {
      return ForwardingEventStore::ScanLog(from, forward,
                                           [&](uint64_t position, absl::string_view stored) {
                                             ++read;
                                             auto it = changed.find(position);
                                             return fn(position,
                                                       it == changed.end() ? stored : it->second);
                                           });
    }
    uint64_t read = 0;
    std::map<uint64_t, std::string> changed;
  };

  CountingStore store_;
  std::vector<std::string> hashes_;
  crypto::Hash prev_ = crypto::kGenesisHash;
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

// A stopped tree (a shutdown) ends a long first build after the read in progress (64 chunks),
// UNAVAILABLE, instead of reading the whole log; an extension of one read still answers.
TEST_F(MerkleTreeTest, AStoppedTreeEndsALongBuildAfterOneRead) {
  GrowTo(4 * 64 * 3);  // three reads of 64 chunks of 4
  MerkleTree tree(&store_, /*chunk=*/4);
  ASSERT_TRUE(tree.Root(4 * 64).ok());  // one read
  tree.Stop();
  const uint64_t read = store_.read;
  EXPECT_TRUE(tree.Root(4 * 64 + 4).ok()) << "an extension of one read answers";
  EXPECT_THAT(tree.Root(4 * 64 * 3).status(),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("shutting down")));
  EXPECT_LE(store_.read - read, 4u * 64 * 2) << "it read on after the stop";
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

// The ledger's start verifies only the events after its last verified point: an event changed
// on disk before it, or a log rewritten and chained afresh under a tree built before, must not
// get a root the tree head key would sign. A new tree (a restart) reads and verifies all.
TEST_F(MerkleTreeTest, AnEventThatIsNotWhatItsHashSaysIsDataLossAndNoRootIsGiven) {
  GrowTo(41);
  ASSERT_EQ(*MerkleTree(&store_, 4).Root(41), *Naive()(0, 41));
  // Event 10's payload changed, its hash kept: position 10 does not verify.
  crypto::Hash prev;
  std::copy(hashes_[8].begin(), hashes_[8].end(), prev.begin());
  EventWrite changed = Chained(10, "payload changed", prev);
  const std::string kept_hash = hashes_[9];
  changed.stored_bytes.replace(changed.stored_bytes.size() - 32, 32, kept_hash);
  store_.changed[10] = changed.stored_bytes;
  for (uint64_t chunk : {4, 1024}) {
    MerkleTree tree(&store_, chunk);
    EXPECT_THAT(tree.Root(41).status(),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("hash chain broken at position "
                                                                "10")))
        << chunk;
    EXPECT_THAT(tree.InclusionProof(3, 41).status(),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 10")));
    // The events before it still answer.
    EXPECT_EQ(*tree.Root(9), *Naive()(0, 9)) << chunk;
  }
  // Events 10 to 41 rewritten and chained afresh: every event verifies, and the root is the
  // new log's, not the one a tree built before would have kept.
  crypto::Hash rewritten;
  std::copy(hashes_[8].begin(), hashes_[8].end(), rewritten.begin());
  for (uint64_t p = 10; p <= 41; ++p) {
    store_.changed[p] = Chained(p, "rewritten " + std::to_string(p), rewritten).stored_bytes;
    hashes_[p - 1] = std::string(crypto::AsBytes(rewritten));
  }
  EXPECT_EQ(*MerkleTree(&store_, 4).Root(41), *Naive()(0, 41));
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
