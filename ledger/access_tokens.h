// Access tokens and the tokens file (README, "Access control"): what govledgerd --tokens reads
// and `govledger admin token` writes. A token is a random secret the caller sends as
// `authorization: Bearer <token>`; the file holds only each token's SHA-256, with the role it
// grants and the actor it records, so reading the file does not reveal a token.
#ifndef GOVLEDGER_LEDGER_ACCESS_TOKENS_H_
#define GOVLEDGER_LEDGER_ACCESS_TOKENS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace govledger {

// The metadata a call carries (the wire contract between clients, the CLI among them, and
// govledgerd's AccessControl).
// The bearer token: "Bearer <token>" (govledgerd also accepts "bearer").
inline constexpr char kAuthorizationMetadataKey[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";
// Who appends, when govledgerd runs without a tokens file (README, "Access control"). gRPC text
// metadata may hold only printable ASCII (anything else aborts a client as the call starts), so
// an actor with other characters (UTF-8: "José Ñ") travels as bytes under the binary key, which
// gRPC base64-encodes on the wire and govledgerd reads as UTF-8. A call sends one of the two.
inline constexpr char kActorMetadataKey[] = "govledger-actor";
inline constexpr char kActorBinMetadataKey[] = "govledger-actor-bin";

// What a call needs; each role includes the ones before it. Only the names are stored (in the
// tokens file), never these values.
enum class Role {
  // LedgerService GetHead; every QueryService and AuditService method; AdminService GetStats.
  // The answers hold
  // no event payload, so no decision's Part 1 or confidential Part 2 text.
  kViewer = 1,
  kReader = 2,  // and LedgerService Read, Subscribe: whole events, payloads included
  kWriter = 3,  // and LedgerService Append
  kAdmin = 4,   // and AdminService (backups)
};

// "viewer", "reader", "writer", "admin".
absl::string_view RoleName(Role role);
// The role named `name`; false if none is.
bool ParseRole(absl::string_view name, Role* role);

// A new random token: "glt_" and 64 hex digits (256 bits from OpenSSL's RAND_bytes).
absl::StatusOr<std::string> NewAccessToken();

// The SHA-256 of `token`, raw bytes: the key a token is looked up by.
std::string TokenDigest(absl::string_view token);

// The tokens file's line for `token`: "<sha256 of the token, hex> <role> <actor>".
// INVALID_ARGUMENT when the actor is not a legal actor (ledger/common/names.h, ValidateNamedActor).
absl::StatusOr<std::string> TokensFileLine(absl::string_view token, Role role,
                                           absl::string_view actor);

struct TokenGrant {
  Role role;
  std::string actor;
};

// Parses a tokens file's text: one token per line, "<sha256 hex> <role> <actor>" (the actor
// is the rest of the line), blank lines and lines starting with '#' ignored. Keyed by
// TokenDigest. INVALID_ARGUMENT naming `source` and the line for a malformed line, a
// repeated hash or an illegal actor. A file that names no token gives no grant (the daemon
// refuses to start on one, but takes it on a reload: every token revoked).
absl::StatusOr<absl::flat_hash_map<std::string, TokenGrant>> ParseTokensFile(
    absl::string_view text, absl::string_view source);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_ACCESS_TOKENS_H_
