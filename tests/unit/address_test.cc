// gRPC addresses as --listen and --server take them (ledger/common/address.h).
#include "ledger/common/address.h"

#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;

TEST(AddressTest, HostAndPortAndGrpcTargetsPass) {
  for (const char* address :
       {"127.0.0.1:50051", "localhost:1", "ledger.example.org:65535", "[::1]:50051",
        "[::]:443", "0.0.0.0:50051", "unix:/run/govledger.sock", "unix-abstract:govledger",
        "dns:///ledger.example.org:50051", "ipv4:127.0.0.1:50051"}) {
    EXPECT_THAT(CheckAddress(address, /*port_zero_allowed=*/false), IsOk()) << address;
  }
  EXPECT_THAT(CheckAddress("127.0.0.1:0", /*port_zero_allowed=*/true), IsOk());
}

// gRPC alone would serve on, or dial, port 443 for "localhost", and port 99999 - 65536 for
// "127.0.0.1:99999".
TEST(AddressTest, AMissingOrImpossiblePortIsRefusedSayingWhatToGive) {
  struct Case {
    std::string address, says;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"localhost", "has no port"},
           {"127.0.0.1", "has no port"},
           {"127.0.0.1:99999", "has the port '99999', not a number from 1 to 65535"},
           {"127.0.0.1:65536", "not a number from 1 to 65535"},
           {"127.0.0.1:", "has the port ''"},
           {"127.0.0.1:-1", "has the port '-1'"},
           {"127.0.0.1:5005x", "has the port '5005x'"},
           {"127.0.0.1:0000050051", "has the port '0000050051'"},
           {":50051", "has no host"},
           {"::1:50051", "IPv6 host without its brackets"},
           {"[::1]", "has no port"},
           {"127.0.0.1:0", "has port 0, which names no server"},
           {"unix:", "names nothing after its scheme"},
           // gRPC would look "http://127.0.0.1:50051" up as a host name.
           {"http://127.0.0.1:50051", "starts with http://, which gRPC does not take"},
           {"HTTPS://ledger.example.org:443", "starts with https://, which gRPC does not take "
                                              "(for TLS, give --tls)"},
       }) {
    EXPECT_THAT(CheckAddress(c.address, /*port_zero_allowed=*/false),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::AllOf(HasSubstr(absl::StrCat("address '", c.address, "' ")),
                                          HasSubstr(c.says),
                                          HasSubstr("give HOST:PORT, e.g. 127.0.0.1:50051"))))
        << c.address;
  }
  EXPECT_THAT(CheckAddress("127.0.0.1:70000", /*port_zero_allowed=*/true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from 0 to 65535")));
}

// What stays on this machine: the CLI warns before sending a token in plaintext elsewhere, and
// govledgerd before serving without TLS or tokens there.
TEST(AddressTest, LocalAddressesAreLoopbackHostsAndUnixSockets) {
  for (const char* local :
       {"127.0.0.1:50051", "127.1.2.3:1", "localhost:50051", "[::1]:50051", "unix:/run/g.sock",
        "unix-abstract:govledger", "ipv4:127.0.0.1:50051", "ipv6:[::1]:50051",
        "dns:localhost:50051", "dns:///localhost:50051", "dns://8.8.8.8/localhost:50051",
        "LOCALHOST:50051", "ipv4:127.0.0.1:1,127.0.0.2:1", "[::ffff:127.0.0.1]:50051"}) {
    EXPECT_TRUE(IsLocalAddress(local)) << local;
  }
  for (const char* remote :
       {"10.0.0.5:50051", "ledger.example.org:443", "[2001:db8::1]:50051", "0.0.0.0:50051",
        "ipv4:10.0.0.5:50051", "dns:///ledger.example.org:443", "localhost.example.org:1",
        "dns://127.0.0.1/ledger.example.org:443",
        // A list dials each address in turn; a name is not an address, whatever it begins with.
        "ipv4:127.0.0.1:50051,192.0.2.1:50051", "127.attacker.example:50051"}) {
    EXPECT_FALSE(IsLocalAddress(remote)) << remote;
  }
}

}  // namespace
}  // namespace govledger::testing
