#include "ledger/crypto/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace govledger::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

std::string OpenSslError(absl::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return absl::StrCat(what, ": ", buf);
}

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::StatusOr<Pkey> PrivateKey(absl::string_view seed) {
  if (seed.size() != kEd25519PrivateKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 private key has 32 bytes, not ", seed.size()));
  }
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, U(seed),
                                        seed.size()));
  if (!key)
    return absl::InternalError(OpenSslError("EVP_PKEY_new_raw_private_key"));
  return key;
}

absl::StatusOr<std::string> RawPublic(EVP_PKEY* key) {
  std::string out(kEd25519PublicKeySize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(
          key, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return absl::InternalError(OpenSslError("EVP_PKEY_get_raw_public_key"));
  }
  return out;
}

absl::StatusOr<std::string> RawPrivate(EVP_PKEY* key) {
  std::string out(kEd25519PrivateKeySize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(
          key, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kEd25519PrivateKeySize) {
    return absl::InternalError(OpenSslError("EVP_PKEY_get_raw_private_key"));
  }
  return out;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

absl::StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError(OpenSslError("Ed25519 key generation"));
  }
  Pkey key(raw);
  Ed25519KeyPair pair;
  absl::StatusOr<std::string> priv = RawPrivate(key.get());
  if (!priv.ok()) return priv.status();
  absl::StatusOr<std::string> pub = RawPublic(key.get());
  if (!pub.ok()) return pub.status();
  pair.private_key = *std::move(priv);
  pair.public_key = *std::move(pub);
  return pair;
}

absl::StatusOr<std::string> Ed25519PublicKey(absl::string_view private_key) {
  absl::StatusOr<Pkey> key = PrivateKey(private_key);
  if (!key.ok()) return key.status();
  return RawPublic(key->get());
}

absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key,
                                        absl::string_view message) {
  absl::StatusOr<Pkey> key = PrivateKey(private_key);
  if (!key.ok()) return key.status();
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureSize, '\0');
  size_t len = sig.size();
  // Pure Ed25519: no digest is named, and the whole message goes to one
  // EVP_DigestSign call.
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) !=
          1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, U(message), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return absl::InternalError(OpenSslError("Ed25519 signing"));
  }
  return sig;
}

absl::Status CheckEd25519PublicKey(absl::string_view public_key) {
  if (public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 public key has 32 bytes, not ", public_key.size()));
  }
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) return absl::InternalError("libsodium failed to initialise");
  if (crypto_core_ed25519_is_valid_point(U(public_key)) != 1) {
    return absl::InvalidArgumentError(
        "the public key is not one a private key makes: not a point of the curve's "
        "prime-order subgroup (a point of small order, such as all zeros, would let anyone "
        "sign without a private key)");
  }
  return absl::OkStatus();
}

bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature) {
  if (signature.size() != kEd25519SignatureSize || !CheckEd25519PublicKey(public_key).ok()) {
    return false;
  }
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, U(public_key),
                                       public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  bool ok = key && ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                                 key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), U(signature), signature.size(),
                             U(message), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> Ed25519PrivateKeyToPem(
    absl::string_view private_key) {
  absl::StatusOr<Pkey> key = PrivateKey(private_key);
  if (!key.ok()) return key.status();
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key->get(), nullptr, nullptr,
                                       0, nullptr, nullptr) != 1) {
    return absl::InternalError(OpenSslError("PEM_write_bio_PrivateKey"));
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519PublicKeyToPem(
    absl::string_view public_key) {
  if (public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an Ed25519 public key has 32 bytes, not ", public_key.size()));
  }
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, U(public_key),
                                       public_key.size()));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return absl::InternalError(OpenSslError("PEM_write_bio_PUBKEY"));
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519PrivateKeyFromPem(absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
               : nullptr);
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "not a PEM Ed25519 private key (PKCS #8)");
  }
  return RawPrivate(key.get());
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
               : nullptr);
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a PEM Ed25519 public key");
  }
  absl::StatusOr<std::string> raw = RawPublic(key.get());
  if (!raw.ok()) return raw.status();
  if (absl::Status s = CheckEd25519PublicKey(*raw); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the PEM holds an Ed25519 key, but ", s.message()));
  }
  return raw;
}

}  // namespace govledger::crypto
