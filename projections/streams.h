// Stream naming of typed governance events (proto/govledger/v1/events.proto,
// header comment): every entity has its own stream, and a typed event must be
// appended to its entity's stream. Pure functions; thread-safe.
#ifndef GOVLEDGER_PROJECTIONS_STREAMS_H_
#define GOVLEDGER_PROJECTIONS_STREAMS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/events.pb.h"

namespace govledger::projections {

// Prefix of every typed governance event type; types outside it are opaque to
// the rules.
inline constexpr absl::string_view kGovernanceTypePrefix = "govledger.v1.";

// Longest entity identifier (programme, project, risk...) or decision reference, bytes.
inline constexpr size_t kMaxEntityIdLength = 100;

// OK when `id` is 1 to 100 characters from [A-Za-z0-9._:-]; otherwise
// INVALID_ARGUMENT naming `field`.
absl::Status CheckId(absl::string_view field, absl::string_view id);

// OK when `reference` is 1 to 100 characters from [A-Za-z0-9._:/ -], does not
// start or end with
// '/' or ' ', and has no "//".
absl::Status CheckReference(absl::string_view reference);

// The reference with each space replaced by '-': "PCD 72" -> "PCD-72".
std::string ReferenceSlug(absl::string_view reference);

// A decision reference as the rule "references are unique per organisation" compares it
// (references are ASCII: CheckReference): its words, each a run of letters or of digits, in
// lower case, numbers without leading zeros (but for digits after a full stop after a digit:
// "3.01" and "3.1" differ), one space between; punctuation, spacing and where letters meet digits
// only separate them ("PCD 72", "pcd-72", "PCD  72", "PCD72", "PCD.72", "PCD_72" and "PCD 072" are
// one reference, "pcd 72"; "PCD 7 2" is another).
std::string SpellingKey(absl::string_view reference);

// Whether two names (gates' names, keys' holders, roles; well-formed UTF-8) would pass for one
// another, so that the rules "a gate is passed once" and "a holder signs a decision once" hold
// however a name is written: equal once letter case is folded in any script (Unicode's
// NFKC_Casefold, which also composes accents and maps compatibility forms: full-width letters,
// a no-break space), letters that look alike are mapped to one (Unicode's confusable
// skeletons, UTS #39, of the folded text, of the text with its case kept, so that capitals
// alike only as capitals count: Cyrillic "ОВС" and "OBC", and of the text in capitals, so that
// "B0B" and "Bob" count, and so, in any case, do the digits 0 and 1 and the letters o and i:
// "M0" and "Mo", "Tier 1" and "Tier i"), accents and characters that show
// nothing (U+200B) are dropped, and punctuation (hyphens, dashes, full stops, underscores,
// brackets, apostrophes), blanks (U+2800, U+3164) and runs of white space are one space. So
// "Gate 3", "GATE-3", "Gate 3.", "Gate" U+00A0 "3" and Cherokee "Ꮐate 3" are one gate; "José",
// "JOSÉ", "Jose", "José_", "(José)" and "KADİR"/"Kadir" one holder each; and, on the safe side, so
// are "Weiß" and "Weiss", "Kim" and "Kirn" ("m" looks like "rn"), and the digits one and zero
// and the letters that look like them ("Gate 1", "Gate l", "Gate I"; "Gate 0", "Gate O"), but
// not "I" and "L". ICU.
bool LookAlike(absl::string_view a, absl::string_view b);

// Whether `text` (well-formed UTF-8) is in Unicode's composed form, NFC ("é" as one character,
// not "e" and U+0301), in which names are kept so that one is spelled one way. ICU.
bool IsComposed(absl::string_view text);

// The kinds of entity stream, each named by its first segment ("risk/LPP-R07": kRisk, id
// "LPP-R07"; "delegation/<organisation_id>/<rule_id>" and
// "decision/<organisation_id>/<reference slug>" have two segments in their id).
enum class EntityKind { kOrganisation, kProgramme, kProject, kRisk, kScope, kKey, kDelegation, kDecision };
struct EntityStream {
  EntityKind kind;
  absl::string_view id;  // the stream after its kind's "<segment>/", non-empty
};
// The entity `stream` names, by its first segment; nullopt for a stream of no entity kind
// (an opaque event's, or one that is only a segment).
std::optional<EntityStream> ParseEntityStream(absl::string_view stream);

std::string OrganisationStream(absl::string_view organisation_id);
std::string ProgrammeStream(absl::string_view programme_id);
std::string ProjectStream(absl::string_view project_id);
std::string RiskStream(absl::string_view risk_id);
std::string ScopeStream(absl::string_view scope_item_id);
std::string KeyStream(absl::string_view key_id);
std::string DelegationStream(absl::string_view organisation_id,
                             absl::string_view rule_id);
// "decision/<organisation_id>/<ReferenceSlug(reference)>".
std::string DecisionStream(absl::string_view organisation_id,
                           absl::string_view reference);

// programme/<id> or project/<id>. INVALID_ARGUMENT naming `field` for an
// unspecified kind or an illegal id.
absl::StatusOr<std::string> WorkStream(absl::string_view field,
                                       const v1::WorkRef& ref);

// "programme LPP" / "project LPP-INV", for messages; another kind (unset, or a newer
// govledgerd's) as "work of kind N LPP".
std::string Describe(const v1::WorkRef& ref);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_STREAMS_H_
