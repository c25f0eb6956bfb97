#include "cli/report.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/query_text.h"
#include "cli/table.h"
#include "projections/governance_state.h"
#include "projections/streams.h"

namespace govledger::cli {
namespace {

// The ratings a report counts projects by, in order; a project without one is counted as
// unrated or rated on delivery confidence only (UnratedProjects).
constexpr v1::Rag kRatings[] = {v1::RAG_GREEN, v1::RAG_AMBER, v1::RAG_RED};
constexpr v1::DeliveryConfidence kConfidences[] = {
    v1::DELIVERY_CONFIDENCE_GREEN, v1::DELIVERY_CONFIDENCE_AMBER_GREEN,
    v1::DELIVERY_CONFIDENCE_AMBER, v1::DELIVERY_CONFIDENCE_AMBER_RED,
    v1::DELIVERY_CONFIDENCE_RED};

using projections::FormatPence;

// kRatings, then the ratings this version does not know (a newer govledgerd's) that `statuses`
// count projects by, so that every open project is in some row.
std::vector<v1::Rag> RatingsIn(
    std::initializer_list<const v1::GetProgrammeStatusResponse*> statuses) {
  std::vector<v1::Rag> out(std::begin(kRatings), std::end(kRatings));
  std::set<v1::Rag> unknown;
  for (const v1::GetProgrammeStatusResponse* s : statuses) {
    for (const v1::RagCount& c : s->project_rag_counts()) {
      if (!v1::Rag_IsValid(c.rag())) unknown.insert(c.rag());
    }
  }
  out.insert(out.end(), unknown.begin(), unknown.end());
  return out;
}

// kConfidences, then those this version does not know that `statuses` count projects by.
std::vector<v1::DeliveryConfidence> ConfidencesIn(
    std::initializer_list<const v1::GetProgrammeStatusResponse*> statuses) {
  std::vector<v1::DeliveryConfidence> out(std::begin(kConfidences), std::end(kConfidences));
  std::set<v1::DeliveryConfidence> unknown;
  for (const v1::GetProgrammeStatusResponse* s : statuses) {
    for (const v1::ConfidenceCount& c : s->project_confidence_counts()) {
      if (!v1::DeliveryConfidence_IsValid(c.delivery_confidence())) {
        unknown.insert(c.delivery_confidence());
      }
    }
  }
  out.insert(out.end(), unknown.begin(), unknown.end());
  return out;
}

int CountOf(const v1::GetProgrammeStatusResponse& s, v1::Rag rag) {
  for (const v1::RagCount& c : s.project_rag_counts()) {
    if (c.rag() == rag) return c.count();
  }
  return 0;
}

int CountOf(const v1::GetProgrammeStatusResponse& s, v1::DeliveryConfidence confidence) {
  for (const v1::ConfidenceCount& c : s.project_confidence_counts()) {
    if (c.delivery_confidence() == confidence) return c.count();
  }
  return 0;
}

// The week a report at this cut speaks for: the latest plan week reported by the programme or
// one of its projects (the last status report folded), else the plan week of the cut.
int ReportWeek(const v1::GetProgrammeStatusResponse& s) {
  int week = s.programme().reported_plan_week();
  for (const v1::WorkStatus& w : s.projects()) week = std::max(week, w.reported_plan_week());
  return week > 0 ? week : s.plan_week();
}

// Whether a status report of the programme or one of its projects was folded.
bool AnyReport(const v1::GetProgrammeStatusResponse& s) {
  if (s.programme().rated()) return true;
  for (const v1::WorkStatus& w : s.projects()) {
    if (w.rated()) return true;
  }
  return false;
}

int OpenProjects(const v1::GetProgrammeStatusResponse& s) {
  int n = 0;
  for (const v1::RagCount& c : s.project_rag_counts()) n += c.count();
  return n;
}

// The programme's rating: "AMBER", "AMBER, delivery confidence AMBER/RED", "delivery
// confidence AMBER/RED" (RatingText), or "not rated".
std::string ProgrammeRating(const v1::WorkStatus& p) {
  const std::string rating = RatingText(p);
  return rating.empty() ? "not rated" : rating;
}

// A project's rating: RatingText, or "unrated".
std::string ProjectRating(const v1::WorkStatus& w) {
  const std::string rating = RatingText(w);
  return rating.empty() ? "unrated" : rating;
}

// A project's rating for the report's table: ProjectRating, or "closed (last GREEN)"; with
// the week it was reported for when that is before `report_week` (the week the point speaks
// for, ReportWeek), so that a project that missed a report does not look freshly rated, and
// the week its effective time is in when that is another (a week typed wrongly, or a report
// dated late), as `status` shows it: "GREEN (week 74)", "closed (last GREEN, week 74)",
// "RED (week 8, effective in week 86)".
std::string ProjectRatingNow(const v1::WorkStatus& w, int report_week) {
  const int week = w.reported_plan_week();
  const bool elsewhere = week > 0 && w.has_reported_time() && w.effective_plan_week() != week;
  std::vector<std::string> notes;
  if (week > 0 && (week < report_week || elsewhere)) notes.push_back(absl::StrCat("week ", week));
  if (elsewhere) {
    notes.push_back(w.effective_plan_week() == 0
                        ? std::string("effective before week 1")
                        : absl::StrCat("effective in week ", w.effective_plan_week()));
  }
  if (w.closed()) {
    notes.insert(notes.begin(), absl::StrCat("last ", ProjectRating(w)));
    return absl::StrCat("closed (", absl::StrJoin(notes, ", "), ")");
  }
  return notes.empty() ? ProjectRating(w)
                       : absl::StrCat(ProjectRating(w), " (", absl::StrJoin(notes, ", "), ")");
}

std::map<std::string, const v1::WorkStatus*> ProjectsById(const v1::GetProgrammeStatusResponse& s) {
  std::map<std::string, const v1::WorkStatus*> out;
  for (const v1::WorkStatus& w : s.projects()) out[w.ref().id()] = &w;
  return out;
}

std::vector<const v1::RiskEntry*> RedRisks(const v1::GetRiskRegisterResponse& r) {
  std::vector<const v1::RiskEntry*> out;
  for (const v1::RiskEntry& e : r.risks()) {
    if (e.status() == v1::RISK_STATUS_OPEN && e.rating() == v1::RAG_RED) out.push_back(&e);
  }
  return out;
}

const std::string& RiskText(const v1::RiskEntry& e) {
  return e.description().empty() ? e.title() : e.description();
}

// Projects closed at `current` that were not closed (or not registered) at `previous`.
std::vector<const v1::WorkStatus*> ClosedSince(const ReportInputs& in) {
  const auto before = ProjectsById(in.previous.status);
  std::vector<const v1::WorkStatus*> out;
  for (const v1::WorkStatus& w : in.current.status.projects()) {
    const auto b = before.find(w.ref().id());
    if (w.closed() && (b == before.end() || !b->second->closed())) out.push_back(&w);
  }
  return out;
}

// A project's annual benefits confirmed at closure, from a benefits answer; none when its
// closure does not state them.
std::optional<int64_t> ClosureBenefits(const v1::GetBenefitsResponse& b,
                                       const std::string& project_id) {
  for (const v1::WorkBenefits& w : b.projects()) {
    if (w.subject().id() == project_id && w.has_closure_annual_benefits_pence()) {
      return w.closure_annual_benefits_pence();
    }
  }
  return std::nullopt;
}

// The scope changes between the two points, in log order: those of the current scope map whose
// event is one of the events Compare lists between the points, and earlier ones (in the
// previous point's scope map too) whose approval has lapsed since (a correction took away the
// approving decision's approval: the change now stands on an approval the record no longer
// holds). A change after the previous point that Compare does not list (another holder's, of an
// item the programme passed on) is not the report's.
struct ScopeChangeSince {
  ItemChange change;
  bool earlier = false;  // recorded before the previous point: listed for its lapse since
};
std::vector<ScopeChangeSince> ScopeChangesSince(const ReportInputs& in) {
  std::set<uint64_t> between;
  for (const v1::EventRef& e : in.compare.events()) between.insert(e.position());
  std::set<uint64_t> earlier, lapsed_before;
  for (const auto& [item, change] : ScopeChangesInLogOrder(in.previous.scope)) {
    earlier.insert(change->event().position());
    if (!change->approval_lapsed().empty()) lapsed_before.insert(change->event().position());
  }
  std::vector<ScopeChangeSince> out;
  for (const ItemChange& c : ScopeChangesInLogOrder(in.current.scope)) {
    const uint64_t position = c.change->event().position();
    if (between.contains(position)) {
      out.push_back({c, false});
    } else if (!c.change->approval_lapsed().empty() && earlier.contains(position) &&
               !lapsed_before.contains(position)) {
      out.push_back({c, true});
    }
  }
  return out;
}

std::map<std::pair<std::string, std::string>, const v1::DecisionEntry*> DecisionsByKey(
    const v1::GetDecisionRegisterResponse& r) {
  std::map<std::pair<std::string, std::string>, const v1::DecisionEntry*> out;
  for (const v1::DecisionEntry& d : r.decisions()) out[{d.organisation_id(), d.reference()}] = &d;
  return out;
}

v1::ClosedProject ClosedProjectOf(const v1::WorkStatus& w, const v1::GetBenefitsResponse& b) {
  v1::ClosedProject out;
  out.set_project_id(w.ref().id());
  out.set_name(w.name());
  if (const std::optional<int64_t> benefits = ClosureBenefits(b, w.ref().id())) {
    out.set_annual_benefits_pence(*benefits);
  }
  return out;
}

v1::ReportPoint PointOf(const ReportPoint& p) {
  v1::ReportPoint out;
  *out.mutable_as_at() = p.status.as_at();
  out.set_plan_week(p.status.plan_week());
  out.set_report_week(ReportWeek(p.status));
  out.set_planned_weeks(p.status.planned_weeks());
  *out.mutable_programme() = p.status.programme();
  for (v1::Rag rag : RatingsIn({&p.status})) {
    v1::RagCount* count = out.add_projects_by_rating();
    count->set_rag(rag);
    count->set_count(CountOf(p.status, rag));
  }
  const UnratedProjects unrated = CountUnratedProjects(p.status);
  out.set_projects_unrated(unrated.no_report);
  out.set_projects_delivery_confidence_only(unrated.confidence_only);
  for (v1::DeliveryConfidence c : ConfidencesIn({&p.status})) {
    v1::ConfidenceCount* count = out.add_projects_by_delivery_confidence();
    count->set_delivery_confidence(c);
    count->set_count(CountOf(p.status, c));
  }
  out.set_open_risks(p.risks.open());
  out.set_red_risks(p.risks.open_red());
  for (const v1::RiskEntry* e : RedRisks(p.risks)) *out.add_red_risk_list() = *e;
  for (const v1::WorkStatus& w : p.status.projects()) {
    *out.add_projects() = w;
    if (w.closed()) *out.add_closed_projects() = ClosedProjectOf(w, p.benefits);
  }
  out.set_forecast_annual_pence(p.benefits.total_forecast_annual_pence());
  out.set_forecast_recorded(p.benefits.total_forecast_recorded());
  out.set_realised_annual_pence(p.benefits.total_realised_annual_pence());
  out.set_realised_recorded(p.benefits.total_realised_recorded());
  *out.mutable_decisions() = p.decisions.decisions();
  *out.mutable_possible_splits() = p.decisions.possible_splits();
  return out;
}

// The re-plans in effect at `current` and not at `previous` (a correction may have voided one
// in effect then), in the order they took effect.
std::vector<const v1::ReplanEntry*> ReplansSince(const ReportInputs& in) {
  std::set<std::string> then;
  for (const v1::ReplanEntry& e : in.previous.status.replans()) then.insert(e.SerializeAsString());
  std::vector<const v1::ReplanEntry*> out;
  for (const v1::ReplanEntry& e : in.current.status.replans()) {
    if (!then.contains(e.SerializeAsString())) out.push_back(&e);
  }
  return out;
}

// The programme, then its projects.
std::vector<const v1::WorkStatus*> WorksOf(const v1::GetProgrammeStatusResponse& status) {
  std::vector<const v1::WorkStatus*> out = {&status.programme()};
  for (const v1::WorkStatus& w : status.projects()) out.push_back(&w);
  return out;
}

}  // namespace

// A point asked as known at a week or date of the plan whose latest status report is for
// another week: an earlier one, or a later one sent within a day's allowance before that week
// began. The title then names the week asked about (it would otherwise name only the report's
// week, a week-84 report read as the week-74 one, or a week-88 one as week 87's).
bool OtherThanItsReport(const v1::GetProgrammeStatusResponse& s) {
  return s.as_at().mode() == v1::AS_AT_MODE_AS_KNOWN && s.plan_week() != ReportWeek(s);
}

// The title's words for one point: `reported` ("update at", "last reported at") when its
// latest report is for the week asked about, else `asked` ("update at", "last time") and
// `none` ("yet", "then") when no report was folded.
std::string PointTitle(const v1::GetProgrammeStatusResponse& s, absl::string_view reported,
                       absl::string_view asked, absl::string_view none) {
  if (!AnyReport(s)) {
    const std::string ended =
        s.planned_weeks() > 0 && ReportWeek(s) > s.planned_weeks()
            ? absl::StrCat("; the plan of ", s.planned_weeks(), " weeks has ended")
            : "";
    return absl::StrCat(asked, " plan week ", ReportWeek(s), " (no rated status report ", none,
                        ended, ")");
  }
  if (OtherThanItsReport(s)) {
    return absl::StrCat(asked, " week ", s.plan_week(), " (latest status report for week ",
                        ReportWeek(s), ")");
  }
  // As recorded (the head, by default) at a point in another plan week than the report's: the
  // title says it is the latest report the ledger held there (a panel member read "update at
  // week 86" beside "plan week 606", the week of the head's recording).
  if (s.as_at().mode() == v1::AS_AT_MODE_AS_RECORDED && s.plan_week() != ReportWeek(s)) {
    return absl::StrCat(reported, " week ", ReportWeek(s),
                        " (the latest status report at position ", s.as_at().position(), ")");
  }
  return absl::StrCat(reported, " week ", ReportWeek(s));
}

std::string ReportMarkdown(const ReportInputs& in) {
  const ReportPoint& now = in.current;
  const ReportPoint& then = in.previous;
  const v1::WorkStatus& programme = now.status.programme();
  const std::string now_title = PointTitle(now.status, "update at", "update at", "yet");
  const std::string then_title =
      in.registered_since ? "since before its registration"
                          : PointTitle(then.status, "last reported at", "last time", "then");
  std::string out = absl::StrCat(
      "# ", MarkdownText(programme.name().empty() ? in.programme_id : programme.name()), " (",
      in.programme_id, "): ", now_title, ", ", then_title, "\n\n");
  absl::StrAppend(&out, "- Now: ", DescribeAsAt(now.status.as_at(), now.status.plan_week()),
                  "\n- Last time: ", DescribeAsAt(then.status.as_at(), then.status.plan_week()),
                  in.registered_since ? ": the programme was not yet registered" : "", "\n");

  // Rating.
  const std::string rating_now = ProgrammeRating(programme);
  const std::string rating_then = ProgrammeRating(then.status.programme());
  // The week of the programme's own report, not the heading's (a project's may be later).
  // With the week its effective time is in when that is another (a report for week 2 made at
  // 00:30 BST on its Monday is in week 1, UTC), as `status` and the projects' table say.
  auto reported = [](const v1::WorkStatus& w) {
    if (w.reported_plan_week() <= 0) return std::string();
    const bool elsewhere =
        w.has_reported_time() && w.effective_plan_week() != w.reported_plan_week();
    return absl::StrCat(", as reported for week ", w.reported_plan_week(),
                        !elsewhere ? ""
                        : w.effective_plan_week() == 0
                            ? " (effective before week 1)"
                            : absl::StrCat(" (effective in week ", w.effective_plan_week(), ")"));
  };
  absl::StrAppend(&out, "\n## Rating\n\nThe programme is ", rating_now, reported(programme),
                  in.registered_since           ? " (not registered last time)"
                  : rating_now == rating_then ? ", unchanged since last time"
                                              : absl::StrCat(" (last time: ", rating_then,
                                                             reported(then.status.programme()),
                                                             ")"),
                  ".");
  if (programme.closed()) {
    const int open = now.risks.open();
    absl::StrAppend(&out, " The programme is closed",
                    open == 0 ? ""
                              : absl::StrCat(", with ", open, open == 1 ? " risk" : " risks",
                                             " still open against it or its projects"),
                    ".");
  }
  absl::StrAppend(&out, "\n");
  if (!programme.commentary().empty()) {
    absl::StrAppend(&out, "\n> ", MarkdownText(programme.commentary()), "\n");
  }
  if (programme.has_update()) {  // its latest report without a rating
    const v1::StatusUpdate& u = programme.update();
    absl::StrAppend(&out, "\nIts latest progress update (a report without a rating) is for week ",
                    u.plan_week(),
                    u.has_reported_time()
                        ? absl::StrCat(", effective ", FormatRfc3339(ToMicros(u.reported_time())),
                                       EffectiveWeekText(u.plan_week(), u.effective_plan_week()))
                        : "",
                    ":\n\n> ", MarkdownText(u.commentary()), "\n");
  }

  // The plan, when re-planned since last time, or its length changed all the same (a re-plan
  // in effect last time that a correction has voided since).
  const std::vector<const v1::ReplanEntry*> replans = ReplansSince(in);
  const int weeks = now.status.planned_weeks(), weeks_then = then.status.planned_weeks();
  if (replans.empty() && weeks_then != 0 && weeks != weeks_then) {
    absl::StrAppend(&out, "\n## Plan\n\nThe plan is of ", weeks, " weeks (", weeks_then,
                    " last time): no re-plan since; one in effect last time has been voided by a "
                    "correction since (see the changes below).\n");
  }
  if (!replans.empty()) {
    // A length unchanged is said so: "a plan of 170 weeks" alone read as if the re-plan had
    // set it (a clerk's find, whose re-plan moved tranches only).
    absl::StrAppend(&out, "\n## Plan\n\nRe-planned since last time: ",
                    weeks_then == weeks ? absl::StrCat("the plan is still of ", weeks, " weeks")
                    : weeks_then == 0
                        ? absl::StrCat("a plan of ", weeks, " weeks")
                        : absl::StrCat("a plan of ", weeks, " weeks (", weeks_then, " last time)"),
                    ".\n\n");
    for (const v1::ReplanEntry* e : replans) {
      absl::StrAppend(&out, "- ", MarkdownText(ReplanText(*e)), "\n");
    }
  }

  // Projects by rating.
  Table counts({"RATING", "NOW", "LAST TIME"});
  counts.AlignRight(1);
  counts.AlignRight(2);
  for (v1::Rag rag : RatingsIn({&now.status, &then.status})) {
    counts.AddRow({RagText(rag), absl::StrCat(CountOf(now.status, rag)),
                   absl::StrCat(CountOf(then.status, rag))});
  }
  // Rows that are 0 at both points are left out from here.
  auto add_row = [&](const std::string& name, int n, int p) {
    if (n != 0 || p != 0) counts.AddRow({name, absl::StrCat(n), absl::StrCat(p)});
  };
  const UnratedProjects unrated_now = CountUnratedProjects(now.status);
  const UnratedProjects unrated_then = CountUnratedProjects(then.status);
  add_row("unrated", unrated_now.no_report, unrated_then.no_report);
  add_row("delivery confidence only", unrated_now.confidence_only, unrated_then.confidence_only);
  counts.AddRow({"open projects", absl::StrCat(OpenProjects(now.status)),
                 absl::StrCat(OpenProjects(then.status))});
  // Apart: a project may have both a rating and a delivery confidence, so these rows do not
  // add up to the open projects.
  Table confidences({"DELIVERY CONFIDENCE", "NOW", "LAST TIME"});
  confidences.AlignRight(1);
  confidences.AlignRight(2);
  for (v1::DeliveryConfidence c : ConfidencesIn({&now.status, &then.status})) {
    const int n = CountOf(now.status, c), p = CountOf(then.status, c);
    if (n != 0 || p != 0) confidences.AddRow({ConfidenceText(c), absl::StrCat(n), absl::StrCat(p)});
  }
  Table projects({"PROJECT", "NAME", "NOW", "LAST TIME"});
  const auto before = ProjectsById(then.status);
  for (const v1::WorkStatus& w : now.status.projects()) {
    const auto b = before.find(w.ref().id());
    projects.AddRow({w.ref().id(), w.name(), ProjectRatingNow(w, ReportWeek(now.status)),
                     b == before.end() ? "not registered"
                                       : ProjectRatingNow(*b->second, ReportWeek(then.status))});
  }
  absl::StrAppend(&out, "\n## Projects by rating\n\n");
  if (now.status.projects().empty()) {  // a project once registered is listed for good
    absl::StrAppend(&out, "The programme has no projects.\n");
  } else {
    absl::StrAppend(&out, "Open projects:\n\n", counts.RenderMarkdown(), "\n");
    if (confidences.rows() > 0) {
      absl::StrAppend(
          &out, "Open projects by delivery confidence (a project may have a rating too):\n\n",
          confidences.RenderMarkdown(), "\n");
    }
    absl::StrAppend(&out, projects.RenderMarkdown());
  }

  // Gates and milestones: each one passed by now, those passed since last time marked.
  std::map<std::string, std::set<std::string>> passed_then;
  for (const v1::WorkStatus* w : WorksOf(then.status)) {
    for (std::string& item : PassedItems(*w))
      passed_then[WorkText(w->ref())].insert(std::move(item));
  }
  std::string passed;
  for (const v1::WorkStatus* w : WorksOf(now.status)) {
    for (const std::string& item : PassedItems(*w)) {
      absl::StrAppend(
          &passed, "- ", MarkdownText(absl::StrCat(WorkLabel(w->ref(), now.status), ": ", item)),
          passed_then[WorkText(w->ref())].contains(item) ? "" : " (since last time)", "\n");
    }
  }
  if (!passed.empty()) absl::StrAppend(&out, "\n## Gates and milestones\n\n", passed);

  // Risks. "0 red" alone would read as assessed and none red: the unrated are counted apart.
  auto unrated_risks = [](const v1::GetRiskRegisterResponse& r) {
    int32_t n = 0;
    for (const v1::RagCount& c : r.open_by_rating()) {
      if (c.rag() == v1::RAG_UNSPECIFIED) n += c.count();
    }
    return n;
  };
  const int32_t risks_unrated_now = unrated_risks(now.risks),
                risks_unrated_then = unrated_risks(then.risks);
  absl::StrAppend(&out, "\n## Risks\n\n", now.risks.open(),
                  now.risks.open() == 1 ? " open risk (" : " open risks (", then.risks.open(),
                  " last time), of which ", now.risks.open_red(), " red (", then.risks.open_red(),
                  " last time)");
  if (risks_unrated_now > 0 || risks_unrated_then > 0) {
    absl::StrAppend(&out, " and ", risks_unrated_now, " not rated (", risks_unrated_then,
                    " last time)");
  }
  absl::StrAppend(&out, ".\n");
  const std::vector<const v1::RiskEntry*> red = RedRisks(now.risks);
  if (!red.empty()) {
    Table t({"RISK", "AGAINST", "OWNER", "DESCRIPTION"});
    for (const v1::RiskEntry* e : red) {
      t.AddRow({e->risk_id(), WorkText(e->subject()), e->owner(), RiskText(*e)});
    }
    absl::StrAppend(&out, "\nRed risks now:\n\n", t.RenderMarkdown());
  }
  Table risk_changes({"RISK", "CHANGE", "BEFORE", "AFTER", "EVENTS"});
  for (const v1::Difference& d : in.compare.differences()) {
    const std::optional<projections::EntityStream> entity =
        projections::ParseEntityStream(d.entity());
    if (!entity || entity->kind != projections::EntityKind::kRisk) continue;
    risk_changes.AddRow({std::string(entity->id), AspectLabel(d.aspect()), d.before(), d.after(),
                         PositionsText(d.events())});
  }
  if (risk_changes.rows() > 0) {
    absl::StrAppend(&out, "\nRisks opened, closed, transferred or re-rated since last time:\n\n",
                    risk_changes.RenderMarkdown());
  }

  // Projects closed and their savings.
  absl::StrAppend(&out, "\n## Projects closed since last time\n\n");
  const std::vector<const v1::WorkStatus*> closed = ClosedSince(in);
  if (closed.empty()) {
    absl::StrAppend(&out, "None.\n");
  } else {
    Table t({"PROJECT", "NAME", "LAST RATING", "ANNUAL BENEFITS AT CLOSURE"});
    t.AlignRight(3);
    int64_t total = 0;
    size_t unstated = 0;  // closures that do not state their benefits: not £0.00
    for (const v1::WorkStatus* w : closed) {
      const std::optional<int64_t> benefits = ClosureBenefits(now.benefits, w->ref().id());
      if (benefits) total = projections::AddPence(total, *benefits);
      if (!benefits) ++unstated;
      t.AddRow({w->ref().id(), w->name(), ProjectRating(*w),
                benefits ? FormatPence(*benefits) : "not stated"});
    }
    absl::StrAppend(&out, t.RenderMarkdown(), "\n", closed.size(),
                    closed.size() == 1 ? " project" : " projects", " closed");
    if (unstated == closed.size()) {
      absl::StrAppend(&out, unstated == 1 ? "; its closure does not state its benefits.\n"
                                          : "; their closures do not state their benefits.\n");
    } else {
      absl::StrAppend(&out, ", with ", SumText(total), " a year of benefits confirmed at closure",
                      unstated == 0 ? ""
                                    : absl::StrCat(" (", unstated,
                                                   unstated == 1 ? " closure does" : " closures do",
                                                   " not state them)"),
                      ".\n");
    }
  }

  // Forecast savings.
  std::map<std::string, const v1::WorkBenefits*> benefits_then;
  for (const v1::WorkBenefits& w : then.benefits.projects()) benefits_then[w.subject().id()] = &w;
  Table savings({"SUBJECT", "FORECAST A YEAR", "LAST TIME", "REALISED A YEAR"});
  for (size_t c = 1; c <= 3; ++c) savings.AlignRight(c);
  std::vector<const v1::WorkBenefits*> subjects = {&now.benefits.programme()};
  for (const v1::WorkBenefits& w : now.benefits.projects()) subjects.push_back(&w);
  for (const v1::WorkBenefits* w : subjects) {
    const v1::WorkBenefits* b = nullptr;
    if (w->subject().kind() == v1::WORK_KIND_PROGRAMME) {
      b = &then.benefits.programme();
    } else if (auto it = benefits_then.find(w->subject().id()); it != benefits_then.end()) {
      b = it->second;
    }
    // "-" where nothing was recorded: unknown, not nothing.
    const std::string forecast_then = b == nullptr ? "" : ForecastText(*b);
    const std::string forecast = ForecastText(*w), realised = RealisedText(*w);
    if (forecast.empty() && realised.empty() && forecast_then.empty()) continue;
    savings.AddRow({WorkText(w->subject()), forecast, forecast_then, realised});
  }
  absl::StrAppend(&out, "\n## Forecast savings\n\n");
  if (savings.rows() > 0) absl::StrAppend(&out, savings.RenderMarkdown(), "\n");
  absl::StrAppend(&out, "Forecast ", ForecastTotalText(now.benefits), " (",
                  ForecastTotalText(then.benefits), " last time); realised ",
                  RealisedTotalText(now.benefits), ".\n");

  // Scope changes.
  absl::StrAppend(&out, "\n## Scope changes since last time\n\n");
  const std::vector<ScopeChangeSince> scope = ScopeChangesSince(in);
  if (scope.empty()) {
    absl::StrAppend(&out, "None.\n");
  } else {
    Table t({"ITEM", "CHANGE", "FROM", "TO", "BASELINE", "BENEFITS", "REASON", "APPROVAL"});
    t.AlignRight(4);
    t.AlignRight(5);
    for (const auto& [c, earlier] : scope) {
      t.AddRow(
          {c.item->title().empty() || c.item->title() == c.item->scope_item_id()
               ? c.item->scope_item_id()
               : absl::StrCat(c.item->scope_item_id(), ": ", c.item->title()),
           earlier ? absl::StrCat(ScopeChangeText(*c.change), " at position ",
                                  c.change->event().position(),
                                  ", before last time: its approval has lapsed since")
                   : ScopeChangeText(*c.change),
           WorkText(c.change->from()), WorkText(c.change->to()),
           StatedPence(c.change->has_baseline_change_pence(), c.change->baseline_change_pence()),
           StatedPence(c.change->has_benefit_change_pence(), c.change->benefit_change_pence()),
           c.change->reason(), ApprovalText(*c.change)});
    }
    absl::StrAppend(&out, t.RenderMarkdown());
  }

  // Decisions.
  absl::StrAppend(&out, "\n## Decisions\n\n");
  if (now.decisions.decisions_size() == 0) {
    absl::StrAppend(&out, "No decisions concern ", in.programme_id, ".\n");
  } else {
    const auto decisions_then = DecisionsByKey(then.decisions);
    Table t({"ORGANISATION", "REFERENCE", "TITLE", "NOW", "LAST TIME", "AMOUNT", "AWAITING"});
    t.AlignRight(5);
    for (const v1::DecisionEntry& d : now.decisions.decisions()) {
      const auto b = decisions_then.find({d.organisation_id(), d.reference()});
      t.AddRow(
          {d.organisation_id(), d.reference(), DecisionTitleText(d), DecisionStatusText(d.status()),
           b == decisions_then.end() ? "not proposed" : DecisionStatusText(b->second->status()),
           DecisionAmountText(d), AwaitingText(d)});
    }
    absl::StrAppend(&out, t.RenderMarkdown());
    for (const v1::DecisionEntry& d : now.decisions.decisions()) {
      const std::vector<std::string> notes = DecisionNotes(d);
      if (notes.empty()) continue;
      absl::StrAppend(&out, "\n", MarkdownText(absl::StrCat(d.organisation_id(), " ", d.reference())),
                      ":\n\n");
      for (const std::string& line : notes) absl::StrAppend(&out, "- ", MarkdownText(line), "\n");
    }
    for (const v1::PossibleSplit& split : now.decisions.possible_splits()) {
      absl::StrAppend(
          &out, "\n",
          MarkdownText(absl::StrCat(
              "Possible split of ", split.organisation_id(), " ", split.rule_id(), " (",
              projections::FormatPence(split.threshold_pence()), " and above needs ",
              split.role(), "): ", absl::StrJoin(split.references(), ", "), ", ",
              SumText(split.total_pence()), " together, proposed ",
              SplitPeriodText(split), ", none needing that role.")),
          "\n");
    }
  }

  // Every difference.
  absl::StrAppend(
      &out, "\n## Changes and the events behind them\n\n", in.compare.events_size(),
      in.compare.events_size() == 1 ? " event tells" : " events tell",
      " the two points apart for the programme, its projects, decisions, risks or scope "
      "items");
  // The table cites only the events behind a difference: say what the others are, so that the
  // count and the table's positions are not read as disagreeing.
  std::set<uint64_t> cited;
  for (const v1::Difference& d : in.compare.differences()) {
    for (const v1::EventRef& e : d.events()) cited.insert(e.position());
  }
  if (in.compare.events_size() > 0 && cited.size() < static_cast<size_t>(in.compare.events_size())) {
    // The others by kind ("ProjectClosed at 36, 112; CorrectionRecorded at 110"), kinds in the
    // order of their first event.
    std::vector<std::pair<std::string, std::vector<uint64_t>>> by_kind;
    size_t others = 0;
    for (const v1::EventRef& e : in.compare.events()) {
      if (cited.contains(e.position())) continue;
      ++others;
      absl::string_view kind = e.event_type();
      absl::ConsumePrefix(&kind, "govledger.v1.");
      auto it = std::find_if(by_kind.begin(), by_kind.end(),
                             [&](const auto& k) { return k.first == kind; });
      if (it == by_kind.end()) it = by_kind.insert(by_kind.end(), {std::string(kind), {}});
      it->second.push_back(e.position());
    }
    std::vector<std::string> kinds;
    for (const auto& [kind, positions] : by_kind) {
      kinds.push_back(absl::StrCat(MarkdownText(kind), " at ", FirstRuns(positions)));
    }
    absl::StrAppend(
        &out, "; ",
        !cited.empty() ? absl::StrCat(cited.size(),
                                      cited.size() == 1 ? " of them explains" : " of them explain",
                                      " the differences below, and ", others,
                                      others == 1 ? " changes nothing" : " change nothing")
        : others == 1  ? "it changes nothing"
                       : "none of them changes anything",
        " the answers show: ", absl::StrJoin(kinds, "; "),
        ". Such an event restates what was held (a report of the rating held, say), voids one "
        "that neither point shows, is undone by another (a fact voided and recorded again), is "
        "another system's, or is one this version of govledger cannot read (a newer "
        "govledgerd's); `govledger history` shows what each did");
  }
  absl::StrAppend(&out, ".\n");
  if (in.compare.differences_size() > 0) {
    Table t({"ENTITY", "ASPECT", "BEFORE", "AFTER", "EVENTS"});
    for (const v1::Difference& d : in.compare.differences()) {
      t.AddRow(
          {d.entity(), AspectLabel(d.aspect()), d.before(), d.after(), PositionsText(d.events())});
    }
    absl::StrAppend(&out, "\n", t.RenderMarkdown());
  }
  const std::string sources = EventSourcesText(in.compare.events(), "- ");
  if (!sources.empty()) {
    absl::StrAppend(&out, "\nWhere these events come from (their sources, by position):\n\n",
                    sources);
  }
  return out;
}

v1::ProgrammeReport ReportMessage(const ReportInputs& in) {
  v1::ProgrammeReport out;
  out.set_programme_id(in.programme_id);
  out.set_programme_name(in.current.status.programme().name());
  *out.mutable_current() = PointOf(in.current);
  *out.mutable_previous() = PointOf(in.previous);
  out.set_rating_changed(ProgrammeRating(in.current.status.programme()) !=
                         ProgrammeRating(in.previous.status.programme()));
  for (const v1::WorkStatus* w : ClosedSince(in)) {
    *out.add_projects_closed_since() = ClosedProjectOf(*w, in.current.benefits);
  }
  for (const auto& [c, earlier] : ScopeChangesSince(in)) {
    v1::ReportScopeChange* change = out.add_scope_changes();
    change->set_scope_item_id(c.item->scope_item_id());
    change->set_title(c.item->title());
    change->set_kind(ScopeChangeKindOf(*c.change));
    *change->mutable_change() = *c.change;
    change->set_lapsed_since(earlier);
  }
  *out.mutable_changes() = in.compare.differences();
  out.set_events(in.compare.events_size());
  out.set_registered_since(in.registered_since);
  for (const v1::ReplanEntry* e : ReplansSince(in)) *out.add_replans_since() = *e;
  return out;
}

}  // namespace govledger::cli
