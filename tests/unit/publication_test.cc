// WithholdUnpublished (projections/publication.h): what a viewer's answers keep of a decision
// whose Part 1 publication is deferred, on either side of the date.
#include "projections/publication.h"

#include <string>
#include <vector>

#include "projections/as_at.h"
#include "projections/queries.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::govledger::testing::IsOkAndHolds;

constexpr char kRole[] = "Deputy Mayor for Policing and Crime";

class PublicationTest : public ::testing::Test {
 protected:
  PublicationTest() {
    deferred_ = Decision("MOPAC", "PCD 90", {kRole},
                         {Amount(v1::AMOUNT_KIND_CAPITAL, 40000000, "Reserve"),
                          Amount(v1::AMOUNT_KIND_CAPITAL, 900000, "Reserve", /*noted_only=*/true),
                          Amount(v1::AMOUNT_KIND_REVENUE, 7000000, "Reserve")});
    *deferred_.mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
    deferred_.add_related_decisions("PCD 12");
    deferred_.mutable_part2()->set_text("the contract's price");
    deferred_.mutable_part2()->set_reason("Commercial Sensitivity");
    deferred_.add_originating_officer_declarations()->set_role("Director of Strategy");
    v1::DelegatedAuthority* authority = deferred_.add_delegated_authorities();
    authority->set_delegation_id("commissioner");
    authority->add_delegate_roles("Commissioner");
    authority->set_scope("let the contract");
    pending_ = Decision("MOPAC", "PCD 91", {kRole, "Chief Finance Officer"},
                        {Amount(v1::AMOUNT_KIND_CAPITAL, 5000000, "Reserve")});
    *pending_.mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
    open_ = Decision("MOPAC", "PCD 92", {kRole},
                     {Amount(v1::AMOUNT_KIND_CAPITAL, 1000000, "Reserve")});
    log_ = {Ev(Organisation("MOPAC")), Ev(dmpc_.Registration("Sophie Linden")),
            Ev(deferred_),             Ev(dmpc_.SignDeclaring(deferred_, "a sister on the board")),
            Ev(pending_),              Ev(dmpc_.Sign(pending_)),
            Ev(open_),                 Ev(dmpc_.Sign(open_))};
    // Stored as the ledger stores them: numbered, recorded and in effect in 2017.
    for (size_t i = 0; i < log_.size(); ++i) {
      log_[i].set_position(i + 1);
      SetMicros(publication_ - 86400000000LL + static_cast<int64_t>(i),
                log_[i].mutable_recorded_time());
      *log_[i].mutable_effective_time() = log_[i].recorded_time();
    }
  }

  v1::GetDecisionRegisterResponse Register(int64_t now) const {
    v1::GetDecisionRegisterRequest request;
    request.set_organisation_id("MOPAC");
    request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
    request.mutable_as_at()->set_position(log_.size());
    absl::StatusOr<v1::GetDecisionRegisterResponse> r = QueryDecisionRegister(log_, now, request);
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }

  v1::GetEntityHistoryResponse History(const v1::DecisionProposed& d, int64_t now) const {
    v1::GetEntityHistoryRequest request;
    request.set_stream_id(StreamOf(d));
    request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
    request.mutable_as_at()->set_position(log_.size());
    absl::StatusOr<v1::GetEntityHistoryResponse> r = QueryEntityHistory(log_, now, request);
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }

  static bool HasAspect(const v1::GetEntityHistoryResponse& h, const std::string& name) {
    for (const v1::EntityChange& c : h.changes()) {
      for (const auto* aspects : {&c.before(), &c.after()}) {
        for (const v1::Aspect& a : *aspects) {
          if (a.name() == name) return true;
        }
      }
    }
    return false;
  }

  const int64_t publication_ = DateMicros(MakeDate(2017, 5, 1));  // 00:00 UTC
  const Signer dmpc_ = NewSigner("dmpc-1", kRole);
  v1::DecisionProposed deferred_, pending_, open_;
  std::vector<v1::Event> log_;
};

TEST_F(PublicationTest, ADeferredDecisionIsWithheldUntilItsDateBegins) {
  v1::GetDecisionRegisterResponse r = Register(publication_ - 1);
  const v1::GetDecisionRegisterResponse whole = r;
  WithholdUnpublished(publication_ - 1, &r);

  ASSERT_EQ(r.decisions_size(), 3);
  const v1::DecisionEntry& d = r.decisions(0);
  EXPECT_TRUE(d.withheld());
  EXPECT_EQ(d.reference(), "PCD 90");
  EXPECT_EQ(d.status(), v1::DECISION_STATUS_APPROVED);
  EXPECT_EQ(d.title(), "");
  EXPECT_EQ(d.amounts_size(), 0);
  EXPECT_EQ(d.originating_officer_declarations_size(), 0);
  EXPECT_EQ(d.delegated_authorities_size(), 0);
  EXPECT_EQ(d.recommendations_size(), 0);
  EXPECT_EQ(d.related_decisions_size(), 0);
  EXPECT_FALSE(d.has_part2());
  ASSERT_EQ(d.signatures_size(), 1);
  EXPECT_EQ(d.signatures(0).holder(), "Sophie Linden");
  EXPECT_FALSE(d.signatures(0).has_declaration());
  // Pending: withheld too, though it adds nothing to the spend.
  EXPECT_TRUE(r.decisions(1).withheld());
  EXPECT_EQ(r.decisions(1).unsigned_roles_size(), 1);
  EXPECT_FALSE(r.decisions(2).withheld());
  EXPECT_EQ(r.decisions(2).title(), "PCD 92 title");
  EXPECT_EQ(r.withheld(), 2);
  EXPECT_EQ(r.approved(), whole.approved());
  EXPECT_EQ(r.pending(), whole.pending());

  // Only PCD 92's capital is left; PCD 90's revenue total, now nothing, is gone (the noted
  // amount was never in it).
  ASSERT_EQ(whole.approved_spend_size(), 2);
  EXPECT_EQ(whole.approved_spend(0).pence(), 41000000);
  ASSERT_EQ(r.approved_spend_size(), 1);
  EXPECT_EQ(r.approved_spend(0).kind(), v1::AMOUNT_KIND_CAPITAL);
  EXPECT_EQ(r.approved_spend(0).pence(), 1000000);
}

// A viewer's approved spend is added up from the decisions it sees, not taken down from the
// whole register's: a total held at the largest int64 (two huge sums) less a withheld decision's
// amount was a figure that was neither (a code reviewer's finding).
TEST(PublicationTotalsTest, AViewersSpendIsTheSumOfTheDecisionsItSees) {
  v1::GetDecisionRegisterResponse r;
  for (const bool deferred : {false, true}) {
    v1::DecisionEntry* e = r.add_decisions();
    e->set_status(v1::DECISION_STATUS_APPROVED);
    *e->add_amounts() = Amount(v1::AMOUNT_KIND_CAPITAL, 5'000'000'000'000'000'000, "Reserve");
    *e->add_amounts() = Amount(v1::AMOUNT_KIND_CAPITAL, 7, "Reserve", /*noted_only=*/true);
    if (deferred) *e->mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
  }
  v1::SpendTotal* whole = r.add_approved_spend();
  whole->set_funding_source("Reserve");
  whole->set_kind(v1::AMOUNT_KIND_CAPITAL);
  whole->set_pence(INT64_MAX);  // as the register holds the sum of the two
  v1::GetDecisionRegisterResponse published = r;
  WithholdUnpublished(DateMicros(MakeDate(2017, 4, 30)), &r);
  ASSERT_EQ(r.approved_spend_size(), 1);
  EXPECT_EQ(r.approved_spend(0).pence(), 5'000'000'000'000'000'000);
  EXPECT_EQ(r.withheld(), 1);
  // Once published, both count (held at the largest int64), as in the whole register.
  WithholdUnpublished(DateMicros(MakeDate(2017, 5, 1)), &published);
  ASSERT_EQ(published.approved_spend_size(), 1);
  EXPECT_EQ(published.approved_spend(0).pence(), INT64_MAX);
  EXPECT_EQ(published.withheld(), 0);
}

// Each decision cites the sources of its events; a withheld one's read kWithheldSource, since a
// source may name the record of decision by its title (one that names none stays empty).
TEST_F(PublicationTest, AWithheldDecisionsSourcesReadWithheldOthersStand) {
  log_[2].set_source("PCD 90: Let the secret contract, record of decision");
  log_[3].set_source("PCD 90 as signed");
  log_[6].set_source("PCD 92 form");
  log_[7].set_source("PCD 92 as signed");
  v1::GetDecisionRegisterResponse r = Register(publication_ - 1);
  ASSERT_EQ(r.decisions_size(), 3);
  EXPECT_EQ(r.decisions(0).proposed_source(),
            "PCD 90: Let the secret contract, record of decision");
  ASSERT_EQ(r.decisions(0).signatures_size(), 1);
  EXPECT_EQ(r.decisions(0).signatures(0).source(), "PCD 90 as signed");
  WithholdUnpublished(publication_ - 1, &r);
  EXPECT_EQ(r.decisions(0).proposed_source(), kWithheldSource);
  EXPECT_EQ(r.decisions(0).signatures(0).source(), kWithheldSource);
  EXPECT_THAT(r.ShortDebugString(), Not(HasSubstr("secret")));
  EXPECT_EQ(r.decisions(2).proposed_source(), "PCD 92 form");
  EXPECT_EQ(r.decisions(2).signatures(0).source(), "PCD 92 as signed");
  // From its date, it is whole.
  v1::GetDecisionRegisterResponse later = Register(publication_);
  WithholdUnpublished(publication_, &later);
  EXPECT_EQ(later.decisions(0).signatures(0).source(), "PCD 90 as signed");
}

// A withheld decision rejected says to a viewer neither who rejected it nor why; its events
// that name no source stay without one, which the CLI lists as "no source named", apart from a
// withheld paper.
TEST_F(PublicationTest, AWithheldRejectionSaysNeitherWhoNorWhy) {
  log_[2].set_source("PCD 90: Let the secret contract, record of decision");
  v1::DecisionRejected rejected;
  rejected.set_organisation_id("MOPAC");
  rejected.set_reference("PCD 91");
  rejected.set_reason("the secret contract's price");
  rejected.set_rejected_by("Police and Crime Panel (secret session)");
  log_.push_back(Ev(rejected));
  log_.back().set_position(log_.size());
  *log_.back().mutable_recorded_time() = log_[7].recorded_time();
  *log_.back().mutable_effective_time() = log_[7].recorded_time();
  v1::GetDecisionRegisterResponse r = Register(publication_ - 1);
  ASSERT_EQ(r.decisions_size(), 3);
  ASSERT_EQ(r.decisions(1).status(), v1::DECISION_STATUS_REJECTED);
  EXPECT_EQ(r.decisions(1).rejected_by(), "Police and Crime Panel (secret session)");
  WithholdUnpublished(publication_ - 1, &r);
  EXPECT_TRUE(r.decisions(1).withheld());
  EXPECT_EQ(r.decisions(1).rejected_by(), "");
  EXPECT_EQ(r.decisions(1).outcome_reason(), "");
  EXPECT_TRUE(r.decisions(1).has_outcome_time());  // when, as for a signature
  EXPECT_EQ(r.decisions(1).outcome_source(), "");
  EXPECT_EQ(r.decisions(1).proposed_source(), "");
  EXPECT_EQ(r.decisions(0).proposed_source(), kWithheldSource);
  EXPECT_THAT(r.ShortDebugString(), Not(HasSubstr("secret")));
}

// A withheld decision's referrals either way keep their references, not the delegation ids,
// which name a withheld delegated authority; its history loses the delegation it was referred
// under.
TEST_F(PublicationTest, AWithheldDecisionsReferralsKeepTheirReferencesOnly) {
  v1::GetDecisionRegisterResponse r;
  v1::DecisionEntry* e = r.add_decisions();
  e->set_reference("PCD 95");
  *e->mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
  e->mutable_referred_under()->set_reference("PCD 90");
  e->mutable_referred_under()->set_delegation_id("secret-outsourcing-deal");
  v1::DecisionReferral* referral = e->add_referrals();
  referral->set_reference("PCD 96");
  referral->set_delegation_id("another-secret");
  v1::DecisionEntry* plain = r.add_decisions();  // withheld, referred under nothing
  plain->set_reference("PCD 97");
  *plain->mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
  // Rejected: when stays; who (free text) and why go (a reason may quote the title).
  plain->set_status(v1::DECISION_STATUS_REJECTED);
  plain->set_rejected_by("Police and Crime Panel");
  plain->set_outcome_reason("the secret price is too high");
  SetMicros(publication_ - 2, plain->mutable_outcome_time());
  WithholdUnpublished(publication_ - 1, &r);
  EXPECT_EQ(r.decisions(1).rejected_by(), "");
  EXPECT_TRUE(r.decisions(1).has_outcome_time());
  EXPECT_EQ(r.decisions(1).outcome_reason(), "");
  EXPECT_TRUE(r.decisions(0).withheld());
  EXPECT_EQ(r.decisions(0).referred_under().reference(), "PCD 90");
  EXPECT_EQ(r.decisions(0).referred_under().delegation_id(), "");
  EXPECT_EQ(r.decisions(0).referrals(0).reference(), "PCD 96");
  EXPECT_EQ(r.decisions(0).referrals(0).delegation_id(), "");
  EXPECT_FALSE(r.decisions(1).has_referred_under());
  EXPECT_THAT(r.SerializeAsString(), Not(HasSubstr("secret")));

  v1::GetEntityHistoryResponse history;
  v1::EntityChange* change = history.add_changes();
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {kPart1DeferredAspect, "2017-05-01"},
           {kReferredUnderAspect, "PCD 90, delegation secret-outsourcing-deal"},
           {"status", "pending"}}) {
    v1::Aspect* a = change->add_after();
    a->set_name(name);
    a->set_value(value);
  }
  WithholdUnpublished(publication_ - 1, /*deferred=*/{}, "", &history);
  EXPECT_FALSE(HasAspect(history, kReferredUnderAspect));
  EXPECT_TRUE(HasAspect(history, "status"));
}

// A published decision referred back under a withheld decision's delegated authority keeps the
// reference, not the delegation id, which names that authority: in the register and in its
// history (a publication officer's find).
TEST_F(PublicationTest, APublishedDecisionReferredUnderAWithheldOneLosesTheDelegationId) {
  v1::DecisionProposed referred = Decision("MOPAC", "PCD 99", {"Commissioner"},
                                           {Amount(v1::AMOUNT_KIND_CAPITAL, 100000, "Reserve")});
  referred.mutable_referred_under()->set_reference("PCD 90");
  referred.mutable_referred_under()->set_delegation_id("commissioner");
  log_.push_back(Ev(referred));
  log_.back().set_position(log_.size());
  *log_.back().mutable_recorded_time() = log_[7].recorded_time();
  *log_.back().mutable_effective_time() = log_[7].recorded_time();
  v1::GetDecisionRegisterRequest request;
  request.set_organisation_id("MOPAC");
  request.set_published_only(true);
  request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  request.mutable_as_at()->set_position(log_.size());
  for (const bool published : {false, true}) {
    const int64_t now = published ? publication_ : publication_ - 1;
    absl::StatusOr<v1::GetDecisionRegisterResponse> r = QueryDecisionRegister(log_, now, request);
    ASSERT_OK(r);
    const v1::DecisionEntry* entry = nullptr;
    for (const v1::DecisionEntry& e : r->decisions()) {
      if (e.reference() == "PCD 99") entry = &e;
    }
    ASSERT_NE(entry, nullptr);
    EXPECT_FALSE(entry->withheld());
    EXPECT_EQ(entry->referred_under().reference(), "PCD 90");
    EXPECT_EQ(entry->referred_under().delegation_id(), published ? "commissioner" : "")
        << published;
  }

  v1::GetEntityHistoryResponse history = History(referred, publication_ - 1);
  const std::vector<DeferredCitations> deferred = {
      {"decision/MOPAC/PCD-90", MakeDate(2017, 5, 1), {}}};
  auto referred_under = [](const v1::GetEntityHistoryResponse& h) {
    for (const v1::EntityChange& c : h.changes()) {
      for (const v1::Aspect& a : c.after()) {
        if (a.name() == kReferredUnderAspect) return a.value();
      }
    }
    return std::string("(none)");
  };
  ASSERT_EQ(referred_under(history), "PCD 90, delegation commissioner");
  v1::GetEntityHistoryResponse whole = history;
  WithholdUnpublished(publication_ - 1, deferred, "decision/MOPAC/PCD-99", &history);
  EXPECT_EQ(referred_under(history), "PCD 90");
  WithholdUnpublished(publication_, deferred, "decision/MOPAC/PCD-99", &whole);
  EXPECT_EQ(referred_under(whole), "PCD 90, delegation commissioner");
}

TEST_F(PublicationTest, FromItsDateADeferredDecisionIsWhole) {
  v1::GetDecisionRegisterResponse r = Register(publication_);
  const v1::GetDecisionRegisterResponse whole = r;
  WithholdUnpublished(publication_, &r);
  EXPECT_EQ(r.SerializeAsString(), whole.SerializeAsString());
  EXPECT_EQ(r.decisions(0).part1_deferred_until().day(), 1);
  EXPECT_EQ(r.decisions(0).title(), "PCD 90 title");
  EXPECT_EQ(r.decisions(0).delegated_authorities(0).scope(), "let the contract");
  EXPECT_THAT(r.decisions(0).recommendations(), ElementsAre("approve it"));
  EXPECT_THAT(r.decisions(0).related_decisions(), ElementsAre("PCD 12"));
  EXPECT_EQ(r.decisions(0).part2().reason(), "Commercial Sensitivity");
  EXPECT_THAT(r.SerializeAsString(), Not(HasSubstr("the contract's price")));  // Part 2's text
}

TEST_F(PublicationTest, AHistoryLosesItsDeclarationsWhileTheDecisionIsUnpublished) {
  v1::GetEntityHistoryResponse before = History(deferred_, publication_ - 1);
  ASSERT_TRUE(HasAspect(before, kInterestsDeclaredAspect));
  ASSERT_TRUE(HasAspect(before, kPart1DeferredAspect));
  ASSERT_TRUE(HasAspect(before, kAmountAspect));
  WithholdUnpublished(publication_ - 1, /*deferred=*/{}, "", &before);
  EXPECT_FALSE(HasAspect(before, kInterestsDeclaredAspect));
  EXPECT_FALSE(HasAspect(before, kAmountAspect));  // as the register withholds the amounts
  EXPECT_TRUE(HasAspect(before, "status"));
  // Who signed, and when, as the register shows them.
  EXPECT_TRUE(HasAspect(before, kSignatoriesAspect));
  EXPECT_TRUE(HasAspect(before, kPart1DeferredAspect));

  v1::GetEntityHistoryResponse after = History(deferred_, publication_);
  WithholdUnpublished(publication_, /*deferred=*/{}, "", &after);
  EXPECT_TRUE(HasAspect(after, kInterestsDeclaredAspect));
  EXPECT_TRUE(HasAspect(after, kAmountAspect));
}

// A withdrawal's reason is Part 1's content too.
TEST_F(PublicationTest, AHistoryLosesItsNotesWhileTheDecisionIsUnpublished) {
  v1::DecisionWithdrawn withdrawn;
  withdrawn.set_organisation_id("MOPAC");
  withdrawn.set_reference("PCD 91");
  withdrawn.set_reason("superseded by PCD 93");
  v1::Event e = Ev(withdrawn);
  e.set_position(log_.size() + 1);
  SetMicros(publication_ - 86400000000LL + static_cast<int64_t>(log_.size()),
            e.mutable_recorded_time());
  *e.mutable_effective_time() = e.recorded_time();
  log_.push_back(e);

  v1::GetEntityHistoryResponse before = History(pending_, publication_ - 1);
  ASSERT_EQ(before.changes().rbegin()->note(), "superseded by PCD 93");
  WithholdUnpublished(publication_ - 1, /*deferred=*/{}, "", &before);
  // Said to be withheld, so that it reads apart from an event that gave no reason.
  EXPECT_EQ(before.changes().rbegin()->note(), kWithheldNote);
  EXPECT_EQ(before.changes().begin()->note(), "");  // the proposal, with no note of its own
  v1::GetEntityHistoryResponse after = History(pending_, publication_);
  WithholdUnpublished(publication_, /*deferred=*/{}, "", &after);
  EXPECT_EQ(after.changes().rbegin()->note(), "superseded by PCD 93");
}

TEST_F(PublicationTest, OtherHistoriesAndUndeferredDecisionsAreUntouched) {
  v1::GetEntityHistoryResponse h = History(open_, publication_ - 1);
  const std::string whole = h.SerializeAsString();
  WithholdUnpublished(publication_ - 1, /*deferred=*/{}, "", &h);
  EXPECT_EQ(h.SerializeAsString(), whole);
  // A history with nothing folded, only events voided, of another entity or of a decision never
  // deferred: as it is (a reviewer's voided risk had its public papers marked withheld).
  v1::GetEntityHistoryResponse risk;
  v1::VoidedEvent* voided = risk.add_voided();
  voided->mutable_event()->set_source("Risk paper A (public)");
  voided->mutable_voided_by()->set_source("Correction memo (public)");
  voided->set_reason("opened in error");
  const std::string risk_whole = risk.SerializeAsString();
  WithholdUnpublished(publication_ - 1, /*deferred=*/{}, "risk/LPP-RX", &risk);
  EXPECT_EQ(risk.SerializeAsString(), risk_whole);
  WithholdUnpublished(publication_ - 1, /*deferred=*/{}, "decision/MOPAC/PCD-94", &risk);
  EXPECT_EQ(risk.SerializeAsString(), risk_whole);
  EXPECT_FALSE(Unpublished(v1::Date(), 0));
  EXPECT_TRUE(Unpublished(MakeDate(2017, 5, 1), publication_ - 1));
  EXPECT_FALSE(Unpublished(MakeDate(2017, 5, 1), publication_));
}

// A decision whose only proposal a correction voids shows nothing of its proposal in its history,
// so no state says it is deferred: the deferral it was proposed with, at the head, withholds the
// correction's reason (which may quote the title) and the papers.
TEST_F(PublicationTest, AHistoryOfADecisionStruckOutKeepsTheDeferralItWasProposedWith) {
  v1::DecisionProposed struck = Decision("MOPAC", "PCD 93", {kRole});
  *struck.mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
  v1::Event proposal = Ev(struck);
  proposal.set_source("PCD 93: Buy the secret helipad");
  for (const v1::Event& e : {proposal, Correction(proposal, "entered in error: secret helipad")}) {
    log_.push_back(e);
    log_.back().set_position(log_.size());
    *log_.back().mutable_recorded_time() = log_[7].recorded_time();
    *log_.back().mutable_effective_time() = log_[7].recorded_time();
  }
  absl::StatusOr<std::vector<DeferredCitations>> deferred = QueryDeferredCitations(log_);
  ASSERT_TRUE(deferred.ok()) << deferred.status();
  const v1::GetEntityHistoryResponse whole = History(struck, publication_ - 1);
  ASSERT_THAT(whole.DebugString(), HasSubstr("secret helipad"));
  v1::GetEntityHistoryResponse h = whole;
  WithholdUnpublished(publication_ - 1, *deferred, StreamOf(struck), &h);
  EXPECT_THAT(h.DebugString(), Not(HasSubstr("secret helipad")));
  ASSERT_EQ(h.voided_size(), 1);  // that the proposal was voided stays said
  // From the date, or for another stream, the history is whole.
  h = whole;
  WithholdUnpublished(publication_, *deferred, StreamOf(struck), &h);
  EXPECT_EQ(h.SerializeAsString(), whole.SerializeAsString());
  h = whole;
  WithholdUnpublished(publication_ - 1, *deferred, StreamOf(open_), &h);
  EXPECT_THAT(h.DebugString(), HasSubstr("secret helipad"));
}

// The papers a viewer may not see cited: those the events of a decision still unpublished name
// (a correction's, and the event it voids: voiding a signature publishes nothing), none of the
// others, and none once the date has come. A decision whose only proposal is voided keeps the
// deferral it was proposed with.
TEST_F(PublicationTest, TheWithheldSourcesAreThoseOfDecisionsNotYetPublished) {
  log_[2].set_source("PCD 90: Let the secret contract, record of decision");
  log_[3].set_source("PCD 90 as signed");
  log_[4].set_source("PCD 91 form");
  log_[5].set_source("PCD 91 signed by the wrong key");
  log_[6].set_source("PCD 92 form");
  log_[7].set_source("PCD 92 as signed");
  v1::DecisionProposed struck = Decision("MOPAC", "PCD 93", {kRole});
  *struck.mutable_part1_deferred_until() = MakeDate(2017, 5, 1);
  v1::Event struck_event = Ev(struck);
  struck_event.set_source("PCD 93 form");
  v1::Event correction = Correction(log_[5], "signed in error");
  correction.set_source("PCD 91 correction notice");
  for (const v1::Event& e : {correction, struck_event, Correction(struck_event, "in error")}) {
    log_.push_back(e);
    log_.back().set_position(log_.size());
    *log_.back().mutable_recorded_time() = log_[7].recorded_time();
    *log_.back().mutable_effective_time() = log_[7].recorded_time();
  }
  absl::StatusOr<std::vector<DeferredCitations>> deferred = QueryDeferredCitations(log_);
  ASSERT_TRUE(deferred.ok()) << deferred.status();
  // PCD 92 is not deferred.
  ASSERT_EQ(deferred->size(), 3);
  EXPECT_EQ((*deferred)[2].stream_id, "decision/MOPAC/PCD-93");
  EXPECT_THAT(WithheldSources(*deferred, publication_ - 1),
              ::testing::UnorderedElementsAre(
                  "PCD 90: Let the secret contract, record of decision", "PCD 90 as signed",
                  "PCD 91 form", "PCD 91 signed by the wrong key", "PCD 91 correction notice",
                  "PCD 93 form"));
  EXPECT_THAT(WithheldSources(*deferred, publication_), ::testing::IsEmpty());
  // The same from QueryService's index, which reads the decision streams alone.
  ProgrammeIndex index;
  VectorEventSource source(log_);
  for (const v1::Event& e : log_) ASSERT_TRUE(index.Add(e, source).ok());
  EXPECT_EQ(index.decision_events(), 9);
  const IndexedLog indexed{&index, &source, nullptr, {}};
  absl::StatusOr<std::vector<DeferredCitations>> from_index = QueryDeferredCitations(indexed);
  ASSERT_TRUE(from_index.ok()) << from_index.status();
  ASSERT_EQ(from_index->size(), deferred->size());
  for (size_t i = 0; i < deferred->size(); ++i) {
    EXPECT_EQ((*from_index)[i].part1_deferred_until.SerializeAsString(),
              (*deferred)[i].part1_deferred_until.SerializeAsString());
    EXPECT_EQ((*from_index)[i].sources, (*deferred)[i].sources);
    EXPECT_EQ((*from_index)[i].stream_id, (*deferred)[i].stream_id);
  }
  absl::StatusOr<std::vector<DeferredCitations>> none =
      QueryDeferredCitations(std::vector<v1::Event>());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, ::testing::IsEmpty());
}

// WithholdSources marks the source fields holding a withheld paper withheld at any depth, and
// nothing else: other sources, other fields holding the same words, a funding source.
TEST_F(PublicationTest, WithholdSourcesMarksEverySourceFieldCitingAWithheldPaper) {
  const std::string paper = "PCD 90: Let the secret contract, record of decision";
  v1::GetEntityHistoryResponse history;
  v1::EntityChange* change = history.add_changes();
  change->mutable_event()->set_source(paper);
  change->set_note(paper);
  change->mutable_corrects()->set_source(paper);
  v1::EntityChange* other = history.add_changes();
  other->mutable_event()->set_source("update report, week 86");
  v1::VoidedEvent* voided = history.add_voided();
  voided->mutable_event()->set_source(paper);
  voided->mutable_voided_by()->set_source(paper);
  WithholdSources({paper}, &history);
  EXPECT_EQ(history.changes(0).event().source(), kWithheldSource);
  EXPECT_EQ(history.changes(0).corrects().source(), kWithheldSource);
  EXPECT_EQ(history.changes(0).note(), paper);
  EXPECT_EQ(history.changes(1).event().source(), "update report, week 86");
  EXPECT_EQ(history.voided(0).event().source(), kWithheldSource);
  EXPECT_EQ(history.voided(0).voided_by().source(), kWithheldSource);

  v1::GetProgrammeStatusResponse status;
  status.mutable_programme()->set_reported_source(paper);
  status.mutable_programme()->mutable_update()->set_source(paper);
  status.add_projects()->set_reported_source("update report, week 86");
  v1::GetDecisionRegisterResponse decisions;
  decisions.add_decisions()->set_proposed_source(paper);
  decisions.mutable_decisions(0)->add_signatures()->set_source(paper);
  decisions.add_approved_spend()->set_funding_source(paper);
  WithholdSources({paper}, &status);
  WithholdSources({paper}, &decisions);
  EXPECT_EQ(status.programme().reported_source(), kWithheldSource);
  EXPECT_EQ(status.programme().update().source(), kWithheldSource);
  EXPECT_EQ(status.projects(0).reported_source(), "update report, week 86");
  EXPECT_EQ(decisions.decisions(0).proposed_source(), kWithheldSource);
  EXPECT_EQ(decisions.decisions(0).signatures(0).source(), kWithheldSource);
  // Money's source is not a paper: never withheld.
  EXPECT_EQ(decisions.approved_spend(0).funding_source(), paper);
  // Nothing withheld: nothing changes.
  v1::GetProgrammeStatusResponse whole;
  whole.mutable_programme()->set_reported_source(paper);
  WithholdSources({}, &whole);
  EXPECT_EQ(whole.programme().reported_source(), paper);
}

}  // namespace
}  // namespace govledger::projections
