// The GovernanceValidator inside the real Ledger (MemoryEventStore, FakeClock):
// refusals reach the caller and leave the log unchanged; concurrent appends
// grouped together are checked one by one; the state is rebuilt from the log
// when the ledger reopens; a random history of accepted and refused appends
// leaves exactly the state of the committed log; and a log holding event types
// this version does not know (written by a newer version) opens, reads and
// verifies.
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "govledger/internal/snapshot.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/stored_event.h"
#include "projections/as_at.h"
#include "projections/governance_validator.h"
#include "tests/forwarding_event_store.h"
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
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000123456;

class GovernanceLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    ledger_.reset();
    validator_ = std::make_unique<GovernanceValidator>();
    absl::StatusOr<std::unique_ptr<Ledger>> l =
        Ledger::Open(&store_, &clock_, {}, validator_.get());
    ASSERT_OK(l);
    ledger_ = *std::move(l);
  }

  absl::StatusOr<v1::AppendResponse> Append(std::vector<v1::Event> events) {
    return ledger_->Append(Request(std::move(events)), "tester");
  }

  uint64_t HeadPosition() const { return ledger_->Head().position; }

  FakeClock clock_{kT0};
  MemoryEventStore store_;
  std::unique_ptr<GovernanceValidator> validator_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(GovernanceLedgerTest, RefusalsReachTheCallerAndStoreNothing) {
  ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}));
  ASSERT_OK(Append({Ev(Risk("R1", ProgrammeRef("LPP"))), Ev(CloseRisk("R1"))}));
  const uint64_t head = HeadPosition();
  EXPECT_THAT(
      Append({Ev(Risk("R2", ProgrammeRef("LPP"))), Ev(CloseRisk("R1"))}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("govledger.v1.RiskClosed on risk/R1"),
                     HasSubstr("risk R1 is closed"))));
  EXPECT_THAT(Append({On("risk/X", Risk("R2", ProgrammeRef("LPP")))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("belongs on stream risk/R2")));
  EXPECT_EQ(HeadPosition(), head);
  EXPECT_EQ(validator_->state().FindRisk("R2"), nullptr);
  // Opaque events go through unchecked.
  v1::Event filler;
  filler.set_event_id(NextId());
  filler.set_stream_id("bench/1/0");
  filler.set_event_type("govledger.bench.Filler");
  filler.set_payload(std::string(500, 'x'));
  EXPECT_OK(Append({filler}));
  EXPECT_EQ(HeadPosition(), head + 1);
}

TEST_F(GovernanceLedgerTest, IdempotentRetryOfATypedEventIsNotRecheckedAsNew) {
  ASSERT_OK(Append({Ev(Organisation("MOPAC"))}));
  v1::Event programme = Ev(Programme("LPP", "MOPAC"));
  absl::StatusOr<v1::AppendResponse> first = Append({programme});
  ASSERT_OK(first);
  // A retry would break "registered once" if it were checked again; it is a
  // duplicate instead.
  absl::StatusOr<v1::AppendResponse> retry = Append({programme});
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());
  EXPECT_EQ(retry->events(0).position(), first->events(0).position());
}

TEST_F(GovernanceLedgerTest,
       ConcurrentConflictingAppendsInOneGroupAreCheckedOneByOne) {
  ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}));
  // 16 clients race to open the same risk; exactly one wins, whichever group
  // they land in.
  constexpr int kClients = 16;
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<v1::AppendResponse> r =
          Append({Ev(Risk("R-RACE", ProgrammeRef("LPP")))});
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(refused.load(), kClients - 1);
  EXPECT_EQ(CountOpenRisks(validator_->state(), "LPP").open, 1);
}

// Replay reads each stored event's effective time, so the effective-time rules
// hold after a restart as before it.
TEST_F(GovernanceLedgerTest, EffectiveOpeningsSurviveAReopen) {
  ASSERT_OK(Append({At(Ev(Organisation("MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(Programme("LPP", "MOPAC")), MakeDate(2016, 1, 1)),
                    At(Ev(Risk("R1", ProgrammeRef("LPP"))), MakeDate(2016, 3, 1))}));
  Open();
  ASSERT_NE(validator_->state().FindRisk("R1"), nullptr);
  EXPECT_NE(validator_->state().FindRisk("R1")->opened_micros, kUnknownTime);
  EXPECT_THAT(Append({At(Ev(CloseRisk("R1")), MakeDate(2016, 2, 1))}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("risk R1 was opened effective 2016-03-01T12:00:00Z")));
  EXPECT_OK(Append({At(Ev(CloseRisk("R1")), MakeDate(2016, 3, 2))}));
}

// An event sent without an effective time takes the time the ledger received
// it, for the rules as in the log.
TEST_F(GovernanceLedgerTest, AnEventWithoutAnEffectiveTimeTakesItsReceivedTime) {
  ASSERT_OK(Append({At(Ev(Organisation("MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(Programme("LPP", "MOPAC")), MakeDate(2016, 1, 1)),
                    Ev(Risk("R1", ProgrammeRef("LPP")))}));  // effective now (2023)
  for (bool reopened : {false, true}) {
    if (reopened) Open();
    EXPECT_THAT(Append({At(Ev(CloseRisk("R1")), MakeDate(2016, 2, 1))}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("risk R1 was opened effective 2023-11-14T22:13:20.123456Z")))
        << reopened;
  }
  EXPECT_OK(Append({Ev(CloseRisk("R1"))}));
}

// A fact dated ahead of its recording would stay the current value over every fact recorded
// after it (a GREEN report dated 2199 hiding a real RED one): refused beyond a day's allowance
// for clocks. Registrations, delegation rules' settings and keys take effect from a date, and
// may be dated ahead; so may events of other types than govledger.v1's.
TEST_F(GovernanceLedgerTest, AFactIsNotDatedAheadOfItsRecording) {
  ASSERT_OK(Append({At(Ev(Organisation("MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(Programme("LPP", "MOPAC")), MakeDate(2016, 1, 1))}));
  const uint64_t head = HeadPosition();
  auto at_micros = [](v1::Event e, int64_t micros) {
    SetMicros(micros, e.mutable_effective_time());
    return e;
  };
  const int64_t day = GovernanceState::kFutureAllowanceMicros;
  const v1::Event ahead =
      At(Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 90)), MakeDate(2199, 1, 1));
  EXPECT_THAT(Append({ahead}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("event ", ahead.event_id(),
                                                    " (govledger.v1.StatusReported on "
                                                    "programme/LPP): takes effect "
                                                    "2199-01-01T12:00:00Z, more "
                                                    "than a day after it is recorded "
                                                    "(2023-11-14T22:13:20.123456Z)")),
                             HasSubstr("a fact takes effect no later than it is recorded"))));
  EXPECT_THAT(Append({at_micros(Ev(Risk("R1", ProgrammeRef("LPP"))), kT0 + day + 1)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("more than a day")));
  EXPECT_EQ(HeadPosition(), head);
  // Within the allowance; and what takes effect from a date.
  EXPECT_OK(Append({at_micros(Ev(Status(ProgrammeRef("LPP"), v1::RAG_RED, 95)), kT0 + day)}));
  EXPECT_OK(Append({At(Ev(Delegation("MOPAC", "SPEND", 50000000, "Mayor")),
                       MakeDate(2199, 1, 1)),
                    at_micros(Ev(Programme("OCP", "MOPAC")),
                              kT0 + GovernanceState::kRegistrationAheadMicros)}));
  // An organisation, programme or project at most a year ahead: a mistyped year would hold it
  // back for years, and a registration is not corrected.
  for (const v1::Event& registration :
       {At(Ev(Organisation("MPS")), MakeDate(2061, 1, 5)),
        at_micros(Ev(Programme("SLP", "MOPAC")), kT0 + GovernanceState::kRegistrationAheadMicros + 1),
        At(Ev(Project("LPP-X", "LPP")), MakeDate(2061, 1, 5))}) {
    EXPECT_THAT(Append({registration}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(absl::StrCat("registers ", registration.stream_id(),
                                                      " effective ")),
                               HasSubstr("more than a year after it is recorded"),
                               HasSubstr("registered at most a year ahead"))))
        << registration.stream_id();
  }
  v1::Event opaque;
  opaque.set_event_id(NextId());
  opaque.set_stream_id("bench/1/0");
  opaque.set_event_type("govledger.bench.Filler");
  SetMicros(DateMicros(MakeDate(2199, 1, 1)), opaque.mutable_effective_time());
  EXPECT_OK(Append({opaque}));
}

TEST_F(GovernanceLedgerTest, StateIsRebuiltFromTheLogOnReopen) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {dmpc.role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  v1::Event closure = Ev(CloseRisk("R1"));
  closure.set_source("LPP Board, 14 December 2016");
  ASSERT_OK(
      Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")),
              Ev(Delegation("MOPAC", "DMPC-500K", 50000000, dmpc.role)), Ev(dmpc.Registration()),
              Ev(Risk("R1", ProgrammeRef("LPP"))), closure, Ev(pcd72)}));
  ASSERT_EQ(validator_->state().FindRisk("R1")->closed_source, "LPP Board, 14 December 2016");
  Open();
  EXPECT_EQ(validator_->recovery().replayed_events, 7u);
  EXPECT_EQ(validator_->recovery().skipped_events, 0u);
  // The state rebuilt is the one the appends built, sources too.
  EXPECT_EQ(validator_->state().FindRisk("R1")->closed_source, "LPP Board, 14 December 2016");
  // The rules see the recovered state.
  EXPECT_THAT(Append({Ev(CloseRisk("R1"))}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("risk R1 is closed")));
  EXPECT_THAT(Append({Ev(pcd72)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("unique per organisation")));
  EXPECT_THAT(
      Append({Ev(Decision("MOPAC", "PCD 73", {"CEO"},
                          {Amount(v1::AMOUNT_KIND_REVENUE, 60000000, "x")}))}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("delegation threshold")));
  ASSERT_OK(Append({Ev(dmpc.Sign(pcd72))}));
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "PCD 72")->approved());
  Open();
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_THAT(Append({Ev(dmpc.Sign(pcd72))}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already approved")));
}

// A key whose revocation is dated ahead (a term's end) signs until then, and each such
// signature counts, now and after a replay: it was accepted but not counted, so the holder
// could sign again and the decision stayed pending until a correction's refold (found by
// review).
TEST_F(GovernanceLedgerTest, AKeyRevokedAheadSignsOnceAndItsSignatureCounts) {
  Signer chair = NewSigner("chair", "Chair");
  Signer treasurer = NewSigner("treasurer", "Treasurer");
  v1::DecisionProposed d = Decision("MOPAC", "D3", {chair.role, treasurer.role});
  ASSERT_OK(Append({At(Ev(Organisation("MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(chair.Registration()), MakeDate(2016, 1, 1)),
                    At(Ev(treasurer.Registration()), MakeDate(2016, 1, 1)),
                    At(Ev(d), MakeDate(2020, 2, 1))}));
  ASSERT_OK(Append({At(Ev(Revoke("treasurer")), MakeDate(2024, 6, 1))}));  // after kT0
  ASSERT_OK(Append({Ev(treasurer.Sign(d))}));
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "D3")->signing_keys.contains("treasurer"));
  EXPECT_THAT(Append({Ev(treasurer.Sign(d))}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("signs once")));
  ASSERT_OK(Append({Ev(chair.Sign(d))}));
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "D3")->approved());
  Open();
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "D3")->approved());
}

// So does one appended with a correction, which refolds the state from the group's events:
// those carry no recorded time, and the refold had dropped the signature, so the key signed
// again (a code reader's find).
TEST_F(GovernanceLedgerTest, AKeyRevokedAheadSignsOnceWhenItsAppendHoldsACorrection) {
  Signer chair = NewSigner("chair", "Chair");
  Signer treasurer = NewSigner("treasurer", "Treasurer");
  v1::DecisionProposed d = Decision("MOPAC", "D3", {chair.role, treasurer.role});
  const v1::Event risk = At(Ev(Risk("R1", ProgrammeRef("LPP"))), MakeDate(2020, 1, 1));
  ASSERT_OK(Append({At(Ev(Organisation("MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(Programme("LPP", "MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(chair.Registration()), MakeDate(2016, 1, 1)),
                    At(Ev(treasurer.Registration()), MakeDate(2016, 1, 1)), risk,
                    At(Ev(d), MakeDate(2020, 2, 1))}));
  ASSERT_OK(Append({At(Ev(Revoke("treasurer")), MakeDate(2024, 6, 1))}));  // after kT0
  ASSERT_OK(Append({Ev(treasurer.Sign(d)), Correction(risk, "opened in error")}));
  EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "D3")->signing_keys.contains("treasurer"));
  EXPECT_THAT(Append({Ev(treasurer.Sign(d))}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("signs once")));
  Open();
  EXPECT_THAT(Append({Ev(treasurer.Sign(d))}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("signs once")));
}

// A store that fails to give the event a correction names: the correction is refused with the
// store's error, not as naming no event (a code reader's find: the failure read as "no such
// event", and a correction's own checks were skipped).
TEST(GovernanceLedgerStoreFailureTest, ACorrectionWhoseEventCannotBeReadIsRefusedWithTheError) {
  class FailingGet final : public ::govledger::testing::ForwardingEventStore {
   public:
    std::atomic<uint64_t> fail_position = 0;
    absl::StatusOr<std::optional<std::string>> Get(uint64_t p) override {
      if (p == fail_position) return absl::DataLossError("storage read event: bad block");
      return ForwardingEventStore::Get(p);
    }
  };
  FakeClock clock(kT0);
  FailingGet store;
  GovernanceValidator validator;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, {}, &validator);
  ASSERT_OK(ledger);
  const v1::Event risk = Ev(Risk("R1", ProgrammeRef("LPP")));
  ASSERT_OK((*ledger)->Append(
      Request({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")), risk}), "tester"));
  store.fail_position = 3;
  EXPECT_THAT((*ledger)->Append(Request({Correction(risk, "opened in error")}), "tester"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad block")));
  EXPECT_EQ((*ledger)->Head().position, 3u);
  store.fail_position = 0;
  EXPECT_OK((*ledger)->Append(Request({Correction(risk, "opened in error")}), "tester"));
}

// A revocation dated ahead (a term's end, or a year mistyped) is brought forward when the key
// is lost before then: another revocation effective earlier is accepted and in force, now and
// after a replay; one effective at or after the revocation in force would change nothing and
// is refused (found by a signatory's trial: a stolen key signed on, and nothing could stop it
// before the date first typed).
TEST_F(GovernanceLedgerTest, ARevocationDatedAheadIsBroughtForward) {
  constexpr auto kFailed = absl::StatusCode::kFailedPrecondition;
  Signer chair = NewSigner("chair", "Chair");
  v1::DecisionProposed d1 = Decision("MOPAC", "D1", {chair.role});
  v1::DecisionProposed d2 = Decision("MOPAC", "D2", {chair.role});
  ASSERT_OK(Append({At(Ev(Organisation("MOPAC")), MakeDate(2015, 1, 1)),
                    At(Ev(chair.Registration()), MakeDate(2016, 1, 1)),
                    At(Ev(d1), MakeDate(2020, 2, 1)), At(Ev(d2), MakeDate(2020, 2, 1))}));
  ASSERT_OK(Append({At(Ev(Revoke("chair")), MakeDate(2199, 1, 10))}));
  ASSERT_OK(Append({Ev(chair.Sign(d1))}));  // before the revocation takes effect
  for (int day : {10, 11}) {  // the same date, a later one
    EXPECT_THAT(Append({At(Ev(Revoke("chair")), MakeDate(2199, 1, day))}),
                StatusIs(kFailed, HasSubstr("signing key chair is already revoked, effective "
                                            "2199-01-10T12:00:00Z")));
  }
  EXPECT_THAT(Append({At(Ev(Revoke("chair")), MakeDate(2021, 1, 1))}),
              StatusIs(kFailed, HasSubstr("no earlier than its latest signature")));
  ASSERT_OK(Append({Ev(Revoke("chair"))}));  // now: the key was lost
  for (int reopen = 0; reopen < 2; ++reopen) {
    EXPECT_THAT(Append({Ev(chair.Sign(d2))}),
                StatusIs(kFailed, HasSubstr("signing key chair has been revoked, effective ")));
    EXPECT_THAT(Append({Ev(Revoke("chair"))}), StatusIs(kFailed, HasSubstr("already revoked")));
    EXPECT_TRUE(validator_->state().FindDecision("MOPAC", "D1")->approved());
    EXPECT_FALSE(validator_->state().FindDecision("MOPAC", "D2")->approved());
    Open();  // a replay folds both revocations: the earlier stays in force
  }
}

TEST_F(GovernanceLedgerTest,
       ALogWithUnknownTypesFromANewerVersionOpensReadsAndVerifies) {
  ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}));
  // A newer govledgerd wrote an event type this version does not know: simulate
  // it with a ledger that has no validator (as a newer version's would accept
  // it).
  v1::Event future;
  future.set_event_id(NextId());
  future.set_stream_id("programme/LPP");
  future.set_event_type("govledger.v1.ProgrammeRenamed");
  future.set_payload(std::string("\x0a\x03LPP\x12\x07New LPP", 14));
  ledger_.reset();
  {
    absl::StatusOr<std::unique_ptr<Ledger>> newer =
        Ledger::Open(&store_, &clock_);
    ASSERT_OK(newer);
    ASSERT_OK((*newer)->Append(Request({future}), "newer-version"));
  }
  Open();  // this version: verifies the chain, replays, skips the unknown type
  EXPECT_EQ(validator_->recovery().skipped_events, 1u);
  EXPECT_EQ(validator_->recovery().replayed_events, 2u);
  v1::ReadRequest read;
  absl::StatusOr<v1::ReadResponse> page = ledger_->Read(read);
  ASSERT_OK(page);
  ASSERT_EQ(page->events_size(), 3);
  EXPECT_EQ(page->events(2).event_type(), "govledger.v1.ProgrammeRenamed");
  EXPECT_EQ(page->events(2).payload(), future.payload());
  ASSERT_OK(VerifyChain(store_, ChainPoint{}, 3).status());
  // It can be corrected; this version still refuses new events of the unknown
  // type.
  EXPECT_OK(Append({Correction(future, "the new name is wrong")}));
  v1::Event again = future;
  again.set_event_id(NextId());
  EXPECT_THAT(
      Append({again}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("not a governance event type this govledgerd knows")));
  // Known types keep working.
  EXPECT_OK(Append({Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 3))}));
}

// A governance event's name without its exact package ("RiskClosed", as a descriptor's short
// name gives it) would be an opaque event, stored unchecked and folded nowhere: refused,
// naming the full name; opaque types of one's own still go in.
TEST_F(GovernanceLedgerTest, AGovernanceEventsNameWithoutItsPackageIsRefused) {
  ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}));
  v1::Event typed = Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 3));
  for (const std::string type :
       {"StatusReported", "GovLedger.v1.StatusReported", "govledger.V1.StatusReported",
        "v1.StatusReported", "govledger.v1beta.StatusReported",
        // A security review's: other separators, another case.
        "govledger.v1_StatusReported", "govledger.v1-StatusReported", "example.statusreported",
        // And a reviewer's: a separator after it, a version before it.
        "example.StatusReported_", "govledger.v1StatusReported",
        // An integrator's: a constant's and a URL's spelling, whose last word alone is no
        // event's name.
        "STATUS_REPORTED", "status-reported", "com.example.Status_Reported"}) {
    v1::Event slip = typed;
    slip.set_event_id(NextId());
    slip.set_event_type(type);
    EXPECT_THAT(Append({slip}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("event type ", type,
                                                      " names the governance event "
                                                      "govledger.v1.StatusReported")),
                               HasSubstr("give the full name govledger.v1.StatusReported"))))
        << type;
  }
  // In govledger.v1, the name meant is suggested.
  v1::Event unknown = typed;
  unknown.set_event_id(NextId());
  unknown.set_event_type("govledger.v1.status_reported");
  EXPECT_THAT(Append({unknown}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("this govledgerd knows; types in package govledger.v1 must be "
                                 "known to be appended (did you mean "
                                 "govledger.v1.StatusReported?)")));
  for (const std::string type : {"myorg.StatusReportedByEmail", "Status", "govledger.test.x",
                                 "myorg.EmailStatusReported", "com.example.status.reported"}) {
    v1::Event own = typed;
    own.set_event_id(NextId());
    own.set_event_type(type);
    EXPECT_OK(Append({own})) << type;
  }
  EXPECT_OK(Append({typed}));
}

// A Timestamp set but left empty (an integrator's client library's default) would date the fact
// 1970-01-01T00:00:00Z without a word: refused for a new event, governance or opaque. An event
// an older govledgerd stored so is still answered as stored when retried (a reviewer's import
// rerun had failed on one).
TEST_F(GovernanceLedgerTest, AnEmptyEffectiveTimeIsRefusedButItsRetryIsAnswered) {
  v1::Event old;
  old.set_event_id(NextId());
  old.set_stream_id("misc/old");
  old.set_event_type("acme.Note");
  old.mutable_effective_time();  // set, empty
  {
    ledger_.reset();  // as an older govledgerd stored it, without the check
    absl::StatusOr<std::unique_ptr<Ledger>> unchecked = Ledger::Open(&store_, &clock_, {}, nullptr);
    ASSERT_OK(unchecked);
    ASSERT_OK((*unchecked)->Append(Request({old}), "tester"));
  }
  Open();
  absl::StatusOr<v1::AppendResponse> retry = Append({old});
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());
  ASSERT_OK(Append({Ev(Organisation("MOPAC"))}));
  for (const std::string type : {"acme.Note", "govledger.v1.ProgrammeRegistered"}) {
    v1::Event fresh = type == "acme.Note" ? old : Ev(Programme("LPP", "MOPAC"));
    fresh.set_event_id(NextId());
    fresh.mutable_effective_time()->Clear();
    const uint64_t head = HeadPosition();
    EXPECT_THAT(Append({fresh}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("effective_time is 1970-01-01T00:00:00Z, what a "
                                         "Timestamp set but left empty holds"),
                               HasSubstr("or none for the time the server receives"))))
        << type;
    EXPECT_EQ(HeadPosition(), head);
    fresh.clear_effective_time();  // unset: the time of receipt
    EXPECT_OK(Append({fresh})) << type;
  }
}

// A later version's governance package (govledger.v2, FORMAT.md's advice for a changed meaning)
// is reserved as govledger.v1 is: an older govledgerd must not store such events unchecked
// (an upgrade tester's StatusReported bytes went in as govledger.v2.StatusReportedX).
TEST_F(GovernanceLedgerTest, ALaterVersionsGovernancePackageIsReserved) {
  ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}));
  v1::Event typed = Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 3));
  for (const std::string type : {"govledger.v2.StatusReportedX", "govledger.v2.X",
                                 "govledger.v10.Anything", "GovLedger.V2.Note", "govledger.v0.X"}) {
    v1::Event later = typed;
    later.set_event_id(NextId());
    later.set_event_type(type);
    EXPECT_THAT(Append({later}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("event type ", type, " is in ",
                                                      type.substr(0, type.rfind('.')), ", a ")),
                               HasSubstr("a package kept for govledger's own governance events "
                                         "of another version"))))
        << type;
  }
  // govledger.v1 in another letter case is a slip, whatever the message's name.
  v1::Event shouted = typed;
  shouted.set_event_id(NextId());
  shouted.set_event_type("GOVLEDGER.V1.FutureThing");
  EXPECT_THAT(Append({shouted}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("names the package govledger.v1 in another letter case")));
  // A package's name alone is no type (an integrator's govledger.v1 went in as an opaque event).
  for (const std::string type :
       {"govledger", "govledger.v1", "govledger.v2", "GOVLEDGER.V1", "GovLedger.v10"}) {
    v1::Event package = typed;
    package.set_event_id(NextId());
    package.set_event_type(type);
    EXPECT_THAT(Append({package}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("event type ", type,
                                                " is a package's name, not an event type"))))
        << type;
  }
  // Packages that only look alike stay opaque types of one's own.
  for (const std::string type :
       {"govledger.vX.Y", "govledger.bench.Filler", "govledgers", "govledger.v", "govledger.v1x"}) {
    v1::Event own = typed;
    own.set_event_id(NextId());
    own.set_event_type(type);
    EXPECT_OK(Append({own})) << type;
  }
}

// A random history of about 3,500 appends over a small world (seven programmes, one never
// registered; twelve projects; ten risks; six scope items; four decisions; two signatories),
// many of them refused by a rule, some several events long, several at a time so that groups
// commit some appends and refuse others. Afterwards the validator's state, after all its
// rollbacks, is exactly the fold of the committed log, and exactly what a reopened ledger
// rebuilds from it; the log holds exactly the events of the accepted appends.
TEST_F(GovernanceLedgerTest, RandomHistoryLeavesTheStateOfTheCommittedLog) {
  std::mt19937_64 rng(20261130);
  auto pick = [&](auto& options) -> auto& { return options[rng() % options.size()]; };
  std::vector<std::string> programmes, projects;
  std::vector<v1::WorkRef> subjects = {ProgrammeRef("P9")};  // never registered
  for (int i = 0; i < 6; ++i) {
    programmes.push_back(absl::StrCat("P", i));
    subjects.push_back(ProgrammeRef(programmes.back()));
  }
  for (int i = 0; i < 12; ++i) {
    projects.push_back(absl::StrCat("J", i));
    subjects.push_back(ProjectRef(projects.back()));
  }
  std::vector<std::string> risks, scope, decisions = {"D0", "D1", "D2", "D3"};
  for (int i = 0; i < 10; ++i) risks.push_back(absl::StrCat("R", i));
  for (int i = 0; i < 6; ++i) scope.push_back(absl::StrCat("S", i));
  std::vector<Signer> signers = {NewSigner("K0", "CFO"), NewSigner("K1", "Mayor")};
  std::map<std::string, v1::DecisionProposed> proposed;  // by reference, as last generated
  std::vector<v1::Event> sent;                              // for corrections to name
  const v1::Rag rags[] = {v1::RAG_GREEN, v1::RAG_AMBER, v1::RAG_RED};

  auto random_event = [&]() -> v1::Event {
    const v1::WorkRef& subject = pick(subjects);
    switch (rng() % 22) {
      case 0:
        return Ev(Programme(pick(programmes), "O"));
      case 1:
        return Ev(Project(pick(projects), pick(programmes)));
      case 2:
        return rng() % 8 == 0 ? Ev(CloseProject(pick(projects), 100)) : Ev(Organisation("O"));
      case 3:
        return Ev(Status(subject, rags[rng() % 3], 1 + rng() % 200));
      case 4:
      case 5:
        return Ev(Risk(pick(risks), subject, rags[rng() % 3]));
      case 6:
        return Ev(Rerate(pick(risks), rags[rng() % 3]));
      case 7:
        return Ev(CloseRisk(pick(risks)));
      case 8:
        return Ev(TransferRisk(pick(risks), subject));
      case 9:
        return Ev(AddScope(pick(scope), subject));
      case 10:
        return Ev(RemoveScope(pick(scope), subject));
      case 11:
        return Ev(TransferScope(pick(scope), pick(subjects), subject));
      case 12: {
        const std::string& ref = pick(decisions);
        std::vector<std::string> roles = {"CFO"};
        if (rng() % 2) roles.push_back("Mayor");
        v1::DecisionProposed d = Decision(
            "O", ref, roles,
            {Amount(v1::AMOUNT_KIND_CAPITAL, int64_t(rng() % 4) * 30000000, "Reserve")});
        proposed[ref] = d;
        return Ev(d);
      }
      case 13:
      case 14: {
        const std::string& ref = pick(decisions);
        if (proposed.count(ref) == 0) return Ev(Status(subject, v1::RAG_GREEN, 1));
        return Ev(pick(signers).Sign(proposed[ref]));
      }
      case 15:
        return Ev(pick(signers).Registration());
      case 16:
        return rng() % 4 == 0 ? Ev(Revoke(pick(signers).key_id))
                              : Ev(Delegation("O", "over-500k", 50000000, "Mayor"));
      case 17: {
        v1::DecisionWithdrawn m;
        m.set_organisation_id("O");
        m.set_reference(pick(decisions));
        m.set_reason("superseded");
        return Ev(m);
      }
      case 18: {
        v1::GatePassed m;
        *m.mutable_subject() = subject;
        m.set_gate(absl::StrCat("Gate ", rng() % 4));
        return Ev(m);
      }
      case 19: {
        v1::BenefitForecast m;
        *m.mutable_subject() = subject;
        m.set_benefit_id(absl::StrCat("B", rng() % 3));
        m.set_annual_pence(int64_t(rng() % 1000) * 100);
        return Ev(m);
      }
      case 20:
        if (!sent.empty()) return Correction(pick(sent));
        [[fallthrough]];
      default: {
        if (rng() % 32 != 0) return Ev(Status(subject, rags[rng() % 3], 1 + rng() % 200));
        v1::ProgrammeClosed m;
        m.set_programme_id(pick(programmes));
        m.set_reason("delivered");
        return Ev(m);
      }
    }
  };

  ASSERT_OK(Append({Ev(Organisation("O")), Ev(Programme("P0", "O")), Ev(Programme("P1", "O"))}));
  uint64_t accepted_events = 3;
  int accepted = 0, refused = 0;
  for (int round = 0; round < 1000; ++round) {
    // Up to six appends at once, so that a group commits some and refuses others.
    const int n = 1 + rng() % 6;
    std::vector<absl::StatusOr<v1::AppendResponse>> outcomes(n, absl::UnknownError("pending"));
    std::vector<int> sizes(n);
    std::atomic<int> left{n};
    std::mutex mu;
    std::condition_variable all_done;
    for (int i = 0; i < n; ++i) {
      std::vector<v1::Event> events;
      sizes[i] = 1 + (rng() % 4 == 0 ? rng() % 3 : 0);
      for (int k = 0; k < sizes[i]; ++k) events.push_back(random_event());
      for (const v1::Event& e : events) sent.push_back(e);
      ledger_->AppendAsync(Request(std::move(events)), "tester", /*admin=*/true,
                           [&, i](absl::StatusOr<v1::AppendResponse> r) {
                             outcomes[i] = std::move(r);
                             std::lock_guard lock(mu);
                             if (--left == 0) all_done.notify_one();
                           });
    }
    {
      std::unique_lock lock(mu);
      all_done.wait(lock, [&] { return left == 0; });
    }
    for (int i = 0; i < n; ++i) {
      if (outcomes[i].ok()) {
        ++accepted;
        accepted_events += sizes[i];
      } else {
        ++refused;
        EXPECT_THAT(outcomes[i].status().code(),
                    ::testing::AnyOf(absl::StatusCode::kFailedPrecondition,
                                     absl::StatusCode::kInvalidArgument))
            << outcomes[i].status();
      }
    }
  }
  // Both sides of the rules were exercised.
  std::cout << accepted << " appends accepted, " << refused << " refused\n";
  EXPECT_GT(accepted, 400);
  EXPECT_GT(refused, 400);
  EXPECT_EQ(HeadPosition(), accepted_events);

  // The fold of the committed log as the queries make it (as recorded at the head, the events
  // corrections void left out); when they void nothing, every event applies cleanly.
  std::vector<v1::Event> log;
  ASSERT_OK(store_.ScanLog(1, /*forward=*/true, [&](uint64_t position, absl::string_view bytes) {
    absl::StatusOr<v1::Event> e = DecodeStoredEvent(position, bytes);
    EXPECT_OK(e);
    if (e.ok()) log.push_back(*std::move(e));
    return true;
  }));
  Cut head;
  head.by_position = true;
  head.position = HeadPosition();
  GovernanceState folded;
  const std::vector<const v1::Event*> chosen = SelectEvents(log, head);
  const uint64_t skipped = FoldEvents(chosen, &folded);
  if (chosen.size() == log.size()) {
    EXPECT_EQ(skipped, 0u);
  }
  google::protobuf::util::MessageDifferencer same;
  same.set_repeated_field_comparison(google::protobuf::util::MessageDifferencer::AS_SET);
  std::string differences;
  same.ReportDifferencesToString(&differences);
  const internal::GovernanceStateSnapshot fold = Entities(folded);
  EXPECT_GT(fold.risks_size(), 3);
  EXPECT_GT(fold.decisions_size(), 1);
  EXPECT_TRUE(same.Compare(Entities(validator_->state()), fold)) << differences;

  Open();  // the validator recovers the state from the store
  differences.clear();
  EXPECT_TRUE(same.Compare(Entities(validator_->state()), fold)) << differences;
}

}  // namespace
}  // namespace govledger::projections
