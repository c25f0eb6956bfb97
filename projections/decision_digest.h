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
//   digest = SHA-256(encoding)                       32 bytes; shown as
//   lower-case hex
//
// kind is "CAPITAL", "REVENUE" or "ONE_OFF" ("UNSPECIFIED" never passes
// validation). Sorting is bytewise. Pure functions; thread-safe.
#ifndef GOVLEDGER_PROJECTIONS_DECISION_DIGEST_H_
#define GOVLEDGER_PROJECTIONS_DECISION_DIGEST_H_

#include <string>

#include "govledger/v1/events.pb.h"

namespace govledger::projections {

// The domain-separation tag that opens the encoding.
inline constexpr char kDecisionDigestTag[] = "govledger.decision.v1";

// The canonical encoding described above.
std::string CanonicalDecisionEncoding(const v1::DecisionProposed& decision);

// SHA-256 of the canonical encoding: 32 raw bytes.
std::string DecisionDigest(const v1::DecisionProposed& decision);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_DECISION_DIGEST_H_
