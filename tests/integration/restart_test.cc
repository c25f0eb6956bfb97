// What survives a clean restart: idempotent retries keep their original positions, and a
// SIGTERM while clients append exits 0 with every acknowledged append on disk. And a start
// with a bad flag, which never gets that far.
#include <grpcpp/client_context.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/rocksdb_event_store.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/integration/raw_database.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// A grace period far beyond the bounds the tests put on a stop, so that a stop that waited for
// it fails them by a wide margin.
class RestartTest : public DaemonTest {
 protected:
  RestartTest() : DaemonTest({"--shutdown-grace", "600"}) {}
  void RestartDaemon() {
    ExitStatus exit = daemon_.Stop();
    ASSERT_TRUE(exit.Success()) << exit.ToString() << "; stderr:\n" << daemon_.Stderr();
    absl::Status started = daemon_.Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = daemon_.NewStub();
  }
};

TEST_F(RestartTest, IdempotentRetryAcrossRestart) {
  // The first start made the ledger, and said so (a mistyped --data-dir makes a new one).
  // Where it listens, in full, with the port (the harness asks for port 0).
  const std::string address = daemon_.address();
  EXPECT_THAT(daemon_.Stderr(),
              HasSubstr(absl::StrCat("serving on ", address, " (port ",
                                     address.substr(address.rfind(':') + 1), ") with data in ",
                                     daemon_.data_dir(), " (a new, empty ledger")));
  EXPECT_THAT(daemon_.Stderr(),
              HasSubstr(absl::StrCat("with data in ", daemon_.data_dir(),
                                     " (a new, empty ledger: the directory held no database; "
                                     "if you meant an existing ledger, stop govledgerd and "
                                     "check --data-dir)\n")));
  v1::Event single = MakeEvent("programme/LPP", "approved");
  v1::AppendResponse r1;
  ASSERT_THAT(Append(*stub_, MakeAppend({single}), &r1), GrpcOk());
  v1::Event a = MakeEvent("risk/R1", "a");
  v1::Event b = MakeEvent("risk/R2", "b");
  v1::AppendResponse r2;
  ASSERT_THAT(Append(*stub_, MakeAppend({a, b}), &r2), GrpcOk());
  for (int i = 0; i < 5; ++i) ASSERT_OK(AppendOne(*stub_, "filler/x", absl::StrCat(i)));
  absl::StatusOr<v1::GetHeadResponse> before = GetHead(*stub_);
  ASSERT_OK(before);
  ASSERT_EQ(before->position(), 8u);

  RestartDaemon();
  if (HasFatalFailure()) return;
  EXPECT_THAT(daemon_.Stderr(), HasSubstr(absl::StrCat("with data in ", daemon_.data_dir(), "\n")));

  absl::StatusOr<v1::GetHeadResponse> after_restart = GetHead(*stub_);
  ASSERT_OK(after_restart);
  EXPECT_EQ(after_restart->position(), before->position());
  EXPECT_EQ(after_restart->hash(), before->hash());

  // The same single event: its original position, duplicate, nothing stored.
  v1::AppendResponse retry;
  ASSERT_THAT(Append(*stub_, MakeAppend({single}), &retry), GrpcOk());
  ASSERT_EQ(retry.events_size(), 1);
  EXPECT_EQ(retry.events(0).position(), r1.events(0).position());
  EXPECT_EQ(retry.events(0).stream_version(), 1u);
  EXPECT_TRUE(retry.events(0).duplicate());
  EXPECT_EQ(retry.head_position(), before->position());

  // The same two-event batch: both duplicates.
  ASSERT_THAT(Append(*stub_, MakeAppend({a, b}), &retry), GrpcOk());
  ASSERT_EQ(retry.events_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(retry.events(i).position(), r2.events(i).position());
    EXPECT_TRUE(retry.events(i).duplicate());
  }
  absl::StatusOr<v1::GetHeadResponse> unchanged = GetHead(*stub_);
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->position(), before->position());
  EXPECT_EQ(unchanged->hash(), before->hash());

  // The same id with other content is still refused after the restart.
  v1::Event changed = single;
  changed.set_payload("rejected");
  EXPECT_THAT(Append(*stub_, MakeAppend({changed}), &retry),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS,
                           HasSubstr(absl::StrCat("position ", r1.events(0).position()))));

  // A retried event beside a new one: the old keeps its position, the new one goes at the head.
  v1::Event fresh = MakeEvent("risk/R1", "fresh");
  ASSERT_THAT(Append(*stub_, MakeAppend({a, fresh}), &retry), GrpcOk());
  EXPECT_TRUE(retry.events(0).duplicate());
  EXPECT_EQ(retry.events(0).position(), r2.events(0).position());
  EXPECT_FALSE(retry.events(1).duplicate());
  EXPECT_EQ(retry.events(1).position(), before->position() + 1);
  EXPECT_EQ(retry.events(1).stream_version(), 2u);

  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_OK(log);
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_TRUE(ChainVerifies(*log, *head));
}

TEST_F(RestartTest, SigtermWhileClientsAppendExitsZeroAndKeepsAcknowledged) {
  struct Acked {
    uint64_t position;
    std::string stream_id;
    std::string payload;
  };
  constexpr int kClients = 4;
  std::mutex mu;
  std::map<std::string, Acked> acked;                                          // guarded by mu
  std::map<int, int> failure_codes;                                            // guarded by mu
  std::vector<std::pair<grpc::StatusCode, v1::AppendRequest>> unacknowledged;  // guarded by mu
  std::atomic<int> acked_count{0};
  std::atomic<bool> stop{false};

  // A subscriber following the log: shutdown must end it (UNAVAILABLE) rather than wait.
  auto sub_stub = daemon_.NewStub();
  grpc::ClientContext sub_context;
  sub_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto sub_reader = sub_stub->Subscribe(&sub_context, v1::SubscribeRequest());
  grpc::Status sub_status;
  uint64_t sub_last = 0;  // the last position the subscriber received
  std::string sub_last_hash;  // and that event's hash
  std::thread subscriber([&] {
    v1::Event event;
    while (sub_reader->Read(&event)) {
      sub_last = event.position();
      sub_last_hash = event.hash();
    }
    sub_status = sub_reader->Finish();
  });

  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto stub = daemon_.NewStub();
      for (int seq = 0; !stop.load(); ++seq) {
        std::vector<v1::Event> events = {
            MakeEvent(absl::StrCat("shutdown/", t), absl::StrCat("client ", t, " seq ", seq))};
        if (seq % 3 == 0) events.push_back(MakeEvent("shutdown/shared", absl::StrCat(t, "/", seq)));
        v1::AppendResponse response;
        grpc::Status s = Append(*stub, MakeAppend(events), &response);
        std::lock_guard lock(mu);
        if (!s.ok()) {
          ++failure_codes[s.error_code()];
          unacknowledged.emplace_back(s.error_code(), MakeAppend(events));
          break;  // the daemon is going or gone: every later call fails too
        }
        for (int i = 0; i < response.events_size(); ++i) {
          acked[events[i].event_id()] = {response.events(i).position(), events[i].stream_id(),
                                         events[i].payload()};
        }
        acked_count.fetch_add(response.events_size());
      }
    });
  }
  // Let the clients get going (bounded), then SIGTERM with appends in flight.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (acked_count.load() < 300 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GE(acked_count.load(), 300) << "clients did not get going";  // threads run: no ASSERT
  const auto stop_started = std::chrono::steady_clock::now();
  ExitStatus exit = daemon_.Stop();
  const auto stop_took = std::chrono::steady_clock::now() - stop_started;
  stop.store(true);
  for (std::thread& c : clients) c.join();
  subscriber.join();

  EXPECT_TRUE(exit.Success()) << exit.ToString() << "; stderr:\n" << daemon_.Stderr();
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("SIGTERM, shutting down"));
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("govledgerd: stopped"));
  // Nothing waited for the 600 s grace period: the subscription ended at once, appends
  // finished, and the daemon stopped by itself, before the harness would have killed it
  // (not a speed target).
  EXPECT_LT(stop_took, DaemonHarness::kStopTimeout);
  EXPECT_THAT(sub_status,
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("resubscribe from position")));
  // Where to resubscribe, for a program: the position after the last one received, and that
  // event's hash (for checking that a server it resubscribes to holds the same log).
  EXPECT_THAT(sub_status, HasErrorInfo("SHUTTING_DOWN",
                                       UnorderedElementsAre(
                                           Pair("next_position", absl::StrCat(sub_last + 1)),
                                           Pair("previous_hash", crypto::ToHex(sub_last_hash)))));
  // Calls refused once the daemon is gone are UNAVAILABLE. A call that reaches the server
  // while it is shutting down, before it was handed to the ledger, is cancelled by gRPC
  // itself (CANCELLED, message "CANCELLED"). In practice nothing of such a call is stored;
  // below the test requires that each was stored all or nothing and that a retry succeeds.
  for (const auto& [code, count] : failure_codes) {
    EXPECT_THAT(code, ::testing::AnyOf(grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED))
        << count << " calls failed with " << code;
  }

  absl::Status started = daemon_.Start();
  ASSERT_TRUE(started.ok()) << started;
  stub_ = daemon_.NewStub();
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_, "", v1::DIRECTION_FORWARD, 10000);
  ASSERT_OK(log);
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_TRUE(ChainVerifies(*log, *head));
  std::lock_guard lock(mu);
  // Unacknowledged appends were all-or-nothing; retrying each one succeeds either way.
  std::map<std::string, uint64_t> stored_ids;
  for (const v1::Event& e : *log) stored_ids[e.event_id()] = e.position();
  for (const auto& [code, request] : unacknowledged) {
    SCOPED_TRACE(absl::StrCat("append that failed with code ", code));
    size_t present = 0;
    for (const v1::Event& e : request.events()) present += stored_ids.count(e.event_id());
    EXPECT_TRUE(present == 0 || present == static_cast<size_t>(request.events_size()))
        << "an unacknowledged append was stored in part";
    v1::AppendResponse response;
    EXPECT_THAT(Append(*stub_, request, &response), GrpcOk());
  }
  for (const auto& [id, want] : acked) {
    ASSERT_LE(want.position, log->size()) << id << " acknowledged but missing";
    const v1::Event& got = (*log)[want.position - 1];
    EXPECT_EQ(got.event_id(), id);
    EXPECT_EQ(got.stream_id(), want.stream_id);
    EXPECT_EQ(got.payload(), want.payload);
  }
}

// --version names the release (the project's version in CMake) and the storage format, and
// opens nothing; the CLI's names the same release.
TEST(DaemonFlagsTest, VersionNamesTheReleaseAndTheStorageFormatAndOpensNothing) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("govledger-version-", getpid()))
          .string();
  const CliRun daemon = RunProgram(GOVLEDGERD_PATH, absl::StrCat("--data-dir ", dir, " --version"),
                                   "timeout 20");
  EXPECT_EQ(daemon.code, 0) << daemon.err;
  EXPECT_EQ(daemon.out, absl::StrCat("govledgerd ", GOVLEDGER_VERSION, " (storage format ",
                                     RocksDbEventStore::kFormatVersion, ")\n"));
  EXPECT_FALSE(std::filesystem::exists(dir));
  const CliRun cli = Cli("--version");
  EXPECT_EQ(cli.code, 0) << cli.err;
  EXPECT_EQ(cli.out, absl::StrCat("govledger ", GOVLEDGER_VERSION, "\n"));
}

TEST(DaemonFlagsTest, AFlagOutOfRangeStopsTheStartNamingTheFlag) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("govledger-flags-", getpid()))
          .string();
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--snapshot-every", "-5"},  // not read as 2^64 - 5
           {"--snapshot-every", "often"},
           {"--block-cache-bytes", "-1"},
           {"--block-cache-bytes", "2000000000000"},
           {"--checkpoint-seconds", "-1"},
           {"--checkpoint-seconds", "90000"},
           {"--max-event-bytes", "10"},
           {"--shutdown-grace", "7200"},
           {"--max-sync-threads", "2"},  // gRPC needs a polling thread and a worker
           {"--keepalive-seconds", "0"},
           {"--max-subscriptions", "0"},
           {"--tokens", "/nonexistent-tokens-file"},
       }) {
    SCOPED_TRACE(absl::StrCat(flag, " ", value));
    // Under timeout: a daemon that took the flag would serve until stopped.
    const CliRun run = RunProgram(
        GOVLEDGERD_PATH,
        absl::StrCat("--data-dir ", dir, " --listen 127.0.0.1:0 ", flag, " ", value),
        "timeout 20");
    // One line, as every other refusal, and the exit status of a bad command line.
    EXPECT_EQ(run.code, 2);
    EXPECT_THAT(run.err, ::testing::StartsWith("govledgerd: "));
    EXPECT_THAT(run.err, ::testing::EndsWith(" (see --help)\n"));
    EXPECT_THAT(run.err, HasSubstr(flag));
    EXPECT_THAT(run.err, HasSubstr(value));
    EXPECT_FALSE(std::filesystem::exists(dir)) << "nothing is opened or created";
    std::filesystem::remove_all(dir);
  }
}

// A listen address without a port, or with one past 65535, stops the start before the data
// directory is made: gRPC alone would serve on port 443, or on the port less 65536.
TEST(DaemonFlagsTest, AListenAddressWithoutAValidPortStopsTheStart) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("govledger-listen-", getpid()))
          .string();
  std::filesystem::remove_all(dir);
  for (const auto& [address, says] : std::vector<std::pair<std::string, std::string>>{
           {"localhost", "has no port"},
           {"127.0.0.1:99999", "has the port '99999', not a number from 0 to 65535"}}) {
    const CliRun run = RunProgram(
        GOVLEDGERD_PATH, absl::StrCat("--data-dir ", dir, " --listen ", address), "timeout 20");
    EXPECT_NE(run.code, 0) << address;
    EXPECT_THAT(run.err, AllOf(HasSubstr("--listen"), HasSubstr(says))) << address;
    EXPECT_FALSE(std::filesystem::exists(dir)) << "nothing is opened or created";
    std::filesystem::remove_all(dir);
  }
}

// An address no interface has, a host name that does not resolve, or a socket in a directory
// that is not there, stops the start with the reason, before the data directory is made. The
// missing directory exits 2 (fix the setup: a restart would meet it again); the others 1 (an
// interface or a name server may come up).
TEST(DaemonFlagsTest, AnAddressThatCannotBeBoundStopsTheStartBeforeTheDataDirectoryIsMade) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("govledger-bind-", getpid()))
          .string();
  for (const auto& [address, says, code] :
       std::vector<std::tuple<std::string, std::string, int>>{
           // TEST-NET-1 (RFC 5737): documentation only, on no machine's interfaces.
           {"192.0.2.1:50051",
            "cannot listen on 192.0.2.1:50051: Cannot assign requested address (no interface of "
            "this machine has that address)",
            1},
           {"unix:/nonexistent-govledger-dir/gl.sock",
            "there is no directory /nonexistent-govledger-dir for the socket", 2},
           // .invalid (RFC 6761) never resolves.
           {"nosuchhost.invalid:50051",
            "cannot listen on nosuchhost.invalid:50051: host nosuchhost.invalid does not "
            "resolve (",
            1}}) {
    std::filesystem::remove_all(dir);
    const CliRun run = RunProgram(
        GOVLEDGERD_PATH, absl::StrCat("--data-dir ", dir, " --listen ", address), "timeout 20");
    EXPECT_EQ(run.code, code) << address;
    EXPECT_THAT(run.err, HasSubstr(says)) << address;
    EXPECT_FALSE(std::filesystem::exists(dir)) << "nothing is opened or created";
  }
  std::filesystem::remove_all(dir);
}

// A listen that fails only once the store is open (a socket path longer than a socket address
// holds) stops the start cleanly, every time, with the reason: the services are stopped once,
// before the ledger closes (the query service's second stop used the closed ledger, and the
// start sometimes died of SIGABRT without a word of why).
TEST(DaemonFlagsTest, AListenThatFailsAfterTheStoreOpensExitsWithItsReason) {
  DaemonHarness daemon;
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_OK(AppendOne(*daemon.NewStub(), "programme/LPP", "before"));
  ASSERT_TRUE(daemon.Stop().Success());
  TempDir dir;
  const std::string socket = absl::StrCat("unix:", dir.path(), "/", std::string(120, 's'));
  for (int i = 0; i < 3; ++i) {
    const CliRun run = RunProgram(
        GOVLEDGERD_PATH, absl::StrCat("--data-dir ", daemon.data_dir(), " --listen ", socket),
        "timeout 20");
    EXPECT_EQ(run.code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("cannot listen on " + socket));
  }
  // Nothing stored was harmed.
  ASSERT_TRUE(daemon.Start().ok()) << daemon.Stderr();
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*daemon.NewStub());
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 1u);
  EXPECT_TRUE(daemon.Stop().Success());
}

// A second govledgerd on the data directory of a running one is refused even when RocksDB's
// LOCK file was removed (an operator's drill: a "stale" LOCK deleted, and two daemons served one
// database, acknowledging the same positions, and left it corrupt): the directory itself is
// locked. The first goes on serving, and starts again once stopped.
TEST(DaemonFlagsTest, ASecondDaemonOnADataDirectoryInUseIsRefusedWithoutItsLockFile) {
  DaemonHarness first;
  ASSERT_TRUE(first.Start().ok());
  ASSERT_OK(AppendOne(*first.NewStub(), "notes/1", "first"));
  ASSERT_TRUE(std::filesystem::remove(first.data_dir() + "/LOCK"));
  const CliRun run = RunProgram(
      GOVLEDGERD_PATH, absl::StrCat("--data-dir ", first.data_dir(), " --listen 127.0.0.1:0"),
      "timeout 20");
  EXPECT_EQ(run.code, 1) << run.err;  // as with the LOCK file: the other daemon may stop
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("data directory ", first.data_dir(),
                                              " is in use by another process (it holds the "
                                              "directory's lock): a govledgerd is running on it")));
  ASSERT_OK(AppendOne(*first.NewStub(), "notes/1", "second"));
  EXPECT_TRUE(first.Stop().Success()) << first.Stderr();
  ASSERT_TRUE(first.Start().ok()) << first.Stderr();
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*first.NewStub());
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 2u);
}

// A second govledgerd on the address of a running one stops at once, saying why, before it
// opens or makes its data directory; the first goes on serving.
TEST(DaemonFlagsTest, AListenAddressInUseStopsTheStartBeforeTheDataDirectoryIsMade) {
  DaemonHarness first;
  ASSERT_TRUE(first.Start().ok());
  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("govledger-port-", getpid()))
          .string();
  std::filesystem::remove_all(dir);
  const CliRun run = RunProgram(
      GOVLEDGERD_PATH, absl::StrCat("--data-dir ", dir, " --listen ", first.address()),
      "timeout 20");
  EXPECT_NE(run.code, 0);
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("cannot listen on ", first.address(),
                                              ": another process is listening on that address")));
  EXPECT_FALSE(std::filesystem::exists(dir)) << "nothing is opened or created";
  std::filesystem::remove_all(dir);
  auto stub = first.NewStub();
  grpc::ClientContext context;
  v1::GetHeadResponse head;
  EXPECT_TRUE(stub->GetHead(&context, v1::GetHeadRequest(), &head).ok());
  EXPECT_TRUE(first.Stop().Success());
}

// A port file that cannot be written stops the daemon, which says why: whoever waits for the
// file would otherwise wait for ever on a daemon that serves. Exit 2: it is a file a flag names.
TEST(DaemonFlagsTest, APortFileThatCannotBeWrittenStopsTheDaemon) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/a-directory");
  const CliRun run = RunProgram(
      GOVLEDGERD_PATH,
      absl::StrCat("--data-dir ", dir.path(), "/data --listen 127.0.0.1:0 --port-file ",
                   dir.path(), "/a-directory"),
      "timeout 20");
  EXPECT_EQ(run.code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("--port-file: ")));
  EXPECT_THAT(run.err, HasSubstr("shutting down"));
}

// On a unix socket there is no port: the start-up line and the port file give the address,
// which the CLI dials.
TEST(DaemonFlagsTest, AUnixSocketIsNamedByItsAddress) {
  TempDir dir;
  const std::string address = absl::StrCat("unix:", dir.path(), "/govledgerd.sock");
  const std::string port_file = dir.path() + "/port";
  // A relative --data-dir is said as an absolute path.
  const std::string script = absl::StrCat(
      "cd ", dir.path(), " && ", GOVLEDGERD_PATH, " --data-dir data --listen ", address,
      " --port-file ", port_file, " 2>", dir.path(), "/stderr & pid=$!; i=0; "
      "until [ -s ", port_file, " ] || [ $i -gt 300 ]; do sleep 0.1; i=$((i+1)); done; "
      "cat ", port_file, "; ", GOVLEDGER_CLI_PATH, " --server ", address, " head; "
      "kill -TERM $pid; wait $pid; echo \"exit $?\"; [ -e ", port_file,
      " ] && echo \"port file left\"");
  const CliRun run = RunProgram("timeout 60 sh -c", absl::StrCat("'", script, "'"));
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat(address, "\n")));
  EXPECT_THAT(run.out, Not(HasSubstr("port file left")));  // removed as the daemon stops
  EXPECT_THAT(run.out, HasSubstr("position 0"));
  EXPECT_THAT(run.out, HasSubstr("exit 0"));
  std::ifstream in(dir.path() + "/stderr");
  std::stringstream err;
  err << in.rdbuf();
  EXPECT_THAT(err.str(), HasSubstr(absl::StrCat("serving on ", address, " with data in ",
                                                 dir.path(), "/data (a new")));
  EXPECT_THAT(err.str(),
              HasSubstr("govledgerd: plaintext; open to every caller (no --tokens); tree heads "
                        "unsigned (no --tree-head-key)\n"));
}

// An abstract unix socket (unix-abstract:NAME) is served, as --listen's help says: the start's
// check of the address took it for HOST:PORT and refused it ("host unix-abstract does not
// resolve", found by a review). An ipv4: list, which gRPC's server does not take, is a bad
// --listen (exit 2), before any data directory is made.
TEST(DaemonFlagsTest, AnAbstractUnixSocketIsServed) {
  TempDir dir;
  const std::string address = absl::StrCat("unix-abstract:govledger-test-", getpid());
  const std::string port_file = dir.path() + "/port";
  const std::string script =
      absl::StrCat(GOVLEDGERD_PATH, " --data-dir ", dir.path(), "/data --listen ", address,
                   " --port-file ", port_file, " 2>", dir.path(),
                   "/stderr & pid=$!; i=0; "
                   "until [ -s ",
                   port_file,
                   " ] || [ $i -gt 300 ]; do sleep 0.1; i=$((i+1)); done; "
                   "cat ",
                   port_file, "; ", GOVLEDGER_CLI_PATH, " --server ", address,
                   " head; "
                   "kill -TERM $pid; wait $pid; echo \"exit $?\"");
  const CliRun run = RunProgram("timeout 60 sh -c", absl::StrCat("'", script, "'"));
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat(address, "\n")));
  EXPECT_THAT(run.out, HasSubstr("position 0"));
  EXPECT_THAT(run.out, HasSubstr("exit 0"));
  const CliRun list = RunProgram(
      GOVLEDGERD_PATH,
      absl::StrCat("--data-dir ", dir.path(), "/list --listen ipv4:127.0.0.1:1,127.0.0.2:1"));
  EXPECT_EQ(list.code, 2);
  EXPECT_THAT(list.err, HasSubstr("cannot listen on ipv4:127.0.0.1:1,127.0.0.2:1: ipv4: names "
                                  "addresses to call, not one to serve on; give HOST:PORT, e.g. "
                                  "127.0.0.1:1"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/list"));
}

// Started by systemd as a Type=notify service (NOTIFY_SOCKET set), govledgerd says READY=1 once
// it serves (its port file is written just before), and STOPPING=1 when SIGTERM stops it.
TEST(DaemonFlagsTest, ItTellsSystemdWhenItServesAndWhenItStops) {
  TempDir dir;
  const std::string notify = dir.path() + "/notify";
  const int socket = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(socket, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(notify.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, notify.data(), notify.size());
  ASSERT_EQ(::bind(socket, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  timeval wait{30, 0};
  ASSERT_EQ(::setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)), 0);
  auto next = [&] {
    char buffer[256];
    const ssize_t n = ::recv(socket, buffer, sizeof(buffer), 0);
    return n < 0 ? std::string("(nothing)") : std::string(buffer, static_cast<size_t>(n));
  };
  ASSERT_EQ(::setenv("NOTIFY_SOCKET", notify.c_str(), 1), 0);
  DaemonHarness daemon;
  const absl::Status started = daemon.Start();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_OK(started);
  EXPECT_EQ(next(), "READY=1");
  EXPECT_EQ(daemon.Stop().code, 0);
  EXPECT_EQ(next(), "STOPPING=1");
  ::close(socket);
}

// A data directory a newer govledgerd upgraded to its storage format: the start is refused,
// naming both formats, with exit status 2, which the systemd unit does not restart (exit 1 had
// it fail every 2 s until someone noticed; found by an upgrade tester).
TEST(DaemonFlagsTest, ADataDirectoryOfANewerFormatExitsTwo) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  ASSERT_OK(AppendOne(*daemon.NewStub(), "programme/LPP", "before"));
  ASSERT_EQ(daemon.Stop().code, 0);
  {
    RawDatabase raw(daemon.data_dir());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(raw.db().Put(sync, raw.meta(), "format_version", "3").ok());
  }
  EXPECT_FALSE(daemon.Start().ok());
  EXPECT_EQ(daemon.last_exit().code, 2) << daemon.last_exit().ToString();
  EXPECT_THAT(daemon.Stderr(), HasSubstr("holds storage format version 3; this govledgerd reads "
                                         "format 2"));
}

// --no-create: a data directory that holds no ledger (a volume not mounted) is refused, exit 2,
// and nothing is made; one that holds a ledger is served as ever.
TEST(DaemonFlagsTest, NoCreateRefusesADirectoryWithoutALedgerAndMakesNothing) {
  DaemonHarness daemon({"--no-create"});
  EXPECT_FALSE(daemon.Start().ok());
  EXPECT_EQ(daemon.last_exit().code, 2) << daemon.last_exit().ToString();
  EXPECT_THAT(daemon.Stderr(), HasSubstr("holds no ledger, and --no-create was given: nothing "
                                         "was made"));
  EXPECT_FALSE(std::filesystem::exists(daemon.data_dir() + "/CURRENT"));
  daemon.set_extra_args({});
  ASSERT_OK(daemon.Start());  // made once
  ASSERT_OK(AppendOne(*daemon.NewStub(), "programme/LPP", "made"));
  ASSERT_EQ(daemon.Stop().code, 0);
  daemon.set_extra_args({"--no-create"});
  ASSERT_OK(daemon.Start());
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*daemon.NewStub());
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 1u);
  ASSERT_EQ(daemon.Stop().code, 0);
}

// A path that is no data directory (a backup) exits 2, as a bad flag does; a data directory
// that lost its CURRENT file exits 3, as other damage does: neither is restarted by the unit
// (RestartPreventExitStatus=2 3), where exit 1 had it fail every 2 s (found by an operator's
// trial).
TEST(DaemonFlagsTest, ABackupGivenAsDataDirectoryExitsTwoAndOneWithoutCurrentThree) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  ASSERT_OK(AppendOne(*daemon.NewStub(), "programme/LPP", "before"));
  ASSERT_EQ(daemon.Stop().code, 0);
  const std::filesystem::path dir(daemon.data_dir());
  std::ofstream(dir / "govledger-backup.json") << "{}";
  EXPECT_FALSE(daemon.Start().ok());
  EXPECT_EQ(daemon.last_exit().code, 2) << daemon.last_exit().ToString();
  EXPECT_THAT(daemon.Stderr(), HasSubstr("is a backup"));
  std::filesystem::remove(dir / "govledger-backup.json");
  std::filesystem::rename(dir / "CURRENT", dir / "CURRENT.aside");
  EXPECT_FALSE(daemon.Start().ok());
  EXPECT_EQ(daemon.last_exit().code, 3) << daemon.last_exit().ToString();
  EXPECT_THAT(daemon.Stderr(), HasSubstr("but no CURRENT file"));
  std::filesystem::rename(dir / "CURRENT.aside", dir / "CURRENT");
  ASSERT_OK(daemon.Start());
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*daemon.NewStub());
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 1u);
}

// What a restart would meet again exits 2 (fix the setup), not 1, which the unit restarts every
// 2 s for ever (found by an operator's trial): a port file's missing directory (before a new
// ledger is made), a data directory under a file, and one holding other things but no database
// (the ledger's parent, given by mistake). A unix socket's missing directory: above.
TEST(DaemonFlagsTest, SetupAStartWouldMeetAgainExitsTwo) {
  TempDir tmp;
  const std::string fresh = tmp.path() + "/fresh";
  auto run = [](const std::string& args) {
    return RunProgram(GOVLEDGERD_PATH, args, "timeout 20");
  };
  CliRun port_file = run(absl::StrCat("--data-dir ", fresh, " --listen 127.0.0.1:0 --port-file ",
                                      tmp.path(), "/no-such-dir/port"));
  EXPECT_EQ(port_file.code, 2) << port_file.err;
  EXPECT_THAT(port_file.err, HasSubstr("--port-file: there is no directory"));
  EXPECT_FALSE(std::filesystem::exists(fresh)) << "a ledger was made before the refusal";
  std::ofstream(tmp.path() + "/a-file") << "x";
  CliRun under_a_file =
      run(absl::StrCat("--data-dir ", tmp.path(), "/a-file/data --listen 127.0.0.1:0"));
  EXPECT_EQ(under_a_file.code, 2) << under_a_file.err;
  EXPECT_THAT(under_a_file.err, HasSubstr("cannot create data directory"));

  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  ASSERT_EQ(daemon.Stop().code, 0);
  const std::string parent = std::filesystem::path(daemon.data_dir()).parent_path().string();
  CliRun the_parent = run(absl::StrCat("--data-dir ", parent, " --listen 127.0.0.1:0"));
  EXPECT_EQ(the_parent.code, 2) << the_parent.err;
  EXPECT_THAT(the_parent.err, HasSubstr(absl::StrCat("did you mean --data-dir ",
                                                     daemon.data_dir())));
  EXPECT_FALSE(std::filesystem::exists(parent + "/CURRENT"));
  // Nor is a new ledger made inside another's data directory, or inside a backup (an
  // operator's trial: one made at DATA/backup-checkpoint took an append, and the served
  // ledger's next backup deleted it without a word).
  for (const std::string& inside :
       {daemon.data_dir() + "/backup-checkpoint", daemon.data_dir() + "/deeper/still"}) {
    CliRun nested = run(absl::StrCat("--data-dir ", inside, " --listen 127.0.0.1:0"));
    EXPECT_EQ(nested.code, 2) << nested.err;
    EXPECT_THAT(nested.err, HasSubstr(absl::StrCat("is inside ", daemon.data_dir(),
                                                   ", a ledger's data directory or a backup: a "
                                                   "new ledger is not made there")));
    EXPECT_FALSE(std::filesystem::exists(inside)) << inside;
  }
  std::filesystem::create_directories(tmp.path() + "/backup");
  std::ofstream(tmp.path() + "/backup/govledger-backup.json") << "{}";
  CliRun in_backup =
      run(absl::StrCat("--data-dir ", tmp.path(), "/backup/sub --listen 127.0.0.1:0"));
  EXPECT_EQ(in_backup.code, 2) << in_backup.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/backup/sub"));
  // The ledger itself still starts.
  ASSERT_OK(daemon.Start());
}

// SIGUSR1 and SIGUSR2, whose default action would kill it without a clean stop (an operator's
// mistaken `kill -USR1`), are ignored, said so in the log; the daemon goes on serving.
TEST(DaemonFlagsTest, SigusrOneAndTwoAreIgnored) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  ASSERT_EQ(::kill(daemon.pid(), SIGUSR1), 0);
  ASSERT_TRUE(daemon.WaitForStderr("SIGUSR1 ignored: govledgerd stops on SIGTERM"))
      << daemon.Stderr();
  ASSERT_EQ(::kill(daemon.pid(), SIGUSR2), 0);
  ASSERT_TRUE(daemon.WaitForStderr("SIGUSR2 ignored")) << daemon.Stderr();
  auto stub = daemon.NewStub();
  EXPECT_OK(AppendOne(*stub, "programme/LPP", "still serving"));
  EXPECT_EQ(daemon.Stop().code, 0);
}

// A second govledgerd on the unix socket of a running one stops before it opens or makes its
// data directory: gRPC replaced the socket file, so the first went on running, unreachable
// (found by an operator's trial). A file that is not a socket is refused too; a socket left
// by a daemon killed with SIGKILL, which nothing answers on, is taken over.
TEST(DaemonFlagsTest, AUnixSocketInUseStopsTheStart) {
  TempDir dir;
  const std::string address = absl::StrCat("unix:", dir.path(), "/g.sock");
  const std::string wait_for_port = absl::StrCat(
      "i=0; until [ -s ", dir.path(), "/port ] || [ $i -gt 300 ]; do sleep 0.1; i=$((i+1)); "
      "done; ");
  const std::string daemon = absl::StrCat(GOVLEDGERD_PATH, " --listen ", address,
                                          " --port-file ", dir.path(), "/port --data-dir ");
  const std::string script = absl::StrCat(
      daemon, dir.path(), "/first 2>/dev/null & first=$!; ", wait_for_port,
      GOVLEDGER_CLI_PATH, " --server ", address, " append --stream a/b --type x.Y >/dev/null; ",
      daemon, dir.path(), "/second; echo \"second exit $?\"; ",
      "[ -e ", dir.path(), "/second ] && echo \"second made its data directory\"; ",
      GOVLEDGER_CLI_PATH, " --server ", address, " head; ",
      "kill -KILL $first; wait $first; rm ", dir.path(), "/port; ",
      daemon, dir.path(), "/third 2>/dev/null & third=$!; ", wait_for_port,
      GOVLEDGER_CLI_PATH, " --server ", address, " head; kill -TERM $third; wait $third; ",
      "echo \"third exit $?\"; touch ", dir.path(), "/file.sock; ", GOVLEDGERD_PATH,
      " --listen unix:", dir.path(), "/file.sock --data-dir ", dir.path(), "/fourth; ",
      "echo \"fourth exit $?\"");
  const CliRun run = RunProgram("timeout 90 sh -c", absl::StrCat("'", script, "'"));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("cannot listen on ", address,
                                              ": another process is listening on that "
                                              "socket")));
  EXPECT_THAT(run.out, HasSubstr("second exit 1\n"));
  EXPECT_THAT(run.out, Not(HasSubstr("second made its data directory")));
  EXPECT_THAT(run.out, HasSubstr("position 1\n"));  // the first, still reached
  EXPECT_THAT(run.out, HasSubstr("position 0\n"));  // the third, on the killed one's socket
  EXPECT_THAT(run.out, HasSubstr("third exit 0\n"));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("cannot listen on unix:", dir.path(),
                                              "/file.sock: ", dir.path(),
                                              "/file.sock exists and is not a socket")));
  // A bad --listen: a restart would fail the same way (exit 2, not 1, which systemd restarts).
  EXPECT_THAT(run.out, HasSubstr("fourth exit 2\n"));
}

}  // namespace
}  // namespace govledger::testing
