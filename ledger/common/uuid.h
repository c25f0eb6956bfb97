// UUIDs in RFC 4122 text form ("8-4-4-4-12" hex digits).
#ifndef GOVLEDGER_LEDGER_COMMON_UUID_H_
#define GOVLEDGER_LEDGER_COMMON_UUID_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace govledger {

using UuidBytes = std::array<uint8_t, 16>;

// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case); nullopt for anything else.
std::optional<UuidBytes> ParseUuid(absl::string_view text);

// Lower-case text form.
std::string FormatUuid(const UuidBytes& bytes);

// A random (version 4) UUID from a cryptographic source.
std::string NewUuid();

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_UUID_H_
