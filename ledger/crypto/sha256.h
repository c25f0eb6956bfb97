// SHA-256 (OpenSSL) and the ledger's hash chain rule.
#ifndef GOVLEDGER_LEDGER_CRYPTO_SHA256_H_
#define GOVLEDGER_LEDGER_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <string>
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

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

// Bytes as lower-case hex digits, and back: FromHex takes either case; INVALID_ARGUMENT for an
// odd length or a non-hex digit.
std::string ToHex(absl::string_view bytes);
absl::StatusOr<std::string> FromHex(absl::string_view hex);

// SHA-256 of data given a piece at a time (a file read or written in chunks).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(absl::string_view data);
  // The digest as 64 lower-case hex digits. Call once.
  std::string FinishHex();

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace govledger::crypto

#endif  // GOVLEDGER_LEDGER_CRYPTO_SHA256_H_
