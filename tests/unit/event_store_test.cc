// The EventStore contract, one suite for every implementation (MemoryEventStore and
// RocksDbEventStore), plus what only the RocksDB store promises: durability across reopen, one
// opener per directory, and refusing another storage format version.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/store/acknowledged_head.h"
#include "ledger/store/event_store.h"
#include "tests/memory_event_store.h"
#include "ledger/store/rocksdb_event_store.h"
#include "rocksdb/db.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::IsOk;
using ::govledger::testing::IsOkAndHolds;
using ::govledger::testing::StatusIs;
using ::govledger::testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

// Deterministic content for the event at `position`: binary, with NUL and 0xFF bytes, so a
// store that treats values as C strings fails; like every event's stored bytes, it ends with the
// event's hash (HashFor), which a store reads as such (StoredEventHash).
std::string RecordFor(uint64_t position) {
  return absl::StrCat("event-", position, absl::string_view("\0\xff\x7a\x20", 4),
                      std::string(position % 7, 'x'));
}
crypto::Hash HashFor(uint64_t position) { return crypto::Sha256(RecordFor(position)); }
std::string StoredFor(uint64_t position) {
  return absl::StrCat(RecordFor(position), crypto::AsBytes(HashFor(position)));
}

UuidBytes IdFor(uint64_t position) {
  UuidBytes id{};
  id[0] = 0xAB;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(position >> (8 * i));
  return id;
}

using VersionAt = std::pair<uint64_t, uint64_t>;  // (stream version, position)
VersionAt VP(uint64_t version, uint64_t position) { return {version, position}; }

using ::govledger::testing::Range;

// ---- The implementations under test, each made fresh for every test. ----

struct StoreKind {
  std::string name;
  // Makes an empty store; `dir` is a fresh directory the store may use.
  std::function<absl::StatusOr<std::unique_ptr<EventStore>>(const std::string& dir)> make;
};

const StoreKind kMemory{"Memory", [](const std::string&) -> absl::StatusOr<std::unique_ptr<EventStore>> {
                          return std::make_unique<MemoryEventStore>();
                        }};
const StoreKind kRocksDb{
    "RocksDb", [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<EventStore>> {
      absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
          RocksDbEventStore::Open(dir + "/db");
      if (!store.ok()) return store.status();
      return std::unique_ptr<EventStore>(std::move(*store));
    }};

void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

class EventStoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EventStore>> store = GetParam().make(dir_.path());
    ASSERT_OK(store);
    store_ = std::move(*store);
  }

  // Commits one event per entry of `streams`, as the ledger would: next positions, next
  // stream versions, the head at the last of them.
  absl::Status CommitTo(const std::vector<std::string>& streams) {
    std::vector<EventWrite> writes;
    for (const std::string& stream : streams) {
      EventWrite& w = writes.emplace_back();
      w.position = ++last_position_;
      w.stream_id = stream;
      w.stream_version = ++versions_[stream];
      w.event_id = IdFor(w.position);
      w.stored_bytes = StoredFor(w.position);
      stream_positions_[stream].push_back(w.position);
    }
    return store_->Commit(writes, ChainPoint{last_position_, HashFor(last_position_)});
  }

  std::vector<uint64_t> ScanLog(uint64_t from, bool forward, size_t max = SIZE_MAX) {
    std::vector<uint64_t> seen;
    EXPECT_OK(store_->ScanLog(from, forward, [&](uint64_t p, absl::string_view bytes) {
      EXPECT_EQ(bytes, StoredFor(p)) << "position " << p;
      seen.push_back(p);
      return seen.size() < max;
    }));
    return seen;
  }

  // (version, position) pairs.
  std::vector<std::pair<uint64_t, uint64_t>> ScanStream(absl::string_view stream, uint64_t from,
                                                        bool forward, size_t max = SIZE_MAX) {
    std::vector<std::pair<uint64_t, uint64_t>> seen;
    EXPECT_OK(store_->ScanStream(stream, from, forward, [&](uint64_t v, uint64_t p) {
      seen.emplace_back(v, p);
      return seen.size() < max;
    }));
    return seen;
  }

  // The (version, position) pairs the model expects for `stream`, versions first..last.
  std::vector<std::pair<uint64_t, uint64_t>> Expected(const std::string& stream, uint64_t first,
                                                      uint64_t last) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (uint64_t v : Range(first, last)) {
      out.emplace_back(v, stream_positions_[stream][v - 1]);
    }
    return out;
  }

  TempDir dir_;  // before store_: the store is closed before its directory goes
  std::unique_ptr<EventStore> store_;
  uint64_t last_position_ = 0;
  std::map<std::string, uint64_t> versions_;
  std::map<std::string, std::vector<uint64_t>> stream_positions_;
};

INSTANTIATE_TEST_SUITE_P(Stores, EventStoreTest, ::testing::Values(kMemory, kRocksDb),
                         [](const ::testing::TestParamInfo<StoreKind>& info) {
                           return info.param.name;
                         });

TEST_P(EventStoreTest, EmptyStoreHasNothing) {
  EventStore& store = *store_;
  EXPECT_THAT(store.LoadHead(), IsOkAndHolds(ChainPoint{}));
  EXPECT_THAT(store.LoadVerified(), IsOkAndHolds(ChainPoint{}));
  EXPECT_THAT(store.Get(0), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store.Get(1), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(ScanLog(1, true), IsEmpty());
  EXPECT_THAT(ScanLog(1, false), IsEmpty());
  EXPECT_THAT(store.StreamVersion("programme/LPP"), IsOkAndHolds(0u));
  EXPECT_THAT(ScanStream("programme/LPP", 1, true), IsEmpty());
  EXPECT_THAT(store.FindEventId(IdFor(1)), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store.LastPosition(), IsOkAndHolds(0u));
}

TEST_P(EventStoreTest, CommitThenGet) {
  ASSERT_OK(CommitTo({"a", "b", "a"}));
  EventStore& store = *store_;
  EXPECT_THAT(store.LastPosition(), IsOkAndHolds(3u));
  for (uint64_t p = 1; p <= 3; ++p) {
    EXPECT_THAT(store.Get(p), IsOkAndHolds(Optional(StoredFor(p)))) << p;
  }
  EXPECT_THAT(store.Get(0), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store.Get(4), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store.Get(UINT64_MAX), IsOkAndHolds(std::nullopt));
}

TEST_P(EventStoreTest, GetManyVisitsThePositionsGivenInOrder) {
  std::vector<std::string> streams(600, "s");  // more than one MultiGet slice
  ASSERT_OK(CommitTo(streams));
  std::vector<uint64_t> positions;
  for (uint64_t p = 1; p <= 600; p += 2) positions.push_back(p);
  std::vector<uint64_t> seen;
  ASSERT_OK(store_->GetMany(positions, [&](uint64_t p, absl::string_view bytes) {
    EXPECT_EQ(bytes, StoredFor(p)) << "position " << p;
    seen.push_back(p);
    return true;
  }));
  EXPECT_EQ(seen, positions);
  // Stops when the visitor says so.
  seen.clear();
  ASSERT_OK(store_->GetMany(positions, [&](uint64_t p, absl::string_view) {
    seen.push_back(p);
    return seen.size() < 3;
  }));
  EXPECT_THAT(seen, ElementsAre(1, 3, 5));
  // A position the log does not hold is DATA_LOSS naming it.
  EXPECT_THAT(store_->GetMany({2, 601}, [](uint64_t, absl::string_view) { return true; }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("601")));
}

TEST_P(EventStoreTest, ProjectionsAreKeptApartFromTheLogAndDropped) {
  ASSERT_OK(CommitTo({"a", "b"}));
  EXPECT_THAT(store_->GetProjection("validator"), IsOkAndHolds(std::nullopt));
  ASSERT_OK(store_->PutProjection("validator", std::string("st\0ate", 6), true));
  ASSERT_OK(store_->PutProjection("query/LPP/recorded/2", "q", false));
  ASSERT_OK(store_->PutProjection("validator", std::string("st\0ate2", 7), false));
  EXPECT_THAT(store_->GetProjection("validator"),
              IsOkAndHolds(Optional(std::string("st\0ate2", 7))));
  ASSERT_OK(store_->PutProjection("query/OCP/recorded/2", "q", false));
  ASSERT_OK(store_->PutProjection("query/OCP/recorded/20", "q20", false));
  // One key alone: not the keys it starts.
  ASSERT_OK(store_->DeleteProjection("query/OCP/recorded/2"));
  ASSERT_OK(store_->DeleteProjection("query/none"));  // absent: nothing to do
  EXPECT_THAT(store_->GetProjection("query/OCP/recorded/2"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store_->GetProjection("query/OCP/recorded/20"),
              IsOkAndHolds(Optional(std::string("q20"))));
  ASSERT_OK(store_->PutProjection("query/OCP/recorded/2", "q", false));
  ASSERT_OK(store_->PutProjection("queryx", "not under query/", false));
  ASSERT_OK(store_->DropProjections("query/"));
  EXPECT_THAT(store_->GetProjection("query/LPP/recorded/2"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store_->GetProjection("query/OCP/recorded/2"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store_->GetProjection("queryx"), IsOkAndHolds(Optional(std::string("not under query/"))));
  EXPECT_THAT(store_->GetProjection("validator"),
              IsOkAndHolds(Optional(std::string("st\0ate2", 7))));
  ASSERT_OK(store_->DropProjections(""));
  EXPECT_THAT(store_->GetProjection("validator"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store_->GetProjection("queryx"), IsOkAndHolds(std::nullopt));
  // The log is untouched.
  EXPECT_THAT(ScanLog(1, true), ElementsAre(1, 2));
  EXPECT_THAT(store_->LoadHead(), IsOkAndHolds(ChainPoint{2, HashFor(2)}));
}

TEST_P(EventStoreTest, LargeBinaryValueIsStoredExactly) {
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  EventWrite w;
  w.position = 1;
  w.stream_id = "s";
  w.stream_version = 1;
  w.event_id = IdFor(1);
  w.stored_bytes = big;
  ASSERT_OK(store_->Commit({w}, ChainPoint{1, crypto::Sha256(big)}));
  EXPECT_THAT(store_->Get(1), IsOkAndHolds(Optional(big)));
}

TEST_P(EventStoreTest, HeadAndVerifiedPoints) {
  EventStore& store = *store_;
  ASSERT_OK(CommitTo({"a", "b"}));
  EXPECT_THAT(store.LoadHead(), IsOkAndHolds(ChainPoint{2, HashFor(2)}));
  EXPECT_THAT(store.LoadVerified(), IsOkAndHolds(ChainPoint{}))
      << "a commit must not move the verified point";

  ASSERT_OK(store.SaveVerified(ChainPoint{2, HashFor(2)}));
  EXPECT_THAT(store.LoadVerified(), IsOkAndHolds(ChainPoint{2, HashFor(2)}));

  ASSERT_OK(CommitTo({"a"}));
  EXPECT_THAT(store.LoadHead(), IsOkAndHolds(ChainPoint{3, HashFor(3)}));
  EXPECT_THAT(store.LoadVerified(), IsOkAndHolds(ChainPoint{2, HashFor(2)}));

  ASSERT_OK(store.SaveVerified(ChainPoint{3, HashFor(3)}));
  EXPECT_THAT(store.LoadVerified(), IsOkAndHolds(ChainPoint{3, HashFor(3)}));
}

TEST_P(EventStoreTest, ScanLogForwardBackwardFromMiddleAndPastEnd) {
  ASSERT_OK(CommitTo({"a", "b", "a", "c", "b", "a"}));
  EXPECT_THAT(ScanLog(1, true), ElementsAreArray(Range(1, 6)));
  EXPECT_THAT(ScanLog(6, false), ElementsAreArray(Range(6, 1)));
  EXPECT_THAT(ScanLog(4, true), ElementsAre(4, 5, 6));
  EXPECT_THAT(ScanLog(3, false), ElementsAre(3, 2, 1));
  EXPECT_THAT(ScanLog(6, true), ElementsAre(6));
  EXPECT_THAT(ScanLog(1, false), ElementsAre(1));
  // Past the end, in either direction, there is nothing to visit.
  EXPECT_THAT(ScanLog(7, true), IsEmpty());
  EXPECT_THAT(ScanLog(7, false), IsEmpty());
  EXPECT_THAT(ScanLog(1000, false), IsEmpty());
  EXPECT_THAT(ScanLog(0, false), IsEmpty());
}

TEST_P(EventStoreTest, ScanLogStopsWhenVisitorReturnsFalse) {
  ASSERT_OK(CommitTo({"a", "a", "a", "a", "a"}));
  EXPECT_THAT(ScanLog(2, true, 2), ElementsAre(2, 3));
  EXPECT_THAT(ScanLog(5, false, 1), ElementsAre(5));
}

TEST_P(EventStoreTest, StreamVersion) {
  EventStore& store = *store_;
  // Names that share prefixes must not be confused with one another.
  ASSERT_OK(CommitTo({"risk/1", "risk/10", "risk/1", "risk", "risk/1/x", "risk/1"}));
  EXPECT_THAT(store.StreamVersion("risk/1"), IsOkAndHolds(3u));
  EXPECT_THAT(store.StreamVersion("risk/10"), IsOkAndHolds(1u));
  EXPECT_THAT(store.StreamVersion("risk"), IsOkAndHolds(1u));
  EXPECT_THAT(store.StreamVersion("risk/1/x"), IsOkAndHolds(1u));
  EXPECT_THAT(store.StreamVersion("risk/"), IsOkAndHolds(0u));
  EXPECT_THAT(store.StreamVersion("risk/2"), IsOkAndHolds(0u));
  EXPECT_THAT(store.StreamVersion("ris"), IsOkAndHolds(0u));
  EXPECT_THAT(store.StreamVersion("zzz"), IsOkAndHolds(0u));
  EXPECT_THAT(store.StreamVersion("a"), IsOkAndHolds(0u));
}

TEST_P(EventStoreTest, ScanStreamForwardAndBackward) {
  ASSERT_OK(CommitTo({"risk/1", "risk/10", "risk/1", "risk", "risk/1", "risk/1"}));
  // risk/1 holds positions 1, 3, 5, 6 as versions 1..4.
  EXPECT_THAT(ScanStream("risk/1", 1, true),
              ElementsAre(VP(1, 1), VP(2, 3), VP(3, 5),
                          VP(4, 6)));
  EXPECT_THAT(ScanStream("risk/1", 4, false), ElementsAreArray(Expected("risk/1", 4, 1)));
  EXPECT_THAT(ScanStream("risk/1", 2, true), ElementsAreArray(Expected("risk/1", 2, 4)));
  EXPECT_THAT(ScanStream("risk/1", 3, false), ElementsAreArray(Expected("risk/1", 3, 1)));
  EXPECT_THAT(ScanStream("risk/1", 1, true, 2), ElementsAreArray(Expected("risk/1", 1, 2)));
  EXPECT_THAT(ScanStream("risk/1", 4, false, 1), ElementsAre(VP(4, 6)));
  EXPECT_THAT(ScanStream("risk/10", 1, true), ElementsAre(VP(1, 2)));
  EXPECT_THAT(ScanStream("risk/10", 1, false), ElementsAre(VP(1, 2)));
  EXPECT_THAT(ScanStream("risk", 1, true), ElementsAre(VP(1, 4)));
  EXPECT_THAT(ScanStream("risk/2", 1, true), IsEmpty());
  EXPECT_THAT(ScanStream("risk/2", 1, false), IsEmpty());
}

TEST_P(EventStoreTest, ScanStreamFromPastTheEndVisitsNothing) {
  ASSERT_OK(CommitTo({"a", "b", "a", "b"}));
  // "Starting at version `from`": a version the stream does not have yet has nothing to give,
  // whichever the direction, and must not leak into the next stream's entries.
  EXPECT_THAT(ScanStream("a", 3, true), IsEmpty());
  EXPECT_THAT(ScanStream("a", 3, false), IsEmpty());
  EXPECT_THAT(ScanStream("a", 100, false), IsEmpty());
  EXPECT_THAT(ScanStream("b", 0, true), IsEmpty());
}

TEST_P(EventStoreTest, FindEventId) {
  ASSERT_OK(CommitTo({"a", "b", "c"}));
  ASSERT_OK(CommitTo({"a", "b"}));
  for (uint64_t p = 1; p <= 5; ++p) {
    EXPECT_THAT(store_->FindEventId(IdFor(p)), IsOkAndHolds(Optional(p))) << p;
  }
  EXPECT_THAT(store_->FindEventId(IdFor(6)), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store_->FindEventId(UuidBytes{}), IsOkAndHolds(std::nullopt));
}

TEST_P(EventStoreTest, FindEventIdsAnswersEachIdInTheOrderGiven) {
  ASSERT_OK(CommitTo({"a", "b", "c"}));
  ASSERT_OK(CommitTo({"a", "b"}));
  EXPECT_THAT(store_->FindEventIds({IdFor(4), IdFor(9), IdFor(1), IdFor(4), IdFor(5)}),
              IsOkAndHolds(ElementsAre(Optional(4u), std::nullopt, Optional(1u), Optional(4u),
                                       Optional(5u))));
  EXPECT_THAT(store_->FindEventIds({}), IsOkAndHolds(IsEmpty()));
}

TEST_P(EventStoreTest, MultipleCommitsKeepPositionsAndVersionsContiguous) {
  ASSERT_OK(CommitTo({"a"}));
  ASSERT_OK(CommitTo({"b", "a", "b"}));
  ASSERT_OK(CommitTo({"c"}));
  ASSERT_OK(CommitTo({"a", "a", "c", "b", "a"}));
  EventStore& store = *store_;
  EXPECT_THAT(store.LoadHead(), IsOkAndHolds(ChainPoint{10, HashFor(10)}));
  EXPECT_THAT(ScanLog(1, true), ElementsAreArray(Range(1, 10)));
  EXPECT_THAT(ScanLog(10, false), ElementsAreArray(Range(10, 1)));
  for (const std::string stream : {"a", "b", "c"}) {
    const uint64_t version = versions_[stream];
    EXPECT_THAT(store.StreamVersion(stream), IsOkAndHolds(version)) << stream;
    EXPECT_THAT(ScanStream(stream, 1, true),
                ElementsAreArray(Expected(stream, 1, version)))
        << stream;
  }
  EXPECT_THAT(ScanStream("a", 1, true),
              ElementsAre(VP(1, 1), VP(2, 3), VP(3, 6),
                          VP(4, 7), VP(5, 10)));
}

TEST_P(EventStoreTest, ReadersNeverSeeAHeadWhoseEventsAreMissing) {
  constexpr int kCommits = 100;
  std::atomic<bool> writes_done = false;
  std::atomic<uint64_t> last_seen_head[2] = {0, 0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      for (;;) {
        // One more full check after the writer has finished, so the final state is checked.
        const bool last_round = writes_done.load();
        absl::StatusOr<ChainPoint> head = store_->LoadHead();
        EXPECT_OK(head);
        if (head.ok() && head->position > 0) {
          const uint64_t h = head->position;
          EXPECT_EQ(head->hash, HashFor(h));
          EXPECT_THAT(store_->Get(h), IsOkAndHolds(Optional(StoredFor(h))));
          uint64_t expected = 1;
          EXPECT_OK(store_->ScanLog(1, true, [&](uint64_t p, absl::string_view bytes) {
            EXPECT_EQ(p, expected);
            EXPECT_EQ(bytes, StoredFor(p));
            ++expected;
            return p < h;
          }));
          EXPECT_EQ(expected, h + 1) << "the log ends before the head it reported";
          last_seen_head[r] = h;
        }
        if (last_round) return;
      }
    });
  }
  for (int i = 0; i < kCommits; ++i) {
    absl::Status committed = CommitTo({"a", "b", "c"});
    EXPECT_OK(committed);
    if (!committed.ok()) break;  // still join the readers
  }
  writes_done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(last_seen_head[0].load(), 3u * kCommits);
  EXPECT_EQ(last_seen_head[1].load(), 3u * kCommits);
}

// ---- RocksDB only. ----

class RocksDbEventStoreTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return dir_.path() + "/db"; }
  TempDir dir_;
};

EventWrite Write(uint64_t position, std::string stream, uint64_t version) {
  EventWrite w;
  w.position = position;
  w.stream_id = std::move(stream);
  w.stream_version = version;
  w.event_id = IdFor(position);
  w.stored_bytes = StoredFor(position);
  return w;
}

// The directory it makes is its owner's alone, whatever the umask; one that exists keeps its
// mode.
TEST_F(RocksDbEventStoreTest, CreatesMissingDirectoriesTheOwnersAlone) {
  std::string nested = dir_.path() + "/a/b/c";
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(nested);
  ASSERT_OK(store);
  EXPECT_TRUE(std::filesystem::exists(nested + "/CURRENT"));
  EXPECT_EQ(std::filesystem::status(nested).permissions(), std::filesystem::perms::owner_all);
  const std::string existing = dir_.path() + "/shared";
  std::filesystem::create_directory(existing);
  std::filesystem::permissions(existing, std::filesystem::perms::owner_all |
                                             std::filesystem::perms::group_read |
                                             std::filesystem::perms::group_exec);
  ASSERT_OK(RocksDbEventStore::Open(existing));
  EXPECT_EQ(std::filesystem::status(existing).permissions(),
            std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                std::filesystem::perms::group_exec);
}

TEST_F(RocksDbEventStoreTest, DataSurvivesCloseAndReopen) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    ASSERT_OK((*store)->Commit({Write(1, "a", 1), Write(2, "b", 1)}, {2, HashFor(2)}));
    ASSERT_OK((*store)->Commit({Write(3, "a", 2)}, {3, HashFor(3)}));
    ASSERT_OK((*store)->SaveVerified({2, HashFor(2)}));
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EventStore& s = **store;
  EXPECT_THAT(s.LoadHead(), IsOkAndHolds(ChainPoint{3, HashFor(3)}));
  EXPECT_THAT(s.LoadVerified(), IsOkAndHolds(ChainPoint{2, HashFor(2)}));
  for (uint64_t p = 1; p <= 3; ++p) {
    EXPECT_THAT(s.Get(p), IsOkAndHolds(Optional(StoredFor(p))));
    EXPECT_THAT(s.FindEventId(IdFor(p)), IsOkAndHolds(Optional(p)));
  }
  EXPECT_THAT(s.StreamVersion("a"), IsOkAndHolds(2u));
  EXPECT_THAT(s.StreamVersion("b"), IsOkAndHolds(1u));
  std::vector<uint64_t> positions;
  ASSERT_OK(s.ScanStream("a", 1, true, [&](uint64_t, uint64_t p) {
    positions.push_back(p);
    return true;
  }));
  EXPECT_THAT(positions, ElementsAre(1, 3));
  // And it keeps going where it left off.
  ASSERT_OK(s.Commit({Write(4, "b", 2)}, {4, HashFor(4)}));
  EXPECT_THAT(s.LoadHead(), IsOkAndHolds(ChainPoint{4, HashFor(4)}));
}

// A table file whose bytes rot on disk: the reads that meet the bad block are DATA_LOSS
// (STORAGE_CORRUPT), saying to restore from a backup, not INTERNAL, so that `govledger verify`
// reports the log unverifiable (exit 4) rather than the server failing.
// 48 MB of events, more than the events' 32 MiB memtable, so in table files (an event a
// block), whose first block's bytes then rot: event 1's block, among others.
constexpr uint64_t kRottedEvents = 12000;
void WriteEventsAndRotTheirTables(const std::string& dir) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(dir);
    ASSERT_OK(store);
    for (uint64_t first = 1; first <= kRottedEvents; first += 500) {
      std::vector<EventWrite> writes;
      for (uint64_t p = first; p < first + 500; ++p) {
        writes.push_back(Write(p, "s", p));
        // Padded in front: stored bytes end with the event's hash.
        writes.back().stored_bytes.insert(0, 4000, static_cast<char>(p));
      }
      ASSERT_OK((*store)->Commit(writes, {first + 499, HashFor(first + 499)}));
    }
    // A checkpoint flushes the memtables and waits for the table files (a background flush
    // still running at the close would be abandoned, its file deleted).
    TempDir checkpoint;
    ASSERT_OK((*store)->CreateCheckpoint(checkpoint.path() + "/c"));
  }
  int rotted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".sst" || entry.file_size() < 4096) continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(100);
    char byte = 0;
    file.get(byte);
    file.seekp(100);
    file.put(static_cast<char>(byte ^ 0x5A));
    ++rotted;
  }
  ASSERT_GT(rotted, 0) << "no table file was written";
}

TEST_F(RocksDbEventStoreTest, ACorruptTableFileIsDataLoss) {
  constexpr uint64_t kEvents = kRottedEvents;
  ASSERT_NO_FATAL_FAILURE(WriteEventsAndRotTheirTables(DbPath()));
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  // Every table's blocks checked (what a backup does first): the damaged file is named.
  EXPECT_THAT((*store)->VerifyChecksums(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("verify table checksums"), HasSubstr(".sst"),
                             HasSubstr("keep this data directory as it is"),
                             HasSubstr("restore the data directory from a backup"),
                             Not(HasSubstr("Corruption: Corruption:")))));
  uint64_t read = 0;
  EXPECT_THAT((*store)->ScanLog(1, /*forward=*/true,
                                [&](uint64_t, absl::string_view) {
                                  ++read;
                                  return true;
                                }),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("found the database corrupt"),
                             HasSubstr("restore the data directory from a backup"))));
  EXPECT_LT(read, kEvents);
}

// The acknowledged event's block damaged: the open says the database is corrupt, not that it
// lost acknowledged events or holds another log (advice to remove the acknowledged head's file).
TEST_F(RocksDbEventStoreTest, AnAcknowledgedEventInADamagedBlockIsDataLossNotLost) {
  ASSERT_NO_FATAL_FAILURE(WriteEventsAndRotTheirTables(DbPath()));
  {
    std::ofstream file(DbPath() + "/" + kAcknowledgedHeadFile, std::ios::binary);
    file << EncodeAcknowledgedHead({1, HashFor(1)});
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  EXPECT_THAT(store.status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("storage read the event at position 1 found the database "
                                       "corrupt"),
                             HasSubstr("restore the data directory from a backup"),
                             Not(HasSubstr("acknowledged")))));
}

// A data directory its user may not read or write: FAILED_PRECONDITION saying whose files they
// must be and with what mode. The directory gets no permissions at all, its parent no write
// permission, and the open runs in a child process that, when the test runs as root (whom
// permissions do not stop), first becomes user nobody, as a service's user would be.
TEST_F(RocksDbEventStoreTest, ADirectoryItsUserMayNotWriteIsRefusedSayingWhy) {
  namespace fs = std::filesystem;
  { ASSERT_OK(RocksDbEventStore::Open(DbPath())); }
  const fs::path parent = fs::path(DbPath()).parent_path();
  fs::permissions(DbPath(), fs::perms::none);
  fs::permissions(parent, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    if (store.ok()) ::_exit(11);
    const std::string message(store.status().message());
    const bool says = store.status().code() == absl::StatusCode::kFailedPrecondition &&
                      RocksDbEventStore::IsWrongDirectory(store.status()) &&
                      message.find("may not read or write data directory") != std::string::npos &&
                      message.find("chown -R") != std::string::npos &&
                      message.find("chmod -R u+rwX") != std::string::npos;
    if (!says) std::fprintf(stderr, "refused with: %s\n", store.status().ToString().c_str());
    // One it may not make, beside it.
    store = RocksDbEventStore::Open(DbPath() + "-new");
    const bool says_new = !store.ok() && RocksDbEventStore::IsWrongDirectory(store.status()) &&
                          absl::StrContains(store.status().message(), "cannot create data directory") &&
                          absl::StrContains(store.status().message(), "mkdir, then chown");
    if (!says_new) std::fprintf(stderr, "refused with: %s\n", store.status().ToString().c_str());
    ::_exit(says && says_new ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Given back its permissions, it opens as it was.
  fs::permissions(parent, fs::perms::owner_all);
  fs::permissions(DbPath(), fs::perms::owner_all);
  EXPECT_OK(RocksDbEventStore::Open(DbPath()));
}

// Marked IsWrongDirectory, which govledgerd exits 2 for (the path is the operator's to change,
// and a restart would meet it again).
TEST_F(RocksDbEventStoreTest, AnEmptyPathOrAFileIsNoDataDirectory) {
  absl::Status empty = RocksDbEventStore::Open("").status();
  EXPECT_THAT(
      empty, StatusIs(absl::StatusCode::kInvalidArgument,
                      HasSubstr("the data directory's path is empty (an empty string): give one")));
  EXPECT_TRUE(RocksDbEventStore::IsWrongDirectory(empty));
  const std::string file = dir_.path() + "/a-file";
  std::ofstream(file) << "not a database";
  absl::Status a_file = RocksDbEventStore::Open(file).status();
  EXPECT_THAT(a_file, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr(absl::StrCat("data directory ", file,
                                                      " is a file, not a directory"))));
  EXPECT_TRUE(RocksDbEventStore::IsWrongDirectory(a_file));
  EXPECT_FALSE(RocksDbEventStore::IsOtherFormat(a_file));
  // A path under a file cannot be made (found by an operator's trial: it exited 1, restarted).
  absl::Status under_a_file = RocksDbEventStore::Open(file + "/data").status();
  EXPECT_THAT(under_a_file, StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("cannot create data directory")));
  EXPECT_TRUE(RocksDbEventStore::IsWrongDirectory(under_a_file));
}

// A new ledger is made only in an empty directory: one that holds other things but no database
// (the ledger's parent, given by mistake) would be served as a new, empty ledger (found by an
// operator's trial). Nothing is written there. An empty one, or one holding only lost+found,
// makes a ledger.
TEST_F(RocksDbEventStoreTest, ADirectoryHoldingOtherThingsButNoDatabaseIsRefused) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(dir_.path()) / "srv";
  { ASSERT_OK(RocksDbEventStore::Open((parent / "ledger").string())); }
  absl::Status refused = RocksDbEventStore::Open(parent.string()).status();
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("data directory ", parent.string(),
                                                    " holds no database but other things "
                                                    "(ledger)")),
                             HasSubstr(absl::StrCat("did you mean --data-dir ",
                                                    (parent / "ledger").string())))));
  EXPECT_TRUE(RocksDbEventStore::IsWrongDirectory(refused));
  // The ledger is still the one named with `listed` beside it.
  const auto suggests_the_ledger = [&](const std::string& listed) {
    EXPECT_THAT(
        RocksDbEventStore::Open(parent.string()).status(),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 AllOf(HasSubstr(listed), HasSubstr(absl::StrCat("did you mean --data-dir ",
                                                                 (parent / "ledger").string())))));
  };
  // A shell's log file beside the ledger is not a write-ahead log (it had been called a damaged
  // database: a README reviewer's find).
  std::ofstream(parent / "daemon.log") << "started\n";
  suggests_the_ledger("(daemon.log, ledger)");
  fs::remove(parent / "daemon.log");
  // A backup beside it ("a-backup", first in order) holds a database too, but is never one to
  // serve (the backup had been named, and was then refused).
  { ASSERT_OK(RocksDbEventStore::Open((parent / "a-backup").string())); }
  std::ofstream(parent / "a-backup" / "govledger-backup.json") << "{}";
  suggests_the_ledger("(a-backup, ledger)");
  fs::remove_all(parent / "a-backup");
  // Nor the hidden copy a killed backup left, which holds CURRENT before its manifest.
  { ASSERT_OK(RocksDbEventStore::Open((parent / ".a.partial-host-999999").string())); }
  suggests_the_ledger("holds no database but other things");
  fs::remove_all(parent / ".a.partial-host-999999");
  EXPECT_FALSE(fs::exists(parent / "CURRENT"));
  const fs::path junk = fs::path(dir_.path()) / "junk";
  fs::create_directories(junk);
  std::ofstream(junk / "notes.txt") << "not a database";
  EXPECT_THAT(RocksDbEventStore::Open(junk.string()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("(notes.txt)"), HasSubstr("or an empty or missing one "
                                                                 "for a new ledger"))));
  EXPECT_EQ(std::distance(fs::directory_iterator(junk), fs::directory_iterator()), 1);
  const fs::path mount = fs::path(dir_.path()) / "mount";
  fs::create_directories(mount / "lost+found");
  EXPECT_OK(RocksDbEventStore::Open(mount.string()));
}

// A damaged record in the write-ahead log before its last is damage to acknowledged (synced)
// events: the open refuses (DATA_LOSS), where RocksDB's default recovery would stop replaying
// there and drop every acknowledged batch after it without a word.
TEST_F(RocksDbEventStoreTest, ADamagedWriteAheadLogRecordBeforeItsEndIsDataLoss) {
  constexpr uint64_t kEvents = 100;
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    for (uint64_t p = 1; p <= kEvents; ++p) {
      std::vector<EventWrite> writes = {Write(p, "s", p)};
      writes.back().stored_bytes.insert(0, 300, static_cast<char>(p));
      ASSERT_OK((*store)->Commit(writes, {p, HashFor(p)}));
    }
  }
  std::filesystem::path wal;
  for (const auto& entry : std::filesystem::directory_iterator(DbPath())) {
    if (entry.path().extension() == ".log" &&
        (wal.empty() || entry.file_size() > std::filesystem::file_size(wal))) {
      wal = entry.path();
    }
  }
  ASSERT_FALSE(wal.empty());
  const uintmax_t size = std::filesystem::file_size(wal);
  ASSERT_GT(size, kEvents * 300) << "the events are not in the write-ahead log";
  {
    std::fstream file(wal, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(size / 3);
    char byte = 0;
    file.get(byte);
    file.seekp(size / 3);
    file.put(static_cast<char>(byte ^ 0x5A));
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  EXPECT_THAT(store.status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("restore the data directory from a backup")));
}

// A crash in the middle of writing a large batch (a kill between two of its writes, power lost
// before its pages reached the disk) leaves the write-ahead log's last record cut short. Here
// the kernel cuts the write (RLIMIT_FSIZE) in a child that then dies without closing the store.
// The open drops that batch, never acknowledged, and keeps every synced one before it. (With
// the log's space preallocated in its size, the cut was followed by zeros, which RocksDB took
// for damage in the middle of the log: the store never opened again.)
TEST_F(RocksDbEventStoreTest, ALargeBatchCutShortByACrashIsDroppedAndTheStoreOpens) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails (EFBIG) rather than kills
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    if (!store.ok()) ::_exit(10);
    if (!(*store)->Write({Write(1, "a", 1), Write(2, "b", 1), Write(3, "a", 2)},
                         {3, HashFor(3)}).ok() ||
        !(*store)->Sync().ok()) {
      ::_exit(11);
    }
    const rlimit limit{256 << 10, 256 << 10};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(12);
    std::vector<EventWrite> large;  // about 2 MB: several writes of the log
    for (uint64_t p = 4; p < 2004; ++p) {
      large.push_back(Write(p, "large", p - 3));
      large.back().stored_bytes.resize(1000, 'x');
    }
    absl::Status s = (*store)->Write(large, {2003, HashFor(2003)});
    if (s.ok()) s = (*store)->Sync();
    ::_exit(s.ok() ? 13 : 0);  // the store is not closed: a crash
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10: open, 11: first batch, 12: setrlimit, 13: the large "
                                       "batch was not cut";
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(ChainPoint{3, HashFor(3)}));
  for (uint64_t p = 1; p <= 3; ++p) {
    EXPECT_THAT((*store)->Get(p), IsOkAndHolds(Optional(StoredFor(p))));
  }
  EXPECT_THAT((*store)->Get(4), IsOkAndHolds(std::nullopt));
  EXPECT_THAT((*store)->StreamVersion("large"), IsOkAndHolds(0u));
  // And it takes new batches.
  ASSERT_OK((*store)->Commit({Write(4, "a", 3)}, {4, HashFor(4)}));
}

// Events not yet flushed to tables live only in the write-ahead log. A database whose log was
// lost with every event in it (and with the format version, written right after the database
// was made) is refused, not stamped as new and served empty: as one that lost acknowledged
// events while it holds ACKNOWLEDGED_HEAD, and, without it, as one without a format version.
TEST_F(RocksDbEventStoreTest, ADatabaseThatLostItsOnlyWriteAheadLogIsNotServedEmpty) {
  const std::string image = dir_.path() + "/image";
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    for (uint64_t p = 1; p <= 50; ++p) {
      ASSERT_OK((*store)->Commit({Write(p, "s", p)}, {p, HashFor(p)}));
    }
    std::filesystem::copy(DbPath(), image);  // what SIGKILL or power loss leaves
  }
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(image)) {
    if (entry.path().extension() == ".log") removed += std::filesystem::remove(entry.path());
  }
  ASSERT_GE(removed, 1);
  EXPECT_THAT(RocksDbEventStore::Open(image).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("has lost acknowledged events: its log ends at position "
                                       "0, but govledgerd acknowledged every event up to "
                                       "position 50"),
                             HasSubstr("To go on without positions 1 to 50"))));
  ASSERT_TRUE(std::filesystem::remove(std::filesystem::path(image) / "ACKNOWLEDGED_HEAD"));
  EXPECT_THAT(RocksDbEventStore::Open(image).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("without a govledger storage format version")));
  // The database itself opens with every event.
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(ChainPoint{50, HashFor(50)}));
}

// A directory holding a database's data (tables, write-ahead logs) but no CURRENT (lost, or a
// partial copy) is refused, and nothing is written to it: RocksDB would have made a new, empty
// database beside the old files and deleted them as obsolete. So is a backup directory, and a
// RocksDB database without govledger's format version (saying what to do if a first start was
// killed before writing it). A MANIFEST and IDENTITY without CURRENT, what a first start killed
// while RocksDB made its database leaves, is made again.
TEST_F(RocksDbEventStoreTest, ADatabaseWithoutCurrentOrABackupIsNotOpenedAsNew) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    ASSERT_OK((*store)->Commit({Write(1, "s", 1)}, {1, HashFor(1)}));
  }
  const std::string backup = dir_.path() + "/backup";
  std::filesystem::copy(DbPath(), backup);
  std::filesystem::remove(std::filesystem::path(DbPath()) / "CURRENT");
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(DbPath())) {
      if (entry.path().filename() != "LOG") names.push_back(entry.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  const std::vector<std::string> before = listing();
  for (int attempt = 0; attempt < 2; ++attempt) {  // a service manager's restart too
    EXPECT_THAT(RocksDbEventStore::Open(DbPath()).status(),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("holds a database's files ("), HasSubstr(".log"),
                               HasSubstr("but no CURRENT file"),
                               HasSubstr("write the name of its newest MANIFEST file"))));
  }
  EXPECT_EQ(listing(), before);

  // CURRENT naming a MANIFEST that is gone is damage too, not a failure to retry (it had
  // exited 1, and systemd restarted it every 2 s).
  const std::string manifest =
      [&] {
        for (const auto& entry : std::filesystem::directory_iterator(backup)) {
          if (absl::StartsWith(entry.path().filename().string(), "MANIFEST-")) return entry.path();
        }
        return std::filesystem::path();
      }()
          .string();
  ASSERT_FALSE(manifest.empty());
  const std::string manifest_aside = dir_.path() + "/manifest-aside";
  std::filesystem::rename(manifest, manifest_aside);
  EXPECT_THAT(RocksDbEventStore::Open(backup).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("names in its CURRENT file a MANIFEST that is not there"),
                             HasSubstr("put it back"))));
  std::filesystem::rename(manifest_aside, manifest);
  // CURRENT emptied or cut short: damage, with the same mend as for a lost one.
  const std::string current = backup + "/CURRENT";
  std::string named;
  std::getline(std::ifstream(current), named);
  for (const std::string& damaged : {std::string(), named.substr(0, 5)}) {
    std::ofstream(current, std::ios::trunc) << damaged;
    EXPECT_THAT(RocksDbEventStore::Open(backup).status(),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("has a damaged CURRENT file"),
                               HasSubstr("write the name of its newest MANIFEST file"))))
        << "CURRENT holding '" << damaged << "'";
  }
  std::ofstream(current, std::ios::trunc) << named << "\n";  // put back as it was
  // A MANIFEST cut short reads as a database of the default column family alone: beside
  // govledger's ACKNOWLEDGED_HEAD it is damage too, not another program's database (which the
  // message said to remove: a reviewer's find).
  const std::string cut = dir_.path() + "/cut";
  std::filesystem::copy(backup, cut);
  ASSERT_TRUE(std::filesystem::exists(cut + "/ACKNOWLEDGED_HEAD"));
  std::filesystem::resize_file(cut + "/" + std::filesystem::path(manifest).filename().string(), 10);
  EXPECT_THAT(
      RocksDbEventStore::Open(cut).status(),
      StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr("holds govledger's ACKNOWLEDGED_HEAD"),
                                                  HasSubstr("the MANIFEST is damaged"))));

  // A backup holds CURRENT too.
  std::ofstream(backup + "/govledger-backup.json") << "{}";
  EXPECT_THAT(RocksDbEventStore::Open(backup).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("is a backup"),
                             // the restore command's syntax (cli/admin_commands.cc)
                             HasSubstr(absl::StrCat("`govledger admin restore ", backup,
                                                    " --data-dir NEW_DIR`")))));
  EXPECT_TRUE(RocksDbEventStore::IsWrongDirectory(RocksDbEventStore::Open(backup).status()));

  const std::string foreign = dir_.path() + "/foreign";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, foreign, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "someone's", "data").ok());
    delete db;
  }
  // Another program's database is refused before an open could change it (add column
  // families, flush its log, rewrite its OPTIONS).
  auto files_of = [](const std::string& dir) {
    std::map<std::string, uintmax_t> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      files[entry.path().filename()] = entry.file_size();
    }
    return files;
  };
  const std::map<std::string, uintmax_t> foreign_files = files_of(foreign);
  EXPECT_THAT(RocksDbEventStore::Open(foreign).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("holds a RocksDB database that is not govledger's: it has "
                                       "no column family events, streams, event_ids, meta (it "
                                       "has default); nothing in it was changed"))));
  EXPECT_TRUE(RocksDbEventStore::IsWrongDirectory(RocksDbEventStore::Open(foreign).status()));
  EXPECT_EQ(files_of(foreign), foreign_files);
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), foreign, &families).ok());
  EXPECT_THAT(families, ElementsAre("default"));

  // Killed after RocksDB made the database, before the version: an empty database, which
  // cannot be told from one that lost its only write-ahead log, and is refused saying so.
  const std::string unstamped = dir_.path() + "/unstamped";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, unstamped, &db).ok());
    delete db;
  }
  EXPECT_THAT(RocksDbEventStore::Open(unstamped).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("and the directory has never held events, remove it and start "
                                 "again")));
  // Killed after RocksDB made its column families, before the version.
  const std::string unversioned = dir_.path() + "/unversioned";
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : {"default", "events", "streams", "event_ids", "meta", "projections"}) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, unversioned, families, &handles, &db).ok());
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  EXPECT_THAT(RocksDbEventStore::Open(unversioned).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("if the directory has never held events, remove it and start "
                                 "again")));
  // Killed before CURRENT: a MANIFEST and IDENTITY alone.
  const std::string half_made = dir_.path() + "/half-made";
  std::filesystem::create_directories(half_made);
  std::ofstream(half_made + "/IDENTITY") << "x";
  std::ofstream(half_made + "/MANIFEST-000001") << "";
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> made = RocksDbEventStore::Open(half_made);
  ASSERT_OK(made);
  EXPECT_OK((*made)->Commit({Write(1, "s", 1)}, {1, HashFor(1)}));
}

// The ledger writes on one thread while another syncs: every write is readable at once, and
// syncs running beside writes, across write-ahead-log switches (memtable flushes), succeed
// and lose nothing.
TEST_F(RocksDbEventStoreTest, SyncsRunBesideWritesAcrossLogSwitches) {
  RocksDbOptions options;
  options.write_buffer_bytes = 16 << 20;  // the events' memtable fills and flushes
  constexpr uint64_t kGroups = 500;
  constexpr uint64_t kPerGroup = 100;
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
        RocksDbEventStore::Open(DbPath(), options);
    ASSERT_OK(store);
    EventStore& s = **store;
    std::atomic<bool> done = false;
    std::atomic<int> syncs = 0;
    absl::Status sync_status;
    std::thread syncer([&] {
      while (!done) {
        absl::Status st = s.Sync();
        if (!st.ok()) {
          sync_status = st;
          return;
        }
        ++syncs;
      }
    });
    const std::string payload(600, 'p');
    uint64_t position = 0;
    for (uint64_t g = 0; g < kGroups; ++g) {
      std::vector<EventWrite> writes;
      for (uint64_t i = 0; i < kPerGroup; ++i) {
        ++position;
        EventWrite& w = writes.emplace_back(Write(position, "s", position));
        w.stored_bytes.insert(0, payload);
      }
      ASSERT_OK(s.Write(writes, {position, HashFor(position)}));
      // Readable before any sync is known to cover it.
      EXPECT_THAT(s.LoadHead(), IsOkAndHolds(ChainPoint{position, HashFor(position)}));
      EXPECT_THAT(s.FindEventId(IdFor(position)), IsOkAndHolds(Optional(position)));
    }
    done = true;
    syncer.join();
    ASSERT_OK(sync_status);
    EXPECT_GT(syncs.load(), 0);
    ASSERT_OK(s.Sync());
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
      RocksDbEventStore::Open(DbPath(), options);
  ASSERT_OK(store);
  const uint64_t last = kGroups * kPerGroup;
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(ChainPoint{last, HashFor(last)}));
  EXPECT_THAT((*store)->StreamVersion("s"), IsOkAndHolds(last));
  uint64_t count = 0;
  ASSERT_OK((*store)->ScanLog(1, true, [&](uint64_t p, absl::string_view) {
    EXPECT_EQ(p, ++count);
    return true;
  }));
  EXPECT_EQ(count, last);
}

// Old info logs (LOG.old.*) in `dir`.
size_t OldInfoLogs(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("LOG.old.", 0) == 0) ++n;
  }
  return n;
}

// RocksDB's info log is rolled at its size limit, and only the newest old ones are kept, so a
// daemon that runs for years does not grow it without bound. (Each open writes the options,
// about 80 KB, to it: several rolls at this limit.)
TEST_F(RocksDbEventStoreTest, TheInfoLogIsRolledAtItsLimitAndOldOnesAreDeleted) {
  RocksDbOptions options;
  options.info_log_max_bytes = 16 << 10;
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
        RocksDbEventStore::Open(DbPath(), options);
    ASSERT_OK(store);
    // A new directory, opened once: only the size limit can have rolled the log.
    EXPECT_GE(OldInfoLogs(DbPath()), 1u);
    // A roll renames LOG before it makes the next one: under load the check can fall between.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!std::filesystem::exists(DbPath() + "/LOG") &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(std::filesystem::exists(DbPath() + "/LOG"));
    ASSERT_OK((*store)->Commit({Write(1, "s", 1)}, {1, HashFor(1)}));
  }
  for (int open = 0; open < 10; ++open) {
    ASSERT_OK(RocksDbEventStore::Open(DbPath(), options));
  }
  // Each open rolled the log several times; each roll (and RocksDB's purge at open) leaves
  // kInfoLogFilesKept - 1 old ones beside LOG. RocksDB's own count of kInfoLogFilesKept old
  // ones may leave one more.
  const size_t old_logs = OldInfoLogs(DbPath());
  EXPECT_GE(old_logs, kInfoLogFilesKept - 1);
  EXPECT_LE(old_logs, kInfoLogFilesKept);
  // Nothing of the ledger went with them.
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(ChainPoint{1, HashFor(1)}));
}

TEST_F(RocksDbEventStoreTest, SecondOpenOfAnOpenDirectoryFails) {
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> first = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(first);
  auto opens_logged = [&] {
    std::ifstream in(DbPath() + "/LOG");
    std::stringstream text;
    text << in.rdbuf();
    size_t n = 0;
    for (size_t at = 0; (at = text.str().find("DB SUMMARY", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  ASSERT_EQ(opens_logged(), 1u);
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> second = RocksDbEventStore::Open(DbPath());
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr("in use"), HasSubstr("Stop that one first"))));
  // The refused open wrote nothing into the first's info log.
  EXPECT_EQ(opens_logged(), 1u);
  // The first is unharmed.
  EXPECT_OK((*first)->Commit({Write(1, "a", 1)}, {1, HashFor(1)}));
  first->reset();
  EXPECT_OK(RocksDbEventStore::Open(DbPath()));
}

// Opens the database with RocksDB directly (every column family) and runs fn on meta.
void WithRawMeta(const std::string& path,
                 const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "meta") meta = handles[i];
  }
  if (meta != nullptr) fn(db, meta);
  for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close();
  delete db;
  ASSERT_NE(meta, nullptr) << "no 'meta' column family in " << path;
}

TEST_F(RocksDbEventStoreTest, WritesFormatVersionTwo) {
  ASSERT_OK(RocksDbEventStore::Open(DbPath()));  // created, then closed
  std::string version;
  WithRawMeta(DbPath(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), meta, "format_version", &version).ok());
  });
  EXPECT_EQ(version, "2");
}

// A format-1 database (no projections column family) opens: the column family is created and
// the version becomes 2; its events are all there.
TEST_F(RocksDbEventStoreTest, UpgradesAFormatOneDatabase) {
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : {"default", "events", "streams", "event_ids", "meta"}) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, DbPath(), descriptors, &handles, &db).ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db->Put(sync, handles[4], "format_version", "1").ok());
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close();
    delete db;
  }
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    EXPECT_EQ((*store)->upgraded_from(), "1");
    ASSERT_OK((*store)->Commit({Write(1, "a", 1)}, {1, HashFor(1)}));
    ASSERT_OK((*store)->PutProjection("validator", "state", true));
  }
  std::string version;
  WithRawMeta(DbPath(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), meta, "format_version", &version).ok());
  });
  EXPECT_EQ(version, "2");
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_EQ((*store)->upgraded_from(), "");
  EXPECT_THAT((*store)->GetProjection("validator"),
              IsOkAndHolds(std::optional<std::string>("state")));
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(::testing::Field(&ChainPoint::position, 1u)));
}

// Every file of `dir` but the info log (which every open appends to), with its bytes.
std::map<std::string, std::string> FilesIn(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename();
    if (absl::StartsWith(name, "LOG")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files[name] = bytes.str();
  }
  return files;
}

// The files of `dir` (as FilesIn) added, removed or changed since `before`, by name.
std::vector<std::string> ChangedSince(const std::map<std::string, std::string>& before,
                                      const std::string& dir) {
  const std::map<std::string, std::string> now = FilesIn(dir);
  std::vector<std::string> changed;
  for (const auto& [name, bytes] : before) {
    if (!now.contains(name)) {
      changed.push_back(name + " (removed)");
    } else if (now.at(name) != bytes) {
      changed.push_back(name);
    }
  }
  for (const auto& [name, bytes] : now) {
    if (!before.contains(name)) changed.push_back(name + " (added)");
  }
  return changed;
}

TEST_F(RocksDbEventStoreTest, RefusesAnotherFormatVersion) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    ASSERT_OK((*store)->Commit({Write(1, "a", 1)}, {1, HashFor(1)}));
  }
  WithRawMeta(DbPath(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db->Put(sync, meta, "format_version", "3").ok());
  });
  // Every file of the directory, with its content: a refusal changes none.
  const std::map<std::string, std::string> before = FilesIn(DbPath());
  const absl::Status refused = RocksDbEventStore::Open(DbPath()).status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                ::testing::AllOf(HasSubstr("format version 3"),
                                                 HasSubstr("reads format 2"),
                                                 HasSubstr("nothing in it was changed"),
                                                 HasSubstr("at least as new"))));
  EXPECT_TRUE(RocksDbEventStore::IsOtherFormat(refused));
  EXPECT_THAT(ChangedSince(before, DbPath()), IsEmpty());
  // Refusing must not rewrite the version: it is still refused.
  EXPECT_THAT(RocksDbEventStore::Open(DbPath()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("format version 3")));
  // A version that is no number is damage, not a newer govledger's (found by an operator's
  // trial: it was told to run a newer govledgerd).
  // Nor is 0 (no govledger wrote it: a reviewer found it told to run a newer govledgerd), nor
  // a number with a leading zero, nor an empty one. Each refusal changes no file either (an
  // empty version had been refused only after a writable open had rewritten the directory
  // its message says to keep).
  for (const std::string version : {"x", "0", "02", ""}) {
    WithRawMeta(DbPath(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      EXPECT_TRUE(db->Put(sync, meta, "format_version", version).ok());
    });
    const std::map<std::string, std::string> damaged = FilesIn(DbPath());
    EXPECT_FALSE(RocksDbEventStore::IsOtherFormat(RocksDbEventStore::Open(DbPath()).status()));
    EXPECT_THAT(ChangedSince(damaged, DbPath()), IsEmpty()) << version;
    EXPECT_THAT(RocksDbEventStore::Open(DbPath()),
                StatusIs(absl::StatusCode::kDataLoss,
                         ::testing::AllOf(HasSubstr(absl::StrCat(
                                              "holds a storage format version that is not a "
                                              "format number (\"",
                                              version, "\")")),
                                          HasSubstr("restore the ledger from a backup"),
                                          Not(HasSubstr("at least as new")))))
        << version;
  }
  // And one without a version (so did that).
  WithRawMeta(DbPath(), [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db->Delete(sync, meta, "format_version").ok());
  });
  const std::map<std::string, std::string> without = FilesIn(DbPath());
  EXPECT_THAT(RocksDbEventStore::Open(DbPath()),
              StatusIs(absl::StatusCode::kDataLoss,
                       ::testing::AllOf(HasSubstr("without a govledger storage format version"),
                                        HasSubstr("nothing in it was changed"))));
  EXPECT_THAT(ChangedSince(without, DbPath()), IsEmpty());
}

// A data directory that is a symbolic link to nothing (a volume not mounted) is named as such:
// creating it failed with "File exists" (found by an operator's trial).
TEST_F(RocksDbEventStoreTest, ADanglingSymbolicLinkIsNamed) {
  std::filesystem::create_directories(DbPath());
  const std::string link = DbPath() + "/link";
  std::filesystem::create_symlink(DbPath() + "/not-mounted", link);
  EXPECT_THAT(RocksDbEventStore::Open(link),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("data directory ", link, " is a symbolic link to ",
                                              DbPath(), "/not-mounted, which does not exist (a "
                                              "volume not mounted?)"))));
  EXPECT_FALSE(std::filesystem::exists(DbPath() + "/not-mounted"));
}

// A newer govledger adds a column family and bumps the version: this one says so, naming both,
// rather than failing inside RocksDB ("Column families not opened").
TEST_F(RocksDbEventStoreTest, RefusesANewerFormatWithAColumnFamilyItDoesNotKnow) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    ASSERT_OK((*store)->Commit({Write(1, "a", 1)}, {1, HashFor(1)}));
  }
  WithRawMeta(DbPath(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    rocksdb::ColumnFamilyHandle* merkle = nullptr;
    EXPECT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "merkle", &merkle).ok());
    EXPECT_TRUE(db->DestroyColumnFamilyHandle(merkle).ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db->Put(sync, meta, "format_version", "3").ok());
  });
  for (bool read_only : {false, true}) {
    RocksDbOptions options;
    options.read_only = read_only;
    const absl::Status refused = RocksDbEventStore::Open(DbPath(), options).status();
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                  ::testing::AllOf(HasSubstr("format version 3"),
                                                   HasSubstr("merkle"), HasSubstr("reads format 2"))))
        << read_only;
    EXPECT_TRUE(RocksDbEventStore::IsOtherFormat(refused));
  }
  // A family it does not know beside its own format's number is not called a newer format's.
  WithRawMeta(DbPath(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db->Put(sync, meta, "format_version", "2").ok());
  });
  EXPECT_THAT(RocksDbEventStore::Open(DbPath()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("format version 2 with column families this "
                                                  "govledgerd does not know (merkle), which "
                                                  "format 2 does not have"),
                                        Not(HasSubstr("newer")))));
}

TEST_F(RocksDbEventStoreTest, MalformedHeadIsDataLoss) {
  ASSERT_OK(RocksDbEventStore::Open(DbPath()));
  WithRawMeta(DbPath(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), meta, "head", "short").ok());
  });
  EXPECT_THAT(RocksDbEventStore::Open(DbPath()).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("'head'")));
}


// ---- ACKNOWLEDGED_HEAD: the last head a sync covered, kept outside the write-ahead log. ----

// The largest write-ahead log of `dir`.
std::filesystem::path LargestWal(const std::string& dir) {
  std::filesystem::path wal;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".log" &&
        (wal.empty() || entry.file_size() > std::filesystem::file_size(wal))) {
      wal = entry.path();
    }
  }
  return wal;
}

// Commits events first..last one at a time, each padded in front to about 300 bytes.
void CommitEach(RocksDbEventStore& store, uint64_t first, uint64_t last) {
  for (uint64_t p = first; p <= last; ++p) {
    std::vector<EventWrite> writes = {Write(p, "s", p)};
    writes.back().stored_bytes.insert(0, 300, static_cast<char>(p));
    ASSERT_OK(store.Commit(writes, {p, HashFor(p)}));
  }
}

std::optional<ChainPoint> Acknowledged(const std::string& dir) {
  absl::StatusOr<std::optional<ChainPoint>> read = ReadAcknowledgedHead(dir);
  EXPECT_OK(read);
  return read.ok() ? *read : std::nullopt;
}

// The file names the head of the last batch a sync covered, as soon as the sync returns (a
// process killed then keeps it), never a batch written but not yet synced.
TEST_F(RocksDbEventStoreTest, TheAcknowledgedHeadFollowsEachSync) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    EXPECT_EQ(Acknowledged(DbPath()), ChainPoint{});  // a new database's: the empty log
    ASSERT_OK((*store)->Commit({Write(1, "a", 1), Write(2, "b", 1)}, {2, HashFor(2)}));
    EXPECT_EQ(Acknowledged(DbPath()), (ChainPoint{2, HashFor(2)}));
    ASSERT_OK((*store)->Write({Write(3, "a", 2)}, {3, HashFor(3)}));
    EXPECT_EQ(Acknowledged(DbPath()), (ChainPoint{2, HashFor(2)})) << "written, not synced";
    ASSERT_OK((*store)->Sync());
    EXPECT_EQ(Acknowledged(DbPath()), (ChainPoint{3, HashFor(3)}));
    ASSERT_OK((*store)->SaveVerified({3, HashFor(3)}));  // a sync with no new batch
    EXPECT_EQ(Acknowledged(DbPath()), (ChainPoint{3, HashFor(3)}));
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_EQ(Acknowledged(DbPath()), (ChainPoint{3, HashFor(3)}));
  EXPECT_EQ(std::filesystem::status(std::filesystem::path(DbPath()) / kAcknowledgedHeadFile)
                .permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// A write-ahead log cut short by other means than a crash (by hand, a failing copy) drops every
// batch after the cut, acknowledged or not, and the replay cannot tell. The file can: the open
// is refused, writable or read-only, and changes nothing. Removing the file accepts the loss.
TEST_F(RocksDbEventStoreTest, AWriteAheadLogCutShortBelowTheAcknowledgedHeadIsRefused) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    CommitEach(**store, 1, 100);
  }
  const std::filesystem::path wal = LargestWal(DbPath());
  ASSERT_FALSE(wal.empty());
  ASSERT_GT(std::filesystem::file_size(wal), 100u * 300) << "the events are not in the log";
  std::filesystem::resize_file(wal, std::filesystem::file_size(wal) / 2);
  const std::map<std::string, std::string> before = FilesIn(DbPath());
  for (bool read_only : {false, false, true}) {  // a service manager's restart too
    RocksDbOptions options;
    options.read_only = read_only;
    EXPECT_THAT(RocksDbEventStore::Open(DbPath(), options).status(),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr(absl::StrCat("data directory ", DbPath(),
                                                      " has lost acknowledged events: its log "
                                                      "ends at position ")),
                               HasSubstr("but govledgerd acknowledged every event up to "
                                         "position 100"),
                               HasSubstr("nothing in it was changed"),
                               HasSubstr("from a backup that holds position 100"),
                               HasSubstr(absl::StrCat("remove ", DbPath(),
                                                      "/ACKNOWLEDGED_HEAD only once you accept "
                                                      "that")))))
        << read_only;
    EXPECT_THAT(ChangedSince(before, DbPath()), IsEmpty());
  }
  ASSERT_TRUE(std::filesystem::remove(std::filesystem::path(DbPath()) / kAcknowledgedHeadFile));
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  absl::StatusOr<ChainPoint> head = (*store)->LoadHead();
  ASSERT_OK(head);
  EXPECT_GT(head->position, 0u);
  EXPECT_LT(head->position, 100u);
  EXPECT_EQ(Acknowledged(DbPath()), *head);  // recorded anew
}

// Files of another ledger (or a rewritten log) under the file: the event at the acknowledged
// position is not the one acknowledged there.
TEST_F(RocksDbEventStoreTest, AnotherLogUnderTheAcknowledgedHeadIsRefused) {
  const std::string other = dir_.path() + "/other";
  for (const std::string& dir : {DbPath(), other}) {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(dir);
    ASSERT_OK(store);
    for (uint64_t p = 1; p <= 10; ++p) {
      std::vector<EventWrite> writes = {Write(p, "s", p)};
      crypto::Hash hash = HashFor(p);
      if (dir == other) {  // other content, other hashes
        hash = crypto::Sha256(absl::StrCat("other ", p));
        writes.back().stored_bytes = absl::StrCat("other ", p, crypto::AsBytes(hash));
      }
      ASSERT_OK((*store)->Commit(writes, {p, hash}));
    }
  }
  std::filesystem::copy_file(std::filesystem::path(DbPath()) / kAcknowledgedHeadFile,
                             std::filesystem::path(other) / kAcknowledgedHeadFile,
                             std::filesystem::copy_options::overwrite_existing);
  const std::map<std::string, std::string> before = FilesIn(other);
  EXPECT_THAT(
      RocksDbEventStore::Open(other).status(),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr(absl::StrCat("data directory ", other,
                                            " does not hold the log govledgerd acknowledged: at "
                                            "position 10 it has an event with hash ",
                                            crypto::ToHex(crypto::AsBytes(
                                                crypto::Sha256("other 10"))))),
                     HasSubstr(absl::StrCat("records the event acknowledged there with hash ",
                                            crypto::ToHex(crypto::AsBytes(HashFor(10))))),
                     HasSubstr("If the directory is meant to hold this other log, remove"))));
  EXPECT_THAT(ChangedSince(before, other), IsEmpty());
}

// A file that does not decode (damaged, a newer govledger's) is refused, changing nothing; a
// data directory that holds the file but no database has lost every acknowledged event.
TEST_F(RocksDbEventStoreTest, ADamagedAcknowledgedHeadOrOneWithoutItsDatabaseIsRefused) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    CommitEach(**store, 1, 5);
  }
  const std::filesystem::path file = std::filesystem::path(DbPath()) / kAcknowledgedHeadFile;
  const std::string good = FilesIn(DbPath()).at(kAcknowledgedHeadFile);
  std::string damaged = good;
  damaged[damaged.find("position ") + 27] ^= 1;  // a digit of the position
  std::ofstream(file, std::ios::binary | std::ios::trunc) << damaged;
  const std::map<std::string, std::string> before = FilesIn(DbPath());
  EXPECT_THAT(RocksDbEventStore::Open(DbPath()).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrCat(file.string(), " is damaged: its checksum "
                                                    "does not match its contents")),
                             HasSubstr("nothing in the data directory was changed"))));
  EXPECT_THAT(ChangedSince(before, DbPath()), IsEmpty());

  const std::string empty = dir_.path() + "/empty";
  std::filesystem::create_directory(empty);
  std::ofstream(std::filesystem::path(empty) / kAcknowledgedHeadFile, std::ios::binary) << good;
  // The file alone: no database, not a log cut short (whose advice, to remove the file, would
  // start a new ledger there; found by an operator's trial).
  EXPECT_THAT(RocksDbEventStore::Open(empty).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("acknowledged every event up to position 5, but no "
                                       "database: its files were removed or not copied"),
                             HasSubstr("would start a new, empty ledger here"))));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(empty) / "CURRENT"));
}

// A head set back (damage to `meta` alone) while the acknowledged event is still stored opens:
// the ledger's start refuses it, naming the events stored past the head. The file is not set
// back with it.
TEST_F(RocksDbEventStoreTest, AHeadSetBackBelowAStoredAcknowledgedEventOpensAndKeepsTheRecord) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    CommitEach(**store, 1, 5);
  }
  WithRawMeta(DbPath(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(db->Delete(sync, meta, "head").ok());
  });
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(ChainPoint{}));
  EXPECT_THAT((*store)->LastPosition(), IsOkAndHolds(5u));
  EXPECT_EQ(Acknowledged(DbPath()), (ChainPoint{5, HashFor(5)}));
}


// An open writes what the write-ahead log holds into a table; a full disk or a file size limit
// that stops it is said with what to do, and the database is as it was: opened again without
// the limit, it holds every event. (A full file system says "is full" alike; a file size limit
// is what a test can set.)
TEST_F(RocksDbEventStoreTest, AnOpenStoppedByAFileSizeLimitSaysWhatToDoAndLosesNothing) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    ASSERT_OK(store);
    CommitEach(**store, 1, 2000);  // about 700 KB, in the write-ahead log only
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails (EFBIG) rather than kills
    const rlimit limit{64 << 10, 64 << 10};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(12);
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
    const bool says = store.status().code() == absl::StatusCode::kResourceExhausted &&
                      absl::StrContains(store.status().message(),
                                        absl::StrCat("a file size limit stopped the open of "
                                                     "data directory ", DbPath())) &&
                      absl::StrContains(store.status().message(),
                                        "Raise or remove the limit (ulimit -f, systemd's "
                                        "LimitFSIZE=) and start again");
    if (!says) std::fprintf(stderr, "open gave: %s\n", store.status().ToString().c_str());
    ::_exit(says ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "11: another status, 12: setrlimit";
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(DbPath());
  ASSERT_OK(store);
  EXPECT_THAT((*store)->LoadHead(), IsOkAndHolds(ChainPoint{2000, HashFor(2000)}));
}

}  // namespace
}  // namespace govledger
