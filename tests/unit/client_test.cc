// How the CLI says a failed call (cli/client.h): gRPC's own words for a connection that failed
// are turned into what to check, with the exit code a script can act on. The integration tests
// reach the refused, unreachable and TLS cases; a host name that does not resolve needs a
// resolver, so its wording is checked here.
#include "cli/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace govledger::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DescribeErrorTest, AHostNameThatDoesNotResolveIsSaidPlainly) {
  const grpc::Status status(
      grpc::StatusCode::UNAVAILABLE,
      "DNS resolution failed for nosuchhost.invalid:50051: C-ares status is not ARES_SUCCESS "
      "qtype=A name=nosuchhost.invalid is_balancer=0: Domain name not found");
  const std::string said = DescribeError("nosuchhost.invalid:50051", status);
  EXPECT_EQ(said,
            "cannot reach govledgerd at nosuchhost.invalid:50051 (its host name is not known: "
            "check --server or GOVLEDGER_SERVER)");
  EXPECT_THAT(said, Not(HasSubstr("C-ares")));
  EXPECT_EQ(ExitCodeOf(status), kExitUnreachable);
}

// A Unix socket this user may not open is said so, not "is it running?" (an operator's trial:
// a socket of mode 0700 and a client of another user). gRPC's words carry the errno's; a
// client not running as root is also told by access(2).
TEST(DescribeErrorTest, ASocketThisUserMayNotOpenIsSaidSo) {
  const grpc::Status denied(grpc::StatusCode::UNAVAILABLE,
                            "failed to connect to all addresses; last error: UNKNOWN: "
                            "unix:/run/govledger/g.sock: Permission denied");
  EXPECT_EQ(DescribeError("unix:/run/govledger/g.sock", denied),
            "cannot reach govledgerd at unix:/run/govledger/g.sock (this user may not open its "
            "socket, permission denied: run as govledgerd's user or one its socket's mode and "
            "directory let in)");
  const grpc::Status missing(grpc::StatusCode::UNAVAILABLE,
                             "failed to connect to all addresses; last error: UNKNOWN: "
                             "unix:/run/govledger/none.sock: No such file or directory");
  EXPECT_THAT(DescribeError("unix:/run/govledger/none.sock", missing),
              HasSubstr("(is it running? "));
  EXPECT_EQ(ExitCodeOf(denied), kExitUnreachable);
}

// A tokens file's digest sent as the token is told apart (an operator's trial).
TEST(DescribeErrorTest, ADigestGivenAsTheTokenIsSaidToBeOne) {
  const grpc::Status unknown(grpc::StatusCode::UNAUTHENTICATED,
                             "the access token is not one this server accepts");
  ConfigureConnections("", std::string(64, 'a'), false, "", "");
  EXPECT_EQ(DescribeError("127.0.0.1:50051", unknown),
            "server 127.0.0.1:50051: UNAUTHENTICATED: the access token is not one this server "
            "accepts; the token given is 64 hex digits: a tokens file's digest, or a token "
            "without its glt_? give the token itself, glt_ and 64 hex digits, as `govledger "
            "admin token` printed it");
  ConfigureConnections("", absl::StrCat("glt_", std::string(64, 'a')), false, "", "");
  EXPECT_EQ(DescribeError("127.0.0.1:50051", unknown),
            "server 127.0.0.1:50051: UNAUTHENTICATED: the access token is not one this server "
            "accepts");
  ConfigureConnections("", "", false, "", "");
}

TEST(DescribeErrorTest, OtherRefusalsKeepTheServersWords) {
  const grpc::Status status(grpc::StatusCode::FAILED_PRECONDITION, "risk R1 is closed");
  EXPECT_EQ(DescribeError("127.0.0.1:50051", status),
            "server 127.0.0.1:50051: FAILED_PRECONDITION: risk R1 is closed");
  EXPECT_EQ(ExitCodeOf(status), kExitRefused);
}

// The CLI cancels none of the calls whose status it reports: a CANCELLED is the server's (a call
// that arrived as it shut down), worth retrying, so exit 3 as for UNAVAILABLE.
TEST(DescribeErrorTest, ACallTheServerCancelledIsWorthRetrying) {
  const grpc::Status status(grpc::StatusCode::CANCELLED, "CANCELLED");
  EXPECT_EQ(DescribeError("127.0.0.1:50051", status),
            "server 127.0.0.1:50051: CANCELLED: the server ended the call (shutting down?); "
            "retry once it serves again");
  EXPECT_EQ(ExitCodeOf(status), kExitUnreachable);
}

}  // namespace
}  // namespace govledger::cli
