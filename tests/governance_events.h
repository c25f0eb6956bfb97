// Builders of typed governance events for tests: minimal valid payloads,
// wrapped in an Event on their entity's stream. Header-only; thread-safe.
#ifndef GOVLEDGER_TESTS_GOVERNANCE_EVENTS_H_
#define GOVLEDGER_TESTS_GOVERNANCE_EVENTS_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "govledger/internal/snapshot.pb.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/common/time.h"
#include "ledger/crypto/ed25519.h"
#include "projections/as_at.h"
#include "projections/decision_digest.h"
#include "projections/governance_state.h"
#include "projections/streams.h"

namespace govledger::testing::gov {

// A fresh UUID, distinct within the process.
inline std::string NextId() {
  static std::atomic<uint64_t> n{0};
  return absl::StrFormat("00000000-0000-4000-8000-%012x", ++n);
}

inline v1::WorkRef ProgrammeRef(const std::string& id) {
  v1::WorkRef r;
  r.set_kind(v1::WORK_KIND_PROGRAMME);
  r.set_id(id);
  return r;
}
inline v1::WorkRef ProjectRef(const std::string& id) {
  v1::WorkRef r;
  r.set_kind(v1::WORK_KIND_PROJECT);
  r.set_id(id);
  return r;
}
inline v1::Date MakeDate(int y, int m, int d) {
  v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}
inline v1::Approval Board(const std::string& board) {
  v1::Approval a;
  a.set_board(board);
  return a;
}

// The stream each payload belongs on.
inline std::string StreamOf(const v1::OrganisationRegistered& m) {
  return projections::OrganisationStream(m.organisation_id());
}
inline std::string StreamOf(const v1::ProgrammeRegistered& m) {
  return projections::ProgrammeStream(m.programme_id());
}
inline std::string StreamOf(const v1::ProgrammeReplanned& m) {
  return projections::ProgrammeStream(m.programme_id());
}
inline std::string StreamOf(const v1::ProgrammeClosed& m) {
  return projections::ProgrammeStream(m.programme_id());
}
inline std::string StreamOf(const v1::ProjectRegistered& m) {
  return projections::ProjectStream(m.project_id());
}
inline std::string StreamOf(const v1::ProjectClosed& m) {
  return projections::ProjectStream(m.project_id());
}
inline std::string WorkStreamOf(const v1::WorkRef& r) {
  return r.kind() == v1::WORK_KIND_PROJECT
             ? projections::ProjectStream(r.id())
             : projections::ProgrammeStream(r.id());
}
inline std::string StreamOf(const v1::StatusReported& m) {
  return WorkStreamOf(m.subject());
}
inline std::string StreamOf(const v1::GatePassed& m) {
  return WorkStreamOf(m.subject());
}
inline std::string StreamOf(const v1::MilestoneReached& m) {
  return WorkStreamOf(m.subject());
}
inline std::string StreamOf(const v1::BenefitForecast& m) {
  return WorkStreamOf(m.subject());
}
inline std::string StreamOf(const v1::BenefitRealised& m) {
  return WorkStreamOf(m.subject());
}
inline std::string StreamOf(const v1::RiskOpened& m) {
  return projections::RiskStream(m.risk_id());
}
inline std::string StreamOf(const v1::RiskRerated& m) {
  return projections::RiskStream(m.risk_id());
}
inline std::string StreamOf(const v1::RiskClosed& m) {
  return projections::RiskStream(m.risk_id());
}
inline std::string StreamOf(const v1::RiskTransferred& m) {
  return projections::RiskStream(m.risk_id());
}
inline std::string StreamOf(const v1::ScopeItemAdded& m) {
  return projections::ScopeStream(m.scope_item_id());
}
inline std::string StreamOf(const v1::ScopeItemRemoved& m) {
  return projections::ScopeStream(m.scope_item_id());
}
inline std::string StreamOf(const v1::ScopeItemTransferred& m) {
  return projections::ScopeStream(m.scope_item_id());
}
inline std::string StreamOf(const v1::DecisionProposed& m) {
  return projections::DecisionStream(m.organisation_id(), m.reference());
}
inline std::string StreamOf(const v1::DecisionSigned& m) {
  return projections::DecisionStream(m.organisation_id(), m.reference());
}
inline std::string StreamOf(const v1::DecisionRejected& m) {
  return projections::DecisionStream(m.organisation_id(), m.reference());
}
inline std::string StreamOf(const v1::DecisionWithdrawn& m) {
  return projections::DecisionStream(m.organisation_id(), m.reference());
}
inline std::string StreamOf(const v1::DelegationRuleSet& m) {
  return projections::DelegationStream(m.organisation_id(), m.rule_id());
}
inline std::string StreamOf(const v1::SigningKeyRegistered& m) {
  return projections::KeyStream(m.key_id());
}
inline std::string StreamOf(const v1::SigningKeyRevoked& m) {
  return projections::KeyStream(m.key_id());
}

// An event carrying `m` on `stream`.
template <typename M>
v1::Event On(const std::string& stream, const M& m) {
  v1::Event e;
  e.set_event_id(NextId());
  e.set_stream_id(stream);
  e.set_event_type(M::descriptor()->full_name());
  e.set_payload(m.SerializeAsString());
  return e;
}
// An event carrying `m` on its entity's stream.
template <typename M>
v1::Event Ev(const M& m) {
  return On(StreamOf(m), m);
}

inline v1::OrganisationRegistered Organisation(const std::string& id) {
  v1::OrganisationRegistered m;
  m.set_organisation_id(id);
  m.set_name(id + " (test)");
  m.set_kind("police force");
  return m;
}
inline v1::ProgrammeRegistered Programme(const std::string& id,
                                         const std::string& org) {
  v1::ProgrammeRegistered m;
  m.set_programme_id(id);
  m.set_organisation_id(org);
  m.set_name(id + " programme");
  *m.mutable_mobilisation_date() = MakeDate(2015, 5, 4);
  m.set_planned_weeks(208);
  return m;
}
// A re-plan of programme `id` to `weeks` planned weeks (0: unchanged).
inline v1::ProgrammeReplanned Replan(const std::string& id, int weeks) {
  v1::ProgrammeReplanned m;
  m.set_programme_id(id);
  m.set_planned_weeks(weeks);
  m.set_reason("re-baselined");
  return m;
}
inline v1::ProgrammeClosed CloseProgramme(const std::string& id) {
  v1::ProgrammeClosed m;
  m.set_programme_id(id);
  m.set_reason("delivered");
  return m;
}
inline v1::ProjectRegistered Project(const std::string& id,
                                     const std::string& programme) {
  v1::ProjectRegistered m;
  m.set_project_id(id);
  m.set_programme_id(programme);
  m.set_name(id + " project");
  return m;
}
// Its final cost stated when given, else left out (not stated).
inline v1::ProjectClosed CloseProject(const std::string& id,
                                      std::optional<int64_t> final_cost = std::nullopt) {
  v1::ProjectClosed m;
  m.set_project_id(id);
  if (final_cost) m.set_final_cost_pence(*final_cost);
  m.add_lessons("lesson");
  return m;
}
inline v1::StatusReported Status(const v1::WorkRef& subject, v1::Rag rag,
                                 int week) {
  v1::StatusReported m;
  *m.mutable_subject() = subject;
  m.set_rag(rag);
  m.set_plan_week(week);
  return m;
}
inline v1::RiskOpened Risk(const std::string& id, const v1::WorkRef& subject,
                           v1::Rag rating = v1::RAG_AMBER) {
  v1::RiskOpened m;
  m.set_risk_id(id);
  *m.mutable_subject() = subject;
  m.set_title(id);
  m.set_description("There is a risk that " + id + " happens");
  m.set_rating(rating);
  m.set_owner("programme manager");
  return m;
}
inline v1::RiskRerated Rerate(const std::string& id, v1::Rag rating) {
  v1::RiskRerated m;
  m.set_risk_id(id);
  m.set_rating(rating);
  m.set_reason("reviewed");
  return m;
}
inline v1::RiskClosed CloseRisk(const std::string& id) {
  v1::RiskClosed m;
  m.set_risk_id(id);
  m.set_reason("mitigated");
  return m;
}
inline v1::RiskTransferred TransferRisk(const std::string& id,
                                        const v1::WorkRef& to) {
  v1::RiskTransferred m;
  m.set_risk_id(id);
  *m.mutable_to() = to;
  m.set_reason("belongs there");
  return m;
}
inline v1::ScopeItemAdded AddScope(const std::string& id,
                                   const v1::WorkRef& owner) {
  v1::ScopeItemAdded m;
  m.set_scope_item_id(id);
  *m.mutable_owner() = owner;
  m.set_title(id);
  *m.mutable_approval() = Board("Programme Board");
  return m;
}
inline v1::ScopeItemRemoved RemoveScope(const std::string& id,
                                        const v1::WorkRef& from) {
  v1::ScopeItemRemoved m;
  m.set_scope_item_id(id);
  *m.mutable_from() = from;
  m.set_reason("no longer needed");
  *m.mutable_approval() = Board("Programme Board");
  return m;
}
inline v1::ScopeItemTransferred TransferScope(const std::string& id,
                                              const v1::WorkRef& from,
                                              const v1::WorkRef& to) {
  v1::ScopeItemTransferred m;
  m.set_scope_item_id(id);
  *m.mutable_from() = from;
  *m.mutable_to() = to;
  m.set_baseline_change_pence(-1000000);
  m.set_benefit_change_pence(-500000);
  m.set_reason("aligns with the target operating model");
  *m.mutable_approval() = Board("Programme Board");
  return m;
}
inline v1::DecisionAmount Amount(v1::AmountKind kind, int64_t pence,
                                 const std::string& source,
                                 bool noted_only = false) {
  v1::DecisionAmount a;
  a.set_kind(kind);
  a.set_pence(pence);
  a.set_funding_source(source);
  a.set_noted_only(noted_only);
  return a;
}
inline v1::DecisionProposed Decision(
    const std::string& org, const std::string& reference,
    std::vector<std::string> roles,
    std::vector<v1::DecisionAmount> amounts = {}) {
  v1::DecisionProposed m;
  m.set_organisation_id(org);
  m.set_reference(reference);
  m.set_title(reference + " title");
  m.add_recommendations("approve it");
  for (auto& r : roles) m.add_required_signatory_roles(r);
  for (auto& a : amounts) *m.add_amounts() = a;
  m.set_part1_text("public facts");
  return m;
}
inline v1::DelegationRuleSet Delegation(const std::string& org,
                                        const std::string& rule_id,
                                        int64_t threshold,
                                        const std::string& role) {
  v1::DelegationRuleSet m;
  m.set_organisation_id(org);
  m.set_rule_id(rule_id);
  m.set_threshold_pence(threshold);
  m.set_role(role);
  return m;
}

// A signatory: a key pair and the registration of its public key.
struct Signer {
  std::string key_id;
  std::string role;
  crypto::Ed25519KeyPair keys;

  // `holder` defaults to one of this key alone ("Holder of <key id>"): a
  // holder signs a decision once, whichever of its keys it uses.
  v1::SigningKeyRegistered Registration(const std::string& holder = "") const {
    v1::SigningKeyRegistered m;
    m.set_key_id(key_id);
    m.set_holder(holder.empty() ? "Holder of " + key_id : holder);
    m.set_role(role);
    m.set_public_key(keys.public_key);
    return m;
  }
  // This signer's signature of `decision`.
  v1::DecisionSigned Sign(const v1::DecisionProposed& decision) const {
    v1::DecisionSigned m;
    m.set_organisation_id(decision.organisation_id());
    m.set_reference(decision.reference());
    m.set_key_id(key_id);
    m.set_signature(*crypto::Ed25519Sign(
        keys.private_key, projections::DecisionDigest(decision)));
    m.set_digest(projections::DecisionDigest(decision));
    return m;
  }
  // This signer's signature of `decision` with a declaration of interests,
  // which the signature then covers.
  v1::DecisionSigned SignDeclaring(const v1::DecisionProposed& decision,
                                   const std::string& interests = "") const {
    v1::DecisionSigned m = Sign(decision);
    m.mutable_declaration()->set_statement(
        "I confirm I have considered whether or not I have any personal or "
        "prejudicial interest in this matter.");
    m.mutable_declaration()->set_interests(interests);
    m.set_signature(*crypto::Ed25519Sign(
        keys.private_key,
        projections::SignatureDigest(projections::DecisionDigest(decision),
                                     m.declaration())));
    return m;
  }
};

inline Signer NewSigner(const std::string& key_id, const std::string& role) {
  return Signer{key_id, role, *crypto::GenerateEd25519KeyPair()};
}

inline v1::SigningKeyRevoked Revoke(const std::string& key_id) {
  v1::SigningKeyRevoked m;
  m.set_key_id(key_id);
  m.set_reason("holder left office");
  return m;
}

// `e` effective at noon UTC of `date`.
inline v1::Event At(v1::Event e, const v1::Date& date) {
  SetMicros(projections::DateMicros(date) + 12 * 3600 * kMicrosPerSecond,
            e.mutable_effective_time());
  return e;
}

// `e` effective at `micros` (microseconds since the Unix epoch).
inline v1::Event At(v1::Event e, int64_t micros) {
  SetMicros(micros, e.mutable_effective_time());
  return e;
}

// One append request of `events`.
inline v1::AppendRequest Request(std::vector<v1::Event> events) {
  v1::AppendRequest r;
  for (v1::Event& e : events) *r.add_events() = std::move(e);
  return r;
}

// A state's entities, to compare two states: its snapshot without the index of
// event ids and streams, which a validator keeps only for the events since its
// start (the store answers for the others), and without the entities' opening
// positions and their departures' positions, which the write side, folding events
// before they are stored (or as Recover reads them), does not know
// (governance_state.h, "Incarnations").
inline internal::GovernanceStateSnapshot Entities(
    const projections::GovernanceState& state) {
  internal::GovernanceStateSnapshot snapshot;
  state.Save(&snapshot);
  snapshot.clear_events();
  snapshot.clear_event_streams();
  for (auto& r : *snapshot.mutable_risks()) {
    r.clear_opened_position();
    for (auto& d : *r.mutable_departures()) d.clear_position();
  }
  for (auto& i : *snapshot.mutable_scope_items()) {
    i.clear_added_position();
    for (auto& d : *i.mutable_departures()) d.clear_position();
  }
  for (auto& d : *snapshot.mutable_decisions()) d.clear_proposed_position();
  for (auto& k : *snapshot.mutable_keys()) k.clear_registered_position();
  for (auto& r : *snapshot.mutable_rules()) {
    for (auto& setting : *r.mutable_settings()) setting.clear_position();
  }
  return snapshot;
}

inline v1::Event Correction(const v1::Event& corrected,
                            const std::string& reason = "typo") {
  v1::CorrectionRecorded m;
  m.set_corrected_event_id(corrected.event_id());
  m.set_reason(reason);
  return On(corrected.stream_id(), m);
}

// Open risks of a programme and its projects in `state`, and how many of them are RED: counted
// from the state's risks directly, to check the folds (and QueryService's counts) against.
struct RiskCount {
  int open = 0;
  int red = 0;
};
inline RiskCount CountOpenRisks(const projections::GovernanceState& state,
                                const std::string& programme_id) {
  RiskCount count;
  for (const auto& [id, risk] : state.risks()) {
    if (!risk.open) continue;
    const projections::WorkState* w = state.FindWork(risk.subject);
    if (w == nullptr || w->programme_id != programme_id) continue;
    ++count.open;
    if (risk.rating == v1::RAG_RED) ++count.red;
  }
  return count;
}

}  // namespace govledger::testing::gov

#endif  // GOVLEDGER_TESTS_GOVERNANCE_EVENTS_H_
