// Snapshots of the governance fold (projections/state_snapshot.cc) and the
// write side's persisted state (GovernanceValidator with the real Ledger on a
// MemoryEventStore): a state folded to N equals the snapshot at N loaded, and
// both go on to accept and refuse the same events; a restart loads the
// snapshot and replays only the tail; a snapshot that does not match the log is
// ignored; a rebuild drops the projections and resumes from its checkpoint.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "govledger/internal/snapshot.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "tests/memory_event_store.h"
#include "projections/governance_state.h"
#include "projections/governance_validator.h"
#include "tests/forwarding_event_store.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::FakeClock;
using ::govledger::testing::IsOk;
using ::govledger::testing::IsOkAndHolds;
using ::govledger::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000123456;

// Every kind of entity and change: organisations, programmes, projects and
// their closure, status, gates, milestones, benefits, risks opened, re-rated,
// transferred and closed, scope added, moved and removed, a decision signed by
// both its signatories, a delegation rule, a key revoked, a correction.
std::vector<v1::Event> RichLog() {
  static const Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  static const Signer cfo = NewSigner("cfo", "Chief Finance Officer");
  const v1::DecisionProposed pcd72 =
      Decision("MOPAC", "PCD 72", {dmpc.role, cfo.role},
               {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  std::vector<v1::Event> log = {
      Ev(Organisation("MOPAC")),
      Ev(Programme("LPP", "MOPAC")),
      Ev(Programme("OCP", "MOPAC")),
      Ev(Project("LPP-INV", "LPP")),
      Ev(Project("LPP-EST", "LPP")),
      Ev(Delegation("MOPAC", "DMPC-500K", 50000000, dmpc.role)),
      Ev(dmpc.Registration()),
      Ev(cfo.Registration()),
      Ev(Status(ProjectRef("LPP-INV"), v1::RAG_AMBER, 3)),
      Ev(Risk("R1", ProjectRef("LPP-INV"))),
      Ev(Risk("R2", ProgrammeRef("LPP"))),
      Ev(Rerate("R1", v1::RAG_RED)),
      Ev(TransferRisk("R2", ProgrammeRef("OCP"))),
      Ev(AddScope("S1", ProjectRef("LPP-INV"))),
      Ev(TransferScope("S1", ProjectRef("LPP-INV"), ProjectRef("LPP-EST"))),
      Ev(AddScope("S2", ProgrammeRef("LPP"))),
      Ev(RemoveScope("S2", ProgrammeRef("LPP"))),
      Ev(pcd72),
      Ev(dmpc.Sign(pcd72)),
  };
  v1::GatePassed gate;
  *gate.mutable_subject() = ProjectRef("LPP-INV");
  gate.set_gate("Gate 3");
  log.push_back(Ev(gate));
  v1::MilestoneReached milestone;
  *milestone.mutable_subject() = ProgrammeRef("LPP");
  milestone.set_milestone("Tranche 1 complete");
  log.push_back(Ev(milestone));
  v1::BenefitForecast forecast;
  *forecast.mutable_subject() = ProjectRef("LPP-EST");
  forecast.set_benefit_id("estates");
  forecast.set_description("Estate savings");
  forecast.set_annual_pence(1200000000);
  log.push_back(Ev(forecast));
  log.push_back(Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 5)));
  const v1::Event wrong = Ev(Status(ProjectRef("LPP-EST"), v1::RAG_RED, 5));
  log.push_back(wrong);
  log.push_back(Correction(wrong, "reported against the wrong project"));
  log.push_back(Ev(cfo.Sign(pcd72)));
  log.push_back(Ev(CloseRisk("R1")));
  log.push_back(Ev(CloseProject("LPP-INV")));
  log.push_back(Ev(Revoke("cfo")));
  return log;
}

// A state's snapshot with every list in a fixed order (hash maps iterate in
// any order), so that equal states compare equal.
std::string Canonical(const GovernanceState& state) {
  internal::GovernanceStateSnapshot s;
  state.Save(&s);
  auto sort = [](auto* field) {
    std::sort(field->begin(), field->end(), [](const auto& a, const auto& b) {
      return a.SerializeAsString() < b.SerializeAsString();
    });
  };
  sort(s.mutable_organisations());
  sort(s.mutable_work());
  sort(s.mutable_risks());
  sort(s.mutable_scope_items());
  sort(s.mutable_decisions());
  sort(s.mutable_keys());
  sort(s.mutable_rules());
  sort(s.mutable_corrections());
  // Packed events: the stream numbers depend on the order streams were first
  // seen, which a loaded state keeps; sort the 20-byte records.
  std::vector<std::string> events;
  for (size_t i = 0; i < s.events().size(); i += 20) events.push_back(s.events().substr(i, 20));
  std::sort(events.begin(), events.end());
  s.clear_events();
  for (const std::string& e : events) s.mutable_events()->append(e);
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  s.SerializeToCodedStream(&coded);
  return out;
}

// `state` serialized as a snapshot, parsed and loaded into `*loaded`, which must then equal it.
void RoundTrip(const GovernanceState& state, GovernanceState* loaded) {
  std::string bytes;
  state.SerializeSnapshot(&bytes);
  internal::GovernanceStateSnapshot parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  ASSERT_OK(loaded->Load(parsed));
  EXPECT_EQ(Canonical(*loaded), Canonical(state));
}

// SerializeSnapshot builds its halves on two threads: its bytes load to the
// state Save's snapshot loads to, at every point of a fold, and hold as many
// entities.
TEST(StateSnapshotTest, SerializedSnapshotLoadsAsSavesDoes) {
  const std::vector<v1::Event> log = RichLog();
  GovernanceState state;
  for (size_t i = 0; i <= log.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("after ", i, " events"));
    internal::GovernanceStateSnapshot saved;
    state.Save(&saved);
    internal::GovernanceStateSnapshot parsed;
    std::string bytes = "kept";  // appended to, not replaced
    state.SerializeSnapshot(&bytes);
    ASSERT_EQ(bytes.substr(0, 4), "kept");
    ASSERT_TRUE(parsed.ParseFromString(bytes.substr(4)));
    EXPECT_EQ(parsed.risks_size(), saved.risks_size());
    EXPECT_EQ(parsed.ByteSizeLong(), saved.ByteSizeLong());
    GovernanceState loaded;
    ASSERT_OK(loaded.Load(parsed));
    EXPECT_EQ(Canonical(loaded), Canonical(state));
    if (i < log.size()) {
      ASSERT_OK(state.Apply(log[i], GovernanceState::Mode::kValidate));
    }
  }
  EXPECT_GE(state.risks().size(), 2u);  // both halves hold risks
}

// A programme's re-plans, with their effective times, and the plan as first registered come
// back from a snapshot; a re-plan with an earlier effective time than the last is still refused
// after the load.
TEST(StateSnapshotTest, ReplansAndThePlanAsRegisteredRoundTrip) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  v1::ProgrammeReplanned board = Replan("LPP", 0);
  board.set_board("LPP Board (re-formed)");
  GovernanceState folded;
  for (const v1::Event& e :
       {At(Ev(Organisation("MOPAC")), kT0), At(Ev(Programme("LPP", "MOPAC")), kT0),
        At(Ev(Replan("LPP", 500)), kT0 + 10 * kDay), At(Ev(board), kT0 + 20 * kDay)}) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  const WorkState* lpp = loaded.FindProgramme("LPP");
  ASSERT_NE(lpp, nullptr);
  ASSERT_EQ(lpp->replans.size(), 2u);
  EXPECT_EQ(lpp->replans[0].micros, kT0 + 10 * kDay);
  EXPECT_EQ(lpp->replans[0].replan.planned_weeks(), 500);
  EXPECT_EQ(lpp->replans[1].micros, kT0 + 20 * kDay);
  EXPECT_EQ(lpp->replans[1].replan.board(), "LPP Board (re-formed)");
  EXPECT_EQ(lpp->programme.planned_weeks(), 500);
  EXPECT_EQ(lpp->programme.board(), "LPP Board (re-formed)");
  EXPECT_EQ(lpp->as_registered.planned_weeks(), Programme("LPP", "MOPAC").planned_weeks());
  EXPECT_EQ(lpp->as_registered.board(), Programme("LPP", "MOPAC").board());
  for (GovernanceState* state : {&folded, &loaded}) {
    EXPECT_THAT(
        state->Apply(At(Ev(Replan("LPP", 510)), kT0 + 15 * kDay), GovernanceState::Mode::kValidate),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 HasSubstr("programme LPP was last re-planned effective")));
  }
}

// The sources of a programme's current report and latest update come back from a snapshot.
TEST(StateSnapshotTest, TheCurrentReportsSourcesRoundTrip) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  v1::Event rated = At(Ev(Status(ProgrammeRef("LPP"), v1::RAG_AMBER, 2)), kT0 + 10 * kDay);
  rated.set_source("Joint Audit Committee update, week 2");
  v1::StatusReported progress = Status(ProgrammeRef("LPP"), v1::RAG_UNSPECIFIED, 3);
  progress.set_commentary("progress");
  v1::Event update = At(Ev(progress), kT0 + 17 * kDay);
  update.set_source("Programme board highlight report, week 3");
  GovernanceState folded;
  for (const v1::Event& e : {At(Ev(Organisation("MOPAC")), kT0),
                             At(Ev(Programme("LPP", "MOPAC")), kT0), rated, update}) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  const WorkState* lpp = loaded.FindProgramme("LPP");
  ASSERT_NE(lpp, nullptr);
  EXPECT_EQ(lpp->status_source, "Joint Audit Committee update, week 2");
  EXPECT_EQ(lpp->update_source, "Programme board highlight report, week 3");
}

// The sources of a risk's current rating, its closure and its departures (and a departure's
// position) come back from a snapshot; a re-rating keyed in late for an earlier time does not take the rating's source.
TEST(StateSnapshotTest, TheRisksSourcesRoundTrip) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  auto sourced = [](v1::Event e, int64_t micros, const std::string& source) {
    e = At(std::move(e), micros);
    e.set_source(source);
    return e;
  };
  GovernanceState folded;
  uint64_t position = 0;
  for (const v1::Event& e :
       {At(Ev(Organisation("MOPAC")), kT0), At(Ev(Programme("LPP", "MOPAC")), kT0),
        At(Ev(Programme("OCP", "MOPAC")), kT0),
        sourced(Ev(Risk("R1", ProgrammeRef("LPP"))), kT0 + kDay, "risk register"),
        sourced(Ev(Rerate("R1", v1::RAG_RED)), kT0 + 10 * kDay, "update, day 10"),
        sourced(Ev(Rerate("R1", v1::RAG_GREEN)), kT0 + 5 * kDay, "minutes, day 5, late"),
        sourced(Ev(CloseRisk("R1")), kT0 + 11 * kDay, "closure note"),
        sourced(Ev(Risk("R2", ProgrammeRef("LPP"), v1::RAG_RED)), kT0 + kDay, "register 2"),
        sourced(Ev(TransferRisk("R2", ProgrammeRef("OCP"))), kT0 + 12 * kDay, "transfer note")}) {
    v1::Event positioned = e;
    positioned.set_position(++position);
    ASSERT_OK(folded.Apply(positioned, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  const RiskState& r1 = loaded.risks().at("R1");
  EXPECT_EQ(r1.rating, v1::RAG_RED);
  EXPECT_EQ(r1.rating_source, "update, day 10");
  EXPECT_EQ(r1.closed_source, "closure note");
  const RiskState& r2 = loaded.risks().at("R2");
  EXPECT_EQ(r2.rating_source, "register 2");
  EXPECT_EQ(r2.closed_source, "");
  ASSERT_EQ(r2.departures.size(), 1u);
  EXPECT_EQ(r2.departures.at("LPP").rating_source, "register 2");
  EXPECT_EQ(r2.departures.at("LPP").source, "transfer note");
  EXPECT_EQ(r2.departures.at("LPP").position, 9u);  // the transfer's, where a Compare cuts
  EXPECT_EQ(r2.subject_source, "transfer note");    // what gave it its subject, OCP
  EXPECT_EQ(r1.subject_source, "");                 // never transferred
  EXPECT_EQ(r1.closed_micros, kT0 + 11 * kDay);     // which a late fact's refusal compares
  EXPECT_EQ(r2.closed_micros, kUnknownTime);
}

// When a programme and a project were closed comes back from a snapshot, and so a fact dated
// after a closure is still told so after a load.
TEST(StateSnapshotTest, ClosureTimesRoundTrip) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  GovernanceState folded;
  for (const v1::Event& e :
       {At(Ev(Organisation("MOPAC")), kT0), At(Ev(Programme("LPP", "MOPAC")), kT0),
        At(Ev(Project("LPP-INV", "LPP")), kT0), At(Ev(Project("LPP-RESP", "LPP")), kT0),
        At(Ev(CloseProject("LPP-INV")), kT0 + 5 * kDay)}) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  EXPECT_EQ(loaded.FindWork(ProjectRef("LPP-INV"))->closed_micros, kT0 + 5 * kDay);
  EXPECT_EQ(loaded.FindWork(ProjectRef("LPP-RESP"))->closed_micros, kUnknownTime);
  EXPECT_EQ(loaded.FindProgramme("LPP")->closed_micros, kUnknownTime);
  for (GovernanceState* state : {&folded, &loaded}) {
    EXPECT_THAT(
        state->Apply(At(Ev(Status(ProjectRef("LPP-INV"), v1::RAG_GREEN, 2)), kT0 + 6 * kDay),
                     GovernanceState::Mode::kValidate),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 HasSubstr("this event is dated after the closure, effective")));
  }
}

// The sources of a benefit's current forecast and realised figures come back from a snapshot; a
// forecast keyed in late for an earlier time does not take the current one's source.
TEST(StateSnapshotTest, TheBenefitsSourcesRoundTrip) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  auto figure = [](auto m, int64_t pence, int64_t micros, const std::string& source) {
    *m.mutable_subject() = ProgrammeRef("LPP");
    m.set_benefit_id("savings");
    m.set_annual_pence(pence);
    v1::Event e = At(Ev(m), micros);
    e.set_source(source);
    return e;
  };
  GovernanceState folded;
  for (const v1::Event& e :
       {At(Ev(Organisation("MOPAC")), kT0), At(Ev(Programme("LPP", "MOPAC")), kT0),
        figure(v1::BenefitForecast(), 500, kT0 + 10 * kDay, "business case, day 10"),
        figure(v1::BenefitForecast(), 400, kT0 + 5 * kDay, "minutes, day 5, late"),
        figure(v1::BenefitRealised(), 100, kT0 + 20 * kDay, "benefits report, day 20")}) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  const BenefitState& b = loaded.FindProgramme("LPP")->benefits.at("savings");
  EXPECT_EQ(b.forecast_annual_pence, 500);
  EXPECT_EQ(b.forecast_source, "business case, day 10");
  EXPECT_EQ(b.realised_source, "benefits report, day 20");
}

TEST(StateSnapshotTest, TheDecisionsSourcesRoundTrip) {
  const Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  const v1::DecisionProposed pcd73 = Decision("MOPAC", "PCD 73", {dmpc.role});
  v1::DecisionRejected rejected;
  rejected.set_organisation_id("MOPAC");
  rejected.set_reference("PCD 73");
  rejected.set_reason("not affordable");
  rejected.set_rejected_by(dmpc.role);
  auto sourced = [](v1::Event e, const std::string& source) {
    e.set_source(source);
    return e;
  };
  GovernanceState folded;
  for (const v1::Event& e :
       {Ev(Organisation("MOPAC")), Ev(dmpc.Registration()), sourced(Ev(pcd72), "PCD 72 form"),
        sourced(Ev(dmpc.Sign(pcd72)), "PCD 72 as signed"), sourced(Ev(pcd73), "PCD 73 form"),
        sourced(At(Ev(rejected), kT0), "DMPC's letter")}) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  const DecisionState* signed_one = loaded.FindDecision("MOPAC", "PCD 72");
  ASSERT_NE(signed_one, nullptr);
  EXPECT_EQ(signed_one->proposed_source, "PCD 72 form");
  EXPECT_EQ(signed_one->signed_sources.at("dmpc"), "PCD 72 as signed");
  EXPECT_EQ(signed_one->outcome_source, "");
  const DecisionState* rejected_one = loaded.FindDecision("MOPAC", "PCD 73");
  ASSERT_NE(rejected_one, nullptr);
  EXPECT_EQ(rejected_one->proposed_source, "PCD 73 form");
  EXPECT_TRUE(rejected_one->signed_sources.empty());
  EXPECT_EQ(rejected_one->outcome_source, "DMPC's letter");
  EXPECT_EQ(rejected_one->outcome_by, dmpc.role);
  EXPECT_EQ(rejected_one->outcome_reason, "not affordable");
  EXPECT_EQ(rejected_one->outcome_micros, kT0);
  EXPECT_EQ(signed_one->outcome_reason, "");
}

// Risks and scope items are serialized straight from the state, not through
// snapshot messages: every field carries the state's value.
TEST(StateSnapshotTest, SavedRisksAndScopeItemsCarryTheStatesValues) {
  GovernanceState state;
  for (const v1::Event& e : RichLog()) {
    ASSERT_OK(state.Apply(e, GovernanceState::Mode::kValidate));
  }
  internal::GovernanceStateSnapshot saved;
  state.Save(&saved);
  ASSERT_EQ(saved.risks_size(), 2);
  for (const auto& s : saved.risks()) {
    SCOPED_TRACE(s.opened().risk_id());
    const RiskState& r = state.risks().at(s.opened().risk_id());
    EXPECT_EQ(s.opened().SerializeAsString(), r.opened.SerializeAsString());
    EXPECT_EQ(s.subject().SerializeAsString(), r.subject.SerializeAsString());
    EXPECT_EQ(s.rating(), r.rating);
    EXPECT_EQ(s.open(), r.open);
    EXPECT_EQ(s.closed_reason(), r.closed_reason);
    ASSERT_EQ(static_cast<size_t>(s.earlier_subjects_size()), r.earlier_subjects.size());
    for (int i = 0; i < s.earlier_subjects_size(); ++i) {
      EXPECT_EQ(s.earlier_subjects(i).SerializeAsString(),
                r.earlier_subjects[i].SerializeAsString());
    }
  }
  // R1 was re-rated and closed, R2 transferred and still open.
  const RiskState& r1 = state.risks().at("R1");
  EXPECT_EQ(r1.rating, v1::RAG_RED);
  EXPECT_FALSE(r1.open);
  EXPECT_FALSE(r1.closed_reason.empty());
  EXPECT_TRUE(state.risks().at("R2").open);
  EXPECT_EQ(state.risks().at("R2").subject.id(), "OCP");
  ASSERT_EQ(state.risks().at("R2").earlier_subjects.size(), 1u);
  EXPECT_EQ(state.risks().at("R2").earlier_subjects[0].SerializeAsString(),
            state.risks().at("R2").opened.subject().SerializeAsString());
  EXPECT_TRUE(state.risks().at("R1").earlier_subjects.empty());
  // R2 left LPP for OCP: LPP's departure, saved with the rating it had.
  const RiskState& r2 = state.risks().at("R2");
  ASSERT_EQ(r2.departures.size(), 1u);
  EXPECT_EQ(r2.departures.at("LPP").to.id(), "OCP");
  for (const auto& s : saved.risks()) {
    if (s.opened().risk_id() != "R2") continue;
    ASSERT_EQ(s.departures_size(), 1);
    EXPECT_EQ(s.departures(0).programme_id(), "LPP");
    EXPECT_EQ(s.departures(0).to().id(), "OCP");
    EXPECT_EQ(s.departures(0).rating(), r2.departures.at("LPP").rating);
  }

  ASSERT_EQ(saved.scope_items_size(), 2);
  for (const auto& s : saved.scope_items()) {
    SCOPED_TRACE(s.added().scope_item_id());
    const ScopeItemState& item = state.scope_items().at(s.added().scope_item_id());
    EXPECT_EQ(s.added().SerializeAsString(), item.added.SerializeAsString());
    EXPECT_EQ(s.owner().SerializeAsString(), item.owner.SerializeAsString());
    EXPECT_EQ(s.in_scope(), item.in_scope);
  }
  EXPECT_EQ(state.scope_items().at("S1").owner.id(), "LPP-EST");
  ASSERT_EQ(saved.scope_items_size(), 2);
  for (const auto& s : saved.scope_items()) {
    const ScopeItemState& item = state.scope_items().at(s.added().scope_item_id());
    ASSERT_EQ(static_cast<size_t>(s.earlier_owners_size()), item.earlier_owners.size());
    for (int i = 0; i < s.earlier_owners_size(); ++i) {
      EXPECT_EQ(s.earlier_owners(i).SerializeAsString(),
                item.earlier_owners[i].SerializeAsString());
    }
  }
  // S1 moved between LPP's projects: no departure from LPP.
  EXPECT_TRUE(state.scope_items().at("S1").departures.empty());
  EXPECT_TRUE(state.scope_items().at("S1").in_scope);
  EXPECT_FALSE(state.scope_items().at("S2").in_scope);
}

// A risk and a scope item that left two programmes each (LPP -> OCP -> SCCP) come back from a
// serialized snapshot with both departures, and with their subject, owner and rating: every
// departure is written with its own size (sized once all were built, a growing vector having
// moved the first and lost its cached size, which spilled its bytes into the risk).
TEST(StateSnapshotTest, EntitiesThatLeftSeveralProgrammesRoundTrip) {
  GovernanceState state;
  for (const v1::Event& e :
       {Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")), Ev(Programme("OCP", "MOPAC")),
        Ev(Programme("SCCP", "MOPAC")), Ev(Risk("R1", ProgrammeRef("LPP"))),
        Ev(Rerate("R1", v1::RAG_RED)), Ev(TransferRisk("R1", ProgrammeRef("OCP"))),
        Ev(Rerate("R1", v1::RAG_GREEN)), Ev(TransferRisk("R1", ProgrammeRef("SCCP"))),
        Ev(AddScope("S1", ProgrammeRef("LPP"))),
        Ev(TransferScope("S1", ProgrammeRef("LPP"), ProgrammeRef("OCP"))),
        Ev(TransferScope("S1", ProgrammeRef("OCP"), ProgrammeRef("SCCP")))}) {
    ASSERT_OK(state.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(state, &loaded));
  const RiskState& r1 = loaded.risks().at("R1");
  EXPECT_EQ(r1.subject.id(), "SCCP");
  EXPECT_EQ(r1.rating, v1::RAG_GREEN);
  ASSERT_EQ(r1.departures.size(), 2u);
  EXPECT_EQ(r1.departures.at("LPP").to.id(), "OCP");
  EXPECT_EQ(r1.departures.at("LPP").rating, v1::RAG_RED);
  EXPECT_EQ(r1.departures.at("OCP").to.id(), "SCCP");
  EXPECT_EQ(r1.departures.at("OCP").rating, v1::RAG_GREEN);
  const ScopeItemState& s1 = loaded.scope_items().at("S1");
  EXPECT_EQ(s1.owner.id(), "SCCP");
  ASSERT_EQ(s1.departures.size(), 2u);
  EXPECT_EQ(s1.departures.at("LPP").to.id(), "OCP");
  EXPECT_EQ(s1.departures.at("OCP").to.id(), "SCCP");
}

// Risks and scope items are serialized by hand (state_snapshot.cc lists their fields): risks
// and a scope item that have been through every change (one risk closed, one still open) write,
// between them, every field of their snapshot messages, so a field added to snapshot.proto but
// not to that list fails here.
TEST(StateSnapshotTest, EveryFieldOfARiskAndAScopeItemIsWritten) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  GovernanceState state;
  uint64_t position = 0;
  for (v1::Event e :
       {Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")), Ev(Programme("OCP", "MOPAC")),
        Ev(Risk("R1", ProgrammeRef("LPP"), v1::RAG_AMBER)), Ev(Rerate("R1", v1::RAG_RED)),
        Ev(TransferRisk("R1", ProgrammeRef("OCP"))), Ev(CloseRisk("R1")),
        Ev(Risk("R2", ProgrammeRef("LPP"))), Ev(AddScope("S1", ProgrammeRef("LPP"))),
        Ev(TransferScope("S1", ProgrammeRef("LPP"), ProgrammeRef("OCP")))}) {
    ++position;
    e = At(std::move(e), kT0 + static_cast<int64_t>(position) * kDay);
    e.set_position(position);
    e.set_source(absl::StrCat("paper ", position));
    ASSERT_OK(state.Apply(e, GovernanceState::Mode::kValidate));
  }
  internal::GovernanceStateSnapshot saved;
  state.Save(&saved);
  ASSERT_EQ(saved.risks_size(), 2);
  ASSERT_EQ(saved.scope_items_size(), 1);
  // Each field of Risk and ScopeItem, and whether any saved entity holds it.
  std::map<const google::protobuf::FieldDescriptor*, bool> written;
  for (const google::protobuf::Descriptor* d :
       {internal::GovernanceStateSnapshot::Risk::descriptor(),
        internal::GovernanceStateSnapshot::ScopeItem::descriptor()}) {
    for (int i = 0; i < d->field_count(); ++i) written[d->field(i)] = false;
  }
  std::vector<const google::protobuf::Message*> entities = {&saved.scope_items(0)};
  for (const auto& risk : saved.risks()) entities.push_back(&risk);
  for (const google::protobuf::Message* m : entities) {
    const google::protobuf::Reflection* r = m->GetReflection();
    for (auto& [f, seen] : written) {
      if (f->containing_type() != m->GetDescriptor()) continue;
      seen = seen || (f->is_repeated() ? r->FieldSize(*m, f) > 0 : r->HasField(*m, f));
    }
  }
  for (const auto& [f, seen] : written) EXPECT_TRUE(seen) << f->full_name() << " is not written";
}

// The effective times of current values (status, rating, forecast, realised)
// come back from a snapshot, so that a loaded state, like the folded one, keeps
// a value later in effect when an earlier one is keyed in late.
TEST(StateSnapshotTest, CurrentValuesKeepTheirEffectiveTimesThroughASnapshot) {
  constexpr int64_t kDay = int64_t{86400} * 1000000;
  v1::BenefitForecast forecast;
  *forecast.mutable_subject() = ProjectRef("LPP-INV");
  forecast.set_benefit_id("savings");
  forecast.set_annual_pence(500);
  v1::BenefitRealised realised;
  *realised.mutable_subject() = ProjectRef("LPP-INV");
  realised.set_benefit_id("savings");
  realised.set_annual_pence(100);
  const std::vector<v1::Event> log = {
      At(Ev(Organisation("MOPAC")), kT0),
      At(Ev(Programme("LPP", "MOPAC")), kT0),
      At(Ev(Project("LPP-INV", "LPP")), kT0),
      At(Ev(Risk("R1", ProjectRef("LPP-INV"), v1::RAG_AMBER)), kT0),
      At(Ev(Status(ProjectRef("LPP-INV"), v1::RAG_AMBER, 10)), kT0 + 10 * kDay),
      At(Ev(Rerate("R1", v1::RAG_RED)), kT0 + 10 * kDay),
      At(Ev(forecast), kT0 + 10 * kDay),
      At(Ev(realised), kT0 + 10 * kDay),
  };
  auto late = [&](v1::Event e) { return At(std::move(e), kT0 + 5 * kDay); };
  forecast.set_annual_pence(900);
  realised.set_annual_pence(50);
  const std::vector<v1::Event> late_events = {
      late(Ev(Status(ProjectRef("LPP-INV"), v1::RAG_GREEN, 5))),
      late(Ev(Rerate("R1", v1::RAG_GREEN))), late(Ev(forecast)), late(Ev(realised))};

  GovernanceState folded;
  for (const v1::Event& e : log) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kValidate));
  }
  GovernanceState loaded;
  ASSERT_NO_FATAL_FAILURE(RoundTrip(folded, &loaded));
  for (GovernanceState* state : {&folded, &loaded}) {
    for (const v1::Event& e : late_events) {
      ASSERT_OK(state->Apply(e, GovernanceState::Mode::kValidate));
    }
    const WorkState* inv = state->FindProject("LPP-INV");
    EXPECT_EQ(inv->last_status.rag(), v1::RAG_AMBER);
    EXPECT_EQ(inv->status_micros, kT0 + 10 * kDay);
    EXPECT_EQ(state->FindRisk("R1")->rating, v1::RAG_RED);
    EXPECT_EQ(inv->benefits.at("savings").forecast_annual_pence, 500);
    EXPECT_EQ(inv->benefits.at("savings").realised_annual_pence, 100);
  }
  EXPECT_EQ(Canonical(loaded), Canonical(folded));
}

TEST(StateSnapshotTest, FoldedToNEqualsTheSnapshotAtNLoaded) {
  const std::vector<v1::Event> log = RichLog();
  for (size_t n : {size_t{0}, size_t{9}, size_t{19}, log.size()}) {
    SCOPED_TRACE(absl::StrCat("snapshot after ", n, " events"));
    GovernanceState folded;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_OK(folded.Apply(log[i], GovernanceState::Mode::kValidate));
    }
    internal::GovernanceStateSnapshot saved;
    folded.Save(&saved);
    internal::GovernanceStateSnapshot parsed;
    ASSERT_TRUE(parsed.ParseFromString(saved.SerializeAsString()));
    GovernanceState loaded;
    ASSERT_OK(loaded.Load(parsed));
    EXPECT_EQ(Canonical(loaded), Canonical(folded));
    // Both accept the rest of the log under the rules, and end equal.
    for (size_t i = n; i < log.size(); ++i) {
      ASSERT_OK(folded.Apply(log[i], GovernanceState::Mode::kValidate));
      ASSERT_OK(loaded.Apply(log[i], GovernanceState::Mode::kValidate));
    }
    EXPECT_EQ(Canonical(loaded), Canonical(folded));
  }
  // What the rules read came back: closed risk, approved decision, revoked key,
  // the event index (a correction names an event loaded, not folded).
  GovernanceState all;
  for (const v1::Event& e : log) {
    ASSERT_OK(all.Apply(e, GovernanceState::Mode::kValidate));
  }
  internal::GovernanceStateSnapshot saved;
  all.Save(&saved);
  GovernanceState loaded;
  ASSERT_OK(loaded.Load(saved));
  EXPECT_FALSE(loaded.FindRisk("R1")->open);
  EXPECT_EQ(loaded.FindRisk("R2")->subject.id(), "OCP");
  EXPECT_TRUE(loaded.FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_TRUE(loaded.FindKey("cfo")->revoked);
  EXPECT_TRUE(loaded.FindProject("LPP-INV")->closed);
  EXPECT_EQ(loaded.FindProject("LPP-INV")->gates_passed, std::vector<std::string>{"Gate 3"});
  EXPECT_EQ(loaded.FindProject("LPP-EST")->benefits.at("estates").forecast_annual_pence,
            1200000000);
  EXPECT_EQ(loaded.FindEvent(log[23].event_id())->corrected_by.size(), 1u);
  EXPECT_THAT(loaded.Apply(Ev(CloseRisk("R1")), GovernanceState::Mode::kValidate),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("risk R1 is closed")));
  EXPECT_OK(loaded.Apply(Correction(log[9]), GovernanceState::Mode::kValidate));
}

// A clone (the validator's refold checkpoint) folds on as the state it copies, itself
// outliving it: the same rules refuse the same events (ids told apart only by letter case
// among them, which each state's own index of its maps answers), and the two end equal.
TEST(StateSnapshotTest, AClonedStateFoldsOnAsTheStateItCopies) {
  const std::vector<v1::Event> log = RichLog();
  for (size_t n : {size_t{1}, size_t{9}, size_t{19}, log.size()}) {  // MOPAC's registered first
    SCOPED_TRACE(absl::StrCat("cloned after ", n, " events"));
    auto folded = std::make_unique<GovernanceState>();
    for (size_t i = 0; i < n; ++i) {
      ASSERT_OK(folded->Apply(log[i], GovernanceState::Mode::kValidate));
    }
    // Asked about letter case before the copy: the index is built, and copied.
    EXPECT_THAT(folded->Apply(Ev(Organisation("mopac")), GovernanceState::Mode::kValidate),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("letter case")));
    std::unique_ptr<GovernanceState> clone = folded->Clone();
    EXPECT_EQ(Canonical(*clone), Canonical(*folded));
    for (size_t i = n; i < log.size(); ++i) {
      ASSERT_OK(folded->Apply(log[i], GovernanceState::Mode::kValidate));
      ASSERT_OK(clone->Apply(log[i], GovernanceState::Mode::kValidate));
    }
    const std::string canonical = Canonical(*folded);
    folded.reset();  // the clone's indexes are its own
    EXPECT_EQ(Canonical(*clone), canonical);
    for (const v1::Event& twin : {Ev(Organisation("mopac")), Ev(Risk("r1", ProgrammeRef("LPP"))),
                                  Ev(Programme("lpp", "MOPAC"))}) {
      EXPECT_THAT(clone->Apply(twin, GovernanceState::Mode::kValidate),
                  StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("letter case")))
          << twin.stream_id();
    }
    ASSERT_OK(
        clone->Apply(Ev(Risk("R-NEW", ProgrammeRef("LPP"))), GovernanceState::Mode::kValidate));
    EXPECT_THAT(
        clone->Apply(Ev(Risk("r-new", ProgrammeRef("LPP"))), GovernanceState::Mode::kValidate),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("letter case")));
  }
}

// The fold reads an event's id, stream, type, effective time, source and payload,
// and of the server's fields only its position (governance_state.h,
// "Incarnations") and recorded time (GovernanceState::Apply): the state must be
// the one folded from whole events. (Recover's ParseForFold reads those fields.)
TEST(StateSnapshotTest, TheFoldReadsOnlyAnEventsClientFieldsPositionAndRecordedTime) {
  GovernanceState whole;
  GovernanceState bare;
  uint64_t position = 0;
  for (const v1::Event& e : RichLog()) {
    v1::Event stored = e;
    ++position;
    // A day apart from 2016-01-04 (week 36 of LPP's plan, which mobilised on 2015-05-04).
    stored.mutable_effective_time()->set_seconds(1451865600 + 86400 * position);
    stored.set_position(position);
    stored.set_stream_version(position % 3 + 1);
    stored.mutable_recorded_time()->set_seconds(1460000000 + 86400 * position);
    stored.set_actor("auditor");
    stored.set_prev_hash(std::string(32, 'p'));
    stored.set_hash(std::string(32, 'h'));
    stored.set_source(absl::StrCat("Paper ", position));  // sources are kept in the state
    v1::Event read;
    read.set_event_id(e.event_id());
    read.set_stream_id(e.stream_id());
    read.set_event_type(e.event_type());
    read.set_payload(e.payload());
    read.set_source(stored.source());
    *read.mutable_effective_time() = stored.effective_time();
    *read.mutable_recorded_time() = stored.recorded_time();
    read.set_position(position);
    // As the writer checks it, and as a replay of those fields folds it.
    ASSERT_OK(whole.Apply(stored, GovernanceState::Mode::kValidate)) << e.event_type();
    ASSERT_OK(bare.Apply(read, GovernanceState::Mode::kReplay)) << e.event_type();
  }
  EXPECT_EQ(Canonical(bare), Canonical(whole));
}

TEST(StateSnapshotTest, AMalformedSnapshotIsRefusedAndLeavesTheStateEmpty) {
  GovernanceState folded;
  for (const v1::Event& e : RichLog()) {
    ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kReplay));
  }
  internal::GovernanceStateSnapshot saved;
  folded.Save(&saved);
  internal::GovernanceStateSnapshot truncated = saved;
  truncated.mutable_events()->pop_back();
  GovernanceState loaded;
  EXPECT_THAT(loaded.Load(truncated),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_EQ(loaded.FindProgramme("LPP"), nullptr);
  internal::GovernanceStateSnapshot bad_stream = saved;
  bad_stream.clear_event_streams();
  EXPECT_THAT(loaded.Load(bad_stream), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("stream")));
}

// Checkpoints by positions alone, so that their positions are known.
ValidatorOptions Every(uint64_t snapshot_every) {
  ValidatorOptions o;
  o.snapshot_every = snapshot_every;
  o.checkpoint_seconds = 0;
  return o;
}

ValidatorOptions Rebuild(uint64_t snapshot_every, std::function<void(uint64_t)> on_checkpoint) {
  ValidatorOptions o = Every(snapshot_every);
  o.rebuild = true;
  o.on_rebuild_checkpoint = std::move(on_checkpoint);
  return o;
}

class ValidatorSnapshotTest : public ::testing::Test {
 protected:
  // Opens the ledger with a fresh validator (a restart).
  void Open(ValidatorOptions options) {
    ledger_.reset();
    validator_ = std::make_unique<GovernanceValidator>(std::move(options));
    absl::StatusOr<std::unique_ptr<Ledger>> l =
        Ledger::Open(&store_, &clock_, {}, validator_.get());
    ASSERT_OK(l);
    ledger_ = *std::move(l);
  }

  // Appends the events one call each (one commit each).
  void AppendEach(const std::vector<v1::Event>& events) {
    for (const v1::Event& e : events) {
      v1::AppendRequest r;
      *r.add_events() = e;
      ASSERT_OK(ledger_->Append(r, "tester"));
    }
  }

  absl::Status Append(const v1::Event& e) {
    v1::AppendRequest r;
    *r.add_events() = e;
    return ledger_->Append(r, "tester").status();
  }

  internal::ValidatorSnapshot Stored() {
    internal::ValidatorSnapshot s;
    absl::StatusOr<std::optional<std::string>> bytes =
        store_.GetProjection(GovernanceValidator::kSnapshotKey);
    EXPECT_OK(bytes);
    EXPECT_TRUE(bytes->has_value());
    if (bytes.ok() && bytes->has_value()) {
      EXPECT_TRUE(s.ParseFromString(**bytes));
    }
    return s;
  }

  // Appends RichLog() and returns an interrupted rebuild's checkpoint at
  // position 12 (not stored); the ledger is closed.
  internal::ValidatorSnapshot RichLogWithCheckpointAt12() {
    const std::vector<v1::Event> log = RichLog();
    Open(Every(0));
    AppendEach(std::vector<v1::Event>(log.begin(), log.begin() + 12));
    ledger_.reset();
    EXPECT_OK(validator_->SaveSnapshot());
    internal::ValidatorSnapshot checkpoint = Stored();
    checkpoint.set_rebuilding(true);
    Open(Every(0));
    AppendEach(std::vector<v1::Event>(log.begin() + 12, log.end()));
    ledger_.reset();
    return checkpoint;
  }

  void Store(const internal::ValidatorSnapshot& s) {
    ASSERT_OK(store_.PutProjection(GovernanceValidator::kSnapshotKey, s.SerializeAsString(), true));
  }

  FakeClock clock_{kT0};
  MemoryEventStore store_;
  std::unique_ptr<GovernanceValidator> validator_;
  std::unique_ptr<Ledger> ledger_;
};

// A snapshot the store refuses (a full disk) costs only a longer replay at the next start, and
// the daemon's log says so.
TEST(ValidatorSnapshotSaveTest, ASnapshotTheStoreRefusesIsLoggedAndAppendsGoOn) {
  class RefusingProjections final : public ::govledger::testing::ForwardingEventStore {
   public:
    absl::Status PutProjection(absl::string_view, absl::string_view, bool) override {
      return absl::InternalError("storage put projection failed: IO error: No space left");
    }
  };
  RefusingProjections store;
  FakeClock clock(kT0);
  std::vector<std::string> lines;
  ValidatorOptions options = Every(2);
  options.log = [&](const std::string& line) { lines.push_back(line); };
  GovernanceValidator validator(options);
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, {}, &validator);
  ASSERT_OK(ledger);
  for (const v1::Event& e : {Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}) {
    v1::AppendRequest r;
    *r.add_events() = e;
    ASSERT_OK((*ledger)->Append(r, "tester"));
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("governance rules' snapshot at position 2 not saved "
                                  "(storage put projection failed: IO error: No space left): "
                                  "the next start replays the log from an earlier one"));
  EXPECT_NE(validator.state().FindProgramme("LPP"), nullptr);
}

TEST_F(ValidatorSnapshotTest, ARestartLoadsTheSnapshotAndReplaysOnlyTheTail) {
  const std::vector<v1::Event> log = RichLog();  // 29 events
  Open(Every(10));
  EXPECT_EQ(validator_->recovery().snapshot_ignored, "no snapshot");
  AppendEach(log);
  // Taken after the commits that reached 10 and 20 positions past the last.
  EXPECT_EQ(Stored().position(), 20u);
  Open(Every(10));
  EXPECT_EQ(validator_->recovery().snapshot_position, 20u);
  EXPECT_EQ(validator_->recovery().tail_positions, 9u);
  EXPECT_EQ(validator_->recovery().replayed_events, 9u);
  // The rules see the whole state.
  EXPECT_THAT(Append(Ev(CloseRisk("R1"))),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("risk R1 is closed")));
  EXPECT_THAT(Append(Ev(Organisation("MOPAC"))),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already registered")));
  // A clean shutdown's snapshot: nothing to replay.
  ledger_.reset();
  ASSERT_OK(validator_->SaveSnapshot());
  EXPECT_EQ(Stored().position(), 29u);
  Open(Every(10));
  EXPECT_EQ(validator_->recovery().snapshot_position, 29u);
  EXPECT_EQ(validator_->recovery().tail_positions, 0u);
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_OK(Append(Ev(Risk("R3", ProgrammeRef("LPP")))));
  // Corrections name events the state does not hold (the snapshot keeps no
  // event index): found in the store, on their stream, governance events only.
  EXPECT_OK(Append(Correction(log[11], "re-rated in error")));
  // R1's opening: its closure builds on it (the snapshot's state says so).
  EXPECT_THAT(Append(Correction(log[9], "opened against the wrong project")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("opens risk/R1, which has since been closed")));
  v1::Event wrong_stream = Correction(log[9]);
  wrong_stream.set_stream_id("risk/R2");
  EXPECT_THAT(Append(wrong_stream), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("belongs on its stream risk/R1")));
  v1::Event note = On("notes/1", Organisation("X"));
  note.set_event_type("example.Note");
  ASSERT_OK(Append(note));
  EXPECT_THAT(Append(Correction(note)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("is not a governance event in the ledger"),
                             HasSubstr("only governance events are corrected"))));
}

TEST_F(ValidatorSnapshotTest, ReplayFoldsGovernanceEventsAndPassesOverOthers) {
  const std::vector<v1::Event> log = RichLog();  // 29 governance events
  Open(Every(0));
  AppendEach(std::vector<v1::Event>(log.begin(), log.begin() + 10));
  // Events of other types between them: stored and chained, never folded.
  for (const char* type : {"example.Note", "govledgerx.v1.RiskNote", "g"}) {
    v1::Event other = On("notes/1", Organisation("X"));
    other.set_event_type(type);
    ASSERT_OK(Append(other));
  }
  AppendEach(std::vector<v1::Event>(log.begin() + 10, log.end()));
  Open(Every(0));
  EXPECT_EQ(validator_->recovery().tail_positions, 32u);
  EXPECT_EQ(validator_->recovery().replayed_events, 29u);
  EXPECT_EQ(validator_->recovery().skipped_events, 0u);
  EXPECT_EQ(validator_->state().unknown_events(), 0u);
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_EQ(validator_->state().FindOrganisation("X"), nullptr);
}

TEST_F(ValidatorSnapshotTest, ASnapshotThatDoesNotMatchTheLogIsIgnored) {
  const std::vector<v1::Event> log = RichLog();
  Open(Every(0));
  AppendEach(log);
  ledger_.reset();
  ASSERT_OK(validator_->SaveSnapshot());
  const internal::ValidatorSnapshot good = Stored();

  // The hash of another chain at that position.
  internal::ValidatorSnapshot forged = good;
  (*forged.mutable_hash())[0] ^= 0x01;
  Store(forged);
  Open(Every(0));
  EXPECT_EQ(validator_->recovery().snapshot_position, 0u);
  EXPECT_THAT(validator_->recovery().snapshot_ignored,
              HasSubstr("hash at position 29 does not match"));
  EXPECT_EQ(validator_->recovery().tail_positions, 29u);
  EXPECT_THAT(Append(Ev(CloseRisk("R1"))),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("risk R1 is closed")));

  // A position past the head, a format this version does not write, bytes
  // that do not parse.
  internal::ValidatorSnapshot ahead = good;
  ahead.set_position(1000);
  internal::ValidatorSnapshot other_format = good;
  other_format.set_state_format(99);
  for (const auto& [bytes, why] : std::vector<std::pair<std::string, std::string>>{
           {ahead.SerializeAsString(), "past the head"},
           {other_format.SerializeAsString(), "state format 99"},
           {"\xff\xff not a snapshot", "does not parse"}}) {
    ledger_.reset();
    ASSERT_OK(store_.PutProjection(GovernanceValidator::kSnapshotKey, bytes, true));
    Open(Every(0));
    EXPECT_EQ(validator_->recovery().snapshot_position, 0u);
    EXPECT_THAT(validator_->recovery().snapshot_ignored, HasSubstr(why));
    EXPECT_EQ(validator_->recovery().tail_positions, 29u);
    EXPECT_TRUE(validator_->state().FindKey("cfo")->revoked);
  }
}

TEST_F(ValidatorSnapshotTest, ARebuildDropsTheProjectionsAndResumes) {
  const internal::ValidatorSnapshot checkpoint = RichLogWithCheckpointAt12();
  Store(checkpoint);
  ASSERT_OK(store_.PutProjection("query/LPP/recorded/5", "old", false));

  // The rebuild finds its checkpoint and goes on from it.
  std::vector<uint64_t> checkpoints;
  Open(Rebuild(5, [&](uint64_t p) { checkpoints.push_back(p); }));
  EXPECT_TRUE(validator_->recovery().rebuilt);
  EXPECT_TRUE(validator_->recovery().resumed);
  EXPECT_EQ(validator_->recovery().snapshot_position, 12u);
  EXPECT_EQ(validator_->recovery().tail_positions, 17u);
  // None after the correction at position 25: from there the state is exact
  // only after the refold at the replay's end.
  EXPECT_EQ(checkpoints, (std::vector<uint64_t>{17, 22}));
  EXPECT_GT(validator_->recovery().refold_seconds, 0);
  EXPECT_FALSE(Stored().rebuilding());
  EXPECT_EQ(Stored().position(), 29u);
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "PCD 72")->approved());

  // A rebuild that finds a finished snapshot starts from scratch: it drops
  // every projection first.
  ledger_.reset();
  checkpoints.clear();
  Open(Rebuild(10, [&](uint64_t p) { checkpoints.push_back(p); }));
  EXPECT_FALSE(validator_->recovery().resumed);
  EXPECT_EQ(validator_->recovery().snapshot_position, 0u);
  EXPECT_EQ(validator_->recovery().tail_positions, 29u);
  EXPECT_EQ(checkpoints, (std::vector<uint64_t>{10, 20}));
  EXPECT_THAT(store_.GetProjection("query/LPP/recorded/5"),
              IsOkAndHolds(std::optional<std::string>()));
  EXPECT_FALSE(Stored().rebuilding());
  EXPECT_THAT(Append(Ev(CloseRisk("R1"))),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("risk R1 is closed")));
}

TEST_F(ValidatorSnapshotTest, AReplayShorterThanCheckpointSecondsTakesNoCheckpoint) {
  const std::vector<v1::Event> log = RichLog();
  Open(Every(0));
  AppendEach(log);
  ledger_.reset();
  std::vector<uint64_t> checkpoints;
  ValidatorOptions options = Rebuild(5, [&](uint64_t p) { checkpoints.push_back(p); });
  options.checkpoint_seconds = 3600;
  Open(std::move(options));
  EXPECT_TRUE(validator_->recovery().rebuilt);
  EXPECT_EQ(validator_->recovery().tail_positions, 29u);
  EXPECT_THAT(checkpoints, ::testing::IsEmpty());
  EXPECT_FALSE(Stored().rebuilding());  // the final snapshot still
  EXPECT_EQ(Stored().position(), 29u);
  // Positions alone (as every other test here): every 5, up to the
  // correction at position 25.
  ledger_.reset();
  Open(Rebuild(5, [&](uint64_t p) { checkpoints.push_back(p); }));
  EXPECT_EQ(checkpoints, (std::vector<uint64_t>{5, 10, 15, 20}));
}

TEST_F(ValidatorSnapshotTest, ARebuildResumesOnlyFromACheckpointOfItsStateFormat) {
  const internal::ValidatorSnapshot checkpoint = RichLogWithCheckpointAt12();
  internal::ValidatorSnapshot other_format = checkpoint;
  other_format.set_state_format(99);
  std::string cut = checkpoint.SerializeAsString();
  cut.resize(cut.size() - 1);
  for (const auto& [bytes, resumes] :
       std::vector<std::pair<std::string, bool>>{{checkpoint.SerializeAsString(), true},
                                                 {other_format.SerializeAsString(), false},
                                                 {cut, false},
                                                 {"\xff\xff not a snapshot", false}}) {
    ledger_.reset();
    ASSERT_OK(store_.PutProjection(GovernanceValidator::kSnapshotKey, bytes, true));
    Open(Rebuild(0, nullptr));
    EXPECT_EQ(validator_->recovery().resumed, resumes);
    EXPECT_EQ(validator_->recovery().snapshot_position, resumes ? 12u : 0u);
    EXPECT_EQ(validator_->recovery().tail_positions, resumes ? 17u : 29u);
    EXPECT_FALSE(Stored().rebuilding());
    EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "PCD 72")->approved());
  }
}

}  // namespace
}  // namespace govledger::projections
