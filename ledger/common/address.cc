#include "ledger/common/address.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
  // gRPC's own schemes: "ipv4:127.0.0.1:50051", "dns:///localhost:50051".
  for (absl::string_view scheme : {"ipv4:", "ipv6:", "dns:"}) {
    if (absl::ConsumePrefix(&address, scheme)) break;
  }
  if (absl::ConsumePrefix(&address, "//")) {  // an authority (a DNS server), then the target
    const size_t slash = address.find('/');
    address = slash == absl::string_view::npos ? "" : address.substr(slash + 1);
  }
  absl::string_view host = address.substr(0, address.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

}  // namespace govledger
