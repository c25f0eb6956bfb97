// Corrections void the events they name for the rules as for the answers
// (projections/corrections.h): which events are voided, the validator inside
// the real Ledger (MemoryEventStore) before and after a reopen, a group that
// is aborted, and the as-at fold of the same log.
#include "projections/corrections.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "govledger/internal/snapshot.pb.h"
#include "ledger/common/clock.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "ledger/ledger.h"
#include "ledger/stored_event.h"
#include "projections/as_at.h"
#include "projections/event_source.h"
#include "projections/governance_validator.h"
#include "projections/programme_index.h"
#include "projections/queries.h"
#include "tests/governance_events.h"
#include "tests/memory_event_store.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::FakeClock;
using ::govledger::testing::IsOk;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr auto kFailed = absl::StatusCode::kFailedPrecondition;

TEST(VoidedEventsTest, ACorrectedCorrectionRestoresTheEventItNamed) {
  // Event 1; 2 corrects 1; 3 corrects 2; 4 corrects 3.
  std::vector<std::pair<int, int>> chain = {{2, 1}};
  EXPECT_THAT(VoidedEvents(chain), UnorderedElementsAre(1));
  chain.emplace_back(3, 2);
  EXPECT_THAT(VoidedEvents(chain), UnorderedElementsAre(2));
  EXPECT_THAT(LeftOutEvents(chain), ::testing::IsEmpty());
  chain.emplace_back(4, 3);
  EXPECT_THAT(VoidedEvents(chain), UnorderedElementsAre(1, 3));
  EXPECT_THAT(LeftOutEvents(chain), UnorderedElementsAre(1));
  // Two corrections of one event: it stays voided while either stands.
  std::vector<std::pair<int, int>> two = {{2, 1}, {3, 1}, {4, 2}};
  EXPECT_THAT(VoidedEvents(two), UnorderedElementsAre(1, 2));
  two.emplace_back(5, 3);
  EXPECT_THAT(VoidedEvents(two), UnorderedElementsAre(2, 3));
}

TEST(VoidedEventsTest, TheStatesUnorderedRecordGivesTheSameAnswer) {
  std::mt19937 rng(20261130);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::pair<std::string, std::string>> ordered;
    absl::node_hash_map<std::string, std::vector<std::string>> by_target;
    const int events = 2 + static_cast<int>(rng() % 60);
    for (int e = 2; e <= events; ++e) {
      if (rng() % 3 == 0) continue;  // not a correction
      // Mostly recent targets, so that chains of corrections form.
      const int back = 1 + static_cast<int>(rng() % std::min(e - 1, 4));
      const int target = rng() % 2 ? e - back : 1 + static_cast<int>(rng() % (e - 1));
      ordered.emplace_back(absl::StrCat(e), absl::StrCat(target));
      by_target[absl::StrCat(target)].push_back(absl::StrCat(e));
    }
    EXPECT_EQ(VoidedEvents(ordered), VoidedEvents(by_target)) << "round " << round;
  }
}

class CorrectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")),
                      Ev(Project("LPP-INV", "LPP")),
                      Ev(Risk("R1", ProgrammeRef("LPP"), v1::RAG_RED))}));
  }

  void Open() {
    ledger_.reset();
    validator_ = std::make_unique<GovernanceValidator>();
    absl::StatusOr<std::unique_ptr<Ledger>> l =
        Ledger::Open(&store_, &clock_, {}, validator_.get());
    ASSERT_OK(l);
    ledger_ = *std::move(l);
  }

  absl::Status Append(std::vector<v1::Event> events) {
    return ledger_->Append(Request(std::move(events)), "tester").status();
  }

  // Stores `events` unchecked, as an earlier version with fewer rules would have (a ledger
  // without a validator), then reopens the ledger with one.
  void AppendAsAnEarlierVersion(std::vector<v1::Event> events) {
    ledger_.reset();
    {
      absl::StatusOr<std::unique_ptr<Ledger>> earlier = Ledger::Open(&store_, &clock_);
      ASSERT_OK(earlier);
      ASSERT_OK((*earlier)->Append(Request(std::move(events)), "earlier-version"));
    }
    Open();
  }

  const GovernanceState& state() const { return validator_->state(); }

  // The scope map as QueryScopeMap answers it from the whole log and as QueryService answers
  // it, from a ProgrammeIndex (whose programme folds hold no decision streams) and snapshots:
  // the same answer, or a failure.
  absl::StatusOr<v1::GetScopeMapResponse> ScopeMapBothWays(const v1::GetScopeMapRequest& request) {
    const std::vector<v1::Event> log = Log();
    absl::StatusOr<v1::GetScopeMapResponse> full =
        QueryScopeMap(log, clock_.NowMicros(), request);
    ProgrammeIndex index;
    VectorEventSource source(log);
    MemorySnapshotStore snapshots;
    for (const v1::Event& e : log) RETURN_IF_ERROR(index.Add(e, source));
    const IndexedLog indexed_log{&index, &source, &snapshots, {4}};
    absl::StatusOr<v1::GetScopeMapResponse> indexed =
        QueryScopeMap(indexed_log, clock_.NowMicros(), request);
    if (!full.ok() || !indexed.ok()) return full.ok() ? indexed : full;
    full->mutable_as_at()->clear_events_folded();
    indexed->mutable_as_at()->clear_events_folded();
    EXPECT_EQ(full->ShortDebugString(), indexed->ShortDebugString());
    return full;
  }

  std::vector<v1::Event> Log() {
    std::vector<v1::Event> log;
    EXPECT_OK(store_.ScanLog(1, /*forward=*/true,
                             [&](uint64_t position, absl::string_view bytes) {
                               absl::StatusOr<v1::Event> e =
                                   DecodeStoredEvent(position, bytes);
                               EXPECT_OK(e);
                               if (e.ok()) log.push_back(*std::move(e));
                               return true;
                             }));
    return log;
  }

  // The validator's state equals the queries' fold of the log as recorded at
  // the head (an independent reckoning of what the corrections void).
  void ExpectTheQueriesAgree() {
    const std::vector<v1::Event> log = Log();
    Cut head;
    head.by_position = true;
    head.position = log.size();
    GovernanceState folded;
    FoldEvents(SelectEvents(log, head), &folded);
    google::protobuf::util::MessageDifferencer same;
    same.set_repeated_field_comparison(
        google::protobuf::util::MessageDifferencer::AS_SET);
    std::string differences;
    same.ReportDifferencesToString(&differences);
    EXPECT_TRUE(same.Compare(Entities(state()), Entities(folded))) << differences;
  }

  FakeClock clock_{1700000000000000};
  MemoryEventStore store_;
  std::unique_ptr<GovernanceValidator> validator_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(CorrectionsTest, ACorrectedClosureLeavesTheRiskOpenForTheRules) {
  const v1::Event closure = Ev(CloseRisk("R1"));
  ASSERT_OK(Append({closure}));
  EXPECT_THAT(Append({Ev(Rerate("R1", v1::RAG_GREEN))}),
              StatusIs(kFailed, HasSubstr("risk R1 is closed")));

  ASSERT_OK(Append({Correction(closure, "closed in error: the risk is live")}));
  EXPECT_TRUE(state().FindRisk("R1")->open);
  ASSERT_OK(Append({Ev(Rerate("R1", v1::RAG_AMBER))}));
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_AMBER);
  ExpectTheQueriesAgree();

  // A reopen replays the correction and refolds: the same state.
  Open();
  EXPECT_GT(validator_->recovery().refold_seconds, 0);
  EXPECT_TRUE(state().FindRisk("R1")->open);
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_AMBER);
  ExpectTheQueriesAgree();
  // And a second reopen starts from the snapshot saved after the refold.
  Open();
  EXPECT_EQ(validator_->recovery().refold_seconds, 0);
  EXPECT_EQ(validator_->recovery().snapshot_position, 7u);
  EXPECT_TRUE(state().FindRisk("R1")->open);
  ASSERT_OK(Append({Ev(CloseRisk("R1"))}));
  EXPECT_FALSE(state().FindRisk("R1")->open);
}

// A correction dated before the event it voids would stand in the entity's history, as now
// known, at dates when neither had taken effect. Refused, saying how to date it; dated with the
// event or later (up to a day after it is recorded), or left undated when the event is past, it
// is accepted.
TEST_F(CorrectionsTest, ACorrectionTakesEffectNoEarlierThanTheEventItCorrects) {
  const int64_t now = clock_.NowMicros();
  const int64_t rated_at = now + 3600 * kMicrosPerSecond;  // within the day clocks are allowed
  const v1::Event rerating = At(Ev(Rerate("R1", v1::RAG_AMBER)), rated_at);
  ASSERT_OK(Append({rerating}));
  const uint64_t head = ledger_->Head().position;
  const std::string dating = absl::StrCat("date it ", FormatRfc3339(rated_at),
                                          " or later, up to a day after it is recorded (",
                                          FormatRfc3339(now + kMicrosPerDay), ")");
  EXPECT_THAT(
      Append({At(Correction(rerating, "rated in error"), rated_at - 1)}),
      StatusIs(kFailed,
               AllOf(HasSubstr(absl::StrCat("event ", absl::AsciiStrToLower(rerating.event_id()),
                                            " takes effect ", FormatRfc3339(rated_at),
                                            ", after the correction's effective time ",
                                            FormatRfc3339(rated_at - 1))),
                     HasSubstr(absl::StrCat("a correction takes effect no earlier than "
                                            "the event it corrects: ",
                                            dating, "; the fact")))));
  // Undated, it would take the time it is recorded, before the re-rating: not advised.
  const absl::Status undated = Append({Correction(rerating, "rated in error")});
  EXPECT_THAT(undated, StatusIs(kFailed, HasSubstr(dating + "; the fact")));
  EXPECT_THAT(undated.message(), Not(HasSubstr("leave its effective time out")));
  // Nor in the append that records the event.
  const v1::Event closure = At(Ev(CloseRisk("R1")), rated_at + 10);
  EXPECT_THAT(Append({closure, At(Correction(closure), rated_at + 9)}),
              StatusIs(kFailed, AllOf(HasSubstr("no earlier than the event it corrects"),
                                      HasSubstr(" (it is in this append: date both, or leave "
                                                "both undated)"))));
  // Nor more than a day ahead of its recording.
  EXPECT_THAT(Append({At(Correction(rerating), now + kMicrosPerDay + 1)}),
              StatusIs(kFailed, AllOf(HasSubstr("more than a day after it is recorded"),
                                      HasSubstr("a correction takes effect no later than a day "
                                                "after it is recorded, unless it corrects an "
                                                "event dated further ahead, and then at that "
                                                "event's time: " +
                                                dating))));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_AMBER);

  ASSERT_OK(Append({At(Correction(rerating, "rated in error"), now + kMicrosPerDay)}));
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_RED);
  // An event of the past: left undated, its correction takes the time it is recorded, as the
  // advice says.
  clock_.Advance(2 * kMicrosPerDay);
  const int64_t later = clock_.NowMicros();
  const v1::Event second = At(Ev(Rerate("R1", v1::RAG_GREEN)), later - 60 * kMicrosPerSecond);
  ASSERT_OK(Append({second}));
  EXPECT_THAT(Append({At(Correction(second), later - 61 * kMicrosPerSecond)}),
              StatusIs(kFailed, HasSubstr(", or leave its effective time out to date it when "
                                          "recorded; the fact")));
  ASSERT_OK(Append({Correction(second)}));
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_RED);
}

// A delegation setting dated ahead is corrected before it takes effect: the correction is
// dated at the setting's own time, the one time both rules (no earlier than the event it
// corrects, no later than a day after it is recorded, but for what may be dated ahead) leave it.
TEST_F(CorrectionsTest, AnEventDatedAheadIsCorrectedAtItsOwnTime) {
  const int64_t ahead = clock_.NowMicros() + 60 * kMicrosPerDay;
  const v1::Event setting = At(Ev(Delegation("MOPAC", "DM-1M", 100000000, "Mayor")), ahead);
  ASSERT_OK(Append({setting}));
  ASSERT_NE(state().FindDelegationRule("MOPAC", "DM-1M"), nullptr);
  const uint64_t head = ledger_->Head().position;
  // Undated, it takes the time it is recorded: before the setting. The advice names the time.
  const std::string dating = absl::StrCat("date it ", FormatRfc3339(ahead),
                                          ", the time of the event it corrects, which is dated "
                                          "ahead");
  const absl::Status undated = Append({Correction(setting, "set in error")});
  EXPECT_THAT(undated, StatusIs(kFailed, EndsWith(dating)));
  EXPECT_THAT(undated.message(), Not(HasSubstr("leave its effective time out")));
  EXPECT_THAT(Append({At(Correction(setting), ahead + 1)}),
              StatusIs(kFailed, HasSubstr("and then at that event's time: " + dating)));
  // Nor is any other event dated ahead because a correction may be.
  EXPECT_THAT(Append({At(Ev(Rerate("R1", v1::RAG_AMBER)), ahead)}),
              StatusIs(kFailed, HasSubstr("more than a day after it is recorded")));
  EXPECT_EQ(ledger_->Head().position, head);
  ASSERT_OK(Append({At(Correction(setting, "set in error"), ahead)}));
  EXPECT_EQ(state().FindDelegationRule("MOPAC", "DM-1M"), nullptr);
}

// A correction is not corrected: voiding it would make the closure it voided count again,
// unchecked against the re-rating recorded since. The closure is recorded again instead, as a
// new event the rules check.
TEST_F(CorrectionsTest, ACorrectionIsNotCorrectedTheFactIsRecordedAgain) {
  const v1::Event closure = Ev(CloseRisk("R1"));
  ASSERT_OK(Append({closure}));
  const v1::Event correction = Correction(closure, "closed in error");
  ASSERT_OK(Append({correction}));
  ASSERT_OK(Append({Ev(Rerate("R1", v1::RAG_AMBER))}));
  ASSERT_TRUE(state().FindRisk("R1")->open);
  const uint64_t head = ledger_->Head().position;

  EXPECT_THAT(
      Append({Correction(correction, "the closure was right")}),
      StatusIs(kFailed,
               AllOf(HasSubstr(absl::StrCat("event ", absl::AsciiStrToLower(correction.event_id()),
                                            " is itself a correction on risk/R1")),
                     HasSubstr("a correction is not corrected: record the fact it voided "
                               "again"))));
  // Nor in the append that makes it.
  const v1::Event rerating = Ev(Rerate("R1", v1::RAG_GREEN));
  const v1::Event mistaken = Correction(rerating, "rated in error");
  EXPECT_THAT(Append({rerating, mistaken, Correction(mistaken)}),
              StatusIs(kFailed, HasSubstr("a correction is not corrected")));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_TRUE(state().FindRisk("R1")->open);
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_AMBER);

  ASSERT_OK(Append({Ev(CloseRisk("R1"))}));
  EXPECT_FALSE(state().FindRisk("R1")->open);
  ExpectTheQueriesAgree();
  Open();
  EXPECT_FALSE(state().FindRisk("R1")->open);
  ExpectTheQueriesAgree();
}

// An event is corrected once: a second correction would change nothing but which correction a
// history credits with the voiding.
TEST_F(CorrectionsTest, AVoidedEventIsNotCorrectedAgain) {
  const v1::Event closure = Ev(CloseRisk("R1"));
  ASSERT_OK(Append({closure}));
  const v1::Event first = Correction(closure, "closed in error");
  ASSERT_OK(Append({first}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(closure, "closed in error, again")}),
              StatusIs(kFailed, AllOf(HasSubstr(absl::StrCat(
                                          "event ", absl::AsciiStrToLower(closure.event_id()),
                                          " is already voided by correction ",
                                          absl::AsciiStrToLower(first.event_id()))),
                                      HasSubstr("an event is corrected once"))));
  // Nor twice in one append.
  const v1::Event rerating = Ev(Rerate("R1", v1::RAG_GREEN));
  EXPECT_THAT(Append({rerating, Correction(rerating), Correction(rerating)}),
              StatusIs(kFailed, HasSubstr("an event is corrected once")));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_TRUE(state().FindRisk("R1")->open);
  ExpectTheQueriesAgree();
}

// An opening later events build on is not voided: they would be left without effect, silently
// (a signed decision would vanish from the register). The later events are corrected first,
// newest first; then the opening may be.
TEST_F(CorrectionsTest, AnOpeningLaterEventsBuildOnIsNotCorrected) {
  auto refused = [&](const v1::Event& opening, const std::string& why) {
    const uint64_t head = ledger_->Head().position;
    EXPECT_THAT(Append({Correction(opening, "in error")}),
                StatusIs(kFailed, AllOf(HasSubstr(why),
                                        HasSubstr("an event that later events of its entity "
                                                  "build on is not corrected: correct those "
                                                  "first, newest first"))));
    EXPECT_EQ(ledger_->Head().position, head);
  };
  // A risk re-rated, then closed.
  const v1::Event opened = Ev(Risk("R2", ProgrammeRef("LPP"), v1::RAG_AMBER));
  const v1::Event rerated = Ev(Rerate("R2", v1::RAG_RED));
  ASSERT_OK(Append({opened, rerated}));
  refused(opened, "opens risk/R2, which has since been re-rated");
  const v1::Event closed = Ev(CloseRisk("R2"));
  ASSERT_OK(Append({closed}));
  refused(opened, "opens risk/R2, which has since been closed");
  ASSERT_OK(Append({Correction(closed, "in error"), Correction(rerated, "in error")}));
  ASSERT_OK(Append({Correction(opened, "in error")}));
  EXPECT_EQ(state().FindRisk("R2"), nullptr);
  // A risk transferred.
  const v1::Event r3 = Ev(Risk("R3", ProgrammeRef("LPP")));
  ASSERT_OK(Append({r3, Ev(TransferRisk("R3", ProjectRef("LPP-INV")))}));
  refused(r3, "opens risk/R3, which has since been transferred");
  // A scope item transferred, or removed.
  const v1::Event s1 = Ev(AddScope("S1", ProgrammeRef("LPP")));
  ASSERT_OK(Append({s1, Ev(TransferScope("S1", ProgrammeRef("LPP"), ProjectRef("LPP-INV")))}));
  refused(s1, "adds scope/S1, which has since been transferred");
  const v1::Event s2 = Ev(AddScope("S2", ProgrammeRef("LPP")));
  ASSERT_OK(Append({s2, Ev(RemoveScope("S2", ProgrammeRef("LPP")))}));
  refused(s2, "adds scope/S2, which has since been removed from scope");
  // A decision signed, and the key that signed it.
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  const v1::Event key = Ev(dmpc.Registration());
  const v1::Event proposal = Ev(pcd72);
  ASSERT_OK(Append({key, proposal, Ev(dmpc.Sign(pcd72))}));
  ASSERT_TRUE(state().FindDecision("MOPAC", "PCD 72")->approved());
  refused(proposal, "proposes decision/MOPAC/PCD-72, which has since been signed");
  refused(key, "registers key/dmpc, which has since signed a decision");
  EXPECT_TRUE(state().FindDecision("MOPAC", "PCD 72")->approved());
  // An opening nothing builds on yet may be voided.
  const v1::Event unsigned_proposal = Ev(Decision("MOPAC", "PCD 73", {dmpc.role}));
  ASSERT_OK(Append({unsigned_proposal}));
  ASSERT_OK(Append({Correction(unsigned_proposal, "proposed in error")}));
  EXPECT_EQ(state().FindDecision("MOPAC", "PCD 73"), nullptr);
  // A project's closure, once its programme has closed (after it).
  const v1::Event project_closed = Ev(CloseProject("LPP-INV"));
  ASSERT_OK(Append({project_closed, Ev(CloseProgramme("LPP"))}));
  refused(project_closed, "closes project/LPP-INV, which has since seen its programme LPP closed");
  EXPECT_TRUE(state().FindProject("LPP-INV")->closed);
}

// A signature of a decision that a later proposal was referred back under is not voided: the
// referral would stay pending and approvable under authority no longer delegated. The referral
// is corrected first; then the signature may be.
TEST_F(CorrectionsTest, ASignatureAReferralBackRestsOnIsNotCorrectedUntilTheReferralIs) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  Signer cfo = NewSigner("cfo", "Chief Finance Officer");
  v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  v1::DelegatedAuthority* a = pcd72.add_delegated_authorities();
  a->set_delegation_id("cfo");
  a->add_delegate_roles(cfo.role);
  a->set_scope("spend within the approved budget");
  a->set_referral_condition("anything novel or contentious");
  a->add_referral_roles(dmpc.role);
  const v1::Event signature = Ev(dmpc.Sign(pcd72));
  ASSERT_OK(Append({Ev(dmpc.Registration()), Ev(cfo.Registration()), Ev(pcd72), signature}));
  v1::DecisionProposed pcd80 = Decision("MOPAC", "PCD 80", {dmpc.role});
  pcd80.mutable_referred_under()->set_reference("PCD 72");
  pcd80.mutable_referred_under()->set_delegation_id("cfo");
  const v1::Event referral = Ev(pcd80);
  ASSERT_OK(Append({referral}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(signature, "signed by the wrong office")}),
              StatusIs(kFailed,
                       AllOf(HasSubstr("signs decision/MOPAC/PCD-72, which has since had "
                                       "decision/MOPAC/PCD-80 referred back under it"),
                             HasSubstr("correct those first, newest first"))));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_TRUE(state().FindDecision("MOPAC", "PCD 72")->approved());
  ASSERT_OK(Append({Correction(referral, "referred in error"),
                    Correction(signature, "signed by the wrong office")}));
  EXPECT_FALSE(state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_EQ(state().FindDecision("MOPAC", "PCD 80"), nullptr);
  // Nor is the referral proposed again until the decision is signed again.
  EXPECT_THAT(Append({Ev(pcd80)}), StatusIs(kFailed, HasSubstr("which is not yet approved")));
  ExpectTheQueriesAgree();
}

// A rejection or withdrawal of a decision whose programme has closed since is not voided: the
// decision would be pending, and could be approved, about a closed programme (a programme is
// closed once the decisions naming it are decided).
TEST_F(CorrectionsTest, ARejectionIsNotCorrectedOnceItsProgrammeHasClosed) {
  v1::DecisionProposed pd9 = Decision("MOPAC", "PD 9", {"Chief Executive"});
  pd9.set_programme_id("LPP");
  v1::DecisionRejected rejected;
  rejected.set_organisation_id("MOPAC");
  rejected.set_reference("PD 9");
  rejected.set_reason("not affordable");
  rejected.set_rejected_by("Deputy Mayor for Policing and Crime");
  const v1::Event rejection = Ev(rejected);
  ASSERT_OK(Append({Ev(pd9), rejection}));
  // Nothing built on it yet: it may be voided, and the decision is pending again.
  const v1::Event voiding = Correction(rejection, "rejected in error");
  ASSERT_OK(Append({voiding}));
  EXPECT_THAT(Append({Ev(CloseProject("LPP-INV")), Ev(CloseProgramme("LPP"))}),
              StatusIs(kFailed, HasSubstr("programme LPP is named by decision/MOPAC/PD-9, which "
                                          "is pending")));
  v1::Event again = Ev(rejected);
  again.set_event_id("6a1f0b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b");
  ASSERT_OK(Append({again, Ev(CloseProject("LPP-INV")), Ev(CloseProgramme("LPP"))}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(again, "rejected in error")}),
              StatusIs(kFailed,
                       AllOf(HasSubstr("rejects decision/MOPAC/PD-9, which has since seen its "
                                       "programme LPP closed"),
                             HasSubstr("correct those first, newest first"))));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_EQ(state().FindDecision("MOPAC", "PD 9")->outcome, DecisionState::Outcome::kRejected);
  ExpectTheQueriesAgree();
}

// Nor a signature of an approved decision whose programme has closed since: voided, the decision
// would be pending, and signed again, about a closed programme. A log written before these rules
// may hold a decision pending in a closed programme: it is not signed.
TEST_F(CorrectionsTest, ASignatureIsNotCorrectedOnceItsProgrammeHasClosed) {
  Signer ceo = NewSigner("ceo", "Chief Executive");
  v1::DecisionProposed pd1 = Decision("MOPAC", "PD 1", {ceo.role});
  pd1.set_programme_id("LPP");
  const v1::Event signature = Ev(ceo.Sign(pd1));
  ASSERT_OK(Append({Ev(ceo.Registration()), Ev(pd1), signature, Ev(CloseProject("LPP-INV")),
                    Ev(CloseProgramme("LPP"))}));
  EXPECT_THAT(Append({Correction(signature, "signed in error")}),
              StatusIs(kFailed, AllOf(HasSubstr("signs decision/MOPAC/PD-1, which has since seen "
                                                "its programme LPP closed"),
                                      HasSubstr("correct those first, newest first"))));
  EXPECT_TRUE(state().FindDecision("MOPAC", "PD 1")->approved());

  v1::DecisionProposed pd2 = Decision("MOPAC", "PD 2", {ceo.role});
  pd2.set_programme_id("OCP");
  AppendAsAnEarlierVersion({Ev(Programme("OCP", "MOPAC")), Ev(pd2), Ev(CloseProgramme("OCP"))});
  EXPECT_THAT(Append({Ev(ceo.Sign(pd2))}),
              StatusIs(kFailed, AllOf(HasSubstr("decision MOPAC/PD 2 names programme OCP, which "
                                                "is closed"),
                                      HasSubstr("a decision about a closed programme is not "
                                                "signed"))));
}

TEST_F(CorrectionsTest, ACorrectedSignatureLeavesTheDecisionPendingToBeSignedAgain) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {dmpc.role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  const v1::Event signature = Ev(dmpc.Sign(pcd72));
  ASSERT_OK(Append({Ev(dmpc.Registration()), Ev(pcd72), signature}));
  ASSERT_TRUE(state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_THAT(Append({Ev(dmpc.Sign(pcd72))}),
              StatusIs(kFailed, HasSubstr("already approved")));

  ASSERT_OK(Append({Correction(signature, "signed by the wrong office")}));
  EXPECT_FALSE(state().FindDecision("MOPAC", "PCD 72")->approved());
  ASSERT_OK(Append({Ev(dmpc.Sign(pcd72))}));
  EXPECT_TRUE(state().FindDecision("MOPAC", "PCD 72")->approved());
  ExpectTheQueriesAgree();
}

TEST_F(CorrectionsTest, AnEventAndItsCorrectionInOneAppendLeaveNothing) {
  const v1::Event rerate = Ev(Rerate("R1", v1::RAG_GREEN));
  ASSERT_OK(Append({rerate, Correction(rerate, "keyed twice")}));
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_RED);
  // The voided event is not corrected again.
  EXPECT_THAT(Append({Correction(rerate, "and again")}),
              StatusIs(kFailed, HasSubstr("an event is corrected once")));
  ExpectTheQueriesAgree();
}

TEST_F(CorrectionsTest, ACorrectionCountsForTheRestOfItsOwnAppend) {
  const v1::Event closure = Ev(CloseRisk("R1"));
  ASSERT_OK(Append({closure}));
  // Accepted as two appends would be: the closure is voided before the rerate.
  ASSERT_OK(Append({Correction(closure, "closed in error"), Ev(Rerate("R1", v1::RAG_AMBER))}));
  EXPECT_TRUE(state().FindRisk("R1")->open);
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_AMBER);

  // Refused as two appends would be: R2's opening voided, there is no R2 to close.
  const v1::Event opening = Ev(Risk("R2", ProgrammeRef("LPP"), v1::RAG_RED));
  ASSERT_OK(Append({opening}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(opening, "opened in error"), Ev(CloseRisk("R2"))}),
              StatusIs(kFailed, HasSubstr("risk R2 has not been opened")));
  EXPECT_EQ(ledger_->Head().position, head);
  ASSERT_NE(state().FindRisk("R2"), nullptr);  // the refused correction is undone
  EXPECT_TRUE(state().FindRisk("R2")->open);

  // A voided signature leaves its decision pending for the events after it.
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  const v1::Event signature = Ev(dmpc.Sign(pcd72));
  ASSERT_OK(Append({Ev(dmpc.Registration()), Ev(pcd72), signature}));
  v1::ScopeItemAdded add = AddScope("S1", ProgrammeRef("LPP"));
  add.mutable_approval()->Clear();
  add.mutable_approval()->set_decision_stream("decision/MOPAC/PCD-72");
  EXPECT_THAT(Append({Correction(signature, "signed by the wrong office"), Ev(add)}),
              StatusIs(kFailed, HasSubstr("not approved")));
  EXPECT_TRUE(state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_EQ(state().FindScopeItem("S1"), nullptr);
  // A run of corrections, then the event they clear the way for.
  const v1::DecisionProposed pcd80 = Decision("MOPAC", "PCD 80", {dmpc.role});
  ASSERT_OK(Append({Ev(pcd80)}));
  v1::DecisionRejected rejected;
  rejected.set_organisation_id("MOPAC");
  rejected.set_reference("PCD 80");
  rejected.set_rejected_by("Deputy Mayor for Policing and Crime");
  const v1::Event rejection = Ev(rejected);
  ASSERT_OK(Append({rejection}));
  ASSERT_OK(Append({Correction(rejection, "rejected the wrong decision"),
                    Correction(signature, "signed by the wrong office"), Ev(dmpc.Sign(pcd80))}));
  EXPECT_FALSE(state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_TRUE(state().FindDecision("MOPAC", "PCD 80")->approved());
  ExpectTheQueriesAgree();
  Open();
  EXPECT_TRUE(state().FindDecision("MOPAC", "PCD 80")->approved());
  EXPECT_TRUE(state().FindRisk("R1")->open);
  ExpectTheQueriesAgree();
}

// A scope change stands as appended when a later correction takes its approving decision's
// approval away, and the scope map says the approval has lapsed (review Q, 9b), as at every
// point after the correction and not before it.
TEST_F(CorrectionsTest, AScopeChangeWhoseDecisionLosesItsApprovalShowsTheApprovalLapsed) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  const v1::Event signature = Ev(dmpc.Sign(pcd72));
  v1::ScopeItemAdded add = AddScope("S1", ProgrammeRef("LPP"));
  add.mutable_approval()->Clear();
  add.mutable_approval()->set_decision_stream("decision/MOPAC/PCD-72");
  ASSERT_OK(Append({Ev(dmpc.Registration()), Ev(pcd72), signature, Ev(add)}));
  const uint64_t approved_at = ledger_->Head().position;
  auto lapsed = [&](uint64_t position) -> std::string {
    v1::GetScopeMapRequest request;
    request.set_programme_id("LPP");
    request.mutable_as_at()->set_position(position);
    request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
    absl::StatusOr<v1::GetScopeMapResponse> map = ScopeMapBothWays(request);
    EXPECT_OK(map);
    if (!map.ok() || map->items_size() != 1 || map->items(0).changes_size() != 1) {
      ADD_FAILURE() << "want one scope item with one change";
      return "?";
    }
    EXPECT_EQ(map->items(0).changes(0).approval().decision_stream(), "decision/MOPAC/PCD-72");
    return map->items(0).changes(0).approval_lapsed();
  };
  EXPECT_EQ(lapsed(approved_at), "");

  ASSERT_OK(Append({Correction(signature, "signed by the wrong office")}));
  ASSERT_NE(state().FindScopeItem("S1"), nullptr);  // the change stands
  EXPECT_EQ(lapsed(ledger_->Head().position),
            "not every required role's signature stands now: a correction voided one");
  EXPECT_EQ(lapsed(approved_at), "");  // as recorded before the correction

  // Signed again, a day on: the decision is approved, but only after the change took effect.
  clock_.Advance(24LL * 3600 * 1000000);
  const v1::Event again = Ev(dmpc.Sign(pcd72));
  ASSERT_OK(Append({again}));
  EXPECT_EQ(lapsed(ledger_->Head().position),
            "it was approved only effective 2023-11-15T22:13:20Z, after the change took effect: "
            "a correction voided a signature it had then");
  // Signed again effective when it was first signed (the signature recorded in error was
  // another's): the approval stands again.
  ASSERT_OK(Append({Correction(again, "dated wrongly")}));
  v1::Event as_then = Ev(dmpc.Sign(pcd72));
  SetMicros(clock_.NowMicros() - 24LL * 3600 * 1000000, as_then.mutable_effective_time());
  ASSERT_OK(Append({as_then}));
  EXPECT_EQ(lapsed(ledger_->Head().position), "");

  v1::DecisionProposed pcd80 = Decision("MOPAC", "PCD 80", {dmpc.role});
  const v1::Event proposal = Ev(pcd80);
  v1::ScopeItemTransferred move = TransferScope("S1", ProgrammeRef("LPP"), ProjectRef("LPP-INV"));
  move.mutable_approval()->Clear();
  move.mutable_approval()->set_decision_stream("decision/MOPAC/PCD-80");
  const v1::Event signature80 = Ev(dmpc.Sign(pcd80));
  ASSERT_OK(Append({proposal, signature80, Ev(move)}));
  // A signed proposal is voided after its signature (here in one append, newest first).
  EXPECT_THAT(Append({Correction(proposal, "proposed in error")}),
              StatusIs(kFailed, HasSubstr("proposes decision/MOPAC/PCD-80, which has since been "
                                          "signed")));
  ASSERT_OK(Append({Correction(signature80, "proposed in error"),
                    Correction(proposal, "proposed in error")}));
  v1::GetScopeMapRequest request;
  request.set_programme_id("LPP");
  request.mutable_as_at()->set_position(ledger_->Head().position);
  request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  absl::StatusOr<v1::GetScopeMapResponse> map = ScopeMapBothWays(request);
  ASSERT_OK(map);
  ASSERT_EQ(map->items_size(), 1);
  ASSERT_EQ(map->items(0).changes_size(), 2);
  EXPECT_EQ(map->items(0).changes(0).approval_lapsed(), "");
  EXPECT_EQ(map->items(0).changes(1).approval_lapsed(),
            "its proposal is no longer on record: a correction voided it");
  // Proposed again, about something else, and signed: still not what approved the transfer.
  v1::DecisionProposed other = pcd80;
  other.set_title("Buy new vehicles");
  ASSERT_OK(Append({Ev(other), Ev(dmpc.Sign(other))}));
  const uint64_t reproposed = ledger_->Head().position - 1;
  request.mutable_as_at()->set_position(ledger_->Head().position);
  map = ScopeMapBothWays(request);
  ASSERT_OK(map);
  ASSERT_EQ(map->items(0).changes_size(), 2);
  EXPECT_EQ(map->items(0).changes(1).approval_lapsed(),
            absl::StrCat("the proposal it approved is no longer on record: a correction voided "
                         "it, and the decision was proposed again afterwards (position ",
                         reproposed, ")"));
}

// A revoked key signs nothing more: a revocation recorded in error is mended by registering a
// new key, never by voiding the revocation (which would let the key sign again, and a
// correction of that correction would leave its signatures counted beside the revocation).
TEST_F(CorrectionsTest, ARevocationIsNotCorrected) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::Event revocation = Ev(Revoke("dmpc"));
  ASSERT_OK(Append({Ev(dmpc.Registration()), revocation}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(revocation, "revoked the wrong key")}),
              StatusIs(kFailed, AllOf(HasSubstr("revokes a key on key/dmpc"),
                                      HasSubstr("a key's revocation is not corrected"))));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_TRUE(state().FindKey("dmpc")->revoked);
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  EXPECT_THAT(Append({Ev(pcd72), Ev(dmpc.Sign(pcd72))}), StatusIs(kFailed, HasSubstr("revoked")));
}

// Nor is a revoked key's registration: voiding it would free the key id, to be registered
// again with the same public key and sign. And a revoked key's public key is not registered
// again under another id.
TEST_F(CorrectionsTest, ARevokedKeyIsNotRevivedByCorrectionOrUnderAnotherId) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  const v1::Event registration = Ev(dmpc.Registration());
  ASSERT_OK(Append({registration, Ev(Revoke("dmpc"))}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(registration, "registered in error")}),
              StatusIs(kFailed, AllOf(HasSubstr("registers key/dmpc, which is revoked"),
                                      HasSubstr("a revoked key's registration is not "
                                                "corrected"))));
  Signer again = dmpc;
  again.key_id = "dmpc-2";
  EXPECT_THAT(Append({Ev(again.Registration())}),
              StatusIs(kFailed, AllOf(HasSubstr("signing key dmpc-2 has the public key of "
                                                "signing key dmpc, which is revoked"),
                                      HasSubstr("generate a new key pair"))));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_TRUE(state().FindKey("dmpc")->revoked);
  EXPECT_EQ(state().FindKey("dmpc-2"), nullptr);
  // Nor does a key an earlier version registered with that key pair (this one registers a key
  // pair once) sign after the revocation.
  Signer twin = NewSigner("twin", "Chief Finance Officer");
  Signer twin_2 = twin;
  twin_2.key_id = "twin-2";
  twin_2.role = "Chief Executive";
  ASSERT_OK(Append({Ev(twin.Registration("Tam"))}));
  EXPECT_THAT(Append({Ev(twin_2.Registration("Tam"))}),
              StatusIs(kFailed, HasSubstr("a key pair is registered once")));
  AppendAsAnEarlierVersion({Ev(twin_2.Registration("Tam"))});
  ASSERT_OK(Append({Ev(Revoke("twin"))}));
  const v1::DecisionProposed d = Decision("MOPAC", "D 9", {twin_2.role});
  ASSERT_OK(Append({Ev(d)}));
  EXPECT_THAT(Append({Ev(twin_2.Sign(d))}),
              StatusIs(kFailed, AllOf(HasSubstr("signing key twin-2 has the public key of "
                                                "signing key twin, which is revoked"),
                                      HasSubstr("a revoked key signs nothing more, under any "
                                                "id"))));
  // A key not revoked may still have its registration corrected, and its key pair registered
  // again, rightly.
  Signer ce = NewSigner("ce", "Chief Executive");
  const v1::Event wrong = Ev(ce.Registration("Wrong Holder"));
  ASSERT_OK(Append({wrong}));
  ASSERT_OK(Append({Correction(wrong, "wrong holder"), Ev(ce.Registration("Right Holder"))}));
  EXPECT_EQ(state().FindKey("ce")->registered.holder(), "Right Holder");
}

// A log written by an earlier version may hold a correction of a signed proposal, and a
// correction of that correction, which revives the proposal the first voided. Signatures made on that proposal must not count for a later
// proposal of the same decision, whose content nobody signed: the later one is a new
// incarnation, pending, in the validator's replay and in every answer.
TEST_F(CorrectionsTest, ARevivedProposalInAnEarlierVersionsLogLendsNoSignaturesToALaterOne) {
  Signer ce = NewSigner("ce", "Chief Executive");
  const v1::DecisionProposed small = Decision(
      "MOPAC", "D 1", {ce.role}, {Amount(v1::AMOUNT_KIND_REVENUE, 10000, "Operations")});
  const v1::Event proposal = Ev(small);
  ASSERT_OK(Append({Ev(ce.Registration()), proposal, Ev(ce.Sign(small))}));
  ASSERT_TRUE(state().FindDecision("MOPAC", "D 1")->approved());
  const v1::Event voided = Correction(proposal, "wrong form");
  // This version refuses to void a signed proposal; an earlier one stored it.
  EXPECT_THAT(Append({voided}), StatusIs(kFailed, HasSubstr("which has since been signed")));
  AppendAsAnEarlierVersion({voided});
  const v1::DecisionProposed large = Decision(
      "MOPAC", "D 1", {ce.role}, {Amount(v1::AMOUNT_KIND_CAPITAL, 49999999, "Reserves")});
  ASSERT_OK(Append({Ev(large)}));
  ASSERT_FALSE(state().FindDecision("MOPAC", "D 1")->approved());
  // This version refuses the correction of the correction; an earlier one stored it.
  const v1::Event revival = Correction(voided, "the first form was right after all");
  EXPECT_THAT(Append({revival}), StatusIs(kFailed, HasSubstr("a correction is not corrected")));
  AppendAsAnEarlierVersion({revival});
  Open();  // replays the log
  const projections::DecisionState* d = state().FindDecision("MOPAC", "D 1");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->proposed.amounts(0).pence(), 49999999);
  EXPECT_FALSE(d->approved());
  EXPECT_TRUE(d->signed_roles.empty());
  ExpectTheQueriesAgree();
}

// A transfer that later events of its item build on is not voided: the later transfer "from"
// the programme it named would be left acting for an owner that never held the item, and a
// re-rating made after a risk's transfer would count against the project it came from. They are
// corrected first, newest first; then the transfer may be, and the item is back with its owner
// before it.
TEST_F(CorrectionsTest, ATransferLaterEventsBuildOnIsNotCorrectedUntilTheyAre) {
  ASSERT_OK(Append({Ev(Programme("OCP", "MOPAC")), Ev(Programme("SCCP", "MOPAC")),
                    Ev(AddScope("S1", ProgrammeRef("LPP")))}));
  const v1::Event first = Ev(TransferScope("S1", ProgrammeRef("LPP"), ProgrammeRef("OCP")));
  ASSERT_OK(Append({first}));
  const v1::Event second = Ev(TransferScope("S1", ProgrammeRef("OCP"), ProgrammeRef("SCCP")));
  ASSERT_OK(Append({second}));
  // Events of other streams, corrections and opaque events on its stream are not built on it.
  v1::Event opaque;
  opaque.set_event_id("9b3c6a52-0d1e-4c55-8a7e-2f1b0c9d8e71");
  opaque.set_stream_id("scope/S1");
  opaque.set_event_type("example.Note");
  ASSERT_OK(Append({opaque, Ev(AddScope("S2", ProgrammeRef("LPP")))}));
  const uint64_t head = ledger_->Head().position;
  EXPECT_THAT(Append({Correction(first, "never went to OCP")}),
              StatusIs(kFailed,
                       AllOf(HasSubstr("transfers scope/S1, which has since been transferred "
                                       "(event " + absl::AsciiStrToLower(second.event_id())),
                             HasSubstr("correct those first, newest first"))));
  // Nor in one append, oldest first.
  EXPECT_THAT(Append({Correction(first, "never went to OCP"), Correction(second, "nor on")}),
              StatusIs(kFailed, HasSubstr("transfers scope/S1, which has since been")));
  EXPECT_EQ(ledger_->Head().position, head);
  EXPECT_EQ(state().FindScopeItem("S1")->owner.id(), "SCCP");
  // Newest first, in one append: the item is back with LPP.
  ASSERT_OK(Append({Correction(second, "never went to SCCP"),
                    Correction(first, "never went to OCP")}));
  EXPECT_EQ(state().FindScopeItem("S1")->owner.id(), "LPP");
  EXPECT_TRUE(state().FindScopeItem("S1")->earlier_owners.empty());
  ExpectTheQueriesAgree();
  EXPECT_THAT(Append({Ev(TransferScope("S1", ProgrammeRef("OCP"), ProgrammeRef("SCCP")))}),
              StatusIs(kFailed, HasSubstr("only the current owner")));
  ASSERT_OK(Append({Ev(TransferScope("S1", ProgrammeRef("LPP"), ProgrammeRef("SCCP")))}));
  EXPECT_EQ(state().FindScopeItem("S1")->owner.id(), "SCCP");
  ExpectTheQueriesAgree();
  Open();
  EXPECT_EQ(state().FindScopeItem("S1")->owner.id(), "SCCP");

  // A risk transferred out of a project, then re-rated where it went: the re-rating first, in
  // two appends, the later after a reopen (the stream is read from the store).
  const v1::Event out = Ev(TransferRisk("R1", ProjectRef("LPP-INV")));
  const v1::Event rerated = Ev(Rerate("R1", v1::RAG_GREEN));
  ASSERT_OK(Append({out, rerated}));
  EXPECT_THAT(Append({Correction(out, "stays with the programme")}),
              StatusIs(kFailed, HasSubstr("transfers risk/R1, which has since been re-rated")));
  ASSERT_OK(Append({Correction(rerated, "rated on the wrong holder")}));
  Open();
  ASSERT_OK(Append({Correction(out, "stays with the programme")}));
  EXPECT_EQ(state().FindRisk("R1")->subject.id(), "LPP");
  EXPECT_EQ(state().FindRisk("R1")->rating, v1::RAG_RED);
  ExpectTheQueriesAgree();
}

TEST_F(CorrectionsTest, RegistrationsAreNotCorrected) {
  // The entity's every later event rests on its registration.
  for (const char* stream : {"organisation/MOPAC", "programme/LPP", "project/LPP-INV"}) {
    v1::Event registration;
    ASSERT_OK(store_.ScanLog(1, true, [&](uint64_t position, absl::string_view bytes) {
      absl::StatusOr<v1::Event> e = DecodeStoredEvent(position, bytes);
      if (e.ok() && e->stream_id() == stream) {
        registration = *std::move(e);
        return false;
      }
      return true;
    }));
    ASSERT_EQ(registration.stream_id(), stream);
    EXPECT_THAT(Append({Correction(registration)}),
                StatusIs(kFailed, AllOf(HasSubstr(absl::StrCat("registers ", stream)),
                                        HasSubstr("a registration is not corrected"))));
  }
  // Nor one made earlier in the same append.
  const v1::Event project = Ev(Project("LPP-EST", "LPP"));
  EXPECT_THAT(Append({project, Correction(project)}),
              StatusIs(kFailed, HasSubstr("a registration is not corrected")));
  EXPECT_EQ(state().FindProject("LPP-EST"), nullptr);
  EXPECT_EQ(ledger_->Head().position, 4u);
}

// The refold checkpoint (GovernanceValidator, "Corrections") changes what a refold costs, never
// what it gives: the same appends to two ledgers, one whose refolds all fold from position 1 and
// one whose checkpoint lags 4 positions, are accepted or refused alike and leave the same state,
// append after append and after a reopen. Corrections name recent events mostly (folded on from
// the checkpoint) and any earlier event sometimes (from position 1), and some come in appends
// refused after their refold (the checkpoint then taken left out an event that stands again).
TEST(RefoldCheckpointTest, FoldingOnFromTheCheckpointGivesWhatFoldingFromPositionOneGives) {
  struct Side {
    explicit Side(uint64_t lag) : lag(lag) { Open(); }
    void Open() {
      ledger.reset();
      ValidatorOptions options;
      options.refold_checkpoint_lag = lag;
      validator = std::make_unique<GovernanceValidator>(std::move(options));
      absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(&store, &clock, {}, validator.get());
      ASSERT_OK(l);
      ledger = *std::move(l);
    }
    uint64_t lag;
    FakeClock clock{1700000000000000};
    MemoryEventStore store;
    std::unique_ptr<GovernanceValidator> validator;
    std::unique_ptr<Ledger> ledger;
  };
  Side from_one(0);
  Side checkpointed(4);
  google::protobuf::util::MessageDifferencer same;
  same.set_repeated_field_comparison(google::protobuf::util::MessageDifferencer::AS_SET);
  std::string differences;
  same.ReportDifferencesToString(&differences);
  std::vector<v1::Event> stored;  // for corrections to name
  int sent = 0;
  int accepted = 0;
  auto append = [&](const std::vector<v1::Event>& events) {
    ++sent;
    const absl::Status a = from_one.ledger->Append(Request(events), "tester").status();
    const absl::Status b = checkpointed.ledger->Append(Request(events), "tester").status();
    EXPECT_EQ(a.code(), b.code());
    EXPECT_EQ(a.message(), b.message());
    if (a.ok()) {
      ++accepted;
      stored.insert(stored.end(), events.begin(), events.end());
    }
    from_one.clock.Advance(3600 * kMicrosPerSecond);
    checkpointed.clock.Advance(3600 * kMicrosPerSecond);
    differences.clear();
    EXPECT_TRUE(same.Compare(Entities(checkpointed.validator->state()),
                             Entities(from_one.validator->state())))
        << "after append " << sent << ": " << differences;
  };
  append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")), Ev(Project("J0", "LPP")),
          Ev(Project("J1", "LPP"))});
  std::mt19937 rng(20261207);
  const std::vector<v1::WorkRef> subjects = {ProgrammeRef("LPP"), ProjectRef("J0"),
                                             ProjectRef("J1")};
  const v1::Rag rags[] = {v1::RAG_GREEN, v1::RAG_AMBER, v1::RAG_RED};
  int risks = 0;
  int items = 0;
  auto risk = [&] { return absl::StrCat("R", rng() % (risks + 1)); };
  auto item = [&] { return absl::StrCat("S", rng() % (items + 1)); };
  for (int round = 0; round < 400; ++round) {
    std::vector<v1::Event> events;
    for (int n = rng() % 4 == 0 ? 2 : 1; n > 0; --n) {
      const v1::WorkRef& subject = subjects[rng() % subjects.size()];
      switch (rng() % 9) {
        case 0:
          events.push_back(Ev(Risk(absl::StrCat("R", ++risks), subject, rags[rng() % 3])));
          break;
        case 1:
          events.push_back(Ev(Rerate(risk(), rags[rng() % 3])));
          break;
        case 2:
          events.push_back(Ev(CloseRisk(risk())));
          break;
        case 3:
          events.push_back(Ev(TransferRisk(risk(), subject)));
          break;
        case 4:
          events.push_back(Ev(Status(subject, rags[rng() % 3], 200 + round / 50)));
          break;
        case 5:
          events.push_back(Ev(AddScope(absl::StrCat("S", ++items), subject)));
          break;
        case 6:
          events.push_back(Ev(TransferScope(item(), subjects[rng() % 3], subject)));
          break;
        default: {
          // Mostly one of the last few events stored; else any.
          const size_t back = rng() % 4 == 0 ? stored.size() : std::min<size_t>(stored.size(), 6);
          events.push_back(Correction(stored[stored.size() - 1 - rng() % back]));
          if (rng() % 6 == 0) events.push_back(Ev(CloseRisk("R-none")));  // refused after it
          break;
        }
      }
    }
    append(events);
    if (::testing::Test::HasFailure()) break;
  }
  const RefoldReport& refolds = checkpointed.validator->refolds();
  std::cout << accepted << " appends accepted; " << refolds.refolds << " refolds, "
            << refolds.from_checkpoint << " of them from the checkpoint\n";
  EXPECT_GT(accepted, 150);
  EXPECT_GT(refolds.from_checkpoint, 20u);
  EXPECT_GT(refolds.refolds - refolds.from_checkpoint, 5u);
  EXPECT_EQ(from_one.validator->refolds().from_checkpoint, 0u);
  EXPECT_EQ(from_one.validator->refolds().refolds, refolds.refolds);

  // A reopen refolds at its replay's end (from position 1: no checkpoint yet), and the next
  // correction of a recent event folds on from the checkpoint that refold left.
  from_one.Open();
  checkpointed.Open();
  EXPECT_TRUE(same.Compare(Entities(checkpointed.validator->state()),
                           Entities(from_one.validator->state())));
  ASSERT_EQ(checkpointed.validator->refolds().refolds, 1u);
  EXPECT_EQ(checkpointed.validator->refolds().last_from, 1u);
  append({Ev(Risk("R-last", ProgrammeRef("LPP")))});
  append({Correction(stored.back())});
  EXPECT_EQ(checkpointed.validator->refolds().from_checkpoint, 1u);
  EXPECT_GT(checkpointed.validator->refolds().last_from, 1u);
  EXPECT_EQ(checkpointed.validator->state().FindRisk("R-last"), nullptr);
}

// The validator without a ledger: a correction inside a group that is then
// aborted, or followed by a refused append.
class CorrectionGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Group({{Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")),
            opening_, closure_}});
    validator_.CommitGroup();
  }
  // Starts a group and checks each append of it; the statuses.
  std::vector<absl::Status> Group(std::vector<std::vector<v1::Event>> appends) {
    validator_.BeginGroup();
    std::vector<absl::Status> out;
    for (std::vector<v1::Event>& events : appends) {
      const std::vector<v1::Event>& kept = kept_.emplace_back(std::move(events));
      std::vector<const v1::Event*> ptrs;
      for (const v1::Event& e : kept) ptrs.push_back(&e);
      out.push_back(validator_.CheckAppend(ptrs, AppendContext{}));
    }
    return out;
  }

  const v1::Event opening_ = Ev(Risk("R1", ProgrammeRef("LPP")));
  const v1::Event closure_ = Ev(CloseRisk("R1"));
  std::deque<std::vector<v1::Event>> kept_;  // outlives the validator
  GovernanceValidator validator_;
};

TEST_F(CorrectionGroupTest, AnAbortedGroupTakesItsCorrectionBack) {
  std::vector<absl::Status> s = Group({{Ev(Risk("R2", ProgrammeRef("LPP")))},
                                       {Correction(closure_)},
                                       {Ev(Rerate("R1", v1::RAG_GREEN))}});
  for (const absl::Status& status : s) ASSERT_OK(status);
  ASSERT_TRUE(validator_.state().FindRisk("R1")->open);
  ASSERT_NE(validator_.state().FindRisk("R2"), nullptr);  // refolded with the group
  validator_.AbortGroup();
  EXPECT_FALSE(validator_.state().FindRisk("R1")->open);
  EXPECT_EQ(validator_.state().FindRisk("R1")->rating, v1::RAG_AMBER);
  EXPECT_EQ(validator_.state().FindRisk("R2"), nullptr);
  EXPECT_THAT(validator_.state().corrections(), ::testing::IsEmpty());
}

TEST_F(CorrectionGroupTest, ARefusedAppendAfterACorrectionKeepsTheCorrection) {
  std::vector<absl::Status> s = Group({{Correction(closure_)},
                                       {Ev(Rerate("R1", v1::RAG_GREEN)), Ev(CloseRisk("R9"))}});
  ASSERT_OK(s[0]);
  EXPECT_THAT(s[1], StatusIs(kFailed, HasSubstr("R9")));
  validator_.CommitGroup();
  EXPECT_TRUE(validator_.state().FindRisk("R1")->open);
  EXPECT_EQ(validator_.state().FindRisk("R1")->rating, v1::RAG_AMBER);  // the refused rerate
}

TEST_F(CorrectionGroupTest, AnAppendRefusedAfterItsOwnCorrectionLeavesTheGroupAsItWas) {
  // The group's first refold is this append's: the state goes back to the
  // group's, and the group still aborts to where it began.
  std::vector<absl::Status> s = Group({{Ev(Risk("R2", ProgrammeRef("LPP")))},
                                       {Correction(closure_), Ev(Rerate("R1", v1::RAG_GREEN)),
                                        Ev(CloseRisk("R9"))},
                                       {Ev(Rerate("R1", v1::RAG_GREEN))}});
  ASSERT_OK(s[0]);
  EXPECT_THAT(s[1], StatusIs(kFailed, HasSubstr("R9")));
  EXPECT_THAT(s[2], StatusIs(kFailed, HasSubstr("risk R1 is closed")));
  EXPECT_FALSE(validator_.state().FindRisk("R1")->open);
  EXPECT_NE(validator_.state().FindRisk("R2"), nullptr);
  EXPECT_THAT(validator_.state().corrections(), ::testing::IsEmpty());
  validator_.AbortGroup();
  EXPECT_EQ(validator_.state().FindRisk("R2"), nullptr);
  EXPECT_FALSE(validator_.state().FindRisk("R1")->open);
}

TEST_F(CorrectionGroupTest, AnAppendRefusedAfterItsOwnCorrectionInARefoldedGroup) {
  // The group has refolded already (the first append's correction reopens R1); the second
  // append corrects R1's opening, so that its rerate finds no risk R1 and is refused, and the
  // state is the first append's again.
  std::vector<absl::Status> s = Group({{Correction(closure_)},
                                       {Correction(opening_), Ev(Rerate("R1", v1::RAG_GREEN))},
                                       {Ev(Rerate("R1", v1::RAG_RED))}});
  ASSERT_OK(s[0]);
  EXPECT_THAT(s[1], StatusIs(kFailed, HasSubstr("risk R1")));
  ASSERT_OK(s[2]);
  validator_.CommitGroup();
  EXPECT_TRUE(validator_.state().FindRisk("R1")->open);
  EXPECT_EQ(validator_.state().FindRisk("R1")->rating, v1::RAG_RED);
  EXPECT_EQ(validator_.state().corrections().size(), 1u);
}

}  // namespace
}  // namespace govledger::projections
