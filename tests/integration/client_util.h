// Client-side helpers shared by the integration tests: building events, calling the daemon
// through the generated stubs with deadlines, paging through reads, and checking the chain as a
// client sees it. Thread-safe (no shared state).
#ifndef GOVLEDGER_TESTS_INTEGRATION_CLIENT_UTIL_H_
#define GOVLEDGER_TESTS_INTEGRATION_CLIENT_UTIL_H_

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "tests/integration/daemon_harness.h"

namespace grpc {
// Lets gtest print a grpc::Status in failure messages.
inline void PrintTo(const Status& s, std::ostream* os) {
  *os << "grpc::Status(code " << static_cast<int>(s.error_code()) << ", \"" << s.error_message()
      << "\")";
}
}  // namespace grpc

namespace govledger::testing {

// A gRPC server on 127.0.0.1, on a port of its own, serving `service` (a stand-in for
// govledgerd that answers as a test needs); shut down when destroyed, before the service is.
class LocalServer {
 public:
  explicit LocalServer(grpc::Service* service) {
    // BuildAndStart fills port_ in.
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
  }
  ~LocalServer() { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A LedgerService on 127.0.0.1 whose appends fail as a connection lost after the request went
// out does: UNAVAILABLE, the outcome unknown to the client (which a server never reached is
// not). Its other methods are UNIMPLEMENTED.
class AnswerLost final : public v1::LedgerService::Service {
 public:
  std::string address() const { return server_.address(); }
  grpc::Status Append(grpc::ServerContext*, const v1::AppendRequest*,
                      v1::AppendResponse*) override {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Connection reset by peer");
  }

 private:
  LocalServer server_{this};  // last: shut down first
};

// Deadline of every unary call the tests make: 10 s, times GOVLEDGER_TEST_TIMEOUT_SCALE
// (tests/CMakeLists.txt; deploy/sanitize.sh sets 4, as the sanitizers slow the daemon too).
inline constexpr std::chrono::seconds kCallTimeout{10 * GOVLEDGER_TEST_TIMEOUT_SCALE};

// EXPECT_THAT(grpc_status, GrpcStatusIs(grpc::StatusCode::ABORTED, HasSubstr("version 2")));
MATCHER_P2(GrpcStatusIs, code, message_matcher, "") {
  *result_listener << "code " << static_cast<int>(arg.error_code()) << ", message \""
                   << arg.error_message() << "\"";
  return arg.error_code() == code &&
         ::testing::ExplainMatchResult(message_matcher, arg.error_message(), result_listener);
}

// Matches a failed grpc::Status whose grpc-status-details-bin holds what a client library
// expects: a google.rpc.Status with the call's code and message and one detail, an ErrorInfo of
// domain "govledger" with reason `reason` and metadata (as a std::map) matching
// `metadata_matcher`. Decoded here by hand, not with the server's or the CLI's helpers.
MATCHER_P2(HasErrorInfo, reason, metadata_matcher, "") {
  google::rpc::Status details;
  if (arg.error_details().empty() || !details.ParseFromString(arg.error_details())) {
    *result_listener << "no google.rpc.Status in the error details (code "
                     << static_cast<int>(arg.error_code()) << ", \"" << arg.error_message()
                     << "\")";
    return false;
  }
  if (details.code() != static_cast<int>(arg.error_code()) ||
      details.message() != arg.error_message() || details.details_size() != 1 ||
      details.details(0).type_url() != "type.googleapis.com/google.rpc.ErrorInfo") {
    *result_listener << "unexpected google.rpc.Status " << details.ShortDebugString();
    return false;
  }
  google::rpc::ErrorInfo info;
  if (!details.details(0).UnpackTo(&info) || info.domain() != "govledger" ||
      info.reason() != reason) {
    *result_listener << "ErrorInfo " << info.ShortDebugString();
    return false;
  }
  const std::map<std::string, std::string> metadata(info.metadata().begin(),
                                                    info.metadata().end());
  *result_listener << "ErrorInfo " << info.ShortDebugString();
  return ::testing::ExplainMatchResult(metadata_matcher, metadata, result_listener);
}

MATCHER(GrpcOk, "is OK") {
  if (!arg.ok()) {
    *result_listener << "code " << static_cast<int>(arg.error_code()) << ", message \""
                     << arg.error_message() << "\"";
  }
  return arg.ok();
}

// An event with a fresh random id; effective time unset.
v1::Event MakeEvent(const std::string& stream_id, const std::string& payload,
                    const std::string& event_type = "govledger.test.Happened");

v1::AppendRequest MakeAppend(std::vector<v1::Event> events);

// Calls Append with kCallTimeout; `actor`, if not empty, goes in the govledger-actor metadata.
grpc::Status Append(v1::LedgerService::Stub& stub, const v1::AppendRequest& request,
                    v1::AppendResponse* response, const std::string& actor = "");

// Appends one event to `stream_id` and returns its response (OK expected).
absl::StatusOr<v1::AppendResponse> AppendOne(v1::LedgerService::Stub& stub,
                                             const std::string& stream_id,
                                             const std::string& payload);

grpc::Status Read(v1::LedgerService::Stub& stub, const v1::ReadRequest& request,
                  v1::ReadResponse* response);

absl::StatusOr<v1::GetHeadResponse> GetHead(v1::LedgerService::Stub& stub);

// The status of a Backup on `channel` that the server refuses before its first chunk (a test
// fails if a chunk comes).
grpc::Status RefusedBackup(const std::shared_ptr<grpc::Channel>& channel);

// Every event of the global log (stream_id empty) or of one stream, following `next` page by
// page with `limit` events per page, in `direction`.
absl::StatusOr<std::vector<v1::Event>> ReadAll(v1::LedgerService::Stub& stub,
                                               const std::string& stream_id = "",
                                               v1::Direction direction = v1::DIRECTION_FORWARD,
                                               uint32_t limit = 0);

// The hash an event should carry: SHA-256(prev_hash || the event serialized without `hash`).
// (The server hashes its stored bytes; C++ protobuf serializes a parsed message without
// unknown fields to the same bytes, so the re-serialization matches.)
std::string RecomputeHash(const v1::Event& event);

// Checks `events` as the complete global log in forward order: positions exactly 1..n, each
// prev_hash equals the previous event's hash (32 zero bytes for position 1), each hash
// recomputes, recorded times never go backwards, and `head` names the last event.
::testing::AssertionResult ChainVerifies(const std::vector<v1::Event>& events,
                                         const v1::GetHeadResponse& head);

// Starting a daemon with `args` fails (FAILED_PRECONDITION), saying `says`, with exit status 2
// (a command line or a file it names that the operator must fix), and creates no database.
void ExpectStartFails(const std::vector<std::string>& args, const std::string& says);

// A running daemon on a fresh data directory, with a stub, for each test.
class DaemonTest : public ::testing::Test {
 protected:
  // `daemon_args`: govledgerd's flags beyond the harness's own.
  explicit DaemonTest(std::vector<std::string> daemon_args = {})
      : daemon_(std::move(daemon_args)) {}
  void SetUp() override;
  void TearDown() override;

  DaemonHarness daemon_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
};

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_INTEGRATION_CLIENT_UTIL_H_
