#include "ledger/common/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/common/numbers.h"

namespace govledger {

absl::Status CheckAddress(absl::string_view address, bool port_zero_allowed) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address '", address, "' ", why, ": give HOST:PORT, e.g. 127.0.0.1:50051"));
  };
  for (absl::string_view scheme : {"unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::StartsWith(address, scheme)) {
      if (address.size() == scheme.size()) return invalid("names nothing after its scheme");
      return absl::OkStatus();
    }
  }
  // A web address's scheme, which gRPC would take for part of a host name to look up.
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWith(absl::AsciiStrToLower(address.substr(0, scheme.size())), scheme)) {
      return invalid(absl::StrCat("starts with ", scheme.substr(0, scheme.size() - 3),
                                  "://, which gRPC does not take (for TLS, give --tls)"));
    }
  }
  if (absl::StrContains(address, "://")) return absl::OkStatus();
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || absl::EndsWith(address, "]")) {
    return invalid("has no port");
  }
  const absl::string_view host = address.substr(0, colon);
  const absl::string_view port = address.substr(colon + 1);
  if (host.empty()) return invalid("has no host");
  if (host.front() == '[' ? host.back() != ']' : absl::StrContains(host, ':')) {
    return invalid("has an IPv6 host without its brackets ([::1]:50051)");
  }
  uint32_t number = 0;
  // At most 5 digits, as a port is written (0000050051 is refused).
  if (port.size() > 5 ||
      !ParseWholeNumber(std::string_view(port.data(), port.size()), uint32_t{65535}, &number)) {
    return invalid(absl::StrCat("has the port '", port, "', not a number from ",
                                port_zero_allowed ? 0 : 1, " to 65535"));
  }
  if (number == 0 && !port_zero_allowed) {
    return invalid("has port 0, which names no server");
  }
  return absl::OkStatus();
}

bool IsLocalAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  // gRPC's own schemes: "ipv4:127.0.0.1:50051" (a list: "ipv4:127.0.0.1:1,10.0.0.5:1", each of
  // which may be dialled), "dns:///localhost:50051".
  bool list = false;
  for (absl::string_view scheme : {"ipv4:", "ipv6:", "dns:"}) {
    if (absl::ConsumePrefix(&address, scheme)) {
      list = scheme != "dns:";
      break;
    }
  }
  if (absl::ConsumePrefix(&address, "//")) {  // an authority (a DNS server), then the target
    const size_t slash = address.find('/');
    address = slash == absl::string_view::npos ? "" : address.substr(slash + 1);
  }
  // Only a loopback address written out, or localhost: a name like 127.example.org is not one.
  auto loopback = [](absl::string_view target) {
    absl::string_view host = target.substr(0, target.rfind(':'));
    if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
    const std::string text(host);
    in_addr v4;
    in6_addr v6;
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
      return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    }
    return absl::EqualsIgnoreCase(host, "localhost");
  };
  if (!list) return loopback(address);
  for (absl::string_view target : absl::StrSplit(address, ',')) {
    if (!loopback(target)) return false;
  }
  return true;
}

}  // namespace govledger
