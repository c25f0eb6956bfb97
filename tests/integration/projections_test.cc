// Persisted projections through the real govledgerd: a restart loads the
// governance snapshot and replays only the events after it (after a clean
// shutdown nothing; after SIGKILL the tail since the last snapshot), and
// `--rebuild-projections` refolds the log, resumes after being killed in the
// middle (SIGKILL), and leaves the same answers. The daemon says how it
// recovered on stderr: "governance state from the snapshot at position N;
// replayed K positions ...". QueryService's index of the log persists too: a
// restart loads it and reads only the events after it ("query index loaded at
// position N, then K events read ..."), and one that does not match is rebuilt.
#include <grpcpp/client_context.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "govledger/internal/snapshot.pb.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/uuid.h"
#include "tests/governance_events.h"
#include "tests/integration/client_util.h"
#include "tests/integration/raw_database.h"
#include "tests/seed000_events.h"

namespace govledger::testing {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class ProjectionsTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    Connect();
  }

  // New stubs for the daemon now running (every start binds a new port).
  void Connect() {
    stub_ = daemon_.NewStub();
    query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  }

  uint64_t Send(std::vector<v1::Event> events) {
    v1::AppendResponse response;
    grpc::Status s =
        Append(*stub_, MakeAppend(std::move(events)), &response, "clerk");
    EXPECT_THAT(s, GrpcOk());
    return response.head_position();
  }

  // The first line of this run's stderr that holds `what`, waiting for it up
  // to 10 s.
  std::string LineWith(const std::string& what) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::istringstream err(daemon_.Stderr());
      for (std::string line; std::getline(err, line);) {
        if (line.find(what) != std::string::npos) return line;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return absl::StrCat("(no line with '", what, "') ", daemon_.Stderr());
  }
  // How it recovered its governance state (just after the port file).
  std::string RecoveryLine() { return LineWith("governance state"); }
  // How QueryService made its index ready (from its warming thread).
  std::string IndexLine() { return LineWith("query index"); }

  // Answers that depend on the whole fold: LPP's status and risks as recorded
  // at the head and as known at week 86, serialized.
  std::string Answers() {
    std::string out;
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      v1::AsAt as_at;
      as_at.set_mode(mode);
      if (mode == v1::AS_AT_MODE_AS_RECORDED) {
        as_at.set_position(GetHead(*stub_)->position());
      } else {
        as_at.mutable_programme_week()->set_programme_id("LPP");
        as_at.mutable_programme_week()->set_week(86);
      }
      v1::GetProgrammeStatusRequest status;
      status.set_programme_id("LPP");
      *status.mutable_as_at() = as_at;
      v1::GetProgrammeStatusResponse status_out;
      grpc::ClientContext c1;
      c1.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
      EXPECT_THAT(query_->GetProgrammeStatus(&c1, status, &status_out),
                  GrpcOk());
      v1::GetRiskRegisterRequest risks;
      risks.set_programme_id("LPP");
      *risks.mutable_as_at() = as_at;
      v1::GetRiskRegisterResponse risks_out;
      grpc::ClientContext c2;
      c2.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
      EXPECT_THAT(query_->GetRiskRegister(&c2, risks, &risks_out), GrpcOk());
      absl::StrAppend(&out, status_out.ShortDebugString(), "\n",
                      risks_out.ShortDebugString(), "\n");
    }
    return out;
  }

  // Rewrites the stopped daemon's saved query index (projections key
  // "query-index") with `edit`.
  void EditSavedIndex(const std::function<void(std::string&)>& edit) {
    RawDatabase db(daemon_.data_dir());
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    rocksdb::ColumnFamilyHandle* projections = db.family("projections");
    ASSERT_NE(projections, nullptr);
    std::string bytes;
    ASSERT_TRUE(db.db().Get(rocksdb::ReadOptions(), projections, "query-index", &bytes).ok());
    ASSERT_NO_FATAL_FAILURE(edit(bytes));
    ASSERT_TRUE(db.db().Put(rocksdb::WriteOptions(), projections, "query-index", bytes).ok());
  }

  uint64_t RecordSeed000() {
    const seed000::Seed000 seed = seed000::BuildSeed000();
    Send(seed.registrations);
    Send(seed.risk_register);
    Send(seed.week74_ratings);
    Send(seed.project_closures);
    Send(seed.risk_changes);
    Send(seed.changes);
    return Send(seed.week86_ratings);
  }

  std::unique_ptr<v1::QueryService::Stub> query_;
};

TEST_F(ProjectionsTest, ARestartLoadsTheSnapshotAndReplaysOnlyTheTail) {
  const uint64_t head = RecordSeed000();
  const std::string before = Answers();
  ASSERT_OK(daemon_.Restart());  // SIGTERM: the snapshot is saved at the head
  Connect();
  EXPECT_THAT(RecoveryLine(),
              HasSubstr(absl::StrCat("from the snapshot at position ", head,
                                     "; replayed 0 positions")));
  EXPECT_EQ(Answers(), before);

  // Snapshots every 5 commits; SIGKILL loses no snapshot taken, and the next
  // start replays only what came after the last.
  daemon_.set_extra_args({"--snapshot-every", "5"});
  ASSERT_OK(daemon_.Restart());
  Connect();
  for (int i = 1; i <= 12; ++i) {
    Send({Ev(Risk(absl::StrCat("LPP-RX", i), ProgrammeRef("LPP")))});
  }
  const ExitStatus killed = daemon_.Kill();
  EXPECT_TRUE(killed.signaled);
  ASSERT_OK(daemon_.Start());
  Connect();
  EXPECT_THAT(RecoveryLine(),
              HasSubstr(absl::StrCat("from the snapshot at position ",
                                     head + 10, "; replayed 2 positions (2 "
                                                "governance events")));
  // The rules see the snapshot's state and the tail's.
  v1::AppendResponse response;
  EXPECT_THAT(Append(*stub_, MakeAppend({Ev(Risk("LPP-RX3", ProgrammeRef("LPP")))}),
                     &response),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("has already been opened")));
  EXPECT_THAT(Append(*stub_, MakeAppend({Ev(Risk("LPP-RX12", ProgrammeRef("LPP")))}),
                     &response),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("has already been opened")));
  EXPECT_THAT(Append(*stub_, MakeAppend({Ev(CloseRisk("LPP-RX12"))}), &response),
              GrpcOk());
}

// Events appended with no query since are indexed at a clean stop, not read again at the start.
TEST_F(ProjectionsTest, AStopIndexesTheEventsNoQueryHasRead) {
  EXPECT_THAT(IndexLine(), HasSubstr("query index built from position 1 (no saved index)"));
  const uint64_t head = RecordSeed000();
  ASSERT_OK(daemon_.Restart());
  Connect();
  EXPECT_THAT(IndexLine(),
              AllOf(HasSubstr(absl::StrCat("query index loaded at position ", head, " (")),
                    HasSubstr(absl::StrCat(" MB), then 0 events read to position ", head))));
}

// A stop indexes at most 100,000 of them (a million would hold it up for seconds); the next
// start reads the rest, in the background.
TEST_F(ProjectionsTest, AStopIndexesAtMostAHundredThousandEvents) {
  EXPECT_THAT(IndexLine(), HasSubstr("query index built from position 1 (no saved index)"));
  constexpr int kEvents = 120000;
  constexpr int kBatch = 10000;
  for (int sent = 0; sent < kEvents; sent += kBatch) {
    std::vector<v1::Event> batch;
    for (int i = 0; i < kBatch; ++i) batch.push_back(MakeEvent("load/filler", "x"));
    Send(std::move(batch));
  }
  ASSERT_OK(daemon_.Restart());
  Connect();
  EXPECT_THAT(IndexLine(),
              AllOf(HasSubstr("query index loaded at position 100000 ("),
                    HasSubstr(absl::StrCat(" MB), then 20000 events read to position ", kEvents))));
}

TEST_F(ProjectionsTest, ARestartLoadsTheQueryIndexAndReadsOnlyTheEventsAfterIt) {
  EXPECT_THAT(IndexLine(), HasSubstr("query index built from position 1 (no saved index)"));
  const uint64_t head = RecordSeed000();
  const std::string before = Answers();

  // SIGTERM saves the index at the head; the next start loads it.
  ASSERT_OK(daemon_.Restart());
  Connect();
  EXPECT_THAT(IndexLine(),
              AllOf(HasSubstr(absl::StrCat("query index loaded at position ", head, " (")),
                    HasSubstr(absl::StrCat(" MB), then 0 events read to position ", head))));
  EXPECT_EQ(Answers(), before);

  // After SIGKILL: the index saved last, and the events after it.
  Send({Ev(Risk("LPP-RX1", ProgrammeRef("LPP")))});
  Send({Ev(Rerate("LPP-RX1", v1::RAG_RED))});
  const std::string later = Answers();
  ASSERT_NE(later, before);
  EXPECT_TRUE(daemon_.Kill().signaled);
  ASSERT_OK(daemon_.Start());
  Connect();
  EXPECT_THAT(IndexLine(),
              AllOf(HasSubstr(absl::StrCat("query index loaded at position ", head, " (")),
                    HasSubstr(absl::StrCat(" MB), then 2 events read to position ", head + 2))));
  EXPECT_EQ(Answers(), later);

  // An index that does not parse is rebuilt from the log, with the same answers.
  ASSERT_EQ(daemon_.Stop().code, 0);
  ASSERT_NO_FATAL_FAILURE(EditSavedIndex([](std::string& bytes) { bytes = "not an index"; }));
  ASSERT_OK(daemon_.Start());
  Connect();
  EXPECT_THAT(IndexLine(),
              HasSubstr(absl::StrCat("query index built from position 1 (the saved query "
                                     "index does not parse), then ",
                                     head + 2, " events read")));
  EXPECT_EQ(Answers(), later);

  // That stop saved the rebuilt index. One whose hash is not the log's (as if the log had
  // changed under it) is rebuilt too.
  ASSERT_EQ(daemon_.Stop().code, 0);
  ASSERT_NO_FATAL_FAILURE(EditSavedIndex([&](std::string& bytes) {
    internal::QueryIndexSnapshot saved;
    ASSERT_TRUE(saved.ParseFromString(bytes));
    ASSERT_EQ(saved.position(), head + 2);
    (*saved.mutable_hash())[0] ^= 0x01;
    bytes = saved.SerializeAsString();
  }));
  ASSERT_OK(daemon_.Start());
  Connect();
  EXPECT_THAT(IndexLine(),
              HasSubstr(absl::StrCat("query index built from position 1 (the saved query "
                                     "index's hash at position ",
                                     head + 2, " does not match the log's)")));
  EXPECT_EQ(Answers(), later);
}

// A correction whose target the event-id index cannot give (its entry names another event: a
// damaged index) stops the catch-up of a loaded query index, which is dropped with the saved
// one: the start says so, and the stop leaves no saved index to load (the next start builds it
// from position 1) nor snapshots that no catalogue lists.
TEST_F(ProjectionsTest, AQueryIndexDroppedAtADamagedEventTakesTheSavedOneWithIt) {
  const uint64_t head = RecordSeed000();
  ASSERT_FALSE(Answers().empty());  // snapshots for the catalogue
  ASSERT_OK(daemon_.Restart());     // saves the index at the head
  Connect();
  const v1::Event opened = Ev(Risk("LPP-RX1", ProgrammeRef("LPP")));
  Send({opened});
  Send({Correction(opened, "opened in error")});
  EXPECT_TRUE(daemon_.Kill().signaled);  // the index saved stays at `head`
  {
    RawDatabase db(daemon_.data_dir());
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    const std::optional<UuidBytes> id = ParseUuid(opened.event_id());
    ASSERT_TRUE(id.has_value());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(db.db()
                    .Put(sync, db.family("event_ids"),
                         rocksdb::Slice(reinterpret_cast<const char*>(id->data()), id->size()),
                         PositionKey(1))
                    .ok());
  }
  ASSERT_OK(daemon_.Start());
  Connect();
  const std::string line = IndexLine();
  EXPECT_THAT(line, AllOf(HasSubstr(absl::StrCat("query index loaded at position ", head, " (")),
                          HasSubstr("then dropped at position "), HasSubstr("(stopped: ")))
      << line;
  ASSERT_EQ(daemon_.Stop().code, 0);
  RawDatabase db(daemon_.data_dir());
  ASSERT_TRUE(db.status().ok()) << db.status().ToString();
  std::string bytes;
  EXPECT_TRUE(db.db()
                  .Get(rocksdb::ReadOptions(), db.family("projections"), "query-index", &bytes)
                  .IsNotFound());
  std::unique_ptr<rocksdb::Iterator> it(
      db.db().NewIterator(rocksdb::ReadOptions(), db.family("projections")));
  for (it->Seek("query/"); it->Valid() && it->key().starts_with("query/"); it->Next()) {
    ADD_FAILURE() << "snapshot left: " << it->key().ToString();
  }
}

// A daemon restarted day after day does not pile up query snapshots: they grow with the
// events appended (answers take one every 2,000 events they fold), and a start with nothing
// new to fold adds none, however often it happens.
TEST_F(ProjectionsTest, QuerySnapshotsGrowWithTheLogNotWithRestarts) {
  RecordSeed000();
  auto query_keys = [&]() -> int {
    RawDatabase db(daemon_.data_dir());
    EXPECT_TRUE(db.status().ok()) << db.status().ToString();
    rocksdb::ColumnFamilyHandle* projections = db.family("projections");
    if (projections == nullptr) return -1;
    std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(rocksdb::ReadOptions(), projections));
    int keys = 0;
    for (it->Seek("query/"); it->Valid() && it->key().starts_with("query/"); it->Next()) ++keys;
    return keys;
  };
  std::vector<int> counts;  // after each day's stop
  for (int day = 0; day < 6; ++day) {
    if (day < 3) {  // 3,000 status reports of an LPP project a day, then none
      for (int call = 0; call < 3; ++call) {
        std::vector<v1::Event> events;
        for (int j = 0; j < 1000; ++j) {
          events.push_back(
              Ev(Status(ProjectRef("LPP-INV"), j % 2 ? v1::RAG_AMBER : v1::RAG_GREEN, 80)));
        }
        Send(std::move(events));
      }
    }
    Answers();
    ASSERT_EQ(daemon_.Stop().code, 0);
    counts.push_back(query_keys());
    ASSERT_OK(daemon_.Start());
    Connect();
  }
  SCOPED_TRACE(::testing::PrintToString(counts));
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[2], counts[0]);  // the log grew
  EXPECT_EQ(counts[5], counts[4]);  // two starts with nothing new to fold
  EXPECT_LE(counts[5], counts[2] + 2);
}

TEST_F(ProjectionsTest, ARebuildKilledMidwayResumesAndGivesTheSameAnswers) {
  RecordSeed000();
  // Enough events for the rebuild to take a while: status reports of an
  // LPP project, in calls of 5,000.
  constexpr int kReports = 150000;
  constexpr int kPerCall = 5000;
  for (int i = 0; i < kReports; i += kPerCall) {
    std::vector<v1::Event> events;
    for (int j = 0; j < kPerCall; ++j) {
      events.push_back(Ev(Status(ProjectRef("LPP-INV"),
                                 j % 2 ? v1::RAG_AMBER : v1::RAG_GREEN, 80)));
    }
    Send(std::move(events));
  }
  const uint64_t head = GetHead(*stub_)->position();
  const std::string before = Answers();
  ASSERT_EQ(daemon_.Stop().code, 0);

  // A rebuild, killed with SIGKILL once it has written its first checkpoint. A checkpoint
  // every 100 positions makes it last seconds, not a fraction of one, so that the kill
  // lands before it ends even on a loaded machine.
  const std::string log = daemon_.data_dir() + ".rebuild-log";
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* err = std::freopen(log.c_str(), "w", stderr);
    (void)err;
    execl(GOVLEDGERD_PATH, GOVLEDGERD_PATH, "--data-dir",
          daemon_.data_dir().c_str(), "--listen", "127.0.0.1:0",
          "--rebuild-projections", "--snapshot-every", "100",
          "--checkpoint-seconds", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ReadFile(log).find("checkpoint at position") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  const std::string killed_log = ReadFile(log);
  ASSERT_THAT(killed_log, HasSubstr("checkpoint at position"));
  ASSERT_THAT(killed_log, Not(HasSubstr("rebuild finished")))
      << "the rebuild ended before it could be killed";

  // Run again: it resumes from a checkpoint, not from position 1.
  daemon_.set_extra_args(
      {"--rebuild-projections", "--snapshot-every", "1000", "--checkpoint-seconds", "0"});
  ASSERT_OK(daemon_.Start());
  Connect();
  const std::string resumed = RecoveryLine();
  EXPECT_THAT(resumed, HasSubstr("rebuild resumed and finished"));
  EXPECT_THAT(resumed, Not(HasSubstr("folded from position 1")));
  // Checkpoints and the final snapshot are timed apart from the fold.
  EXPECT_THAT(resumed, HasSubstr("s saving snapshots"));
  EXPECT_THAT(resumed, ::testing::ContainsRegex("positions/s in all, [0-9]+ positions/s folding"));
  EXPECT_EQ(Answers(), before);
  EXPECT_EQ(GetHead(*stub_)->position(), head);  // the log is untouched
  v1::AppendResponse response;
  EXPECT_THAT(Append(*stub_, MakeAppend({Ev(Status(ProjectRef("NOPE"),
                                                   v1::RAG_RED, 90))}),
                     &response),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("not registered")));

  // Then an ordinary start: the rebuilt snapshot, nothing to replay.
  daemon_.set_extra_args({});
  ASSERT_OK(daemon_.Restart());
  Connect();
  EXPECT_THAT(RecoveryLine(),
              HasSubstr(absl::StrCat("from the snapshot at position ", head,
                                     "; replayed 0 positions")));
  EXPECT_EQ(Answers(), before);
}

}  // namespace
}  // namespace govledger::testing
