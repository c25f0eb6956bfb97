// Re-verifies the signatures of a log's decisions, independently of the daemon that accepted
// them: what an auditor holding only the log (govledger verify, or verify --file on an export)
// can check for themselves.
//
// The hash chain shows that no stored event changed after it was recorded, but whoever holds a
// copy of the log could rewrite it and compute a new chain. They could not sign for the
// signatories: each DecisionSigned's Ed25519 signature must verify over its decision's
// canonical digest (with a declaration of interests, the signature digest:
// decision_digest.h), with the public key its key id was registered with.
//
// Which decision and which key: those the folds use (GovernanceState), so that no answer counts
// a signature the audit did not verify. A decision is found by its stream (organisation and
// reference slug, as the rules find it: "PCD-72" names "PCD 72"), a key by its id; of the
// DecisionProposed and SigningKeyRegistered events before the signature, the latest one that
// corrections do not void (projections/corrections.h) counts, as in a fold. Corrections
// recorded after a signature can change which one that is: every view of the log is checked,
// as recorded when the signature was (the corrections before it) and after each later
// correction (the last of them: the log as it now stands). In each view where a fold counts the
// signature (it is not voided, its decision and key exist there, and the digest it names, if
// any, is that decision's), it must verify; as recorded, the digest it names, if any, must also
// be its decision's, as the rules required. The keys used are listed, so that the auditor can
// compare them with the keys the signatories hold.
//
// What fails the audit is the cryptography alone, not the ledger's rules (roles, revocation,
// effective times): those held when the ledger accepted each event, and a replay does not
// re-check them. But the signatures the rules now refuse (RefusedByRules: a revoked key's, a
// second by one key, holder or role, and more) are listed for the auditor to judge: a log
// written under an earlier version's rules may hold them, and so may a log rewritten with real
// signatures (a stolen key's, one person's two keys), which tree heads tell apart.
// A signature whose key or decision is not in the events given (an export of one stream) is
// counted as unchecked, not as a failure; but when the events given so far are the whole log
// from position 1, with none missing, and no event before it proposed the decision or
// registered the key, it is a failure: the ledger accepts no such signature, so the log was
// changed after it was written (a signature forged into a rewritten log, say). In the whole
// log, one whose proposal or key a correction had voided before it (a log written before
// 2026-11-30 may hold such; the rules now refuse it) is verified with the latest proposal and
// key before it, voided or not, as the rules of the time checked it, so that a signature forged
// there fails too, and is counted apart: no fold counts it. (In a part of the log it is
// unchecked: the proposal or key a fold counts may come before the part.)
//
// A proposal holding fields or enum values this version does not know (a newer govledger's)
// is checked with the digest this version computes, which leaves them out: a signature made
// over a newer version's digest fails here, its message naming what this version does not
// know, since a proposal changed after signing (with a field added to hide it) fails alike.
// Thread-compatible.
#ifndef GOVLEDGER_PROJECTIONS_SIGNATURE_AUDIT_H_
#define GOVLEDGER_PROJECTIONS_SIGNATURE_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"

namespace govledger::projections {

class SignatureAudit {
 public:
  struct KeyUse {
    std::string key_id;
    v1::SigningKeyRegistered registration;
    uint64_t registered_at = 0;  // its position
    std::string registered_by;   // its actor: who appended the registration
    int signatures = 0;          // signatures verified with it, as recorded
    // Whether a correction voids the registration as the log now stands: the folds then count
    // none of its signatures, and hold that its holder never held the key.
    bool voided = false;
    // The key id's revocation in force as the log now stands (the earliest effective of
    // those no correction voids; GovernanceState): its position and effective time in
    // microseconds, or 0 and 0 when it is not revoked.
    uint64_t revoked_at = 0;
    int64_t revoked_from_micros = 0;
  };

  // Takes the next event of the log (position order); events of other types are passed over,
  // but every event of the log should be given, so that the audit knows when it has the whole
  // log (above). DATA_LOSS naming the position when a signature does not verify in a view
  // where it counts (at the signature's, or at a later correction's, naming the signature's),
  // when the whole log so far holds no decision or key for it, or when a decision event's
  // payload does not parse; the audit stops there.
  absl::Status Add(const v1::Event& event);

  // Signatures verified as recorded, and those whose decision or key is not in the events.
  int verified() const { return verified_; }
  int unchecked() const { return unchecked_; }
  // Signatures of the whole log verified with a proposal or key a correction had voided before
  // them (above), counted in neither verified() nor the keys used: no fold counts them.
  int verified_after_void() const { return verified_after_void_; }
  // Of the signatures verified as recorded, those that the rules now refuse (RefusedByRules),
  // each said, in log order. Not a failure: a log written under an earlier version's rules may
  // hold them. A fold counts none by a revoked key, nor one by a key of another organisation;
  // the others it counts, as the rules of their time took them.
  const std::vector<std::string>& refused_by_rules() const { return refused_by_rules_; }
  // Of the signatures verified as recorded, those a correction now voids (the folds of the log
  // as it stands no longer count them).
  int voided() const;
  // Decisions (streams) with at least one signature verified as recorded.
  size_t decisions_signed() const { return signed_decisions_.size(); }
  // The key registrations that signed, by key id then position, with their revocations: the
  // auditor compares the signatures' dates with them (the rules held none after it).
  std::vector<KeyUse> keys_used() const;

 private:
  struct Proposal {
    uint64_t position;
    std::string event_id;  // lower case
    std::string digest;    // canonical
    // What the digest leaves out (UnknownDecisionContent): named when a signature fails.
    std::string unknown;
    std::vector<std::string> required_roles;
    int64_t effective_micros;  // kUnknownTime when the event has no effective time
  };
  struct Key {
    uint64_t position;
    std::string event_id;
    std::string actor;
    v1::SigningKeyRegistered registration;
    int64_t effective_micros;  // as Proposal's
    int signatures = 0;
  };
  // A decision's rejection or withdrawal.
  struct Outcome {
    uint64_t position;
    std::string event_id;
    const char* what;  // "rejection" or "withdrawal"
  };
  struct Revocation {
    uint64_t position;
    std::string event_id;
    int64_t effective_micros;
  };
  struct Signature {
    uint64_t position;
    std::string event_id;
    std::string stream;
    v1::DecisionSigned message;
    // The (proposal, key) positions it was last verified with, so that a view that changes
    // neither costs no verification.
    uint64_t checked_proposal = 0;
    uint64_t checked_key = 0;
    bool verified = false;  // as recorded
  };

  // The proposal and key a fold counts `s` with in the view that leaves out `left_out`; null
  // when the fold does not count it there. `as_recorded`: the view of the signature's own
  // position, where the digest it names is not compared (Check does).
  std::pair<const Proposal*, const Key*> CountedWith(
      const Signature& s, const absl::flat_hash_set<std::string>& left_out,
      bool as_recorded) const;
  // Verifies `s` in the view `left_out`; `view_position`: 0 for the view as `s` was recorded,
  // else the correction's position.
  absl::Status Check(Signature& s, const absl::flat_hash_set<std::string>& left_out,
                     uint64_t view_position);

  // The rules of who signs, as `s` (verified with `proposal` and `key`, `event` its event) was
  // recorded: its key was not revoked by then, and no signature counted with the same proposal
  // before it has its key, holder (LookAlike) or role; its key is of the decision's
  // organisation (if it names one) and its role required; its key pair is registered under no
  // other key id before it (else one signature would count for two holders or roles); it takes
  // effect no earlier than the proposal and the key's registration; and no rejection or
  // withdrawal of the decision comes between the proposal and it. "" when they hold, else why
  // not, from "position N: ". The ledger now refuses such a signature; an earlier version's rules
  // may have taken it (before 2026-11-30 a holder could sign twice), and a log rewritten with real
  // signatures (a stolen key's, one person's two keys) may hold one.
  std::string RefusedByRules(const Signature& s, const Proposal& proposal, const Key& key,
                             const v1::Event& event) const;
  // Re-checks, in the view after the correction at `position`, the signatures a change to
  // whether the events `changed` are left out can concern.
  absl::Status CheckAfterCorrection(const absl::flat_hash_set<std::string>& changed,
                                    uint64_t position);

  // By decision stream and by key id, in log order.
  absl::flat_hash_map<std::string, std::vector<Proposal>> proposals_;
  std::map<std::string, std::vector<Key>> keys_;
  absl::flat_hash_map<std::string, std::vector<Revocation>> revocations_;
  // By decision stream, in log order.
  absl::flat_hash_map<std::string, std::vector<Outcome>> outcomes_;
  // The key ids registered with each public key, with their registrations' positions and event
  // ids, in log order.
  struct Registered {
    std::string key_id;
    uint64_t position;
    std::string event_id;
  };
  absl::flat_hash_map<std::string, std::vector<Registered>> keys_by_public_key_;
  std::vector<Signature> signatures_;
  // Indexes into signatures_: by decision stream, by key id, by event id.
  absl::flat_hash_map<std::string, std::vector<size_t>> signatures_by_stream_;
  absl::flat_hash_map<std::string, std::vector<size_t>> signatures_by_key_;
  absl::flat_hash_map<std::string, size_t> signature_by_id_;
  // What a proposal or key registration event is of (stream or key id), by event id.
  absl::flat_hash_map<std::string, std::string> proposal_stream_, registration_key_;
  // Every correction so far, (correcting, corrected) lower-case ids in log order, the
  // correcting ids, and the events they leave out of a fold.
  std::vector<std::pair<std::string, std::string>> corrections_;
  absl::flat_hash_set<std::string> correcting_;
  absl::flat_hash_set<std::string> left_out_;
  absl::flat_hash_set<std::string> signed_decisions_;
  int verified_ = 0;
  int unchecked_ = 0;
  int verified_after_void_ = 0;
  std::vector<std::string> refused_by_rules_;
  // Whether the events given so far are positions 1, 2, ... with none missing, and the position
  // the next must have to keep it so.
  bool whole_log_ = true;
  uint64_t next_position_ = 1;
};

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_SIGNATURE_AUDIT_H_
