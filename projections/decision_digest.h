// The canonical encoding of a proposed decision, and its digest: what every
// signatory signs.
//
// Protobuf serialization is not canonical (field order, unknown fields and
// encoders vary), so signatures cover this documented encoding instead; a tool
// in any language can rebuild it. The normative description is in
// ledger/store/FORMAT.md, "Decision digest"; in short:
//
//   F(x)   = BE32(byte length of x) || x            x: UTF-8 text or ASCII
//   L(xs)  = F(decimal count) || F(x1) || F(x2) ...
//   amount = F(kind) F(decimal pence) F(funding_source) F(description)
//   F("approved"|"noted") date   = "YYYY-MM-DD" (zero-padded), or "" when unset
//   encoding = F("govledger.decision.v1") F(organisation_id) F(reference)
//   F(title)
//              L(recommendations, in their order) L(amounts, each amount's
//              bytes, sorted) L(required_signatory_roles, sorted)
//              L(related_decisions, sorted) F(part1_text) F(date
//              part1_deferred_until) F(part2.text) F(part2.reason) F(date
//              part2.publication_deferred_until) F(programme_id)
//              and, only when the decision has officers' statements:
//              F("officers") L(originating_officer_declarations)
//              L(officer_approvals), each statement F(role) F(name)
//              F(statement) F(date dated), in their order
//              and, only when the decision delegates authority or is referred
//              under a delegation: F("delegation") L(delegated_authorities,
//              each F(delegation_id) L(delegate_roles, sorted) F(scope)
//              F(referral_condition) L(referral_roles, sorted), sorted)
//              F(referred_under.reference) F(referred_under.delegation_id)
//   digest = SHA-256(encoding)                       32 bytes; shown as
//   lower-case hex
//
// A signature with a declaration of interests is over the signature digest:
//   SHA-256(F("govledger.signature.v1") F(decision digest, 32 bytes)
//           F(declaration.statement) F(declaration.interests))
//
// kind is "CAPITAL", "REVENUE" or "ONE_OFF" ("UNSPECIFIED" never passes
// validation). Sorting is bytewise. Pure functions; thread-safe.
#ifndef GOVLEDGER_PROJECTIONS_DECISION_DIGEST_H_
#define GOVLEDGER_PROJECTIONS_DECISION_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"
#include "govledger/v1/events.pb.h"

namespace govledger::projections {

// The domain-separation tags that open the encoding, its officers' and
// delegation sections, and the signature digest's encoding.
inline constexpr char kDecisionDigestTag[] = "govledger.decision.v1";
inline constexpr char kOfficersSectionTag[] = "officers";
inline constexpr char kDelegationSectionTag[] = "delegation";
inline constexpr char kSignatureDigestTag[] = "govledger.signature.v1";

// The canonical encoding described above.
std::string CanonicalDecisionEncoding(const v1::DecisionProposed& decision);

// SHA-256 of the canonical encoding: 32 raw bytes.
std::string DecisionDigest(const v1::DecisionProposed& decision);

// What the digest leaves out of `decision`: "" when it covers everything the decision says,
// else an account of the first field (at any depth) this version of govledger does not know,
// or of the first enum value it does not know ("field number 16", "amounts[0].kind value 7").
// Append refuses them, so only a proposal recorded by a newer govledgerd (or stored unchecked
// by one before 2026-12-03) holds one; this version takes no signature for such a proposal,
// since its digest would not cover all it says.
std::string UnknownDecisionContent(const v1::DecisionProposed& decision);

// The signature digest of a decision digest (32 raw bytes) and a signatory's
// declaration of interests: 32 raw bytes.
std::string SignatureDigest(absl::string_view decision_digest,
                            const v1::InterestsDeclaration& declaration);

// What `signature`'s Ed25519 signature is over: the signature digest when it
// carries a declaration, the decision digest itself otherwise.
std::string SignedDigest(absl::string_view decision_digest,
                         const v1::DecisionSigned& signature);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_DECISION_DIGEST_H_
