#include "cli/query_commands.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/client.h"
#include "cli/printable.h"
#include "cli/query_text.h"
#include "cli/report.h"
#include "cli/table.h"
#include "cli/time_flags.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/errors.h"
#include "ledger/common/flags.h"
#include "ledger/common/time.h"
#include "ledger/envelope.h"
#include "projections/as_at.h"
#include "projections/governance_state.h"
#include "projections/queries.h"
#include "projections/streams.h"

namespace govledger::cli {
namespace {

// Entries of a history asked for at a time: no count, so that each page is as large as the
// daemon's 16 MiB allows. Each page costs the daemon a fold of the whole history (README,
// "Paging a history"), and the pages are put together here anyway: pages of 1,000 entries made
// a 100,000-event stream's history take 100 folds (77 s; 2 s in pages of 16 MiB).
constexpr uint32_t kHistoryPageSize = std::numeric_limits<uint32_t>::max();

template <typename Request, typename Response>
using QueryMethod = grpc::Status (v1::QueryService::Stub::*)(grpc::ClientContext*, const Request&,
                                                             Response*);

template <typename Request, typename Response>
grpc::Status Call(v1::QueryService::Stub& stub, QueryMethod<Request, Response> method,
                  const Request& request, Response* response) {
  auto context = NewCallContext();
  const grpc::Status status = (stub.*method)(context.get(), request, response);
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT &&
      status.error_code() != grpc::StatusCode::OUT_OF_RANGE) {
    return status;
  }
  // The server names the request's fields; the user gave flags. ("from: " and "to: " are
  // Compare's earlier and later points.)
  const std::string message = absl::StrReplaceAll(
      status.error_message(),
      {{"from: as_at.programme_week.week", "--since-week"},
       {"from: as_at.position", "--since-position"},
       {"from: as_at.time", "--since"},
       {"from: as_at.known_through", "--since-known-through (or --known-through)"},
       {"to: as_at.programme_week.week", "--week"},
       {"to: as_at.position", "--position"},
       {"to: as_at.time", "--at"},
       {"to: as_at.known_through", "--known-through"},
       {"as_at.programme_week.week", "--week"},
       {"as_at.position", "--position"},
       {"as_at.time", "--at"},
       {"as_at.known_through", "--known-through"}});
  return grpc::Status(status.error_code(), message, status.error_details());
}

// The flags of one point: the later (--position, --at, --week) or the earlier (--since-...).
struct PointFlags {
  const char* position_flag;
  bool has_position;
  std::string position;
  const char* at_flag;
  bool has_at;
  std::string at;
  const char* week_flag;  // null for a command that takes no week
  bool has_week;
  std::string week;
};

// A selector from the command line. `head`: no point was given, so the caller sets
// as_at.position to the head it reads.
struct Selector {
  v1::AsAt as_at;
  bool head = false;
};

// The selector `f` names. Mode: `forced` if not UNSPECIFIED, else as known for a week or time,
// as recorded for a position or the head.
absl::StatusOr<Selector> SelectorOf(const PointFlags& f, const std::string& programme,
                                    v1::AsAtMode forced) {
  if (int(f.has_position) + int(f.has_at) + int(f.has_week) > 1) {
    return absl::InvalidArgumentError(
        f.week_flag == nullptr
            ? absl::StrCat("give ", f.position_flag, " or ", f.at_flag, ", not both")
            : absl::StrCat("give at most one of ", f.position_flag, ", ", f.at_flag, " and ",
                           f.week_flag));
  }
  Selector s;
  v1::AsAtMode mode = v1::AS_AT_MODE_AS_RECORDED;
  if (f.has_position) {
    uint64_t position = 0;
    if (!ParseWholeNumber(f.position, std::numeric_limits<uint64_t>::max(), &position)) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.position_flag, " '", f.position,
                       "' is not a log position: give a whole number from 0 to the head"));
    }
    s.as_at.set_position(position);
  } else if (f.has_at) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseInstantFlag(f.at_flag, f.at);
    if (!t.ok()) return t.status();
    *s.as_at.mutable_time() = *t;
    mode = v1::AS_AT_MODE_AS_KNOWN;
  } else if (f.has_week) {
    if (programme.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          f.week_flag, " needs --programme: weeks count from a programme's mobilisation date"));
    }
    int week = 0;
    uint64_t week_or_more = 0;
    const bool digits = !f.week.empty() && std::all_of(f.week.begin(), f.week.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (digits && (!ParseWholeNumber(f.week, std::numeric_limits<uint64_t>::max(), &week_or_more) ||
                   week_or_more > uint64_t{std::numeric_limits<int>::max()})) {
      return absl::InvalidArgumentError(absl::StrCat(
          f.week_flag, " '", f.week, "' is too large: no plan has that many weeks"));
    }
    if (!ParseWholeNumber(f.week, std::numeric_limits<int>::max(), &week) || week < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.week_flag, " '", f.week,
                       "' is not a plan week: give a whole number, 1 or more (week 1 starts on the "
                       "programme's mobilisation date)"));
    }
    s.as_at.mutable_programme_week()->set_programme_id(programme);
    s.as_at.mutable_programme_week()->set_week(week);
    mode = v1::AS_AT_MODE_AS_KNOWN;
  } else {
    s.head = true;
  }
  s.as_at.set_mode(forced != v1::AS_AT_MODE_UNSPECIFIED ? forced : mode);
  return s;
}

int Print(const std::string& text) {
  std::cout << text;
  return kExitOk;
}

// `response` as JSON, or as the text `view` makes of it once its stored text is printable.
template <typename Response, typename View>
int Answer(bool json, Response& response, View view) {
  if (json) return PrintJson(response);
  MakePrintable(&response);
  return Print(view(response));
}

// "Label:  value" lines, values aligned.
std::string Fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, DisplayWidth(label) + 1);
  std::string out;
  for (const auto& [label, value] : fields) {
    absl::StrAppend(&out, label, ":", std::string(width - DisplayWidth(label) + 1, ' '), value,
                    "\n");
  }
  return out;
}

using projections::FormatPence;

// "GREEN 3, AMBER 2" (unrated as "unrated N"); "none" when empty.
std::string RagCounts(const google::protobuf::RepeatedPtrField<v1::RagCount>& counts, bool colour) {
  std::vector<std::string> parts;
  for (const v1::RagCount& c : counts) {
    parts.push_back(
        c.rag() == v1::RAG_UNSPECIFIED
            ? absl::StrCat("unrated ", c.count())
            : absl::StrCat(Paint(RagText(c.rag()), RagStyle(c.rag()), colour), " ", c.count()));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

// The open projects by rating: "GREEN 3, AMBER 2, unrated 1, delivery confidence only 1";
// "none" when no project is open. Then, when any open project has a delivery confidence, a line
// "Open projects by delivery confidence: AMBER/GREEN 2, AMBER/RED 1".
std::string ProjectRatingCounts(const v1::GetProgrammeStatusResponse& r, bool colour) {
  std::vector<std::string> parts;
  for (const v1::RagCount& c : r.project_rag_counts()) {
    if (c.rag() == v1::RAG_UNSPECIFIED) continue;
    parts.push_back(
        absl::StrCat(Paint(RagText(c.rag()), RagStyle(c.rag()), colour), " ", c.count()));
  }
  const UnratedProjects unrated = CountUnratedProjects(r);
  if (unrated.no_report > 0) parts.push_back(absl::StrCat("unrated ", unrated.no_report));
  if (unrated.confidence_only > 0) {
    parts.push_back(absl::StrCat("delivery confidence only ", unrated.confidence_only));
  }
  std::string out = absl::StrCat("Open projects by rating: ",
                                 parts.empty() ? "none" : absl::StrJoin(parts, ", "), "\n");
  if (r.project_confidence_counts_size() > 0) {
    parts.clear();
    for (const v1::ConfidenceCount& c : r.project_confidence_counts()) {
      const v1::DeliveryConfidence d = c.delivery_confidence();
      parts.push_back(
          absl::StrCat(Paint(ConfidenceText(d), ConfidenceStyle(d), colour), " ", c.count()));
    }
    absl::StrAppend(&out, "Open projects by delivery confidence: ", absl::StrJoin(parts, ", "),
                    "\n");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The tables of each command.

// The plan week of the cut against the programme's plan: "86 of 104", "130 (the plan of 104
// weeks has ended)", "0 (before mobilisation)". A server that does not send the planned length
// (planned_weeks 0) gets the bare week.
std::string PlanWeekText(int week, int planned) {
  if (week == 0) return "0 (before mobilisation)";
  if (planned <= 0) return absl::StrCat(week);
  if (week > planned) return absl::StrCat(week, " (the plan of ", planned, " weeks has ended)");
  return absl::StrCat(week, " of ", planned);
}

// A project's reported plan week, and the week its report's effective time is in when that is
// another: "86", "68 (effective in 86)"; "" when it gave none.
std::string ReportedWeekText(const v1::WorkStatus& w) {
  if (w.reported_plan_week() <= 0) return "";
  if (!w.has_reported_time() || w.effective_plan_week() == w.reported_plan_week()) {
    return absl::StrCat(w.reported_plan_week());
  }
  return absl::StrCat(w.reported_plan_week(), " (effective in ", w.effective_plan_week(), ")");
}

// "  LPP-INV: Gate 3; milestone Investigations go-live\n" for the programme and each project
// with any; "" when none has.
std::string GatesAndMilestonesText(const v1::GetProgrammeStatusResponse& r) {
  std::string out;
  auto add = [&](const v1::WorkStatus& w) {
    const std::vector<std::string> parts = PassedItems(w);
    if (!parts.empty()) {
      absl::StrAppend(&out, "  ", WorkLabel(w.ref(), r), ": ", absl::StrJoin(parts, "; "), "\n");
    }
  };
  add(r.programme());
  for (const v1::WorkStatus& w : r.projects()) add(w);
  return out;
}

// "  LPR: week 38, effective 2017-06-22T12:00:00Z: <commentary>\n" for the programme and each
// project with a report without a rating (its latest); "" when none has.
std::string UpdatesText(const v1::GetProgrammeStatusResponse& r) {
  std::string out;
  auto add = [&](const v1::WorkStatus& w) {
    if (!w.has_update()) return;
    const v1::StatusUpdate& u = w.update();
    absl::StrAppend(&out, "  ", WorkLabel(w.ref(), r), ": week ", u.plan_week());
    if (u.has_reported_time()) {
      absl::StrAppend(&out, ", effective ", FormatRfc3339(ToMicros(u.reported_time())),
                      EffectiveWeekText(u.plan_week(), u.effective_plan_week()));
    }
    absl::StrAppend(&out, ": ", u.commentary(), "\n");
  };
  add(r.programme());
  for (const v1::WorkStatus& w : r.projects()) add(w);
  return out;
}

// A programme's (or project's) REPORTED cell: its rated report's week (ReportedWeekText), or,
// with only a report without a rating, that update's week: "38 (update)".
std::string ReportedCell(const v1::WorkStatus& w) {
  if (w.rated() || !w.has_update() || w.update().plan_week() <= 0) return ReportedWeekText(w);
  return absl::StrCat(w.update().plan_week(), " (update)");
}

// `govledger programmes`: the organisations, then a programme a row, then where to look next:
// `status` of the first programme with a report or a project, at `point` (the point's flags as
// given, " --at 2016-12-25").
std::string ProgrammesView(const v1::ListProgrammesResponse& r, bool colour,
                           const std::string& point) {
  // Its count of events folded is a sum (ListProgrammesResponse), larger than the log when
  // several programmes are listed: said, as history says what its count holds.
  std::string out = Fields({{"As at", DescribeAsAt(r.as_at())},
                            {"Folded",
                             "the count sums the organisations' fold and each "
                             "programme's: an event every programme reads counts in "
                             "each"}});
  Table organisations({"ORGANISATION", "NAME", "KIND", "REGISTERED (UTC)"});
  for (const v1::OrganisationEntry& o : r.organisations()) {
    organisations.AddRow({o.organisation_id(), o.name(), o.kind(),
                          o.has_registered_time()
                              ? FormatRfc3339(ToMicros(o.registered_time())).substr(0, 10)
                              : ""});
  }
  absl::StrAppend(&out, "\n",
                  organisations.rows() > 0 ? organisations.Render(colour) : "No organisations.\n");
  Table programmes({"ORGANISATION", "PROGRAMME", "NAME", "STATE", "RAG", "CONFIDENCE", "REPORTED",
                    "PLAN WEEK", "PROJECTS"});
  programmes.AlignRight(6);
  for (const v1::ProgrammeEntry& e : r.programmes()) {
    const v1::WorkStatus& p = e.programme();
    const int closed = static_cast<int>(std::count_if(e.projects().begin(), e.projects().end(),
                                                      [](const auto& w) { return w.closed(); }));
    programmes.AddRow(
        {e.organisation_id(), p.ref().id(), p.name(), p.closed() ? "closed" : "open",
         RagCell(p.rag()), ConfidenceCell(p.delivery_confidence()), ReportedCell(p),
         PlanWeekText(e.plan_week(), e.planned_weeks()),
         e.projects().empty()
             ? "none"
             : absl::StrCat(e.projects_size(),
                            closed > 0 ? absl::StrCat(" (", closed, " closed)") : std::string())});
  }
  absl::StrAppend(&out, "\n",
                  programmes.rows() > 0 ? programmes.Render(colour) : "No programmes.\n");
  if (programmes.rows() > 0) {
    const auto example =
        std::find_if(r.programmes().begin(), r.programmes().end(), [](const v1::ProgrammeEntry& e) {
          return e.programme().rated() || e.programme().has_update() || !e.projects().empty();
        });
    absl::StrAppend(
        &out, "\nREPORTED: the week of the latest rated report (or of an update, without one).\n",
        "Each programme's detail: govledger status --programme ",
        (example == r.programmes().end() ? r.programmes(0) : *example).programme().ref().id(),
        point, " (and risks, scope, benefits, decisions, report).\n");
  }
  return out;
}

std::string StatusView(const v1::GetProgrammeStatusResponse& r, bool colour) {
  const v1::WorkStatus& p = r.programme();
  std::string rating = "not rated";
  if (p.rated()) {
    rating = RatingText(p, colour);
    std::vector<std::string> reported;
    if (p.reported_plan_week() > 0) reported.push_back(absl::StrCat("for week ", p.reported_plan_week()));
    if (p.has_reported_time()) {
      reported.push_back(
          absl::StrCat("effective ", FormatRfc3339(ToMicros(p.reported_time())),
                       EffectiveWeekText(p.reported_plan_week(), p.effective_plan_week())));
    }
    if (!reported.empty()) absl::StrAppend(&rating, " (reported ", absl::StrJoin(reported, ", "), ")");
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Programme", absl::StrCat(p.ref().id(), "  ", p.name(), p.closed() ? " (closed)" : "")},
      {"Rating", rating}};
  if (!p.commentary().empty()) fields.push_back({"Commentary", p.commentary()});
  fields.push_back({"Plan week", PlanWeekText(r.plan_week(), r.planned_weeks())});
  fields.push_back({"As at", DescribeAsAt(r.as_at())});
  std::string out = Fields(fields);
  // The programme as registered, what the reports do not repeat, in a block of its own.
  const v1::ProgrammeRegistered& plan = r.registration();
  fields.clear();
  if (!plan.organisation_id().empty()) {
    fields.push_back({"Organisation", plan.organisation_id()});
    std::string mobilised = absl::StrCat(projections::FormatDate(plan.mobilisation_date()),
                                         ", a plan of ", r.planned_weeks(), " weeks");
    if (r.replans_size() > 0 && r.as_registered().planned_weeks() != r.planned_weeks()) {
      absl::StrAppend(&mobilised, " (", r.as_registered().planned_weeks(), " as registered)");
    }
    fields.push_back({"Mobilised", std::move(mobilised)});
  }
  if (!plan.senior_responsible_owner().empty()) {
    fields.push_back({"SRO", plan.senior_responsible_owner()});  // senior responsible owner
  }
  if (!plan.board().empty()) fields.push_back({"Board", plan.board()});
  if (!plan.excluded_scope().empty()) {
    fields.push_back({"Excluded", absl::StrJoin(plan.excluded_scope(), "; ")});  // from scope
  }
  for (const v1::Tranche& t : plan.tranches()) {
    fields.push_back({absl::StrCat("Tranche ", t.number()),
                      absl::StrCat(projections::FormatDate(t.start_date()), " to ",
                                   projections::FormatDate(t.end_date()),
                                   t.name().empty() ? "" : ": ", t.name())});
  }
  if (!plan.description().empty()) fields.push_back({"Description", plan.description()});
  for (const v1::ReplanEntry& e : r.replans()) fields.push_back({"Re-planned", ReplanText(e)});
  if (!fields.empty()) absl::StrAppend(&out, "\n", Fields(fields));
  Table projects({"PROJECT", "NAME", "STATE", "RAG", "CONFIDENCE", "WEEK", "COMMENTARY"});
  projects.AlignRight(5);
  for (const v1::WorkStatus& w : r.projects()) {
    projects.AddRow({w.ref().id(), w.name(), w.closed() ? "closed" : "open", RagCell(w.rag()),
                     ConfidenceCell(w.delivery_confidence()),
                     ReportedWeekText(w),
                     w.commentary()});
  }
  absl::StrAppend(&out, "\n", projects.rows() > 0 ? projects.Render(colour) : "No projects.\n",
                  "\n", ProjectRatingCounts(r, colour));
  const std::string passed = GatesAndMilestonesText(r);
  if (!passed.empty()) absl::StrAppend(&out, "\nGates and milestones:\n", passed);
  const std::string updates = UpdatesText(r);
  if (!updates.empty()) {
    absl::StrAppend(&out, "\nLatest reports without a rating (progress updates):\n", updates);
  }
  // Where each current rating and update comes from: "LPP, LPP-INV: <paper>".
  std::vector<std::pair<std::string, std::string>> labelled;
  auto add = [&](const v1::WorkStatus& w) {
    if (w.rated()) labelled.push_back({w.reported_source(), WorkLabel(w.ref(), r)});
    if (w.has_update()) {
      labelled.push_back({w.update().source(), absl::StrCat(WorkLabel(w.ref(), r), " (update)")});
    }
  };
  add(p);
  for (const v1::WorkStatus& w : r.projects()) add(w);
  const std::string sources = SourcesText(labelled);
  if (!sources.empty()) {
    absl::StrAppend(&out, "\nSources (where each current report comes from):\n", sources);
  }
  return out;
}

std::string RisksView(const std::string& programme, const v1::GetRiskRegisterResponse& r,
                      bool colour) {
  std::string open = absl::StrCat(r.open(), ", of which ", r.open_red(), " red");
  if (r.open_by_rating_size() > 0) {
    absl::StrAppend(&open, " (", RagCounts(r.open_by_rating(), colour), ")");
  }
  std::string out = Fields({{"Programme", programme},
                            {"As at", DescribeAsAt(r.as_at())},
                            {"Open risks", open},
                            {"Closed", absl::StrCat(r.closed())},
                            {"Transferred out", absl::StrCat(r.transferred_out())}});
  Table risks({"RISK", "RATING", "STATUS", "SUBJECT", "OWNER", "TITLE"});
  for (const v1::RiskEntry& e : r.risks()) {
    std::string subject = WorkText(e.subject());
    if (e.opened_against().id() != e.subject().id() ||
        e.opened_against().kind() != e.subject().kind()) {
      absl::StrAppend(&subject, " (opened against ", WorkText(e.opened_against()), ")");
    }
    risks.AddRow({e.risk_id(), RagCell(e.rating()), RiskStatusText(e.status()), subject, e.owner(),
                  e.title()});
  }
  absl::StrAppend(&out, "\n", risks.rows() > 0 ? risks.Render(colour) : "No risks.\n");
  if (r.by_subject_size() > 0) {
    Table subjects({"SUBJECT", "OPEN", "RED", "CLOSED", "TRANSFERRED OUT"});
    for (size_t c = 1; c <= 4; ++c) subjects.AlignRight(c);
    for (const v1::SubjectRiskCount& s : r.by_subject()) {
      subjects.AddRow({WorkText(s.subject()), absl::StrCat(s.open()), absl::StrCat(s.open_red()),
                       absl::StrCat(s.closed()), absl::StrCat(s.transferred_out())});
    }
    absl::StrAppend(&out, "\n", subjects.Render(colour));
  }
  const std::string sources = RiskSourcesText(r);
  if (!sources.empty()) {
    absl::StrAppend(&out, "\nSources (where each rating, closure and transfer comes from):\n",
                    sources);
  }
  return out;
}

std::string ScopeView(const std::string& programme, const v1::GetScopeMapResponse& r, bool colour) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Programme", programme},
      {"As at", DescribeAsAt(r.as_at())},
      {"Items", absl::StrCat(r.in_scope(), " in scope, ", r.removed(), " removed, ",
                             r.transferred_out(), " transferred out")}};
  if (r.excluded_size() > 0) fields.push_back({"Excluded", absl::StrJoin(r.excluded(), "; ")});
  std::string out = Fields(fields);
  if (r.items_size() == 0) return absl::StrCat(out, "\nNo scope items.\n");
  Table items({"ITEM", "STATUS", "OWNER", "TITLE"});
  Table changes({"POSITION", "EFFECTIVE", "ITEM", "CHANGE", "FROM", "TO", "BASELINE", "BENEFITS",
                 "APPROVAL", "REASON"});
  changes.AlignRight(0);
  changes.AlignRight(6);
  changes.AlignRight(7);
  for (const v1::ScopeItemEntry& item : r.items()) {
    items.AddRow({item.scope_item_id(), ScopeStatusText(item.status()), WorkText(item.owner()),
                  item.title()});
  }
  std::vector<std::pair<std::string, uint64_t>> sourced;  // (source, position) of each change
  for (const auto& [item, c] : ScopeChangesInLogOrder(r)) {
    sourced.push_back({c->event().source(), c->event().position()});
    changes.AddRow({absl::StrCat(c->event().position()),
                    TimeText(c->event().effective_time(), c->event().has_effective_time()),
                    item->scope_item_id(), ScopeChangeText(*c), WorkText(c->from()),
                    WorkText(c->to()),
                    StatedPence(c->has_baseline_change_pence(), c->baseline_change_pence()),
                    StatedPence(c->has_benefit_change_pence(), c->benefit_change_pence()),
                    ApprovalText(*c), c->reason()});
  }
  absl::StrAppend(&out, "\n", items.Render(colour), "\nChanges:\n", changes.Render(colour));
  const std::string sources = PositionSourcesText(sourced);
  if (!sources.empty()) {
    absl::StrAppend(&out, "\nSources (where each change comes from, by position):\n", sources);
  }
  return out;
}

std::string BenefitsView(const std::string& programme, const v1::GetBenefitsResponse& r,
                         bool colour) {
  // With no project closed, nothing was confirmed at closure: not "£0.00", which reads as a
  // figure someone confirmed.
  // Nor for closures that do not state their benefits.
  const bool any_closed = std::any_of(r.projects().begin(), r.projects().end(),
                                      [](const v1::WorkBenefits& w) { return w.closed(); });
  const bool any_stated =
      std::any_of(r.projects().begin(), r.projects().end(),
                  [](const v1::WorkBenefits& w) { return w.has_closure_annual_benefits_pence(); });
  // Counted here, not read from closures_without_benefits, which an older server leaves 0.
  const int unstated = static_cast<int>(
      std::count_if(r.projects().begin(), r.projects().end(), [](const v1::WorkBenefits& w) {
        return w.closed() && !w.has_closure_annual_benefits_pence();
      }));
  const std::string unstated_text =
      absl::StrCat(unstated, unstated == 1 ? " closed project's closure does not state them"
                                           : " closed projects' closures do not state them");
  std::string out = Fields(
      {{"Programme", programme},
       {"As at", DescribeAsAt(r.as_at())},
       {"Totals",
        absl::StrCat(
            "forecast ", ForecastTotalText(r), "; realised ", RealisedTotalText(r),
            "; confirmed at closure ",
            !any_closed ? "none (no project closed)"
            : !any_stated
                ? absl::StrCat("not stated (", unstated_text, ")")
                : absl::StrCat(SumText(r.total_closure_annual_benefits_pence()), " a year",
                               unstated > 0 ? absl::StrCat(" (", unstated_text, ")") : ""))}});
  Table works({"SUBJECT", "STATE", "FORECAST/YEAR", "REALISED/YEAR", "AT CLOSURE/YEAR"});
  for (size_t c = 2; c <= 4; ++c) works.AlignRight(c);
  Table benefits({"SUBJECT", "BENEFIT", "FORECAST/YEAR", "REALISED/YEAR", "DESCRIPTION"});
  benefits.AlignRight(2);
  benefits.AlignRight(3);
  std::vector<const v1::WorkBenefits*> all = {&r.programme()};
  for (const v1::WorkBenefits& w : r.projects()) all.push_back(&w);
  for (const v1::WorkBenefits* w : all) {
    works.AddRow({WorkText(w->subject()), w->closed() ? "closed" : "open", ForecastText(*w),
                  RealisedText(*w),
                  w->has_closure_annual_benefits_pence()
                      ? FormatPence(w->closure_annual_benefits_pence())
                  : w->closed() && w->subject().kind() == v1::WORK_KIND_PROJECT ? "not stated"
                                                                                : ""});
    for (const v1::BenefitEntry& b : w->benefits()) {
      // "no figure": recorded without one (a qualitative benefit), which is not £0.00.
      auto figure = [](bool recorded, bool has_amount, int64_t pence) -> std::string {
        if (!recorded) return "";
        return has_amount ? FormatPence(pence) : "no figure";
      };
      benefits.AddRow({WorkText(w->subject()), b.benefit_id(),
                       figure(b.has_forecast(), b.forecast_has_amount(), b.forecast_annual_pence()),
                       figure(b.has_realised(), b.realised_has_amount(), b.realised_annual_pence()),
                       b.description()});
    }
  }
  absl::StrAppend(&out, "\n", works.Render(colour));
  if (benefits.rows() > 0) absl::StrAppend(&out, "\nBenefits:\n", benefits.Render(colour));
  // Where each current figure comes from: "LPP-INV savings (forecast), ...: <paper>".
  std::vector<std::pair<std::string, std::string>> labelled;
  for (const v1::WorkBenefits* w : all) {
    if (w->closed() && w->has_closure_annual_benefits_pence()) {
      labelled.push_back({w->closure_source(), absl::StrCat(w->subject().id(), " (at closure)")});
    }
    for (const v1::BenefitEntry& b : w->benefits()) {
      const std::string name = absl::StrCat(w->subject().id(), " ", b.benefit_id());
      if (b.has_forecast()) labelled.push_back({b.forecast_source(), name + " (forecast)"});
      if (b.has_realised()) labelled.push_back({b.realised_source(), name + " (realised)"});
    }
  }
  const std::string sources = SourcesText(labelled);
  if (!sources.empty()) {
    absl::StrAppend(&out, "\nSources (where each current figure comes from):\n", sources);
  }
  return out;
}

std::string DecisionsView(const std::string& organisation, const std::string& programme,
                          const v1::GetDecisionRegisterResponse& r, bool colour) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (!organisation.empty()) fields.push_back({"Organisation", organisation});
  if (!programme.empty()) fields.push_back({"Programme", programme});
  fields.push_back({"As at", DescribeAsAt(r.as_at())});
  fields.push_back(
      {"Decisions", absl::StrCat(r.pending(), " pending, ", r.approved(), " approved, ",
                                 r.rejected(), " rejected, ", r.withdrawn(), " withdrawn",
                                 r.withheld() > 0
                                     ? absl::StrCat(" (", r.withheld(), " withheld: Part 1 not "
                                                    "yet published)")
                                     : "")});
  std::string out = Fields(fields);
  if (r.decisions_size() == 0) return absl::StrCat(out, "\nNo decisions.\n");
  Table decisions({"ORGANISATION", "REFERENCE", "STATUS", "AMOUNT", "SIGNED", "AWAITING",
                   "DELEGATION", "TITLE"});
  decisions.AlignRight(3);
  for (const v1::DecisionEntry& d : r.decisions()) {
    std::vector<std::string> signed_by, delegations;
    for (const v1::DecisionSignature& s : d.signatures()) {
      signed_by.push_back(SignatoryText(s));
    }
    for (const v1::DelegationNeed& n : d.delegations()) {
      if (n.below_threshold_by_kind()) {
        std::vector<std::string> kinds;
        for (int kind : n.counted_kinds()) kinds.push_back(AmountKindText(v1::AmountKind(kind)));
        delegations.push_back(absl::StrCat(n.role(), " (", n.rule_id(), ", NOT REACHED: it counts ",
                                           absl::StrJoin(kinds, ", "), " amounts only, ",
                                           FormatPence(n.counted_pence()), " here)"));
        continue;
      }
      delegations.push_back(absl::StrCat(
          n.role(), " (", n.rule_id(),
          n.has_setting_effective_time()
              ? absl::StrCat(", NOT REQUIRED: proposal dated before its setting of ",
                             FormatRfc3339(ToMicros(n.setting_effective_time())).substr(0, 10),
                             ", recorded under it)")
          : n.role_required() ? ")"
                              : ", NOT REQUIRED)"));
    }
    decisions.AddRow({d.organisation_id(), d.reference(), DecisionStatusText(d.status()),
                      DecisionAmountText(d), absl::StrJoin(signed_by, ", "),
                      AwaitingText(d), absl::StrJoin(delegations, ", "),
                      DecisionTitleText(d)});
  }
  absl::StrAppend(&out, "\n", decisions.Render(colour));
  for (const v1::DecisionEntry& d : r.decisions()) {
    const std::vector<std::string> notes = DecisionNotes(d);
    if (notes.empty()) continue;
    absl::StrAppend(&out, "\n", d.organisation_id(), " ", d.reference(), ":\n");
    for (const std::string& line : notes) absl::StrAppend(&out, "  ", line, "\n");
  }
  if (r.possible_splits_size() > 0) {
    Table splits({"RULE", "THRESHOLD", "ROLE", "PROGRAMME", "DECISIONS", "TOTAL", "PROPOSED"});
    splits.AlignRight(1);
    splits.AlignRight(5);
    for (const v1::PossibleSplit& split : r.possible_splits()) {
      splits.AddRow({absl::StrCat(split.organisation_id(), " ", split.rule_id()),
                     projections::FormatPence(split.threshold_pence()), split.role(),
                     split.programme_id(), absl::StrJoin(split.references(), ", "),
                     SumText(split.total_pence()), SplitPeriodText(split)});
    }
    absl::StrAppend(&out, "\nPossible splits (decisions each under a delegation threshold and "
                          "not needing its role, proposed within ", r.split_window_days(),
                          " days of one another, that together reach it):\n",
                    splits.Render(colour));
  }
  if (r.approved_spend_size() > 0) {
    Table spend({"FUNDING SOURCE", "KIND", "APPROVED"});
    spend.AlignRight(2);
    for (const v1::SpendTotal& s : r.approved_spend()) {
      spend.AddRow({s.funding_source(), AmountKindText(s.kind()), SumText(s.pence())});
    }
    absl::StrAppend(&out, "\nApproved spend:\n", spend.Render(colour));
  }
  const std::string sources = DecisionSourcesText(r);
  if (!sources.empty()) {
    absl::StrAppend(&out, "\nSources (where each decision comes from):\n", sources);
  }
  return out;
}

// `week`: "80 of programme SLP's plan" for a cut at a plan week (--week, whose --programme
// need not be the entity's), else "".
std::string HistoryView(const std::string& entity, const v1::GetEntityHistoryResponse& r,
                        bool colour, const std::string& week) {
  // The count of events folded is not the entity's alone: say what else its state reads.
  std::vector<std::pair<std::string, std::string>> fields = {{"Entity", entity},
                                                             {"As at", DescribeAsAt(r.as_at())}};
  if (!week.empty()) fields.push_back({"Week", week});
  fields.push_back({"Folded",
                    "its own events, and those every entity's state reads "
                    "(organisations, signing keys, delegation rules, events of other "
                    "kinds)"});
  std::string out = Fields(fields);
  Table changes({"POSITION", "RECORDED", "EFFECTIVE", "ACTOR", "EVENT", "CHANGE", "NOTE"});
  changes.AlignRight(0);
  for (const v1::EntityChange& c : r.changes()) {
    const v1::EventRef& e = c.event();
    std::string change = c.has_corrects() ? absl::StrCat("corrects ", c.corrects().position(), " (",
                                                         ShortType(c.corrects().event_type()), ")")
                                          : AspectChanges(c);
    // Not "-" (a change of nothing) for an event this version could not read all of.
    if (!c.unread().empty()) {
      change = change.empty() ? "not read (below)" : absl::StrCat(change, "; in part (below)");
    }
    changes.AddRow({absl::StrCat(e.position()), TimeText(e.recorded_time(), e.has_recorded_time()),
                    TimeText(e.effective_time(), e.has_effective_time()), e.actor(),
                    ShortType(e.event_type()), change, c.note()});
  }
  absl::StrAppend(&out, "\n", changes.rows() > 0 ? changes.Render(colour)
                                                  : "No event of it is folded here.\n");
  std::vector<std::pair<std::string, uint64_t>> labelled;
  for (const v1::EntityChange& c : r.changes()) {
    labelled.push_back({c.event().source(), c.event().position()});
  }
  const std::string sources = PositionSourcesText(labelled);
  if (!sources.empty()) absl::StrAppend(&out, "\nSources (where each fact comes from):\n", sources);
  std::string unread;
  for (const v1::EntityChange& c : r.changes()) {
    if (!c.unread().empty())
      absl::StrAppend(&unread, "  ", c.event().position(), ": ", PrintableText(c.unread()), "\n");
  }
  if (!unread.empty()) {
    absl::StrAppend(&out,
                    "\nNot read in full by this version of govledger (a newer one wrote "
                    "them; a govledgerd as new shows what they change):\n",
                    unread);
  }
  if (r.voided_size() > 0) {
    Table voided({"POSITION", "RECORDED", "EFFECTIVE", "ACTOR", "EVENT", "VOIDED BY", "REASON"});
    voided.AlignRight(0);
    for (const v1::VoidedEvent& v : r.voided()) {
      const v1::EventRef& e = v.event();
      voided.AddRow({absl::StrCat(e.position()),
                     TimeText(e.recorded_time(), e.has_recorded_time()),
                     TimeText(e.effective_time(), e.has_effective_time()), e.actor(),
                     ShortType(e.event_type()),
                     absl::StrCat(v.voided_by().position(), " (", v.voided_by().actor(), ")"),
                     v.reason()});
    }
    absl::StrAppend(&out, "\nLeft out: ", r.voided_size(),
                    r.voided_size() == 1 ? " event" : " events",
                    " voided by a correction, as the ledger stands at this point:\n",
                    voided.Render(colour));
  }
  return out;
}

std::string CompareView(const std::string& programme, const v1::CompareResponse& r, bool colour) {
  std::string out = Fields(
      {{"Programme", programme}, {"From", DescribeAsAt(r.from())}, {"To", DescribeAsAt(r.to())}});
  Table differences({"ENTITY", "ASPECT", "BEFORE", "AFTER", "EVENTS"});
  for (const v1::Difference& d : r.differences()) {
    const bool rating = d.aspect() == "rating";
    differences.AddRow({d.entity(), AspectLabel(d.aspect()),
                        Cell(d.before(), rating ? RatingTextStyle(d.before()) : Style::kPlain),
                        Cell(d.after(), rating ? RatingTextStyle(d.after()) : Style::kPlain),
                        PositionsText(d.events())});
  }
  absl::StrAppend(&out, "\n",
                  differences.rows() > 0 ? differences.Render(colour) : "No differences.\n");
  if (r.events_size() > 0) {
    Table events({"POSITION", "RECORDED", "EFFECTIVE", "EVENT", "STREAM", "ACTOR"});
    events.AlignRight(0);
    for (const v1::EventRef& e : r.events()) {
      events.AddRow({absl::StrCat(e.position()), TimeText(e.recorded_time(), e.has_recorded_time()),
                     TimeText(e.effective_time(), e.has_effective_time()),
                     ShortType(e.event_type()), e.stream_id(), e.actor()});
    }
    absl::StrAppend(&out, "\n", r.events_size(),
                    r.events_size() == 1 ? " event tells" : " events tell",
                    " the two points apart for ", programme,
                    " (folded at one point and not the other, or a correction that voids one of "
                    "them at the point that reads it; its own, its projects', its decisions', and "
                    "those of the risks and scope items it held at either point):\n",
                    events.Render(colour));
    const std::string sources = EventSourcesText(r.events());
    if (!sources.empty()) {
      absl::StrAppend(&out, "\nSources (where each event comes from):\n", sources);
    }
  }
  return out;
}

// "position 45" for an as-recorded cut, else its cut instant.
std::string PointText(const v1::ResolvedAsAt& a) {
  if (a.mode() != v1::AS_AT_MODE_AS_RECORDED) {
    return absl::StrCat(ModeText(a.mode()), " at ", TimeText(a.cut_time(), a.has_cut_time()));
  }
  return a.has_cut_time() ? absl::StrCat("position ", a.position(), ", recorded at ",
                                         TimeText(a.cut_time(), true))
                          : absl::StrCat("position ", a.position());
}

// Whether the first point lies after the second (then a report's --since point is not earlier).
bool After(const v1::ResolvedAsAt& a, const v1::ResolvedAsAt& b) {
  if (a.mode() == v1::AS_AT_MODE_AS_RECORDED && b.mode() == v1::AS_AT_MODE_AS_RECORDED) {
    return a.position() > b.position();
  }
  const int64_t ta = a.has_cut_time() ? ToMicros(a.cut_time()) : INT64_MIN;
  const int64_t tb = b.has_cut_time() ? ToMicros(b.cut_time()) : INT64_MIN;
  return ta > tb;
}

// Whether `status` refuses a programme registered after the point asked about.
bool NotYetRegistered(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::NOT_FOUND) return false;
  const std::optional<google::rpc::ErrorInfo> info =
      errors::ErrorInfoOfDetails(status.error_details());
  return info && info->reason() == errors::reason::kNotYetRegistered;
}

constexpr const char* kPointHelp =
    "The point (at most one; none means the head of the log):\n"
    "  --position N   log position N (0 to the head)\n"
    "  --at TIME      an instant: RFC 3339 (2016-12-25T17:00:00Z) or a date (2016-12-25,\n"
    "                 meaning the end of that day, UTC; today means now)\n"
    "  --week N       the end of week N of --programme's plan (week 1 starts on its\n"
    "                 mobilisation date)\n"
    "The mode: --as-recorded (what the ledger held then; the default for --position and the\n"
    "head) or --as-known (what is now known to have been true then, including facts recorded\n"
    "later; the default for --at and --week).";

constexpr const char* kSinceHelp =
    "The earlier point (one is required): --since-position N, --since TIME or\n"
    "--since-week N, read like --position, --at and --week. The later point: --position,\n"
    "--at or --week (none means the head). --as-recorded or --as-known applies to both\n"
    "points; without one, each point takes its own default.";

}  // namespace

QueryCommands::QueryCommands(CLI::App& app, std::string& server_flag) {
  // One line each in `govledger --help`; the points, modes and examples in the command's own.
  programmes_ = app.add_subcommand(
      "programmes",
      "The organisations and programmes the ledger holds: each programme's projects, rating and "
      "plan week");
  programmes_->footer(
      "The point (none means the head): --position N or --at TIME, read as for the other\n"
      "queries (README, \"Queries\"); --as-recorded or --as-known as theirs.\n\n"
      "Examples:\n  govledger programmes\n  govledger programmes --organisation LPF "
      "--at 2016-12-25");
  status_ = app.add_subcommand(
      "status",
      "A programme's and its projects' ratings, counts per rating, the plan week, and the "
      "programme as registered (SRO, board, tranches)");
  status_->footer(absl::StrCat(kPointHelp,
                               "\n\nExamples:\n  govledger status --programme LPP\n"
                               "  govledger status --programme LPP --week 74\n"
                               "  govledger status --programme LPP --at 2016-12-25 --json"));
  risks_ = app.add_subcommand(
      "risks", "A programme's risk register: open, closed and transferred risks, by rating");
  risks_->footer(absl::StrCat(kPointHelp,
                              "\n\nExamples:\n  govledger risks --programme LPP --week 86\n"
                              "  govledger risks --programme LPP --position 100 --json"));
  scope_ = app.add_subcommand(
      "scope", "A programme's scope map: owners of scope items, adds, transfers, removals");
  scope_->footer(
      absl::StrCat(kPointHelp, "\n\nExample:\n  govledger scope --programme LPP --week 86"));
  benefits_ = app.add_subcommand(
      "benefits", "Forecast, realised and at-closure annual savings per project and programme");
  benefits_->footer(
      absl::StrCat(kPointHelp, "\n\nExample:\n  govledger benefits --programme LPP --week 86"));
  decisions_ = app.add_subcommand(
      "decisions",
      "Decisions of an organisation or programme: status, signatures, delegations, spend");
  decisions_->footer(absl::StrCat(kPointHelp,
                                  "\n\nExamples:\n  govledger decisions --organisation MOPAC\n"
                                  "  govledger decisions --programme LPP --week 86 --json"));
  history_ = app.add_subcommand(
      "history",
      "Every event of one entity, with its times, actor, what it changed and what it says "
      "(reasons, commentary)");
  history_->footer(absl::StrCat(kPointHelp,
                                "\n\nExamples:\n  govledger history risk/LPP-R03\n"
                                "  govledger history project/LPP-INV --programme LPP --week 86\n"
                                "  govledger history decision/MOPAC/PCD-72 --json"));
  compare_ = app.add_subcommand(
      "compare", "What changed for a programme between two points, and the events that explain it");
  compare_->footer(
      absl::StrCat(kSinceHelp, "\n\n", kPointHelp,
                   "\n\nExamples:\n  govledger compare --programme LPP --since-week 74 --week 86\n"
                   "  govledger compare --programme LPP --since-position 40 --json"));
  report_ = app.add_subcommand(
      "report", "The programme update report (Markdown), now and last time, e.g. week 86 since 74");
  report_->footer(absl::StrCat(
      "The report: the programme's rating and its change, projects by rating, open and red\n"
      "risks (the red ones listed), projects closed since and their savings, forecast savings,\n"
      "scope changes, decisions, and every difference with the events that explain it.\n"
      "--json prints it as a ProgrammeReport (proto/govledger/v1/report.proto) in protobuf's\n"
      "JSON mapping: `current` and `previous` each give the programme's rating,\n"
      "projectsByRating, openRisks, redRisks and more (README, \"Queries\").\n\n",
      kSinceHelp, "\n\n", kPointHelp,
      "\n\nExamples:\n  govledger report --programme LPP --week 86 --since-week 74\n"
      "  govledger report --programme LPP --week 86 --since-week 74 --json"));

  for (CLI::App* sub :
       {status_, risks_, scope_, benefits_, decisions_, history_, compare_, report_, programmes_}) {
    sub->add_option("--server", server_flag, "govledgerd address");
    if (sub != programmes_) {
      sub->add_option(
          "--programme", programme_,
          sub == history_     ? "The programme whose plan --week counts (with --week only; for a "
                                "programme's own history, that programme)"
          : sub == decisions_ ? "Only the decisions concerning this programme (and the plan --week "
                                "counts in)"
                              : "Required: the programme's id, e.g. LPP");
    }
    sub->add_option("--position", position_, "Log position (0 to the head)")->type_name("N");
    sub->add_option("--at", at_,
                    "RFC 3339 instant, or YYYY-MM-DD (the end of that day, UTC; today: now)")
        ->type_name("TIME");
    if (sub != programmes_) {
      sub->add_option("--week", week_, "Week of --programme's plan (1 or more)")->type_name("N");
    }
    sub->add_flag("--as-recorded", as_recorded_, "What the ledger held at the point");
    sub->add_flag("--as-known", as_known_, "What is now known to have been true at the point");
    sub->add_option("--known-through", known_through_,
                    "As known: read the log only to position N (what the ledger held true "
                    "when it reached N), corrections included; 0: the head, as without it")
        ->type_name("N");
    sub->add_flag("--json", json_,
                  sub == report_ ? "The report as one JSON object (a ProgrammeReport in protobuf's "
                                                   "JSON mapping; README, \"Queries\")"
                                 : "The answer as one JSON object (protobuf's JSON mapping "
                                   "of the response)");
  }
  decisions_->add_option("--organisation", organisation_,
                         "Only the decisions of this organisation, e.g. MOPAC");
  programmes_->add_option("--organisation", organisation_,
                          "Only this organisation and its programmes, e.g. LPF");
  decisions_->add_option("--split-window", split_window_days_,
                         "Possible splits: decisions proposed within this many days of the one "
                         "before count together (default 90)")
      ->type_name("DAYS")
      ->check(WholeNumberIn(1, 3660));
  decisions_->add_flag("--published-only", published_only_,
                       "The register as a viewer sees it: decisions whose Part 1 is deferred "
                       "withheld, and possible splits among the published ones");
  history_->add_option("ENTITY", entity_, "The entity's stream, e.g. risk/LPP-R03")->required();
  for (CLI::App* sub : {compare_, report_}) {
    sub->add_option("--since-position", since_position_, "The earlier point: a log position")
        ->type_name("N");
    sub->add_option("--since", since_, "The earlier point: an instant (as --at)")
        ->type_name("TIME");
    sub->add_option("--since-week", since_week_, "The earlier point: a week of the plan")
        ->type_name("N");
    sub->add_option("--since-known-through", since_known_through_,
                    "The earlier point, as known: read the log only to position N (then "
                    "--known-through is the later point's alone): what a correction changed "
                    "about the same time")
        ->type_name("N");
  }
}

std::optional<int> QueryCommands::Run(const std::string& server) {
  CLI::App* cmd = nullptr;
  for (CLI::App* sub :
       {status_, risks_, scope_, benefits_, decisions_, history_, compare_, report_, programmes_}) {
    if (sub->parsed()) cmd = sub;
  }
  if (cmd == nullptr) return std::nullopt;

  // Arguments first: every mistake here exits 2 before the server is asked anything (an
  // empty value already did, cli/main.cc).
  if (programme_.empty() && cmd != decisions_ && cmd != history_ && cmd != programmes_) {
    return Fail(kExitBadArgs, absl::StrCat(cmd->get_name(), " needs --programme, e.g. ",
                                           cmd->get_name(), " --programme LPP"));
  }
  if (cmd == decisions_ && organisation_.empty() && programme_.empty()) {
    return Fail(kExitBadArgs, "give --organisation, --programme or both");
  }
  for (const auto& [flag, id] : {std::pair{"--programme", &programme_},
                                 std::pair{"--organisation", &organisation_}}) {
    if (absl::Status bad = projections::CheckId(flag, *id); !id->empty() && !bad.ok()) {
      return Fail(kExitBadArgs, PrintableText(bad.message()));
    }
  }
  if (cmd == history_) {
    if (absl::Status bad = CheckStreamFlag("history: ENTITY", entity_); !bad.ok()) {
      return Fail(kExitBadArgs, std::string(bad.message()));
    }
    // A programme's own history counts --week in its own plan.
    absl::string_view own = entity_;
    if (programme_.empty() && cmd->count("--week") > 0 && absl::ConsumePrefix(&own, "programme/")) {
      programme_ = std::string(own);
    }
  }
  if (as_recorded_ && as_known_) {
    return Fail(kExitBadArgs, "give --as-recorded or --as-known, not both");
  }
  const v1::AsAtMode forced = as_recorded_ ? v1::AS_AT_MODE_AS_RECORDED
                              : as_known_  ? v1::AS_AT_MODE_AS_KNOWN
                                           : v1::AS_AT_MODE_UNSPECIFIED;
  const auto given = [cmd](const char* flag) {  // false for a flag the command does not take
    return cmd->get_option_no_throw(flag) != nullptr && cmd->count(flag) > 0;
  };
  absl::StatusOr<Selector> to =
      SelectorOf({"--position", given("--position"), position_, "--at", given("--at"), at_,
                  cmd == programmes_ ? nullptr : "--week", given("--week"), week_},
                 programme_, forced);
  if (!to.ok()) return Fail(kExitBadArgs, std::string(to.status().message()));
  std::optional<Selector> from;
  if (cmd == compare_ || cmd == report_) {
    if (!given("--since-position") && !given("--since") && !given("--since-week")) {
      return Fail(kExitBadArgs,
                  "give the earlier point: --since-week N, --since-position N or --since TIME");
    }
    absl::StatusOr<Selector> since =
        SelectorOf({"--since-position", given("--since-position"), since_position_, "--since",
                    given("--since"), since_, "--since-week", given("--since-week"), since_week_},
                   programme_, forced);
    if (!since.ok()) return Fail(kExitBadArgs, std::string(since.status().message()));
    from = *since;
  }
  // --known-through bounds both points' reading, or the later one's alone when the earlier
  // has its own (--since-known-through: the same time as believed before and after a
  // correction, say).
  const bool since_own = from && given("--since-known-through");
  for (const auto& [flag, text, points] :
       {std::tuple<const char*, const std::string*, std::vector<Selector*>>{
            "--known-through", &known_through_, {&*to, from && !since_own ? &*from : nullptr}},
        {"--since-known-through", &since_known_through_, {since_own ? &*from : nullptr}}}) {
    if (!given(flag)) continue;
    uint64_t through = 0;
    if (!ParseWholeNumber(*text, std::numeric_limits<uint64_t>::max(), &through)) {
      return Fail(kExitBadArgs, absl::StrCat(flag, " '", PrintableText(*text),
                                             "' is not a log position: give a whole number from "
                                             "1 to the head (0: the head)"));
    }
    bool as_known = false;
    for (Selector* s : points) {
      if (s == nullptr || s->as_at.mode() != v1::AS_AT_MODE_AS_KNOWN) continue;
      s->as_at.set_known_through(through);
      as_known = true;
    }
    if (!as_known) {
      return Fail(kExitBadArgs,
                  absl::StrCat(flag, " goes with as known points (--",
                               std::string(flag) != "--known-through" ? "since, --since-week"
                               : cmd == programmes_                   ? "at"
                                                                      : "at, --week",
                               ", or --as-known): as recorded, the point bounds what is read"));
    }
  }
  if (cmd == history_ && !programme_.empty() && !given("--week")) {
    return Fail(kExitBadArgs,
                "history takes --programme only with --week (it names the plan the week "
                "counts in)");
  }

  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto query = v1::QueryService::NewStub(channel);
  // A point with no flags is the head, read once so that all of a report's calls ask about the
  // same position; so is what a report's or a comparison's as known points read (appends
  // landing between its calls would otherwise show in some sections and not others, and an
  // earlier point as known would read past a later one pinned to the head read before).
  auto unpinned = [](const Selector* s) {
    return s != nullptr && s->as_at.mode() == v1::AS_AT_MODE_AS_KNOWN &&
           s->as_at.known_through() == 0;
  };
  Selector* const from_selector = from ? &*from : nullptr;
  const bool pin =
      (cmd == report_ || cmd == compare_) && (unpinned(&*to) || unpinned(from_selector));
  if (to->head || (from && from->head) || pin) {
    auto ledger = v1::LedgerService::NewStub(channel);
    auto context = NewCallContext();
    v1::GetHeadResponse head;
    grpc::Status s = ledger->GetHead(context.get(), v1::GetHeadRequest(), &head);
    if (!s.ok()) return FailCall(server, s);
    if (to->head) to->as_at.set_position(head.position());
    if (from && from->head) from->as_at.set_position(head.position());
    if (pin) {
      for (Selector* s : {&*to, from_selector}) {
        if (unpinned(s)) s->as_at.set_known_through(head.position());
      }
    }
  }
  const bool colour = !json_ && StdoutWantsColour();

  if (cmd == programmes_) {
    v1::ListProgrammesRequest request;
    request.set_organisation_id(organisation_);
    *request.mutable_as_at() = to->as_at;
    v1::ListProgrammesResponse response;
    grpc::Status s = Call(*query, &v1::QueryService::Stub::ListProgrammes, request, &response);
    if (!s.ok()) return FailCall(server, s);
    // The point as given, for the hint: `status` at the same point.
    std::string point;
    for (const char* flag : {"--position", "--at", "--known-through"}) {
      if (given(flag)) {
        absl::StrAppend(&point, " ", flag, " ",
                        flag == std::string("--position") ? position_
                        : flag == std::string("--at")     ? at_
                                                          : known_through_);
      }
    }
    if (as_recorded_) absl::StrAppend(&point, " --as-recorded");
    if (as_known_) absl::StrAppend(&point, " --as-known");
    return Answer(json_, response, [&](const auto& r) { return ProgrammesView(r, colour, point); });
  }
  if (cmd == status_) {
    v1::GetProgrammeStatusRequest request;
    request.set_programme_id(programme_);
    *request.mutable_as_at() = to->as_at;
    v1::GetProgrammeStatusResponse response;
    grpc::Status s = Call(*query, &v1::QueryService::Stub::GetProgrammeStatus, request, &response);
    if (!s.ok()) return FailCall(server, s);
    return Answer(json_, response, [&](const auto& r) { return StatusView(r, colour); });
  }
  if (cmd == risks_) {
    v1::GetRiskRegisterRequest request;
    request.set_programme_id(programme_);
    *request.mutable_as_at() = to->as_at;
    v1::GetRiskRegisterResponse response;
    grpc::Status s = Call(*query, &v1::QueryService::Stub::GetRiskRegister, request, &response);
    if (!s.ok()) return FailCall(server, s);
    return Answer(json_, response,
                  [&](const auto& r) { return RisksView(programme_, r, colour); });
  }
  if (cmd == scope_) {
    v1::GetScopeMapRequest request;
    request.set_programme_id(programme_);
    *request.mutable_as_at() = to->as_at;
    v1::GetScopeMapResponse response;
    grpc::Status s = Call(*query, &v1::QueryService::Stub::GetScopeMap, request, &response);
    if (!s.ok()) return FailCall(server, s);
    return Answer(json_, response,
                  [&](const auto& r) { return ScopeView(programme_, r, colour); });
  }
  if (cmd == benefits_) {
    v1::GetBenefitsRequest request;
    request.set_programme_id(programme_);
    *request.mutable_as_at() = to->as_at;
    v1::GetBenefitsResponse response;
    grpc::Status s = Call(*query, &v1::QueryService::Stub::GetBenefits, request, &response);
    if (!s.ok()) return FailCall(server, s);
    return Answer(json_, response,
                  [&](const auto& r) { return BenefitsView(programme_, r, colour); });
  }
  if (cmd == decisions_) {
    v1::GetDecisionRegisterRequest request;
    request.set_organisation_id(organisation_);
    request.set_programme_id(programme_);
    request.set_split_window_days(split_window_days_);
    request.set_published_only(published_only_);
    *request.mutable_as_at() = to->as_at;
    v1::GetDecisionRegisterResponse response;
    grpc::Status s = Call(*query, &v1::QueryService::Stub::GetDecisionRegister, request, &response);
    if (!s.ok()) return FailCall(server, s);
    return Answer(json_, response, [&](const auto& r) {
      return DecisionsView(organisation_, programme_, r, colour);
    });
  }
  if (cmd == history_) {
    // In pages, so that a history larger than one gRPC message is shown too; every page
    // answers at the first page's cut, and they are put back together here.
    v1::GetEntityHistoryRequest request;
    request.set_stream_id(entity_);
    *request.mutable_as_at() = to->as_at;
    request.set_page_size(kHistoryPageSize);
    v1::GetEntityHistoryResponse response;
    for (bool first = true;; first = false) {
      v1::GetEntityHistoryResponse page;
      grpc::Status s = Call(*query, &v1::QueryService::Stub::GetEntityHistory, request, &page);
      if (!s.ok()) return FailCall(server, s);
      if (first) {
        response = std::move(page);
      } else {
        response.mutable_changes()->MergeFrom(page.changes());
        response.mutable_voided()->MergeFrom(page.voided());
        response.set_next_page_token(page.next_page_token());
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
      response.clear_next_page_token();
    }
    return Answer(json_, response, [&](const auto& r) {
      return HistoryView(
          entity_, r, colour,
          week_.empty() ? "" : absl::StrCat(week_, " of programme ", programme_, "'s plan"));
    });
  }

  v1::CompareRequest compare;
  compare.set_programme_id(programme_);
  *compare.mutable_from() = from->as_at;
  *compare.mutable_to() = to->as_at;
  ReportInputs in;
  in.programme_id = programme_;
  grpc::Status s = Call(*query, &v1::QueryService::Stub::Compare, compare, &in.compare);
  if (!s.ok()) return FailCall(server, s);
  // Otherwise BEFORE and AFTER would be the wrong way round.
  if (After(in.compare.from(), in.compare.to())) {
    return Fail(kExitBadArgs,
                absl::StrCat("the earlier point (", PointText(in.compare.from()), ") is after the ",
                             cmd == compare_ ? "later" : "report's", " point (",
                             PointText(in.compare.to()),
                             "); give an earlier --since-week, --since-position or --since",
                             in.compare.from().mode() != in.compare.to().mode()
                                 ? " (a position is a point in when events were recorded, the "
                                   "other a point in when facts took effect: pair "
                                   "--since-position with --position, or --since-week and "
                                   "--since with --week and --at)"
                                 : ""));
  }
  // An earlier point that reads the log further than the later one (as known, or as recorded
  // against a later point as known read to less): facts recorded in between would show as
  // known before and gone after (two points as recorded are in order by After).
  const uint64_t later_reads = in.compare.to().position();
  if (in.compare.from().position() > later_reads) {
    const bool earlier_as_known = in.compare.from().mode() == v1::AS_AT_MODE_AS_KNOWN;
    const bool later_as_known = in.compare.to().mode() == v1::AS_AT_MODE_AS_KNOWN;
    std::string mend;
    if (earlier_as_known && later_as_known) {
      mend = absl::StrCat("Give --since-known-through ", later_reads,
                          " or less, or --known-through alone (both points then read as far)");
    } else if (earlier_as_known) {
      mend = absl::StrCat("Give --known-through ", later_reads,
                          " (the earlier point then reads as far), or pair --since-position "
                          "with --position");
    } else {
      mend = absl::StrCat("Give an earlier --since-position, or --known-through ",
                          in.compare.from().position(), " or more");
    }
    return Fail(kExitBadArgs,
                absl::StrCat("the earlier point (", PointText(in.compare.from()),
                             ") reads the log to position ", in.compare.from().position(),
                             ", past the ", cmd == compare_ ? "later" : "report's", " point (",
                             PointText(in.compare.to()), "): what was recorded after position ",
                             later_reads, " would show as known before and gone after. ", mend));
  }
  if (cmd == compare_) {
    return Answer(json_, in.compare,
                  [&](const auto& r) { return CompareView(programme_, r, colour); });
  }
  for (auto [point, as_at] :
       {std::pair{&in.current, &to->as_at}, std::pair{&in.previous, &from->as_at}}) {
    v1::GetProgrammeStatusRequest status;
    status.set_programme_id(programme_);
    *status.mutable_as_at() = *as_at;
    v1::GetRiskRegisterRequest risks;
    risks.set_programme_id(programme_);
    *risks.mutable_as_at() = *as_at;
    v1::GetBenefitsRequest benefits;
    benefits.set_programme_id(programme_);
    *benefits.mutable_as_at() = *as_at;
    v1::GetScopeMapRequest scope;
    scope.set_programme_id(programme_);
    *scope.mutable_as_at() = *as_at;
    v1::GetDecisionRegisterRequest decisions;
    decisions.set_programme_id(programme_);
    *decisions.mutable_as_at() = *as_at;
    // In order, stopping at the first refusal.
    grpc::Status call =
        Call(*query, &v1::QueryService::Stub::GetProgrammeStatus, status, &point->status);
    if (point == &in.previous && NotYetRegistered(call)) {
      // A report since before the programme existed ("since the start"): nothing then, and
      // everything since is new.
      in.registered_since = true;
      *in.previous.status.mutable_as_at() = in.compare.from();
      continue;
    }
    if (call.ok())
      call = Call(*query, &v1::QueryService::Stub::GetRiskRegister, risks, &point->risks);
    if (call.ok()) {
      call = Call(*query, &v1::QueryService::Stub::GetBenefits, benefits, &point->benefits);
    }
    if (call.ok()) call = Call(*query, &v1::QueryService::Stub::GetScopeMap, scope, &point->scope);
    if (call.ok()) {
      call =
          Call(*query, &v1::QueryService::Stub::GetDecisionRegister, decisions, &point->decisions);
    }
    if (!call.ok()) return FailCall(server, call);
  }
  if (json_) return PrintJson(ReportMessage(in));
  for (google::protobuf::Message* answer :
       std::initializer_list<google::protobuf::Message*>{
           &in.compare, &in.current.status, &in.current.risks, &in.current.benefits,
           &in.current.scope, &in.current.decisions, &in.previous.status, &in.previous.risks,
           &in.previous.benefits, &in.previous.scope, &in.previous.decisions}) {
    MakePrintable(answer, LineBreaks::kKeep);  // MarkdownText turns them into spaces
  }
  return Print(ReportMarkdown(in));
}

}  // namespace govledger::cli
