// AccessControl: who a caller is, and whether it may make a call (README, "Access control").
//
// Open (no tokens file): every caller may make every call, and the actor recorded on its
// appends is whatever it names in the govledger-actor metadata, or else its peer address.
//
// With a tokens file (govledgerd --tokens FILE, format in ledger/access_tokens.h): every call
// of LedgerService, QueryService and AdminService must carry `authorization: Bearer <token>`
// for a token in the file; the actor is the one the file gives the token, and the token's
// role bounds what it may call. The health service and server reflection stay open, for
// probes and tools.
//
// Immutable after construction; thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_ACCESS_CONTROL_H_
#define GOVLEDGER_LEDGER_SERVER_ACCESS_CONTROL_H_

#include <grpcpp/server_context.h>

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/access_tokens.h"

namespace govledger {

// Metadata key a caller may use to name who appends (README, "Access control").
inline constexpr char kActorMetadataKey[] = "govledger-actor";
// Metadata key of the bearer token: "Bearer <token>".
inline constexpr char kAuthorizationMetadataKey[] = "authorization";

class AccessControl {
 public:
  // Open: no tokens.
  AccessControl() = default;

  // Tokens required: those of the tokens file at `path` (ParseTokensFile's errors, or
  // FAILED_PRECONDITION if it cannot be read).
  static absl::StatusOr<AccessControl> FromTokensFile(const std::string& path);

  // Whether tokens are required.
  bool enforced() const { return enforced_; }

  // The actor of a caller allowed a call that needs `needed`. Open: the govledger-actor
  // metadata, else "peer:" and the peer address. Enforced: UNAUTHENTICATED when the call
  // carries no bearer token or one not in the file; PERMISSION_DENIED when the token's role
  // is below `needed`, or the call's govledger-actor names anyone but the token's actor.
  absl::StatusOr<std::string> Admit(const grpc::ServerContextBase& context, Role needed) const;

 private:
  explicit AccessControl(absl::flat_hash_map<std::string, TokenGrant> grants)
      : enforced_(true), grants_(std::move(grants)) {}

  bool enforced_ = false;
  absl::flat_hash_map<std::string, TokenGrant> grants_;  // by TokenDigest
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_ACCESS_CONTROL_H_
