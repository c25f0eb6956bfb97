#include "cli/query_text.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/table.h"
#include "ledger/common/time.h"
#include "projections/as_at.h"
#include "projections/governance_state.h"
#include "projections/streams.h"

namespace govledger::cli {

std::string ModeText(v1::AsAtMode mode) {
  return mode == v1::AS_AT_MODE_AS_KNOWN ? "as known" : "as recorded";
}

std::string DescribeAsAt(const v1::ResolvedAsAt& as_at, int plan_week) {
  const std::string week = plan_week > 0 ? absl::StrCat("plan week ", plan_week, "; ") : "";
  const std::string folded = absl::StrCat(as_at.events_folded(),
                                          as_at.events_folded() == 1 ? " event" : " events",
                                          " folded");
  if (as_at.mode() == v1::AS_AT_MODE_AS_KNOWN) {
    // Asked at a position, its recorded time: said so, or the instant reads as one asked for.
    const std::string of =
        as_at.time_of_position() > 0
            ? absl::StrCat("the recorded time of position ", as_at.time_of_position(), "; ")
            : "";
    // Unset only at position 0, which has no recorded time: the cut is before any event.
    const std::string at = as_at.has_cut_time()
                               ? absl::StrCat("at ", TimeText(as_at.cut_time(), true), " (")
                               : "before the ledger recorded anything (position 0; ";
    return absl::StrCat("as known ", at, of, week, "log read to position ", as_at.position(), "; ",
                        folded, ")");
  }
  return absl::StrCat(
      "as recorded at position ", as_at.position(), " (",
      as_at.has_cut_time() ? absl::StrCat(TimeText(as_at.cut_time(), true), "; ") : "", week,
      folded, ")");
}

std::string TimeText(const google::protobuf::Timestamp& t, bool set) {
  return set ? FormatRfc3339(ToMicros(t)) : "";
}

std::string ShortType(const std::string& event_type) {
  if (absl::StartsWith(event_type, projections::kGovernanceTypePrefix)) {
    return event_type.substr(projections::kGovernanceTypePrefix.size());
  }
  return event_type;
}

std::string StatedPence(bool stated, int64_t pence) {
  return stated ? projections::FormatPence(pence) : "";
}

std::vector<std::string> PassedItems(const v1::WorkStatus& w) {
  std::vector<std::string> items(w.gates_passed().begin(), w.gates_passed().end());
  for (const std::string& m : w.milestones()) items.push_back(absl::StrCat("milestone ", m));
  return items;
}

std::string SumText(int64_t pence) {
  return pence == std::numeric_limits<int64_t>::max()
             ? absl::StrCat(projections::FormatPence(pence), " or more")
             : projections::FormatPence(pence);
}

namespace {

// How many of `subject`'s benefits have a forecast (or a realisation) recorded without a figure.
int WithoutFigure(const v1::WorkBenefits& subject, bool forecast) {
  int n = 0;
  for (const v1::BenefitEntry& b : subject.benefits()) {
    n += forecast ? b.has_forecast() && !b.forecast_has_amount()
                  : b.has_realised() && !b.realised_has_amount();
  }
  return n;
}

// A subject's sum: "no figure" when its only benefits recorded give none (not "-", which says
// none was recorded).
std::string SubjectText(const v1::WorkBenefits& subject, bool forecast) {
  if (forecast ? subject.forecast_recorded() : subject.realised_recorded()) {
    return SumText(forecast ? subject.forecast_annual_pence() : subject.realised_annual_pence());
  }
  return WithoutFigure(subject, forecast) > 0 ? "no figure" : "";
}

// "£7,650,000.00 a year (and 1 without a figure)", "none recorded (2 without a figure)".
std::string TotalText(const v1::GetBenefitsResponse& benefits, bool forecast) {
  int without = WithoutFigure(benefits.programme(), forecast);
  for (const v1::WorkBenefits& w : benefits.projects()) without += WithoutFigure(w, forecast);
  const bool recorded =
      forecast ? benefits.total_forecast_recorded() : benefits.total_realised_recorded();
  std::string out = recorded
                        ? absl::StrCat(SumText(forecast ? benefits.total_forecast_annual_pence()
                                                        : benefits.total_realised_annual_pence()),
                                       " a year")
                        : "none recorded";
  if (without > 0) {
    absl::StrAppend(&out, " (", recorded ? "and " : "", without, " without a figure)");
  }
  return out;
}

}  // namespace

std::string ForecastText(const v1::WorkBenefits& subject) { return SubjectText(subject, true); }

std::string RealisedText(const v1::WorkBenefits& subject) { return SubjectText(subject, false); }

std::string ForecastTotalText(const v1::GetBenefitsResponse& benefits) {
  return TotalText(benefits, true);
}

std::string RealisedTotalText(const v1::GetBenefitsResponse& benefits) {
  return TotalText(benefits, false);
}

std::string SignatoryText(const v1::DecisionSignature& signature) {
  const std::string& who = signature.holder().empty() ? signature.key_id() : signature.holder();
  // As a word: "Chairman J. Smith" does not name the role "Chair".
  const std::string& role = signature.role();
  if (absl::StartsWith(who, role) && (who.size() == role.size() || who[role.size()] == ' ' ||
                                      who[role.size()] == ',' || who[role.size()] == '(')) {
    return who;
  }
  return absl::StrCat(signature.role(), " (", who, ")");
}

std::string AwaitingText(const v1::DecisionEntry& decision) {
  if (decision.status() != v1::DECISION_STATUS_PENDING) return "";
  return absl::StrJoin(decision.unsigned_roles(), ", ");
}

std::string DecisionAmountText(const v1::DecisionEntry& decision) {
  if (decision.withheld()) return "withheld";
  const auto noted = std::count_if(decision.amounts().begin(), decision.amounts().end(),
                                   [](const v1::DecisionAmount& a) { return a.noted_only(); });
  // Not "£0.00", as if it approved a sum of nothing.
  std::string out = noted == decision.amounts_size()
                        ? "no sum"
                        : projections::FormatPence(projections::CommittedPence(decision.amounts()));
  if (noted > 0) absl::StrAppend(&out, " (+", noted, " noted)");
  return out;
}

std::string DecisionTitleText(const v1::DecisionEntry& decision) {
  if (!decision.withheld()) return decision.title();
  return absl::StrCat("withheld until ", projections::FormatDate(decision.part1_deferred_until()),
                      " (Part 1 deferred)");
}

std::string SplitPeriodText(const v1::PossibleSplit& split) {
  const std::string first =
      FormatRfc3339(ToMicros(split.first_proposed())).substr(0, 10);
  const std::string last =
      FormatRfc3339(ToMicros(split.last_proposed())).substr(0, 10);
  return first == last ? first : absl::StrCat(first, " to ", last);
}

std::vector<std::string> DecisionNotes(const v1::DecisionEntry& d) {
  std::vector<std::string> out;
  if (d.has_proposed_time()) {
    std::string line = absl::StrCat("Proposed effective ", FormatRfc3339(ToMicros(d.proposed_time())));
    if (d.has_approved_time()) {
      absl::StrAppend(&line, "; approved effective ", FormatRfc3339(ToMicros(d.approved_time())),
                      " (its last required signature)");
    }
    out.push_back(std::move(line));
  }
  if (d.status() == v1::DECISION_STATUS_REJECTED || d.status() == v1::DECISION_STATUS_WITHDRAWN) {
    std::string line = d.status() == v1::DECISION_STATUS_REJECTED ? "Rejected" : "Withdrawn";
    if (!d.rejected_by().empty()) absl::StrAppend(&line, " by ", d.rejected_by());
    if (d.has_outcome_time()) {
      absl::StrAppend(&line, " effective ", FormatRfc3339(ToMicros(d.outcome_time())));
    }
    if (!d.outcome_reason().empty()) absl::StrAppend(&line, ": ", d.outcome_reason());
    out.push_back(std::move(line));
  }
  for (int i = 0; i < d.recommendations_size(); ++i) {
    out.push_back(absl::StrCat("Recommendation ", i + 1, ": ", d.recommendations(i)));
  }
  for (const v1::DecisionAmount& a : d.amounts()) {
    std::string line = absl::StrCat(a.noted_only() ? "Noted, not approved: " : "Amount: ",
                                    projections::FormatPence(a.pence()), " ",
                                    AmountKindText(a.kind()), " from ", a.funding_source());
    if (!a.description().empty()) absl::StrAppend(&line, " (", a.description(), ")");
    out.push_back(std::move(line));
  }
  auto statement = [&out](absl::string_view kind, const v1::OfficerStatement& s) {
    std::string who(s.role());
    if (!s.name().empty()) absl::StrAppend(&who, ", ", s.name());
    if (s.has_dated()) absl::StrAppend(&who, ", ", projections::FormatDate(s.dated()));
    out.push_back(absl::StrCat(kind, " (", who, ")", s.statement().empty() ? "" : ": ",
                               s.statement()));
  };
  for (const v1::OfficerStatement& s : d.originating_officer_declarations()) {
    statement("Originating officer", s);
  }
  for (const v1::OfficerStatement& s : d.officer_approvals()) statement("Officer approval", s);
  if (!d.related_decisions().empty()) {
    out.push_back(absl::StrCat("Related decisions: ", absl::StrJoin(d.related_decisions(), ", ")));
  }
  for (const v1::DecisionSignature& s : d.signatures()) {
    out.push_back(
        absl::StrCat("Signed by ", SignatoryText(s),
                     s.has_signed_on()
                         // The paper's date, as the days fell where it was signed;
                         // the effective times above are UTC.
                         ? absl::StrCat(", dated ", projections::FormatDate(s.signed_on()),
                                        " beside the signature")
                         : " (no date written beside the signature)"));
  }
  for (const v1::DecisionSignature& s : d.signatures()) {
    if (!s.has_declaration()) continue;
    out.push_back(absl::StrCat("Interests declared by ", SignatoryText(s), ": ",
                               s.declaration().interests().empty() ? "none recorded"
                                                                   : s.declaration().interests()));
  }
  for (const v1::DelegatedAuthority& a : d.delegated_authorities()) {
    std::string line = absl::StrCat("Delegates authority (", a.delegation_id(), ") to ",
                                    absl::StrJoin(a.delegate_roles(), " and "), ": ", a.scope());
    if (!a.referral_roles().empty()) {
      absl::StrAppend(&line, "; refers back to ", absl::StrJoin(a.referral_roles(), " and "),
                      ": ", a.referral_condition());
    }
    std::vector<std::string> referrals;
    for (const v1::DecisionReferral& r : d.referrals()) {
      if (r.delegation_id() == a.delegation_id()) {
        referrals.push_back(absl::StrCat(r.reference(), " (", DecisionStatusText(r.status()), ")"));
      }
    }
    if (!referrals.empty()) {
      absl::StrAppend(&line, "; referred back so far: ", absl::StrJoin(referrals, ", "));
    }
    out.push_back(std::move(line));
  }
  if (d.has_referred_under()) {
    const std::string& id = d.referred_under().delegation_id();  // withheld from a viewer
    out.push_back(absl::StrCat("Referred back under ", d.referred_under().reference(),
                               "'s delegated authority", id.empty() ? "" : " (", id,
                               id.empty() ? "" : ")"));
  }
  if (d.has_part2()) {
    std::string line = absl::StrCat("Has a confidential Part 2",
                                    d.part2().reason().empty() ? "" : ": ", d.part2().reason());
    if (d.part2().has_publication_deferred_until()) {
      absl::StrAppend(&line, "; its publication deferred until ",
                      projections::FormatDate(d.part2().publication_deferred_until()));
    }
    out.push_back(std::move(line));
  }
  if (d.has_part1_deferred_until()) {
    const std::string until = projections::FormatDate(d.part1_deferred_until());
    out.push_back(d.withheld()
                      ? absl::StrCat("Publication of Part 1 deferred until ", until,
                                     ": its title, amounts and statements are withheld from "
                                     "viewers until then")
                      : absl::StrCat("Publication of Part 1 deferred until ", until,
                                     " (viewers see its content from then)"));
  }
  return out;
}

std::string PositionsText(const google::protobuf::RepeatedPtrField<v1::EventRef>& events) {
  std::vector<uint64_t> positions;
  for (const v1::EventRef& e : events) positions.push_back(e.position());
  return FirstRuns(positions);
}

std::string FirstRuns(const std::vector<uint64_t>& positions) {
  constexpr size_t kRuns = 20;
  const std::vector<std::string> runs = absl::StrSplit(PositionRuns(positions), ", ");
  if (runs.size() <= kRuns) return absl::StrJoin(runs, ", ");
  return absl::StrCat(absl::StrJoin(runs.begin(), runs.begin() + kRuns, ", "), ", ... (the first ",
                      kRuns, " runs of ", positions.size(), " events; --json lists them all)");
}

// "35-56, 60" for positions 35 to 56 and 60, in the order given.
std::string PositionRuns(const std::vector<uint64_t>& positions) {
  std::vector<std::string> runs;
  for (size_t i = 0; i < positions.size();) {
    size_t j = i;
    while (j + 1 < positions.size() && positions[j + 1] == positions[j] + 1) ++j;
    runs.push_back(j == i ? absl::StrCat(positions[i])
                          : absl::StrCat(positions[i], j == i + 1 ? ", " : "-", positions[j]));
    i = j + 1;
  }
  return absl::StrJoin(runs, ", ");
}

namespace {

// `labelled`'s labels grouped by source, in the order each source was first named; those whose
// events name none last, under the empty source, when some events name one (SourceLine).
template <typename Label>
std::vector<std::pair<std::string, std::vector<Label>>> BySource(
    const std::vector<std::pair<std::string, Label>>& labelled) {
  std::vector<std::pair<std::string, std::vector<Label>>> sources;
  std::vector<Label> unsourced;
  for (const auto& [source, label] : labelled) {
    if (source.empty()) {
      unsourced.push_back(label);
      continue;
    }
    auto it = std::find_if(sources.begin(), sources.end(),
                           [&](const auto& s) { return s.first == source; });
    if (it == sources.end()) it = sources.insert(sources.end(), {source, {}});
    it->second.push_back(label);
  }
  if (!sources.empty() && !unsourced.empty()) sources.push_back({"", std::move(unsourced)});
  return sources;
}

// One line of a sources list: "LABELS: SOURCE"; for those that name none (`source` empty),
// "no source named: LABELS", last, so that the list is not read as covering every figure (a
// correction recorded without a source, say), in a shape no source's line has.
std::string SourceLine(absl::string_view prefix, absl::string_view labels,
                       absl::string_view source) {
  return source.empty() ? absl::StrCat(prefix, "no source named: ", labels, "\n")
                        : absl::StrCat(prefix, labels, ": ", source, "\n");
}

}  // namespace

std::string SourcesText(const std::vector<std::pair<std::string, std::string>>& labelled,
                        absl::string_view prefix) {
  std::string out;
  for (const auto& [source, labels] : BySource(labelled)) {
    absl::StrAppend(&out, SourceLine(prefix, absl::StrJoin(labels, ", "), source));
  }
  return out;
}

std::string PositionSourcesText(const std::vector<std::pair<std::string, uint64_t>>& events,
                                absl::string_view prefix) {
  std::string out;
  for (const auto& [source, positions] : BySource(events)) {
    absl::StrAppend(&out, SourceLine(prefix, PositionRuns(positions), source));
  }
  return out;
}

std::string EventSourcesText(const google::protobuf::RepeatedPtrField<v1::EventRef>& events,
                             absl::string_view prefix) {
  std::vector<std::pair<std::string, uint64_t>> labelled;
  for (const v1::EventRef& e : events) labelled.push_back({e.source(), e.position()});
  return PositionSourcesText(labelled, prefix);
}

std::string RiskSourcesText(const v1::GetRiskRegisterResponse& r) {
  // 0: the risk's rating; 1: its closure; 2: its transfer out; 3: the opening of a risk never
  // rated (its rating_source: no rating to name).
  std::vector<std::pair<std::string, std::pair<int, std::string>>> labelled;
  for (const v1::RiskEntry& e : r.risks()) {
    labelled.push_back(
        {e.rating_source(), {e.rating() == v1::RAG_UNSPECIFIED ? 3 : 0, e.risk_id()}});
    if (e.status() == v1::RISK_STATUS_CLOSED) {
      labelled.push_back({e.status_source(), {1, e.risk_id()}});
    } else if (e.status() == v1::RISK_STATUS_TRANSFERRED_OUT) {
      labelled.push_back({e.status_source(), {2, e.risk_id()}});
    }
    // The transfer that gave it its subject (into the programme, or between its own work).
    if (e.status() != v1::RISK_STATUS_TRANSFERRED_OUT &&
        (!e.subject_source().empty() || e.subject().id() != e.opened_against().id() ||
         e.subject().kind() != e.opened_against().kind())) {
      labelled.push_back({e.subject_source(), {2, e.risk_id()}});
    }
  }
  std::string out;
  for (const auto& [source, labels] : BySource(labelled)) {
    std::vector<std::string> ids[4];
    for (const auto& [kind, id] : labels) ids[kind].push_back(id);
    std::vector<std::string> parts;
    const auto every = [&](int kind) {
      return r.risks_size() > 1 && ids[kind].size() == static_cast<size_t>(r.risks_size());
    };
    if (every(0)) {
      parts.push_back("every rating");
    } else if (!ids[0].empty()) {
      parts.push_back(absl::StrCat(ids[0].size() == 1 ? "rating of " : "ratings of ",
                                   absl::StrJoin(ids[0], ", ")));
    }
    if (every(3)) {
      parts.push_back("every opening (no risk rated)");
    } else if (!ids[3].empty()) {
      parts.push_back(absl::StrCat(ids[3].size() == 1 ? "opening of " : "openings of ",
                                   absl::StrJoin(ids[3], ", "), " (unrated)"));
    }
    for (int kind : {1, 2}) {
      if (ids[kind].empty()) continue;
      parts.push_back(absl::StrCat(kind == 1 ? "closure" : "transfer",
                                   ids[kind].size() == 1 ? " of " : "s of ",
                                   absl::StrJoin(ids[kind], ", ")));
    }
    absl::StrAppend(&out, SourceLine("  ", absl::StrJoin(parts, "; "), source));
  }
  return out;
}

std::string DecisionSourcesText(const v1::GetDecisionRegisterResponse& r) {
  std::set<std::string> organisations;
  for (const v1::DecisionEntry& d : r.decisions()) organisations.insert(d.organisation_id());
  std::vector<std::pair<std::string, std::string>> labelled;
  for (const v1::DecisionEntry& d : r.decisions()) {
    const std::string name = organisations.size() > 1
                                 ? absl::StrCat(d.organisation_id(), " ", d.reference())
                                 : d.reference();
    std::vector<std::pair<std::string, std::string>> parts = {{d.proposed_source(), "proposal"}};
    for (const v1::DecisionSignature& s : d.signatures()) {
      parts.push_back({s.source(), absl::StrCat("signed by ", s.role())});
    }
    if (!d.outcome_source().empty()) {
      parts.push_back({d.outcome_source(), d.status() == v1::DECISION_STATUS_REJECTED
                                               ? "rejection"
                                               : "withdrawal"});
    }
    const bool one = std::all_of(parts.begin(), parts.end(),
                                 [&](const auto& p) { return p.first == parts[0].first; });
    if (one) {
      labelled.push_back({parts[0].first, name});
      continue;
    }
    for (const auto& [source, part] : parts) {
      labelled.push_back({source, absl::StrCat(name, " (", part, ")")});
    }
  }
  return SourcesText(labelled);
}

std::string WorkText(const v1::WorkRef& ref) {
  return ref.id().empty() ? "" : projections::Describe(ref);
}

std::string WorkLabel(const v1::WorkRef& ref, const v1::GetProgrammeStatusResponse& status) {
  for (const v1::WorkStatus& w : status.projects()) {
    if (w.ref().id() == status.programme().ref().id()) return WorkText(ref);
  }
  return ref.id();
}

std::string EffectiveWeekText(int reported_week, int effective_week) {
  if (effective_week == 0) return ", the day before week 1 of the plan began";
  if (effective_week == reported_week) return "";
  return absl::StrCat(", which is in week ", effective_week, " of the plan");
}

std::string RatingText(const v1::WorkStatus& w, bool colour) {
  if (!w.rated()) return "";
  std::string out;
  if (w.rag() != v1::RAG_UNSPECIFIED) out = Paint(RagText(w.rag()), RagStyle(w.rag()), colour);
  if (w.delivery_confidence() != v1::DELIVERY_CONFIDENCE_UNSPECIFIED) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "delivery confidence ",
                    Paint(ConfidenceText(w.delivery_confidence()),
                          ConfidenceStyle(w.delivery_confidence()), colour));
  }
  return out;
}

UnratedProjects CountUnratedProjects(const v1::GetProgrammeStatusResponse& r) {
  UnratedProjects out;
  if (r.programme().closed()) return out;  // no project of a closed programme is open
  for (const v1::WorkStatus& w : r.projects()) {
    if (w.closed()) continue;
    if (!w.rated()) {
      ++out.no_report;
    } else if (w.rag() == v1::RAG_UNSPECIFIED &&
               w.delivery_confidence() != v1::DELIVERY_CONFIDENCE_UNSPECIFIED) {
      ++out.confidence_only;
    }
  }
  return out;
}

v1::ScopeChangeKind ScopeChangeKindOf(const v1::ScopeChange& change) {
  if (!change.has_from()) return v1::SCOPE_CHANGE_KIND_ADDED;
  if (!change.has_to()) return v1::SCOPE_CHANGE_KIND_REMOVED;
  return v1::SCOPE_CHANGE_KIND_TRANSFERRED;
}

std::vector<ItemChange> ScopeChangesInLogOrder(const v1::GetScopeMapResponse& map) {
  std::vector<ItemChange> out;
  for (const v1::ScopeItemEntry& item : map.items()) {
    for (const v1::ScopeChange& c : item.changes()) out.push_back({&item, &c});
  }
  std::stable_sort(out.begin(), out.end(), [](const ItemChange& a, const ItemChange& b) {
    return a.change->event().position() < b.change->event().position();
  });
  return out;
}

std::string ScopeChangeText(const v1::ScopeChange& change) {
  switch (ScopeChangeKindOf(change)) {
    case v1::SCOPE_CHANGE_KIND_ADDED:
      return "added";
    case v1::SCOPE_CHANGE_KIND_REMOVED:
      return "removed";
    default:
      return "transferred";
  }
}

std::string ApprovalText(const v1::ScopeChange& change) {
  const v1::Approval& approval = change.approval();
  if (approval.decision_stream().empty()) return approval.board();
  if (change.approval_lapsed().empty()) return approval.decision_stream();
  return absl::StrCat(approval.decision_stream(), " (LAPSED: ", change.approval_lapsed(), ")");
}

std::string AspectLabel(absl::string_view name) {
  static const auto* const kLabels = new std::map<absl::string_view, absl::string_view>{
      {"reported_plan_week", "reported for week"},
      {"planned_weeks", "plan (weeks)"},
      {"sro", "senior responsible owner"},
      {"excluded_scope", "excluded from scope"},
      {"in_scope", "in scope"},
  };
  const auto it = kLabels->find(name);
  return std::string(it == kLabels->end() ? name : it->second);
}

namespace {

using AspectList = google::protobuf::RepeatedPtrField<v1::Aspect>;

// `restated` names an aspect shown even when the event left it as it was ("rating: AMBER (as
// before)"), as a status report that restates its rating.
std::string AspectDifferences(const AspectList& before_list, const AspectList& after_list,
                              absl::string_view restated = "") {
  std::map<std::string, std::string> before, after;
  std::vector<std::string> order;  // aspects in the order the answer gives them
  for (const v1::Aspect& a : before_list) {
    before[a.name()] = a.value();
    order.push_back(a.name());
  }
  for (const v1::Aspect& a : after_list) {
    if (!before.contains(a.name())) order.push_back(a.name());
    after[a.name()] = a.value();
  }
  std::string out;
  for (const std::string& name : order) {
    const auto b = before.find(name);
    const auto a = after.find(name);
    std::string text;
    if (b != before.end() && a != after.end() && b->second == a->second) {
      if (name != restated) continue;
      text = absl::StrCat(AspectLabel(name), ": ", a->second, " (as before)");
    } else if (b == before.end()) {
      text = absl::StrCat(AspectLabel(name), ": ", a->second);
    } else {
      text = absl::StrCat(AspectLabel(name), ": ", b->second, " -> ",
                          a == after.end() ? "none" : a->second);
    }
    absl::StrAppend(&out, out.empty() ? "" : "; ", text);
  }
  return out;
}

}  // namespace

std::string AspectChanges(const v1::EntityChange& change) {
  // A rated status report says the rating, changed or not (EntityChange.restated).
  // (Both sides string_view: "" against a std::string would make a temporary it outlives.)
  const absl::string_view restated =
      change.restated().empty() ? absl::string_view() : absl::string_view(change.restated(0));
  std::string out = AspectDifferences(change.before(), change.after(), restated);
  if (change.after_at_effective_time_size() > 0 &&
      AspectDifferences(change.before(), change.after()).empty()) {
    out = absl::StrCat("none now (a later-effective event stands); at its effective time: ",
                       AspectDifferences(change.before_at_effective_time(),
                                         change.after_at_effective_time(), restated));
  }
  return out;
}

std::string ReplanText(const v1::ReplanEntry& e) {
  const v1::ProgrammeReplanned& p = e.replan();
  std::vector<std::string> changed;
  if (p.planned_weeks() > 0) {
    changed.push_back(absl::StrCat("planned length ", p.planned_weeks(), " weeks"));
  }
  if (!p.senior_responsible_owner().empty()) {
    changed.push_back(absl::StrCat("SRO ", p.senior_responsible_owner()));
  }
  if (!p.board().empty()) changed.push_back(absl::StrCat("board ", p.board()));
  if (p.tranches_size() > 0) {
    changed.push_back(
        absl::StrCat(p.tranches_size(), p.tranches_size() == 1 ? " tranche" : " tranches"));
  }
  if (p.excluded_scope_size() > 0) {
    changed.push_back(absl::StrCat("excluded ", absl::StrJoin(p.excluded_scope(), "; ")));
  }
  if (p.excludes_nothing()) changed.push_back("excluding nothing");
  // The day of its effective time in UTC, said so: a re-plan at 00:30 BST falls the day before.
  std::string out = e.has_effective_time()
                        ? FormatRfc3339(ToMicros(e.effective_time())).substr(0, 10) + " (UTC)"
                        : std::string("date not known");
  absl::StrAppend(&out, ": ", absl::StrJoin(changed, "; "), ". ", p.reason());
  if (!p.approved_by().empty()) absl::StrAppend(&out, " (approved by ", p.approved_by(), ")");
  return out;
}

}  // namespace govledger::cli
