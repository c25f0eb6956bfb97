// Daemon::ExposureWarning: what govledgerd warns about when it listens where other machines
// can reach it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "ledger/server/daemon.h"

namespace govledger {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string WarningFor(const std::string& listen, bool tokens, bool tls) {
  DaemonOptions options;
  options.listen = listen;
  if (tokens) options.tokens_file = "/etc/govledger/tokens";
  if (tls) {
    options.tls_cert_file = "/etc/govledger/cert.pem";
    options.tls_key_file = "/etc/govledger/key.pem";
  }
  return Daemon::ExposureWarning(options);
}

TEST(ExposureWarningTest, LoopbackAndUnixSocketsNeedNone) {
  for (const char* listen : {"127.0.0.1:50051", "127.8.9.10:0", "localhost:50051", "[::1]:50051",
                             "unix:/run/govledger.sock", "unix-abstract:govledger"}) {
    EXPECT_THAT(WarningFor(listen, false, false), IsEmpty()) << listen;
  }
}

TEST(ExposureWarningTest, AnOpenServerOtherMachinesCanReachIsNamed) {
  for (const char* listen : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "ledger:50051"}) {
    EXPECT_THAT(WarningFor(listen, false, false), HasSubstr("without --tokens")) << listen;
    EXPECT_THAT(WarningFor(listen, false, true), HasSubstr("without --tokens")) << listen;
  }
}

TEST(ExposureWarningTest, TokensWithoutTlsAreNamedAndTokensWithTlsNeedNone) {
  EXPECT_THAT(WarningFor("0.0.0.0:50051", true, false), HasSubstr("in plaintext"));
  EXPECT_THAT(WarningFor("0.0.0.0:50051", true, true), IsEmpty());
}

}  // namespace
}  // namespace govledger
