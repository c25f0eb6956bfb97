#include "ledger/crypto/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace govledger::crypto {

Hash Sha256(absl::string_view a, absl::string_view b) {
  // EVP_MD_CTX is reused per thread: creating one per call costs more than hashing an event.
  thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  // Fetched once: EVP_sha256() makes every EVP_DigestInit_ex look the digest up again in
  // OpenSSL 3's provider tables, under a lock, which cost a third of each event's hash.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  Hash out;
  unsigned int len = 0;
  if (ctx == nullptr || md == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx, b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != kHashSize) {
    std::abort();  // OpenSSL cannot fail here short of memory exhaustion.
  }
  return out;
}

absl::string_view AsBytes(const Hash& h) {
  return absl::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

std::string ToHex(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace govledger::crypto
