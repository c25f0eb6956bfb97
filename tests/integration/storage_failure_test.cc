// What happens when the disk refuses a write (a full disk, an I/O error): govledgerd stops
// accepting appends with UNAVAILABLE, keeps every acknowledged event and goes on serving reads,
// says so in its health, its figures and its log, and a restart on a healthy disk carries on
// from the last acknowledged event with the chain intact.
//
// A disk merely nearly full pauses appends instead (FreeSpaceTest, at the end).
//
// The failure is a real one from the kernel: the daemon runs with RLIMIT_FSIZE, so the write
// that would take RocksDB's write-ahead log past the limit fails with EFBIG ("File too large"),
// which reaches govledger's write path as a full disk's ENOSPC does.
#include <grpcpp/client_context.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "govledger/v1/admin.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

// The write-ahead log reaches this long before a memtable (32 MiB) fills, so the failure is
// an append's write to the log.
constexpr uint64_t kFileSizeLimit = 4 << 20;
constexpr int kClients = 4;
constexpr size_t kPayloadBytes = 2048;
// Far more than fit under the limit: a client that gets this far means no failure came.
constexpr int kMaxAppendsPerClient = 5000;

HealthCheckResponse::ServingStatus Health(const DaemonHarness& daemon,
                                          const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(daemon.NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

v1::GetStatsResponse Stats(const DaemonHarness& daemon) {
  auto stub = v1::AdminService::NewStub(daemon.NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  v1::GetStatsResponse response;
  const grpc::Status status = stub->GetStats(&context, v1::GetStatsRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

TEST(StorageFailureTest, AFailedWriteStopsAppendsKeepsWhatWasAcknowledgedAndARestartResumes) {
  DaemonHarness daemon;
  daemon.set_file_size_limit(kFileSizeLimit);
  ASSERT_OK(daemon.Start());
  ASSERT_EQ(Health(daemon, ""), HealthCheckResponse::SERVING);
  // A Watch of the daemon's health, open across the failure.
  auto health = grpc::health::v1::Health::NewStub(daemon.NewChannel());
  grpc::ClientContext watch_context;
  auto watch = health->Watch(&watch_context, HealthCheckRequest());
  HealthCheckResponse watched;
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(), HealthCheckResponse::SERVING);

  // Clients append one 2 KiB event a call until the daemon refuses one.
  std::mutex mu;
  std::map<uint64_t, std::string> acked;  // position -> event id
  std::vector<grpc::Status> refusals;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = daemon.NewStub();
      for (int i = 0; i < kMaxAppendsPerClient; ++i) {
        const v1::AppendRequest request = MakeAppend({MakeEvent(
            absl::StrCat("load/client-", c), std::string(kPayloadBytes, static_cast<char>('a' + c)))});
        v1::AppendResponse response;
        const grpc::Status status = Append(*stub, request, &response);
        std::lock_guard lock(mu);
        if (!status.ok()) {
          refusals.push_back(status);
          return;
        }
        acked[response.events(0).position()] = request.events(0).event_id();
      }
    });
  }
  for (std::thread& t : clients) t.join();

  ASSERT_EQ(refusals.size(), static_cast<size_t>(kClients)) << "every client must be refused";
  for (const grpc::Status& refusal : refusals) {
    EXPECT_THAT(refusal, GrpcStatusIs(grpc::StatusCode::UNAVAILABLE,
                                      AllOf(HasSubstr("stopped accepting appends after a storage "
                                                      "failure"),
                                            HasSubstr("File too large"),
                                            HasSubstr("restart govledgerd"))));
  }
  ASSERT_GT(acked.size(), 100u) << "the limit leaves room for many events before the failure";
  // One event a call, one writer: the acknowledged positions are 1..n, and the head is n.
  EXPECT_EQ(acked.begin()->first, 1u);
  EXPECT_EQ(acked.rbegin()->first, acked.size());
  auto stub = daemon.NewStub();
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub);
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), acked.size());

  // Appends stay refused, and store nothing.
  v1::AppendResponse ignored;
  const grpc::Status late = Append(*stub, MakeAppend({MakeEvent("load/late", "x")}), &ignored);
  EXPECT_THAT(late, GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("storage failure")));
  // A program tells this UNAVAILABLE (restart needed) from a shutdown's by its reason.
  EXPECT_THAT(late, HasErrorInfo("WRITER_STOPPED",
                                 ElementsAre(Pair("cause", HasSubstr("File too large")))));
  absl::StatusOr<v1::GetHeadResponse> head_after = GetHead(*stub);
  ASSERT_OK(head_after);
  EXPECT_EQ(head_after->hash(), head->hash());

  // Reads go on: every acknowledged event, the chain whole.
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub, "", v1::DIRECTION_FORWARD, 1000);
  ASSERT_OK(log);
  EXPECT_TRUE(ChainVerifies(*log, *head));
  ASSERT_EQ(log->size(), acked.size());
  for (const v1::Event& e : *log) EXPECT_EQ(e.event_id(), acked[e.position()]);

  // Health: the appending service and the daemon need a restart; the reading services serve.
  EXPECT_EQ(Health(daemon, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(daemon, "govledger.v1.LedgerService"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(daemon, "govledger.v1.QueryService"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(daemon, "govledger.v1.AuditService"), HealthCheckResponse::SERVING);
  // The Watch saw the change and stays open (it ends only at shutdown, below).
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(), HealthCheckResponse::NOT_SERVING);
  // The figures and the CLI name the failure; the log says what to do.
  EXPECT_THAT(Stats(daemon).storage_failure(), HasSubstr("File too large"));
  CliRun stats = Cli(absl::StrCat("--server ", daemon.address(), " admin stats"));
  EXPECT_EQ(stats.code, 0) << stats.err;
  EXPECT_THAT(stats.out, AllOf(HasSubstr("appends        STOPPED after a storage failure"),
                               HasSubstr("File too large")));
  EXPECT_THAT(daemon.Stderr(), AllOf(HasSubstr("appends stopped after a storage failure"),
                                     HasSubstr("then restart govledgerd")));
  // A backup's checkpoint writes to the failed store too: refused, saying why and what to do.
  TempDir backups;
  CliRun backup = Cli(absl::StrCat("--server ", daemon.address(), " admin backup ",
                                   backups.path(), "/b"));
  EXPECT_EQ(backup.code, 1) << backup.err;
  EXPECT_THAT(backup.err,
              AllOf(HasSubstr("FAILED_PRECONDITION: no backup while appends are stopped after a "
                              "storage failure"),
                    HasSubstr("restart govledgerd, then back up")));
  EXPECT_FALSE(std::filesystem::exists(backups.path() + "/b"));
  // The CLI's append is refused (exit 1, as a refusal), not "unreachable" (3): the server is up,
  // and retrying will not help until it is restarted.
  CliRun append = Cli(absl::StrCat("--server ", daemon.address(),
                                   " append --stream load/cli --type govledger.test.Happened "
                                   "--payload '\"eA==\"'"));
  EXPECT_EQ(append.code, 1) << append.err;
  EXPECT_THAT(append.err, HasSubstr("UNAVAILABLE: the ledger stopped accepting appends"));

  // A clean stop, then a restart with room: the chain verifies (the daemon checks it at
  // start), every acknowledged event is where it was, and appends carry on after them.
  const ExitStatus stopped = daemon.Stop();
  EXPECT_TRUE(stopped.Success()) << stopped.ToString() << "\n" << daemon.Stderr();
  // The store refused the projections' snapshots too; the log says what that costs.
  EXPECT_THAT(daemon.Stderr(),
              AllOf(HasSubstr("governance rules' snapshot not saved ("),
                    HasSubstr("query index not saved ("),
                    HasSubstr("the next start reads the log from position 1 to index it")));
  EXPECT_FALSE(watch->Read(&watched)) << "no change to send: NOT_SERVING already";
  EXPECT_THAT(watch->Finish(), GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("")));
  daemon.set_file_size_limit(0);
  ASSERT_OK(daemon.Start());
  stub = daemon.NewStub();
  EXPECT_EQ(Health(daemon, ""), HealthCheckResponse::SERVING);
  EXPECT_THAT(Stats(daemon).storage_failure(), IsEmpty());
  absl::StatusOr<v1::GetHeadResponse> restarted_head = GetHead(*stub);
  ASSERT_OK(restarted_head);
  log = ReadAll(*stub, "", v1::DIRECTION_FORWARD, 1000);
  ASSERT_OK(log);
  EXPECT_TRUE(ChainVerifies(*log, *restarted_head));
  // Written but never synced (so never acknowledged) events may have reached the disk too.
  ASSERT_GE(log->size(), acked.size());
  for (const auto& [position, id] : acked) EXPECT_EQ((*log)[position - 1].event_id(), id);
  absl::StatusOr<v1::AppendResponse> appended = AppendOne(*stub, "load/after", "room again");
  ASSERT_OK(appended);
  EXPECT_EQ(appended->events(0).position(), log->size() + 1);
}

// A full disk refuses RocksDB's info log (LOG) as well as the events' files; RocksDB's own
// logger would abort the daemon on the write after the refused one. Here the limit is below
// what an open logs (its options, about 80 KB) and above RocksDB's options file (about 28 KB):
// the log's writes fail from the first start, and the daemon serves, stops appends at the
// write-ahead log's failure as above, and stops cleanly.
TEST(StorageFailureTest, AnInfoLogTheDiskRefusesDoesNotStopTheDaemon) {
  constexpr uint64_t kLimit = 48 << 10;
  DaemonHarness daemon;
  daemon.set_file_size_limit(kLimit);
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  grpc::Status refused;
  int acked = 0;
  while (acked < 1000) {
    v1::AppendResponse response;
    refused = Append(*stub, MakeAppend({MakeEvent("load/small", std::string(512, 'x'))}),
                     &response);
    if (!refused.ok()) break;
    ++acked;
  }
  EXPECT_GT(acked, 0);
  EXPECT_THAT(refused, GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("File too large")));
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub, "", v1::DIRECTION_FORWARD, 1000);
  ASSERT_OK(log);
  EXPECT_EQ(log->size(), static_cast<size_t>(acked));
  const ExitStatus stopped = daemon.Stop();
  EXPECT_TRUE(stopped.Success()) << stopped.ToString() << "\n" << daemon.Stderr();
  EXPECT_EQ(std::filesystem::file_size(daemon.data_dir() + "/LOG"), kLimit)
      << "the log's writes were refused";
  EXPECT_THAT(daemon.Stderr(), HasSubstr(absl::StrCat("govledgerd: the info log ",
                                                      daemon.data_dir(), "/LOG refused a line "
                                                      "(File too large)")));
}

// Appends an event to `stream` every 100 ms, for up to 20 s, until one is refused (the free-space
// watch looks once a second): the refusal, with each acknowledged append counted in
// `acknowledged`.
grpc::Status AppendUntilRefused(v1::LedgerService::Stub& stub, const std::string& stream,
                                uint64_t* acknowledged) {
  grpc::Status refused;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    v1::AppendResponse response;
    refused = Append(stub, MakeAppend({MakeEvent(stream, "after")}), &response);
    if (!refused.ok()) break;
    ++*acknowledged;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return refused;
}

// A data directory removed under a running daemon: RocksDB would go on writing to files no
// longer in any directory, and a stop would lose every event acknowledged since. The free-space
// watch, which looks once a second, finds the directory gone and stops appends for good. What
// it says to do keeps the events: not a restart (advised once, which lost every event since the
// last backup: found by an operator's trial), but an export from the daemon still serving them.
TEST(StorageFailureTest, ADataDirectoryRemovedWhileServingStopsAppends) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  ASSERT_OK(AppendOne(*stub, "gone/dir", "before"));
  std::filesystem::remove_all(daemon.data_dir());
  uint64_t acknowledged = 1;
  const grpc::Status refused = AppendUntilRefused(*stub, "gone/dir", &acknowledged);
  EXPECT_THAT(refused,
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE,
                           AllOf(HasSubstr(absl::StrCat("the data directory ", daemon.data_dir(),
                                                        " was removed while govledgerd "
                                                        "ran")),
                                 HasSubstr("Do not stop govledgerd"),
                                 HasSubstr("govledger export --out FILE"),
                                 // nothing says the opposite (a reviewer's find)
                                 Not(HasSubstr("restart govledgerd")))));
  EXPECT_THAT(Stats(daemon).storage_failure(), HasSubstr("was removed while govledgerd ran"));
  CliRun stats = Cli(absl::StrCat("--server ", daemon.address(), " admin stats"));
  EXPECT_THAT(stats.out, AllOf(HasSubstr("Do not stop govledgerd"), HasSubstr("); reads go on\n"),
                               Not(HasSubstr("restart govledgerd"))));
  EXPECT_EQ(Health(daemon, "govledger.v1.LedgerService"), HealthCheckResponse::NOT_SERVING);
  EXPECT_THAT(daemon.Stderr(), HasSubstr("appends stopped: the data directory"));
  EXPECT_THAT(daemon.Stderr(), Not(HasSubstr("acknowledged append is on disk")));
  const std::string saved = daemon.data_dir() + "-export.jsonl";
  CliRun exported = Cli(absl::StrCat("--server ", daemon.address(), " export --out ", saved));
  EXPECT_EQ(exported.code, 0) << exported.err;
  // Every acknowledged event, those appended after the directory went included.
  EXPECT_THAT(exported.err, HasSubstr(absl::StrCat("exported ", acknowledged,
                                                        acknowledged == 1 ? " event" : " events",
                                                        " to ")));
  CliRun backup = Cli(absl::StrCat("--server ", daemon.address(), " admin backup ",
                                   daemon.data_dir(), "-backups"));
  EXPECT_NE(backup.code, 0);
  EXPECT_THAT(backup.err, AllOf(HasSubstr("no backup: appends are stopped, as the data "
                                          "directory"),
                                HasSubstr("Do not stop govledgerd"),
                                Not(HasSubstr("acknowledged append is on disk"))));
  std::filesystem::remove(saved);
}

// With no free-space floor, the directory is watched all the same (an operator's trial: with
// --min-free-bytes 0, appends were acknowledged on into files no directory held, and lost at
// the stop).
TEST(StorageFailureTest, ADataDirectoryRemovedStopsAppendsWithNoFreeSpaceFloorToo) {
  DaemonHarness daemon({"--min-free-bytes", "0"});
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  ASSERT_OK(AppendOne(*stub, "gone/dir", "before"));
  std::filesystem::remove_all(daemon.data_dir());
  uint64_t acknowledged = 1;
  EXPECT_THAT(AppendUntilRefused(*stub, "gone/dir", &acknowledged),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE,
                           AllOf(HasSubstr(absl::StrCat("the data directory ", daemon.data_dir(),
                                                        " was removed while govledgerd ran")),
                                 HasSubstr("Do not stop govledgerd"))));
}

// A data directory moved aside (renamed) while the daemon runs is whole where it went: the
// watch says where, and that the fix is to stop and move it back, which loses nothing. It had
// been taken for removed, whose advice (export, restore, import) rewrites every event since
// the last backup (found by an operator's trial: a restore moves the directory aside).
TEST(StorageFailureTest, ADataDirectoryMovedWhileServingIsToldToBeMovedBack) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  ASSERT_OK(AppendOne(*stub, "moved/dir", "before"));
  const std::string aside = daemon.data_dir() + "-aside";
  std::filesystem::rename(daemon.data_dir(), aside);
  uint64_t acknowledged = 1;
  const grpc::Status refused = AppendUntilRefused(*stub, "moved/dir", &acknowledged);
  EXPECT_THAT(
      refused,
      GrpcStatusIs(
          grpc::StatusCode::UNAVAILABLE,
          AllOf(HasSubstr(absl::StrCat("the data directory ", daemon.data_dir(), " was moved to ",
                                       aside, " while govledgerd ran")),
                HasSubstr(
                    absl::StrCat("stop govledgerd, move ", aside, " back to ", daemon.data_dir())),
                HasSubstr("Do not just restart govledgerd:"),
                Not(HasSubstr("); restart govledgerd")), Not(HasSubstr("Export the log first")))));
  CliRun stats = Cli(absl::StrCat("--server ", daemon.address(), " admin stats"));
  EXPECT_THAT(stats.out, AllOf(HasSubstr("was moved to"), HasSubstr("); reads go on\n"),
                               // Not "0 bytes free", a full disk's figure (an operator's alert).
                               HasSubstr(" bytes; the space free on its file system cannot be "
                                         "read (appends pause below ")));
  CliRun metrics = Cli(absl::StrCat("--server ", daemon.address(), " admin stats --prometheus"));
  EXPECT_THAT(metrics.out, AllOf(HasSubstr("\ngovledger_data_dir_bytes "),
                                 Not(HasSubstr("govledger_data_dir_free_bytes"))));
  CliRun backup = Cli(
      absl::StrCat("--server ", daemon.address(), " admin backup ", daemon.data_dir(), "-backups"));
  EXPECT_NE(backup.code, 0);
  EXPECT_THAT(backup.err, HasSubstr("no backup: appends are stopped, as the data directory"));
  // As advised: stop, move it back, start. Every acknowledged event is there, chained.
  EXPECT_TRUE(daemon.Stop().Success()) << daemon.Stderr();
  std::filesystem::rename(aside, daemon.data_dir());
  ASSERT_OK(daemon.Start());
  CliRun verify = Cli(absl::StrCat("--server ", daemon.address(), " verify"));
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr(absl::StrCat("verified positions 1 to ", acknowledged)));
}

// Below --min-free-bytes appends are refused before anything is written, so the ledger never
// reaches a failed write; here the floor is above any disk, so the first check pauses them.
TEST(FreeSpaceTest, BelowTheFloorAppendsAreRefusedAndStoreNothingWhileReadsGoOn) {
  constexpr char kFloor[] = "1152921504606846976";  // 2^60 bytes
  DaemonHarness daemon({"--min-free-bytes", kFloor});
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  v1::AppendResponse response;
  const grpc::Status paused = Append(*stub, MakeAppend({MakeEvent("free/space", "x")}), &response);
  EXPECT_THAT(paused, HasErrorInfo("APPENDS_PAUSED", IsEmpty()));
  EXPECT_THAT(paused,
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                           AllOf(HasSubstr("the disk holding the ledger is nearly full"),
                                 HasSubstr(absl::StrCat("bytes free on the file system of ",
                                                        daemon.data_dir())),
                                 HasSubstr(absl::StrCat("--min-free-bytes (", kFloor, ")")),
                                 HasSubstr("nothing was stored"))));
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub);
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 0u);

  EXPECT_EQ(Health(daemon, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(daemon, "govledger.v1.LedgerService"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(daemon, "govledger.v1.QueryService"), HealthCheckResponse::SERVING);
  const v1::GetStatsResponse stats = Stats(daemon);
  EXPECT_THAT(stats.appends_paused(), HasSubstr("nearly full"));
  EXPECT_THAT(stats.storage_failure(), IsEmpty());
  EXPECT_EQ(stats.appends_refused(), 1u);
  CliRun text = Cli(absl::StrCat("--server ", daemon.address(), " admin stats"));
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("appends        PAUSED: the disk holding the ledger is "
                                  "nearly full"));
  CliRun append = Cli(absl::StrCat("--server ", daemon.address(),
                                   " append --stream free/space --type govledger.test.Happened "
                                   "--payload '\"eA==\"'"));
  EXPECT_EQ(append.code, 1);
  EXPECT_THAT(append.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(daemon.Stderr(), HasSubstr("govledgerd: appends paused: the disk holding the "
                                         "ledger is nearly full"));
  // A floor no disk could meet is said at start.
  EXPECT_THAT(daemon.Stderr(),
              HasSubstr(absl::StrCat("govledgerd: warning: --min-free-bytes ", kFloor,
                                     " is at least all the file system holding ", daemon.data_dir(),
                                     " can ever have free (")));
  // Nor a backup: its checkpoint, written in the data directory, could fill the disk.
  const std::string backup_dir = daemon.data_dir() + "-backup";
  CliRun backup = Cli(absl::StrCat("--server ", daemon.address(), " admin backup ", backup_dir));
  EXPECT_EQ(backup.code, 1);
  EXPECT_THAT(backup.err,
              AllOf(HasSubstr("RESOURCE_EXHAUSTED"),
                    HasSubstr("no backup while appends are paused (the disk holding the ledger "
                              "is nearly full: "),
                    HasSubstr(absl::StrCat("bytes free on the file system of ", daemon.data_dir(),
                                           ", below govledgerd's --min-free-bytes")),
                    HasSubstr("back up once appends have resumed")));
  EXPECT_FALSE(std::filesystem::exists(backup_dir));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(daemon.data_dir()) /
                                       "backup-checkpoint"));
  EXPECT_THAT(RefusedBackup(daemon.NewChannel()), HasErrorInfo("APPENDS_PAUSED", IsEmpty()));

  // Without the floor the same database takes appends.
  daemon.set_extra_args({"--min-free-bytes", "0"});
  ASSERT_OK(daemon.Restart());
  stub = daemon.NewStub();
  absl::StatusOr<v1::AppendResponse> appended = AppendOne(*stub, "free/space", "room");
  ASSERT_OK(appended);
  EXPECT_EQ(appended->events(0).position(), 1u);
  EXPECT_THAT(Stats(daemon).appends_paused(), IsEmpty());
}

}  // namespace
}  // namespace govledger::testing
