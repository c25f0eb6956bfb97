// Seed 000 (deploy/demo/10-seed000-*): the Local Policing Programme's update to the
// Joint Audit Committee, "week 86 of the plan, we last reported in week 74", as
// batches of typed events in the order the ledger records them. Each event's
// effective time is in the plan week the report gives it (LPP mobilised on
// 2015-05-04), so the record answers "as known" at weeks 74 and 86 as well as
// "as recorded" by position. Header-only; thread-safe.
#ifndef GOVLEDGER_TESTS_SEED000_EVENTS_H_
#define GOVLEDGER_TESTS_SEED000_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "projections/as_at.h"
#include "tests/governance_events.h"

namespace govledger::testing::seed000 {

// Noon on the Wednesday of week `week` of LPP's plan.
inline int64_t InWeek(int week) {
  return projections::DateMicros(gov::MakeDate(2015, 5, 4)) +
         (week - 1) * projections::kMicrosPerWeek +
         2 * kMicrosPerDay + 12 * int64_t{3600} * 1000000;
}

inline v1::Event Rated(const v1::WorkRef& subject, v1::Rag rag, int week,
                       const std::string& why = "") {
  v1::StatusReported m = gov::Status(subject, rag, week);
  m.set_commentary(why);
  return gov::Ev(m);
}

struct Seed000 {
  // Week 1: the force, LPP (208 weeks from 2015-05-04), OCP, SCCP, LPP's five
  // projects and two services in LPP's scope.
  std::vector<v1::Event> registrations;
  // Week 70: the risk register as last reported, 14 open of which 8 red.
  std::vector<v1::Event> risk_register;
  // Week 74: one project AMBER, four GREEN.
  std::vector<v1::Event> week74_ratings;
  // Week 76: PCSO and CJ formally closed (with PCSO, £4.5m a year of benefits).
  std::vector<v1::Event> project_closures;
  // Week 78: two risks closed, one transferred to OCP, one re-rated from RED to
  // AMBER.
  std::vector<v1::Event> risk_changes;
  // Week 82: two new projects, Investigations' Gate 3, forecast savings, two
  // services moved out (to OCP and SCCP) and BATS discovery work added to
  // Prevention.
  std::vector<v1::Event> changes;
  // Week 86: programme AMBER; three projects GREEN, two AMBER.
  std::vector<v1::Event> week86_ratings;

  std::vector<std::vector<v1::Event>> Batches() const {
    return {registrations, risk_register, week74_ratings, project_closures,
            risk_changes,  changes,       week86_ratings};
  }
};

inline std::vector<v1::Event> EffectiveIn(int week,
                                          std::vector<v1::Event> events) {
  for (v1::Event& e : events) {
    SetMicros(InWeek(week), e.mutable_effective_time());
  }
  return events;
}

inline Seed000 BuildSeed000() {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  Seed000 seed;
  v1::OrganisationRegistered force = Organisation("LPF");
  force.set_name("The police force of the Local Policing Programme (seed 000)");
  v1::ProgrammeRegistered lpp = Programme("LPP", "LPF");
  lpp.set_name("Local Policing Programme");
  *lpp.mutable_mobilisation_date() =
      MakeDate(2015, 5, 4);    // "mobilised in May 2015"
  lpp.set_planned_weeks(208);  // "its original four year plan"
  lpp.set_board("Local Policing Programme Board");
  v1::ProgrammeRegistered ocp = Programme("OCP", "LPF");
  ocp.set_name("Operations Command Programme");
  v1::ProgrammeRegistered sccp = Programme("SCCP", "LPF");
  sccp.set_name("Specialist Crime Capabilities Programme");
  seed.registrations = EffectiveIn(
      1, {Ev(force), Ev(lpp), Ev(ocp), Ev(sccp), Ev(Project("LPP-PCSO", "LPP")),
          Ev(Project("LPP-CJ", "LPP")), Ev(Project("LPP-INV", "LPP")),
          Ev(Project("LPP-RESP", "LPP")), Ev(Project("LPP-PREV", "LPP")),
          Ev(AddScope("LPP-SVC-OPS", ProgrammeRef("LPP"))),
          Ev(AddScope("LPP-SVC-SPEC", ProgrammeRef("LPP")))});

  std::vector<v1::Event> risks = {
      Ev(Risk("LPP-R01", ProjectRef("LPP-PCSO"), v1::RAG_RED)),
      Ev(Risk("LPP-R02", ProjectRef("LPP-PCSO"), v1::RAG_AMBER)),
      Ev(Risk("LPP-R03", ProjectRef("LPP-CJ"), v1::RAG_RED)),
      Ev(Risk("LPP-R04", ProgrammeRef("LPP"), v1::RAG_RED))};
  const char* red_risks[] = {
      "the technology requirements of the new model are not affordable or "
      "cannot be delivered "
      "on time",
      "further delays to the Mobile project and Niche patch fixes/upgrades "
      "will impact upon "
      "Response and Investigation designs",
      "if the transfer of skills from PCWs to investigating officers is not "
      "fully completed, "
      "then this may result in casework performance failures",
      "of a shortfall in recruitment to Public Protection following the "
      "investment uplift",
      "by introducing a caseload for officers when responding to the 7 "
      "specified Home Office "
      "crime types, this will lead to demand that is not accounted for in the "
      "prevention model"};
  for (int i = 0; i < 5; ++i) {
    v1::RiskOpened r =
        Risk(absl::StrCat("LPP-R0", 5 + i), ProgrammeRef("LPP"), v1::RAG_RED);
    r.set_description(absl::StrCat("There is a risk that ", red_risks[i]));
    risks.push_back(Ev(r));
  }
  for (int i = 10; i <= 14; ++i) {
    risks.push_back(
        Ev(Risk(absl::StrCat("LPP-R", i), ProgrammeRef("LPP"), v1::RAG_AMBER)));
  }
  seed.risk_register = EffectiveIn(70, std::move(risks));

  seed.week74_ratings =
      EffectiveIn(74, {Rated(ProjectRef("LPP-PCSO"), v1::RAG_GREEN, 74),
                       Rated(ProjectRef("LPP-CJ"), v1::RAG_GREEN, 74),
                       Rated(ProjectRef("LPP-INV"), v1::RAG_AMBER, 74),
                       Rated(ProjectRef("LPP-RESP"), v1::RAG_GREEN, 74),
                       Rated(ProjectRef("LPP-PREV"), v1::RAG_GREEN, 74)});

  v1::ProjectClosed pcso = CloseProject("LPP-PCSO", 250000000);
  pcso.set_annual_benefits_pence(300000000);
  v1::ProjectClosed cj = CloseProject("LPP-CJ", 90000000);
  cj.set_annual_benefits_pence(150000000);  // with PCSO, £4.5m a year
  seed.project_closures = EffectiveIn(76, {Ev(pcso), Ev(cj)});

  seed.risk_changes =
      EffectiveIn(78, {Ev(CloseRisk("LPP-R01")), Ev(CloseRisk("LPP-R02")),
                       Ev(TransferRisk("LPP-R03", ProgrammeRef("OCP"))),
                       Ev(Rerate("LPP-R04", v1::RAG_AMBER))});

  v1::GatePassed gate3;
  *gate3.mutable_subject() = ProjectRef("LPP-INV");
  gate3.set_gate("Gate 3");
  gate3.set_approved_by("Local Policing Programme Board");
  gate3.set_description(
      "business case, implementation plan and business readiness signed off");
  v1::BenefitForecast inv_savings;
  *inv_savings.mutable_subject() = ProjectRef("LPP-INV");
  inv_savings.set_benefit_id("annual-savings");
  inv_savings.set_annual_pence(600000000);  // £6m
  v1::BenefitForecast resp_savings = inv_savings;
  *resp_savings.mutable_subject() = ProjectRef("LPP-RESP");
  resp_savings.set_annual_pence(165000000);  // £1.65m
  v1::ScopeItemAdded bats =
      AddScope("LPP-BATS-DISCOVERY", ProjectRef("LPP-PREV"));
  bats.set_title("Discovery work for a new Briefing and Tasking System (BATS)");
  seed.changes = EffectiveIn(
      82, {Ev(Project("LPP-PP", "LPP")), Ev(Project("LPP-PERF", "LPP")),
           Ev(gate3), Ev(inv_savings), Ev(resp_savings),
           Ev(TransferScope("LPP-SVC-OPS", ProgrammeRef("LPP"),
                            ProgrammeRef("OCP"))),
           Ev(TransferScope("LPP-SVC-SPEC", ProgrammeRef("LPP"),
                            ProgrammeRef("SCCP"))),
           Ev(bats)});

  seed.week86_ratings = EffectiveIn(
      86,
      {Rated(ProgrammeRef("LPP"), v1::RAG_AMBER, 86, "a deteriorating picture"),
       Rated(ProjectRef("LPP-INV"), v1::RAG_AMBER, 86),
       Rated(ProjectRef("LPP-RESP"), v1::RAG_AMBER, 86),
       Rated(ProjectRef("LPP-PREV"), v1::RAG_GREEN, 86),
       Rated(ProjectRef("LPP-PP"), v1::RAG_GREEN, 86),
       Rated(ProjectRef("LPP-PERF"), v1::RAG_GREEN, 86)});
  return seed;
}

}  // namespace govledger::testing::seed000

#endif  // GOVLEDGER_TESTS_SEED000_EVENTS_H_
