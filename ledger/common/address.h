// gRPC addresses as govledgerd's --listen and the CLI's --server take them.
#ifndef GOVLEDGER_LEDGER_COMMON_ADDRESS_H_
#define GOVLEDGER_LEDGER_COMMON_ADDRESS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace govledger {

// OK when `address` is HOST:PORT (HOST a name, an IPv4 address or a bracketed IPv6 one; PORT
// a decimal number from 1 to 65535, or 0 when `port_zero_allowed`: "pick a free port"), or a
// target in gRPC's own syntax, left to gRPC: "unix:PATH", "unix-abstract:NAME", "dns:...",
// "ipv4:...", "ipv6:...", or any URI ("scheme://...") but a web address ("http://...",
// "https://...", whose scheme gRPC would look up as part of a host name). Otherwise INVALID_ARGUMENT saying what to give: gRPC alone
// would serve on, or dial, port 443 for "localhost" and port 34463 for "127.0.0.1:99999".
absl::Status CheckAddress(absl::string_view address, bool port_zero_allowed);

// Whether `address` (as CheckAddress takes it) stays on this machine: a Unix socket, localhost,
// or a loopback address written out (127.x.y.z, ::1, ::ffff:127.x.y.z; each address of an
// ipv4:/ipv6: list). Anything else, a host name beginning "127." included, may cross a network.
bool IsLocalAddress(absl::string_view address);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_ADDRESS_H_
