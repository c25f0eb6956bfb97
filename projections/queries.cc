#include "projections/queries.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/arena.h"
#include "govledger/internal/snapshot.pb.h"
#include "ledger/common/errors.h"
#include "ledger/common/names.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "projections/as_at.h"
#include "projections/corrections.h"
#include "projections/governance_state.h"
#include "projections/publication.h"
#include "projections/streams.h"

namespace govledger::projections {
namespace {

// A selector resolved and folded.
struct Folded {
  Cut cut;
  // The events folded, by position, in fold order (from position 1, even when
  // the fold started from a snapshot).
  std::vector<uint64_t> positions;
  GovernanceState state{/*remember_events=*/false};
  v1::ResolvedAsAt resolved;
};

}  // namespace

// Which events an answer may fold: every event (kAll), a programme's
// (ProgrammeIndex::PositionsFor), the decision register's, or one stream's and
// those that concern every programme.
struct Scope {
  // kGlobal: the events that concern every programme (organisations, keys, delegation rules).
  enum Kind { kAll, kProgramme, kDecisions, kStream, kGlobal };
  Kind kind = kAll;
  std::string id;  // programme id (kProgramme, kDecisions: "" for none), stream
};

// Where answers get their folds and events: the whole log in memory
// (VectorFolder), or a ProgrammeIndex, an EventSource and snapshots
// (IndexFolder).
class Folder {
 public:
  explicit Folder(int64_t now_micros) : now_micros_(now_micros) {}
  virtual ~Folder() = default;
  int64_t now_micros() const { return now_micros_; }
  virtual const Timeline& timeline() const = 0;
  // Every position of `scope`'s the log holds, voided events included, in position order:
  // those Select chooses among.
  virtual absl::StatusOr<std::vector<uint64_t>> Candidates(const Scope& scope) = 0;
  // The positions `cut` folds among `scope`'s, in fold order.
  virtual absl::StatusOr<std::vector<uint64_t>> Select(const Cut& cut,
                                                       const Scope& scope) = 0;
  // The events at `positions` (in that order) on streams of `kind` (all when
  // unset).
  virtual absl::StatusOr<std::vector<v1::Event>> Events(
      const std::vector<uint64_t>& positions,
      std::optional<StreamKind> kind) = 0;

  // Whether the whole log holds an event on `stream`.
  virtual absl::StatusOr<bool> StreamHasEvents(absl::string_view stream) = 0;
  // The position of the event with this id (any case), if the log holds it.
  virtual absl::StatusOr<std::optional<uint64_t>> FindEvent(absl::string_view event_id) = 0;

  absl::StatusOr<Cut> Resolve(const v1::AsAt& as_at) {
    return ResolveAsAt(as_at, timeline(), now_micros_);
  }
  // Resolves, selects and folds.
  virtual absl::StatusOr<std::unique_ptr<Folded>> Fold(const v1::AsAt& as_at,
                                                       const Scope& scope) {
    auto out = std::make_unique<Folded>();
    ASSIGN_OR_RETURN(out->cut, Resolve(as_at));
    ASSIGN_OR_RETURN(out->positions, Select(out->cut, scope));
    ASSIGN_OR_RETURN(std::vector<v1::Event> events,
                     Events(out->positions, std::nullopt));
    for (const v1::Event& e : events) {
      out->state.Apply(e, GovernanceState::Mode::kReplay).IgnoreError();
    }
    out->resolved = DescribeCut(out->cut, timeline(), out->positions.size());
    return out;
  }

 protected:
  const int64_t now_micros_;
};

namespace {

// The whole log in memory: every answer folds from position 1.
class VectorFolder final : public Folder {
 public:
  VectorFolder(const std::vector<v1::Event>& log, int64_t now_micros)
      : Folder(now_micros), log_(log), timeline_(log) {}
  const Timeline& timeline() const override { return timeline_; }
  absl::StatusOr<std::vector<uint64_t>> Candidates(const Scope&) override {
    std::vector<uint64_t> out(log_.size());
    std::iota(out.begin(), out.end(), uint64_t{1});
    return out;
  }
  absl::StatusOr<std::vector<uint64_t>> Select(const Cut& cut,
                                               const Scope&) override {
    std::vector<uint64_t> out;
    for (const v1::Event* e : SelectEvents(log_, cut))
      out.push_back(e->position());
    return out;
  }
  absl::StatusOr<std::vector<v1::Event>> Events(
      const std::vector<uint64_t>& positions,
      std::optional<StreamKind> kind) override {
    std::vector<v1::Event> out;
    for (uint64_t p : positions) {
      const v1::Event& e = log_[p - 1];
      if (!kind || KindOfStream(e.stream_id()) == *kind) out.push_back(e);
    }
    return out;
  }
  absl::StatusOr<bool> StreamHasEvents(absl::string_view stream) override {
    return std::any_of(log_.begin(), log_.end(), [&](const v1::Event& e) {
      return e.stream_id() == stream;
    });
  }
  absl::StatusOr<std::optional<uint64_t>> FindEvent(absl::string_view event_id) override {
    for (const v1::Event& e : log_) {
      if (absl::EqualsIgnoreCase(e.event_id(), event_id)) return e.position();
    }
    return std::nullopt;
  }

 private:
  const std::vector<v1::Event>& log_;
  VectorTimeline timeline_;
};

absl::Status CheckProgrammeId(const std::string& id) { return CheckId("programme_id", id); }

// For a cut whose log is read only to known_through: that a later bound may be what is wanted.
std::string KnownThroughHint(const Cut& cut) {
  if (cut.known_through == 0) return "";
  return absl::StrCat(", or a later known_through (the log was read only to position ",
                      cut.known_through, ")");
}

// The programme at the cut: NOT_FOUND when the ledger does not hold it, or not
// yet.
absl::StatusOr<const WorkState*> ProgrammeAt(const Folder& folder,
                                             const Folded& f,
                                             const std::string& id) {
  if (const WorkState* w = f.state.FindProgramme(id)) return w;
  absl::StatusOr<v1::ProgrammeRegistered> registered =
      folder.timeline().FindProgrammeRegistration(id);
  if (!registered.ok()) return registered.status();
  const bool timed = f.cut.micros && *f.cut.micros != INT64_MIN;
  // As recorded, a week or date of the plan may fall before the ledger recorded anything (a
  // history keyed in years later): say so, and where the answer is.
  std::string recorded_hint;
  if (f.cut.mode == v1::AS_AT_MODE_AS_RECORDED) {
    const Timeline& timeline = folder.timeline();
    const bool before_first =
        timed && timeline.head() > 0 && *f.cut.micros < timeline.RecordedMicros(1);
    recorded_hint = absl::StrCat(
        before_first ? absl::StrCat(" (the ledger recorded nothing before ",
                                    FormatRfc3339(timeline.RecordedMicros(1)), ")")
                     : "",
        ", or ask as known (AS_AT_MODE_AS_KNOWN; the CLI's --as-known) for what is now known "
        "to have been true then");
  }
  return errors::WithReason(
      absl::NotFoundError(absl::StrCat(
          "programme '", id, "' is not yet registered as at this cut",
          timed ? absl::StrCat(" (", FormatRfc3339(*f.cut.micros), ")")
          : f.cut.mode == v1::AS_AT_MODE_AS_KNOWN
              ? std::string(" (position 0, before the ledger recorded anything)")
              : std::string(),
          "; choose a later position, time or week", KnownThroughHint(f.cut), recorded_hint)),
      errors::reason::kNotYetRegistered, {{"programme", id}});
}

bool InProgramme(const GovernanceState& s, const v1::WorkRef& ref,
                 const std::string& p) {
  const WorkState* w = s.FindWork(ref);
  return w != nullptr && w->programme_id == p;
}

// `w`'s status, its effective plan week by `plan`, the programme's registration.
v1::WorkStatus StatusOf(const WorkState& w, const v1::ProgrammeRegistered& plan) {
  v1::WorkStatus out;
  *out.mutable_ref() = w.ref;
  out.set_name(w.ref.kind() == v1::WORK_KIND_PROGRAMME ? w.programme.name()
                                                       : w.project.name());
  out.set_closed(w.closed);
  for (const std::string& gate : w.gates_passed) out.add_gates_passed(gate);
  for (const std::string& milestone : w.milestones) out.add_milestones(milestone);
  out.set_rated(w.has_status);
  if (w.has_status) {
    out.set_rag(w.last_status.rag());
    out.set_delivery_confidence(w.last_status.delivery_confidence());
    out.set_reported_plan_week(w.last_status.plan_week());
    out.set_commentary(w.last_status.commentary());
    out.set_reported_source(w.status_source);
    if (w.status_micros != kUnknownTime) {
      SetMicros(w.status_micros, out.mutable_reported_time());
      out.set_effective_plan_week(PlanWeekAt(plan, w.status_micros));
    }
  }
  if (w.has_update) {
    v1::StatusUpdate* update = out.mutable_update();
    update->set_plan_week(w.last_update.plan_week());
    update->set_commentary(w.last_update.commentary());
    update->set_source(w.update_source);
    if (w.update_micros != kUnknownTime) {
      SetMicros(w.update_micros, update->mutable_reported_time());
      update->set_effective_plan_week(PlanWeekAt(plan, w.update_micros));
    }
  }
  return out;
}

// The ids (keys) of a state's entities of one kind, sorted.
template <typename Map>
std::set<std::string> IdsOf(const Map& entities) {
  std::set<std::string> out;
  for (const auto& [id, unused] : entities) out.insert(id);
  return out;
}

Scope ProgrammeScope(const std::string& programme_id) {
  return Scope{Scope::kProgramme, programme_id};
}

// One programme's answer: `programme_id` checked, the programme's events
// folded at `as_at`, and the programme as registered at that cut.
struct ProgrammeFold {
  std::unique_ptr<Folded> folded;
  const WorkState* programme = nullptr;
};
absl::StatusOr<ProgrammeFold> FoldProgramme(Folder& folder,
                                            const v1::AsAt& as_at,
                                            const std::string& programme_id) {
  RETURN_IF_ERROR(CheckProgrammeId(programme_id));
  ProgrammeFold out;
  ASSIGN_OR_RETURN(out.folded, folder.Fold(as_at, ProgrammeScope(programme_id)));
  ASSIGN_OR_RETURN(out.programme, ProgrammeAt(folder, *out.folded, programme_id));
  return out;
}

void AddRagCounts(const std::map<v1::Rag, int>& counts,
                  google::protobuf::RepeatedPtrField<v1::RagCount>* out) {
  std::vector<v1::Rag> order = {v1::RAG_GREEN, v1::RAG_AMBER, v1::RAG_RED, v1::RAG_UNSPECIFIED};
  // Then ratings this version does not know (a newer govledgerd's), so that every open project
  // is counted somewhere.
  for (const auto& [r, n] : counts) {
    if (!v1::Rag_IsValid(r)) order.push_back(r);
  }
  for (v1::Rag r : order) {
    auto it = counts.find(r);
    if (it == counts.end() || it->second == 0) continue;
    v1::RagCount* c = out->Add();
    c->set_rag(r);
    c->set_count(it->second);
  }
}

// The risk's status relative to programme `p`: open or closed while it is the programme's (or
// one of its projects'), transferred out once the programme or a project of it held the risk
// and passed it on; UNSPECIFIED when it never was the programme's.
v1::RiskStatus RiskStatusIn(const GovernanceState& s, const RiskState& r,
                            const std::string& p) {
  if (InProgramme(s, r.subject, p))
    return r.open ? v1::RISK_STATUS_OPEN : v1::RISK_STATUS_CLOSED;
  for (const v1::WorkRef& held : r.earlier_subjects) {
    if (InProgramme(s, held, p)) return v1::RISK_STATUS_TRANSFERRED_OUT;
  }
  return v1::RISK_STATUS_UNSPECIFIED;
}

// The risk's last departure from programme `p` once it is transferred out (RiskStatusIn), else
// null: the programme's comparisons show it as it left, not what later holders did with it.
const Departure* DepartedFrom(const GovernanceState& s, const RiskState& r, const std::string& p) {
  if (RiskStatusIn(s, r, p) != v1::RISK_STATUS_TRANSFERRED_OUT) return nullptr;
  auto it = r.departures.find(p);
  return it == r.departures.end() ? nullptr : &it->second;
}

}  // namespace

static absl::StatusOr<v1::GetProgrammeStatusResponse> QueryProgrammeStatusImpl(
    Folder& folder, const v1::GetProgrammeStatusRequest& request) {
  ASSIGN_OR_RETURN(ProgrammeFold pf, FoldProgramme(folder, request.as_at(),
                                                    request.programme_id()));

  v1::GetProgrammeStatusResponse out;
  *out.mutable_as_at() = pf.folded->resolved;
  const v1::ProgrammeRegistered& plan = pf.programme->programme;
  *out.mutable_programme() = StatusOf(*pf.programme, plan);
  std::map<v1::Rag, int> counts;
  std::map<v1::DeliveryConfidence, int> confidences;
  for (const WorkState* w : pf.folded->state.ProjectsOf(request.programme_id())) {
    *out.add_projects() = StatusOf(*w, plan);
    // A project is open only while it and its programme are.
    if (w->closed || pf.programme->closed) continue;
    ++counts[w->has_status ? w->last_status.rag() : v1::RAG_UNSPECIFIED];
    if (w->has_status) ++confidences[w->last_status.delivery_confidence()];
  }
  AddRagCounts(counts, out.mutable_project_rag_counts());
  for (const auto& [confidence, n] : confidences) {  // in the enum's order, GREEN first
    if (confidence == v1::DELIVERY_CONFIDENCE_UNSPECIFIED) continue;
    v1::ConfidenceCount* c = out.add_project_confidence_counts();
    c->set_delivery_confidence(confidence);
    c->set_count(n);
  }
  out.set_planned_weeks(pf.programme->programme.planned_weeks());
  *out.mutable_registration() = pf.programme->programme;
  for (const WorkState::Replan& r : pf.programme->replans) {
    v1::ReplanEntry* entry = out.add_replans();
    if (r.micros != kUnknownTime) SetMicros(r.micros, entry->mutable_effective_time());
    *entry->mutable_replan() = r.replan;
  }
  if (!pf.programme->replans.empty()) *out.mutable_as_registered() = pf.programme->as_registered;
  if (pf.folded->cut.micros && *pf.folded->cut.micros != INT64_MIN) {
    out.set_plan_week(PlanWeekAt(pf.programme->programme, *pf.folded->cut.micros));
  }
  return out;
}

static absl::StatusOr<v1::GetRiskRegisterResponse> QueryRiskRegisterImpl(
    Folder& folder, const v1::GetRiskRegisterRequest& request) {
  const std::string& p = request.programme_id();
  ASSIGN_OR_RETURN(ProgrammeFold pf, FoldProgramme(folder, request.as_at(), p));
  const GovernanceState& s = pf.folded->state;

  v1::GetRiskRegisterResponse out;
  *out.mutable_as_at() = pf.folded->resolved;
  std::map<v1::Rag, int> open_by_rating;
  // Counts by current subject's stream.
  std::map<std::string, v1::SubjectRiskCount> by_subject;
  auto subject_count = [&](const v1::WorkRef& ref) -> v1::SubjectRiskCount& {
    v1::SubjectRiskCount& c =
        by_subject[absl::StrCat(static_cast<int>(ref.kind()), "/", ref.id())];
    *c.mutable_subject() = ref;
    return c;
  };
  subject_count(pf.programme->ref);
  for (const WorkState* w : s.ProjectsOf(p)) subject_count(w->ref);
  for (const std::string& id : IdsOf(s.risks())) {
    const RiskState* r = s.FindRisk(id);
    if (r == nullptr) continue;
    const v1::RiskStatus status = RiskStatusIn(s, *r, p);
    if (status == v1::RISK_STATUS_UNSPECIFIED) continue;
    v1::RiskEntry* e = out.add_risks();
    e->set_risk_id(id);
    e->set_title(r->opened.title());
    e->set_description(r->opened.description());
    e->set_owner(r->opened.owner());
    // A risk the programme passed on, as it left (as Compare shows it).
    const Departure* left = DepartedFrom(s, *r, p);
    *e->mutable_subject() = left != nullptr ? left->to : r->subject;
    *e->mutable_opened_against() = r->opened.subject();
    e->set_rating(left != nullptr ? left->rating : r->rating);
    e->set_status(status);
    // Closed by its new holder after it left: not this register's closure.
    if (left == nullptr) e->set_closed_reason(r->closed_reason);
    e->set_rating_source(left != nullptr ? left->rating_source : r->rating_source);
    if (status == v1::RISK_STATUS_CLOSED) e->set_status_source(r->closed_source);
    if (left != nullptr) e->set_status_source(left->source);
    if (left == nullptr) e->set_subject_source(r->subject_source);
    switch (status) {
      case v1::RISK_STATUS_OPEN: {
        out.set_open(out.open() + 1);
        if (r->rating == v1::RAG_RED) out.set_open_red(out.open_red() + 1);
        ++open_by_rating[r->rating];
        v1::SubjectRiskCount& c = subject_count(r->subject);
        c.set_open(c.open() + 1);
        if (r->rating == v1::RAG_RED) c.set_open_red(c.open_red() + 1);
        break;
      }
      case v1::RISK_STATUS_CLOSED: {
        out.set_closed(out.closed() + 1);
        v1::SubjectRiskCount& c = subject_count(r->subject);
        c.set_closed(c.closed() + 1);
        break;
      }
      default: {
        out.set_transferred_out(out.transferred_out() + 1);
        // Counted against the last of the programme's subjects that held it.
        for (auto it = r->earlier_subjects.rbegin(); it != r->earlier_subjects.rend(); ++it) {
          if (!InProgramme(s, *it, p)) continue;
          v1::SubjectRiskCount& c = subject_count(*it);
          c.set_transferred_out(c.transferred_out() + 1);
          break;
        }
      }
    }
  }
  AddRagCounts(open_by_rating, out.mutable_open_by_rating());
  // Programme first (kind 1 sorts before kind 2), then projects by id.
  for (auto& [key, c] : by_subject) *out.add_by_subject() = c;
  return out;
}

namespace {

v1::EventRef RefOf(const v1::Event& e) {
  v1::EventRef out;
  out.set_position(e.position());
  out.set_event_id(e.event_id());
  out.set_stream_id(e.stream_id());
  out.set_event_type(e.event_type());
  *out.mutable_recorded_time() = e.recorded_time();
  *out.mutable_effective_time() = e.effective_time();
  out.set_actor(e.actor());
  out.set_source(e.source());
  return out;
}

// "AMBER", "GREEN, delivery confidence AMBER/GREEN", "delivery confidence AMBER/RED".
std::string RatingText(const WorkState* w) {
  if (w == nullptr || !w->has_status) return "";
  std::string out = RagText(w->last_status.rag());
  if (w->last_status.delivery_confidence() != v1::DELIVERY_CONFIDENCE_UNSPECIFIED) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "delivery confidence ",
                    ConfidenceText(w->last_status.delivery_confidence()));
  }
  return out;
}

// The latest report without a rating: "week 38" of the plan; "" when there is none.
std::string UpdateText(const WorkState* w) {
  if (w == nullptr || !w->has_update) return "";
  return absl::StrCat("week ", w->last_update.plan_week());
}

std::string ClosedText(const WorkState* w) {
  if (w == nullptr) return "";
  return w->closed ? "closed" : "open";
}

// A closed project's closure figures, "final cost £2,100,000.00; benefits £3,000,000.00 a year"
// ("not stated" for a figure left out); "" while open.
std::string ClosureText(const WorkState* w) {
  if (w == nullptr || !w->closed || w->ref.kind() != v1::WORK_KIND_PROJECT) return "";
  auto figure = [](bool stated, int64_t pence, absl::string_view per) {
    return stated ? absl::StrCat(FormatPence(pence), per) : std::string("not stated");
  };
  return absl::StrCat("final cost ",
                      figure(w->closure.has_final_cost_pence(), w->closure.final_cost_pence(), ""),
                      "; benefits ",
                      figure(w->closure.has_annual_benefits_pence(),
                             w->closure.annual_benefits_pence(), " a year"));
}

std::string BenefitText(const WorkState* w, const std::string& id) {
  if (w == nullptr) return "";
  auto it = w->benefits.find(id);
  if (it == w->benefits.end()) return "";
  const BenefitState& b = it->second;
  std::vector<std::string> parts;
  if (b.has_forecast) {
    parts.push_back(absl::StrCat("forecast ", b.forecast_has_amount
                                                  ? FormatPence(b.forecast_annual_pence)
                                                  : std::string("with no figure")));
  }
  if (b.has_realised) {
    parts.push_back(absl::StrCat("realised ", b.realised_has_amount
                                                  ? FormatPence(b.realised_annual_pence)
                                                  : std::string("with no figure")));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

std::string ScopeStatusText(v1::ScopeStatus status) {
  switch (status) {
    case v1::SCOPE_STATUS_IN_SCOPE:
      return "in scope";
    case v1::SCOPE_STATUS_REMOVED:
      return "removed";
    case v1::SCOPE_STATUS_TRANSFERRED_OUT:
      return "transferred out";
    default:
      return "";
  }
}

std::string DecisionStatusText(v1::DecisionStatus status) {
  switch (status) {
    case v1::DECISION_STATUS_PENDING:
      return "pending";
    case v1::DECISION_STATUS_APPROVED:
      return "approved";
    case v1::DECISION_STATUS_REJECTED:
      return "rejected";
    case v1::DECISION_STATUS_WITHDRAWN:
      return "withdrawn";
    default:
      return "";
  }
}

std::string RagText(v1::Rag rag) {
  switch (rag) {
    case v1::RAG_GREEN:
      return "GREEN";
    case v1::RAG_AMBER:
      return "AMBER";
    case v1::RAG_RED:
      return "RED";
    case v1::RAG_UNSPECIFIED:
      return "";
    default:  // a newer govledgerd's
      return absl::StrCat("unknown (", static_cast<int>(rag), ")");
  }
}

std::string RiskRatingText(v1::Rag rag) {
  return rag == v1::RAG_UNSPECIFIED ? "not rated" : RagText(rag);
}

std::string ConfidenceText(v1::DeliveryConfidence confidence) {
  switch (confidence) {
    case v1::DELIVERY_CONFIDENCE_GREEN:
      return "GREEN";
    case v1::DELIVERY_CONFIDENCE_AMBER_GREEN:
      return "AMBER/GREEN";
    case v1::DELIVERY_CONFIDENCE_AMBER:
      return "AMBER";
    case v1::DELIVERY_CONFIDENCE_AMBER_RED:
      return "AMBER/RED";
    case v1::DELIVERY_CONFIDENCE_RED:
      return "RED";
    case v1::DELIVERY_CONFIDENCE_UNSPECIFIED:
      return "";
    default:  // a newer govledgerd's
      return absl::StrCat("unknown (", static_cast<int>(confidence), ")");
  }
}

std::string RiskStatusText(v1::RiskStatus s) {
  switch (s) {
    case v1::RISK_STATUS_OPEN:
      return "open";
    case v1::RISK_STATUS_CLOSED:
      return "closed";
    case v1::RISK_STATUS_TRANSFERRED_OUT:
      return "transferred out";
    default:
      return "";
  }
}

namespace {
v1::DecisionStatus DecisionStatusOf(const DecisionState& d);  // below

// "approved", "pending", ... ("" for none).
std::string DecisionText(const DecisionState* d) {
  return d == nullptr ? "" : DecisionStatusText(DecisionStatusOf(*d));
}

// The roles that have signed, in role order ("" for none).
std::string SignedText(const DecisionState* d) {
  if (d == nullptr) return "";
  std::vector<std::string> roles;
  for (const auto& [role, key] : d->signed_roles) roles.push_back(role);
  return absl::StrJoin(roles, ", ");
}

// When `d` was approved (its last required signature's effective time); "" while it is not.
std::string ApprovedText(const DecisionState* d) {
  if (d == nullptr || !d->approved() || d->signed_micros == kUnknownTime) return "";
  return absl::StrCat("effective ", FormatRfc3339(d->signed_micros));
}

// The committed total of `d`'s amounts (noted ones never count), "" for no decision: a
// decision corrected and proposed again for another sum changes it. "no sum" for one that
// approves none (every amount only noted, or none), as the register says, not "£0.00".
std::string AmountText(const DecisionState* d) {
  if (d == nullptr) return "";
  const auto& amounts = d->proposed.amounts();
  if (std::all_of(amounts.begin(), amounts.end(),
                  [](const v1::DecisionAmount& a) { return a.noted_only(); })) {
    return "no sum";
  }
  return FormatPence(CommittedPence(amounts));
}

// Whether `e`, an event on an entity's stream, is of a kind that can change `aspect` of that
// entity (a Difference's aspect): a StatusReported can change a project's "rating", a
// GatePassed its "gate", a MilestoneReached its "milestone", a BenefitForecast of benefit B its
// "benefit:B", and so on. A correction changes what the event it voids did (QueryCompareImpl).
bool CanChange(absl::string_view aspect, const v1::Event& e) {
  absl::string_view type = e.event_type();
  if (!absl::ConsumePrefix(&type, kGovernanceTypePrefix)) return false;
  if (absl::ConsumePrefix(&aspect, "benefit:")) {
    if (type == "BenefitForecast") {
      v1::BenefitForecast m;
      return m.ParseFromString(e.payload()) && m.benefit_id() == aspect;
    }
    if (type == "BenefitRealised") {
      v1::BenefitRealised m;
      return m.ParseFromString(e.payload()) && m.benefit_id() == aspect;
    }
    return false;
  }
  if (type == "StatusReported") {  // a rated report changes the rating, one without the update
    v1::StatusReported m;
    if (!m.ParseFromString(e.payload())) return false;
    const bool rated = m.rag() != v1::RAG_UNSPECIFIED ||
                       m.delivery_confidence() != v1::DELIVERY_CONFIDENCE_UNSPECIFIED;
    return aspect == (rated ? "rating" : "update");
  }
  static const auto* const kTypes = new std::map<absl::string_view, std::set<absl::string_view>>{
      {"registered", {"ProgrammeRegistered", "ProjectRegistered"}},
      {"planned_weeks", {"ProgrammeRegistered", "ProgrammeReplanned"}},
      {"sro", {"ProgrammeRegistered", "ProgrammeReplanned"}},
      {"board", {"ProgrammeRegistered", "ProgrammeReplanned"}},
      {"tranches", {"ProgrammeRegistered", "ProgrammeReplanned"}},
      {"excluded_scope", {"ProgrammeRegistered", "ProgrammeReplanned"}},
      {"state", {"ProgrammeRegistered", "ProjectRegistered", "ProgrammeClosed", "ProjectClosed"}},
      {"rating", {"RiskOpened", "RiskRerated"}},  // a work's: StatusReported, above
      {"gate", {"GatePassed"}},
      {"milestone", {"MilestoneReached"}},
      // A risk's status, or a decision's (only an entity's own events are looked at).
      {"status",
       {"RiskOpened", "RiskClosed", "RiskTransferred", "DecisionProposed", "DecisionSigned",
        "DecisionRejected", "DecisionWithdrawn"}},
      {"subject", {"RiskOpened", "RiskTransferred"}},
      // A scope item's owning work, or a risk's owner (a person).
      {"owner", {"ScopeItemAdded", "ScopeItemRemoved", "ScopeItemTransferred", "RiskOpened"}},
      {"signed", {"DecisionSigned"}},
      {"approved", {"DecisionSigned"}},
      {"amount", {"DecisionProposed"}},
      {"closure", {"ProjectClosed"}},
      {"title", {"RiskOpened"}},
  };
  auto it = kTypes->find(aspect);
  return it != kTypes->end() && it->second.contains(type);
}
using Aspects = std::vector<std::pair<std::string, std::string>>;

void AddAspect(Aspects* out, std::string name, std::string value) {
  if (!value.empty()) out->emplace_back(std::move(name), std::move(value));
}

// A programme's plan, as registered and re-planned since, as aspects: "planned_weeks" (170),
// "sro", "board", "tranches" ("1 (2016-10-03 to 2017-03-31), 2 (...)"), "excluded_scope"
// ("Collaborated functions; Back office functions").
void PlanAspects(const v1::ProgrammeRegistered& plan, Aspects* out) {
  AddAspect(out, "planned_weeks", absl::StrCat(plan.planned_weeks()));
  AddAspect(out, "sro", plan.senior_responsible_owner());
  AddAspect(out, "board", plan.board());
  std::vector<std::string> tranches;
  for (const v1::Tranche& t : plan.tranches()) {
    tranches.push_back(absl::StrCat(t.number(), " (", FormatDate(t.start_date()), " to ",
                                    FormatDate(t.end_date()), ")"));
  }
  AddAspect(out, "tranches", absl::StrJoin(tranches, ", "));
  AddAspect(out, "excluded_scope", absl::StrJoin(plan.excluded_scope(), "; "));
}

// Leaves out of `changed` (a comparison's events of programme `p`, by position) the events of a
// risk or scope item that `p` had passed on at the cut that folds them, folded after its
// departure: they are its new holder's ("shown as it left"). So too a correction folded after
// the departure, unless the event it voids is `p`'s: one kept here (folded at the other cut),
// or, folded at neither, one recorded before the departure (`position_of` finds it). An item
// that came back to `p` is its own again, every event of it kept. `a` and `b` are the two
// cuts' folds (`in_a`: `a`'s positions); every event in `changed` is folded at exactly one.
void LeaveToNewHolders(
    const std::string& p, const Folded& a, const Folded& b,
    const absl::flat_hash_set<uint64_t>& in_a, const std::set<std::string>& risks,
    const std::set<std::string>& scope_items,
    const std::function<std::optional<uint64_t>(const std::string& event_id)>& position_of,
    std::map<uint64_t, const v1::Event*>* changed) {
  struct Passed {
    // Item stream -> the position of its departure from `p`, for items `p` no longer holds.
    absl::flat_hash_map<std::string, uint64_t> departed;
    absl::flat_hash_map<uint64_t, size_t> order;  // position -> index in fold order
  };
  auto passed_at = [&](const Folded& f) {
    Passed out;
    auto note = [&](const std::string& stream, const v1::WorkRef& holder,
                    const std::map<std::string, Departure>& departures) {
      auto it = departures.find(p);
      if (it != departures.end() && !InProgramme(f.state, holder, p)) {
        out.departed[stream] = it->second.position;
      }
    };
    for (const std::string& id : risks) {
      if (const RiskState* r = f.state.FindRisk(id)) note(RiskStream(id), r->subject, r->departures);
    }
    for (const std::string& id : scope_items) {
      if (const ScopeItemState* item = f.state.FindScopeItem(id)) {
        note(ScopeStream(id), item->owner, item->departures);
      }
    }
    if (!out.departed.empty()) {
      for (size_t i = 0; i < f.positions.size(); ++i) out.order[f.positions[i]] = i;
    }
    return out;
  };
  const Passed passed[2] = {passed_at(a), passed_at(b)};
  // Whether `e`, folded by the cut `at`, comes after its item's departure there.
  auto after_departure = [&](const v1::Event& e, const Passed& at) {
    auto d = at.departed.find(e.stream_id());
    if (d == at.departed.end()) return false;
    auto mine = at.order.find(e.position());
    auto left = at.order.find(d->second);
    return mine != at.order.end() && left != at.order.end() && mine->second > left->second;
  };
  const std::string correction_type = absl::StrCat(kGovernanceTypePrefix, "CorrectionRecorded");
  // Lower-case ids of the events other than corrections kept, and of those left out.
  absl::flat_hash_set<std::string> kept_ids, left_ids;
  std::vector<const v1::Event*> corrections;
  for (auto it = changed->begin(); it != changed->end();) {
    const v1::Event& e = *it->second;
    if (e.event_type() == correction_type) {
      corrections.push_back(&e);
      ++it;
    } else if (after_departure(e, passed[in_a.contains(e.position()) ? 0 : 1])) {
      left_ids.insert(absl::AsciiStrToLower(e.event_id()));
      it = changed->erase(it);
    } else {
      kept_ids.insert(absl::AsciiStrToLower(e.event_id()));
      ++it;
    }
  }
  for (const v1::Event* e : corrections) {
    const Passed& at = passed[in_a.contains(e->position()) ? 0 : 1];
    if (!after_departure(*e, at)) continue;
    v1::CorrectionRecorded m;
    if (!m.ParseFromString(e->payload())) continue;
    const std::string voided = absl::AsciiStrToLower(m.corrected_event_id());
    if (kept_ids.contains(voided)) continue;
    if (!left_ids.contains(voided)) {
      const std::optional<uint64_t> position = position_of(voided);
      if (position.has_value() && *position < at.departed.at(e->stream_id())) continue;
    }
    changed->erase(e->position());
  }
}

absl::StatusOr<std::vector<DeferredCitations>> DeferredCitationsOf(Folder& folder);

// The decisions a viewer (a published_only answer) is withheld at the folder's now: those
// whose Part 1 the proposal at the cut defers, and those the proposal standing at the head
// defers. A decision recorded without a deferral, then corrected and proposed again with one,
// is withheld at every cut, as its sources and its history are (WithholdUnpublished).
class Withheld {
 public:
  static absl::StatusOr<Withheld> Of(Folder& folder) {
    ASSIGN_OR_RETURN(std::vector<DeferredCitations> deferred, DeferredCitationsOf(folder));
    Withheld out(folder.now_micros());
    for (DeferredCitations& d : deferred) {
      out.at_head_.emplace(d.stream_id, std::move(d.part1_deferred_until));
    }
    return out;
  }
  // The date until which decision `stream`'s Part 1 is withheld, its deferral at the cut
  // being `at_cut`: the head's while it is to come, else `at_cut` (unpublished or not).
  const v1::Date& Until(const std::string& stream, const v1::Date& at_cut) const {
    const auto head = at_head_.find(stream);
    return head != at_head_.end() && Unpublished(head->second, now_micros_) ? head->second : at_cut;
  }
  bool Contains(const std::string& stream, const v1::Date& at_cut) const {
    return Unpublished(Until(stream, at_cut), now_micros_);
  }

 private:
  explicit Withheld(int64_t now_micros) : now_micros_(now_micros) {}
  int64_t now_micros_;
  absl::flat_hash_map<std::string, v1::Date> at_head_;
};

}  // namespace

static absl::StatusOr<v1::CompareResponse> QueryCompareImpl(
    Folder& folder, const v1::CompareRequest& request) {
  const std::string& p = request.programme_id();
  RETURN_IF_ERROR(CheckProgrammeId(p));
  absl::StatusOr<std::unique_ptr<Folded>> a =
      folder.Fold(request.from(), ProgrammeScope(p));
  if (!a.ok()) return errors::WithContext(a.status(), "from: ");
  absl::StatusOr<std::unique_ptr<Folded>> b =
      folder.Fold(request.to(), ProgrammeScope(p));
  if (!b.ok()) return errors::WithContext(b.status(), "to: ");
  const GovernanceState& sa = (*a)->state;
  const GovernanceState& sb = (*b)->state;
  if (sa.FindProgramme(p) == nullptr && sb.FindProgramme(p) == nullptr) {
    absl::StatusOr<const WorkState*> w = ProgrammeAt(folder, **b, p);
    return w.status();
  }
  // The programme's decisions, folded on their own (a programme's folds leave
  // decision streams out).
  absl::StatusOr<std::unique_ptr<Folded>> da =
      folder.Fold(request.from(), Scope{Scope::kDecisions, p});
  if (!da.ok()) return da.status();
  absl::StatusOr<std::unique_ptr<Folded>> db =
      folder.Fold(request.to(), Scope{Scope::kDecisions, p});
  if (!db.ok()) return db.status();

  // The entities of the programme at either cut, by stream.
  std::set<std::string> entities = {ProgrammeStream(p)};
  std::set<std::string> projects;
  for (const GovernanceState* s : {&sa, &sb}) {
    for (const WorkState* w : s->ProjectsOf(p)) projects.insert(w->ref.id());
  }
  for (const std::string& id : projects) entities.insert(ProjectStream(id));
  std::set<std::string> risks;
  std::set<std::string> scope_items;
  for (const Folded* f : {a->get(), b->get()}) {
    for (const std::string& id : IdsOf(f->state.risks())) {
      const RiskState* r = f->state.FindRisk(id);
      if (r != nullptr &&
          RiskStatusIn(f->state, *r, p) != v1::RISK_STATUS_UNSPECIFIED) {
        risks.insert(id);
      }
    }
    for (const std::string& id : IdsOf(f->state.scope_items())) {
      const ScopeItemState* item = f->state.FindScopeItem(id);
      if (item == nullptr) continue;
      bool held = InProgramme(f->state, item->owner, p);
      for (const v1::WorkRef& earlier : item->earlier_owners) {
        held = held || InProgramme(f->state, earlier, p);
      }
      if (held) scope_items.insert(id);
    }
  }
  for (const std::string& id : risks) entities.insert(RiskStream(id));
  for (const std::string& id : scope_items) entities.insert(ScopeStream(id));
  for (const Folded* f : {da->get(), db->get()}) {
    for (const auto& [stream, d] : f->state.decisions()) {
      if (d.proposed.programme_id() == p) entities.insert(stream);
    }
  }

  // The events folded at one cut and not the other, on those streams, by
  // position.
  absl::flat_hash_set<uint64_t> in_a((*a)->positions.begin(),
                                     (*a)->positions.end());
  absl::flat_hash_set<uint64_t> in_b((*b)->positions.begin(),
                                     (*b)->positions.end());
  std::vector<uint64_t> differing;
  for (const Folded* f : {a->get(), b->get()}) {
    const auto& other = f == a->get() ? in_b : in_a;
    for (uint64_t position : f->positions) {
      if (!other.contains(position)) differing.push_back(position);
    }
  }
  absl::flat_hash_set<uint64_t> in_da((*da)->positions.begin(),
                                      (*da)->positions.end());
  absl::flat_hash_set<uint64_t> in_db((*db)->positions.begin(),
                                      (*db)->positions.end());
  for (const Folded* f : {da->get(), db->get()}) {
    const auto& other = f == da->get() ? in_db : in_da;
    for (uint64_t position : f->positions) {
      if (!other.contains(position)) differing.push_back(position);
    }
  }
  std::sort(differing.begin(), differing.end());
  differing.erase(std::unique(differing.begin(), differing.end()),
                  differing.end());
  absl::StatusOr<std::vector<v1::Event>> differing_events =
      folder.Events(differing, std::nullopt);
  if (!differing_events.ok()) return differing_events.status();
  std::map<uint64_t, const v1::Event*> changed;
  for (const v1::Event& e : *differing_events) {
    if (entities.count(e.stream_id()) > 0) changed[e.position()] = &e;
  }
  absl::Status lookup;  // the first look-up that failed (a damaged index): no answer then
  LeaveToNewHolders(
      p, **a, **b, in_a, risks, scope_items,
      [&](const std::string& id) -> std::optional<uint64_t> {
        absl::StatusOr<std::optional<uint64_t>> found = folder.FindEvent(id);
        if (!found.ok() && lookup.ok()) lookup = found.status();
        return found.ok() ? *found : std::nullopt;
      },
      &changed);
  RETURN_IF_ERROR(lookup);
  // As known, a correction voids from the moment it is read, whatever its effective time: one
  // dated after a cut (a correction made today of a week long past) is folded at neither cut,
  // yet voids, at the cut that reads it, an event the other folds. It explains that difference
  // (who voided the event, and why), so it is listed with it.
  std::vector<v1::Event> voiding;  // the corrections found, kept for `changed`
  // Each stream's candidates, read once (a stream read checks every entry it reads).
  absl::flat_hash_map<std::string, std::vector<uint64_t>> streams_read;
  for (const auto& [f, folded] : {std::pair{a->get(), &in_a}, std::pair{b->get(), &in_b},
                                  std::pair{da->get(), &in_da}, std::pair{db->get(), &in_db}}) {
    if (f->cut.mode != v1::AS_AT_MODE_AS_KNOWN) continue;
    const uint64_t last =
        f->cut.known_through != 0 ? f->cut.known_through : folder.timeline().head();
    for (const auto& [position, e] : changed) {
      if (folded->contains(position) || position > last) continue;
      // Read by this cut and not folded: voided, unless it takes effect after the cut.
      if (f->cut.micros && e->has_effective_time() &&
          ToMicros(e->effective_time()) > *f->cut.micros) {
        continue;
      }
      auto read = streams_read.find(e->stream_id());
      if (read == streams_read.end()) {
        ASSIGN_OR_RETURN(std::vector<uint64_t> candidates,
                         folder.Candidates(Scope{Scope::kStream, e->stream_id()}));
        read = streams_read.emplace(e->stream_id(), std::move(candidates)).first;
      }
      const std::vector<uint64_t>& on_stream = read->second;
      std::vector<uint64_t> later;
      for (uint64_t p : on_stream) {
        if (p > position && p <= last && !folded->contains(p) && !changed.contains(p)) {
          later.push_back(p);
        }
      }
      ASSIGN_OR_RETURN(std::vector<v1::Event> events, folder.Events(later, std::nullopt));
      for (v1::Event& c : events) {
        v1::CorrectionRecorded m;
        if (c.stream_id() == e->stream_id() &&
            c.event_type() == v1::CorrectionRecorded::descriptor()->full_name() &&
            m.ParseFromString(c.payload()) &&
            absl::AsciiStrToLower(m.corrected_event_id()) == absl::AsciiStrToLower(e->event_id())) {
          voiding.push_back(std::move(c));
        }
      }
    }
  }
  for (const v1::Event& c : voiding) changed.emplace(c.position(), &c);

  v1::CompareResponse out;
  *out.mutable_from() = (*a)->resolved;
  *out.mutable_to() = (*b)->resolved;
  for (const auto& [position, e] : changed) *out.add_events() = RefOf(*e);
  // A correction folded at one cut and not the other voids, at that cut, an event that is
  // folded at the other (so also among `changed`): it explains what that event changed.
  absl::flat_hash_map<std::string, const v1::Event*> changed_by_id;
  for (const auto& [position, e] : changed) changed_by_id[absl::AsciiStrToLower(e->event_id())] = e;
  // An event this version cannot read (a newer govledgerd's) changed nothing it folded, so it
  // explains no difference (an unparsed re-rating had been cited for a rating's).
  absl::flat_hash_map<uint64_t, bool> readable;
  auto explains = [&](const std::string& aspect, const v1::Event* e) {
    // A correction of a correction (only an older log holds one) explains what the first did.
    for (int depth = 0; depth < 8 && e != nullptr; ++depth) {
      if (e->event_type() != absl::StrCat(kGovernanceTypePrefix, "CorrectionRecorded")) {
        if (!CanChange(aspect, *e)) return false;
        auto [it, added] = readable.try_emplace(e->position(), false);
        if (added) it->second = ReadableByThisVersion(*e);
        return it->second;
      }
      v1::CorrectionRecorded m;
      if (!m.ParseFromString(e->payload())) return false;
      auto it = changed_by_id.find(absl::AsciiStrToLower(m.corrected_event_id()));
      e = it == changed_by_id.end() ? nullptr : it->second;
    }
    return false;
  };
  auto diff = [&](const std::string& entity, const std::string& aspect,
                  const std::string& before, const std::string& after) {
    if (before == after) return;
    v1::Difference* d = out.add_differences();
    d->set_entity(entity);
    d->set_aspect(aspect);
    d->set_before(before);
    d->set_after(after);
    for (const auto& [position, e] : changed) {
      if (e->stream_id() == entity && explains(aspect, e)) *d->add_events() = RefOf(*e);
    }
  };

  auto work_diffs = [&](const std::string& stream, const WorkState* wa,
                        const WorkState* wb) {
    diff(stream, "registered", wa ? "registered" : "", wb ? "registered" : "");
    // A programme's plan, re-planned between the cuts (its registration is "registered").
    if (wa != nullptr && wb != nullptr && wa->ref.kind() == v1::WORK_KIND_PROGRAMME) {
      Aspects plan_a, plan_b;
      PlanAspects(wa->programme, &plan_a);
      PlanAspects(wb->programme, &plan_b);
      auto value = [](const Aspects& aspects, absl::string_view name) {
        for (const auto& [n, v] : aspects) {
          if (n == name) return v;
        }
        return std::string();
      };
      for (absl::string_view name : {"planned_weeks", "sro", "board", "tranches",
                                     "excluded_scope"}) {
        diff(stream, std::string(name), value(plan_a, name), value(plan_b, name));
      }
    }
    diff(stream, "rating", RatingText(wa), RatingText(wb));
    diff(stream, "update", UpdateText(wa), UpdateText(wb));
    diff(stream, "state", ClosedText(wa), ClosedText(wb));
    // Figures changed at a closure on both sides (a closure since is "state").
    if (wa != nullptr && wb != nullptr && wa->closed && wb->closed) {
      diff(stream, "closure", ClosureText(wa), ClosureText(wb));
    }
    diff(stream, "gate", wa ? absl::StrJoin(wa->gates_passed, ", ") : "",
         wb ? absl::StrJoin(wb->gates_passed, ", ") : "");
    diff(stream, "milestone", wa ? absl::StrJoin(wa->milestones, "; ") : "",
         wb ? absl::StrJoin(wb->milestones, "; ") : "");
    std::set<std::string> benefits;
    for (const WorkState* w : {wa, wb}) {
      if (w == nullptr) continue;
      for (const auto& [id, unused] : w->benefits) benefits.insert(id);
    }
    for (const std::string& id : benefits) {
      diff(stream, absl::StrCat("benefit:", id), BenefitText(wa, id),
           BenefitText(wb, id));
    }
  };
  auto decision_at = [&](const Folded& f,
                         const std::string& stream) -> const DecisionState* {
    auto it = f.state.decisions().find(stream);
    return it == f.state.decisions().end() ? nullptr : &it->second;
  };
  // Entities in stream order: decision/, programme/, project/, risk/, scope/.
  for (const std::string& stream : entities) {
    const std::optional<EntityStream> entity = ParseEntityStream(stream);
    if (!entity) continue;
    const std::string id(entity->id);
    switch (entity->kind) {
      case EntityKind::kDecision: {
        const DecisionState* xa = decision_at(**da, stream);
        const DecisionState* xb = decision_at(**db, stream);
        diff(stream, "status", DecisionText(xa), DecisionText(xb));
        diff(stream, "amount", AmountText(xa), AmountText(xb));
        diff(stream, "signed", SignedText(xa), SignedText(xb));
        // Approved at both, at another time (approved since is "status").
        if (xa != nullptr && xb != nullptr && xa->approved() && xb->approved()) {
          diff(stream, "approved", ApprovedText(xa), ApprovedText(xb));
        }
        break;
      }
      case EntityKind::kProgramme:
        if (id == p) work_diffs(stream, sa.FindProgramme(p), sb.FindProgramme(p));
        break;
      case EntityKind::kProject:
        work_diffs(stream, sa.FindProject(id), sb.FindProject(id));
        break;
      case EntityKind::kRisk: {
        // A risk the programme passed on, as it left (its later holders' changes are theirs);
        // one it has not held yet, unrated (another holder's rating is not the programme's).
        auto status = [&](const GovernanceState& s, const RiskState* r) {
          return r != nullptr ? RiskStatusIn(s, *r, p) : v1::RISK_STATUS_UNSPECIFIED;
        };
        auto rating = [&](const GovernanceState& s, const RiskState* r) -> std::string {
          if (status(s, r) == v1::RISK_STATUS_UNSPECIFIED) return "";
          const Departure* left = DepartedFrom(s, *r, p);
          return RiskRatingText(left != nullptr ? left->rating : r->rating);
        };
        // Where it sat; nothing where the programme has not held it yet (another holder's
        // project is not the programme's: the transfer in says where it came from).
        auto subject = [&](const GovernanceState& s, const RiskState* r) -> std::string {
          if (status(s, r) == v1::RISK_STATUS_UNSPECIFIED) return "";
          const Departure* left = DepartedFrom(s, *r, p);
          return Describe(left != nullptr ? left->to : r->subject);
        };
        const RiskState* ra = sa.FindRisk(id);
        const RiskState* rb = sb.FindRisk(id);
        auto held = [](v1::RiskStatus s) {
          return s == v1::RISK_STATUS_OPEN || s == v1::RISK_STATUS_CLOSED;
        };
        std::string status_b = RiskStatusText(status(sb, rb));
        bool transferred_in = false;
        if (held(status(sb, rb)) && !held(status(sa, ra))) {
          // Held now, not then: transferred in when a transfer brought it to the programme
          // (a subject outside it, then one in it), not when the programme opened it since,
          // opened it again after a correction voided another's opening, or has it back
          // because a correction voided its transfer out.
          const std::vector<v1::WorkRef>& earlier = rb->earlier_subjects;
          for (size_t i = 0; i < earlier.size(); ++i) {
            const v1::WorkRef& next = i + 1 < earlier.size() ? earlier[i + 1] : rb->subject;
            if (!InProgramme(sb, earlier[i], p) && InProgramme(sb, next, p)) {
              transferred_in = true;
            }
          }
          if (transferred_in) absl::StrAppend(&status_b, " (transferred in)");
        }
        const int status_row = out.differences_size();
        diff(stream, "status", RiskStatusText(status(sa, ra)), status_b);
        const bool status_differs = out.differences_size() > status_row;
        const std::string rating_a = rating(sa, ra);
        const int differences = out.differences_size();
        diff(stream, "rating", rating_a, rating(sb, rb));
        // Unrated where the programme did not hold it yet: the transfer that brought it in
        // explains the rating it has now, with any re-rating. That is a transfer folded at the
        // later point into the programme (not one a correction voids there, nor a move within
        // the programme of a risk opened since).
        if (out.differences_size() > differences && rating_a.empty() && transferred_in) {
          v1::Difference& d = *out.mutable_differences(out.differences_size() - 1);
          std::map<uint64_t, v1::EventRef> by_position;
          for (const v1::EventRef& ref : d.events()) by_position[ref.position()] = ref;
          for (const auto& [position, e] : changed) {
            v1::RiskTransferred m;
            if (e->stream_id() == stream && in_b.contains(position) &&
                e->event_type() == v1::RiskTransferred::descriptor()->full_name() &&
                m.ParseFromString(e->payload()) && InProgramme(sb, m.to(), p)) {
              by_position[position] = RefOf(*e);
            }
          }
          d.clear_events();
          for (auto& [position, ref] : by_position) *d.add_events() = std::move(ref);
        }
        // A rating that came or went with the risk itself, which no event of a rating's kind
        // explains (a transfer in that a correction voids at one point): the events that
        // changed its status explain it.
        if (out.differences_size() > differences && status_differs &&
            out.differences(out.differences_size() - 1).events_size() == 0) {
          *out.mutable_differences(out.differences_size() - 1)->mutable_events() =
              out.differences(status_row).events();
        }
        diff(stream, "subject", subject(sa, ra), subject(sb, rb));
        // As opened, where the programme holds or held it at both (a correction of the opening
        // may retitle it or name another owner); a risk opened elsewhere at one point, by
        // another holder, is not the programme's title (the status row says it came or went).
        if (status(sa, ra) != v1::RISK_STATUS_UNSPECIFIED &&
            status(sb, rb) != v1::RISK_STATUS_UNSPECIFIED) {
          diff(stream, "title", ra->opened.title(), rb->opened.title());
          diff(stream, "owner", ra->opened.owner(), rb->opened.owner());
        }
        break;
      }
      case EntityKind::kScope: {
        // An item the programme passed on, where it went (not what its later owners did).
        auto owner = [&](const GovernanceState& s) -> std::string {
          const ScopeItemState* item = s.FindScopeItem(id);
          if (item == nullptr) return "";
          if (auto left = item->departures.find(p);
              left != item->departures.end() && !InProgramme(s, item->owner, p)) {
            return Describe(left->second.to);
          }
          return item->in_scope ? Describe(item->owner) : "removed";
        };
        diff(stream, "owner", owner(sa), owner(sb));
        break;
      }
      case EntityKind::kOrganisation:
      case EntityKind::kKey:
      case EntityKind::kDelegation:
        break;
    }
  }
  if (request.published_only()) {
    // The streams of the programme's decisions whose Part 1 is not yet published at either cut
    // (or at the head).
    ASSIGN_OR_RETURN(const Withheld withheld, Withheld::Of(folder));
    std::set<std::string> unpublished;
    for (const Folded* f : {da->get(), db->get()}) {
      for (const auto& [stream, d] : f->state.decisions()) {
        if (d.proposed.programme_id() == p &&
            withheld.Contains(stream, d.proposed.part1_deferred_until())) {
          unpublished.insert(stream);
        }
      }
    }
    auto withhold = [&](v1::EventRef& e) {
      if (unpublished.contains(e.stream_id())) WithholdSource(e.mutable_source());
    };
    // Their amounts are Part 1's content (the register withholds them too).
    auto* differences = out.mutable_differences();
    differences->erase(std::remove_if(differences->begin(), differences->end(),
                                      [&](const v1::Difference& d) {
                                        return d.aspect() == "amount" &&
                                               unpublished.contains(d.entity());
                                      }),
                       differences->end());
    for (v1::EventRef& e : *out.mutable_events()) withhold(e);
    for (v1::Difference& d : *out.mutable_differences()) {
      for (v1::EventRef& e : *d.mutable_events()) withhold(e);
    }
  }
  return out;
}

namespace {

// The organisations whose streams are folded at the cut, for messages.
std::string KnownIds(const std::set<std::string>& ids) {
  return ids.empty() ? "(none)" : absl::StrJoin(ids, ", ");
}

// NOT_FOUND for organisation `org`, which the fold `f` (whose state holds every organisation
// registered at its cut) does not hold: another letter case of an id it holds, or one the log
// holds; registered nowhere in the log; or not yet at the cut.
static absl::Status OrganisationNotFound(Folder& folder, const Folded& f, const std::string& org) {
  const GovernanceState& s = f.state;
  const Cut& cut = f.cut;
  const bool timed = cut.micros && *cut.micros != INT64_MIN;
  const std::set<std::string> ids = IdsOf(s.organisations());
  if (std::optional<std::string> meant =
          OtherCaseOf(org, std::vector<std::string>(ids.begin(), ids.end()))) {
    return absl::NotFoundError(absl::StrCat("organisation '", org,
                                            "' is not registered; did you mean ", *meant,
                                            "? (ids are told apart by letter case)"));
  }
  ASSIGN_OR_RETURN(const bool anywhere, folder.StreamHasEvents(absl::StrCat("organisation/", org)));
  if (!anywhere) {
    for (const std::string& other : {absl::AsciiStrToUpper(org), absl::AsciiStrToLower(org)}) {
      if (other == org || !CheckId("organisation_id", other).ok()) continue;
      ASSIGN_OR_RETURN(const bool held,
                       folder.StreamHasEvents(absl::StrCat("organisation/", other)));
      if (held) {
        return absl::NotFoundError(absl::StrCat("organisation '", org,
                                                "' is not registered; did you mean ", other,
                                                "? (ids are told apart by letter case)"));
      }
    }
    return absl::NotFoundError(absl::StrCat("organisation '", org,
                                            "' is not registered in the ledger; registered at "
                                            "this cut: ",
                                            KnownIds(IdsOf(s.organisations()))));
  }
  return absl::NotFoundError(absl::StrCat(
      "organisation '", org, "' is not registered as at this cut",
      timed ? absl::StrCat(" (", FormatRfc3339(*cut.micros), ")") : std::string(),
      "; registered then: ", KnownIds(IdsOf(s.organisations())),
      "; choose a later position, time or week, or another organisation", KnownThroughHint(cut)));
}

static absl::StatusOr<v1::ListProgrammesResponse> QueryProgrammesImpl(
    Folder& folder, const v1::ListProgrammesRequest& request) {
  const std::string& organisation = request.organisation_id();
  if (!organisation.empty()) RETURN_IF_ERROR(CheckId("organisation_id", organisation));
  v1::ListProgrammesResponse out;
  ASSIGN_OR_RETURN(std::unique_ptr<Folded> global,
                   folder.Fold(request.as_at(), Scope{Scope::kGlobal, ""}));
  uint64_t folded = global->positions.size();
  for (const std::string& id : IdsOf(global->state.organisations())) {
    if (!organisation.empty() && id != organisation) continue;
    const OrganisationState& o = global->state.organisations().at(id);
    v1::OrganisationEntry* entry = out.add_organisations();
    entry->set_organisation_id(id);
    entry->set_name(o.registered.name());
    entry->set_kind(o.registered.kind());
    if (o.registered_micros != kUnknownTime) {
      SetMicros(o.registered_micros, entry->mutable_registered_time());
    }
  }
  if (!organisation.empty() && out.organisations().empty()) {
    return OrganisationNotFound(folder, *global, organisation);
  }
  std::vector<v1::ProgrammeEntry> programmes;
  for (const auto& [id, organisations] : folder.timeline().ProgrammesEverRegistered()) {
    // Another organisation's (by every registration of it): not folded at all.
    if (!organisation.empty() && !organisations.contains(organisation)) continue;
    ASSIGN_OR_RETURN(std::unique_ptr<Folded> f, folder.Fold(request.as_at(), ProgrammeScope(id)));
    const WorkState* p = f->state.FindProgramme(id);  // none: not registered at the cut
    if (p == nullptr || (!organisation.empty() && p->organisation_id != organisation)) continue;
    folded += f->positions.size();
    v1::ProgrammeEntry& entry = programmes.emplace_back();
    entry.set_organisation_id(p->organisation_id);
    *entry.mutable_programme() = StatusOf(*p, p->programme);
    for (const WorkState* w : f->state.ProjectsOf(id)) {
      *entry.add_projects() = StatusOf(*w, p->programme);
    }
    if (f->cut.micros && *f->cut.micros != INT64_MIN) {
      entry.set_plan_week(PlanWeekAt(p->programme, *f->cut.micros));
    }
    entry.set_planned_weeks(p->programme.planned_weeks());
  }
  std::stable_sort(programmes.begin(), programmes.end(), [](const auto& a, const auto& b) {
    return a.organisation_id() < b.organisation_id();
  });
  for (v1::ProgrammeEntry& entry : programmes) *out.add_programmes() = std::move(entry);
  *out.mutable_as_at() = DescribeCut(global->cut, folder.timeline(), folded);
  return out;
}

v1::DecisionStatus DecisionStatusOf(const DecisionState& d) {
  switch (d.outcome) {
    case DecisionState::Outcome::kRejected:
      return v1::DECISION_STATUS_REJECTED;
    case DecisionState::Outcome::kWithdrawn:
      return v1::DECISION_STATUS_WITHDRAWN;
    case DecisionState::Outcome::kPending:
      break;
  }
  return d.approved() ? v1::DECISION_STATUS_APPROVED
                      : v1::DECISION_STATUS_PENDING;
}

v1::WorkBenefits BenefitsOf(const WorkState& w) {
  v1::WorkBenefits out;
  *out.mutable_subject() = w.ref;
  out.set_closed(w.closed);
  if (w.closed && w.closure.has_annual_benefits_pence()) {
    out.set_closure_annual_benefits_pence(w.closure.annual_benefits_pence());
  }
  if (w.closed) out.set_closure_source(w.closure_source);
  for (const auto& [id, b] : w.benefits) {
    v1::BenefitEntry* e = out.add_benefits();
    e->set_benefit_id(id);
    e->set_description(b.description);
    e->set_has_forecast(b.has_forecast);
    e->set_forecast_annual_pence(b.forecast_annual_pence);
    e->set_has_realised(b.has_realised);
    e->set_realised_annual_pence(b.realised_annual_pence);
    e->set_forecast_source(b.forecast_source);
    e->set_realised_source(b.realised_source);
    e->set_forecast_has_amount(b.has_forecast && b.forecast_has_amount);
    e->set_realised_has_amount(b.has_realised && b.realised_has_amount);
    if (e->forecast_has_amount()) {
      out.set_forecast_annual_pence(
          AddPence(out.forecast_annual_pence(), b.forecast_annual_pence));
      out.set_forecast_recorded(true);
    }
    if (e->realised_has_amount()) {
      out.set_realised_annual_pence(
          AddPence(out.realised_annual_pence(), b.realised_annual_pence));
      out.set_realised_recorded(true);
    }
  }
  return out;
}

void WorkAspects(const WorkState* w, Aspects* out) {
  if (w == nullptr) return;
  AddAspect(out, "registered",
            w->ref.kind() == v1::WORK_KIND_PROGRAMME ? w->programme.name()
                                                     : w->project.name());
  if (w->ref.kind() == v1::WORK_KIND_PROJECT)
    AddAspect(out, "programme", w->programme_id);
  if (w->ref.kind() == v1::WORK_KIND_PROGRAMME) PlanAspects(w->programme, out);
  AddAspect(out, "rating", RatingText(w));
  if (w->has_status) {
    AddAspect(out, "reported_plan_week",
              absl::StrCat(w->last_status.plan_week()));
  }
  AddAspect(out, "update", UpdateText(w));
  AddAspect(out, "state", ClosedText(w));
  AddAspect(out, "closure", ClosureText(w));
  AddAspect(out, "gate", absl::StrJoin(w->gates_passed, ", "));
  AddAspect(out, "milestone", absl::StrJoin(w->milestones, "; "));
  for (const auto& [id, unused] : w->benefits) {
    AddAspect(out, absl::StrCat("benefit:", id), BenefitText(w, id));
  }
}

// The state of the entity whose stream is `stream`, as aspects. `decision`
// names a decision stream's organisation and reference (from its
// DecisionProposed), when known.
Aspects AspectsOf(const GovernanceState& s, const std::string& stream,
                  const std::pair<std::string, std::string>& decision) {
  Aspects out;
  const std::optional<EntityStream> entity = ParseEntityStream(stream);
  if (!entity) return out;
  const std::string id(entity->id);
  switch (entity->kind) {
    case EntityKind::kProgramme:
      WorkAspects(s.FindProgramme(id), &out);
      break;
    case EntityKind::kProject:
      WorkAspects(s.FindProject(id), &out);
      break;
    case EntityKind::kRisk:
      if (const RiskState* r = s.FindRisk(id)) {
        AddAspect(&out, "status", r->open ? "open" : "closed");
        AddAspect(&out, "rating", RiskRatingText(r->rating));
        AddAspect(&out, "subject", Describe(r->subject));
      }
      break;
    case EntityKind::kScope:
      if (const ScopeItemState* item = s.FindScopeItem(id)) {
        AddAspect(&out, "owner", Describe(item->owner));
        AddAspect(&out, "in_scope", item->in_scope ? "yes" : "no");
      }
      break;
    case EntityKind::kOrganisation:
      if (const OrganisationState* o = s.FindOrganisation(id)) {
        AddAspect(&out, "registered", o->registered.name());
        if (!o->registered.oversees().empty()) {
          AddAspect(&out, "oversees", absl::StrJoin(o->registered.oversees(), ", "));
        }
      }
      break;
    case EntityKind::kKey:
      if (const KeyState* k = s.FindKey(id)) {
        AddAspect(&out, "holder", k->registered.holder());
        AddAspect(&out, "role", k->registered.role());
        // From when: a revocation dated ahead is not yet in force, and one brought forward
        // changes when the key stopped signing.
        AddAspect(&out, "revoked",
                  !k->revoked ? "no"
                  : k->revoked_micros == kUnknownTime
                      ? "yes"
                      : absl::StrCat("from ", FormatRfc3339(k->revoked_micros)));
      }
      break;
    case EntityKind::kDelegation:
      if (const size_t slash = id.find('/'); slash != std::string::npos) {
        if (const v1::DelegationRuleSet* r =
                s.FindDelegationRule(id.substr(0, slash), id.substr(slash + 1))) {
          AddAspect(&out, "threshold", FormatPence(r->threshold_pence()));
          AddAspect(&out, "role", r->role());
          // Which amounts count towards the threshold (none given: every kind): a rule of
          // revenue and capital is not reached by a one-off amount, and the history says so.
          std::vector<std::string> kinds;
          for (int kind : r->kinds()) kinds.push_back(AmountKindText(v1::AmountKind(kind)));
          AddAspect(&out, "counts",
                    kinds.empty() ? std::string("every kind of amount")
                                  : absl::StrCat(absl::StrJoin(kinds, ", "), " amounts only"));
        }
      }
      break;
    case EntityKind::kDecision:
      if (decision.first.empty()) break;
      if (const DecisionState* d =
              s.FindDecision(decision.first, decision.second)) {
        AddAspect(&out, "status", DecisionText(d));
        AddAspect(&out, std::string(kAmountAspect), AmountText(d));
        if (d->proposed.has_part1_deferred_until()) {
          AddAspect(&out, std::string(kPart1DeferredAspect),
                    FormatDate(d->proposed.part1_deferred_until()));
        }
        if (d->proposed.has_referred_under()) {
          AddAspect(&out, std::string(kReferredUnderAspect),
                    absl::StrCat(d->proposed.referred_under().reference(), ", delegation ",
                                 d->proposed.referred_under().delegation_id()));
        }
        std::vector<std::string> signed_roles;
        for (const auto& [role, key] : d->signed_roles)
          signed_roles.push_back(role);
        AddAspect(&out, "signed", absl::StrJoin(signed_roles, ", "));
        // Who: an auditor reading the history would otherwise take the actor who appended a
        // signature (a clerk) for its signatory.
        std::vector<std::string> signatories;
        for (const auto& [role, key] : d->signed_roles) {
          std::string who = absl::StrCat(role, ": key ", key);
          if (const KeyState* k = s.FindKey(key); k != nullptr && !k->registered.holder().empty()) {
            absl::StrAppend(&who, " (", k->registered.holder(), ")");
          }
          if (auto on = d->signed_on.find(key); on != d->signed_on.end()) {
            absl::StrAppend(&who, ", dated ", FormatDate(on->second));
          }
          signatories.push_back(std::move(who));
        }
        AddAspect(&out, std::string(kSignatoriesAspect), absl::StrJoin(signatories, "; "));
        std::vector<std::string> declared;
        for (const auto& [role, key] : d->signed_roles) {
          auto it = d->declarations.find(key);
          if (it == d->declarations.end()) continue;
          declared.push_back(absl::StrCat(
              role, ": ",
              it->second.interests().empty() ? "none recorded"
                                             : it->second.interests()));
        }
        AddAspect(&out, std::string(kInterestsDeclaredAspect), absl::StrJoin(declared, "; "));
      }
      break;
  }
  return out;
}

// EntityChange.note: what `e` says in its own words ("" for none, or a payload that does not
// parse).
std::string NoteOf(const v1::Event& e) {
  absl::string_view type = e.event_type();
  if (!absl::ConsumePrefix(&type, kGovernanceTypePrefix)) return "";
  std::vector<std::string> parts;
  auto add = [&parts](absl::string_view label, absl::string_view text) {
    if (!text.empty()) parts.push_back(absl::StrCat(label, text));
  };
  auto parsed = [&e](google::protobuf::MessageLite* m) { return m->ParseFromString(e.payload()); };
  // The events whose note is their reason alone, and the scope changes (reason and amounts).
  auto reason = [&](auto m) {
    if (parsed(&m)) add("", m.reason());
  };
  auto scope_amounts = [&](const auto& m) {
    if (m.has_baseline_change_pence()) {
      add("baseline change ", FormatPence(m.baseline_change_pence()));
    }
    if (m.has_benefit_change_pence()) {
      add("benefit change ", FormatPence(m.benefit_change_pence()));
    }
  };
  auto scope_change = [&](auto m) {
    if (!parsed(&m)) return;
    add("", m.reason());
    scope_amounts(m);
  };
  auto description = [&](auto m) {
    if (parsed(&m)) add("", m.description());
  };
  if (type == "ProgrammeRegistered") {
    description(v1::ProgrammeRegistered());
  } else if (type == "ProjectRegistered") {
    description(v1::ProjectRegistered());
  } else if (type == "RiskOpened") {
    description(v1::RiskOpened());
  } else if (type == "ScopeItemAdded") {
    v1::ScopeItemAdded m;
    if (parsed(&m)) {
      add("", m.description());
      scope_amounts(m);
    }
  } else if (type == "MilestoneReached") {
    description(v1::MilestoneReached());
  } else if (type == "BenefitForecast") {
    description(v1::BenefitForecast());
  } else if (type == "BenefitRealised") {
    description(v1::BenefitRealised());
  } else if (type == "StatusReported") {
    v1::StatusReported m;
    if (parsed(&m)) add("", m.commentary());
  } else if (type == "GatePassed") {
    v1::GatePassed m;
    if (parsed(&m)) {
      add("approved by ", m.approved_by());
      add("", m.description());
    }
  } else if (type == "ProjectClosed") {
    v1::ProjectClosed m;
    if (parsed(&m)) {
      add("", m.summary());
      if (m.has_final_cost_pence()) add("final cost ", FormatPence(m.final_cost_pence()));
      if (m.has_annual_benefits_pence()) {
        add("annual benefits ", FormatPence(m.annual_benefits_pence()));
      }
      add("lessons: ", absl::StrJoin(m.lessons(), "; "));
    }
  } else if (type == "DecisionRejected") {
    v1::DecisionRejected m;
    if (parsed(&m)) {
      add("rejected by ", m.rejected_by());
      add("", m.reason());
    }
  } else if (type == "ScopeItemRemoved") {
    scope_change(v1::ScopeItemRemoved());
  } else if (type == "ScopeItemTransferred") {
    scope_change(v1::ScopeItemTransferred());
  } else if (type == "ProgrammeClosed") {
    reason(v1::ProgrammeClosed());
  } else if (type == "ProgrammeReplanned") {
    v1::ProgrammeReplanned m;
    if (parsed(&m)) {
      add("", m.reason());
      add("approved by ", m.approved_by());
    }
  } else if (type == "RiskRerated") {
    reason(v1::RiskRerated());
  } else if (type == "RiskClosed") {
    reason(v1::RiskClosed());
  } else if (type == "RiskTransferred") {
    reason(v1::RiskTransferred());
  } else if (type == "DecisionWithdrawn") {
    reason(v1::DecisionWithdrawn());
  } else if (type == "SigningKeyRevoked") {
    reason(v1::SigningKeyRevoked());
  } else if (type == "CorrectionRecorded") {
    reason(v1::CorrectionRecorded());
  }
  // Parts joined by "; ", or by a space after a part that ends a sentence ("... in 2017.
  // annual benefits £1.5m", not "2017.; annual").
  std::string note;
  for (const std::string& part : parts) {
    if (!note.empty()) absl::StrAppend(&note, absl::EndsWith(note, ".") ? " " : "; ");
    absl::StrAppend(&note, part);
  }
  return note;
}

void ToAspects(const Aspects& in,
               google::protobuf::RepeatedPtrField<v1::Aspect>* out) {
  for (const auto& [name, value] : in) {
    v1::Aspect* a = out->Add();
    a->set_name(name);
    a->set_value(value);
  }
}

// Why the decision approving scope change `change` no longer stands in `s`; empty when it does
// (or a board approved the change).
std::string ApprovalLapsed(const GovernanceState& s, const v1::Approval& approval,
                           const v1::Event& change) {
  const std::string& stream = approval.decision_stream();
  if (stream.empty()) return "";
  auto it = s.decisions().find(stream);
  if (it == s.decisions().end()) {
    return "its proposal is no longer on record: a correction voided it";
  }
  const DecisionState& d = it->second;
  // The rules take only an approved decision, so a proposal after the change is a new one.
  if (d.proposed_position > change.position()) {
    return absl::StrCat("the proposal it approved is no longer on record: a correction voided "
                        "it, and the decision was proposed again afterwards (position ",
                        d.proposed_position, ")");
  }
  switch (d.outcome) {
    case DecisionState::Outcome::kRejected:
      return "it was rejected";
    case DecisionState::Outcome::kWithdrawn:
      return "it was withdrawn";
    case DecisionState::Outcome::kPending:
      break;
  }
  if (!d.approved()) {
    return "not every required role's signature stands now: a correction voided one";
  }
  // Signed again after a correction voided a signature it had: approved only after the change.
  if (d.signed_micros != kUnknownTime && d.signed_micros > EffectiveMicros(change)) {
    return absl::StrCat("it was approved only effective ", FormatRfc3339(d.signed_micros),
                        ", after the change took effect: a correction voided a signature it "
                        "had then");
  }
  return "";
}

}  // namespace

// A scope event's baseline and benefit changes into `c`, each only where the event states it.
template <typename M>
static void CopyScopeFigures(const M& m, v1::ScopeChange* c) {
  if (m.has_baseline_change_pence()) c->set_baseline_change_pence(m.baseline_change_pence());
  if (m.has_benefit_change_pence()) c->set_benefit_change_pence(m.benefit_change_pence());
}

static absl::StatusOr<v1::GetScopeMapResponse> QueryScopeMapImpl(
    Folder& folder, const v1::GetScopeMapRequest& request) {
  const std::string& p = request.programme_id();
  ASSIGN_OR_RETURN(ProgrammeFold pf, FoldProgramme(folder, request.as_at(), p));
  const GovernanceState& s = pf.folded->state;

  static const std::string kAdded =
      v1::ScopeItemAdded::descriptor()->full_name();
  static const std::string kTransferred =
      v1::ScopeItemTransferred::descriptor()->full_name();
  static const std::string kRemoved =
      v1::ScopeItemRemoved::descriptor()->full_name();
  std::map<std::string, std::vector<v1::ScopeChange>>
      changes;  // by scope item id
  absl::StatusOr<std::vector<v1::Event>> scope_events =
      folder.Events(pf.folded->positions, StreamKind::kScope);
  if (!scope_events.ok()) return scope_events.status();
  // Each approving decision folded at the cut on its own stream (with the events that concern
  // every programme: keys, rules): a programme's fold holds no decision streams.
  absl::flat_hash_map<std::string, std::unique_ptr<Folded>> decisions;  // by stream
  auto lapsed_reason = [&](const v1::Approval& a,
                           const v1::Event& change) -> absl::StatusOr<std::string> {
    const std::string& stream = a.decision_stream();
    if (stream.empty()) return std::string();
    auto it = decisions.find(stream);
    if (it == decisions.end()) {
      ASSIGN_OR_RETURN(std::unique_ptr<Folded> decision,
                       folder.Fold(request.as_at(), Scope{Scope::kStream, stream}));
      it = decisions.emplace(stream, std::move(decision)).first;
    }
    return ApprovalLapsed(it->second->state, a, change);
  };
  for (const v1::Event& event : *scope_events) {
    const v1::Event* e = &event;
    v1::ScopeChange c;
    if (e->event_type() == kAdded) {
      v1::ScopeItemAdded m;
      if (!m.ParseFromString(e->payload())) continue;
      *c.mutable_to() = m.owner();
      CopyScopeFigures(m, &c);
      *c.mutable_approval() = m.approval();
    } else if (e->event_type() == kTransferred) {
      v1::ScopeItemTransferred m;
      if (!m.ParseFromString(e->payload())) continue;
      *c.mutable_from() = m.from();
      *c.mutable_to() = m.to();
      CopyScopeFigures(m, &c);
      c.set_reason(m.reason());
      *c.mutable_approval() = m.approval();
    } else if (e->event_type() == kRemoved) {
      v1::ScopeItemRemoved m;
      if (!m.ParseFromString(e->payload())) continue;
      *c.mutable_from() = m.from();
      CopyScopeFigures(m, &c);
      c.set_reason(m.reason());
      *c.mutable_approval() = m.approval();
    } else {
      continue;
    }
    ASSIGN_OR_RETURN(std::string why, lapsed_reason(c.approval(), *e));
    c.set_approval_lapsed(std::move(why));
    *c.mutable_event() = RefOf(*e);
    const std::optional<EntityStream> item = ParseEntityStream(e->stream_id());
    if (!item || item->kind != EntityKind::kScope) continue;  // appends never store one
    changes[std::string(item->id)].push_back(std::move(c));
  }

  v1::GetScopeMapResponse out;
  *out.mutable_as_at() = pf.folded->resolved;
  for (auto& [id, item_changes] : changes) {
    const ScopeItemState* item = s.FindScopeItem(id);
    if (item == nullptr) continue;
    bool touched = false;
    for (const v1::ScopeChange& c : item_changes) {
      touched = touched || (c.has_from() && InProgramme(s, c.from(), p)) ||
                (c.has_to() && InProgramme(s, c.to(), p));
    }
    if (!touched) continue;
    v1::ScopeItemEntry* e = out.add_items();
    e->set_scope_item_id(id);
    e->set_title(item->added.title());
    e->set_description(item->added.description());
    // An item the programme passed on shows as it left: where it went, and its changes up to
    // that transfer; what later owners did with it is theirs (their scope maps show it), as
    // a risk register and a comparison show a risk passed on.
    const auto left =
        InProgramme(s, item->owner, p) ? item->departures.end() : item->departures.find(p);
    *e->mutable_owner() = left != item->departures.end() ? left->second.to : item->owner;
    if (left != item->departures.end() && left->second.position != 0) {
      const uint64_t transfer = left->second.position;
      const auto after =
          std::find_if(item_changes.begin(), item_changes.end(),
                       [&](const v1::ScopeChange& c) { return c.event().position() == transfer; });
      if (after != item_changes.end()) item_changes.erase(after + 1, item_changes.end());
    }
    if (!InProgramme(s, item->owner, p)) {
      e->set_status(v1::SCOPE_STATUS_TRANSFERRED_OUT);
      out.set_transferred_out(out.transferred_out() + 1);
    } else if (item->in_scope) {
      e->set_status(v1::SCOPE_STATUS_IN_SCOPE);
      out.set_in_scope(out.in_scope() + 1);
    } else {
      e->set_status(v1::SCOPE_STATUS_REMOVED);
      out.set_removed(out.removed() + 1);
    }
    for (v1::ScopeChange& c : item_changes) *e->add_changes() = std::move(c);
  }
  *out.mutable_excluded() = pf.programme->programme.excluded_scope();
  return out;
}

namespace {

// The default window of PossibleSplit, and the longest.
constexpr int32_t kDefaultSplitWindowDays = 90;
constexpr int32_t kMaxSplitWindowDays = 3660;

// Appends to `out` the PossibleSplits of `rules` (by organisation) among the decisions of `s`
// (those of `programme` only, when it is not empty), chained by `window_micros`. Each decision
// is held to the setting in force when it was proposed; a run, to the lowest threshold among
// its members' settings (the last's, of those as low).
// `withheld`, unless null: only decisions it does not hold count.
void FindPossibleSplits(const GovernanceState& s,
                        const std::map<std::string, std::vector<const RuleState*>>& rules,
                        const std::string& organisation, const std::string& programme,
                        int64_t window_micros, const Withheld* withheld,
                        v1::GetDecisionRegisterResponse* out) {
  struct Candidate {
    int64_t proposed_micros;
    std::string reference;
    int64_t counted;
    const v1::DelegationRuleSet* setting;
    bool operator<(const Candidate& o) const {
      return std::tie(proposed_micros, reference) < std::tie(o.proposed_micros, o.reference);
    }
  };
  for (const auto& [org, org_rules] : rules) {
    if (!organisation.empty() && org != organisation) continue;
    for (const RuleState* rule_state : org_rules) {
      std::map<std::string, std::vector<Candidate>> by_programme;
      for (const auto& [stream, d] : s.decisions()) {
        const v1::DecisionProposed& p = d.proposed;
        // Decisions that name no programme form a group of their own: leaving the
        // programme out must not hide a split.
        if (p.organisation_id() != org || (!programme.empty() && p.programme_id() != programme) ||
            d.outcome != DecisionState::Outcome::kPending || d.proposed_micros == kUnknownTime ||
            (withheld != nullptr && withheld->Contains(stream, p.part1_deferred_until()))) {
          continue;
        }
        const v1::DelegationRuleSet* setting = rule_state->InForceAt(d.proposed_micros);
        if (setting == nullptr) continue;
        const auto& roles = p.required_signatory_roles();
        if (std::find(roles.begin(), roles.end(), setting->role()) != roles.end()) continue;
        const int64_t counted = CountedPence(*setting, p.amounts());
        if (counted <= 0 || counted >= setting->threshold_pence()) continue;
        by_programme[p.programme_id()].push_back(
            {d.proposed_micros, p.reference(), counted, setting});
      }
      for (auto& [programme_id, candidates] : by_programme) {
        std::sort(candidates.begin(), candidates.end());
        // Runs in which each was proposed within the window of the one before.
        size_t start = 0;
        for (size_t end = 1; end <= candidates.size(); ++end) {
          if (end < candidates.size() && candidates[end].proposed_micros -
                                                 candidates[end - 1].proposed_micros <=
                                             window_micros) {
            continue;
          }
          int64_t total = 0;
          for (size_t i = start; i < end; ++i) total = AddPence(total, candidates[i].counted);
          // Held to the lowest threshold among its members' settings: judged by its last
          // member's alone, a raised threshold and one small proposal after it hid a split
          // the earlier setting had caught (a signatory's trial).
          const v1::DelegationRuleSet* rule = candidates[end - 1].setting;
          for (size_t i = start; i < end; ++i) {
            if (candidates[i].setting->threshold_pence() < rule->threshold_pence()) {
              rule = candidates[i].setting;
            }
          }
          if (end - start >= 2 && total >= rule->threshold_pence()) {
            v1::PossibleSplit* split = out->add_possible_splits();
            split->set_organisation_id(org);
            split->set_rule_id(rule->rule_id());
            split->set_role(rule->role());
            split->set_threshold_pence(rule->threshold_pence());
            split->set_programme_id(programme_id);
            for (size_t i = start; i < end; ++i) split->add_references(candidates[i].reference);
            split->set_total_pence(total);
            SetMicros(candidates[start].proposed_micros, split->mutable_first_proposed());
            SetMicros(candidates[end - 1].proposed_micros, split->mutable_last_proposed());
          }
          start = end;
        }
      }
    }
  }
}

}  // namespace

static absl::StatusOr<v1::GetDecisionRegisterResponse>
QueryDecisionRegisterImpl(Folder& folder,
                          const v1::GetDecisionRegisterRequest& request) {
  const std::string& org = request.organisation_id();
  const std::string& p = request.programme_id();
  if (org.empty() && p.empty()) {
    return absl::InvalidArgumentError(
        "organisation_id or programme_id (or both) is required: the decisions "
        "of an "
        "organisation, of a programme, or of both");
  }
  if (!org.empty()) RETURN_IF_ERROR(CheckId("organisation_id", org));
  if (!p.empty()) RETURN_IF_ERROR(CheckProgrammeId(p));
  if (request.split_window_days() < 0 ||
      request.split_window_days() > kMaxSplitWindowDays) {
    return absl::InvalidArgumentError(absl::StrCat(
        "split_window_days ", request.split_window_days(), " must be 1 to ",
        kMaxSplitWindowDays, " (0: ", kDefaultSplitWindowDays, ")"));
  }
  const int32_t window_days = request.split_window_days() == 0
                                  ? kDefaultSplitWindowDays
                                  : request.split_window_days();
  absl::StatusOr<std::unique_ptr<Folded>> f =
      folder.Fold(request.as_at(), Scope{Scope::kDecisions, p});
  if (!f.ok()) return f.status();
  const GovernanceState& s = (*f)->state;
  if (!org.empty() && s.FindOrganisation(org) == nullptr) {
    return OrganisationNotFound(folder, **f, org);
  }
  if (!p.empty()) {
    absl::StatusOr<const WorkState*> programme = ProgrammeAt(folder, **f, p);
    if (!programme.ok()) return programme.status();
  }

  std::set<std::pair<std::string, std::string>>
      keys;  // organisation, reference
  for (const auto& [stream, d] : s.decisions()) {
    keys.emplace(d.proposed.organisation_id(), d.proposed.reference());
  }
  // When each decision's proposal was recorded (by its position), for the settings in force
  // then (DelegationNeed.setting_effective_time): decisions are made by people, hundreds a
  // year, so reading their proposals costs little.
  absl::flat_hash_map<uint64_t, int64_t> proposal_recorded;
  {
    std::vector<uint64_t> positions;
    for (const auto& [stream, d] : s.decisions()) {
      if (d.proposed_position != 0) positions.push_back(d.proposed_position);
    }
    std::sort(positions.begin(), positions.end());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    absl::StatusOr<std::vector<v1::Event>> proposals = folder.Events(positions, std::nullopt);
    if (!proposals.ok()) return proposals.status();
    for (const v1::Event& e : *proposals) {
      if (e.has_recorded_time()) proposal_recorded[e.position()] = ToMicros(e.recorded_time());
    }
  }
  // The delegation rules known at the cut, by organisation, each in stream order; a decision is
  // held to each one's setting in force when it was proposed.
  std::map<std::string, std::vector<const RuleState*>> rules;
  for (const std::string& stream : IdsOf(s.rules())) {
    const RuleState& r = s.rules().at(stream);
    rules[r.rule().organisation_id()].push_back(&r);
  }

  v1::GetDecisionRegisterResponse out;
  *out.mutable_as_at() = (*f)->resolved;
  std::map<std::pair<std::string, int>, int64_t> spend;
  for (const auto& [decision_org, reference] : keys) {
    const DecisionState* d = s.FindDecision(decision_org, reference);
    if (d == nullptr) continue;
    if (!org.empty() && decision_org != org) continue;
    if (!p.empty() && d->proposed.programme_id() != p) continue;
    v1::DecisionEntry* e = out.add_decisions();
    e->set_organisation_id(decision_org);
    e->set_reference(reference);
    e->set_title(d->proposed.title());
    e->set_programme_id(d->proposed.programme_id());
    const v1::DecisionStatus status = DecisionStatusOf(*d);
    e->set_status(status);
    if (d->proposed_micros != kUnknownTime) {
      SetMicros(d->proposed_micros, e->mutable_proposed_time());
    }
    if (status == v1::DECISION_STATUS_APPROVED && d->signed_micros != kUnknownTime) {
      SetMicros(d->signed_micros, e->mutable_approved_time());
    }
    if (d->outcome != DecisionState::Outcome::kPending) {
      if (d->outcome_micros != kUnknownTime)
        SetMicros(d->outcome_micros, e->mutable_outcome_time());
      e->set_rejected_by(d->outcome_by);
      e->set_outcome_reason(d->outcome_reason);
    }
    for (const std::string& role : d->proposed.required_signatory_roles()) {
      e->add_required_signatory_roles(role);
      auto it = d->signed_roles.find(role);
      if (it == d->signed_roles.end()) {
        e->add_unsigned_roles(role);
      } else {
        v1::DecisionSignature* sig = e->add_signatures();
        sig->set_role(role);
        sig->set_key_id(it->second);
        if (const KeyState* key = s.FindKey(it->second))
          sig->set_holder(key->registered.holder());
        if (auto declared = d->declarations.find(it->second);
            declared != d->declarations.end()) {
          *sig->mutable_declaration() = declared->second;
        }
        if (auto dated = d->signed_on.find(it->second); dated != d->signed_on.end()) {
          *sig->mutable_signed_on() = dated->second;
        }
        if (auto named = d->signed_sources.find(it->second); named != d->signed_sources.end()) {
          sig->set_source(named->second);
        }
      }
    }
    e->set_proposed_source(d->proposed_source);
    e->set_outcome_source(d->outcome_source);
    *e->mutable_amounts() = d->proposed.amounts();
    *e->mutable_recommendations() = d->proposed.recommendations();
    *e->mutable_related_decisions() = d->proposed.related_decisions();
    if (const v1::ConfidentialPart& part2 = d->proposed.part2();
        !part2.text().empty() || !part2.reason().empty()) {
      e->mutable_part2()->set_reason(part2.reason());
      if (part2.has_publication_deferred_until()) {
        *e->mutable_part2()->mutable_publication_deferred_until() =
            part2.publication_deferred_until();
      }
    }
    *e->mutable_originating_officer_declarations() =
        d->proposed.originating_officer_declarations();
    *e->mutable_officer_approvals() = d->proposed.officer_approvals();
    if (d->proposed.has_part1_deferred_until()) {
      *e->mutable_part1_deferred_until() = d->proposed.part1_deferred_until();
    }
    *e->mutable_delegated_authorities() = d->proposed.delegated_authorities();
    if (d->proposed.has_referred_under()) {
      *e->mutable_referred_under() = d->proposed.referred_under();
    }
    if (!d->proposed.delegated_authorities().empty()) {
      // References are compared as the rules compare them: by slug ("PCD 72" is "PCD-72").
      const std::string slug = ReferenceSlug(reference);
      for (const auto& [other_org, other_reference] : keys) {
        if (other_org != decision_org) continue;
        const DecisionState* r = s.FindDecision(other_org, other_reference);
        if (r == nullptr || !r->proposed.has_referred_under() ||
            ReferenceSlug(r->proposed.referred_under().reference()) != slug) {
          continue;
        }
        v1::DecisionReferral* referral = e->add_referrals();
        referral->set_reference(other_reference);
        referral->set_delegation_id(r->proposed.referred_under().delegation_id());
        referral->set_status(DecisionStatusOf(*r));
      }
    }
    // The settings it was dated before, in force when it was recorded, that it reaches
    // without their role (a proposal dated back out of a threshold, or an older paper
    // recorded late: the register shows both, for an auditor to tell apart).
    const auto recorded = proposal_recorded.find(d->proposed_position);
    const int64_t recorded_micros =
        recorded == proposal_recorded.end() ? kUnknownTime : recorded->second;
    for (const RuleState* rule : rules[decision_org]) {
      if (recorded_micros == kUnknownTime || d->proposed_micros == kUnknownTime ||
          d->proposed_micros >= recorded_micros) {
        break;
      }
      // The setting in force when the proposal was recorded, of those recorded before it.
      const RuleState::Setting* under = nullptr;
      for (const RuleState::Setting& setting : rule->settings) {
        if (setting.position != 0 && setting.position < d->proposed_position &&
            setting.micros != kUnknownTime && setting.micros <= recorded_micros) {
          under = &setting;
        }
      }
      const v1::DelegationRuleSet* then = rule->InForceAt(d->proposed_micros);
      if (under == nullptr || &under->rule == then || under->micros <= d->proposed_micros) continue;
      const v1::DelegationRuleSet* later = &under->rule;
      const int64_t counted = CountedPence(*later, d->proposed.amounts());
      const auto& roles = d->proposed.required_signatory_roles();
      if (counted < later->threshold_pence() ||
          std::find(roles.begin(), roles.end(), later->role()) != roles.end()) {
        continue;
      }
      v1::DelegationNeed* need = e->add_delegations();
      need->set_rule_id(later->rule_id());
      need->set_role(later->role());
      need->set_threshold_pence(later->threshold_pence());
      need->set_counted_pence(counted);
      *need->mutable_counted_kinds() = later->kinds();
      SetMicros(under->micros, need->mutable_setting_effective_time());
    }
    for (const RuleState* rule : rules[decision_org]) {
      const v1::DelegationRuleSet* r = rule->InForceAt(d->proposed_micros);
      if (r == nullptr) continue;
      const int64_t counted = CountedPence(*r, d->proposed.amounts());
      // Below the threshold in the kinds the rule counts, at or above it in all of them: shown,
      // flagged, for the kind an amount was recorded as decided that the rule does not apply.
      v1::DelegationRuleSet every_kind = *r;
      every_kind.clear_kinds();
      const bool by_kind = counted < r->threshold_pence() && !r->kinds().empty() &&
                           CountedPence(every_kind, d->proposed.amounts()) >= r->threshold_pence();
      if (counted < r->threshold_pence() && !by_kind) continue;
      v1::DelegationNeed* need = e->add_delegations();
      need->set_rule_id(r->rule_id());
      need->set_role(r->role());
      need->set_threshold_pence(r->threshold_pence());
      need->set_counted_pence(counted);
      *need->mutable_counted_kinds() = r->kinds();
      need->set_below_threshold_by_kind(by_kind);
      const auto& roles = d->proposed.required_signatory_roles();
      need->set_role_required(std::find(roles.begin(), roles.end(), r->role()) != roles.end());
    }
    switch (status) {
      case v1::DECISION_STATUS_APPROVED:
        out.set_approved(out.approved() + 1);
        for (const v1::DecisionAmount& a : d->proposed.amounts()) {
          if (!a.noted_only()) {
            int64_t& total = spend[{a.funding_source(), a.kind()}];
            total = AddPence(total, a.pence());
          }
        }
        break;
      case v1::DECISION_STATUS_REJECTED:
        out.set_rejected(out.rejected() + 1);
        break;
      case v1::DECISION_STATUS_WITHDRAWN:
        out.set_withdrawn(out.withdrawn() + 1);
        break;
      default:
        out.set_pending(out.pending() + 1);
    }
  }
  for (const auto& [key, pence] : spend) {
    v1::SpendTotal* t = out.add_approved_spend();
    t->set_funding_source(key.first);
    t->set_kind(static_cast<v1::AmountKind>(key.second));
    t->set_pence(pence);
  }
  out.set_split_window_days(window_days);
  std::optional<Withheld> withheld;
  if (request.published_only()) {
    ASSIGN_OR_RETURN(withheld, Withheld::Of(folder));
    for (v1::DecisionEntry& e : *out.mutable_decisions()) {
      const v1::Date& until = withheld->Until(DecisionStream(e.organisation_id(), e.reference()),
                                              e.part1_deferred_until());
      if (&until != &e.part1_deferred_until()) *e.mutable_part1_deferred_until() = until;
    }
    // A decision referred back under a withheld decision's delegated authority is not: its
    // delegation id names that authority.
    for (v1::DecisionEntry& e : *out.mutable_decisions()) {
      if (!e.has_referred_under()) continue;
      const std::string& under = e.referred_under().reference();
      const DecisionState* r = s.FindDecision(e.organisation_id(), under);
      if (withheld->Contains(DecisionStream(e.organisation_id(), under),
                             r != nullptr ? r->proposed.part1_deferred_until() : v1::Date())) {
        e.mutable_referred_under()->clear_delegation_id();
      }
    }
  }
  FindPossibleSplits(s, rules, org, p, int64_t{window_days} * kMicrosPerDay,
                     withheld ? &*withheld : nullptr, &out);
  if (request.published_only()) WithholdUnpublished(folder.now_micros(), &out);
  return out;
}

static absl::StatusOr<v1::GetBenefitsResponse> QueryBenefitsImpl(
    Folder& folder, const v1::GetBenefitsRequest& request) {
  const std::string& p = request.programme_id();
  ASSIGN_OR_RETURN(ProgrammeFold pf, FoldProgramme(folder, request.as_at(), p));

  v1::GetBenefitsResponse out;
  *out.mutable_as_at() = pf.folded->resolved;
  auto add = [&out](const v1::WorkBenefits& b) {
    out.set_total_forecast_annual_pence(AddPence(
        out.total_forecast_annual_pence(), b.forecast_annual_pence()));
    out.set_total_realised_annual_pence(AddPence(
        out.total_realised_annual_pence(), b.realised_annual_pence()));
    out.set_total_closure_annual_benefits_pence(
        AddPence(out.total_closure_annual_benefits_pence(),
                 b.closure_annual_benefits_pence()));
    if (b.closed() && b.subject().kind() == v1::WORK_KIND_PROJECT &&
        !b.has_closure_annual_benefits_pence()) {
      out.set_closures_without_benefits(out.closures_without_benefits() + 1);
    }
    if (b.forecast_recorded()) out.set_total_forecast_recorded(true);
    if (b.realised_recorded()) out.set_total_realised_recorded(true);
  };
  *out.mutable_programme() = BenefitsOf(*pf.programme);
  add(out.programme());
  for (const WorkState* w : pf.folded->state.ProjectsOf(p)) {
    *out.add_projects() = BenefitsOf(*w);
    add(out.projects(out.projects_size() - 1));
  }
  return out;
}

// Sets each correction's `corrects` in `out` and adds the events of `stream` that corrections
// void at `cut`. A correction goes on the stream of the event it names, and corrections stand
// or fall by position whatever their effective times: the stream's events recorded by the cut
// (as known: read by then) hold every correction that counts there.
static absl::Status AddVoided(Folder& folder, const Cut& cut, const std::string& stream,
                              v1::GetEntityHistoryResponse* out) {
  Cut recorded = cut;
  if (cut.mode != v1::AS_AT_MODE_AS_RECORDED) {
    recorded = Cut{};
    recorded.by_position = true;
    recorded.position = cut.known_through != 0 ? cut.known_through : folder.timeline().head();
  }
  ASSIGN_OR_RETURN(std::vector<uint64_t> positions,
                   folder.Select(recorded, Scope{Scope::kStream, stream}));
  ASSIGN_OR_RETURN(std::vector<v1::Event> events, folder.Events(positions, std::nullopt));
  static const std::string kCorrection = v1::CorrectionRecorded::descriptor()->full_name();
  // (correcting, corrected) lower-case ids in log order, and each correction's event.
  std::vector<std::pair<std::string, std::string>> corrections;
  absl::flat_hash_map<std::string, std::pair<const v1::Event*, v1::CorrectionRecorded>> by_id;
  for (const v1::Event& e : events) {
    if (e.stream_id() != stream || e.event_type() != kCorrection) continue;
    v1::CorrectionRecorded m;
    if (!m.ParseFromString(e.payload())) continue;
    const std::string id = absl::AsciiStrToLower(e.event_id());
    corrections.emplace_back(id, absl::AsciiStrToLower(m.corrected_event_id()));
    by_id[id] = {&e, std::move(m)};
  }
  if (corrections.empty()) return absl::OkStatus();
  // What each correction names, for its row.
  absl::flat_hash_map<std::string, v1::EventRef> named;  // lower-case id -> its event
  for (const auto& [correcting, corrected] : corrections) {
    if (named.contains(corrected)) continue;
    ASSIGN_OR_RETURN(std::optional<uint64_t> position, folder.FindEvent(corrected));
    if (!position) continue;
    ASSIGN_OR_RETURN(std::vector<v1::Event> found, folder.Events({*position}, std::nullopt));
    if (!found.empty()) named[corrected] = RefOf(found[0]);
  }
  for (v1::EntityChange& c : *out->mutable_changes()) {
    auto it = by_id.find(absl::AsciiStrToLower(c.event().event_id()));
    if (it == by_id.end()) continue;
    auto ref = named.find(absl::AsciiStrToLower(it->second.second.corrected_event_id()));
    if (ref != named.end()) *c.mutable_corrects() = ref->second;
  }
  const absl::flat_hash_set<std::string> voided_ids = VoidedEvents(corrections);
  const int64_t t = cut.micros.value_or(INT64_MIN);
  std::map<uint64_t, v1::VoidedEvent> voided;  // by position
  for (auto it = corrections.rbegin(); it != corrections.rend(); ++it) {
    const auto& [correcting, corrected] = *it;
    // A correction voided in its turn (an older log's: corrections of corrections are refused
    // now) voids nothing: another, standing, names the event, or it counts again. A correction
    // is never left out, so never listed.
    if (voided_ids.contains(correcting) || !voided_ids.contains(corrected)) continue;
    if (by_id.contains(corrected)) continue;
    auto ref = named.find(corrected);
    if (ref == named.end()) continue;
    if (cut.mode != v1::AS_AT_MODE_AS_RECORDED &&
        ToMicros(ref->second.effective_time()) > t) {
      continue;  // not effective by the cut: no fold there would have held it
    }
    if (voided.contains(ref->second.position())) continue;  // a later correction voids it
    v1::VoidedEvent& v = voided[ref->second.position()];
    *v.mutable_event() = ref->second;
    const auto& [event, message] = by_id.at(correcting);
    *v.mutable_voided_by() = RefOf(*event);
    v.set_reason(message.reason());
  }
  for (auto& [position, v] : voided) *out->add_voided() = std::move(v);
  return absl::OkStatus();
}

// The fold, in effective-time order (stable: log order among equal times), of those of the
// first `count` events of `events` (in log order) effective at or before `until`.
static std::unique_ptr<GovernanceState> FoldByEffectiveTime(const std::vector<v1::Event>& events,
                                                            size_t count, int64_t until) {
  std::vector<const v1::Event*> earlier;
  for (size_t j = 0; j < count; ++j) {
    if (ToMicros(events[j].effective_time()) <= until) earlier.push_back(&events[j]);
  }
  std::stable_sort(earlier.begin(), earlier.end(), [](const v1::Event* a, const v1::Event* b) {
    return ToMicros(a->effective_time()) < ToMicros(b->effective_time());
  });
  auto state = std::make_unique<GovernanceState>(/*remember_events=*/false);
  for (const v1::Event* e : earlier) {
    state->Apply(*e, GovernanceState::Mode::kReplay).IgnoreError();  // skips are harmless
  }
  return state;
}

// What `event` changes applied to `state`, which it leaves applied, into `c`'s at-effective
// aspects, which stay empty where it changes nothing.
static void AddChangeAtEffectiveTime(GovernanceState& state, const v1::Event& event,
                                     const std::string& stream,
                                     const std::pair<std::string, std::string>& decision,
                                     v1::EntityChange* c) {
  const Aspects before = AspectsOf(state, stream, decision);
  state.Apply(event, GovernanceState::Mode::kReplay).IgnoreError();
  const Aspects after = AspectsOf(state, stream, decision);
  if (before == after) return;
  ToAspects(before, c->mutable_before_at_effective_time());
  ToAspects(after, c->mutable_after_at_effective_time());
}

// A stream with events that a stream without any was likely meant to be: an entity's id given
// alone ("LPP-R03": risk/LPP-R03), or a stream written in other letter case ("risk/lpp-r03":
// kinds are lower case, ids all upper or all lower case in the recordings); nullopt if none.
static absl::StatusOr<std::optional<std::string>> StreamMeant(Folder& folder,
                                                              const std::string& stream) {
  std::vector<std::string> candidates;
  const size_t slash = stream.find('/');
  if (slash == std::string::npos) {
    for (const char* kind : {"programme", "project", "risk", "scope", "organisation", "key"}) {
      for (const std::string& id :
           {stream, absl::AsciiStrToUpper(stream), absl::AsciiStrToLower(stream)}) {
        candidates.push_back(absl::StrCat(kind, "/", id));
      }
    }
  } else {
    const std::string kind = absl::AsciiStrToLower(stream.substr(0, slash));
    candidates.push_back(absl::StrCat(kind, "/", absl::AsciiStrToUpper(stream.substr(slash + 1))));
    candidates.push_back(absl::StrCat(kind, "/", absl::AsciiStrToLower(stream.substr(slash + 1))));
  }
  for (const std::string& candidate : candidates) {
    if (candidate == stream || !ValidateStreamId(candidate).ok()) continue;
    ASSIGN_OR_RETURN(const bool held, folder.StreamHasEvents(candidate));
    if (held) return candidate;
  }
  return std::nullopt;
}

static absl::StatusOr<v1::GetEntityHistoryResponse> QueryEntityHistoryImpl(
    Folder& folder, const v1::GetEntityHistoryRequest& request) {
  const std::string& stream = request.stream_id();
  if (stream.empty()) {
    return absl::InvalidArgumentError(
        "stream_id is required: the entity's stream, e.g. \"risk/LPP-R01\" or "
        "\"project/LPP-INV\"");
  }
  RETURN_IF_ERROR(ValidateStreamId(stream));
  absl::StatusOr<Cut> cut = folder.Resolve(request.as_at());
  if (!cut.ok()) return cut.status();
  const Scope scope{Scope::kStream, stream};
  absl::StatusOr<std::vector<uint64_t>> positions = folder.Select(*cut, scope);
  if (!positions.ok()) return positions.status();
  absl::StatusOr<std::vector<v1::Event>> events =
      folder.Events(*positions, std::nullopt);
  if (!events.ok()) return events.status();
  static const std::string kProposed =
      v1::DecisionProposed::descriptor()->full_name();
  static const std::string kStatusReported = v1::StatusReported::descriptor()->full_name();
  std::pair<std::string, std::string> decision;
  GovernanceState state(/*remember_events=*/false);
  v1::GetEntityHistoryResponse out;
  const bool recorded = cut->mode == v1::AS_AT_MODE_AS_RECORDED;
  // As recorded, an event that leaves its entity's state as it was may still have changed it
  // as at its own effective time, among the events recorded before it: a late fact dated
  // before an event already recorded changes nothing now (the later-effective one stands) but
  // did change the entity then; that change goes in its at-effective aspects. That fold (the
  // events before it dated at or before it, in effective-time order, stable) is kept as the
  // events come, so that a long history costs about one more fold, not one per event:
  // `by_effective` holds those dated at or before `frontier`, `pending` the others, by time and
  // index, folded in once the frontier passes them. An event dated before the frontier (a late
  // fact) is placed by a fold of its own, and `by_effective` is built again when next needed.
  std::unique_ptr<GovernanceState> by_effective;
  int64_t frontier = std::numeric_limits<int64_t>::min();
  std::set<std::pair<int64_t, size_t>> pending;
  // Counts event i (dated t), folded by neither, among the events before the next.
  const auto account = [&](size_t i, int64_t t) {
    if (by_effective == nullptr) return;
    if (t > frontier) {
      pending.emplace(t, i);
    } else if (t == frontier) {  // after every event folded (none pending is dated t)
      by_effective->Apply((*events)[i], GovernanceState::Mode::kReplay).IgnoreError();
    } else {
      by_effective.reset();
      pending.clear();
    }
  };
  // Makes by_effective the fold of the events before i dated at or before t.
  // REQUIRES: by_effective is null, or t >= frontier.
  const auto fold_to = [&](size_t i, int64_t t) {
    if (by_effective == nullptr) {
      by_effective = FoldByEffectiveTime(*events, i, t);
      pending.clear();
      for (size_t j = 0; j < i; ++j) {
        const int64_t tj = ToMicros((*events)[j].effective_time());
        if (tj > t) pending.emplace(tj, j);
      }
    }
    while (!pending.empty() && pending.begin()->first <= t) {
      by_effective->Apply((*events)[pending.begin()->second], GovernanceState::Mode::kReplay)
          .IgnoreError();
      pending.erase(pending.begin());
    }
    frontier = t;
  };
  for (size_t i = 0; i < events->size(); ++i) {
    const v1::Event* e = &(*events)[i];
    const int64_t t = ToMicros(e->effective_time());
    if (e->stream_id() != stream) {
      state.Apply(*e, GovernanceState::Mode::kReplay)
          .IgnoreError();  // skips are harmless
      if (recorded) account(i, t);
      continue;
    }
    if (e->event_type() == kProposed && decision.first.empty()) {
      v1::DecisionProposed m;
      if (m.ParseFromString(e->payload()))
        decision = {m.organisation_id(), m.reference()};
    }
    v1::EntityChange* c = out.add_changes();
    *c->mutable_event() = RefOf(*e);
    const Aspects before = AspectsOf(state, stream, decision);
    state.Apply(*e, GovernanceState::Mode::kReplay).IgnoreError();
    const Aspects after = AspectsOf(state, stream, decision);
    ToAspects(before, c->mutable_before());
    ToAspects(after, c->mutable_after());
    c->set_note(NoteOf(*e));
    c->set_unread(UnreadByThisVersion(*e));
    if (e->event_type() == kStatusReported && CanChange("rating", *e)) c->add_restated("rating");
    if (!recorded) continue;
    if (before != after) {
      account(i, t);
    } else if (by_effective != nullptr && t < frontier) {
      AddChangeAtEffectiveTime(*FoldByEffectiveTime(*events, i, t), *e, stream, decision, c);
      account(i, t);  // drops by_effective
    } else {
      fold_to(i, t);
      AddChangeAtEffectiveTime(*by_effective, *e, stream, decision, c);  // leaves it applied
    }
  }
  RETURN_IF_ERROR(AddVoided(folder, *cut, stream, &out));
  if (out.changes_size() == 0 && out.voided_size() == 0) {
    absl::StatusOr<bool> anywhere = folder.StreamHasEvents(stream);
    if (!anywhere.ok()) return anywhere.status();
    if (!*anywhere) {
      ASSIGN_OR_RETURN(const std::optional<std::string> meant, StreamMeant(folder, stream));
      if (meant.has_value()) {
        return absl::NotFoundError(absl::StrCat("the ledger holds no events on stream ", stream,
                                                "; did you mean ", *meant, "?"));
      }
    }
    // As known, the stream's events read count from their effective times: say when the
    // earliest does (after now, for a setting dated ahead: as recorded shows it before then).
    std::string from_when;
    if (*anywhere && !recorded) {
      ASSIGN_OR_RETURN(const std::vector<uint64_t> candidates,
                       folder.Candidates(Scope{Scope::kStream, std::string(stream)}));
      ASSIGN_OR_RETURN(const std::vector<v1::Event> events,
                       folder.Events(candidates, std::nullopt));
      const uint64_t read_to =
          cut->known_through == 0 ? folder.timeline().head() : cut->known_through;
      std::optional<int64_t> earliest;
      for (const v1::Event& e : events) {
        if (e.stream_id() != stream || e.position() > read_to) continue;
        if (!earliest || EffectiveMicros(e) < *earliest) earliest = EffectiveMicros(e);
      }
      if (earliest.has_value()) {
        from_when = absl::StrCat(
            " (as known, an event counts from its effective time: its earliest takes effect ",
            FormatRfc3339(*earliest),
            *earliest > folder.now_micros() ? ", after now; as recorded shows it" : "", ")");
      }
    }
    return absl::NotFoundError(
        *anywhere
            ? absl::StrCat("stream ", stream, " has no events as at this cut", from_when,
                           "; choose a later position, time or week", KnownThroughHint(*cut))
            : absl::StrCat("the ledger holds no events on stream ", stream,
                           "; entity streams look like organisation/<id>, programme/<id>, "
                           "project/<id>, risk/<id>, scope/<id>, "
                           "decision/<organisation>/<reference>, delegation/<organisation>/<rule>, "
                           "key/<id>"));
  }
  *out.mutable_as_at() =
      DescribeCut(*cut, folder.timeline(), positions->size());
  return out;
}

namespace {

// Among `candidates` (ascending positions), those `cut` folds, in fold order:
// SelectEvents' rules on the index's times and corrections.
std::vector<uint64_t> SelectPositions(const ProgrammeIndex& index,
                                      const std::vector<uint64_t>& candidates,
                                      const Cut& cut) {
  const bool recorded = cut.mode == v1::AS_AT_MODE_AS_RECORDED;
  const uint64_t last = !recorded ? (cut.known_through != 0 ? cut.known_through : index.size())
                        : cut.by_position ? cut.position
                                          : index.LastRecordedAtOrBefore(*cut.micros);
  // Corrections visible at the cut: AS_RECORDED, those up to it; AS_KNOWN, all.
  const auto& all = index.corrections();
  const absl::flat_hash_set<uint64_t> corrected =
      LeftOutEvents(std::vector<std::pair<uint64_t, uint64_t>>(
          all.begin(),
          std::upper_bound(all.begin(), all.end(),
                           std::make_pair(last, UINT64_MAX))));
  std::vector<uint64_t> out;
  if (recorded) {
    for (uint64_t p : candidates) {
      if (p > last) break;
      if (!corrected.contains(p)) out.push_back(p);
    }
    return out;
  }
  const int64_t t = cut.micros.value_or(INT64_MIN);
  for (uint64_t p : candidates) {
    if (p > last) break;
    if (index.EffectiveMicros(p) <= t && !corrected.contains(p))
      out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(), [&](uint64_t a, uint64_t b) {
    return index.EffectiveMicros(a) < index.EffectiveMicros(b);
  });
  return out;
}

// QueryDeferredCitations, over either folder.
absl::StatusOr<std::vector<DeferredCitations>> DeferredCitationsOf(Folder& folder) {
  std::vector<DeferredCitations> out;
  ASSIGN_OR_RETURN(const std::vector<uint64_t> positions,
                   folder.Candidates(Scope{Scope::kDecisions, ""}));
  // The decision streams' events alone, voided ones and corrections of them included (a
  // correction is on the stream of the event it corrects).
  ASSIGN_OR_RETURN(const std::vector<v1::Event> events,
                   folder.Events(positions, StreamKind::kDecision));
  static const std::string kCorrection = v1::CorrectionRecorded::descriptor()->full_name();
  static const std::string kProposed = v1::DecisionProposed::descriptor()->full_name();
  std::vector<std::pair<std::string, std::string>> corrections;  // in log order
  for (const v1::Event& e : events) {
    v1::CorrectionRecorded m;
    if (e.event_type() == kCorrection && m.ParseFromString(e.payload())) {
      corrections.emplace_back(absl::AsciiStrToLower(e.event_id()),
                               absl::AsciiStrToLower(m.corrected_event_id()));
    }
  }
  const absl::flat_hash_set<std::string> voided = VoidedEvents(corrections);
  struct Stream {
    DeferredCitations cited;
    bool standing = false;        // cited.part1_deferred_until is a standing proposal's
    v1::Date last_voided_deferral;  // the deferral of the stream's last voided proposal
  };
  std::map<std::string, Stream> by_stream;
  for (const v1::Event& e : events) {
    Stream& stream = by_stream[e.stream_id()];
    const bool is_voided = voided.contains(absl::AsciiStrToLower(e.event_id()));
    v1::DecisionProposed m;
    if (e.event_type() == kProposed && m.ParseFromString(e.payload())) {
      if (is_voided) {
        stream.last_voided_deferral = m.part1_deferred_until();
      } else {
        stream.cited.part1_deferred_until = m.part1_deferred_until();
        stream.standing = true;
      }
    }
    // A voided event's paper is the decision's paper still: voiding a signature does not
    // publish the record it cites.
    if (!e.source().empty()) stream.cited.sources.push_back(e.source());
  }
  for (auto& [id, stream] : by_stream) {
    // A decision struck out (every proposal voided) keeps the deferral it was proposed with.
    if (!stream.standing) stream.cited.part1_deferred_until = stream.last_voided_deferral;
    if (stream.cited.part1_deferred_until.year() == 0) continue;
    stream.cited.stream_id = id;
    out.push_back(std::move(stream.cited));
  }
  return out;
}

}  // namespace

// A ProgrammeIndex, the events from an EventSource, and snapshots of
// programme folds (see programme_index.h for when one is usable).
class IndexFolder final : public Folder {
 public:
  IndexFolder(ProgrammeIndex& index, EventSource& source,
              SnapshotStore* snapshots, const SnapshotOptions& options,
              int64_t now_micros)
      : Folder(now_micros),
        index_(index),
        source_(source),
        snapshots_(snapshots),
        options_(options) {}

  const Timeline& timeline() const override { return index_; }

  absl::StatusOr<std::vector<uint64_t>> Candidates(const Scope& scope) override {
    switch (scope.kind) {
      case Scope::kProgramme:
        return index_.PositionsFor(scope.id);
      case Scope::kDecisions: {
        std::vector<uint64_t> out = index_.DecisionPositions();
        if (scope.id.empty()) return out;
        // The programme's own events too, to tell whether it is registered.
        const std::vector<uint64_t> programme = index_.PositionsFor(scope.id);
        std::vector<uint64_t> merged;
        std::set_union(out.begin(), out.end(), programme.begin(),
                       programme.end(), std::back_inserter(merged));
        return merged;
      }
      case Scope::kStream: {
        ASSIGN_OR_RETURN(std::vector<uint64_t> stream,
                         source_.StreamPositions(scope.id));
        stream.erase(std::upper_bound(stream.begin(), stream.end(),
                                      index_.size()),
                     stream.end());
        const std::vector<uint64_t>& global = index_.GlobalPositions();
        std::vector<uint64_t> merged;
        std::set_union(stream.begin(), stream.end(), global.begin(),
                       global.end(), std::back_inserter(merged));
        return merged;
      }
      case Scope::kGlobal:
        return index_.GlobalPositions();
      case Scope::kAll:
        break;
    }
    std::vector<uint64_t> all(index_.size());
    std::iota(all.begin(), all.end(), 1);
    return all;
  }

  absl::StatusOr<std::vector<uint64_t>> Select(const Cut& cut,
                                               const Scope& scope) override {
    ASSIGN_OR_RETURN(std::vector<uint64_t> candidates, Candidates(scope));
    return SelectPositions(index_, candidates, cut);
  }

  absl::StatusOr<std::vector<v1::Event>> Events(
      const std::vector<uint64_t>& positions,
      std::optional<StreamKind> kind) override {
    if (!kind) return source_.Read(positions);
    std::vector<uint64_t> wanted;
    for (uint64_t p : positions) {
      if (index_.Kind(p) == *kind) wanted.push_back(p);
    }
    return source_.Read(wanted);
  }

  absl::StatusOr<bool> StreamHasEvents(absl::string_view stream) override {
    ASSIGN_OR_RETURN(std::vector<uint64_t> positions,
                     source_.StreamPositions(stream));
    return !positions.empty() && positions.front() <= index_.size();
  }
  absl::StatusOr<std::optional<uint64_t>> FindEvent(absl::string_view event_id) override {
    ASSIGN_OR_RETURN(std::optional<uint64_t> position, source_.FindEvent(event_id));
    if (position && *position > index_.size()) return std::nullopt;
    return position;
  }

  absl::StatusOr<std::unique_ptr<Folded>> Fold(const v1::AsAt& as_at,
                                               const Scope& scope) override {
    if (scope.kind != Scope::kProgramme || snapshots_ == nullptr) {
      return Folder::Fold(as_at, scope);
    }
    auto out = std::make_unique<Folded>();
    ASSIGN_OR_RETURN(out->cut, Resolve(as_at));
    const std::vector<uint64_t> candidates = index_.PositionsFor(scope.id);
    out->positions = SelectPositions(index_, candidates, out->cut);
    out->resolved = DescribeCut(out->cut, index_, out->positions.size());
    if (out->cut.mode == v1::AS_AT_MODE_AS_RECORDED) {
      RETURN_IF_ERROR(FoldRecorded(scope.id, *out));
    } else {
      RETURN_IF_ERROR(FoldKnown(scope.id, candidates, *out));
    }
    return out;
  }

 private:

  // True if no correction after `after` (and up to `last`) changes whether
  // an event `in_snapshot` says a snapshot reflects counts: none names such an
  // event, nor a correction that names one (correcting a correction restores
  // the event it named), and so on down the chain.
  bool NoLaterCorrectionOf(uint64_t after, uint64_t last,
                           const std::function<bool(uint64_t)>& in_snapshot) {
    const auto& all = index_.corrections();  // by the correction's position
    for (auto it = std::upper_bound(all.begin(), all.end(), std::make_pair(after, UINT64_MAX));
         it != all.end(); ++it) {
      const auto& [correction, target] = *it;
      if (correction > last) break;
      for (uint64_t named = target;;) {
        if (in_snapshot(named)) return false;
        // The event `named` names, if it is a correction.
        auto c = std::lower_bound(all.begin(), all.end(),
                                  std::make_pair(named, uint64_t{0}));
        if (c == all.end() || c->first != named) break;
        named = c->second;
      }
    }
    return true;
  }

  absl::Status LoadSnapshot(const std::string& key, GovernanceState* state) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, snapshots_->Get(key));
    if (!bytes) return absl::NotFoundError(key);
    // On an arena: thousands of small messages made in one go and freed at once.
    google::protobuf::Arena arena;
    auto* snapshot =
        google::protobuf::Arena::CreateMessage<internal::GovernanceStateSnapshot>(&arena);
    if (!snapshot->ParseFromString(*bytes)) {
      return absl::DataLossError(
          absl::StrCat("query snapshot ", key, " does not parse"));
    }
    return state->Load(*snapshot);
  }

  absl::Status SaveSnapshot(const std::string& key,
                            const GovernanceState& state) {
    std::string bytes;
    state.SerializeSnapshot(&bytes);
    RETURN_IF_ERROR(snapshots_->Put(key, bytes));
    ++index_.snapshots_taken;
    index_.snapshot_bytes += bytes.size();
    return absl::OkStatus();
  }

  // Folds `events` (read in slices) into f.state, calling `after(i)` after
  // the i-th (index into f.positions).
  absl::Status FoldTail(Folded& f, size_t begin,
                        const std::function<absl::Status(size_t)>& after) {
    constexpr size_t kSlice = 4096;
    for (size_t at = begin; at < f.positions.size(); at += kSlice) {
      const size_t end = std::min(f.positions.size(), at + kSlice);
      std::vector<uint64_t> slice(f.positions.begin() + at,
                                  f.positions.begin() + end);
      ASSIGN_OR_RETURN(std::vector<v1::Event> events, source_.Read(slice));
      for (size_t i = 0; i < events.size(); ++i) {
        f.state.Apply(events[i], GovernanceState::Mode::kReplay).IgnoreError();
        RETURN_IF_ERROR(after(at + i));
      }
    }
    return absl::OkStatus();
  }

  absl::Status FoldRecorded(const std::string& programme, Folded& f) {
    RETURN_IF_ERROR(index_.DeleteDroppedSnapshots(*snapshots_));
    const uint64_t last = f.cut.by_position
                              ? f.cut.position
                              : index_.LastRecordedAtOrBefore(*f.cut.micros);
    // The latest snapshot at or before the cut that no visible correction
    // invalidates.
    uint64_t from = 0;
    if (const ProgrammeIndex::Snapshots* snaps = index_.SnapshotsOf(programme)) {
      for (auto it = snaps->recorded.rbegin(); it != snaps->recorded.rend();
           ++it) {
        const uint64_t p = *it;
        if (p > last) continue;
        if (!NoLaterCorrectionOf(p, last, [p](uint64_t t) { return t <= p; }))
          continue;
        if (LoadSnapshot(ProgrammeIndex::RecordedSnapshotKey(programme, p),
                         &f.state)
                .ok()) {
          from = p;
          ++index_.recorded_from_snapshot;
        }
        break;
      }
    }
    const size_t begin =
        std::upper_bound(f.positions.begin(), f.positions.end(), from) -
        f.positions.begin();
    size_t since = 0;
    size_t unsaved = 0;  // events folded since the state was loaded or saved
    return FoldTail(f, begin, [&](size_t i) -> absl::Status {
      const uint64_t p = f.positions[i];
      ++unsaved;
      const bool interval = ++since >= options_.every;
      // The last event folded is a snapshot's point only when a whole interval has been folded
      // with none saved: a correction of an early event leaves none to save on the way (each
      // is before the correction), and every answer at a later cut would fold them all again.
      if (i + 1 == f.positions.size() ? unsaved < options_.every : !interval) {
        return absl::OkStatus();
      }
      since = 0;
      // What this state reflects holds for every cut at or after p only if no
      // correction up to this cut, after p, names an event up to p.
      if (!NoLaterCorrectionOf(p, last, [p](uint64_t t) { return t <= p; }))
        return absl::OkStatus();
      if (const ProgrammeIndex::Snapshots* snaps =
              index_.SnapshotsOf(programme);
          snaps != nullptr &&
          std::binary_search(snaps->recorded.begin(), snaps->recorded.end(),
                             p)) {
        return absl::OkStatus();  // taken by an earlier answer
      }
      RETURN_IF_ERROR(SaveSnapshot(
          ProgrammeIndex::RecordedSnapshotKey(programme, p), f.state));
      index_.AddRecordedSnapshot(programme, p);
      unsaved = 0;
      return absl::OkStatus();
    });
  }

  absl::Status FoldKnown(const std::string& programme,
                         const std::vector<uint64_t>& candidates, Folded& f) {
    RETURN_IF_ERROR(index_.DeleteDroppedSnapshots(*snapshots_));
    const int64_t t = f.cut.micros.value_or(INT64_MIN);
    // The last position read: a snapshot that read past it folds what this answer may not.
    const uint64_t head = f.cut.known_through != 0 ? f.cut.known_through : index_.size();
    int64_t from = INT64_MIN;
    bool loaded = false;
    // Snapshots found unusable: they stay so (the events and corrections that make them so
    // are never removed), so the catalogue leaves them out.
    std::vector<ProgrammeIndex::KnownSnapshot> unusable;
    if (const ProgrammeIndex::Snapshots* snaps = index_.SnapshotsOf(programme)) {
      for (auto it = snaps->known.rbegin(); it != snaps->known.rend(); ++it) {
        const ProgrammeIndex::KnownSnapshot s = *it;
        if (s.effective_micros > t || s.head > head) continue;
        // Nothing recorded after the snapshot (up to what this answer reads) may fold at or
        // before T.
        bool usable = true;
        for (auto c = std::upper_bound(candidates.begin(), candidates.end(),
                                       s.head);
             c != candidates.end() && *c <= head; ++c) {
          if (index_.EffectiveMicros(*c) <= s.effective_micros) {
            usable = false;
            break;
          }
        }
        usable = usable &&
                 NoLaterCorrectionOf(s.head, head, [&](uint64_t target) {
                   return index_.EffectiveMicros(target) <= s.effective_micros;
                 });
        if (!usable) {
          unusable.push_back(s);
          continue;
        }
        if (LoadSnapshot(ProgrammeIndex::KnownSnapshotKey(programme, s),
                         &f.state)
                .ok()) {
          from = s.effective_micros;
          loaded = true;
          ++index_.known_from_snapshot;
        }
        break;
      }
    }
    for (const ProgrammeIndex::KnownSnapshot& s : unusable) {
      index_.DropKnownSnapshot(programme, s);
    }
    size_t begin = 0;
    if (loaded) {
      begin = std::partition_point(f.positions.begin(), f.positions.end(),
                                   [&](uint64_t p) {
                                     return index_.EffectiveMicros(p) <= from;
                                   }) -
              f.positions.begin();
    }
    size_t since = 0;
    return FoldTail(f, begin, [&](size_t i) -> absl::Status {
      if (++since < options_.every) return absl::OkStatus();
      const int64_t e = index_.EffectiveMicros(f.positions[i]);
      // A snapshot at T = e needs every selected event effective at or
      // before e folded: the next one must be later.
      if (i + 1 < f.positions.size() &&
          index_.EffectiveMicros(f.positions[i + 1]) <= e) {
        return absl::OkStatus();
      }
      since = 0;
      const ProgrammeIndex::KnownSnapshot s{e, head};
      if (const ProgrammeIndex::Snapshots* snaps =
              index_.SnapshotsOf(programme)) {
        for (const ProgrammeIndex::KnownSnapshot& k : snaps->known) {
          if (k.effective_micros == e && k.head == head) {
            return absl::OkStatus();  // taken by an earlier answer
          }
        }
      }
      RETURN_IF_ERROR(
          SaveSnapshot(ProgrammeIndex::KnownSnapshotKey(programme, s), f.state));
      index_.AddKnownSnapshot(programme, s);
      return absl::OkStatus();
    });
  }

  ProgrammeIndex& index_;
  EventSource& source_;
  SnapshotStore* const snapshots_;
  const SnapshotOptions options_;
};

// The public answers: over the whole log, and over an index.

#define GOVLEDGER_QUERY(Name, Request, Response)                            \
  absl::StatusOr<v1::Response> Name(const std::vector<v1::Event>& log,      \
                                    int64_t now_micros,                     \
                                    const v1::Request& request) {           \
    VectorFolder folder(log, now_micros);                                   \
    return Name##Impl(folder, request);                                     \
  }                                                                         \
  absl::StatusOr<v1::Response> Name(const IndexedLog& log,                  \
                                    int64_t now_micros,                     \
                                    const v1::Request& request) {           \
    IndexFolder folder(*log.index, *log.source, log.snapshots, log.options, \
                       now_micros);                                         \
    return Name##Impl(folder, request);                                     \
  }

GOVLEDGER_QUERY(QueryProgrammeStatus, GetProgrammeStatusRequest,
                GetProgrammeStatusResponse)
GOVLEDGER_QUERY(QueryRiskRegister, GetRiskRegisterRequest,
                GetRiskRegisterResponse)
GOVLEDGER_QUERY(QueryCompare, CompareRequest, CompareResponse)
GOVLEDGER_QUERY(QueryScopeMap, GetScopeMapRequest, GetScopeMapResponse)
GOVLEDGER_QUERY(QueryDecisionRegister, GetDecisionRegisterRequest,
                GetDecisionRegisterResponse)
GOVLEDGER_QUERY(QueryBenefits, GetBenefitsRequest, GetBenefitsResponse)
GOVLEDGER_QUERY(QueryEntityHistory, GetEntityHistoryRequest,
                GetEntityHistoryResponse)
GOVLEDGER_QUERY(QueryProgrammes, ListProgrammesRequest, ListProgrammesResponse)

#undef GOVLEDGER_QUERY

// A position cut reads no clock.
absl::StatusOr<std::vector<DeferredCitations>> QueryDeferredCitations(
    const std::vector<v1::Event>& log) {
  VectorFolder folder(log, /*now_micros=*/0);
  return DeferredCitationsOf(folder);
}

absl::StatusOr<std::vector<DeferredCitations>> QueryDeferredCitations(const IndexedLog& log) {
  IndexFolder folder(*log.index, *log.source, log.snapshots, log.options, /*now_micros=*/0);
  return DeferredCitationsOf(folder);
}

}  // namespace govledger::projections
