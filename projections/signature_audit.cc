#include "projections/signature_audit.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/sha256.h"
#include "projections/corrections.h"
#include "projections/decision_digest.h"
#include "projections/governance_state.h"
#include "projections/streams.h"

namespace govledger::projections {
namespace {

template <typename Message>
bool IsType(const v1::Event& event) {
  return event.event_type() == Message::descriptor()->full_name();
}

// The latest of `entries` before `position` that `left_out` does not leave out; null if none.
template <typename Entry>
const Entry* LatestCounted(const std::vector<Entry>& entries, uint64_t position,
                           const absl::flat_hash_set<std::string>& left_out) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->position < position && !left_out.contains(it->event_id)) return &*it;
  }
  return nullptr;
}

// The decision stream a rejection or withdrawal ends; "" when the payload does not parse.
template <typename Message>
std::string EndedStream(const v1::Event& event) {
  Message m;
  if (!m.ParseFromString(event.payload())) return "";
  return DecisionStream(m.organisation_id(), m.reference());
}

}  // namespace

std::pair<const SignatureAudit::Proposal*, const SignatureAudit::Key*>
SignatureAudit::CountedWith(const Signature& s,
                            const absl::flat_hash_set<std::string>& left_out,
                            bool as_recorded) const {
  if (left_out.contains(s.event_id)) return {nullptr, nullptr};
  auto proposals = proposals_.find(s.stream);
  auto keys = keys_.find(s.message.key_id());
  if (proposals == proposals_.end() || keys == keys_.end()) return {nullptr, nullptr};
  const Proposal* proposal = LatestCounted(proposals->second, s.position, left_out);
  const Key* key = LatestCounted(keys->second, s.position, left_out);
  if (proposal == nullptr || key == nullptr) return {nullptr, nullptr};
  // After a correction, a signature naming another digest is not counted (GovernanceState's
  // fold); as recorded, the rules made them equal, and Check finds a difference.
  if (!as_recorded && !s.message.digest().empty() && s.message.digest() != proposal->digest) {
    return {nullptr, nullptr};
  }
  return {proposal, key};
}

absl::Status SignatureAudit::Check(Signature& s,
                                   const absl::flat_hash_set<std::string>& left_out,
                                   uint64_t view_position) {
  auto [proposal, key] = CountedWith(s, left_out, view_position == 0);
  if (proposal == nullptr) return absl::OkStatus();
  if (proposal->position == s.checked_proposal && key->position == s.checked_key) {
    return absl::OkStatus();  // verified with these already
  }
  const v1::DecisionSigned& m = s.message;
  // A proposal holding what this version does not know: a newer govledger's digest covers that
  // too, and so does its signatures'; or the proposal was changed after signing. Either way the
  // signature fails here, saying which may be the case.
  const std::string newer =
      proposal->unknown.empty()
          ? ""
          : absl::StrCat("; the proposal (position ", proposal->position, ") holds ",
                         proposal->unknown,
                         ", which this version of govledger does not know: if a newer govledger "
                         "recorded it, verify with one at least as new");
  if (view_position == 0 && !m.digest().empty() && m.digest() != proposal->digest) {
    return absl::DataLossError(absl::StrCat(
        "position ", s.position, ": the signature of decision ", m.organisation_id(), "/",
        m.reference(), " with key ", m.key_id(), " names the digest ", crypto::ToHex(m.digest()),
        ", but the decision's canonical digest is ", crypto::ToHex(proposal->digest),
        " (the ledger accepts a signature only when they are equal)", newer));
  }
  if (!crypto::Ed25519Verify(key->registration.public_key(), SignedDigest(proposal->digest, m),
                             m.signature())) {
    const std::string what = absl::StrCat(
        "the signature of decision ", m.organisation_id(), "/", m.reference(), " with key ",
        m.key_id(), " (", key->registration.holder(), ") does not verify over the decision's ",
        m.has_declaration() ? "signature digest (with the declaration of interests)"
                            : "canonical digest",
        " with the key's registered public key", newer);
    if (view_position == 0) {
      return absl::DataLossError(absl::StrCat("position ", s.position, ": ", what));
    }
    return absl::DataLossError(absl::StrCat(
        "position ", view_position, ": after the correction there, the signature at position ",
        s.position, " counts for the decision proposed at position ", proposal->position,
        " and the key registered at position ", key->position, ", and ", what));
  }
  s.checked_proposal = proposal->position;
  s.checked_key = key->position;
  return absl::OkStatus();
}

std::string SignatureAudit::RefusedByRules(const Signature& s, const Proposal& proposal,
                                           const Key& key, const v1::Event& event) const {
  const v1::DecisionSigned& m = s.message;
  auto refused = [&](absl::string_view what, absl::string_view rule) {
    return absl::StrCat("position ", s.position, ": the signature of decision ",
                        m.organisation_id(), "/", m.reference(), " with key ", m.key_id(), " (",
                        key.registration.holder(), ") ", what, " (", rule, ")");
  };
  // The key's revocations recorded before it (and after the registration it counts with)
  // that no correction voids: one in effect by the signature's recorded or effective time
  // stops it (GovernanceState's RevokedOnlyLater).
  const int64_t recorded = ToMicros(event.recorded_time());
  const int64_t effective =
      event.has_effective_time() ? ToMicros(event.effective_time()) : recorded;
  if (auto it = revocations_.find(m.key_id()); it != revocations_.end()) {
    for (const Revocation& r : it->second) {
      if (r.position < key.position || r.position > s.position || left_out_.contains(r.event_id)) {
        continue;
      }
      if (r.effective_micros <= recorded || r.effective_micros <= effective) {
        return refused(
            absl::StrCat(r.effective_micros <= recorded ? "was recorded" : "takes effect",
                         " after the key's revocation at position ", r.position, " took effect (",
                         FormatRfc3339(r.effective_micros), ")"),
            "a revoked key signs nothing after its revocation takes effect");
      }
    }
  }
  // A key of another organisation, or a role the decision does not require.
  if (const std::string& org = key.registration.organisation_id();
      !org.empty() && org != m.organisation_id()) {
    return refused(absl::StrCat("is by a key registered for organisation ", org),
                   "a key registered for an organisation signs only that organisation's "
                   "decisions; no answer counts it");
  }
  // Its key pair registered under another key id too: one holder's signature counting for
  // another holder or role.
  for (const Registered& other : keys_by_public_key_.at(key.registration.public_key())) {
    if (other.key_id == m.key_id() || other.position > s.position ||
        left_out_.contains(other.event_id)) {
      continue;
    }
    return refused(absl::StrCat("is by a key pair also registered as key ", other.key_id,
                                " at position ", other.position),
                   "a key pair is registered once, to one holder and role");
  }
  const auto& required = proposal.required_roles;
  if (std::find(required.begin(), required.end(), key.registration.role()) == required.end()) {
    return refused(absl::StrCat("is for the role '", key.registration.role(),
                                "', which the decision does not require"),
                   "a signature's key holder has one of the decision's required roles");
  }
  // Dated before the proposal or the key's registration.
  for (const auto& [since, what] : {std::pair{proposal.effective_micros, "its decision's proposal"},
                                    std::pair{key.effective_micros, "its key's registration"}}) {
    if (event.has_effective_time() && since != kUnknownTime && effective < since) {
      return refused(absl::StrCat("takes effect (", FormatRfc3339(effective), ") before ", what,
                                  " (", FormatRfc3339(since), ")"),
                     "a signature takes effect no earlier than its decision's proposal and its "
                     "key's registration");
    }
  }
  // Recorded after the decision's rejection or withdrawal.
  if (auto it = outcomes_.find(s.stream); it != outcomes_.end()) {
    for (const Outcome& o : it->second) {
      if (o.position > proposal.position && o.position < s.position &&
          !left_out_.contains(o.event_id)) {
        return refused(absl::StrCat("follows the decision's ", o.what, " at position ", o.position),
                       "only a pending decision is signed");
      }
    }
  }
  // One signature per holder, per key and per role, among those counted with this proposal.
  if (auto it = signatures_by_stream_.find(s.stream); it != signatures_by_stream_.end()) {
    for (size_t i : it->second) {
      const Signature& earlier = signatures_[i];
      if (!earlier.verified || earlier.checked_proposal != proposal.position ||
          left_out_.contains(earlier.event_id)) {
        continue;
      }
      const Key* earlier_key = nullptr;
      for (const Key& k : keys_.at(earlier.message.key_id())) {
        if (k.position == earlier.checked_key) earlier_key = &k;
      }
      if (earlier_key == nullptr) continue;
      const v1::SigningKeyRegistered& a = earlier_key->registration;
      const v1::SigningKeyRegistered& b = key.registration;
      const char* same = earlier.message.key_id() == m.key_id() ? "its key"
                         : LookAlike(a.holder(), b.holder())    ? "its holder"
                         : a.role() == b.role()                 ? "its role"
                                                                : nullptr;
      if (same != nullptr) {
        return refused(absl::StrCat("follows the signature at position ", earlier.position,
                                    " with key ", earlier.message.key_id(), " (", a.holder(),
                                    ", role '", a.role(), "'), of ", same),
                       "a decision is signed once per key, per holder and per role");
      }
    }
  }
  return "";
}

absl::Status SignatureAudit::CheckAfterCorrection(
    const absl::flat_hash_set<std::string>& changed, uint64_t position) {
  absl::flat_hash_set<size_t> concerned;
  auto add = [&](const auto& index, const std::string& key) {
    if (auto it = index.find(key); it != index.end()) {
      concerned.insert(it->second.begin(), it->second.end());
    }
  };
  for (const std::string& id : changed) {
    if (auto it = proposal_stream_.find(id); it != proposal_stream_.end()) {
      add(signatures_by_stream_, it->second);
    }
    if (auto it = registration_key_.find(id); it != registration_key_.end()) {
      add(signatures_by_key_, it->second);
    }
    if (auto it = signature_by_id_.find(id); it != signature_by_id_.end()) {
      concerned.insert(it->second);
    }
  }
  // In log order, so that the first failure named is the earliest signature's.
  std::vector<size_t> order(concerned.begin(), concerned.end());
  std::sort(order.begin(), order.end());
  for (size_t i : order) RETURN_IF_ERROR(Check(signatures_[i], left_out_, position));
  return absl::OkStatus();
}

absl::Status SignatureAudit::Add(const v1::Event& event) {
  auto unreadable = [&] {
    return absl::DataLossError(absl::StrCat("position ", event.position(), ": the ",
                                            event.event_type(), " payload does not parse"));
  };
  whole_log_ = whole_log_ && event.position() == next_position_;
  next_position_ = event.position() + 1;
  const std::string id = absl::AsciiStrToLower(event.event_id());
  if (IsType<v1::SigningKeyRegistered>(event)) {
    v1::SigningKeyRegistered m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    registration_key_[id] = m.key_id();
    keys_by_public_key_[m.public_key()].push_back({m.key_id(), event.position(), id});
    keys_[m.key_id()].push_back(
        Key{event.position(), id, event.actor(), std::move(m), EffectiveMicrosOrUnknown(event)});
  } else if (IsType<v1::SigningKeyRevoked>(event)) {
    v1::SigningKeyRevoked m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    revocations_[m.key_id()].push_back(
        Revocation{event.position(), id, ToMicros(event.effective_time())});
  } else if (IsType<v1::DecisionProposed>(event)) {
    v1::DecisionProposed m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    std::string stream = DecisionStream(m.organisation_id(), m.reference());
    proposal_stream_[id] = stream;
    proposals_[stream].push_back(
        Proposal{event.position(),
                 id,
                 DecisionDigest(m),
                 UnknownDecisionContent(m),
                 {m.required_signatory_roles().begin(), m.required_signatory_roles().end()},
                 EffectiveMicrosOrUnknown(event)});
  } else if (IsType<v1::DecisionRejected>(event) || IsType<v1::DecisionWithdrawn>(event)) {
    const bool rejection = IsType<v1::DecisionRejected>(event);
    const std::string stream = rejection ? EndedStream<v1::DecisionRejected>(event)
                                         : EndedStream<v1::DecisionWithdrawn>(event);
    if (stream.empty()) return unreadable();
    outcomes_[stream].push_back(
        Outcome{event.position(), id, rejection ? "rejection" : "withdrawal"});
  } else if (IsType<v1::DecisionSigned>(event)) {
    Signature s{event.position(), id, "", {}};
    if (!s.message.ParseFromString(event.payload())) return unreadable();
    s.stream = DecisionStream(s.message.organisation_id(), s.message.reference());
    // As recorded: the view the ledger checked it in.
    auto [proposal, key] = CountedWith(s, left_out_, /*as_recorded=*/true);
    // In the whole log, a decision never proposed, or a key never registered, before the
    // signature (voided or not) is a forgery; one voided is checked below.
    if (proposal == nullptr && whole_log_) {
      const v1::DecisionSigned& m = s.message;
      auto any_before = [&](const auto& index, const std::string& key) {
        auto it = index.find(key);
        return it != index.end() && !it->second.empty() && it->second.front().position < s.position;
      };
      const bool proposed = any_before(proposals_, s.stream);
      if (!proposed || !any_before(keys_, m.key_id())) {
        return absl::DataLossError(absl::StrCat(
            "position ", s.position, ": the signature of decision ", m.organisation_id(), "/",
            m.reference(), " with key ", m.key_id(), " has no ",
            proposed ? absl::StrCat("key ", m.key_id(), " registered")
                     : absl::StrCat("decision ", m.organisation_id(), "/", m.reference(),
                                    " proposed"),
            " before it, though the log from position 1 is all here: the ledger accepts no "
            "such signature, so the log was changed after it was written"));
      }
      // Its proposal or key voided before it: a log written before 2026-11-30, whose rules
      // did not look at corrections, may hold such a signature. No fold counts it, but it is
      // checked as those rules checked it, with the latest proposal and key before it, voided
      // or not, so that one forged there is found. (Only in the whole log: in a part, the
      // proposal or key a fold counts may come before the part's first event.)
      const absl::flat_hash_set<std::string> nothing_left_out;
      auto [voided_proposal, voided_key] = CountedWith(s, nothing_left_out, /*as_recorded=*/true);
      if (absl::Status checked = Check(s, nothing_left_out, 0); !checked.ok()) {
        const bool proposal_voided = left_out_.contains(voided_proposal->event_id);
        const bool key_voided = left_out_.contains(voided_key->event_id);
        return absl::DataLossError(absl::StrCat(
            checked.message(), " (checked with the proposal at position ",
            voided_proposal->position, " and the key registered at position ",
            voided_key->position, ", as the rules of the time did, though a correction had voided ",
            proposal_voided && key_voided ? "both"
            : proposal_voided             ? "the proposal"
                                          : "the key's registration",
            " before the signature)"));
      }
      ++verified_after_void_;
    } else if (proposal == nullptr) {
      ++unchecked_;
    } else {
      RETURN_IF_ERROR(Check(s, left_out_, 0));
      if (std::string why = RefusedByRules(s, *proposal, *key, event); !why.empty()) {
        refused_by_rules_.push_back(std::move(why));
      }
      ++verified_;
      s.verified = true;
      signed_decisions_.insert(s.stream);
      for (Key& k : keys_[s.message.key_id()]) {
        if (k.position == key->position) ++k.signatures;
      }
    }
    const size_t index = signatures_.size();
    signatures_by_stream_[s.stream].push_back(index);
    signatures_by_key_[s.message.key_id()].push_back(index);
    signature_by_id_[id] = index;
    signatures_.push_back(std::move(s));
  } else if (IsType<v1::CorrectionRecorded>(event)) {
    v1::CorrectionRecorded m;
    if (!m.ParseFromString(event.payload())) return unreadable();
    std::string corrected = absl::AsciiStrToLower(m.corrected_event_id());
    corrections_.emplace_back(id, corrected);
    correcting_.insert(id);
    absl::flat_hash_set<std::string> changed;
    if (!correcting_.contains(corrected)) {
      // The common case: the newest correction, which nothing names, voids an event that
      // corrects nothing, and no other event's standing changes.
      if (left_out_.insert(corrected).second) changed.insert(corrected);
    } else {
      // A correction of a correction: the events down its chain change standing.
      absl::flat_hash_set<std::string> now = LeftOutEvents(corrections_);
      for (const std::string& e : now) {
        if (!left_out_.contains(e)) changed.insert(e);
      }
      for (const std::string& e : left_out_) {
        if (!now.contains(e)) changed.insert(e);
      }
      left_out_ = std::move(now);
    }
    // The view after this correction: every earlier signature it counts must verify there.
    RETURN_IF_ERROR(CheckAfterCorrection(changed, event.position()));
  }
  return absl::OkStatus();
}

int SignatureAudit::voided() const {
  int n = 0;
  for (const Signature& s : signatures_) n += s.verified && left_out_.contains(s.event_id);
  return n;
}

std::vector<SignatureAudit::KeyUse> SignatureAudit::keys_used() const {
  std::vector<KeyUse> out;
  for (const auto& [key_id, registrations] : keys_) {
    for (const Key& k : registrations) {
      if (k.signatures == 0) continue;
      KeyUse use{key_id, k.registration, k.position, k.actor, k.signatures};
      use.voided = left_out_.contains(k.event_id);
      if (auto it = revocations_.find(key_id); it != revocations_.end()) {
        for (const Revocation& r : it->second) {
          if (left_out_.contains(r.event_id)) continue;
          if (use.revoked_at == 0 || r.effective_micros < use.revoked_from_micros) {
            use.revoked_at = r.position;
            use.revoked_from_micros = r.effective_micros;
          }
        }
      }
      out.push_back(std::move(use));
    }
  }
  return out;
}

}  // namespace govledger::projections
