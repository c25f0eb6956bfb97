// The governance papers of seeds 000, 001/002 and 003 recorded through the gRPC
// API of the real govledgerd, which checks every typed event against the rules
// (projections/): the Local Policing Programme's reports at weeks 74 and 86,
// PCD 72 (£730,000, needing the Deputy Mayor because of the £500,000 delegation
// rule) and PCC/D/2017/05 (four signatories, approved only after the fourth
// signature; its delegated authority, and a proposal referred back under it). The state is checked by folding the log read back through the API
// with the same GovernanceState the daemon uses. Also: a log holding an event
// type this version does not know (written by a newer version) is read, listed
// and verified after a restart.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/store/rocksdb_event_store.h"
#include "projections/decision_digest.h"
#include "projections/governance_state.h"
#include "tests/governance_events.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/seed000_events.h"

namespace govledger::testing {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using projections::GovernanceState;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class GovernanceSeedsTest : public DaemonTest {
 protected:
  grpc::Status Send(std::vector<v1::Event> events) {
    v1::AppendResponse response;
    return Append(*stub_, MakeAppend(std::move(events)), &response,
                  "clerk@example.police.uk");
  }

  // The log read back through the API, folded (all of it, or up to `up_to`
  // events).
  void Fold(GovernanceState& state, size_t up_to = SIZE_MAX) {
    absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_);
    ASSERT_TRUE(events.ok()) << events.status();
    for (size_t i = 0; i < events->size() && i < up_to; ++i) {
      ASSERT_TRUE(
          state.Apply((*events)[i], GovernanceState::Mode::kReplay).ok())
          << (*events)[i].event_type();
    }
  }

  uint64_t Head() { return GetHead(*stub_)->position(); }

  // RAG counts of a programme's projects that are open and have a report at
  // `week`.
  static std::map<v1::Rag, int> ProjectRags(const GovernanceState& s,
                                            const std::string& programme,
                                            int week) {
    std::map<v1::Rag, int> out;
    for (const projections::WorkState* w : s.ProjectsOf(programme)) {
      if (!w->closed && w->has_status && w->last_status.plan_week() == week) {
        ++out[w->last_status.rag()];
      }
    }
    return out;
  }
};

v1::Event Rated(const v1::WorkRef& subject, v1::Rag rag, int week,
                const std::string& why = "") {
  v1::StatusReported m = Status(subject, rag, week);
  m.set_commentary(why);
  return Ev(m);
}

// Seed 000: the Local Policing Programme update to the Joint Audit Committee
// (the events of tests/seed000_events.h, with the refusals between them).
TEST_F(GovernanceSeedsTest, Seed000LocalPolicingProgrammeWeeks74And86) {
  const seed000::Seed000 seed = seed000::BuildSeed000();
  ASSERT_THAT(Send(seed.registrations), GrpcOk());
  // The risk register as last reported (week 74): 14 open, 8 red.
  ASSERT_THAT(Send(seed.risk_register), GrpcOk());
  ASSERT_THAT(Send(seed.week74_ratings), GrpcOk());
  const uint64_t week74 = Head();

  // Between weeks 74 and 86.
  ASSERT_THAT(Send(seed.project_closures), GrpcOk());
  // A closed project takes no new status: refused through the API, nothing
  // stored.
  EXPECT_THAT(
      Send({Rated(ProjectRef("LPP-PCSO"), v1::RAG_GREEN, 86)}),
      GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                   AllOf(HasSubstr("project LPP-PCSO is closed"),
                         HasSubstr("registered, open programme or project"))));
  ASSERT_THAT(Send(seed.risk_changes), GrpcOk());
  // The refusal also says so to a program: reason RULE_REFUSED, naming the entity, the rule
  // and the event refused.
  const v1::Event rerate_closed = Ev(Rerate("LPP-R01", v1::RAG_RED));
  const grpc::Status refused = Send({Ev(Rerate("LPP-R04", v1::RAG_RED)), rerate_closed});
  // (LPP-R01 is closed, and so is its project: the project's closure is what stands in the way,
  // and said first; the re-rating, dated when recorded, is after it.)
  constexpr char kRule[] =
      "a risk of a closed programme or project is closed or transferred, not re-rated";
  EXPECT_THAT(refused, GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                                    HasSubstr(absl::StrCat("risk LPP-R01 is held by project "
                                                           "LPP-PCSO, which is closed, and is "
                                                           "closed: ",
                                                           kRule,
                                                           "; this event is dated after the "
                                                           "closure, effective "))));
  EXPECT_THAT(refused,
              HasErrorInfo("RULE_REFUSED",
                           UnorderedElementsAre(Pair("entity", "risk LPP-R01"), Pair("rule", kRule),
                                                Pair("event_id", rerate_closed.event_id()),
                                                // by its index too, as the ledger's own checks
                                                Pair("event_index", "1"))));
  // A malformed payload is INVALID_EVENT naming the event, whichever check finds it (here an
  // empty risk id, and a subject of no kind).
  v1::Event no_risk_id = Ev(Rerate("LPP-R05", v1::RAG_RED));
  v1::RiskRerated empty_id;
  empty_id.set_rating(v1::RAG_RED);
  no_risk_id.set_payload(empty_id.SerializeAsString());
  v1::StatusReported kindless = gov::Status(ProgrammeRef("LPP"), v1::RAG_RED, 80);
  kindless.mutable_subject()->set_kind(v1::WORK_KIND_UNSPECIFIED);
  v1::Event no_kind = Ev(kindless);
  no_kind.set_stream_id("programme/LPP");
  for (const v1::Event& bad : {no_risk_id, no_kind}) {
    const grpc::Status malformed = Send({bad});
    EXPECT_THAT(malformed, GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                        ::testing::AnyOf(HasSubstr("risk_id is required"),
                                                         HasSubstr("subject.kind must be"))));
    EXPECT_THAT(malformed,
                HasErrorInfo("INVALID_EVENT", UnorderedElementsAre(Pair("event_id", bad.event_id()),
                                                                   Pair("event_index", "0"))));
  }
  ASSERT_THAT(Send(seed.changes), GrpcOk());
  // Only the current owner transfers a scope item: LPP no longer owns
  // LPP-SVC-OPS.
  EXPECT_THAT(
      Send({Ev(TransferScope("LPP-SVC-OPS", ProgrammeRef("LPP"),
                             ProgrammeRef("SCCP")))}),
      GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                   HasSubstr("belongs to programme OCP, not programme LPP")));
  ASSERT_THAT(Send(seed.week86_ratings), GrpcOk());

  // As at week 74: one AMBER and four GREEN; 14 open risks of which 8 red.
  GovernanceState at74;
  Fold(at74, week74);
  EXPECT_EQ(CountOpenRisks(at74, "LPP").open, 14);
  EXPECT_EQ(CountOpenRisks(at74, "LPP").red, 8);
  EXPECT_EQ(ProjectRags(at74, "LPP", 74),
            (std::map<v1::Rag, int>{{v1::RAG_GREEN, 4}, {v1::RAG_AMBER, 1}}));
  // As at week 86: programme AMBER, three GREEN and two AMBER; 11 open risks of
  // which 5 red.
  GovernanceState at86;
  Fold(at86);
  EXPECT_EQ(at86.FindProgramme("LPP")->last_status.rag(), v1::RAG_AMBER);
  EXPECT_EQ(CountOpenRisks(at86, "LPP").open, 11);
  EXPECT_EQ(CountOpenRisks(at86, "LPP").red, 5);
  EXPECT_EQ(ProjectRags(at86, "LPP", 86),
            (std::map<v1::Rag, int>{{v1::RAG_GREEN, 3}, {v1::RAG_AMBER, 2}}));
  EXPECT_EQ(at86.FindProject("LPP-PCSO")->closure.annual_benefits_pence() +
                at86.FindProject("LPP-CJ")->closure.annual_benefits_pence(),
            450000000);
  EXPECT_EQ(at86.FindScopeItem("LPP-SVC-OPS")->owner.id(), "OCP");
  EXPECT_EQ(at86.FindScopeItem("LPP-BATS-DISCOVERY")->owner.id(), "LPP-PREV");
  EXPECT_EQ(at86.FindProject("LPP-INV")->gates_passed,
            std::vector<std::string>{"Gate 3"});
  EXPECT_EQ(at86.FindRisk("LPP-R03")->subject.id(), "OCP");
}

// Seeds 001 and 002: PCD 72, £730,000 from the Major Change Reserve, signed by
// the Deputy Mayor because spend of £500,000 and above needs her approval.
TEST_F(GovernanceSeedsTest,
       Seed001Pcd72NeedsTheDeputyMayorBecauseOfThe500kRule) {
  const std::string dmpc_role = "Deputy Mayor for Policing and Crime";
  Signer dmpc = NewSigner("mopac-dmpc", dmpc_role);
  Signer ceo = NewSigner("mopac-ceo", "Chief Executive Officer");
  v1::OrganisationRegistered mopac = Organisation("MOPAC");
  mopac.set_name("Mayor's Office for Policing and Crime");
  v1::ProgrammeRegistered slp = Programme("SLP", "MOPAC");
  slp.set_name("Strengthening Local Policing");
  *slp.mutable_mobilisation_date() = MakeDate(2016, 7, 1);
  slp.set_planned_weeks(196);
  const int tranche_dates[4][6] = {{2016, 7, 1, 2016, 12, 31},
                                   {2017, 1, 1, 2017, 8, 31},
                                   {2017, 9, 1, 2018, 3, 31},
                                   {2018, 4, 1, 2020, 3, 31}};
  const char* tranche_names[4] = {"Initial testing & Quick Wins",
                                  "Pilot(s) and preparation for implementation",
                                  "Full implementation",
                                  "Further consolidation and improvements"};
  for (int i = 0; i < 4; ++i) {
    v1::Tranche* t = slp.add_tranches();
    t->set_number(i + 1);
    t->set_name(tranche_names[i]);
    const int* d = tranche_dates[i];
    *t->mutable_start_date() = MakeDate(d[0], d[1], d[2]);
    *t->mutable_end_date() = MakeDate(d[3], d[4], d[5]);
  }
  v1::DelegationRuleSet rule =
      Delegation("MOPAC", "DMPC-500K", 50000000, dmpc_role);
  rule.add_kinds(v1::AMOUNT_KIND_CAPITAL);
  rule.add_kinds(v1::AMOUNT_KIND_REVENUE);
  rule.set_description(
      "MOPAC Scheme of Consent and Delegation: revenue or capital expenditure "
      "of "
      "£500,000 and above");
  v1::RiskOpened upskill = Risk("SLP-R02", ProgrammeRef("SLP"), v1::RAG_AMBER);
  upskill.set_description(
      "There is a risk that we are not able to upskill our officers to "
      "undertake the roles we need in the local policing model");
  // Effective on the papers' dates: the date beside the Deputy Mayor's signature (2016-10-05)
  // falls after the proposal and the key's registration.
  const v1::Date before_pcd72 = MakeDate(2016, 7, 1);
  ASSERT_THAT(Send({At(Ev(mopac), before_pcd72), At(Ev(slp), before_pcd72),
                    At(Ev(rule), before_pcd72),
                    At(Ev(dmpc.Registration("Sophie Linden")), before_pcd72),
                    At(Ev(ceo.Registration("R. Lowrence")), before_pcd72),
                    At(Ev(upskill), before_pcd72)}),
              GrpcOk());

  v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {ceo.role});
  pcd72.set_title("Strengthening Local Policing");
  pcd72.clear_recommendations();
  pcd72.add_recommendations(
      "endorse the approach being proposed by the SLP Programme");
  pcd72.add_recommendations(
      "approve a spend of £730,000 to undertake Tranche 1 of the programme");
  *pcd72.add_amounts() =
      Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve");
  pcd72.set_programme_id("SLP");
  pcd72.mutable_part2()->set_text("(commercially sensitive supplier costs)");
  pcd72.mutable_part2()->set_reason("Commercial Sensitivity");
  // Without the Deputy Mayor's role: refused because of the £500,000 rule.
  EXPECT_THAT(
      Send({Ev(pcd72)}),
      GrpcStatusIs(
          grpc::StatusCode::FAILED_PRECONDITION,
          AllOf(HasSubstr("decision MOPAC/PCD 72"), HasSubstr("£730,000.00"),
                HasSubstr("£500,000.00"), HasSubstr(dmpc_role))));
  pcd72.clear_required_signatory_roles();
  pcd72.add_required_signatory_roles(dmpc_role);
  ASSERT_THAT(Send({At(Ev(pcd72), MakeDate(2016, 10, 4))}), GrpcOk());

  // The Chief Executive's key cannot sign: not a required role.
  EXPECT_THAT(
      Send({Ev(ceo.Sign(pcd72))}),
      GrpcStatusIs(
          grpc::StatusCode::FAILED_PRECONDITION,
          HasSubstr("does not require the role 'Chief Executive Officer'")));
  GovernanceState before;
  Fold(before);
  EXPECT_FALSE(before.FindDecision("MOPAC", "PCD 72")->approved());

  // The Deputy Mayor signs the digest offline; the ledger verifies it.
  v1::DecisionSigned signature = dmpc.Sign(pcd72);
  *signature.mutable_signed_on() = MakeDate(2016, 10, 5);
  ASSERT_THAT(Send({Ev(signature)}), GrpcOk());
  GovernanceState after;
  Fold(after);
  EXPECT_TRUE(after.FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_EQ(after.FindDecision("MOPAC", "PCD 72")->digest,
            projections::DecisionDigest(pcd72));
  // Its reference is taken.
  EXPECT_THAT(Send({Ev(pcd72)}),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("unique per organisation")));
}

// Seed 003: PCC/D/2017/05, four signatories (two commissioners, two chief
// constables).
TEST_F(GovernanceSeedsTest, Seed003FourSignatoriesApprovedOnlyAfterTheFourth) {
  Signer wm_pcc =
      NewSigner("wm-pcc-2017", "West Mercia Police and Crime Commissioner");
  Signer wa_pcc =
      NewSigner("wa-pcc-2017", "Warwickshire Police and Crime Commissioner");
  Signer wm_cc = NewSigner("wm-cc-2017", "West Mercia Chief Constable");
  Signer wa_cc = NewSigner("wa-cc-2017", "Warwickshire Chief Constable");
  v1::OrganisationRegistered alliance = Organisation("WWA");
  alliance.set_name(
      "Police and Crime Commissioners for Warwickshire and West Mercia");
  alliance.set_kind("alliance");
  ASSERT_THAT(Send({Ev(alliance), Ev(wm_pcc.Registration("John Campion")),
                    Ev(wa_pcc.Registration()), Ev(wm_cc.Registration()),
                    Ev(wa_cc.Registration())}),
              GrpcOk());

  v1::DecisionProposed d =
      Decision("WWA", "PCC/D/2017/05",
               {wm_pcc.role, wa_pcc.role, wm_cc.role, wa_cc.role});
  d.set_title("Mobilising Transformational Change");
  d.clear_recommendations();
  d.add_recommendations(
      "That the investment of £4m is approved in order to deliver the "
      "transformation programme and savings requirements");
  d.add_recommendations(
      "That the investment is funded from the Invest to save reserve");
  d.add_recommendations(
      "To note that £1.95m of additional investment may be needed");
  *d.add_amounts() =
      Amount(v1::AMOUNT_KIND_ONE_OFF, 400000000, "Invest to save reserve");
  *d.add_amounts() =
      Amount(v1::AMOUNT_KIND_ONE_OFF, 195000000, "additional savings", true);
  d.add_related_decisions("2015/30");
  // Recommendation 4: the Chief Constables may use the investment; what is
  // novel, contentious or recursive comes back to the Commissioners.
  v1::DelegatedAuthority* authority = d.add_delegated_authorities();
  authority->set_delegation_id("chief-constables");
  authority->add_delegate_roles(wm_cc.role);
  authority->add_delegate_roles(wa_cc.role);
  authority->set_scope("use the approved investments and develop savings as described");
  authority->set_referral_condition(
      "spend proposals considered novel, contentious or recursive");
  authority->add_referral_roles(wm_pcc.role);
  authority->add_referral_roles(wa_pcc.role);
  ASSERT_THAT(Send({Ev(d)}), GrpcOk());
  EXPECT_EQ(StreamOf(d), "decision/WWA/PCC/D/2017/05");

  auto approved = [&]() {
    GovernanceState s;
    Fold(s);
    return s.FindDecision("WWA", "PCC/D/2017/05")->approved();
  };
  EXPECT_FALSE(approved());
  int signed_count = 0;
  for (const Signer* s : {&wm_pcc, &wa_pcc, &wm_cc}) {
    ASSERT_THAT(Send({Ev(s->Sign(d))}), GrpcOk()) << s->key_id;
    ++signed_count;
    EXPECT_FALSE(approved())
        << "approved after " << signed_count << " of 4 signatures";
  }
  // A signatory signs once.
  EXPECT_THAT(Send({Ev(wm_pcc.Sign(d))}),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("a signatory signs once")));
  // A revoked key cannot give the fourth signature.
  Signer old_key = NewSigner("wa-cc-2016", wa_cc.role);
  ASSERT_THAT(Send({Ev(old_key.Registration()), Ev(Revoke("wa-cc-2016"))}),
              GrpcOk());
  EXPECT_THAT(Send({Ev(old_key.Sign(d))}),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("has been revoked")));
  // A signature over anything but the decision's canonical digest does not
  // verify.
  v1::DecisionProposed altered = d;
  altered.mutable_amounts(0)->set_pence(500000000);
  v1::DecisionSigned wrong = wa_cc.Sign(altered);
  wrong.clear_digest();
  EXPECT_THAT(Send({Ev(wrong)}),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("does not verify")));
  EXPECT_FALSE(approved());
  ASSERT_THAT(Send({Ev(wa_cc.Sign(d))}), GrpcOk());
  EXPECT_TRUE(approved());

  // The daemon rebuilds the same state after a restart: nothing more can be
  // signed.
  ASSERT_TRUE(daemon_.Restart().ok()) << daemon_.Stderr();
  stub_ = daemon_.NewStub();
  EXPECT_THAT(Send({Ev(wa_cc.Sign(d))}),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("already approved")));

  // A spend proposal referred back under the delegation goes to both
  // Commissioners: one alone is refused, naming the missing role.
  v1::DecisionProposed referral =
      Decision("WWA", "PCC/D/2017/09", {wm_pcc.role},
               {Amount(v1::AMOUNT_KIND_CAPITAL, 25000000, "Invest to save reserve")});
  referral.mutable_referred_under()->set_reference("PCC/D/2017/05");
  referral.mutable_referred_under()->set_delegation_id("chief-constables");
  EXPECT_THAT(Send({Ev(referral)}),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           AllOf(HasSubstr("decision WWA/PCC/D/2017/09 is referred under "
                                           "delegation 'chief-constables' of decision "
                                           "WWA/PCC/D/2017/05 without the referral role '" +
                                           wa_pcc.role + "'"),
                                 HasSubstr("requires that delegation's referral roles"))));
  referral.add_required_signatory_roles(wa_pcc.role);
  ASSERT_THAT(Send({Ev(referral)}), GrpcOk());

  // The register shows the delegation, what was referred back under it, and
  // under what the referral came.
  auto query = v1::QueryService::NewStub(daemon_.NewChannel());
  v1::GetDecisionRegisterRequest request;
  request.set_organisation_id("WWA");
  request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  request.mutable_as_at()->set_position(Head());
  v1::GetDecisionRegisterResponse reg;
  grpc::ClientContext context;
  ASSERT_THAT(query->GetDecisionRegister(&context, request, &reg), GrpcOk());
  ASSERT_EQ(reg.decisions_size(), 2);
  const v1::DecisionEntry& delegating = reg.decisions(0);
  EXPECT_EQ(delegating.reference(), "PCC/D/2017/05");
  ASSERT_EQ(delegating.delegated_authorities_size(), 1);
  EXPECT_EQ(delegating.delegated_authorities(0).SerializeAsString(),
            authority->SerializeAsString());
  ASSERT_EQ(delegating.referrals_size(), 1);
  EXPECT_EQ(delegating.referrals(0).reference(), "PCC/D/2017/09");
  EXPECT_EQ(delegating.referrals(0).delegation_id(), "chief-constables");
  EXPECT_EQ(delegating.referrals(0).status(), v1::DECISION_STATUS_PENDING);
  EXPECT_EQ(reg.decisions(1).referred_under().reference(), "PCC/D/2017/05");
  // Approved when its last required signature took effect; the referral, pending, is not.
  EXPECT_TRUE(delegating.has_proposed_time());
  ASSERT_TRUE(delegating.has_approved_time());
  EXPECT_GE(ToMicros(delegating.approved_time()), ToMicros(delegating.proposed_time()));
  EXPECT_TRUE(reg.decisions(1).has_proposed_time());
  EXPECT_FALSE(reg.decisions(1).has_approved_time());
  CliRun cli = Cli(absl::StrCat("--server ", daemon_.address(), " decisions --organisation WWA"),
                   "NO_COLOR=1");
  ASSERT_EQ(cli.code, 0) << cli.err;
  EXPECT_THAT(cli.out,
              AllOf(HasSubstr("\n  Related decisions: 2015/30\n"),
                    HasSubstr("\n  Signed by Warwickshire Chief Constable (Holder of wa-cc-2017) (no "
                              "date written beside the signature)\n  Delegates authority "
                              "(chief-constables) to "
                              "West Mercia Chief Constable and Warwickshire Chief Constable: use "
                              "the approved investments and develop savings as described; refers "
                              "back to West Mercia Police and Crime Commissioner and Warwickshire "
                              "Police and Crime Commissioner: spend proposals considered novel, "
                              "contentious or recursive; referred back so far: PCC/D/2017/09 "
                              "(pending)\n"),
                    HasSubstr("WWA PCC/D/2017/09:\n  Proposed effective 20"),
                    HasSubstr("Z\n  Recommendation 1: approve it\n  Amount: £250,000.00 "
                              "capital from Invest to save reserve\n  Referred back under "
                              "PCC/D/2017/05's "
                              "delegated authority (chief-constables)\n")));
}

// Evolution: a log written by a newer version, holding a govledger.v1 type this
// version does not know, is read, listed and verified after a restart; never a
// crash.
TEST_F(GovernanceSeedsTest,
       UnknownEventTypeFromANewerVersionIsReadListedAndVerified) {
  ASSERT_THAT(Send({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))}),
              GrpcOk());
  ExitStatus exit = daemon_.Stop();
  ASSERT_TRUE(exit.Success()) << exit.ToString();
  v1::Event future;
  future.set_event_id(NextId());
  future.set_stream_id("programme/LPP");
  future.set_event_type("govledger.v1.ProgrammeRenamed");
  future.set_payload(std::string("\x0a\x03LPP\x12\x07New LPP", 14));
  {
    // What a newer govledgerd would have written: the same store, a ledger that
    // accepts it.
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
        RocksDbEventStore::Open(daemon_.data_dir(), RocksDbOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    SystemClock clock;
    absl::StatusOr<std::unique_ptr<Ledger>> newer =
        Ledger::Open(store->get(), &clock);
    ASSERT_TRUE(newer.ok()) << newer.status();
    v1::AppendRequest request;
    *request.add_events() = future;
    ASSERT_TRUE((*newer)->Append(request, "govledgerd-v2").ok());
  }
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Stderr();
  stub_ = daemon_.NewStub();
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].event_type(), "govledger.v1.ProgrammeRenamed");
  EXPECT_EQ((*events)[2].payload(), future.payload());
  absl::StatusOr<std::vector<v1::Event>> stream =
      ReadAll(*stub_, "programme/LPP");
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(stream->size(), 2u);
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_TRUE(head.ok());
  EXPECT_TRUE(ChainVerifies(*events, *head));
  // Typed appends still work; new events of the unknown type are refused by
  // this version.
  EXPECT_THAT(Send({Rated(ProgrammeRef("LPP"), v1::RAG_GREEN, 5)}), GrpcOk());
  v1::Event again = future;
  again.set_event_id(NextId());
  EXPECT_THAT(Send({again}),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("govledger.v1.ProgrammeRenamed")));
}

}  // namespace
}  // namespace govledger::testing
