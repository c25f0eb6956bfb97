// Words for the values of QueryService answers (proto/govledger/v1/query.proto), shared by the
// query commands' tables and the report. Pure functions; thread-safe.
#ifndef GOVLEDGER_CLI_QUERY_TEXT_H_
#define GOVLEDGER_CLI_QUERY_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "govledger/v1/query.pb.h"
#include "govledger/v1/report.pb.h"
#include "projections/queries.h"

namespace govledger::cli {

// "as recorded" / "as known".
std::string ModeText(v1::AsAtMode mode);

// How a selector resolved, e.g.
//   "as known at 2016-12-25T23:59:59.999999Z (plan week 86; log read to position 45; 43 events
//   folded)" or "as recorded at position 45 (2026-11-26T14:00:00.500000Z; 43 events folded)".
// `plan_week` is left out when 0.
std::string DescribeAsAt(const v1::ResolvedAsAt& as_at, int plan_week = 0);

// RFC 3339 in UTC ("2016-01-13T12:00:00Z"); "" when unset.
std::string TimeText(const google::protobuf::Timestamp& t, bool set);

// An event type without the "govledger.v1." prefix of governance types.
std::string ShortType(const std::string& event_type);

// The gates a programme or project has passed and the milestones it has reached, in order:
// {"Gate 3", "milestone Investigations go-live"}.
std::vector<std::string> PassedItems(const v1::WorkStatus& w);

// FormatPence ("£1,500,000.00", "£0.00") of a figure the event states, or "" for one it does
// not (which a table shows as "-").
std::string StatedPence(bool stated, int64_t pence);

// A sum the server computed, as FormatPence, marked "or more" when it is held at the largest
// int64 (a sum past about £92 quadrillion is held there rather than wrapping), so that a capped
// figure does not read as exact.
std::string SumText(int64_t pence);

// A subject's forecast (realised) annual sum, or "" (a table's "-") when none of its benefits
// has a forecast (a realised amount) recorded: unknown, which is not nothing.
std::string ForecastText(const v1::WorkBenefits& subject);
std::string RealisedText(const v1::WorkBenefits& subject);
// The forecast (realised) total over an answer's programme and projects, "£7,650,000.00 a
// year", or "none recorded" when no benefit of theirs has one.
std::string ForecastTotalText(const v1::GetBenefitsResponse& benefits);
std::string RealisedTotalText(const v1::GetBenefitsResponse& benefits);

// Who signed: "ROLE (HOLDER)", the key id standing in for an unnamed holder; a holder that
// already starts with the role as a word ("Warwickshire PCC (not named in the paper)") alone.
std::string SignatoryText(const v1::DecisionSignature& signature);

// A decision's amounts: the committed total, and how many amounts it only notes, e.g.
// "£400,000.00 (+1 noted)" (noted amounts are of different kinds and sources, and may include
// the decision's own, so they are not added up; DecisionNotes lists each); "no sum" for a
// decision that approves none (it may note some: "no sum (+1 noted)"); "withheld" for a decision
// withheld from the caller.
std::string DecisionAmountText(const v1::DecisionEntry& decision);
// The roles a pending decision awaits, joined; "" for one approved, rejected or withdrawn (a
// rejected decision awaits nobody, whichever roles never signed).
std::string AwaitingText(const v1::DecisionEntry& decision);
// A decision's title; for one withheld from the caller, "withheld until 2027-01-04 (Part 1
// deferred)".
std::string DecisionTitleText(const v1::DecisionEntry& decision);
// When a possible split's decisions were proposed: "2016-10-03 to 2016-11-20" (one date when
// the same day).
std::string SplitPeriodText(const v1::PossibleSplit& split);
// What a decision's row cannot hold, one line each: when it was proposed and approved, its
// rejection or withdrawal (by whom, when, why), its recommendations, its amounts (kind,
// funding source, description; noted ones as such), the officers' statements on its form, the
// related decisions it names, the dates beside its signatures, the signatories' declarations
// of interests, the authority it delegates and what was referred back under it, that it has a
// confidential Part 2 (why, and any deferral of its publication; never its text), and the
// deferral of Part 1's publication. Empty when it has none of these.
std::vector<std::string> DecisionNotes(const v1::DecisionEntry& decision);

// One re-plan: "2017-01-09: planned length 260 weeks; SRO ACC Local Policing. Re-baselined
// after the week 86 report (approved by Joint Audit Committee)": its effective date ("date not
// known" without one), what it changed (what it left unchanged is not named), why and who
// approved it.
std::string ReplanText(const v1::ReplanEntry& e);

// The positions of `events`, ", "-separated: "39, 40, 46".
// The positions of `events` as FirstRuns gives them.
std::string PositionsText(const google::protobuf::RepeatedPtrField<v1::EventRef>& events);
// "35-56, 60" for `positions` (PositionRuns), at most 20 runs of them, lest a busy ledger's run
// to thousands: "..., 900, ... (the first 20 runs of 3000 events; --json lists them all)".
std::string FirstRuns(const std::vector<uint64_t>& positions);

// "35-56, 60" for positions 35 to 56 and 60, in the order given.
std::string PositionRuns(const std::vector<uint64_t>& positions);

// Sources (Event.source) are long text, often one paper for many facts: listed under a table
// rather than in a column of it. Given (source, label) pairs, a line per source, in the order
// first named, with the labels of its facts in order: "  3, 7, 12: <paper>" (`prefix` begins
// each line). Pairs with an empty source are left out; "" when none is left.
std::string SourcesText(const std::vector<std::pair<std::string, std::string>>& labelled,
                        absl::string_view prefix = "  ");
// SourcesText of events given as (source, position) pairs, labelled by their positions, runs
// of consecutive positions shortened: "  35-56, 60: <paper>".
std::string PositionSourcesText(const std::vector<std::pair<std::string, uint64_t>>& events,
                                absl::string_view prefix = "  ");
std::string EventSourcesText(const google::protobuf::RepeatedPtrField<v1::EventRef>& events,
                             absl::string_view prefix = "  ");
// The sources of a risk register's ratings, closures, transfers out and the transfers that gave
// a risk its subject, a line per source:
// "  LPP-R04, LPP-R05; closures of LPP-R01, LPP-R02; transfer of LPP-R03: <paper>", or
// "every rating" when every risk's rating comes from that source.
std::string RiskSourcesText(const v1::GetRiskRegisterResponse& r);
// The sources of a decision register's decisions, a line per source: "  PCD 72, PCD 73:
// <paper>", or, for a decision whose events name different papers, its parts: "PCD 74
// (proposal)", "PCD 74 (signed by Deputy Mayor)", "(rejection)", "(withdrawal)". References
// are preceded by the organisation when the register has more than one.
std::string DecisionSourcesText(const v1::GetDecisionRegisterResponse& r);

// "programme LPP" / "project LPP-INV"; "" for an unset reference.
std::string WorkText(const v1::WorkRef& ref);

// A programme's or project's id as a status answer's lines name it, "LPP-INV"; WorkText when
// the programme and one of its projects share the id (ids are unique per kind only).
std::string WorkLabel(const v1::WorkRef& ref, const v1::GetProgrammeStatusResponse& status);

// When a report's effective time falls in another plan week than the one it reports for, that
// week, for after its effective time: ", which is in week 86 of the plan" (", the day before
// week 1 of the plan began" in the day's grace before mobilisation); "" when the same.
std::string EffectiveWeekText(int reported_week, int effective_week);

// A programme's or project's current rating, in Compare's words (its "rating" aspect): "AMBER",
// "AMBER, delivery confidence AMBER/RED", "delivery confidence AMBER/RED"; "" when it has no
// report. `colour`: each word painted by its rating.
std::string RatingText(const v1::WorkStatus& w, bool colour = false);

// The open projects of a status answer with no report yet, and those whose current report gives
// a delivery confidence but no RAG rating (together, project_rag_counts' RAG_UNSPECIFIED).
struct UnratedProjects {
  int no_report = 0;
  int confidence_only = 0;
};
UnratedProjects CountUnratedProjects(const v1::GetProgrammeStatusResponse& r);

// The words of the answers' statuses (projections/queries.h).
using projections::AmountKindText;
using projections::DecisionStatusText;
using projections::RiskStatusText;
using projections::ScopeStatusText;
// Added, removed or transferred, from which ends of the change are set; and as text ("added",
// "removed", "transferred").
v1::ScopeChangeKind ScopeChangeKindOf(const v1::ScopeChange& change);
std::string ScopeChangeText(const v1::ScopeChange& change);
// A scope change with the item it belongs to.
struct ItemChange {
  const v1::ScopeItemEntry* item;
  const v1::ScopeChange* change;
};
// The changes of every item of `map` in log order (by their events' positions), pointing into
// `map`.
std::vector<ItemChange> ScopeChangesInLogOrder(const v1::GetScopeMapResponse& map);
// The approving decision stream, else the board; "" when neither. A decision whose approval
// has lapsed since (ScopeChange.approval_lapsed) is followed by "(LAPSED: why)".
std::string ApprovalText(const v1::ScopeChange& change);

// An aspect's name (Aspect.name, CompareDifference.aspect) as a reader reads it: the few named
// after a field ("reported_plan_week", "sro", "excluded_scope") in words ("reported for
// week", "senior responsible owner", "excluded from scope"); others as they are.
std::string AspectLabel(absl::string_view name);

// What an event changed in an entity's state: "name: before -> after" for each aspect that
// differs, "; "-separated ("name: value" when it had no value before, "name: before -> none"
// when it has none after); a status report's rating is there unchanged too, "rating: AMBER (as
// before)". An as-recorded late fact that changed nothing now is
// "none now (a later-effective event stands); at its effective time: " and what it changed then.
std::string AspectChanges(const v1::EntityChange& change);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_QUERY_TEXT_H_
