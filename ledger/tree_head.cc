#include "ledger/tree_head.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/common/time.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"

namespace govledger {

std::string TreeHeadSignedText(const v1::TreeHead& c) {
  return absl::StrCat(kTreeHeadFormat, "\n", c.size(), "\n", crypto::ToHex(c.root_hash()), "\n",
                      crypto::ToHex(c.head_hash()), "\n", ToMicros(c.time()), "\n");
}

absl::StatusOr<v1::TreeHead> MakeTreeHead(uint64_t size, absl::string_view root_hash,
                                              absl::string_view head_hash, int64_t time_micros,
                                              absl::string_view private_key) {
  v1::TreeHead c;
  c.set_format(kTreeHeadFormat);
  c.set_size(size);
  c.set_root_hash(std::string(root_hash));
  c.set_head_hash(std::string(head_hash));
  SetMicros(time_micros, c.mutable_time());
  if (!private_key.empty()) {
    absl::StatusOr<std::string> public_key = crypto::Ed25519PublicKey(private_key);
    if (!public_key.ok()) return public_key.status();
    absl::StatusOr<std::string> signature =
        crypto::Ed25519Sign(private_key, TreeHeadSignedText(c));
    if (!signature.ok()) return signature.status();
    c.set_public_key(*public_key);
    c.set_signature(*signature);
  }
  return c;
}

absl::Status VerifyTreeHead(const v1::TreeHead& c, absl::Span<const std::string> public_keys) {
  if (c.format() != kTreeHeadFormat) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the tree head's format is '", c.format(), "'; this version knows ", kTreeHeadFormat));
  }
  if (c.root_hash().size() != crypto::kHashSize || c.head_hash().size() != crypto::kHashSize) {
    return absl::InvalidArgumentError("the tree head's root and head hashes must be 32 bytes");
  }
  // The empty log has one tree head's hashes, whoever signed it.
  if (c.size() == 0 && (c.root_hash() != crypto::MerkleEmptyRoot() ||
                        c.head_hash() != std::string(crypto::kHashSize, '\0'))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the tree head is of 0 events, whose root is ", crypto::ToHex(crypto::MerkleEmptyRoot()),
        " (the hash of nothing) and head hash 32 zero bytes; it holds root ",
        crypto::ToHex(c.root_hash()), " and head hash ", crypto::ToHex(c.head_hash())));
  }
  // The signed text holds the time in microseconds: digits below would be unsigned.
  if (c.time().nanos() % 1000 != 0 || c.time().nanos() < 0 || c.time().nanos() >= 1000000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the tree head's time has nanos ", c.time().nanos(),
        ", not whole microseconds: a tree head is made and signed to the microsecond"));
  }
  if (public_keys.empty()) return absl::OkStatus();
  if (c.signature().empty()) {
    return absl::FailedPreconditionError(
        "the tree head is not signed (its ledger has no tree head key): it proves nothing "
        "about who made it");
  }
  if (std::find(public_keys.begin(), public_keys.end(), c.public_key()) == public_keys.end()) {
    std::vector<std::string> given;
    for (const std::string& key : public_keys) given.push_back(crypto::ToHex(key));
    return absl::FailedPreconditionError(absl::StrCat(
        "the tree head is signed by another key (", crypto::ToHex(c.public_key()), "), not ",
        public_keys.size() == 1 ? "the one given (" : "one of those given (",
        absl::StrJoin(given, ", "),
        "); if the ledger's tree head key was replaced, give the public keys of before and "
        "after"));
  }
  if (!crypto::Ed25519Verify(c.public_key(), TreeHeadSignedText(c), c.signature())) {
    return absl::FailedPreconditionError(
        "the tree head's signature does not verify: it was changed after it was signed");
  }
  return absl::OkStatus();
}

}  // namespace govledger
