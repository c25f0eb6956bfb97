// StoreEventSource over indexes damaged as an entry rewritten or deleted in the database would
// damage them: each look-up through the `streams` or `event_ids` index checks the event it
// names, and damage is DATA_LOSS (INDEX_DAMAGED) saying what to do, never an answer that lacks
// or repeats an event. The rules' own look-ups (a correction's target, and what stands after
// it on its stream) check alike.
#include "projections/event_source.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/common/clock.h"
#include "ledger/common/errors.h"
#include "ledger/common/uuid.h"
#include "ledger/ledger.h"
#include "projections/governance_validator.h"
#include "tests/damaged_index_store.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::DamagedIndexStore;
using ::govledger::testing::FakeClock;
using ::govledger::testing::IsOkAndHolds;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000123456;

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(status);
  return info ? info->reason() : "";
}

class EventSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    validator_ = std::make_unique<GovernanceValidator>();
    absl::StatusOr<std::unique_ptr<Ledger>> ledger =
        Ledger::Open(&store_, &clock_, {}, validator_.get());
    ASSERT_OK(ledger);
    ledger_ = *std::move(ledger);
    // Positions 1-4: MOPAC, LPP, risk R1 opened and re-rated.
    ASSERT_OK(Append({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}));
    ASSERT_OK(Append({Ev(Risk("R1", ProgrammeRef("LPP")))}));
    rerating_ = Ev(Rerate("R1", v1::RAG_RED));
    ASSERT_OK(Append({rerating_}));
    // Position 5: risk R2 opened, which nothing builds on.
    opening_ = Ev(Risk("R2", ProgrammeRef("LPP")));
    ASSERT_OK(Append({opening_}));
  }

  absl::StatusOr<v1::AppendResponse> Append(std::vector<v1::Event> events) {
    return ledger_->Append(Request(std::move(events)), "tester");
  }

  FakeClock clock_{kT0};
  DamagedIndexStore store_;
  std::unique_ptr<GovernanceValidator> validator_;
  std::unique_ptr<Ledger> ledger_;
  v1::Event rerating_;
  v1::Event opening_;
};

TEST_F(EventSourceTest, AWholeIndexAnswers) {
  StoreEventSource source(&store_);
  EXPECT_THAT(source.StreamPositions("risk/R1"), IsOkAndHolds(ElementsAre(3u, 4u)));
  EXPECT_THAT(source.StreamPositions("risk/R2"), IsOkAndHolds(ElementsAre(5u)));
  EXPECT_THAT(source.StreamPositions("risk/NONE"), IsOkAndHolds(ElementsAre()));
  EXPECT_THAT(source.FindEvent(absl::AsciiStrToUpper(rerating_.event_id())),
              IsOkAndHolds(std::optional<uint64_t>(4)));
}

TEST_F(EventSourceTest, AStreamEntryNamingAnotherEventIsIndexDamage) {
  StoreEventSource source(&store_);
  store_.misindexed_stream = "risk/R1";
  for (uint64_t to : {2u, 4u}) {  // another stream's event; the stream's own version 2
    store_.misindexed_to = to;
    absl::StatusOr<std::vector<uint64_t>> positions = source.StreamPositions("risk/R1");
    EXPECT_THAT(positions,
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr(absl::StrCat("event at position ", to,
                                                      ": the stream index gives it as version "
                                                      "1 of stream 'risk/R1', but it is version ")),
                               HasSubstr("start it once with --rebuild-indexes"))));
    EXPECT_EQ(ReasonOf(positions.status()), errors::reason::kIndexDamaged);
  }
}

TEST_F(EventSourceTest, AStreamVersionMissingFromTheIndexIsIndexDamage) {
  StoreEventSource source(&store_);
  store_.misindexed_stream = "risk/R1";
  for (uint64_t missing : {1u, 2u}) {  // the first; the last
    store_.unindexed_version = missing;
    absl::StatusOr<std::vector<uint64_t>> positions = source.StreamPositions("risk/R1");
    EXPECT_THAT(positions, StatusIs(absl::StatusCode::kDataLoss,
                                    HasSubstr(absl::StrCat("version ", missing,
                                                           " of stream 'risk/R1' is missing from "
                                                           "the stream index, whose last "
                                                           "version is 2"))));
    EXPECT_EQ(ReasonOf(positions.status()), errors::reason::kIndexDamaged);
  }
}

TEST_F(EventSourceTest, AnEventIdEntryNamingAnotherEventIsIndexDamage) {
  StoreEventSource source(&store_);
  store_.every_id_at = 1;
  absl::StatusOr<std::optional<uint64_t>> found = source.FindEvent(rerating_.event_id());
  EXPECT_THAT(found, StatusIs(absl::StatusCode::kDataLoss,
                              HasSubstr(absl::StrCat("event at position 1: the event id index "
                                                     "gives it for event id ",
                                                     rerating_.event_id()))));
  EXPECT_EQ(ReasonOf(found.status()), errors::reason::kIndexDamaged);
}

// A correction's target is looked up through the event id index, and what stands after it
// through the stream index: damage in either refuses the correction as DATA_LOSS, and nothing
// is stored (it had been judged against whatever event the entry named).
TEST_F(EventSourceTest, TheRulesLookUpsThroughADamagedIndexRefuseAndStoreNothing) {
  const uint64_t head = ledger_->Head().position;
  store_.misdirected_id = *ParseUuid(rerating_.event_id());
  store_.every_id_at = 1;
  absl::StatusOr<v1::AppendResponse> refused = Append({Correction(rerating_, "keyed in error")});
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kDataLoss,
                                HasSubstr("the event id index gives it for event id")));
  EXPECT_EQ(ReasonOf(refused.status()), errors::reason::kIndexDamaged);
  store_.every_id_at = 0;
  // Whether anything stands on R2 since its opening: read back through the stream index.
  store_.misindexed_stream = "risk/R2";
  store_.unindexed_version = 1;
  refused = Append({Correction(opening_, "keyed in error")});
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kDataLoss,
                                HasSubstr("version 1 of stream 'risk/R2' is missing")));
  EXPECT_EQ(ReasonOf(refused.status()), errors::reason::kIndexDamaged);
  store_.unindexed_version = 0;
  store_.misindexed_to = 4;  // R1's re-rating
  refused = Append({Correction(opening_, "keyed in error")});
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kDataLoss,
                                HasSubstr("event at position 4: the stream index gives it as "
                                          "version 1 of stream 'risk/R2'")));
  EXPECT_EQ(ledger_->Head().position, head);
  store_.misindexed_to = 0;  // mended: both corrections go in
  EXPECT_OK(Append({Correction(rerating_, "keyed in error")}));
  EXPECT_OK(Append({Correction(opening_, "keyed in error")}));
}

}  // namespace
}  // namespace govledger::projections
