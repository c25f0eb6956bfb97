// SHA-256 (OpenSSL) and the ledger's hash chain rule.
#ifndef GOVLEDGER_LEDGER_CRYPTO_SHA256_H_
#define GOVLEDGER_LEDGER_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace govledger::crypto {

inline constexpr size_t kHashSize = 32;
using Hash = std::array<uint8_t, kHashSize>;

// The previous hash of the event at position 1: 32 zero bytes.
inline constexpr Hash kGenesisHash{};

// SHA-256 over `a` then `b`.
Hash Sha256(absl::string_view a, absl::string_view b = {});

// The chain rule: hash(event) = SHA-256(prev_hash || record), where record is the event's
// stored bytes without its hash (ledger/store/FORMAT.md).
inline Hash ChainHash(const Hash& prev, absl::string_view record) {
  return Sha256(absl::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()),
                record);
}

absl::string_view AsBytes(const Hash& h);
std::string ToHex(absl::string_view bytes);

}  // namespace govledger::crypto

#endif  // GOVLEDGER_LEDGER_CRYPTO_SHA256_H_
