#include "tests/integration/client_util.h"

#include <grpcpp/client_context.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "govledger/v1/admin.grpc.pb.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/sha256.h"

namespace govledger::testing {
namespace {

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace

v1::Event MakeEvent(const std::string& stream_id, const std::string& payload,
                    const std::string& event_type) {
  v1::Event event;
  event.set_event_id(NewUuid());
  event.set_stream_id(stream_id);
  event.set_event_type(event_type);
  event.set_payload(payload);
  return event;
}

v1::AppendRequest MakeAppend(std::vector<v1::Event> events) {
  v1::AppendRequest request;
  for (v1::Event& e : events) *request.add_events() = std::move(e);
  return request;
}

grpc::Status Append(v1::LedgerService::Stub& stub, const v1::AppendRequest& request,
                    v1::AppendResponse* response, const std::string& actor) {
  grpc::ClientContext context;
  SetDeadline(&context);
  if (!actor.empty()) context.AddMetadata("govledger-actor", actor);
  return stub.Append(&context, request, response);
}

absl::StatusOr<v1::AppendResponse> AppendOne(v1::LedgerService::Stub& stub,
                                             const std::string& stream_id,
                                             const std::string& payload) {
  v1::AppendResponse response;
  grpc::Status s = Append(stub, MakeAppend({MakeEvent(stream_id, payload)}), &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

grpc::Status Read(v1::LedgerService::Stub& stub, const v1::ReadRequest& request,
                  v1::ReadResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub.Read(&context, request, response);
}

absl::StatusOr<v1::GetHeadResponse> GetHead(v1::LedgerService::Stub& stub) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetHeadResponse response;
  grpc::Status s = stub.GetHead(&context, v1::GetHeadRequest(), &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

grpc::Status RefusedBackup(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  SetDeadline(&context);
  std::unique_ptr<grpc::ClientReader<v1::BackupChunk>> backup =
      v1::AdminService::NewStub(channel)->Backup(&context, v1::BackupRequest());
  v1::BackupChunk chunk;
  EXPECT_FALSE(backup->Read(&chunk)) << "the backup was not refused";
  return backup->Finish();
}

absl::StatusOr<std::vector<v1::Event>> ReadAll(v1::LedgerService::Stub& stub,
                                               const std::string& stream_id,
                                               v1::Direction direction, uint32_t limit) {
  std::vector<v1::Event> events;
  v1::ReadRequest request;
  request.set_stream_id(stream_id);
  request.set_direction(direction);
  request.set_limit(limit);
  // Bounded: every page but the last holds at least one event.
  for (int page = 0; page < 100000; ++page) {
    v1::ReadResponse response;
    grpc::Status s = Read(stub, request, &response);
    if (!s.ok()) return ToAbsl(s);
    for (v1::Event& e : *response.mutable_events()) events.push_back(std::move(e));
    if (response.next() == 0) return events;
    if (response.events_size() == 0) {
      return absl::InternalError(absl::StrCat("empty page with next ", response.next()));
    }
    request.set_from(response.next());
  }
  return absl::InternalError("too many pages");
}

std::string RecomputeHash(const v1::Event& event) {
  v1::Event record = event;
  record.clear_hash();
  std::string bytes = record.SerializeAsString();
  crypto::Hash hash = crypto::Sha256(event.prev_hash(), bytes);
  return std::string(crypto::AsBytes(hash));
}

::testing::AssertionResult ChainVerifies(const std::vector<v1::Event>& events,
                                         const v1::GetHeadResponse& head) {
  std::string prev(crypto::kHashSize, '\0');
  int64_t last_recorded_micros = INT64_MIN;
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::Event& e = events[i];
    const uint64_t expected = i + 1;
    if (e.position() != expected) {
      return ::testing::AssertionFailure()
             << "event " << i << " has position " << e.position() << ", expected " << expected;
    }
    if (e.prev_hash() != prev) {
      return ::testing::AssertionFailure() << "prev_hash of position " << expected
                                           << " is not the hash of position " << expected - 1;
    }
    if (e.hash().size() != crypto::kHashSize || RecomputeHash(e) != e.hash()) {
      return ::testing::AssertionFailure()
             << "hash of position " << expected << " does not recompute";
    }
    int64_t recorded = e.recorded_time().seconds() * 1000000 + e.recorded_time().nanos() / 1000;
    if (recorded < last_recorded_micros) {
      return ::testing::AssertionFailure()
             << "recorded_time goes backwards at position " << expected;
    }
    last_recorded_micros = recorded;
    prev = e.hash();
  }
  if (head.position() != events.size() || head.event_count() != events.size()) {
    return ::testing::AssertionFailure()
           << "head says position " << head.position() << " and " << head.event_count()
           << " events; the log holds " << events.size();
  }
  if (head.hash() != prev) {
    return ::testing::AssertionFailure() << "head hash is not the hash of the last event";
  }
  return ::testing::AssertionSuccess();
}

void ExpectStartFails(const std::vector<std::string>& args, const std::string& says) {
  DaemonHarness daemon(args);
  absl::Status started = daemon.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition) << started;
  EXPECT_THAT(std::string(started.message()), ::testing::HasSubstr(says));
  EXPECT_FALSE(daemon.running());
  EXPECT_TRUE(daemon.last_exit().exited && daemon.last_exit().code == 2)
      << daemon.last_exit().ToString() << " for " << says;
  EXPECT_FALSE(std::filesystem::exists(daemon.data_dir() + "/CURRENT"));
}

void DaemonTest::SetUp() {
  absl::Status started = daemon_.Start();
  ASSERT_TRUE(started.ok()) << started;
  stub_ = daemon_.NewStub();
}

void DaemonTest::TearDown() {
  if (!daemon_.running()) return;
  ExitStatus exit = daemon_.Stop();
  EXPECT_TRUE(exit.Success()) << "govledgerd " << exit.ToString() << "; stderr:\n"
                              << daemon_.Stderr();
}

}  // namespace govledger::testing
