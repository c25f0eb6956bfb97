// Tamper detection: with the daemon stopped, the test edits the RocksDB database directly
// (column family "events", key = 8-byte big-endian position; see ledger/store/FORMAT.md) and
// restarts it. The daemon must refuse to start (non-zero exit) and its stderr must name the
// position. After the edit is undone it starts again, so the refusal was the edit's doing.
//
// On start the daemon verifies the chain from its last verified point (meta key "verified",
// saved after each start's verification and at each clean shutdown) to the head, and checks
// that the event at the verified point still has the recorded hash. The fixture builds a ledger
// of 20 events whose verified point is 10 (events 1-10, clean stop; events 11-20, SIGKILL), and
// the cases are:
//   A. an event before the verified point (7) corrupted, with "verified" deleted so that the
//      daemon re-verifies from the start;
//   B. an event after the verified point (15) corrupted, "verified" left as it is;
//   C. the event at the verified point (10) corrupted;
//   D. an event after the verified point (15) deleted.
//   E. an event before the verified point (7) corrupted, "verified" left as it is. Start-up does
//      not detect it by design (it checks only what was appended since the last verified
//      start); `govledger verify`, which walks the whole chain, does, and names the position.
//      A start that folds the governance state from position 1 reads it, and refuses.
// And a log written whole by someone holding the store but not the signatories' keys, with a
// chain that holds: `verify` finds the signature they could not make.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/uuid.h"
#include "ledger/store/rocksdb_event_store.h"
#include "ledger/stored_event.h"
#include "tests/governance_events.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/integration/raw_database.h"

namespace govledger::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr int kEvents = 20;
constexpr uint64_t kVerifiedPoint = 10;

std::string Payload(int position) { return absl::StrCat("tamper-payload-", position); }

class TamperTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (HasFatalFailure()) return;
    // Events 1..10 and a clean stop (which saves 10 as the verified point), then events
    // 11..20 and a SIGKILL, so that the verified point stays at 10.
    for (int p = 1; p <= kEvents; ++p) {
      absl::StatusOr<v1::AppendResponse> r = AppendOne(*stub_, "tamper/x", Payload(p));
      ASSERT_OK(r);
      ASSERT_EQ(r->events(0).position(), static_cast<uint64_t>(p));
      if (p == static_cast<int>(kVerifiedPoint)) {
        stub_.reset();
        absl::Status restarted = daemon_.Restart();
        ASSERT_TRUE(restarted.ok()) << restarted;
        stub_ = daemon_.NewStub();
      }
    }
    stub_.reset();
    ExitStatus killed = daemon_.Kill();
    ASSERT_TRUE(killed.signaled) << killed.ToString();

    // The layout this test relies on: "verified" = position (8 bytes, big-endian) || hash.
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    std::string verified;
    ASSERT_TRUE(raw.db().Get(rocksdb::ReadOptions(), raw.meta(), "verified", &verified).ok());
    ASSERT_EQ(verified.size(), 40u);
    EXPECT_EQ(verified.substr(0, 8), PositionKey(kVerifiedPoint));
  }

  // Changes one byte of the payload of the event at `position` (the stored bytes still parse;
  // only the hash can tell) and returns the original stored bytes.
  std::string CorruptPayload(uint64_t position) {
    RawDatabase raw(daemon_.data_dir());
    EXPECT_TRUE(raw.status().ok()) << raw.status().ToString();
    std::string stored;
    rocksdb::Status s =
        raw.db().Get(rocksdb::ReadOptions(), raw.events(), PositionKey(position), &stored);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::string corrupted = stored;
    size_t at = corrupted.find(Payload(static_cast<int>(position)));
    EXPECT_NE(at, std::string::npos);
    if (at == std::string::npos) return stored;
    corrupted[at] = 'T';  // "tamper-..." -> "Tamper-..."
    rocksdb::WriteOptions sync;
    sync.sync = true;
    EXPECT_TRUE(raw.db().Put(sync, raw.events(), PositionKey(position), corrupted).ok());
    return stored;
  }

  void PutEvent(uint64_t position, const std::string& stored) {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Put(sync, raw.events(), PositionKey(position), stored).ok());
  }

  void ExpectRefusesToStart(uint64_t position) {
    absl::Status started = daemon_.Start();
    ASSERT_FALSE(started.ok()) << "govledgerd started on a tampered ledger";
    EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition) << started;
    EXPECT_TRUE(daemon_.last_exit().exited) << daemon_.last_exit().ToString();
    // 3, a damaged data directory: the systemd unit does not restart it.
    EXPECT_EQ(daemon_.last_exit().code, 3);
    EXPECT_THAT(daemon_.Stderr(), HasSubstr(absl::StrCat("position ", position)));
  }

  // Starts on the repaired ledger and checks the whole chain.
  void ExpectStartsAndVerifies() {
    absl::Status started = daemon_.Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = daemon_.NewStub();
    absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
    ASSERT_OK(log);
    absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
    ASSERT_OK(head);
    EXPECT_TRUE(ChainVerifies(*log, *head));
    EXPECT_EQ(head->position(), static_cast<uint64_t>(kEvents));
  }
};

// Case A.
TEST_F(TamperTest, CorruptedEventFoundWhenReverifyingFromTheStart) {
  std::string original = CorruptPayload(7);
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Delete(sync, raw.meta(), "verified").ok());
  }
  // ACKNOWLEDGED_HEAD gone too: the refused start does not make it (an operator's drill: the
  // next start no longer said it had been missing).
  const std::filesystem::path acknowledged =
      std::filesystem::path(daemon_.data_dir()) / "ACKNOWLEDGED_HEAD";
  ASSERT_TRUE(std::filesystem::remove(acknowledged));
  ExpectRefusesToStart(7);
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("hash chain broken at position 7"));
  EXPECT_FALSE(std::filesystem::exists(acknowledged));
  PutEvent(7, original);
  ExpectStartsAndVerifies();
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("ACKNOWLEDGED_HEAD was missing beside a log of 20"));
}

// Case B.
TEST_F(TamperTest, CorruptedEventAfterTheVerifiedPointFound) {
  std::string original = CorruptPayload(15);
  ExpectRefusesToStart(15);
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("hash chain broken at position 15"));
  EXPECT_THAT(daemon_.Stderr(),
              HasSubstr("the data directory is damaged or was altered: keep it for inspection, "
                        "and restore the ledger from a backup (govledger admin restore)"));
  PutEvent(15, original);
  ExpectStartsAndVerifies();
}

// Case C.
TEST_F(TamperTest, CorruptedVerifiedPointFound) {
  std::string original = CorruptPayload(kVerifiedPoint);
  ExpectRefusesToStart(kVerifiedPoint);
  PutEvent(kVerifiedPoint, original);
  ExpectStartsAndVerifies();
}

// Case D.
TEST_F(TamperTest, MissingEventFound) {
  std::string original;
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok());
    ASSERT_TRUE(
        raw.db().Get(rocksdb::ReadOptions(), raw.events(), PositionKey(15), &original).ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Delete(sync, raw.events(), PositionKey(15)).ok());
  }
  ExpectRefusesToStart(15);
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("missing"));
  PutEvent(15, original);
  ExpectStartsAndVerifies();
}

// The head lost or set back (a damaged or edited `meta`): the daemon would append over the
// events after it, so it refuses to start, naming the last stored position.
TEST_F(TamperTest, EventsStoredPastTheHeadFound) {
  std::string head, verified;
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok());
    ASSERT_TRUE(raw.db().Get(rocksdb::ReadOptions(), raw.meta(), "head", &head).ok());
    ASSERT_TRUE(raw.db().Get(rocksdb::ReadOptions(), raw.meta(), "verified", &verified).ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Delete(sync, raw.meta(), "head").ok());
    ASSERT_TRUE(raw.db().Delete(sync, raw.meta(), "verified").ok());
  }
  ExpectRefusesToStart(kEvents);
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("past the head (position 0)"));
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Put(sync, raw.meta(), "head", head).ok());
    ASSERT_TRUE(raw.db().Put(sync, raw.meta(), "verified", verified).ok());
  }
  ExpectStartsAndVerifies();
}

// The indexes no hash covers: an event id's entry lost from `event_ids` lets a retry of that
// event be stored a second time (the chain still holds), and `verify`, `export` then
// `verify --file` find the id stored twice (a reviewer's tampered copy passed every check).
TEST_F(TamperTest, AnEventIdStoredTwiceAfterItsIndexEntryWasLostIsFoundByVerify) {
  std::string third;
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Get(rocksdb::ReadOptions(), raw.events(), PositionKey(3), &third).ok());
    absl::StatusOr<v1::Event> event = DecodeStoredEvent(3, third);
    ASSERT_OK(event);
    const std::optional<UuidBytes> id = ParseUuid(event->event_id());
    ASSERT_TRUE(id.has_value());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db()
                    .Delete(sync, raw.family("event_ids"),
                            rocksdb::Slice(reinterpret_cast<const char*>(id->data()), id->size()))
                    .ok());
  }
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  absl::StatusOr<v1::Event> original = DecodeStoredEvent(3, third);
  ASSERT_OK(original);
  v1::AppendRequest retry;
  v1::Event* e = retry.add_events();
  e->set_event_id(original->event_id());
  e->set_stream_id(original->stream_id());
  e->set_event_type(original->event_type());
  e->set_payload(original->payload());
  v1::AppendResponse stored;
  ASSERT_TRUE(Append(*stub_, retry, &stored).ok());
  ASSERT_EQ(stored.events(0).position(), kEvents + 1u);  // stored again: the index lost it

  const std::string server = absl::StrCat("--server ", daemon_.address());
  const std::string why =
      absl::StrCat("its event id ", original->event_id(), " is also the event id of position 3");
  CliRun verify = Cli(absl::StrCat(server, " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err, HasSubstr(absl::StrCat("the log does not verify at position 21: ", why)));
  CliRun exported = Cli(absl::StrCat(server, " export"));
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string file = daemon_.data_dir() + "-export.jsonl";
  std::ofstream(file) << exported.out;
  CliRun offline = Cli(absl::StrCat("verify --file ", file));
  EXPECT_EQ(offline.code, 4) << offline.out;
  EXPECT_THAT(offline.err, HasSubstr(absl::StrCat("at position 21 (", file, " line 21): ", why)));

  // Rebuilt from the log, the index keeps the id's first position and the rebuild names the
  // second; a retry is then answered as one again.
  stub_.reset();
  daemon_.Stop();
  daemon_.set_extra_args({"--rebuild-indexes"});
  ASSERT_OK(daemon_.Start());
  daemon_.set_extra_args({});
  EXPECT_THAT(daemon_.Stderr(),
              AllOf(HasSubstr("indexes rebuilt: 21 events, 1 streams"),
                    HasSubstr("index rebuild: the event at position 21 has the event id of the "
                              "one at 3; the index keeps 3")));
  stub_ = daemon_.NewStub();
  ASSERT_TRUE(Append(*stub_, retry, &stored).ok());
  EXPECT_TRUE(stored.events(0).duplicate());
  EXPECT_EQ(stored.events(0).position(), 3u);
}

// The stream index damaged on disk (an entry rewritten to name another event, one deleted):
// a read of the stream is DATA_LOSS, INDEX_DAMAGED, saying what to do; `--rebuild-indexes`
// rebuilds both indexes from the log, and the stream reads whole again. A start that finds a
// rebuild cut short (its mark in `meta`, the indexes emptied) rebuilds them whatever it is told.
TEST_F(TamperTest, ADamagedStreamIndexIsReportedAndRebuiltFromTheLog) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const auto stream_key = [](uint64_t version) {
    return std::string("tamper/x") + '\0' + PositionKey(version);
  };
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Put(sync, raw.family("streams"), stream_key(2), PositionKey(9)).ok());
  }
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  v1::ReadRequest request;
  request.set_stream_id("tamper/x");
  v1::ReadResponse page;
  grpc::Status read = Read(*stub_, request, &page);
  EXPECT_THAT(read, GrpcStatusIs(grpc::StatusCode::DATA_LOSS,
                                 AllOf(HasSubstr("event at position 9: the stream index gives it "
                                                 "as version 2 of stream 'tamper/x', but it is "
                                                 "version 9"),
                                       HasSubstr("start it once with --rebuild-indexes"))));
  EXPECT_THAT(read, HasErrorInfo("INDEX_DAMAGED",
                                 ElementsAre(Pair("index", "streams"), Pair("position", "9"))));
  stub_.reset();
  daemon_.Stop();
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Delete(sync, raw.family("streams"), stream_key(5)).ok());
  }
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  read = Read(*stub_, request, &page);
  EXPECT_THAT(read, GrpcStatusIs(grpc::StatusCode::DATA_LOSS, HasSubstr("position 9")));
  stub_.reset();
  daemon_.Stop();

  daemon_.set_extra_args({"--rebuild-indexes"});
  ASSERT_OK(daemon_.Start());
  daemon_.set_extra_args({});
  EXPECT_THAT(daemon_.Stderr(), AllOf(HasSubstr("rebuilding the streams and event_ids indexes "
                                                "from the log"),
                                      HasSubstr("indexes rebuilt: 20 events, 1 streams")));
  stub_ = daemon_.NewStub();
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_, "tamper/x");
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), static_cast<size_t>(kEvents));
  for (int v = 1; v <= kEvents; ++v) EXPECT_EQ((*events)[v - 1].stream_version(), v);
  stub_.reset();
  daemon_.Stop();

  // Cut short: the mark set and the indexes emptied, as BeginIndexRebuild leaves them.
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Put(sync, raw.meta(), "indexes-rebuilding", "").ok());
    for (int v = 1; v <= kEvents; ++v) {
      ASSERT_TRUE(raw.db().Delete(sync, raw.family("streams"), stream_key(v)).ok());
    }
  }
  ASSERT_OK(daemon_.Start());
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("an index rebuild was cut short: rebuilding"));
  stub_ = daemon_.NewStub();
  events = ReadAll(*stub_, "tamper/x");
  ASSERT_OK(events);
  EXPECT_EQ(events->size(), static_cast<size_t>(kEvents));
  absl::StatusOr<v1::AppendResponse> next = AppendOne(*stub_, "tamper/x", "after the rebuild");
  ASSERT_OK(next);
  EXPECT_EQ(next->events(0).stream_version(), kEvents + 1u);
  stub_.reset();
  daemon_.Stop();
  // Finished, the next start does not rebuild.
  ASSERT_OK(daemon_.Start());
  EXPECT_THAT(daemon_.Stderr(), Not(HasSubstr("rebuilding the streams")));
  stub_.reset();
  daemon_.Stop();

  // An entry planted past the stream's end: the next version is taken from the last entry, so
  // an append would store a version the log skips, for good (a reviewer's forged entry made
  // the log itself fail `verify`). The append is refused, storing nothing.
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Put(sync, raw.family("streams"), stream_key(30), PositionKey(9)).ok());
  }
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  v1::AppendResponse refused;
  grpc::Status appended =
      Append(*stub_, MakeAppend({MakeEvent("tamper/x", "after the plant")}), &refused);
  EXPECT_THAT(appended, GrpcStatusIs(grpc::StatusCode::DATA_LOSS,
                                     HasSubstr("the stream index gives it as version 30 of "
                                               "stream 'tamper/x', but it is version 9")));
  EXPECT_THAT(appended, HasErrorInfo("INDEX_DAMAGED",
                                     ElementsAre(Pair("index", "streams"), Pair("position", "9"))));
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), kEvents + 1u);
}

// A rebuild reads the whole log and checks its chain first: an index is only rebuilt from a
// log that verifies. An event edited below the verified point (which a plain start does not
// read) stops it, naming the position, as damage (exit 3), with nothing changed: a plain start
// still serves what can be read (to export the events since the last backup).
TEST_F(TamperTest, AnIndexRebuildChecksTheWholeChainBeforeChangingAnything) {
  const std::string original = CorruptPayload(7);
  daemon_.set_extra_args({"--rebuild-indexes"});
  EXPECT_FALSE(daemon_.Start().ok());
  EXPECT_EQ(daemon_.last_exit().code, 3) << daemon_.last_exit().ToString();
  EXPECT_THAT(daemon_.Stderr(),
              AllOf(HasSubstr("hash chain broken at position 7"),
                    HasSubstr("the indexes were not rebuilt (nothing was changed): start "
                              "without --rebuild-indexes to save what can still be read")));
  daemon_.set_extra_args({});
  ASSERT_OK(daemon_.Start());
  EXPECT_THAT(daemon_.Stderr(), Not(HasSubstr("rebuilding the streams")));
  stub_ = daemon_.NewStub();
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_, "tamper/x");
  ASSERT_OK(events);  // its index as it was
  EXPECT_EQ(events->size(), static_cast<size_t>(kEvents));
  stub_.reset();
  daemon_.Stop();
  PutEvent(7, original);
  daemon_.set_extra_args({"--rebuild-indexes"});
  ASSERT_OK(daemon_.Start());
  daemon_.set_extra_args({});
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("indexes rebuilt: 20 events"));
}

// The write-ahead log cut short after a kill (by hand, a failing copy), dropping events that
// were acknowledged: RocksDB's replay cannot tell it from a crash's cut, ACKNOWLEDGED_HEAD can.
// The daemon refuses to start, changing nothing; removing the file (accepting the loss) lets
// it start on what is left, with a chain that verifies.
TEST(CutShortLogTest, AcknowledgedEventsLostWithTheLogAreFoundAndTheLossAcceptedOnlyByHand) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  std::unique_ptr<v1::LedgerService::Stub> stub = daemon.NewStub();
  for (int p = 1; p <= kEvents; ++p) ASSERT_OK(AppendOne(*stub, "cut/x", Payload(p)));
  stub.reset();
  ASSERT_TRUE(daemon.Kill().signaled);
  std::filesystem::path wal;  // the log being written: the one holding the events
  for (const auto& entry : std::filesystem::directory_iterator(daemon.data_dir())) {
    if (entry.path().extension() == ".log" &&
        (wal.empty() || entry.file_size() > std::filesystem::file_size(wal))) {
      wal = entry.path();
    }
  }
  ASSERT_FALSE(wal.empty());
  const uintmax_t cut = std::filesystem::file_size(wal) / 2;
  std::filesystem::resize_file(wal, cut);

  absl::Status started = daemon.Start();
  ASSERT_FALSE(started.ok()) << "govledgerd started without acknowledged events";
  EXPECT_NE(daemon.last_exit().code, 0) << daemon.last_exit().ToString();
  EXPECT_THAT(daemon.Stderr(),
              AllOf(HasSubstr("has lost acknowledged events: its log ends at position "),
                    HasSubstr(absl::StrCat("but govledgerd acknowledged every event up to "
                                           "position ", kEvents)),
                    HasSubstr("nothing in it was changed")));
  EXPECT_EQ(std::filesystem::file_size(wal), cut) << "the log was changed";

  ASSERT_TRUE(std::filesystem::remove(std::filesystem::path(daemon.data_dir()) /
                                      "ACKNOWLEDGED_HEAD"));
  ASSERT_OK(daemon.Start());
  stub = daemon.NewStub();
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub);
  ASSERT_OK(head);
  EXPECT_LT(head->position(), static_cast<uint64_t>(kEvents));
  // The start that accepted the loss says the file was made anew, and from which head.
  EXPECT_THAT(daemon.Stderr(),
              HasSubstr(absl::StrCat("ACKNOWLEDGED_HEAD was missing beside a log of ",
                                     head->position(), " events and is made anew from its "
                                     "head")));
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub);
  ASSERT_OK(log);
  EXPECT_TRUE(ChainVerifies(*log, *head));
  absl::StatusOr<v1::AppendResponse> next = AppendOne(*stub, "cut/x", "after the loss");
  ASSERT_OK(next);
  EXPECT_EQ(next->events(0).position(), head->position() + 1);
}

// Case E.
// An event copied over the next position (before the verified point, so the start does not
// look): `verify` and `export` name the position that holds it and say what it names. (A
// reviewer's finding: export checked each event at the position it names, and wrote position 5
// twice with exit 0.)
TEST_F(TamperTest, AnEventCopiedToAnotherPositionIsNamedByVerifyAndExport) {
  std::string fifth;
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Get(rocksdb::ReadOptions(), raw.events(), PositionKey(5), &fifth).ok());
  }
  PutEvent(6, fifth);
  ASSERT_OK(daemon_.Start());
  const std::string server = absl::StrCat("--server ", daemon_.address());
  const std::string why =
      "hash chain broken at position 6: the event stored there names position 5 (events were "
      "moved or renumbered)";
  CliRun verify = Cli(absl::StrCat(server, " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err, HasSubstr(why));
  CliRun out = Cli(absl::StrCat(server, " export"));
  EXPECT_EQ(out.code, 4) << out.err;
  EXPECT_THAT(out.err, HasSubstr(absl::StrCat("export: the event at position 6 does not verify (",
                                               why, ")")));
  // Exported from position 6, it is the first event and its position is the one asked for.
  CliRun from = Cli(absl::StrCat(server, " export --from 6"));
  EXPECT_EQ(from.code, 4) << from.err;
  EXPECT_THAT(from.err, HasSubstr(why));
  // An export of the stream reads version 6 where the stream's index says, and finds version 5
  // there (a reviewer's finding: it was exported inside the stream, exit 0): the server's read
  // of the stream refuses it, as the log's damage (the event there names another position),
  // not the index's.
  CliRun stream = Cli(absl::StrCat(server, " export --stream tamper/x"));
  EXPECT_EQ(stream.code, 4) << stream.err;
  EXPECT_THAT(stream.err, HasSubstr(absl::StrCat("export: the server cannot read version 6 of "
                                                 "stream tamper/x (",
                                                 why, "): the ledger is damaged there")));
  EXPECT_THAT(stream.err, Not(HasSubstr("--rebuild-indexes")));
}

// A governance event edited below the verified point (a start does not look there): a query
// that folds it refuses with DATA_LOSS naming the position, and monitoring sees the damage. It
// had answered with the edited text (an operator's trial: a decision's amount changed on disk
// was served as the amount).
TEST_F(TamperTest, AQueryNeverFoldsAnEventEditedOnDisk) {
  ASSERT_OK(daemon_.Start());
  const std::string server = absl::StrCat("--server ", daemon_.address());
  CliRun registered =
      Cli(absl::StrCat(server,
                       " append --type govledger.v1.OrganisationRegistered --effective 2016-01-01 "
                       "--payload '{\"organisationId\":\"T\",\"name\":\"Tamper Test\"}'"));
  ASSERT_EQ(registered.code, 0) << registered.err;
  const uint64_t position = kEvents + 1;
  // Another after it, so that neither the verified point nor the rules' snapshot (each
  // checked against the event it names at a start) is the edited event.
  stub_ = daemon_.NewStub();
  ASSERT_OK(AppendOne(*stub_, "tamper/x", "after the organisation"));
  stub_.reset();
  daemon_.Stop();  // a clean stop: the verified point passes it
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    std::string stored;
    ASSERT_TRUE(
        raw.db().Get(rocksdb::ReadOptions(), raw.events(), PositionKey(position), &stored).ok());
    const size_t at = stored.find("Tamper Test");
    ASSERT_NE(at, std::string::npos);
    stored[at] = 'D';  // "Damper Test"
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Put(sync, raw.events(), PositionKey(position), stored).ok());
  }
  ASSERT_OK(daemon_.Start());
  CliRun history = Cli(absl::StrCat("--server ", daemon_.address(), " history organisation/T"));
  EXPECT_EQ(history.code, 4) << history.out;
  EXPECT_THAT(history.out, Not(HasSubstr("Damper")));
  EXPECT_THAT(history.err,
              HasSubstr(absl::StrCat("hash chain broken at position ", position,
                                     ": its content does not give the hash stored with it")));
  EXPECT_THAT(Cli(absl::StrCat("--server ", daemon_.address(), " admin stats")).out,
              HasSubstr(absl::StrCat("\nlog            DAMAGED: hash chain broken at position ",
                                     position)));
}

TEST_F(TamperTest, CorruptedEventBeforeTheVerifiedPointFoundByVerify) {
  std::string original = CorruptPayload(7);
  ASSERT_OK(daemon_.Start());
  // A correction refolds the governance state from position 1, checking each event it reads:
  // the append is refused, naming the position, and nothing is stored.
  const std::string server = absl::StrCat("--server ", daemon_.address());
  const std::string rule = "3f2b6c1e-8d4a-4b7e-9c1d-2a5e6f708192";
  CliRun registered = Cli(absl::StrCat(
      server, " append --type govledger.v1.OrganisationRegistered --effective 2016-01-01 "
      "--payload '{\"organisationId\":\"T\",\"name\":\"Tamper Test\"}'"));
  ASSERT_EQ(registered.code, 0) << registered.err;
  CliRun ruled = Cli(absl::StrCat(
      server, " append --id ", rule, " --type govledger.v1.DelegationRuleSet --payload "
      "'{\"organisationId\":\"T\",\"ruleId\":\"R1\",\"thresholdPence\":\"50000000\","
      "\"role\":\"Chief\"}'"));
  ASSERT_EQ(ruled.code, 0) << ruled.err;
  CliRun corrected = Cli(absl::StrCat(
      server, " append --stream delegation/T/R1 --type govledger.v1.CorrectionRecorded "
      "--payload '{\"correctedEventId\":\"", rule, "\",\"reason\":\"mistyped\"}'"));
  EXPECT_NE(corrected.code, 0) << corrected.out;
  EXPECT_THAT(corrected.err, HasSubstr("hash chain broken at position 7"));
  EXPECT_THAT(Cli(absl::StrCat(server, " head")).out, HasSubstr("events   22"));
  CliRun verify = Cli(absl::StrCat("--server ", daemon_.address(), " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err, HasSubstr("does not verify at position 7"));
  // Nor is it exported as if whole (an auditor's `verify --file` was the first to say).
  const std::string exported = daemon_.data_dir() + "-export.jsonl";
  CliRun out = Cli(absl::StrCat("--server ", daemon_.address(), " export --out ", exported));
  EXPECT_EQ(out.code, 4) << out.err;
  EXPECT_THAT(out.err, HasSubstr("export: the event at position 7 does not verify"));
  EXPECT_FALSE(std::filesystem::exists(exported));
  CliRun before = Cli(absl::StrCat("--server ", daemon_.address(), " export --to 6"));
  EXPECT_EQ(before.code, 0) << before.err;
  const std::string stats = absl::StrCat("--server ", daemon_.address(), " admin stats");
  // The correction's refold read the damage: monitoring sees it from then on.
  EXPECT_THAT(Cli(stats).out, HasSubstr("\nlog            DAMAGED: applying a correction: hash "
                                        "chain broken at position 7"));
  // Nor is a tree head made over it (one would be signed with the ledger's key).
  CliRun tree_head = Cli(absl::StrCat("--server ", daemon_.address(), " tree-head"));
  EXPECT_EQ(tree_head.code, 4) << tree_head.out;
  EXPECT_THAT(tree_head.err, HasSubstr("hash chain broken at position 7"));
  // Exit 4 (integrity) for a witness that meets it: a cron job alerting on 4 heard 1 (found by
  // an operator's trial).
  CliRun witness = Cli(absl::StrCat("--server ", daemon_.address(), " witness ",
                                    daemon_.data_dir(), "-witness"));
  EXPECT_EQ(witness.code, 4) << witness.err;
  // What the daemon's own reads find shows where monitoring looks, and stays (found by an
  // operator's trial: only a journal line said so); appends go on.
  const std::string damaged = Cli(stats).out;
  EXPECT_THAT(damaged, AllOf(HasSubstr("\nlog            DAMAGED: "),
                             HasSubstr("hash chain broken at position 7")));
  // Its advice once, not the damage's and then the CLI's own again.
  const size_t from = damaged.find("\nlog ");
  const std::string line = damaged.substr(from, damaged.find('\n', from + 1) - from);
  size_t backups = 0;
  for (size_t at = line.find("backup"); at != std::string::npos; at = line.find("backup", at + 1)) {
    ++backups;
  }
  EXPECT_EQ(backups, 1u) << line;
  EXPECT_THAT(Cli(stats + " --prometheus").out, HasSubstr("\ngovledger_integrity_failed 1\n"));
  // And the journal says so, once, when the damage is first met (it had stayed silent).
  const std::string journal = daemon_.Stderr();
  EXPECT_THAT(journal, HasSubstr("govledgerd: the log is damaged: applying a correction: hash "
                                 "chain broken at position 7"));
  EXPECT_THAT(journal, HasSubstr("(README, \"Saving what a damaged ledger still holds\")"));
  size_t said = 0;
  for (size_t at = journal.find("the log is damaged"); at != std::string::npos;
       at = journal.find("the log is damaged", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << journal;
  stub_ = daemon_.NewStub();
  ASSERT_OK(AppendOne(*stub_, "tamper/x", "after the damage was found"));
  EXPECT_THAT(Cli(stats + " --json").out, HasSubstr("\"integrityFailure\":\"applying a "
                                                    "correction: hash chain broken at position 7"));
  // Publishing tree heads, the daemon builds the tree at start and says so at once.
  daemon_.Stop();
  daemon_.set_extra_args({"--tree-head-seconds", "1"});
  ASSERT_OK(daemon_.Start());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!absl::StrContains(daemon_.Stderr(), "no tree head: ") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(daemon_.Stderr(),
              HasSubstr("govledgerd: no tree head: DATA_LOSS: hash chain broken at position 7"));
  // Said once, not at every tick (it had been, each second the head had moved since the last
  // tree head): an append, and ticks before and after it, add no line.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stub_ = daemon_.NewStub();
  ASSERT_OK(AppendOne(*stub_, "tamper/x", "while tree heads fail"));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  {
    const std::string journal = daemon_.Stderr();
    size_t said = 0;
    for (size_t at = journal.find("no tree head: "); at != std::string::npos;
         at = journal.find("no tree head: ", at + 1)) {
      ++said;
    }
    EXPECT_EQ(said, 1u) << journal;
  }
  // The message alone: not the status's serialized payloads, bytes a journal cannot show.
  EXPECT_THAT(daemon_.Stderr(), Not(HasSubstr("type.googleapis.com")));
  EXPECT_THAT(Cli(absl::StrCat("--server ", daemon_.address(), " admin stats")).out,
              HasSubstr("\nlog            DAMAGED: hash chain broken at position 7"));
  daemon_.Stop();
  // A rebuild of the projections, which folds every event again, checks the whole chain first
  // and refuses to start (exit 3, damage): it built its state from the edited event, without a
  // word (found by an operator's trial).
  daemon_.set_extra_args({"--rebuild-projections"});
  EXPECT_FALSE(daemon_.Start().ok());
  EXPECT_EQ(daemon_.last_exit().code, 3) << daemon_.last_exit().ToString();
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("position 7"));
  daemon_.set_extra_args({});
  // So does an ordinary start that folds from position 1 (its snapshot gone, or of a format
  // this version does not read): the fold checks each event it reads against the chain.
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Delete(sync, raw.family("projections"), "validator").ok());
  }
  EXPECT_FALSE(daemon_.Start().ok());
  EXPECT_EQ(daemon_.last_exit().code, 3) << daemon_.last_exit().ToString();
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("hash chain broken at position 7"));
  PutEvent(7, original);
  ASSERT_OK(daemon_.Start());
  CliRun clean = Cli(absl::StrCat("--server ", daemon_.address(), " verify"));
  EXPECT_EQ(clean.code, 0) << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("verified positions 1 to 24"));  // with the two appended
  EXPECT_THAT(Cli(absl::StrCat("--server ", daemon_.address(), " admin stats --prometheus")).out,
              HasSubstr("\ngovledger_integrity_failed 0\n"));
}

// An event the server cannot read at all (here, its hash trailer cut off; on disk, a block
// whose checksum fails) fails the page that holds it: `verify` then reads one event at a time
// and names that event, not the page's first position (found by an operator's trial).
TEST_F(TamperTest, VerifyNamesTheEventTheServerCannotRead) {
  std::string stored;
  {
    RawDatabase raw(daemon_.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    ASSERT_TRUE(raw.db().Get(rocksdb::ReadOptions(), raw.events(), PositionKey(7), &stored).ok());
  }
  PutEvent(7, stored.substr(0, stored.size() - kHashTrailerSize));
  ASSERT_OK(daemon_.Start());  // before the verified point: a start does not read it
  CliRun verify = Cli(absl::StrCat("--server ", daemon_.address(), " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err, HasSubstr("the chain does not verify: the server cannot read the "
                                    "event at position 7: "));
  // So does export, having written the 6 before it (it had named only the page it read).
  CliRun exported = Cli(absl::StrCat("--server ", daemon_.address(), " export"));
  EXPECT_EQ(exported.code, 4) << exported.err;
  EXPECT_THAT(exported.err, HasSubstr("export: the server cannot read the event at position 7 ("));
  EXPECT_THAT(exported.err, HasSubstr("the export stopped after 6 events (the output is "
                                      "incomplete)"));
  // Around the damage, what can be read is saved whole: up to just before it (the export had
  // read one past --to, and written nothing), and from just after it.
  const std::string before = daemon_.data_dir() + "-before.jsonl";
  const std::string after = daemon_.data_dir() + "-after.jsonl";
  for (const auto& [flags, file] :
       {std::pair<std::string, std::string>{"--to 6", before}, {"--from 8", after}}) {
    CliRun saved =
        Cli(absl::StrCat("--server ", daemon_.address(), " export ", flags, " --out ", file));
    EXPECT_EQ(saved.code, 0) << flags << ": " << saved.err;
  }
  CliRun lines = Cli(absl::StrCat("verify --file ", before));
  EXPECT_EQ(lines.code, 0) << lines.err;
  EXPECT_THAT(lines.out, HasSubstr("positions 1 to 6"));
  EXPECT_TRUE(std::filesystem::exists(after));
  daemon_.Stop();
  PutEvent(7, stored);
  ASSERT_OK(daemon_.Start());
  EXPECT_EQ(Cli(absl::StrCat("--server ", daemon_.address(), " verify")).code, 0);
}

// Writes `events` to a new database in `dir` as positions 1..n, each chained to the one before,
// as the ledger would (nothing checks the rules or the signatures); an event without an
// effective time takes effect when recorded.
void WriteChainedLog(const std::string& dir, std::vector<v1::Event> events) {
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
      RocksDbEventStore::Open(dir, RocksDbOptions{});
  ASSERT_OK(store);
  crypto::Hash prev = crypto::kGenesisHash;
  std::vector<EventWrite> writes;
  std::map<std::string, uint64_t> versions;
  for (size_t i = 0; i < events.size(); ++i) {
    v1::Event& e = events[i];
    e.set_position(i + 1);
    e.set_stream_version(++versions[e.stream_id()]);
    e.mutable_recorded_time()->set_seconds(1475668800 + static_cast<int64_t>(i));
    if (!e.has_effective_time()) *e.mutable_effective_time() = e.recorded_time();
    e.set_actor("whoever holds the store");
    e.set_prev_hash(std::string(crypto::AsBytes(prev)));
    EventWrite write;
    write.position = e.position();
    write.stream_id = e.stream_id();
    write.stream_version = e.stream_version();
    write.event_id = *ParseUuid(e.event_id());
    write.stored_bytes = ChainRecord(e.SerializeAsString(), prev, &prev);
    writes.push_back(std::move(write));
  }
  ASSERT_OK((*store)->Commit(writes, ChainPoint{events.size(), prev}));
}

TEST(ForgedLogTest, ASignatureTheSignatoryDidNotMakeIsFoundByVerify) {
  using namespace gov;  // NOLINT: builders
  const std::string role = "Deputy Mayor for Policing and Crime";
  const Signer dmpc = NewSigner("mopac-dmpc", role);
  // The forger's key pair, under the signatory's key id.
  const Signer forger{dmpc.key_id, role, NewSigner("forger", role).keys};
  const v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  DaemonHarness daemon;
  WriteChainedLog(daemon.data_dir(), {Ev(Organisation("MOPAC")),
                                      Ev(dmpc.Registration("Sophie Linden")), Ev(pcd72),
                                      Ev(forger.Sign(pcd72))});
  ASSERT_OK(daemon.Start());  // the chain holds, and a replay does not re-check signatures
  const std::string server = absl::StrCat("--server ", daemon.address());
  CliRun verify = Cli(absl::StrCat(server, " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err,
              HasSubstr("the log does not verify: position 4: the signature of decision "
                        "MOPAC/PCD 72 with key mopac-dmpc (Sophie Linden) does not verify"));
  // The same, offline, in an export.
  TempDir dir;
  const std::string file = dir.path() + "/forged.jsonl";
  ASSERT_EQ(Cli(absl::StrCat(server, " export --out ", file)).code, 0);
  CliRun offline = Cli(absl::StrCat("verify --file ", file));
  EXPECT_EQ(offline.code, 4) << offline.out;
  EXPECT_THAT(offline.err, HasSubstr("position 4: the signature of decision MOPAC/PCD 72"));
}

// A signature with a key that no event registers, forged into a rewritten log: in the whole
// log (the server's, or an export from position 1) it is a failure, not a signature "not
// checked" (an auditor's independent verifier caught it when verify passed it).
TEST(ForgedLogTest, ASignatureWithAKeyTheLogNeverRegisteredIsFoundByVerify) {
  using namespace gov;  // NOLINT: builders
  const std::string role = "Deputy Mayor for Policing and Crime";
  const Signer forger = NewSigner("mopac-chair-2016", role);
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {role});
  DaemonHarness daemon;
  WriteChainedLog(daemon.data_dir(),
                  {Ev(Organisation("MOPAC")), Ev(pcd72), Ev(forger.Sign(pcd72))});
  ASSERT_OK(daemon.Start());
  const std::string server = absl::StrCat("--server ", daemon.address());
  CliRun verify = Cli(absl::StrCat(server, " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err, HasSubstr("position 3: the signature of decision MOPAC/PCD 72 with "
                                    "key mopac-chair-2016 has no key mopac-chair-2016 "
                                    "registered before it"));
  TempDir dir;
  const std::string file = dir.path() + "/forged.jsonl";
  ASSERT_EQ(Cli(absl::StrCat(server, " export --out ", file)).code, 0);
  CliRun offline = Cli(absl::StrCat("verify --file ", file));
  EXPECT_EQ(offline.code, 4) << offline.out;
  EXPECT_THAT(offline.err, HasSubstr("position 3: the signature of decision MOPAC/PCD 72"));
  // An export of the decision's stream alone cannot tell: the signature is not checked.
  const std::string stream = dir.path() + "/stream.jsonl";
  ASSERT_EQ(Cli(absl::StrCat(server, " export --stream decision/MOPAC/PCD-72 --out ", stream)).code,
            0);
  CliRun partial = Cli(absl::StrCat("verify --allow-gaps --file ", stream));
  EXPECT_EQ(partial.code, 0) << partial.err;
  EXPECT_THAT(partial.out, HasSubstr("1 not checked"));
}

// A log written before 2026-11-30 may hold a signature recorded after a correction voided its
// proposal (the rules then did not look at corrections): verify checks it with that proposal,
// as those rules did, says so apart from the signatures that count, and finds a forged one.
TEST(ForgedLogTest, ASignatureAfterItsProposalWasVoidedIsVerifiedWithItAndSaidApart) {
  using namespace gov;  // NOLINT: builders
  const std::string role = "Deputy Mayor for Policing and Crime";
  const Signer dmpc = NewSigner("mopac-dmpc", role);
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {role});
  const v1::Event proposal = Ev(pcd72);
  for (const bool forged : {false, true}) {
    const Signer signer =
        forged ? Signer{dmpc.key_id, role, NewSigner("forger", role).keys} : dmpc;
    DaemonHarness daemon;
    WriteChainedLog(daemon.data_dir(),
                    {Ev(Organisation("MOPAC")), Ev(dmpc.Registration("Sophie Linden")), proposal,
                     Correction(proposal, "proposed in error"), Ev(signer.Sign(pcd72))});
    ASSERT_OK(daemon.Start());
    CliRun verify = Cli(absl::StrCat("--server ", daemon.address(), " verify"));
    if (!forged) {
      EXPECT_EQ(verify.code, 0) << verify.err;
      EXPECT_THAT(verify.out,
                  HasSubstr("decision signatures: 0 verified (0 decisions), each over its "
                            "decision's digest"));
      EXPECT_THAT(verify.out, HasSubstr("; 1 more, verified with a proposal or key a correction "
                                        "had voided before it (a log written before 2026-11-30 "
                                        "may hold such), which no answer counts\n"));
    } else {
      EXPECT_EQ(verify.code, 4) << verify.out;
      EXPECT_THAT(verify.err,
                  AllOf(HasSubstr("position 5: the signature of decision MOPAC/PCD 72 with key "
                                  "mopac-dmpc (Sophie Linden) does not verify"),
                        HasSubstr("(checked with the proposal at position 3 and the key "
                                  "registered at position 2, as the rules of the time did, "
                                  "though a correction had voided the proposal before the "
                                  "signature)")));
    }
  }
}

// A log a newer govledgerd wrote (a rollback to a build of the same storage format), with a
// proposal holding a field this version does not know, signed there over the newer digest:
// verify fails the signature (it cannot tell it from a proposal changed after signing) and says
// to verify with a govledger at least as new; this version gives no digest to sign for it.
TEST(NewerLogTest, AProposalFromANewerVersionIsNotSignedHereAndItsSignaturesFailSayingWhy) {
  using namespace gov;  // NOLINT: builders
  const std::string role = "Deputy Mayor for Policing and Crime";
  const Signer dmpc = NewSigner("mopac-dmpc", role);
  v1::DecisionProposed newer = Decision("MOPAC", "PCD 98", {role});
  newer.GetReflection()->MutableUnknownFields(&newer)->AddLengthDelimited(
      16, "CONDITION: only if the Home Office grant is confirmed");
  v1::DecisionSigned signed_there = dmpc.Sign(newer);
  signed_there.set_signature(std::string(64, '\x42'));  // over the newer version's digest
  DaemonHarness daemon;
  WriteChainedLog(daemon.data_dir(), {Ev(Organisation("MOPAC")),
                                      Ev(dmpc.Registration("Sophie Linden")), Ev(newer),
                                      Ev(signed_there)});
  ASSERT_OK(daemon.Start());
  const std::string server = absl::StrCat("--server ", daemon.address());
  CliRun verify = Cli(absl::StrCat(server, " verify"));
  EXPECT_EQ(verify.code, 4) << verify.out;
  EXPECT_THAT(verify.err, HasSubstr("position 4: the signature of decision MOPAC/PCD 98"));
  EXPECT_THAT(verify.err, HasSubstr("the proposal (position 3) holds field number 16, which "
                                    "this version of govledger does not know: if a newer "
                                    "govledger recorded it, verify with one at least as new"));
  CliRun digest =
      Cli(absl::StrCat(server, " decision digest --organisation MOPAC --reference 'PCD 98'"));
  EXPECT_EQ(digest.code, 1);
  EXPECT_THAT(digest.err, HasSubstr("decision MOPAC/PCD 98 was proposed (position 3) with field "
                                    "number 16, which this version of govledger does not know"));
  EXPECT_EQ(digest.out, "");
}

TEST(ForgedLogTest, VerifyListsTheKeysThatSignedAnHonestLog) {
  using namespace gov;  // NOLINT: builders
  const std::string role = "Deputy Mayor for Policing and Crime";
  const Signer dmpc = NewSigner("mopac-dmpc", role);
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {role});
  DaemonHarness daemon;
  // Revoked twice (a term's end, then brought forward): the earliest is in force.
  WriteChainedLog(daemon.data_dir(), {Ev(Organisation("MOPAC")),
                                      Ev(dmpc.Registration("Sophie Linden")), Ev(pcd72),
                                      Ev(dmpc.SignDeclaring(pcd72)),
                                      At(Ev(Revoke("mopac-dmpc")), MakeDate(2030, 1, 1)),
                                      At(Ev(Revoke("mopac-dmpc")), MakeDate(2029, 6, 1))});
  ASSERT_OK(daemon.Start());
  CliRun verify = Cli(absl::StrCat("--server ", daemon.address(), " verify"));
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_THAT(verify.out,
              HasSubstr("decision signatures: 1 verified (1 decision), each over its decision's "
                        "digest (canonical, or with a declaration of interests the signature "
                        "digest) with its key's registered public key\n"
                        "signing keys used (compare them with the keys their holders hold):\n"
                        "  mopac-dmpc  Sophie Linden, " +
                        role + "  public key " + crypto::ToHex(dmpc.keys.public_key) +
                        " (registered at position 2 by whoever holds the store)  1 signature; "
                        "revoked from "
                        "2029-06-01T12:00:00Z (position 6)\n"));

  // A registration a correction voids after the key signed: listed, and marked.
  const v1::Event registration = Ev(dmpc.Registration("Sophie Linden"));
  DaemonHarness corrected;
  WriteChainedLog(corrected.data_dir(),
                  {Ev(Organisation("MOPAC")), registration, Ev(pcd72), Ev(dmpc.Sign(pcd72)),
                   Correction(registration, "registered under the wrong holder")});
  ASSERT_OK(corrected.Start());
  CliRun marked = Cli(absl::StrCat("--server ", corrected.address(), " verify"));
  EXPECT_EQ(marked.code, 0) << marked.err;
  EXPECT_THAT(marked.out,
              HasSubstr("(registered at position 2 by whoever holds the store)  1 signature; its "
                        "registration since voided by a correction (no answer counts its "
                        "signatures)\n"));
}

}  // namespace
}  // namespace govledger::testing
