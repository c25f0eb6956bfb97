// PossibleSplit (projections/queries.h, GetDecisionRegister): decisions each under a delegation
// threshold, not needing its role, of one organisation and programme (or all naming none) and
// proposed within the window of one another, that together reach it; and everything that keeps
// a decision out.
#include <string>
#include <vector>

#include "projections/as_at.h"
#include "projections/queries.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDmpc[] = "Deputy Mayor for Policing and Crime";
constexpr char kDirector[] = "Director of Strategy";
constexpr int64_t kDay = int64_t{86400} * 1000000;

class PossibleSplitTest : public ::testing::Test {
 protected:
  PossibleSplitTest() {
    Add(Ev(Organisation("MOPAC")), 0);
    Add(Ev(Programme("SLP", "MOPAC")), 0);
    Add(Ev(Programme("OCP", "MOPAC")), 0);
    Add(Ev(Delegation("MOPAC", "DMPC-500K", 50000000, kDmpc)), 0);
  }

  void Add(v1::Event e, int64_t day) {
    e.set_position(log_.size() + 1);
    SetMicros(start_ + day * kDay, e.mutable_recorded_time());
    *e.mutable_effective_time() = e.recorded_time();
    log_.push_back(std::move(e));
  }

  // A decision of `pence` capital for `programme`, needing `role`, proposed on `day`.
  v1::DecisionProposed Propose(const std::string& reference, int64_t pence, int64_t day,
                               const std::string& programme = "SLP",
                               const std::string& role = kDirector) {
    v1::DecisionProposed d =
        Decision("MOPAC", reference, {role}, {Amount(v1::AMOUNT_KIND_CAPITAL, pence, "Reserve")});
    d.set_programme_id(programme);
    Add(Ev(d), day);
    return d;
  }

  absl::StatusOr<v1::GetDecisionRegisterResponse> Register(int32_t window_days = 0,
                                                           bool published_only = false) const {
    v1::GetDecisionRegisterRequest request;
    request.set_organisation_id("MOPAC");
    request.set_split_window_days(window_days);
    request.set_published_only(published_only);
    request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
    request.mutable_as_at()->set_position(log_.size());
    return QueryDecisionRegister(log_, start_ + 400 * kDay, request);
  }

  static std::vector<std::string> References(const v1::PossibleSplit& split) {
    return {split.references().begin(), split.references().end()};
  }

  const int64_t start_ = DateMicros(MakeDate(2016, 10, 3));
  std::vector<v1::Event> log_;
};

// A decision's delegation needs are those of each rule's setting in force when it was proposed,
// and say whether it requires the rule's role (a replay folds what the rules would have
// refused, as a back-dated setting recorded after the proposal leaves it).
TEST_F(PossibleSplitTest, DelegationNeedsAreTheSettingsInForceWhenProposed) {
  Propose("D-1", 60000000, 10, "SLP", kDmpc);
  Propose("D-2", 60000000, 20);
  Add(Ev(Delegation("MOPAC", "DMPC-500K", 100000000, kDmpc)), 30);
  Propose("D-3", 60000000, 40);
  absl::StatusOr<v1::GetDecisionRegisterResponse> r = Register();
  ASSERT_OK(r);
  ASSERT_EQ(r->decisions_size(), 3);
  ASSERT_EQ(r->decisions(0).delegations_size(), 1);
  EXPECT_EQ(r->decisions(0).delegations(0).threshold_pence(), 50000000);
  EXPECT_TRUE(r->decisions(0).delegations(0).role_required());
  ASSERT_EQ(r->decisions(1).delegations_size(), 1);
  EXPECT_FALSE(r->decisions(1).delegations(0).role_required());
  EXPECT_EQ(r->decisions(2).delegations_size(), 0) << "£1,000,000 is in force from day 30";
}

TEST_F(PossibleSplitTest, TwoDecisionsUnderTheThresholdThatReachItTogetherAreFlagged) {
  Propose("PCD 80", 30000000, 1);
  Propose("PCD 81", 25000000, 31);
  absl::StatusOr<v1::GetDecisionRegisterResponse> r = Register();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->split_window_days(), 90);
  ASSERT_EQ(r->possible_splits_size(), 1);
  const v1::PossibleSplit& split = r->possible_splits(0);
  EXPECT_EQ(split.organisation_id(), "MOPAC");
  EXPECT_EQ(split.rule_id(), "DMPC-500K");
  EXPECT_EQ(split.role(), kDmpc);
  EXPECT_EQ(split.threshold_pence(), 50000000);
  EXPECT_EQ(split.programme_id(), "SLP");
  EXPECT_THAT(References(split), ElementsAre("PCD 80", "PCD 81"));
  EXPECT_EQ(split.total_pence(), 55000000);
  EXPECT_EQ(ToMicros(split.first_proposed()), start_ + kDay);
  EXPECT_EQ(ToMicros(split.last_proposed()), start_ + 31 * kDay);
  // A window shorter than the 30 days between them: none.
  r = Register(29);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->possible_splits_size(), 0);
  EXPECT_EQ(r->split_window_days(), 29);
}

TEST_F(PossibleSplitTest, ARunChainsEachDecisionToTheOneBefore) {
  Propose("PCD 80", 20000000, 0);
  Propose("PCD 81", 20000000, 80);
  Propose("PCD 82", 20000000, 160);  // 160 days after the first, 80 after the one before
  Propose("PCD 83", 20000000, 300);  // alone: 140 days later
  absl::StatusOr<v1::GetDecisionRegisterResponse> r = Register();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->possible_splits_size(), 1);
  EXPECT_THAT(References(r->possible_splits(0)), ElementsAre("PCD 80", "PCD 81", "PCD 82"));
  EXPECT_EQ(r->possible_splits(0).total_pence(), 60000000);
}

// A run is held to the lowest threshold among its members' settings: a threshold raised after
// two proposals that split the lower one, and a penny's proposal under the new setting within
// the window, must not hide the split (judged by its last member's setting, it did).
TEST_F(PossibleSplitTest, ARaisedThresholdAndASmallProposalAfterItDoNotHideASplit) {
  Propose("S1", 30000000, 1);
  Propose("S2", 30000000, 15);
  Add(Ev(Delegation("MOPAC", "DMPC-500K", 500000000, kDmpc)), 30);
  Propose("S3", 1, 31);
  absl::StatusOr<v1::GetDecisionRegisterResponse> r = Register();
  ASSERT_OK(r);
  ASSERT_EQ(r->possible_splits_size(), 1);
  EXPECT_EQ(r->possible_splits(0).threshold_pence(), 50000000);
  EXPECT_THAT(References(r->possible_splits(0)), ElementsAre("S1", "S2", "S3"));
}

TEST_F(PossibleSplitTest, WhatKeepsADecisionOutOfASplit) {
  Propose("PCD 80", 30000000, 1);
  Propose("PCD 81", 50000000, 2);                        // reaches the threshold itself
  Propose("PCD 82", 30000000, 3, "SLP", kDmpc);          // needs the rule's role
  Propose("PCD 83", 30000000, 4, "OCP");                 // another programme
  const v1::DecisionProposed rejected = Propose("PCD 84", 30000000, 5);
  v1::DecisionRejected no;
  no.set_organisation_id("MOPAC");
  no.set_reference("PCD 84");
  no.set_reason("not affordable");
  Add(Ev(no), 6);
  v1::DecisionProposed noted = Decision(
      "MOPAC", "PCD 85", {kDirector},
      {Amount(v1::AMOUNT_KIND_CAPITAL, 40000000, "Reserve", /*noted_only=*/true)});
  noted.set_programme_id("SLP");
  Add(Ev(noted), 7);                                      // noted amounts are not counted
  v1::DecisionProposed none = Decision("MOPAC", "PCD 86", {kDirector},
                                       {Amount(v1::AMOUNT_KIND_CAPITAL, 40000000, "Reserve")});
  Add(Ev(none), 8);                                       // no programme: alone in its group
  absl::StatusOr<v1::GetDecisionRegisterResponse> r = Register();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->possible_splits_size(), 0) << r->DebugString();
  // One more under it in the same programme makes PCD 80 part of a split.
  Propose("PCD 87", 20000000, 9);
  r = Register();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->possible_splits_size(), 1);
  EXPECT_THAT(References(r->possible_splits(0)), ElementsAre("PCD 80", "PCD 87"));
}

// Leaving the programme out does not hide a split: decisions naming none are a group of their
// own, apart from every programme's.
TEST_F(PossibleSplitTest, DecisionsNamingNoProgrammeAreAGroupOfTheirOwn) {
  Propose("PCD 80", 30000000, 1, "");
  Propose("PCD 81", 10000000, 2);  // SLP's: not in the group
  Propose("PCD 82", 25000000, 15, "");
  absl::StatusOr<v1::GetDecisionRegisterResponse> r = Register();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->possible_splits_size(), 1) << r->DebugString();
  EXPECT_EQ(r->possible_splits(0).programme_id(), "");
  EXPECT_THAT(References(r->possible_splits(0)), ElementsAre("PCD 80", "PCD 82"));
  EXPECT_EQ(r->possible_splits(0).total_pence(), 55000000);
}

// The published register (a viewer's) finds possible splits among the published decisions
// alone: a withheld decision is named in none, nor adds to any total, and it hides none that
// the published ones make by themselves.
TEST_F(PossibleSplitTest, ThePublishedRegisterFindsSplitsAmongThePublishedDecisions) {
  Propose("PCD 80", 30000000, 1);
  v1::DecisionProposed deferred = Decision(
      "MOPAC", "PCD 81", {kDirector}, {Amount(v1::AMOUNT_KIND_CAPITAL, 1000000, "Reserve")});
  deferred.set_programme_id("SLP");
  *deferred.mutable_part1_deferred_until() = MakeDate(2199, 1, 1);
  Add(Ev(deferred), 2);
  Propose("PCD 82", 30000000, 3);
  absl::StatusOr<v1::GetDecisionRegisterResponse> all = Register();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->possible_splits_size(), 1);
  EXPECT_THAT(References(all->possible_splits(0)), ElementsAre("PCD 80", "PCD 81", "PCD 82"));
  EXPECT_EQ(all->withheld(), 0);

  absl::StatusOr<v1::GetDecisionRegisterResponse> published = Register(0, /*published_only=*/true);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->withheld(), 1);
  ASSERT_EQ(published->possible_splits_size(), 1);
  EXPECT_THAT(References(published->possible_splits(0)), ElementsAre("PCD 80", "PCD 82"));
  EXPECT_EQ(published->possible_splits(0).total_pence(), 60000000);

  // Alone with a withheld decision, a published one makes no split.
  log_.pop_back();
  published = Register(0, /*published_only=*/true);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->possible_splits_size(), 0);
}

TEST_F(PossibleSplitTest, AWindowOutOfRangeIsRefused) {
  EXPECT_THAT(Register(-1).status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("split_window_days -1 must be 1 to 3660 "
                                                        "(0: 90)")));
  EXPECT_THAT(Register(3661).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3661")));
  EXPECT_TRUE(Register(3660).ok());
}

}  // namespace
}  // namespace govledger::projections
