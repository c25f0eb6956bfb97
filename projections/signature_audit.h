// Re-verifies the signatures of a log's decisions, independently of the daemon that accepted
// them: what an auditor holding only the log (govledger verify, or verify --file on an export)
// can check for themselves.
//
// The hash chain shows that no stored event changed after it was recorded, but whoever holds a
// copy of the log could rewrite it and compute a new chain. They could not sign for the
// signatories: each DecisionSigned's Ed25519 signature must verify over its decision's
// canonical digest (with a declaration of interests, the signature digest:
// decision_digest.h), with the public key its key id was registered with. Both the decision's
// DecisionProposed and the key's SigningKeyRegistered come earlier in the log. The keys used
// are listed, so that the auditor can compare them with the keys the signatories hold.
//
// Only the cryptography is checked, not the ledger's rules (roles, revocation, effective
// times): those held when the ledger accepted each event, and a replay does not re-check them.
// A signature whose key or decision is not in the events given (an export of one stream) is
// counted as unchecked, not as a failure. Thread-compatible.
#ifndef GOVLEDGER_PROJECTIONS_SIGNATURE_AUDIT_H_
#define GOVLEDGER_PROJECTIONS_SIGNATURE_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"

namespace govledger::projections {

class SignatureAudit {
 public:
  struct KeyUse {
    v1::SigningKeyRegistered registration;
    int signatures = 0;  // signatures verified with it
  };

  // Takes the next event of the log (position order); events of other types are passed over.
  // DATA_LOSS naming the event's position, decision and key when a signature does not verify,
  // or a decision event's payload does not parse; the audit stops there.
  absl::Status Add(const v1::Event& event);

  int verified() const { return verified_; }
  int unchecked() const { return unchecked_; }
  // Decisions with at least one verified signature.
  size_t decisions_signed() const;
  // The keys that signed, by key id.
  std::map<std::string, KeyUse> keys_used() const;

 private:
  std::map<std::string, v1::SigningKeyRegistered> keys_;  // by key id, first registration
  // (organisation, reference) -> the canonical digest of its first DecisionProposed, and
  // how many of its signatures verified.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, int>> decisions_;
  std::map<std::string, int> key_signatures_;
  int verified_ = 0;
  int unchecked_ = 0;
};

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_SIGNATURE_AUDIT_H_
