#include "ledger/access_tokens.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/crypto/sha256.h"
#include "ledger/envelope.h"

namespace govledger {
namespace {

constexpr absl::string_view kTokenPrefix = "glt_";

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kReader:
      return "reader";
    case Role::kWriter:
      return "writer";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

bool ParseRole(absl::string_view name, Role* role) {
  for (Role r : {Role::kViewer, Role::kReader, Role::kWriter, Role::kAdmin}) {
    if (name == RoleName(r)) {
      *role = r;
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> NewAccessToken() {
  std::array<unsigned char, 32> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError("OpenSSL's RAND_bytes gave no random bytes");
  }
  return absl::StrCat(kTokenPrefix, crypto::ToHex(absl::string_view(
                                        reinterpret_cast<const char*>(bytes.data()), bytes.size())));
}

std::string TokenDigest(absl::string_view token) {
  return std::string(crypto::AsBytes(crypto::Sha256(token)));
}

absl::StatusOr<std::string> TokensFileLine(absl::string_view token, Role role,
                                           absl::string_view actor) {
  if (absl::Status s = ValidateNamedActor(actor); !s.ok()) return s;
  return absl::StrCat(crypto::ToHex(TokenDigest(token)), " ", RoleName(role), " ", actor);
}

absl::StatusOr<absl::flat_hash_map<std::string, TokenGrant>> ParseTokensFile(
    absl::string_view text, absl::string_view source) {
  absl::flat_hash_map<std::string, TokenGrant> grants;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, " line ", line_number, ": ", what,
          "; each line is \"<sha256 of the token, 64 hex digits> <viewer|reader|writer|admin> "
          "<actor>\" (govledger admin token prints one)"));
    };
    // Two words and the rest of the line, between runs of spaces and tabs.
    std::vector<absl::string_view> fields;
    absl::string_view rest = line;
    while (fields.size() < 2 && !rest.empty()) {
      const size_t end = std::min(rest.find_first_of(" \t"), rest.size());
      fields.push_back(rest.substr(0, end));
      rest = absl::StripLeadingAsciiWhitespace(rest.substr(end));
    }
    if (fields.size() < 2 || rest.empty()) return bad("expected three fields");
    fields.push_back(rest);
    const absl::string_view hex = fields[0];
    absl::StatusOr<std::string> digest = crypto::FromHex(hex);
    if (hex.size() != 2 * crypto::kHashSize || !digest.ok()) {
      // Never echoed: a token pasted where its digest belongs would go to the journal.
      return bad(absl::StartsWith(hex, kTokenPrefix)
                     ? "the first field looks like a token itself, not its SHA-256 (which the "
                       "file holds, so that it gives no token away): use the line `govledger "
                       "admin token` printed for the file"
                 : hex == "tokens-file-line"
                     ? "the line starts with `tokens-file-line`, the label `govledger admin "
                       "token` prints before it: copy what follows the label"
                     : absl::StrCat("the first field (", hex.size(),
                                    " characters) is not a SHA-256 in hex (64 hex digits)"));
    }
    TokenGrant grant;
    if (!ParseRole(fields[1], &grant.role)) {
      return bad(absl::StrCat("unknown role '", fields[1], "'"));
    }
    grant.actor = std::string(absl::StripAsciiWhitespace(fields[2]));
    if (absl::Status s = ValidateNamedActor(grant.actor); !s.ok()) return bad(s.message());
    if (!grants.emplace(*std::move(digest), std::move(grant)).second) {
      return bad("the same token hash is on an earlier line");
    }
  }
  return grants;
}

}  // namespace govledger
