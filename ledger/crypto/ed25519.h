// Ed25519 signatures (RFC 8032, pure Ed25519) through OpenSSL 3's EVP
// interface; libsodium checks that a public key is a point of prime order.
//
// Keys are handled as RFC 8032 raw bytes (a 32-byte private seed, a 32-byte
// public key) or as PEM (PKCS #8 "PRIVATE KEY" for the private key,
// SubjectPublicKeyInfo "PUBLIC KEY" for the public key). Signatures are 64 raw
// bytes. Every function is thread-safe.
#ifndef GOVLEDGER_LEDGER_CRYPTO_ED25519_H_
#define GOVLEDGER_LEDGER_CRYPTO_ED25519_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace govledger::crypto {

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519PrivateKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

struct Ed25519KeyPair {
  std::string private_key;  // 32-byte seed
  std::string public_key;   // 32 bytes
};

// A fresh key pair from OpenSSL's CSPRNG. INTERNAL if OpenSSL fails.
absl::StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair();

// The public key of a 32-byte private seed. INVALID_ARGUMENT for a seed of
// another size.
absl::StatusOr<std::string> Ed25519PublicKey(absl::string_view private_key);

// Signs `message` with a 32-byte private seed; returns 64 bytes.
// INVALID_ARGUMENT for a seed of another size.
absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key,
                                        absl::string_view message);

// OK when `public_key` (32 bytes) is the canonical encoding of a point of the
// curve's prime-order subgroup, as every key made from a private key is.
// INVALID_ARGUMENT saying why otherwise: a point of small order (such as all
// zeros, or the identity) is "verified" by RFC 8032's equation for signatures
// anyone can make without a private key, so no such key may sign.
absl::Status CheckEd25519PublicKey(absl::string_view public_key);

// True only when `signature` (64 bytes) is `public_key`'s (32 bytes) signature
// of `message`, and the key passes CheckEd25519PublicKey. Wrong sizes verify
// false.
bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

// PEM encodings. The private key PEM is unencrypted PKCS #8.
absl::StatusOr<std::string> Ed25519PrivateKeyToPem(
    absl::string_view private_key);
absl::StatusOr<std::string> Ed25519PublicKeyToPem(absl::string_view public_key);
// INVALID_ARGUMENT when the PEM does not hold an Ed25519 key of that kind (a
// public key also as CheckEd25519PublicKey says).
absl::StatusOr<std::string> Ed25519PrivateKeyFromPem(absl::string_view pem);
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem);

}  // namespace govledger::crypto

#endif  // GOVLEDGER_LEDGER_CRYPTO_ED25519_H_
