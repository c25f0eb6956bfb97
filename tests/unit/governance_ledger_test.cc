// The GovernanceValidator inside the real Ledger (MemoryEventStore, FakeClock):
// refusals reach the caller and leave the log unchanged; concurrent appends
// grouped together are checked one by one; the state is rebuilt from the log
// when the ledger reopens; and a log holding event types this version does not
// know (written by a newer version) opens, reads and verifies.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/store/memory_event_store.h"
#include "ledger/stored_event.h"
#include "projections/governance_validator.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::IsOk;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000123456;

v1::AppendRequest Request(std::vector<v1::Event> events) {
  v1::AppendRequest r;
  for (auto& e : events) *r.add_events() = std::move(e);
  return r;
}

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
  EXPECT_EQ(validator_->state().CountOpenRisks("LPP").open, 1);
}

TEST_F(GovernanceLedgerTest, StateIsRebuiltFromTheLogOnReopen) {
  Signer dmpc = NewSigner("dmpc", "Deputy Mayor for Policing and Crime");
  v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {dmpc.role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  ASSERT_OK(
      Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC")),
              Ev(Delegation("MOPAC", "DMPC-500K", 50000000, dmpc.role)),
              Ev(dmpc.Registration()), Ev(Risk("R1", ProgrammeRef("LPP"))),
              Ev(CloseRisk("R1")), Ev(pcd72)}));
  Open();
  EXPECT_EQ(validator_->recovery().replayed_events, 7u);
  EXPECT_EQ(validator_->recovery().skipped_events, 0u);
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

}  // namespace
}  // namespace govledger::projections
