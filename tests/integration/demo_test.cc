// The demo ledger (deploy/demo/, described in its README.md) loaded into the
// real govledgerd through the real CLI, every file in file-name order, as
// deploy/run.sh loads it: it loads without a refusal and a rerun stores nothing
// new; the two signed decisions are approved (the ledger verified each
// signature on append) and the IAB paper, which seeks approval, is pending; a decision changed after signing is refused at its
// signature's line; and seed 000's figures (deploy/demo/10-seed000-*) come back, as
// known at plan weeks 74 and 86, through QueryService and through `govledger
// report --json`.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "govledger/v1/query.grpc.pb.h"
#include "govledger/v1/report.pb.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One demo file: its path and its non-blank lines.
struct DemoFile {
  std::string path;
  std::vector<std::string> lines;
};

// The demo's JSON Lines files in file-name order (the order deploy/run.sh loads
// them).
std::vector<DemoFile> ReadDemo() {
  std::vector<std::string> paths;
  for (const fs::directory_entry& e :
       fs::directory_iterator(GOVLEDGER_DEMO_DIR)) {
    if (e.is_regular_file() && e.path().extension() == ".jsonl")
      paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<DemoFile> files;
  for (const std::string& path : paths) {
    DemoFile f{path, {}};
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      if (line.find_first_not_of(" \t\r") != std::string::npos)
        f.lines.push_back(line);
    }
    files.push_back(std::move(f));
  }
  return files;
}

size_t LineCount(const std::vector<DemoFile>& files) {
  size_t n = 0;
  for (const DemoFile& f : files) n += f.lines.size();
  return n;
}

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

v1::AsAt Week(int week) {
  v1::AsAt a;
  a.mutable_programme_week()->set_programme_id("LPP");
  a.mutable_programme_week()->set_week(week);
  a.set_mode(v1::AS_AT_MODE_AS_KNOWN);
  return a;
}

// The open projects' last ratings, counted.
std::map<v1::Rag, int> OpenProjectsByRating(
    const v1::GetProgrammeStatusResponse& r) {
  std::map<v1::Rag, int> out;
  for (const v1::RagCount& c : r.project_rag_counts()) out[c.rag()] = c.count();
  return out;
}

class DemoTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    query_ = v1::QueryService::NewStub(daemon_.NewChannel());
    demo_ = ReadDemo();
  }

  std::string Server() const {
    return absl::StrCat("--server ", daemon_.address());
  }

  // `govledger import` of `files`, in order, as deploy/run.sh runs it.
  CliRun Import(const std::vector<DemoFile>& files) {
    std::vector<std::string> paths;
    for (const DemoFile& f : files) paths.push_back(Quoted(f.path));
    return Cli(absl::StrCat(Server(), " import --actor demo-test ",
                            absl::StrJoin(paths, " ")));
  }

  // Loads the whole demo; the test fails unless it loads.
  void LoadDemo() {
    CliRun run = Import(demo_);
    ASSERT_EQ(run.code, 0) << run.err;
  }

  uint64_t Head() { return GetHead(*stub_)->position(); }

  grpc::Status Decisions(const std::string& organisation,
                         v1::GetDecisionRegisterResponse* out) {
    v1::GetDecisionRegisterRequest request;
    request.set_organisation_id(organisation);
    request.mutable_as_at()->set_position(Head());
    request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return query_->GetDecisionRegister(&context, request, out);
  }

  std::unique_ptr<v1::QueryService::Stub> query_;
  std::vector<DemoFile> demo_;
};

TEST_F(DemoTest, LoadsInFileNameOrderAndARerunStoresNothingNew) {
  ASSERT_GE(demo_.size(), 5u) << "demo files in " << GOVLEDGER_DEMO_DIR;
  EXPECT_EQ(fs::path(demo_.front().path).filename(), "00-organisations.jsonl");
  const size_t lines = LineCount(demo_);

  CliRun first = Import(demo_);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_THAT(first.out,
              HasSubstr(absl::StrCat(lines, " new, 0 already stored")));
  EXPECT_EQ(Head(), lines);

  // deploy/run.sh imports on every start: nothing new is stored.
  CliRun again = Import(demo_);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out,
              HasSubstr(absl::StrCat("0 new, ", lines, " already stored")));
  EXPECT_EQ(Head(), lines);

  // Every event is a typed governance event (checked by the rules on append),
  // recorded by the import's actor, and effective in 2015-2017, when the
  // papers' facts became true, not today.
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), lines);
  for (const v1::Event& e : *events) {
    SCOPED_TRACE(e.event_id());
    EXPECT_THAT(e.event_type(), ::testing::StartsWith("govledger.v1."));
    EXPECT_EQ(e.actor(), "demo-test");
    EXPECT_GE(e.effective_time().seconds(),
              1430697600);  // 2015-05-04T00:00:00Z
    EXPECT_LT(e.effective_time().seconds(),
              1514764800);  // 2018-01-01T00:00:00Z
  }
  CliRun verify = Cli(absl::StrCat(Server(), " verify"));
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
  // The two decisions' five signatures, re-verified from the log, with the five keys.
  EXPECT_THAT(verify.out, HasSubstr("decision signatures: 5 verified (2 decisions)"));
  // Each with the organisation it signs for (a reviewer's: an auditor could not tell a key of
  // another organisation).
  EXPECT_THAT(verify.out, HasSubstr("  mopac-dmpc-2016  Sophie Linden, Deputy Mayor for "
                                    "Policing and Crime, for organisation MOPAC  public key "));
}

TEST_F(DemoTest, TheTwoSignedDecisionsAreApprovedAndTheIabPaperIsPending) {
  LoadDemo();
  struct Expected {
    std::string organisation, reference;
    std::vector<std::string> keys;
  };
  for (const Expected& want : std::vector<Expected>{
           {"MOPAC", "PCD 72", {"mopac-dmpc-2016"}},
           {"WWA",
            "PCC/D/2017/05",
            {"wm-pcc-2017", "wa-pcc-2017", "wm-cc-2017", "wa-cc-2017"}}}) {
    SCOPED_TRACE(want.reference);
    v1::GetDecisionRegisterResponse r;
    ASSERT_THAT(Decisions(want.organisation, &r), GrpcOk());
    ASSERT_EQ(r.decisions_size(), 1);
    const v1::DecisionEntry& d = r.decisions(0);
    EXPECT_EQ(d.reference(), want.reference);
    EXPECT_EQ(d.status(), v1::DECISION_STATUS_APPROVED);
    EXPECT_EQ(d.unsigned_roles_size(), 0);
    std::vector<std::string> keys;
    for (const v1::DecisionSignature& s : d.signatures())
      keys.push_back(s.key_id());
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> want_keys = want.keys;
    std::sort(want_keys.begin(), want_keys.end());
    EXPECT_EQ(keys, want_keys);
  }

  // The paper to the IAB seeks approval of the tranche's £727,946; no paper records an
  // outcome. PCD 72 approves the tranche's money: SLP's approved spend is its £730,000 alone.
  v1::GetDecisionRegisterResponse mps;
  ASSERT_THAT(Decisions("MPS", &mps), GrpcOk());
  ASSERT_EQ(mps.decisions_size(), 1);
  EXPECT_EQ(mps.decisions(0).reference(), "IAB 2016-09-22 SLP SOC");
  EXPECT_EQ(mps.decisions(0).status(), v1::DECISION_STATUS_PENDING);
  EXPECT_EQ(mps.decisions(0).signatures_size(), 0);
  EXPECT_EQ(mps.approved_spend_size(), 0);

  // PCD 72: £730,000 from the Major Change Reserve, which needed the Deputy
  // Mayor under MOPAC's £500,000 rule.
  v1::GetDecisionRegisterResponse mopac;
  ASSERT_THAT(Decisions("MOPAC", &mopac), GrpcOk());
  ASSERT_EQ(mopac.decisions(0).delegations_size(), 1);
  EXPECT_EQ(mopac.decisions(0).delegations(0).rule_id(), "DMPC-500K");
  EXPECT_EQ(mopac.decisions(0).delegations(0).counted_pence(), 73000000);
  ASSERT_EQ(mopac.approved_spend_size(), 1);
  EXPECT_EQ(mopac.approved_spend(0).funding_source(), "Major Change Reserve");
  // Signed on 05/10/2016; a Part 2 exempt for commercial sensitivity (its text never in a
  // query's answer); two recommendations; the IAB paper it follows.
  const v1::DecisionEntry& pcd72 = mopac.decisions(0);
  ASSERT_EQ(pcd72.signatures_size(), 1);
  EXPECT_EQ(pcd72.signatures(0).signed_on().ShortDebugString(), "year: 2016 month: 10 day: 5");
  EXPECT_EQ(pcd72.part2().reason(), "Commercial Sensitivity");
  EXPECT_FALSE(pcd72.part2().has_publication_deferred_until());
  EXPECT_EQ(pcd72.recommendations_size(), 2);
  EXPECT_THAT(pcd72.related_decisions(), ElementsAre("IAB 2016-09-22 SLP SOC"));
  CliRun register_text = Cli(absl::StrCat(Server(), " decisions --organisation MOPAC"));
  ASSERT_EQ(register_text.code, 0) << register_text.err;
  EXPECT_THAT(register_text.out,
              AllOf(HasSubstr("\n  Signed by Deputy Mayor for Policing and Crime (Sophie Linden), "
                              "dated 2016-10-05 beside the signature\n"),
                    HasSubstr("\n  Has a confidential Part 2: Commercial Sensitivity\n"),
                    HasSubstr("\n  Amount: £730,000.00 one-off from Major Change Reserve"),
                    // Its proposal and signature come from the record of decision.
                    ::testing::EndsWith(
                        "\nSources (where each decision comes from):\n  PCD 72: MOPAC PCD 72, "
                        "Strengthening Local Policing, as signed, with the MPS Investment "
                        "Advisory Board paper of 22 September 2016\n")));
  EXPECT_EQ(pcd72.proposed_source(), pcd72.signatures(0).source());
  EXPECT_EQ(mopac.approved_spend(0).pence(), 73000000);
  // PCC/D/2017/05: £4m approved from the Invest to save reserve; the £1.95m
  // that may be needed and the plan's £26.5m capital and £12.4m one-off revenue
  // are only noted.
  v1::GetDecisionRegisterResponse wwa;
  ASSERT_THAT(Decisions("WWA", &wwa), GrpcOk());
  ASSERT_EQ(wwa.approved_spend_size(), 1);
  EXPECT_EQ(wwa.approved_spend(0).funding_source(), "Invest to save reserve");
  EXPECT_EQ(wwa.approved_spend(0).kind(), v1::AMOUNT_KIND_ONE_OFF);
  EXPECT_EQ(wwa.approved_spend(0).pence(), 400000000);
  EXPECT_EQ(wwa.decisions(0).amounts_size(), 4);
  EXPECT_THAT(wwa.decisions(0).related_decisions(), ElementsAre("2015/30"));
  // Its four signatures carry no date written beside them; each is listed all the same.
  CliRun wwa_text = Cli(absl::StrCat(Server(), " decisions --organisation WWA"));
  ASSERT_EQ(wwa_text.code, 0) << wwa_text.err;
  size_t undated = 0;
  for (size_t at = wwa_text.out.find("\n  Signed by "); at != std::string::npos;
       at = wwa_text.out.find("\n  Signed by ", at + 1)) {
    const std::string line = wwa_text.out.substr(at + 1, wwa_text.out.find('\n', at + 1) - at - 1);
    undated += absl::EndsWith(line, " (no date written beside the signature)");
  }
  EXPECT_EQ(undated, 4u) << wwa_text.out;
  EXPECT_EQ(wwa.decisions(0).recommendations_size(), 6);
  EXPECT_FALSE(wwa.decisions(0).has_part2());
  // Recommendation 4: the Chief Constables' delegated authority, with what comes back to the
  // two Commissioners.
  ASSERT_EQ(wwa.decisions(0).delegated_authorities_size(), 1);
  const v1::DelegatedAuthority& authority = wwa.decisions(0).delegated_authorities(0);
  EXPECT_EQ(authority.delegation_id(), "chief-constables");
  EXPECT_THAT(authority.delegate_roles(),
              ElementsAre("West Mercia Chief Constable", "Warwickshire Chief Constable"));
  EXPECT_THAT(authority.referral_condition(), HasSubstr("novel, contentious or recursive"));
  EXPECT_THAT(authority.referral_roles(), ElementsAre("West Mercia Police and Crime Commissioner",
                                                      "Warwickshire Police and Crime Commissioner"));
  // The register's SIGNED column: role and holder, a holder already naming the role once.
  CliRun table = Cli(absl::StrCat(Server(), " decisions --organisation WWA"));
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out,
              AllOf(HasSubstr("West Mercia Police and Crime Commissioner (John Campion), "
                              "Warwickshire Police and Crime Commissioner (not named in the "
                              "paper), West Mercia Chief Constable (not named in the paper)"),
                    ::testing::Not(HasSubstr("Commissioner (Warwickshire"))));
}

// A programme's registration, which no report repeats: seed 001's four tranches with their
// dates, seed 004's senior responsible owner and board.
TEST_F(DemoTest, StatusShowsTheProgrammeAsRegistered) {
  LoadDemo();
  CliRun slp = Cli(absl::StrCat(Server(), " status --programme SLP"));
  ASSERT_EQ(slp.code, 0) << slp.err;
  EXPECT_THAT(slp.out,
              AllOf(HasSubstr("Organisation:  MPS\n"),
                    HasSubstr("Mobilised:     2016-07-01, a plan of 196 weeks\n"),
                    HasSubstr("Tranche 1:     2016-07-01 to 2016-12-31: Initial testing & Quick "
                              "Wins\n"),
                    HasSubstr("Tranche 4:     2018-04-01 to 2020-03-31: Further consolidation "
                              "and improvements\n")));
  CliRun lpr = Cli(absl::StrCat(Server(), " status --programme LPR"));
  ASSERT_EQ(lpr.code, 0) << lpr.err;
  EXPECT_THAT(lpr.out, AllOf(HasSubstr("\nSRO:  "), HasSubstr("Deputy Chief Constable\n"),
                             HasSubstr("\nBoard:  "),
                             HasSubstr("Excluded:      Collaborated functions; Back office "
                                       "functions\n")));
  CliRun scope = Cli(absl::StrCat(Server(), " scope --programme LPR"));
  ASSERT_EQ(scope.code, 0) << scope.err;
  EXPECT_THAT(scope.out, AllOf(HasSubstr("Items:      11 in scope, 0 removed, 0 transferred out\n"),
                               HasSubstr("Excluded:   Collaborated functions; Back office "
                                         "functions\n")));
  // Seed 004's paper rates nothing: the programme is not rated, and the paper is its progress
  // update of week 38.
  EXPECT_THAT(lpr.out, AllOf(HasSubstr("Rating:     not rated\n"),
                             HasSubstr("\nLatest reports without a rating (progress updates):\n"
                                       "  LPR: week 38, effective 2017-06-22T12:00:00Z: Update to "
                                       "the Business Coordination Board (22 June 2017)")));
  CliRun report = Cli(absl::StrCat(Server(), " report --programme LPR --week 38 --since-week 30"));
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              AllOf(HasSubstr("update at plan week 38 (no rated status report yet)"),
                    HasSubstr("The programme is not rated, unchanged since last time.\n\n"
                              "Its latest progress update (a report without a rating) is for "
                              "week 38, effective 2017-06-22T12:00:00Z:\n\n> Update to the "
                              "Business Coordination Board")));
}

// Every demo event names the paper it reconstructs: `sources` lists the four (seeds 001 and 002
// are one decision's papers), in the order the demo's files first name them, and no event
// naming none.
TEST_F(DemoTest, SourcesListsTheFourPapersAndNoEventWithoutOne) {
  LoadDemo();
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  CliRun sources = Cli(absl::StrCat(Server(), " sources"));
  ASSERT_EQ(sources.code, 0) << sources.err;
  EXPECT_THAT(sources.out, ::testing::StartsWith(absl::StrCat(
                               "4 sources named by ", head->position(), " of the ",
                               head->position(), " events in the log; 0 name none.\n\n")));
  size_t at = 0;
  for (const char* paper :
       {"Local Policing Programme Update Report to the Joint Audit Committee (its sixth "
        "update, week 86 of the plan)\n",
        "MOPAC PCD 72, Strengthening Local Policing, as signed, with the MPS Investment Advisory "
        "Board paper of 22 September 2016\n",
        "Cambridgeshire Constabulary Local Policing Review update to the Business Coordination "
        "Board, 22 June 2017\n",
        "Record of Decision PCC/D/2017/05, Mobilising Transformational Change, Police and Crime "
        "Commissioners for Warwickshire and West Mercia\n"}) {
    const size_t found = sources.out.find(paper, at);
    ASSERT_NE(found, std::string::npos) << paper << " in order in:\n" << sources.out;
    at = found;
  }
  // The LPP register cites the update report for every rating, both closures and the transfer.
  CliRun risks = Cli(absl::StrCat(Server(), " risks --programme LPP"));
  ASSERT_EQ(risks.code, 0) << risks.err;
  EXPECT_THAT(risks.out,
              ::testing::EndsWith("\nSources (where each rating, closure and transfer comes "
                                  "from):\n  every rating; closures of LPP-R01, LPP-R02; transfer "
                                  "of LPP-R03: Local Policing Programme Update Report to the Joint "
                                  "Audit Committee (its sixth update, week 86 of the plan)\n"));
  // SLP's risks are not rated: their openings are cited, not "every rating" (found by an
  // auditor's trial).
  CliRun slp = Cli(absl::StrCat(Server(), " risks --programme SLP"));
  ASSERT_EQ(slp.code, 0) << slp.err;
  EXPECT_THAT(slp.out, HasSubstr("from):\n  every opening (no risk rated): MOPAC PCD 72"));
  // OCP took LPP-R03 over between weeks 74 and 86: a transfer in, not an opening, with no
  // rating before, when it was not OCP's (found by the same trial); the transfer explains its
  // rating, and it sat nowhere of OCP's before (it had been said to sit in LPP's project,
  // beside a status and rating of nothing, and its rating explained by no event).
  CliRun ocp = Cli(absl::StrCat(Server(), " report --programme OCP --week 86 --since-week 74"));
  ASSERT_EQ(ocp.code, 0) << ocp.err;
  EXPECT_THAT(ocp.out, AllOf(HasSubstr("| LPP-R03 | status  | -      | open (transferred in) | "
                                       "39     |\n"),
                             HasSubstr("| LPP-R03 | rating  | -      | RED                   | "
                                       "39     |\n"),
                             HasSubstr("| LPP-R03 | subject | -      | programme OCP         | "
                                       "39     |\n")));
}

// The papers list SLP's nine risks and WWA's recruitment risk without ratings: the register
// holds them open and not rated, none red.
TEST_F(DemoTest, RisksThePapersDoNotRateAreNotRated) {
  LoadDemo();
  CliRun slp = Cli(absl::StrCat(Server(), " risks --programme SLP"));
  ASSERT_EQ(slp.code, 0) << slp.err;
  EXPECT_THAT(slp.out, HasSubstr("Open risks:       9, of which 0 red (unrated 9)\n"));
  EXPECT_THAT(slp.out, ::testing::Not(HasSubstr("AMBER")));
  CliRun wwa = Cli(absl::StrCat(Server(), " risks --programme WWA-CHANGE"));
  ASSERT_EQ(wwa.code, 0) << wwa.err;
  EXPECT_THAT(wwa.out, HasSubstr("1, of which 0 red (unrated 1)\n"));
  // The report says so too: "0 red" alone would read as assessed and none red.
  CliRun report = Cli(absl::StrCat(Server(),
                                   " report --programme SLP --at 2016-12-31 --since "
                                   "2016-10-01"));
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out, HasSubstr("9 open risks (9 last time), of which 0 red (0 last time) and "
                                    "9 not rated (9 last time).\n"));
  CliRun history = Cli(absl::StrCat(Server(), " history risk/WWA-R01"));
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_THAT(history.out,
              AllOf(HasSubstr("rating: not rated"),
                    HasSubstr("\nSources (where each fact comes from):\n"),
                    HasSubstr(": Record of Decision PCC/D/2017/05, Mobilising Transformational "
                              "Change, Police and Crime Commissioners for Warwickshire and West "
                              "Mercia\n")));
  // A paper behind several events is listed once, with their positions.
  CliRun lpr = Cli(absl::StrCat(Server(), " history programme/LPR"));
  ASSERT_EQ(lpr.code, 0) << lpr.err;
  const size_t sources = lpr.out.find("\nSources (where each fact comes from):\n  ");
  ASSERT_NE(sources, std::string::npos) << lpr.out;
  const std::string block = lpr.out.substr(sources);
  EXPECT_THAT(block, ::testing::MatchesRegex(
                         "\nSources \\(where each fact comes from\\):\n  [0-9]+((, |-)[0-9]+)+: "
                         "Cambridgeshire Constabulary Local Policing Review update to the "
                         "Business Coordination Board, 22 June 2017\n"));
}

// The signatures bind the decisions: a copy of the demo whose PCD 72 asks for
// £1 more loads up to PCD 72's signature and is refused there, naming the file
// and line; the events before it stay stored. Without the digest the signature
// names, the ledger's own Ed25519 check refuses it.
TEST_F(DemoTest, ADecisionChangedAfterSigningIsRefusedAtItsSignature) {
  TempDir dir;
  std::vector<DemoFile> changed = demo_;
  std::string* proposal = nullptr;
  std::string* signature = nullptr;
  size_t stored_before = 0, signature_line = 0;
  std::string signature_file;
  for (DemoFile& f : changed) {
    f.path = dir.path() + "/" + fs::path(f.path).filename().string();
    for (size_t i = 0; i < f.lines.size(); ++i) {
      std::string& line = f.lines[i];
      const bool pcd72 = line.find("\"streamId\":\"decision/MOPAC/PCD-72\"") !=
                         std::string::npos;
      if (pcd72 &&
          line.find("govledger.v1.DecisionProposed") != std::string::npos) {
        proposal = &line;
      }
      if (pcd72 &&
          line.find("govledger.v1.DecisionSigned") != std::string::npos) {
        signature = &line;
        signature_file = f.path;
        signature_line = i + 1;
      }
    }
    if (signature == nullptr) stored_before += f.lines.size();
  }
  ASSERT_NE(proposal, nullptr);
  ASSERT_NE(signature, nullptr);
  stored_before += signature_line - 1;
  const std::string amount = "\"pence\":73000000";
  ASSERT_NE(proposal->find(amount), std::string::npos);
  proposal->replace(proposal->find(amount), amount.size(),
                    "\"pence\":73000100");

  auto write = [&]() {
    for (const DemoFile& f : changed) {
      std::ofstream out(f.path, std::ios::trunc);
      for (const std::string& line : f.lines) out << line << "\n";
    }
  };
  write();
  CliRun run = Import(changed);
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_THAT(run.err,
              HasSubstr(absl::StrCat(signature_file, ":", signature_line)));
  EXPECT_THAT(
      run.err,
      HasSubstr("has a different digest from the one this signature names"));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat(stored_before,
                                              " events before it are stored")));
  EXPECT_EQ(Head(), stored_before);

  *signature =
      std::regex_replace(*signature, std::regex(",\"digest\":\"[^\"]*\""), "");
  write();
  run = Import(changed);
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_THAT(run.err,
              HasSubstr(absl::StrCat(signature_file, ":", signature_line)));
  EXPECT_THAT(
      run.err,
      HasSubstr(
          "has a signature that does not verify with key mopac-dmpc-2016"));
  EXPECT_EQ(Head(), stored_before);
}

// deploy/demo/sign.sh, run on a copy of the demo as a checkout leaves it (private keys 0644,
// which `decision sign` refuses: the script signs with a 0600 copy), with every signature and
// public key blanked, writes them back byte for byte: its README's procedure works, and Ed25519
// and the digests are deterministic.
TEST_F(DemoTest, SignShWritesBackEverySignatureAndPublicKey) {
  TempDir dir;
  const fs::path demo = fs::path(dir.path()) / "demo";
  fs::copy(GOVLEDGER_DEMO_DIR, demo, fs::copy_options::recursive);
  for (const fs::directory_entry& e : fs::directory_iterator(demo / "keys")) {
    fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write |
                                  fs::perms::group_read | fs::perms::others_read);
  }
  int blanked = 0;
  for (const DemoFile& f : demo_) {
    std::ofstream out(demo / fs::path(f.path).filename(), std::ios::trunc);
    for (const std::string& line : f.lines) {
      const std::string bare = std::regex_replace(
          line, std::regex("\"(signature|publicKey)\":\"[^\"]*\""), "\"$1\":\"\"");
      blanked += bare != line;
      out << bare << "\n";
    }
  }
  ASSERT_GE(blanked, 5);
  const std::string build = fs::path(GOVLEDGER_CLI_PATH).parent_path().parent_path();
  CliRun run =
      RunProgram("bash", absl::StrCat(Quoted((demo / "sign.sh").string()), " ", Quoted(build)));
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_THAT(run.out,
              HasSubstr(absl::StrCat("keys and signatures written to ", demo_.size(), " files")));
  for (const DemoFile& f : demo_) {
    std::ifstream original(f.path), signed_again(demo / fs::path(f.path).filename());
    std::stringstream a, b;
    a << original.rdbuf();
    b << signed_again.rdbuf();
    EXPECT_EQ(b.str(), a.str()) << f.path;
  }
}

// DOMAIN.md's worked check: as at week 74, of LPP's five projects one AMBER and
// four GREEN, 14 open risks of which 8 red; as at week 86, programme AMBER,
// three GREEN and two AMBER, 11 open risks of which 5 red. Plus the report's
// other facts: PCSO and CJ closed with £4.5m a year, Investigations through
// Gate 3 and forecast at £6m, Response at £1.65m, three scope changes.
TEST_F(DemoTest, Seed000FiguresThroughQueryService) {
  LoadDemo();
  auto call = [&](auto method, auto request, auto* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return ((*query_).*method)(&context, request, response);
  };
  v1::GetProgrammeStatusRequest status_request;
  status_request.set_programme_id("LPP");
  v1::GetRiskRegisterRequest risk_request;
  risk_request.set_programme_id("LPP");

  *status_request.mutable_as_at() = Week(74);
  v1::GetProgrammeStatusResponse status74;
  ASSERT_THAT(call(&v1::QueryService::Stub::GetProgrammeStatus, status_request,
                   &status74),
              GrpcOk());
  EXPECT_EQ(status74.plan_week(), 74);
  EXPECT_EQ(OpenProjectsByRating(status74),
            (std::map<v1::Rag, int>{{v1::RAG_GREEN, 4}, {v1::RAG_AMBER, 1}}));
  EXPECT_EQ(status74.projects_size(), 5);
  *risk_request.mutable_as_at() = Week(74);
  v1::GetRiskRegisterResponse risks74;
  ASSERT_THAT(
      call(&v1::QueryService::Stub::GetRiskRegister, risk_request, &risks74),
      GrpcOk());
  EXPECT_EQ(risks74.open(), 14);
  EXPECT_EQ(risks74.open_red(), 8);

  *status_request.mutable_as_at() = Week(86);
  v1::GetProgrammeStatusResponse status86;
  ASSERT_THAT(call(&v1::QueryService::Stub::GetProgrammeStatus, status_request,
                   &status86),
              GrpcOk());
  EXPECT_EQ(status86.programme().rag(), v1::RAG_AMBER);
  EXPECT_EQ(OpenProjectsByRating(status86),
            (std::map<v1::Rag, int>{{v1::RAG_GREEN, 3}, {v1::RAG_AMBER, 2}}));
  *risk_request.mutable_as_at() = Week(86);
  v1::GetRiskRegisterResponse risks86;
  ASSERT_THAT(
      call(&v1::QueryService::Stub::GetRiskRegister, risk_request, &risks86),
      GrpcOk());
  EXPECT_EQ(risks86.open(), 11);
  EXPECT_EQ(risks86.open_red(), 5);
  std::vector<std::string> red;
  for (const v1::RiskEntry& r : risks86.risks()) {
    if (r.status() == v1::RISK_STATUS_OPEN && r.rating() == v1::RAG_RED)
      red.push_back(r.title());
  }
  EXPECT_THAT(red, ElementsAre("Technology", "Mobile project and Niche delays",
                               "Transfer of skills from PCWs",
                               "Public Protection recruitment",
                               "Caseload for the 7 Home Office crime types"));

  v1::GetBenefitsRequest benefits_request;
  benefits_request.set_programme_id("LPP");
  *benefits_request.mutable_as_at() = Week(86);
  v1::GetBenefitsResponse benefits;
  ASSERT_THAT(
      call(&v1::QueryService::Stub::GetBenefits, benefits_request, &benefits),
      GrpcOk());
  EXPECT_EQ(benefits.total_closure_annual_benefits_pence(),
            450000000);                                          // £4.5m
  EXPECT_EQ(benefits.total_forecast_annual_pence(), 765000000);  // £6m + £1.65m

  v1::GetScopeMapRequest scope_request;
  scope_request.set_programme_id("LPP");
  *scope_request.mutable_as_at() = Week(86);
  v1::GetScopeMapResponse scope;
  ASSERT_THAT(call(&v1::QueryService::Stub::GetScopeMap, scope_request, &scope),
              GrpcOk());
  EXPECT_EQ(scope.transferred_out(), 2);
  EXPECT_EQ(scope.in_scope(), 1);

  v1::GetEntityHistoryRequest history_request;
  history_request.set_stream_id("project/LPP-INV");
  *history_request.mutable_as_at() = Week(86);
  v1::GetEntityHistoryResponse history;
  ASSERT_THAT(call(&v1::QueryService::Stub::GetEntityHistory, history_request,
                   &history),
              GrpcOk());
  std::vector<std::string> types;
  for (const v1::EntityChange& c : history.changes()) {
    types.push_back(c.event().event_type().substr(13));
    // Every demo event names the paper it reconstructs.
    EXPECT_THAT(c.event().source(), HasSubstr("Local Policing Programme Update Report"));
  }
  EXPECT_THAT(types, ElementsAre("ProjectRegistered", "StatusReported",
                                 "MilestoneReached", "GatePassed",
                                 "BenefitForecast", "StatusReported"));
}

// The same figures as the auditors read them: `govledger report --programme LPP
// --week 86
// --since-week 74 --json`.
TEST_F(DemoTest, ReportReproducesSeed000) {
  LoadDemo();
  CliRun run = Cli(absl::StrCat(
      Server(), " report --programme LPP --week 86 --since-week 74 --json"));
  ASSERT_EQ(run.code, 0) << run.err;
  v1::ProgrammeReport report;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(run.out, &report).ok())
      << run.out;
  auto by_rating = [](const v1::ReportPoint& point) {
    std::map<v1::Rag, int> by;
    for (const v1::RagCount& c : point.projects_by_rating()) {
      by[c.rag()] = c.count();
    }
    return std::vector<int>{by[v1::RAG_GREEN], by[v1::RAG_AMBER],
                            by[v1::RAG_RED]};
  };
  const v1::ReportPoint& now = report.current();
  const v1::ReportPoint& then = report.previous();

  EXPECT_EQ(now.programme().rag(), v1::RAG_AMBER);
  EXPECT_THAT(by_rating(now), ElementsAre(3, 2, 0));  // GREEN, AMBER, RED
  EXPECT_EQ(now.open_risks(), 11);
  EXPECT_EQ(now.red_risks(), 5);
  std::vector<std::string> red;
  for (const v1::RiskEntry& e : now.red_risk_list()) red.push_back(e.risk_id());
  EXPECT_THAT(
      red, ElementsAre("LPP-R05", "LPP-R06", "LPP-R07", "LPP-R08", "LPP-R09"));

  // Seed 000 does not give the programme's week-74 rating; the demo records
  // none.
  EXPECT_FALSE(then.programme().rated());
  EXPECT_THAT(by_rating(then), ElementsAre(4, 1, 0));
  EXPECT_EQ(then.open_risks(), 14);
  EXPECT_EQ(then.red_risks(), 8);

  std::vector<std::string> closed;
  int64_t savings = 0;
  for (const v1::ClosedProject& p : report.projects_closed_since()) {
    closed.push_back(p.project_id());
    savings += p.annual_benefits_pence();
  }
  std::sort(closed.begin(), closed.end());
  EXPECT_THAT(closed, ElementsAre("LPP-CJ", "LPP-PCSO"));
  EXPECT_EQ(savings, 450000000);  // £4.5m a year
  std::vector<std::string> scope;
  for (const v1::ReportScopeChange& c : report.scope_changes()) {
    scope.push_back(c.scope_item_id());
  }
  std::sort(scope.begin(), scope.end());
  EXPECT_THAT(scope,
              ElementsAre("LPP-BATS-DISCOVERY", "LPP-SVC-OPS", "LPP-SVC-SPEC"));
}

// README, "Try it: what was known when", step by step: a correction and a fact
// recorded late change what is now known about week 77, while the record as it
// stood before them is still there to be read.
TEST_F(DemoTest, ACorrectionAndALateFactChangeWhatIsKnownNotWhatWasRecorded) {
  LoadDemo();
  const int64_t loaded = static_cast<int64_t>(LineCount(demo_));
  auto risks_at_week_77 = [&] {
    CliRun run = Cli(absl::StrCat(Server(), " risks --programme LPP --week 77"));
    EXPECT_EQ(run.code, 0) << run.err;
    return run.out;
  };
  EXPECT_THAT(risks_at_week_77(),
              HasSubstr("Open risks:       14, of which 8 red"));
  CliRun corrected = Cli(absl::StrCat(
      Server(),
      " append --actor 'J. Smith (PMO)' --stream risk/LPP-R01"
      " --type govledger.v1.CorrectionRecorded"
      " --payload '{\"correctedEventId\":\"5eed1000-0000-4000-8000-000000000032\","
      "\"reason\":\"The closure was effective in week 76, not week 78\"}'"));
  ASSERT_EQ(corrected.code, 0) << corrected.err;
  CliRun closed = Cli(absl::StrCat(
      Server(),
      " append --actor 'J. Smith (PMO)' --type govledger.v1.RiskClosed"
      " --effective 2016-10-14T12:00:00Z"
      " --payload '{\"riskId\":\"LPP-R01\",\"reason\":\"Closed following the"
      " formal closure of the PCSO project.\"}'"));
  ASSERT_EQ(closed.code, 0) << closed.err;

  // As now known, LPP-R01 was closed in week 76.
  EXPECT_THAT(risks_at_week_77(),
              HasSubstr("Open risks:       13, of which 7 red"));
  // As believed before the correction (the log read to where the demo ended): 14 and 8.
  CliRun believed = Cli(absl::StrCat(Server(), " risks --programme LPP --week 77 --known-through ",
                                     loaded));
  ASSERT_EQ(believed.code, 0) << believed.err;
  EXPECT_THAT(believed.out, HasSubstr("Open risks:       14, of which 8 red"));
  // Its history now leaves the voided closure out of its changes, lists the correction (naming
  // what it corrects) and the closure recorded late, and lists the voided closure apart with
  // the correction that voids it; as recorded when the demo was loaded, it holds the first
  // closure.
  const std::string voided = absl::StrCat(
      "\n", std::string(6, ' '), "37  ");  // the voided closure's row
  CliRun now = Cli(absl::StrCat(Server(), " history risk/LPP-R01"));
  ASSERT_EQ(now.code, 0) << now.err;
  EXPECT_THAT(now.out, HasSubstr("The closure was effective in week 76"));
  EXPECT_THAT(now.out, HasSubstr("J. Smith (PMO)  CorrectionRecorded"));
  EXPECT_THAT(now.out, HasSubstr("2016-10-14T12:00:00Z"));
  EXPECT_THAT(now.out, HasSubstr("corrects 37 (RiskClosed)"));
  const size_t left_out = now.out.find("Left out: 1 event voided by a correction");
  ASSERT_NE(left_out, std::string::npos) << now.out;
  EXPECT_GT(now.out.find(voided), left_out) << "37 is a row of the voided events only";
  EXPECT_THAT(now.out.substr(left_out),
              HasSubstr(absl::StrCat("RiskClosed  ", loaded + 1,  // the correction
                                     " (J. Smith (PMO))  The closure was effective in week 76")));
  CliRun then = Cli(absl::StrCat(Server(), " history risk/LPP-R01 --position ",
                                 loaded));
  ASSERT_EQ(then.code, 0) << then.err;
  EXPECT_NE(then.out.find(voided), std::string::npos) << then.out;
  EXPECT_THAT(then.out, HasSubstr("2016-10-26T12:00:00Z"));
  EXPECT_THAT(then.out, ::testing::Not(HasSubstr("week 76")));
  // At the head the risk is closed either way; the events that tell the points
  // apart are the voided closure and the two new events.
  CliRun compare = Cli(absl::StrCat(Server(), " compare --programme LPP",
                                    " --since-position ", loaded));
  ASSERT_EQ(compare.code, 0) << compare.err;
  EXPECT_THAT(compare.out, HasSubstr("No differences."));
  EXPECT_THAT(compare.out, HasSubstr("3 events tell the two points apart for LPP"));
}

}  // namespace
}  // namespace govledger::testing
