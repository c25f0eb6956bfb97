#include "projections/signature_audit.h"

#include "absl/strings/str_cat.h"
#include "ledger/crypto/ed25519.h"
#include "projections/decision_digest.h"

namespace govledger::projections {
namespace {

template <typename Message>
bool IsType(const v1::Event& event) {
  return event.event_type() == Message::descriptor()->full_name();
}

}  // namespace

absl::Status SignatureAudit::Add(const v1::Event& event) {
  auto unreadable = [&] {
    return absl::DataLossError(absl::StrCat("position ", event.position(), ": the ",
                                            event.event_type(), " payload does not parse"));
  };
  if (IsType<v1::SigningKeyRegistered>(event)) {
    v1::SigningKeyRegistered m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    keys_.emplace(m.key_id(), std::move(m));
  } else if (IsType<v1::DecisionProposed>(event)) {
    v1::DecisionProposed m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    decisions_.emplace(std::make_pair(m.organisation_id(), m.reference()),
                       std::make_pair(DecisionDigest(m), 0));
  } else if (IsType<v1::DecisionSigned>(event)) {
    v1::DecisionSigned m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    auto decision = decisions_.find({m.organisation_id(), m.reference()});
    auto key = keys_.find(m.key_id());
    if (decision == decisions_.end() || key == keys_.end()) {
      ++unchecked_;
      return absl::OkStatus();
    }
    if (!crypto::Ed25519Verify(key->second.public_key(),
                               SignedDigest(decision->second.first, m), m.signature())) {
      return absl::DataLossError(absl::StrCat(
          "position ", event.position(), ": the signature of decision ", m.organisation_id(),
          "/", m.reference(), " with key ", m.key_id(), " (", key->second.holder(),
          ") does not verify over the decision's ",
          m.has_declaration() ? "signature digest (with the declaration of interests)"
                              : "canonical digest",
          " with the key's registered public key"));
    }
    ++verified_;
    ++decision->second.second;
    ++key_signatures_[m.key_id()];
  }
  return absl::OkStatus();
}

size_t SignatureAudit::decisions_signed() const {
  size_t n = 0;
  for (const auto& [unused, decision] : decisions_) n += decision.second > 0 ? 1 : 0;
  return n;
}

std::map<std::string, SignatureAudit::KeyUse> SignatureAudit::keys_used() const {
  std::map<std::string, KeyUse> out;
  for (const auto& [key_id, signatures] : key_signatures_) {
    out[key_id] = KeyUse{keys_.at(key_id), signatures};
  }
  return out;
}

}  // namespace govledger::projections
