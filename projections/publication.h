// What a viewer may see of a decision whose publication is deferred (README, "Access
// control").
//
// A decision's Part 1 is its public record, but its publication may be deferred until a date
// (DecisionProposed.part1_deferred_until) when publishing at once would compromise carrying it
// out. Until that date a viewer, the role for those outside the governance bodies, sees that
// the decision exists (reference, programme, status, who signed and when it may be published)
// and nothing of its content. Readers and above see it whole: they read the events themselves.
//
// The decision register withholds them when asked for the published register
// (GetDecisionRegisterRequest.published_only, which the query service sets for a viewer); the
// query service passes a viewer's entity histories through the second function. Pure functions
// of the answer and the current time.
//
// Nor does a viewer see the papers such a decision's events cite (Event.source), wherever
// they are cited (each reads kWithheldSource instead): a source may name the record of decision by
// its title, and the events of other entities (a scope transfer it approved, a programme it set up)
// may cite the same paper. The query service gathers the papers each deferred decision's events
// cite (QueryDeferredCitations, queries.h), keeps them until a decision event is appended, and
// passes every answer a viewer gets, and every published_only answer, through WithholdSources
// with those still unpublished (WithheldSources).
#ifndef GOVLEDGER_PROJECTIONS_PUBLICATION_H_
#define GOVLEDGER_PROJECTIONS_PUBLICATION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/message.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/query.pb.h"
#include "ledger/common/names.h"

namespace govledger::projections {

// The names of a decision's history aspects that concern publication (queries.cc).
inline constexpr char kPart1DeferredAspect[] = "part 1 deferred until";
inline constexpr char kInterestsDeclaredAspect[] = "interests declared";
inline constexpr char kReferredUnderAspect[] = "referred under";
// Who signed for each role: its key, the key's holder and the date beside the signature.
inline constexpr char kSignatoriesAspect[] = "signatories";
// The committed total of its amounts, which a proposal made again may change.
inline constexpr char kAmountAspect[] = "amount";

// Whether Part 1 deferred until `until` is still unpublished at `now_micros`: the date is set
// and its 00:00 UTC is still to come.
bool Unpublished(const v1::Date& until, int64_t now_micros);

// Each unpublished decision of `register_answer` is marked withheld and loses its title,
// amounts, delegation needs, officers' statements, delegated authorities, recommendations,
// related decisions, Part 2's summary, who rejected it and the reason given, its events'
// sources (which may name the record of decision by its title; each reads kWithheldSource),
// its signatures' declarations and the delegation ids of its referrals either way (which name
// its own, or another decision's, delegated authority); its approved amounts leave the spend totals
// (a total left at nothing is removed), and `withheld` counts it. (Possible splits are found among
// the published decisions alone by the query itself, GetDecisionRegisterRequest.published_only,
// which calls this; so is a published decision referred back under a withheld one's delegated
// authority stripped of the delegation id, as it knows the other's deferral.)
void WithholdUnpublished(int64_t now_micros, v1::GetDecisionRegisterResponse* register_answer);

// The papers cited on the stream of a decision whose Part 1 publication is deferred.
struct DeferredCitations {
  std::string stream_id;  // "decision/MOPAC/PCD-72"
  v1::Date part1_deferred_until;
  std::vector<std::string> sources;  // as cited, in log order (repeats kept)
};

// The history of decision stream `stream_id` loses its declarations of interests, its amount,
// the delegation it was referred under, its events' notes and sources (a source
// may name the record of decision by its title; each reads kWithheldSource) and its voided events'
// reasons and sources (reasons: the only content a decision's history shows) while its Part 1 is
// unpublished at `now_micros`, as either its last state shows (the proposal standing at the
// history's cut) or the stream's entry in `deferred` does (at the head: a decision whose proposals
// corrections all void keeps the deferral it was proposed with). Its signatories stay, as the
// register shows them. The history of a decision referred back under the delegated authority
// of one whose Part 1 `deferred` holds unpublished keeps that decision's reference, not the
// delegation id. Other histories are unchanged.
void WithholdUnpublished(int64_t now_micros, const std::vector<DeferredCitations>& deferred,
                         const std::string& stream_id, v1::GetEntityHistoryResponse* history);

// The sources of `deferred` whose date is still to come at `now_micros` (Unpublished): the
// sources a viewer may not see.
absl::flat_hash_set<std::string> WithheldSources(const std::vector<DeferredCitations>& deferred,
                                                 int64_t now_micros);

// What a viewer sees in place of a source withheld from them, so that a withheld paper reads
// apart from none named (an empty source).
inline constexpr char kWithheldSource[] =
    "(withheld: cited for a decision whose Part 1 is not yet published)";
// No source may begin so (ValidateSource): a withheld source is never one a writer recorded.
static_assert(std::string_view(kWithheldSource).starts_with(kWithheldSourcePrefix));
// What a viewer sees in place of a withheld decision's note or reason in its history (a
// rejection's or withdrawal's reason, a correction's), so that it reads apart from none given.
inline constexpr char kWithheldNote[] = "(withheld: Part 1 not yet published)";

// Replaces a source a viewer may not see with kWithheldSource; an empty one (none named) stays.
void WithholdSource(std::string* source);

// Replaces with kWithheldSource, anywhere in `answer` (every message field, repeated or not, at any
// depth), each string field named `source` or `..._source` (Event.source as an answer carries it:
// `source`, `reported_source`, `rating_source`, `proposed_source`, ...; not `funding_source`, which
// names where money comes from) whose value is one of `sources`, the sources a viewer may not
// see. Other fields, and other sources, are unchanged.
void WithholdSources(const absl::flat_hash_set<std::string>& sources,
                     google::protobuf::Message* answer);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_PUBLICATION_H_
