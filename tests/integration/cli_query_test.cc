// The auditors' query commands of the real govledger CLI (cli/query_commands.h) against a real
// govledgerd holding seed 000 (tests/seed000_events.h, recorded through gRPC as
// query_service_test.cc does): tables checked against their exact text, --json parsed back into
// the response types, the programme update report at week 86 since week 74 reproducing seed
// 000's figures (deploy/demo/10-seed000-*) as Markdown and as JSON, colour only on a terminal
// without NO_COLOR, and bad arguments (exit 2), server refusals (exit 1) and an unreachable
// server (exit 3).
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "govledger/v1/query.pb.h"
#include "govledger/v1/report.pb.h"
#include "ledger/common/time.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/rocksdb_event_store.h"
#include "ledger/stored_event.h"
#include "tests/governance_events.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/seed000_events.h"

namespace govledger::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Seed 000 recorded as its batches: positions 1-11 registrations, 12-25 the risk register,
// 26-30 the week-74 ratings, 31-50 everything up to the week-86 report.
constexpr uint64_t kWeek74Position = 30;
constexpr uint64_t kHead = 50;

class CliQueryTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    uint64_t head = 0;
    for (const std::vector<v1::Event>& batch : seed000::BuildSeed000().Batches()) {
      v1::AppendResponse response;
      ASSERT_THAT(Append(*stub_, MakeAppend(batch), &response, "clerk"), GrpcOk());
      head = response.head_position();
      if (batch.size() == 5) {  // the week-74 ratings
        ASSERT_EQ(head, kWeek74Position);
      }
    }
    ASSERT_EQ(head, kHead);
  }

  // Runs the CLI against the daemon, without colour.
  CliRun Run(const std::string& args) {
    return Cli(absl::StrCat("--server ", daemon_.address(), " ", args), "NO_COLOR=1");
  }

  // Runs a --json command and parses its one line of output into `out`.
  void RunJson(const std::string& args, google::protobuf::Message* out) {
    CliRun r = Run(absl::StrCat(args, " --json"));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    ASSERT_THAT(r.out, EndsWith("\n"));
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "not one line: " << r.out;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, out).ok()) << r.out;
  }
};

// A report point's open projects rated GREEN, AMBER and RED, in that order.
std::vector<int> RatingCounts(const v1::ReportPoint& point) {
  std::map<v1::Rag, int> by;
  for (const v1::RagCount& c : point.projects_by_rating()) by[c.rag()] = c.count();
  return {by[v1::RAG_GREEN], by[v1::RAG_AMBER], by[v1::RAG_RED]};
}

// A status report appended without --effective takes effect now: the CLI says so (once it is
// stored), and says nothing when the paper's date is given.
TEST_F(CliQueryTest, AStatusReportWithoutAnEffectiveTimeIsPointedOut) {
  const std::string payload =
      R"('{"subject":{"kind":"WORK_KIND_PROJECT","id":"LPP-INV"},"rag":"RAG_AMBER","planWeek":74}')";
  CliRun now = Run(absl::StrCat("append --type govledger.v1.StatusReported --payload ", payload));
  ASSERT_EQ(now.code, 0) << now.err;
  EXPECT_THAT(now.err, AllOf(HasSubstr("the status report for plan week 74 was given no "
                                       "--effective, so it took effect when the server "
                                       "received it"),
                             HasSubstr("--effective DATE")));
  CliRun dated = Run(absl::StrCat("append --type govledger.v1.StatusReported --effective "
                                  "2016-10-14 --payload ", payload));
  ASSERT_EQ(dated.code, 0) << dated.err;
  EXPECT_EQ(dated.err, "");
  // An import says how many it stored so, and the first's line; a rerun stores none of them
  // again, and says nothing.
  TempDir dir;
  const std::string lines = dir.path() + "/reports.jsonl";
  {
    std::ofstream out(lines);
    for (int week : {75, 76}) {
      out << R"({"eventId":"5eed7000-0000-4000-8000-00000000000)" << week % 10
          << R"(","eventType":"govledger.v1.StatusReported","payload":{"subject":)"
          << R"({"kind":"WORK_KIND_PROJECT","id":"LPP-INV"},"rag":"RAG_AMBER","planWeek":)"
          << week << "}}\n";
    }
    out << R"({"eventId":"5eed7000-0000-4000-8000-000000000077","effectiveTime":)"
        << R"("2016-10-28T12:00:00Z","eventType":"govledger.v1.StatusReported","payload":)"
        << R"({"subject":{"kind":"WORK_KIND_PROJECT","id":"LPP-INV"},"rag":"RAG_AMBER",)"
        << R"("planWeek":76}})" << "\n";
  }
  CliRun imported = Run("import " + lines);
  ASSERT_EQ(imported.code, 0) << imported.err;
  EXPECT_THAT(imported.err, HasSubstr(absl::StrCat(
                                "note: 2 events of papers (the first at ", lines,
                                ":1, the status report for plan week 75) had no effectiveTime, "
                                "so they took effect when the server received them")));
  CliRun again = Run("import " + lines);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("0 new, 3 already stored"));
  EXPECT_EQ(again.err, "");

  // An import stopped by a refused line has stored the reports before it: the note says so.
  const std::string stopped = dir.path() + "/stopped.jsonl";
  {
    std::ofstream out(stopped);
    out << R"({"eventId":"5eed7000-0000-4000-8000-000000000078","eventType":)"
        << R"("govledger.v1.StatusReported","payload":{"subject":{"kind":"WORK_KIND_PROJECT",)"
        << R"("id":"LPP-INV"},"rag":"RAG_AMBER","planWeek":78}})" << "\n";
    out << R"({"eventId":"5eed7000-0000-4000-8000-000000000079","eventType":)"
        << R"("govledger.v1.RiskClosed","payload":{"riskId":"LPP-R99","reason":"gone"}})"
        << "\n";
  }
  CliRun refused = Run("import " + stopped);
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr(absl::StrCat(stopped, ":2: event")),
                    HasSubstr(absl::StrCat("note: 1 event of a paper (at ", stopped,
                                           ":1, the status report for plan week 78) had no "
                                           "effectiveTime"))));
  // Not only status reports: a re-rating recorded without its date is said too (an auditor
  // re-rated a risk "today" by mistake, unwarned); a registration taking effect now is not.
  CliRun rerated = Run(
      R"(append --type govledger.v1.RiskRerated --payload '{"riskId":"LPP-R04","rating":"RAG_RED"}')");
  ASSERT_EQ(rerated.code, 0) << rerated.err;
  EXPECT_THAT(rerated.err, HasSubstr("note: the RiskRerated was given no --effective, so it took "
                                     "effect when the server received it"));
  CliRun registered =
      Run(R"(append --type govledger.v1.ProjectRegistered --payload '{"projectId":"LPP-NEW",)"
          R"("programmeId":"LPP","name":"New"}')");
  ASSERT_EQ(registered.code, 0) << registered.err;
  EXPECT_EQ(registered.err, "");
}

// A report effective within the day's grace before mobilisation is said to be so, not to be
// "in week 0 of the plan".
TEST_F(CliQueryTest, AReportTheEveningBeforeMobilisationIsSaidToBeSo) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::AppendResponse response;
  v1::ProgrammeRegistered p5 = Programme("P5", "LPF");
  *p5.mutable_mobilisation_date() = MakeDate(2016, 1, 4);
  v1::Event report = Ev(Status(ProgrammeRef("P5"), v1::RAG_GREEN, 1));
  SetMicros(projections::DateMicros(MakeDate(2016, 1, 3)) + 23 * 3600 * kMicrosPerSecond +
                30 * 60 * kMicrosPerSecond,
            report.mutable_effective_time());
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(p5), MakeDate(2016, 1, 1)), report}),
                     &response),
              GrpcOk());
  CliRun status = Run("status --programme P5");
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("(reported for week 1, effective 2016-01-03T23:30:00Z, the "
                                    "day before week 1 of the plan began)"));
  EXPECT_THAT(status.out, Not(HasSubstr("week 0")));
}

// `programmes` lists what the ledger holds, for the ids every other query takes: at the head,
// at an earlier point, for one organisation; bad arguments are exit 2 before any call, an
// organisation not registered exit 1.
TEST_F(CliQueryTest, ProgrammesListsWhatTheLedgerHolds) {
  CliRun r = Run("programmes");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // (The plan week is now's, past the plan's end.)
  // Its count of events folded is a sum over the folds, as it says (a clerk read "83 events
  // folded" of a 65-event log as an error).
  EXPECT_THAT(r.out, AllOf(StartsWith("As at:   as recorded at position 50 ("),
                           HasSubstr("\nFolded:  the count sums the organisations' fold and "
                                     "each programme's: an event every programme reads counts "
                                     "in each\n"),
                           HasSubstr("\nORGANISATION  NAME                                     "
                                     "                    KIND          REGISTERED (UTC)\nLPF   "
                                     "        The police force of the Local Policing Programme "
                                     "(seed 000)  police force  2015-05-06\n"),
                           HasSubstr("\nORGANISATION  PROGRAMME  NAME                          "
                                     "           STATE  RAG    CONFIDENCE  REPORTED  PLAN WEEK"),
                           HasSubstr("\nLPF           LPP        Local Policing Programme      "
                                     "           open   AMBER  -                 86  "),
                           HasSubstr(" (the plan of 208 weeks has ended)  7 (2 closed)\n"),
                           HasSubstr("\nLPF           OCP        Operations Command Programme  "),
                           EndsWith("\nEach programme's detail: govledger status --programme LPP "
                                    "(and risks, scope, benefits, decisions, report).\n")));
  // The hint keeps the point asked about.
  // As known at the end of week 86's Sunday: its week, against the plan.
  CliRun at86 = Run("programmes --at 2016-12-25");
  ASSERT_EQ(at86.code, 0) << at86.err;
  EXPECT_THAT(at86.out, AllOf(HasSubstr("  86  86 of 208  7 (2 closed)\n"),
                              HasSubstr("govledger status --programme LPP --at 2016-12-25 (")));
  // As recorded at the week-74 ratings (status's figures there): the five projects then, none
  // closed yet, and the programme itself not rated.
  v1::ListProgrammesResponse week74;
  RunJson(absl::StrCat("programmes --organisation LPF --position ", kWeek74Position), &week74);
  ASSERT_EQ(week74.organisations_size(), 1);
  ASSERT_EQ(week74.programmes_size(), 3);
  const v1::ProgrammeEntry& lpp = week74.programmes(0);
  EXPECT_EQ(lpp.programme().ref().id(), "LPP");
  EXPECT_FALSE(lpp.programme().rated());
  EXPECT_EQ(lpp.projects_size(), 5);
  for (const v1::WorkStatus& w : lpp.projects()) EXPECT_FALSE(w.closed()) << w.ref().id();
  EXPECT_EQ(week74.as_at().position(), kWeek74Position);

  CliRun unknown = Run("programmes --organisation NOPE");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND: organisation 'NOPE' is not registered in the "
                                     "ledger; registered at this cut: LPF"));
  CliRun other_case = Run("programmes --organisation lpf");
  EXPECT_EQ(other_case.code, 1);
  EXPECT_THAT(other_case.err, HasSubstr("did you mean LPF? (ids are told apart by letter case)"));
  // As known at position 0, which has no recorded time: the cut is named, not left blank.
  CliRun at0 = Run("programmes --position 0 --as-known");
  ASSERT_EQ(at0.code, 0) << at0.err;
  EXPECT_THAT(at0.out, HasSubstr("as known before the ledger recorded anything (position 0; log "
                                 "read to position 50; 0 events folded)"));
  CliRun past = Run("programmes --position 51");
  EXPECT_EQ(past.code, 1);
  EXPECT_THAT(past.err, HasSubstr("valid positions are 0 to 50"));
  for (const std::string& bad :
       {"programmes --week 3", "programmes --organisation ''", "programmes --programme LPP",
        "programmes --position 2 --at 2016-12-25", "programmes --as-known --as-recorded",
        "programmes --known-through 3"}) {
    CliRun refused = Run(bad);
    EXPECT_EQ(refused.code, 2) << bad << ": " << refused.err;
    EXPECT_EQ(refused.out, "") << bad;
  }
  // Its messages name only what it takes.
  EXPECT_THAT(Run("programmes --position 2 --at 2016-12-25").err,
              HasSubstr("give --position or --at, not both"));
  EXPECT_THAT(Run("programmes --known-through 3").err,
              HasSubstr("goes with as known points (--at, or --as-known)"));
}

TEST_F(CliQueryTest, StatusTableAsKnownAtWeek86) {
  CliRun r = Run("status --programme LPP --week 86");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "Programme:   LPP  Local Policing Programme\n"
            "Rating:      AMBER (reported for week 86, effective 2016-12-21T12:00:00Z)\n"
            "Commentary:  a deteriorating picture\n"
            "Plan week:   86 of 208\n"
            "As at:       as known at 2016-12-25T23:59:59.999999Z (log read to position 50; 48 "
            "events folded)\n"
            "\n"
            "Organisation:  LPF\n"
            "Mobilised:     2015-05-04, a plan of 208 weeks\n"
            "Board:         Local Policing Programme Board\n"
            "\n"
            "PROJECT   NAME              STATE   RAG    CONFIDENCE  WEEK  COMMENTARY\n"
            "LPP-CJ    LPP-CJ project    closed  GREEN  -             74  -\n"
            "LPP-INV   LPP-INV project   open    AMBER  -             86  -\n"
            "LPP-PCSO  LPP-PCSO project  closed  GREEN  -             74  -\n"
            "LPP-PERF  LPP-PERF project  open    GREEN  -             86  -\n"
            "LPP-PP    LPP-PP project    open    GREEN  -             86  -\n"
            "LPP-PREV  LPP-PREV project  open    GREEN  -             86  -\n"
            "LPP-RESP  LPP-RESP project  open    AMBER  -             86  -\n"
            "\n"
            "Open projects by rating: GREEN 3, AMBER 2\n"
            "\n"
            "Gates and milestones:\n"
            "  LPP-INV: Gate 3\n");
  v1::GetProgrammeStatusResponse json;
  RunJson("status --programme LPP --week 86", &json);
  for (const v1::WorkStatus& w : json.projects()) {
    EXPECT_EQ(w.gates_passed_size(), w.ref().id() == "LPP-INV" ? 1 : 0) << w.ref().id();
  }
  // Before it passed Gate 3 (week 82), no gates.
  CliRun week74 = Run("status --programme LPP --week 74");
  ASSERT_EQ(week74.code, 0) << week74.err;
  EXPECT_THAT(week74.out, Not(HasSubstr("Gates and milestones")));
}

TEST_F(CliQueryTest, RisksTableAsKnownAtWeek74) {
  CliRun r = Run("risks --programme LPP --week 74");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string rows;
  for (int i = 1; i <= 14; ++i) {
    const bool red = i == 1 || (i >= 3 && i <= 9);
    const std::string subject = i <= 2   ? "project LPP-PCSO"
                                : i == 3 ? "project LPP-CJ  "
                                         : "programme LPP   ";
    const std::string id = absl::StrCat(i < 10 ? "LPP-R0" : "LPP-R", i);
    absl::StrAppend(&rows, id, "  ", red ? "RED  " : "AMBER", "   open    ", subject,
                    "  programme manager  ", id, "\n");
  }
  EXPECT_EQ(r.out,
            absl::StrCat(
                "Programme:        LPP\n"
                "As at:            as known at 2016-10-02T23:59:59.999999Z (log read to position "
                "50; 28 events folded)\n"
                "Open risks:       14, of which 8 red (AMBER 6, RED 8)\n"
                "Closed:           0\n"
                "Transferred out:  0\n"
                "\n"
                "RISK     RATING  STATUS  SUBJECT           OWNER              TITLE\n",
                rows,
                "\n"
                "SUBJECT           OPEN  RED  CLOSED  TRANSFERRED OUT\n"
                "programme LPP       11    6       0                0\n"
                "project LPP-CJ       1    1       0                0\n"
                "project LPP-INV      0    0       0                0\n"
                "project LPP-PCSO     2    1       0                0\n"
                "project LPP-PREV     0    0       0                0\n"
                "project LPP-RESP     0    0       0                0\n"));
  // At week 86 the CJ project's risk has passed to OCP: counted against the project.
  CliRun at86 = Run("risks --programme LPP --week 86");
  ASSERT_EQ(at86.code, 0) << at86.err;
  EXPECT_THAT(at86.out, AllOf(HasSubstr("Transferred out:  1\n"),
                              HasSubstr("programme OCP (opened against project LPP-CJ)"),
                              HasSubstr("project LPP-CJ       0    0       0                1\n"),
                              HasSubstr("project LPP-PCSO     0    0       2                0\n")));
}

TEST_F(CliQueryTest, PositionAndHeadAreAskedAsRecorded) {
  // The week-74 report's position, as recorded: the seed's week-74 figures.
  CliRun at74 = Run(absl::StrCat("status --programme LPP --position ", kWeek74Position));
  ASSERT_EQ(at74.code, 0) << at74.err;
  EXPECT_THAT(at74.out, AllOf(HasSubstr("As at:      as recorded at position 30 ("),
                              HasSubstr("Open projects by rating: GREEN 4, AMBER 1\n"),
                              HasSubstr("Rating:     not rated\n")));
  // No point: the head, as recorded.
  v1::GetRiskRegisterResponse head;
  RunJson("risks --programme LPP", &head);
  EXPECT_EQ(head.as_at().mode(), v1::AS_AT_MODE_AS_RECORDED);
  EXPECT_EQ(head.as_at().position(), kHead);
  EXPECT_EQ(head.open(), 11);
  EXPECT_EQ(head.open_red(), 5);
  // The head, as known: the same facts, effective by the head's recorded time.
  v1::GetRiskRegisterResponse known;
  RunJson("risks --programme LPP --as-known", &known);
  EXPECT_EQ(known.as_at().mode(), v1::AS_AT_MODE_AS_KNOWN);
  EXPECT_EQ(known.open(), 11);
  // A position asked as known: its recorded time is the instant, and the header says so (it
  // had shown the instant alone, as if a time had been asked).
  CliRun known_at =
      Run(absl::StrCat("status --programme LPP --as-known --position ", kWeek74Position));
  ASSERT_EQ(known_at.code, 0) << known_at.err;
  EXPECT_THAT(known_at.out,
              HasSubstr(absl::StrCat("(the recorded time of position ", kWeek74Position,
                                     "; log read to position ", kHead, "; ")));
  v1::GetProgrammeStatusResponse known_json;
  RunJson(absl::StrCat("status --programme LPP --as-known --position ", kWeek74Position),
          &known_json);
  EXPECT_EQ(known_json.as_at().time_of_position(), kWeek74Position);
  // --at with a date: the end of that day (UTC), as known; week 74 ended on 2016-10-02.
  v1::GetProgrammeStatusResponse day;
  RunJson("status --programme LPP --at 2016-10-02", &day);
  EXPECT_EQ(day.as_at().mode(), v1::AS_AT_MODE_AS_KNOWN);
  EXPECT_EQ(day.as_at().cut_time().seconds(), 1475452799);  // 2016-10-02T23:59:59.999999Z
  EXPECT_EQ(day.plan_week(), 74);
  // Today's date: the day is not over, so it means now (the server refuses a time after now).
  const absl::Time before = absl::Now();
  const std::string today = absl::FormatTime("%Y-%m-%d", before, absl::UTCTimeZone());
  v1::GetProgrammeStatusResponse today_status;
  RunJson(absl::StrCat("status --programme LPP --at ", today), &today_status);
  const absl::Time cut = absl::FromUnixMicros(today_status.as_at().cut_time().seconds() * 1000000 +
                                              today_status.as_at().cut_time().nanos() / 1000);
  EXPECT_GE(cut, absl::FromUnixMicros(absl::ToUnixMicros(before)));
  EXPECT_LE(cut, absl::Now());
  // A later day is still the future.
  const std::string tomorrow =
      absl::FormatTime("%Y-%m-%d", before + absl::Hours(24), absl::UTCTimeZone());
  CliRun future = Run(absl::StrCat("status --programme LPP --at ", tomorrow));
  EXPECT_EQ(future.code, 1);
  EXPECT_THAT(future.err, HasSubstr("is in the future"));
  // --week asked as recorded: in 2016 the ledger (written now) held nothing.
  CliRun recorded86 = Run("status --programme LPP --week 86 --as-recorded");
  EXPECT_EQ(recorded86.code, 1);
  EXPECT_THAT(recorded86.err,
              AllOf(HasSubstr("not yet registered"),
                    HasSubstr("(the ledger recorded nothing before 20"),
                    HasSubstr("or ask as known (AS_AT_MODE_AS_KNOWN; the CLI's --as-known) for "
                              "what is now known to have been true then")));
  // As known, the same week is answered.
  EXPECT_EQ(Run("status --programme LPP --week 86 --as-known").code, 0);
}

// --known-through: what the ledger, when it reached a position, held true at the point. The
// closure of LPP-R01 (week 78) is voided and recorded again in week 76.
TEST_F(CliQueryTest, KnownThroughAPositionIsWhatWasBelievedThen) {
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_TRUE(log.ok());
  std::optional<v1::Event> closure;
  for (const v1::Event& e : *log) {
    if (e.event_type() == "govledger.v1.RiskClosed" && e.stream_id() == "risk/LPP-R01") closure = e;
  }
  ASSERT_TRUE(closure.has_value());
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({gov::Correction(*closure, "closed in week 76"),
                                 seed000::EffectiveIn(76, {gov::Ev(gov::CloseRisk("LPP-R01"))})[0]}),
                     &response),
              GrpcOk());
  v1::GetRiskRegisterResponse now, then;
  RunJson("risks --programme LPP --week 77", &now);
  RunJson(absl::StrCat("risks --programme LPP --week 77 --known-through ", kHead), &then);
  EXPECT_EQ(now.open(), 13);
  EXPECT_EQ(then.open(), 14);
  EXPECT_EQ(then.as_at().position(), kHead);
  CliRun text = Run(absl::StrCat("risks --programme LPP --week 77 --known-through ", kHead));
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat("log read to position ", kHead)));
  // A report between the two beliefs about week 77.
  v1::ProgrammeReport report;
  RunJson(absl::StrCat("report --programme LPP --week 77 --since-week 77 --known-through ", kHead),
          &report);
  EXPECT_EQ(report.previous().open_risks(), 14);
  EXPECT_EQ(report.current().open_risks(), 14);  // --known-through applies to both points
  // --since-known-through gives the earlier point its own: week 77 as believed before the
  // correction against week 77 as now known (an auditor could not ask it: a reviewer's find).
  RunJson(absl::StrCat("report --programme LPP --week 77 --since-week 77 --since-known-through ",
                       kHead),
          &report);
  EXPECT_EQ(report.previous().open_risks(), 14);
  EXPECT_EQ(report.current().open_risks(), 13);
  CliRun changed =
      Run(absl::StrCat("compare --programme LPP --since-week 77 --week 77 "
                       "--since-known-through ",
                       kHead));
  ASSERT_EQ(changed.code, 0) << changed.err;
  EXPECT_THAT(changed.out, AllOf(HasSubstr("risk/LPP-R01"), Not(HasSubstr("No differences"))));
  CliRun as_recorded =
      Run("compare --programme LPP --since-position 3 --position 5 "
          "--since-known-through 3");
  EXPECT_EQ(as_recorded.code, 2);
  EXPECT_THAT(as_recorded.err, HasSubstr("--since-known-through goes with as known points"));
  // 0 is the head, as in the API.
  v1::GetRiskRegisterResponse zero;
  RunJson("risks --programme LPP --week 77 --known-through 0", &zero);
  EXPECT_EQ(zero.open(), 13);
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"risks --programme LPP --week 77 --known-through x", "is not a log position"},
           {"risks --programme LPP --position 3 --known-through 5",
            "--known-through goes with as known points"},
       }) {
    CliRun bad = Run(args);
    EXPECT_EQ(bad.code, 2) << args;
    EXPECT_THAT(bad.err, HasSubstr(message)) << args;
  }
  CliRun past = Run("risks --programme LPP --week 77 --known-through 500");
  EXPECT_EQ(past.code, 1);
  EXPECT_THAT(past.err, HasSubstr("--known-through 500 is past the head"));
  // A bound below the programme's registration: the bound, not the week, is what to change.
  CliRun early = Run("status --programme LPP --week 86 --known-through 1");
  EXPECT_EQ(early.code, 1);
  EXPECT_THAT(early.err, HasSubstr("or a later known_through (the log was read only to "
                                   "position 1)"));
  CliRun history = Run("history risk/LPP-R01 --week 86 --programme LPP --known-through 1");
  EXPECT_EQ(history.code, 1);
  EXPECT_THAT(history.err, HasSubstr("or a later known_through (the log was read only to "
                                     "position 1)"));
}

TEST_F(CliQueryTest, PlanWeekIsShownAgainstThePlan) {
  // At the head (now, years after the seed's plan of 208 weeks from 2015-05-04 ended).
  CliRun now = Run("status --programme LPP");
  ASSERT_EQ(now.code, 0) << now.err;
  EXPECT_THAT(now.out, HasSubstr(" (the plan of 208 weeks has ended)\n"));
  EXPECT_THAT(now.out, Not(HasSubstr(" of 208\n")));
  // The plan's last day, and the day after it.
  CliRun last = Run("status --programme LPP --at 2019-04-28");
  ASSERT_EQ(last.code, 0) << last.err;
  EXPECT_THAT(last.out, HasSubstr("Plan week:   208 of 208\n"));
  CliRun after = Run("status --programme LPP --at 2019-04-29");
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_THAT(after.out, HasSubstr("Plan week:   209 (the plan of 208 weeks has ended)\n"));
}

// A re-plan shows in status from its effective date on: the plan's length against the one
// registered, and a line naming what it changed, why and who approved it.
TEST_F(CliQueryTest, StatusShowsTheReplansInEffect) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::ProgrammeReplanned replan = Replan("LPP", 260);
  replan.set_senior_responsible_owner("ACC Local Policing");
  replan.set_reason("Re-baselined after the week 86 report");
  replan.set_approved_by("Joint Audit Committee");
  v1::Event event = At(Ev(replan), MakeDate(2017, 1, 9));
  event.set_source("Joint Audit Committee minutes, 9 January 2017, item 5");
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({event}), &response), GrpcOk());
  CliRun before = Run("status --programme LPP --at 2017-01-08");
  ASSERT_EQ(before.code, 0) << before.err;
  EXPECT_THAT(before.out, AllOf(HasSubstr("Mobilised:     2015-05-04, a plan of 208 weeks\n"),
                                Not(HasSubstr("Re-planned"))));
  CliRun after = Run("status --programme LPP --at 2017-01-09");
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_THAT(after.out,
              AllOf(HasSubstr("Plan week:   89 of 260\n"),
                    HasSubstr("Mobilised:     2015-05-04, a plan of 260 weeks (208 as "
                              "registered)\n"),
                    HasSubstr("SRO:           ACC Local Policing\n"),
                    HasSubstr("Re-planned:    2017-01-09 (UTC): planned length 260 weeks; SRO ACC "
                              "Local Policing. Re-baselined after the week 86 report (approved "
                              "by Joint Audit Committee)\n")));
  // The report since before it names it; one since after it does not.
  CliRun report = Run("report --programme LPP --at 2017-01-09 --since-week 86");
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              HasSubstr("\n## Plan\n\nRe-planned since last time: a plan of 260 weeks (208 last "
                        "time).\n\n- 2017-01-09 (UTC): planned length 260 weeks; SRO ACC Local "
                        "Policing. Re-baselined after the week 86 report (approved by Joint Audit "
                        "Committee)\n\n## Projects by rating\n"));
  v1::ProgrammeReport json;
  RunJson("report --programme LPP --at 2017-01-09 --since-week 86", &json);
  ASSERT_EQ(json.replans_since_size(), 1);
  EXPECT_EQ(json.replans_since(0).replan().planned_weeks(), 260);
  EXPECT_EQ(json.current().planned_weeks(), 260);
  EXPECT_EQ(json.previous().planned_weeks(), 208);
  CliRun later = Run("report --programme LPP --at 2017-02-01 --since 2017-01-10");
  ASSERT_EQ(later.code, 0) << later.err;
  EXPECT_THAT(later.out, Not(HasSubstr("## Plan")));
  // The history lists the paper the re-plan records, by its position.
  CliRun history = Run("history programme/LPP");
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_THAT(history.out,
              EndsWith(absl::StrCat("\nSources (where each fact comes from):\n  ",
                                    response.events(0).position(),
                                    ": Joint Audit Committee minutes, 9 January 2017, item 5\n"
                                    // The rest, listed so the list is read as whole.
                                    "  no source named: 2, 45\n")));
  // The re-plan voided since: no re-plan since, but the plan is shorter, and the report says so.
  const uint64_t replanned = response.head_position();
  ASSERT_THAT(Append(*stub_, MakeAppend({Correction(event, "not re-baselined after all")}),
                     &response),
              GrpcOk());
  CliRun voided = Run(absl::StrCat("report --programme LPP --since-position ", replanned));
  ASSERT_EQ(voided.code, 0) << voided.err;
  EXPECT_THAT(voided.out, HasSubstr("\n## Plan\n\nThe plan is of 208 weeks (260 last time): no "
                                    "re-plan since; one in effect last time has been voided by "
                                    "a correction since"));
  // A re-plan that keeps the plan's length says so (a clerk's re-plan of tranches alone had
  // read "a plan of 170 weeks", as if it set it).
  const uint64_t voided_at = response.head_position();
  v1::ProgrammeReplanned sro = Replan("LPP", 0);
  sro.set_senior_responsible_owner("ACC Neighbourhoods");
  sro.set_reason("New portfolio holder");
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(sro), MakeDate(2017, 2, 1))}), &response), GrpcOk());
  CliRun kept = Run(absl::StrCat("report --programme LPP --since-position ", voided_at));
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_THAT(kept.out, HasSubstr("\n## Plan\n\nRe-planned since last time: the plan is still of "
                                  "208 weeks.\n"));
}

// status says which paper each current rating and update comes from, once per paper; compare
// and report list the sources of the events behind their differences, runs of positions
// shortened.
TEST_F(CliQueryTest, StatusCompareAndReportNameTheirSources) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  const std::string paper = "Update Report to the Joint Audit Committee, week 90";
  std::vector<v1::Event> events;
  for (const char* id : {"LPP", "LPP-INV", "LPP-RESP"}) {
    v1::WorkRef ref = std::string(id) == "LPP" ? ProgrammeRef(id) : ProjectRef(id);
    v1::Event e = At(Ev(Status(ref, v1::RAG_RED, 90)), seed000::InWeek(90));
    e.set_source(paper);
    events.push_back(e);
  }
  v1::StatusReported progress = Status(ProjectRef("LPP-PP"), v1::RAG_UNSPECIFIED, 90);
  progress.set_commentary("recruitment under way");
  v1::Event update = At(Ev(progress), seed000::InWeek(90));
  update.set_source("Public Protection highlight report, week 90");
  events.push_back(update);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend(events), &response), GrpcOk());
  const uint64_t first = response.events(0).position();
  CliRun status = Run("status --programme LPP");
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(
      status.out,
      EndsWith(absl::StrCat("\nSources (where each current report comes from):\n"
                            "  LPP, LPP-INV, LPP-RESP: ",
                            paper,
                            "\n"
                            "  LPP-PP (update): Public Protection highlight report, week 90\n"
                            "  no source named: LPP-CJ, LPP-PCSO, LPP-PERF, LPP-PP, LPP-PREV\n")));
  // Before them, the seed's reports name no source: no such block.
  CliRun before = Run("status --programme LPP --week 86");
  ASSERT_EQ(before.code, 0) << before.err;
  EXPECT_THAT(before.out, Not(HasSubstr("Sources")));
  CliRun compare = Run("compare --programme LPP --since-week 86 --week 90");
  ASSERT_EQ(compare.code, 0) << compare.err;
  EXPECT_THAT(compare.out,
              EndsWith(absl::StrCat("\nSources (where each event comes from):\n  ", first, "-",
                                    first + 2, ": ", paper, "\n  ", first + 3,
                                    ": Public Protection highlight report, week 90\n")));
  CliRun report = Run("report --programme LPP --week 90 --since-week 86");
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              EndsWith(absl::StrCat("\nWhere these events come from (their sources, by "
                                    "position):\n\n- ", first, "-", first + 2, ": ", paper,
                                    "\n- ", first + 3,
                                    ": Public Protection highlight report, week 90\n")));
}

// risks says which paper each rating, closure and transfer comes from, once per paper; scope
// which paper each change comes from, by position; benefits which paper each current figure.
TEST_F(CliQueryTest, RisksScopeAndBenefitsNameTheirSources) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  const std::string paper = "Update Report to the Joint Audit Committee, week 90";
  auto sourced = [](v1::Event e, const std::string& source) {
    e = At(std::move(e), seed000::InWeek(90));
    e.set_source(source);
    return e;
  };
  v1::BenefitRealised realised;
  *realised.mutable_subject() = ProjectRef("LPP-INV");
  realised.set_benefit_id("annual-savings");
  realised.set_annual_pence(100000000);
  v1::ProjectClosed closed = CloseProject("LPP-HUB", 5000000);
  closed.set_annual_benefits_pence(25000000);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(Project("LPP-HUB", "LPP")), seed000::InWeek(88)),
                                         sourced(Ev(closed), "LPP-HUB closure report")}),
                     &response),
              GrpcOk());
  ASSERT_THAT(
      Append(*stub_,
             MakeAppend(
                 {sourced(Ev(CloseRisk("LPP-R05")), paper),
                  sourced(Ev(Rerate("LPP-R06", v1::RAG_AMBER)), paper),
                  sourced(Ev(TransferRisk("LPP-R07", ProgrammeRef("OCP"))), "Scope change note 4"),
                  sourced(Ev(TransferRisk("LPP-R08", ProjectRef("LPP-RESP"))),
                          "Risk register, January"),
                  sourced(Ev(AddScope("LPP-NEW", ProjectRef("LPP-INV"))), "Scope change note 4"),
                  sourced(Ev(realised), "Investigations benefits report")}),
             &response),
      GrpcOk());
  CliRun risks = Run("risks --programme LPP");
  ASSERT_EQ(risks.code, 0) << risks.err;
  EXPECT_THAT(
      risks.out,
      EndsWith(absl::StrCat(
          "\nSources (where each rating, closure and transfer comes "
          "from):\n  rating of LPP-R06; closure of LPP-R05: ",
          paper,
          "\n  transfer of LPP-R07: Scope change note 4\n  transfer of LPP-R08: Risk register, "
          "January\n  no source named: ratings of LPP-R01, ",
          "LPP-R02, LPP-R03, LPP-R04, LPP-R05, LPP-R07, LPP-R08, "
          "LPP-R09, LPP-R10, LPP-R11, LPP-R12, LPP-R13, LPP-R14; "
          "closures of LPP-R01, LPP-R02; transfer of LPP-R03\n")));
  CliRun scope = Run("scope --programme LPP");
  ASSERT_EQ(scope.code, 0) << scope.err;
  EXPECT_THAT(scope.out,
              EndsWith(absl::StrCat("\nSources (where each change comes from, by position):\n  ",
                                    response.events(4).position(),
                                    ": Scope change note 4\n  no source named: 10, 11, 42-44\n")));
  // The register a risk was transferred into cites the transfer that gave it its subject (a
  // reviewer's auditor could not trace the SUBJECT column to a paper).
  CliRun received = Run("risks --programme OCP");
  ASSERT_EQ(received.code, 0) << received.err;
  EXPECT_THAT(received.out, HasSubstr("\n  transfer of LPP-R07: Scope change note 4\n"));
  CliRun benefits = Run("benefits --programme LPP");
  ASSERT_EQ(benefits.code, 0) << benefits.err;
  EXPECT_THAT(benefits.out,
              EndsWith("\nSources (where each current figure comes from):\n"
                       "  LPP-HUB (at closure): LPP-HUB closure report\n"
                       "  LPP-INV annual-savings (realised): Investigations benefits report\n"
                       "  no source named: LPP-CJ (at closure), LPP-INV annual-savings "
                       "(forecast), LPP-PCSO (at closure), LPP-RESP annual-savings (forecast)\n"));
  // Before them, the seed's events name no source: no such block.
  for (const char* command : {"risks --programme LPP --week 86",
                              "scope --programme LPP --week 86",
                              "benefits --programme LPP --week 86"}) {
    CliRun before = Run(command);
    ASSERT_EQ(before.code, 0) << before.err;
    EXPECT_THAT(before.out, Not(HasSubstr("Sources"))) << command;
  }
}

// A closure that does not state its figures says so wherever they are shown, and is told from
// one stating none (£0.00): the report had said "£0.00 a year of benefits confirmed at
// closure" for a paper that gave no figure (a clerk's trial). So are a scope change's.
TEST_F(CliQueryTest, AClosureThatStatesNoFiguresIsNotReadAsZero) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::ProjectClosed silent;
  silent.set_project_id("LPP-X1");
  v1::ProjectClosed none;
  none.set_project_id("LPP-X2");
  none.set_final_cost_pence(0);
  none.set_annual_benefits_pence(0);
  v1::ScopeItemAdded costless = AddScope("LPP-X3", ProgrammeRef("LPP"));
  costless.set_baseline_change_pence(0);  // stated; its benefit change is not
  v1::AppendResponse response;
  ASSERT_THAT(
      Append(*stub_,
             MakeAppend({At(Ev(Project("LPP-X1", "LPP")), seed000::InWeek(87)),
                         At(Ev(Project("LPP-X2", "LPP")), seed000::InWeek(87)),
                         At(Ev(silent), seed000::InWeek(88)), At(Ev(none), seed000::InWeek(88)),
                         At(Ev(costless), seed000::InWeek(88))}),
             &response),
      GrpcOk());
  CliRun scope = Run("scope --programme LPP --week 89");
  ASSERT_EQ(scope.code, 0) << scope.err;
  EXPECT_THAT(scope.out,
              ::testing::ContainsRegex("LPP-X3 +added +- +programme LPP +£0.00 +- +Programme "
                                       "Board"));
  v1::GetScopeMapResponse map;
  RunJson("scope --programme LPP --week 89", &map);
  bool seen = false;
  for (const v1::ScopeItemEntry& item : map.items()) {
    if (item.scope_item_id() != "LPP-X3") continue;
    seen = true;
    ASSERT_GE(item.changes_size(), 1);
    EXPECT_TRUE(item.changes(0).has_baseline_change_pence());
    EXPECT_FALSE(item.changes(0).has_benefit_change_pence());
  }
  EXPECT_TRUE(seen);
  CliRun benefits = Run("benefits --programme LPP --week 89");
  ASSERT_EQ(benefits.code, 0) << benefits.err;
  EXPECT_THAT(benefits.out,
              AllOf(HasSubstr("confirmed at closure £4,500,000.00 a year (1 closed project's "
                              "closure does not state them)\n"),
                    ::testing::ContainsRegex("project LPP-X1 +closed +- +- +not stated\n"),
                    ::testing::ContainsRegex("project LPP-X2 +closed +- +- +£0.00\n")));
  v1::GetBenefitsResponse json;
  RunJson("benefits --programme LPP --week 89", &json);
  EXPECT_EQ(json.closures_without_benefits(), 1);
  for (const v1::WorkBenefits& w : json.projects()) {
    if (w.subject().id() == "LPP-X1") EXPECT_FALSE(w.has_closure_annual_benefits_pence());
    if (w.subject().id() == "LPP-X2") {
      EXPECT_TRUE(w.has_closure_annual_benefits_pence());
      EXPECT_EQ(w.closure_annual_benefits_pence(), 0);
    }
  }
  CliRun report = Run("report --programme LPP --week 89 --since-week 87");
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              AllOf(::testing::ContainsRegex("\\| LPP-X1 +\\|.*\\| +not stated \\|\n"),
                    ::testing::ContainsRegex("\\| LPP-X2 +\\|.*\\| +£0.00 \\|\n"),
                    HasSubstr("2 projects closed, with £0.00 a year of benefits confirmed at "
                              "closure (1 closure does not state them).\n")));
  CliRun history = Run("history project/LPP-X1");
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_THAT(history.out, AllOf(HasSubstr("final cost not stated; benefits not stated"),
                                 Not(HasSubstr("not stated a year"))));
  CliRun stated = Run("history project/LPP-X2");
  ASSERT_EQ(stated.code, 0) << stated.err;
  EXPECT_THAT(stated.out, HasSubstr("final cost £0.00; benefits £0.00 a year"));
}

TEST_F(CliQueryTest, JsonOfEveryQueryCommandParsesIntoItsResponse) {
  // Protobuf's JSON mapping: lowerCamelCase names, enums by name, zero values printed.
  CliRun raw = Run("status --programme LPP --week 86 --json");
  EXPECT_THAT(raw.out, AllOf(HasSubstr("\"projectRagCounts\":[{\"rag\":\"RAG_GREEN\",\"count\":3}"),
                             HasSubstr("\"closed\":false")));
  v1::GetProgrammeStatusResponse status;
  RunJson("status --programme LPP --week 86", &status);
  EXPECT_EQ(status.programme().rag(), v1::RAG_AMBER);
  EXPECT_EQ(status.projects_size(), 7);
  EXPECT_EQ(status.plan_week(), 86);
  EXPECT_EQ(status.planned_weeks(), 208);

  v1::GetScopeMapResponse scope;
  RunJson("scope --programme LPP --week 86", &scope);
  ASSERT_EQ(scope.items_size(), 3);
  EXPECT_EQ(scope.items(1).owner().id(), "OCP");
  EXPECT_EQ(scope.transferred_out(), 2);

  v1::GetBenefitsResponse benefits;
  RunJson("benefits --programme LPP --week 86", &benefits);
  EXPECT_EQ(benefits.total_forecast_annual_pence(), 765000000);
  EXPECT_EQ(benefits.total_closure_annual_benefits_pence(), 450000000);

  v1::GetEntityHistoryResponse history;
  RunJson("history risk/LPP-R03 --programme LPP --week 86", &history);
  ASSERT_EQ(history.changes_size(), 2);
  EXPECT_EQ(history.changes(1).event().event_type(), "govledger.v1.RiskTransferred");
  EXPECT_EQ(history.changes(1).event().actor(), "clerk");

  v1::CompareResponse compare;
  RunJson("compare --programme LPP --since-week 74 --week 86", &compare);
  std::vector<uint64_t> positions;
  for (const v1::EventRef& e : compare.events()) positions.push_back(e.position());
  std::vector<uint64_t> between;
  for (uint64_t p = kWeek74Position + 1; p <= kHead; ++p) between.push_back(p);
  EXPECT_EQ(positions, between);
  EXPECT_EQ(compare.differences_size(), 21);
  // The same two points as dates: week 74 ends on 2016-10-02 and week 86 on 2016-12-25.
  v1::CompareResponse by_dates;
  RunJson("compare --programme LPP --since 2016-10-02 --at 2016-12-25", &by_dates);
  EXPECT_EQ(by_dates.from().mode(), v1::AS_AT_MODE_AS_KNOWN);
  EXPECT_EQ(by_dates.events_size(), compare.events_size());
  EXPECT_EQ(by_dates.to().cut_time().seconds(), compare.to().cut_time().seconds());

  v1::GetDecisionRegisterResponse decisions;
  RunJson("decisions --programme LPP", &decisions);
  EXPECT_EQ(decisions.decisions_size(), 0);
}

// A history too large for one answer (the daemon refuses a message over 64 MiB) is asked for
// in pages and shown whole.
TEST_F(CliQueryTest, AHistoryTooLargeForOneAnswerIsShownWhole) {
  constexpr int kReports = 70;
  for (int batch = 0; batch < kReports / 10; ++batch) {
    std::vector<v1::Event> reports;
    for (int i = 0; i < 10; ++i) {
      v1::StatusReported m = gov::Status(gov::ProgrammeRef("LPP"), v1::RAG_AMBER, 90 + batch);
      m.set_commentary(absl::StrCat(batch * 10 + i, std::string(1000000, 'c')));
      reports.push_back(gov::Ev(m));
    }
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend(reports), &response, "clerk"), GrpcOk());
  }
  v1::GetEntityHistoryResponse history;
  RunJson("history programme/LPP", &history);
  EXPECT_EQ(history.next_page_token(), "");
  ASSERT_GE(history.changes_size(), kReports);
  const int first = history.changes_size() - kReports;
  for (int i = 0; i < kReports; ++i) {
    EXPECT_EQ(history.changes(first + i).event().position(), kHead + 1 + i);
    EXPECT_THAT(history.changes(first + i).note(), StartsWith(absl::StrCat(i, "c"))) << i;
  }
}

TEST_F(CliQueryTest, TablesOfScopeBenefitsHistoryAndCompare) {
  CliRun scope = Run("scope --programme LPP --week 86");
  ASSERT_EQ(scope.code, 0) << scope.err;
  EXPECT_THAT(scope.out,
              AllOf(HasSubstr("Items:      1 in scope, 0 removed, 2 transferred out\n"),
                    HasSubstr("LPP-SVC-OPS         transferred out  programme OCP     "
                              "LPP-SVC-OPS\n"),
                    HasSubstr("      42  2016-11-23T12:00:00Z  LPP-SVC-OPS         transferred  "
                              "programme LPP  programme OCP     -£10,000.00  -£5,000.00  "
                              "Programme Board  aligns with the target operating model\n")));
  // The changes of all items in log order, not item by item.
  std::vector<int> positions;
  const size_t table = scope.out.find("\nChanges:\n");
  ASSERT_NE(table, std::string::npos);
  std::istringstream rows(scope.out.substr(table));
  for (std::string row; std::getline(rows, row);) {
    int position = 0;
    if (std::istringstream(row) >> position) positions.push_back(position);
  }
  EXPECT_GE(positions.size(), 3u);
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()))
      << absl::StrJoin(positions, ", ");
  // Before any project closed, nothing was confirmed at closure (not "£0.00").
  CliRun before_closures = Run("benefits --programme LPP --week 74");
  ASSERT_EQ(before_closures.code, 0) << before_closures.err;
  EXPECT_THAT(before_closures.out, HasSubstr("; confirmed at closure none (no project closed)\n"));
  CliRun benefits = Run("benefits --programme LPP --week 86");
  ASSERT_EQ(benefits.code, 0) << benefits.err;
  EXPECT_THAT(benefits.out,
              AllOf(HasSubstr("Totals:     forecast £7,650,000.00 a year; realised none "
                              "recorded; confirmed at closure £4,500,000.00 a year\n"),
                    HasSubstr("project LPP-PCSO  closed              -              -    "
                              "£3,000,000.00\n"),
                    HasSubstr("project LPP-INV   annual-savings  £6,000,000.00              -  "
                              "-\n")));
  // A programme's own history counts --week in its own plan, --programme or not.
  CliRun own = Run("history programme/LPP --week 10");
  ASSERT_EQ(own.code, 0) << own.err;
  EXPECT_THAT(own.out, HasSubstr("Entity:  programme/LPP\n"));
  EXPECT_EQ(own.out, Run("history programme/LPP --programme LPP --week 10").out);
  // Whose week it is, said: --programme need not be the entity's.
  EXPECT_THAT(own.out, HasSubstr("\nWeek:    10 of programme LPP's plan\n"));
  // A status report that restates its rating says so: the rating is what it reports.
  CliRun restated = Run("history project/LPP-INV");
  ASSERT_EQ(restated.code, 0) << restated.err;
  EXPECT_THAT(restated.out,
              AllOf(HasSubstr("StatusReported     rating: AMBER; reported for week: 74"),
                    HasSubstr("StatusReported     rating: AMBER (as before); "
                              "reported for week: 74 -> 86")));
  CliRun history = Run("history risk/LPP-R03");
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_THAT(history.out,
              AllOf(HasSubstr("Entity:  risk/LPP-R03\n"),
                    HasSubstr("Folded:  its own events, and those every entity's state reads"),
                    HasSubstr("clerk  RiskOpened       status: open; rating: RED; subject: "
                              "project LPP-CJ  There is a risk that LPP-R03 happens\n"),
                    // The transfer's reason, as recorded.
                    HasSubstr("clerk  RiskTransferred  subject: project LPP-CJ -> programme "
                              "OCP            belongs there\n"),
                    Not(HasSubstr("Sources"))));  // the seed's events name none
  CliRun compare = Run("compare --programme LPP --since-position 30");
  ASSERT_EQ(compare.code, 0) << compare.err;
  EXPECT_THAT(compare.out,
              AllOf(HasSubstr("From:       as recorded at position 30 ("),
                    HasSubstr("To:         as recorded at position 50 ("),
                    HasSubstr("risk/LPP-R04              rating                  RED             "
                              "AMBER                   36\n"),
                    HasSubstr("20 events tell the two points apart for LPP (folded at one point "
                              "and not the other, or a correction that voids one of them at the "
                              "point that reads it; its own, its projects', its decisions', and "
                              "those of the risks and scope items it held at either point):\n")));
}

TEST_F(CliQueryTest, ReportAtWeek86SinceWeek74IsSeed000) {
  CliRun r = Run("report --programme LPP --week 86 --since-week 74");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            R"md(# Local Policing Programme (LPP): update at week 86, last reported at week 74

- Now: as known at 2016-12-25T23:59:59.999999Z (plan week 86; log read to position 50; 48 events folded)
- Last time: as known at 2016-10-02T23:59:59.999999Z (plan week 74; log read to position 50; 28 events folded)

## Rating

The programme is AMBER, as reported for week 86 (last time: not rated).

> a deteriorating picture

## Projects by rating

Open projects:

| RATING        | NOW | LAST TIME |
| ------------- | --: | --------: |
| GREEN         |   3 |         4 |
| AMBER         |   2 |         1 |
| RED           |   0 |         0 |
| open projects |   5 |         5 |

| PROJECT  | NAME             | NOW                          | LAST TIME      |
| -------- | ---------------- | ---------------------------- | -------------- |
| LPP-CJ   | LPP-CJ project   | closed (last GREEN, week 74) | GREEN          |
| LPP-INV  | LPP-INV project  | AMBER                        | AMBER          |
| LPP-PCSO | LPP-PCSO project | closed (last GREEN, week 74) | GREEN          |
| LPP-PERF | LPP-PERF project | GREEN                        | not registered |
| LPP-PP   | LPP-PP project   | GREEN                        | not registered |
| LPP-PREV | LPP-PREV project | GREEN                        | GREEN          |
| LPP-RESP | LPP-RESP project | AMBER                        | GREEN          |

## Gates and milestones

- LPP-INV: Gate 3 (since last time)

## Risks

11 open risks (14 last time), of which 5 red (8 last time).

Red risks now:

| RISK    | AGAINST       | OWNER             | DESCRIPTION                                                                                                                                                                                        |
| ------- | ------------- | ----------------- | -------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------- |
| LPP-R05 | programme LPP | programme manager | There is a risk that the technology requirements of the new model are not affordable or cannot be delivered on time                                                                                |
| LPP-R06 | programme LPP | programme manager | There is a risk that further delays to the Mobile project and Niche patch fixes/upgrades will impact upon Response and Investigation designs                                                       |
| LPP-R07 | programme LPP | programme manager | There is a risk that if the transfer of skills from PCWs to investigating officers is not fully completed, then this may result in casework performance failures                                   |
| LPP-R08 | programme LPP | programme manager | There is a risk that of a shortfall in recruitment to Public Protection following the investment uplift                                                                                            |
| LPP-R09 | programme LPP | programme manager | There is a risk that by introducing a caseload for officers when responding to the 7 specified Home Office crime types, this will lead to demand that is not accounted for in the prevention model |

Risks opened, closed, transferred or re-rated since last time:

| RISK    | CHANGE  | BEFORE         | AFTER           | EVENTS |
| ------- | ------- | -------------- | --------------- | ------ |
| LPP-R01 | status  | open           | closed          | 33     |
| LPP-R02 | status  | open           | closed          | 34     |
| LPP-R03 | status  | open           | transferred out | 35     |
| LPP-R03 | subject | project LPP-CJ | programme OCP   | 35     |
| LPP-R04 | rating  | RED            | AMBER           | 36     |

## Projects closed since last time

| PROJECT  | NAME             | LAST RATING | ANNUAL BENEFITS AT CLOSURE |
| -------- | ---------------- | ----------- | -------------------------: |
| LPP-CJ   | LPP-CJ project   | GREEN       |              £1,500,000.00 |
| LPP-PCSO | LPP-PCSO project | GREEN       |              £3,000,000.00 |

2 projects closed, with £4,500,000.00 a year of benefits confirmed at closure.

## Forecast savings

| SUBJECT          | FORECAST A YEAR | LAST TIME | REALISED A YEAR |
| ---------------- | --------------: | --------: | --------------: |
| project LPP-INV  |   £6,000,000.00 |         - |               - |
| project LPP-RESP |   £1,650,000.00 |         - |               - |

Forecast £7,650,000.00 a year (none recorded last time); realised none recorded.

## Scope changes since last time

| ITEM                                                                            | CHANGE      | FROM          | TO               |    BASELINE |   BENEFITS | REASON                                 | APPROVAL        |
| ------------------------------------------------------------------------------- | ----------- | ------------- | ---------------- | ----------: | ---------: | -------------------------------------- | --------------- |
| LPP-SVC-OPS                                                                     | transferred | programme LPP | programme OCP    | -£10,000.00 | -£5,000.00 | aligns with the target operating model | Programme Board |
| LPP-SVC-SPEC                                                                    | transferred | programme LPP | programme SCCP   | -£10,000.00 | -£5,000.00 | aligns with the target operating model | Programme Board |
| LPP-BATS-DISCOVERY: Discovery work for a new Briefing and Tasking System (BATS) | added       | -             | project LPP-PREV |           - |          - | -                                      | Programme Board |

## Decisions

No decisions concern LPP.

## Changes and the events behind them

20 events tell the two points apart for the programme, its projects, decisions, risks or scope items; 18 of them explain the differences below, and 2 change nothing the answers show: StatusReported at 46, 48. Such an event restates what was held (a report of the rating held, say), voids one that neither point shows, is undone by another (a fact voided and recorded again), is another system's, or is one this version of govledger cannot read (a newer govledgerd's); `govledger history` shows what each did.

| ENTITY                   | ASPECT                 | BEFORE         | AFTER                  | EVENTS |
| ------------------------ | ---------------------- | -------------- | ---------------------- | ------ |
| programme/LPP            | rating                 | -              | AMBER                  | 45     |
| project/LPP-CJ           | state                  | open           | closed                 | 32     |
| project/LPP-INV          | gate                   | -              | Gate 3                 | 39     |
| project/LPP-INV          | benefit:annual-savings | -              | forecast £6,000,000.00 | 40     |
| project/LPP-PCSO         | state                  | open           | closed                 | 31     |
| project/LPP-PERF         | registered             | -              | registered             | 38     |
| project/LPP-PERF         | rating                 | -              | GREEN                  | 50     |
| project/LPP-PERF         | state                  | -              | open                   | 38     |
| project/LPP-PP           | registered             | -              | registered             | 37     |
| project/LPP-PP           | rating                 | -              | GREEN                  | 49     |
| project/LPP-PP           | state                  | -              | open                   | 37     |
| project/LPP-RESP         | rating                 | GREEN          | AMBER                  | 47     |
| project/LPP-RESP         | benefit:annual-savings | -              | forecast £1,650,000.00 | 41     |
| risk/LPP-R01             | status                 | open           | closed                 | 33     |
| risk/LPP-R02             | status                 | open           | closed                 | 34     |
| risk/LPP-R03             | status                 | open           | transferred out        | 35     |
| risk/LPP-R03             | subject                | project LPP-CJ | programme OCP          | 35     |
| risk/LPP-R04             | rating                 | RED            | AMBER                  | 36     |
| scope/LPP-BATS-DISCOVERY | owner                  | -              | project LPP-PREV       | 44     |
| scope/LPP-SVC-OPS        | owner                  | programme LPP  | programme OCP          | 42     |
| scope/LPP-SVC-SPEC       | owner                  | programme LPP  | programme SCCP         | 43     |
)md");
}

TEST_F(CliQueryTest, ReportJsonGivesTheFiguresNowAndLastTime) {
  // As known by weeks, and as recorded by positions (the week-74 report's position, and the
  // head): the same seed-000 figures.
  for (const std::string& points : {std::string("--week 86 --since-week 74"),
                                    absl::StrCat("--since-position ", kWeek74Position)}) {
    SCOPED_TRACE(points);
    // Printed in protobuf's JSON mapping, as every --json: lowerCamelCase names.
    CliRun raw = Run(absl::StrCat("report --programme LPP ", points, " --json"));
    EXPECT_THAT(raw.out, AllOf(HasSubstr("\"openRisks\":11"), HasSubstr("\"rag\":\"RAG_AMBER\""),
                               Not(HasSubstr("open_risks"))));
    v1::ProgrammeReport report;
    RunJson(absl::StrCat("report --programme LPP ", points), &report);
    EXPECT_EQ(report.programme_id(), "LPP");
    EXPECT_EQ(report.programme_name(), "Local Policing Programme");
    const v1::ReportPoint& now = report.current();
    const v1::ReportPoint& then = report.previous();
    EXPECT_TRUE(now.programme().rated());
    EXPECT_EQ(now.programme().rag(), v1::RAG_AMBER);
    EXPECT_FALSE(then.programme().rated());
    EXPECT_TRUE(report.rating_changed());
    EXPECT_EQ(now.report_week(), 86);
    EXPECT_EQ(now.as_at().position(), kHead);
    EXPECT_EQ(then.report_week(), 74);
    EXPECT_THAT(RatingCounts(now), ElementsAre(3, 2, 0));  // GREEN, AMBER, RED
    EXPECT_THAT(RatingCounts(then), ElementsAre(4, 1, 0));
    EXPECT_EQ(now.projects_unrated(), 0);
    EXPECT_EQ(now.open_risks(), 11);
    EXPECT_EQ(now.red_risks(), 5);
    EXPECT_EQ(then.open_risks(), 14);
    EXPECT_EQ(then.red_risks(), 8);
    std::vector<std::string> red;
    for (const v1::RiskEntry& e : now.red_risk_list()) red.push_back(e.risk_id());
    EXPECT_THAT(red, ElementsAre("LPP-R05", "LPP-R06", "LPP-R07", "LPP-R08", "LPP-R09"));
    EXPECT_EQ(then.red_risk_list_size(), 8);
    ASSERT_EQ(report.projects_closed_since_size(), 2);
    EXPECT_EQ(report.projects_closed_since(0).project_id(), "LPP-CJ");
    EXPECT_EQ(report.projects_closed_since(0).annual_benefits_pence(), 150000000);
    EXPECT_EQ(report.projects_closed_since(1).project_id(), "LPP-PCSO");
    EXPECT_EQ(report.projects_closed_since(1).annual_benefits_pence(), 300000000);
    EXPECT_EQ(now.forecast_annual_pence(), 765000000);
    EXPECT_TRUE(now.forecast_recorded());
    // No realised saving is recorded: the sum's 0 is unknown, and says so.
    EXPECT_FALSE(now.realised_recorded());
    EXPECT_EQ(now.realised_annual_pence(), 0);
    // In log order: the two services moved out (positions 42, 43), then the discovery work
    // added (44).
    ASSERT_EQ(report.scope_changes_size(), 3);
    EXPECT_EQ(report.scope_changes(0).kind(), v1::SCOPE_CHANGE_KIND_TRANSFERRED);
    EXPECT_EQ(report.scope_changes(0).change().to().id(), "OCP");
    EXPECT_EQ(report.scope_changes(1).change().to().id(), "SCCP");
    EXPECT_EQ(report.scope_changes(2).kind(), v1::SCOPE_CHANGE_KIND_ADDED);
    EXPECT_EQ(report.scope_changes(2).scope_item_id(), "LPP-BATS-DISCOVERY");
    EXPECT_EQ(report.events(), kHead - kWeek74Position);
    EXPECT_EQ(report.changes_size(), 21);
  }
}

// A report since a point before the programme's registration is a report "since the start":
// nothing last time, everything since new (LPP is registered at position 2).
TEST_F(CliQueryTest, ReportSinceBeforeTheProgrammesRegistration) {
  v1::ProgrammeReport report;
  RunJson("report --programme LPP --since-position 1", &report);
  EXPECT_TRUE(report.registered_since());
  const v1::ReportPoint& then = report.previous();
  EXPECT_EQ(then.as_at().position(), 1u);
  EXPECT_EQ(then.open_risks(), 0);
  EXPECT_EQ(then.projects_size(), 0);
  EXPECT_FALSE(then.programme().rated());
  EXPECT_EQ(report.current().open_risks(), 11);
  EXPECT_EQ(report.current().as_at().position(), kHead);
  // Every event of the programme since position 1 explains the report.
  EXPECT_GT(report.events(), 40);
  ASSERT_EQ(report.projects_closed_since_size(), 2);

  CliRun text = Run("report --programme LPP --since-position 1");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("update at week 86 (the latest status report at position 50), "
                                  "since before its registration"));
  EXPECT_THAT(text.out, HasSubstr("the programme was not yet registered"));
  EXPECT_THAT(text.out, HasSubstr("(not registered last time)"));
  EXPECT_THAT(text.out, HasSubstr("11 open risks (0 last time)"));
  // OCP has no projects: the report says so, rather than print empty tables.
  CliRun no_projects = Run("report --programme OCP --since-position 1");
  ASSERT_EQ(no_projects.code, 0) << no_projects.err;
  EXPECT_THAT(no_projects.out, AllOf(HasSubstr("## Projects by rating\n\nThe programme has no "
                                               "projects.\n"),
                                     Not(HasSubstr("| PROJECT"))));

  // A report since a registered point says nothing of it.
  v1::ProgrammeReport since74;
  RunJson("report --programme LPP --week 86 --since-week 74", &since74);
  EXPECT_FALSE(since74.registered_since());
}

// A scope change made before the report's earlier point whose approving decision has since lost
// its approval (a signature corrected away) is a change since last time: the report lists it,
// LAPSED, as `scope` shows it (found by review).
TEST_F(CliQueryTest, AScopeChangeWhoseApprovalLapsedSinceLastTimeIsInTheReport) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  Signer chief = NewSigner("lpf-cc", "Chief Constable");
  v1::DecisionProposed decision = Decision("LPF", "LPB 20", {chief.role});
  decision.set_programme_id("LPP");
  const v1::Event signature = Ev(chief.Sign(decision));
  v1::ScopeItemAdded add = AddScope("LPP-S99", ProgrammeRef("LPP"));
  add.mutable_approval()->Clear();
  add.mutable_approval()->set_decision_stream("decision/LPF/LPB-20");
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(chief.Registration()), Ev(decision), signature,
                                         Ev(add)}),
                     &response),
              GrpcOk());
  const uint64_t added = response.head_position();
  ASSERT_THAT(Append(*stub_, MakeAppend({Correction(signature, "signed for the wrong force")}),
                     &response),
              GrpcOk());
  CliRun r = Run(absl::StrCat("report --programme LPP --since-position ", added));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decision/LPF/LPB-20 (LAPSED: not every required role's "
                               "signature stands now"));
  // Said to be the earlier change it is, not one made since.
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("| added at position ", added,
                                            ", before last time: its approval has lapsed "
                                            "since |")));
  EXPECT_THAT(r.out, Not(HasSubstr("## Scope changes since last time\n\nNone.")));
  CliRun json = Run(absl::StrCat("report --programme LPP --since-position ", added, " --json"));
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr(R"("lapsedSince":true)"));
  // Before the correction, nothing had changed since.
  CliRun before = Run(absl::StrCat("report --programme LPP --since-position ", added,
                                   " --position ", added));
  ASSERT_EQ(before.code, 0) << before.err;
  EXPECT_THAT(before.out, HasSubstr("## Scope changes since last time\n\nNone."));
}

// Another holder's change, after the report's earlier point, of an item the programme passed on
// before it is not the programme's, even once its approval has lapsed: SCCP's removal of
// LPP-SVC-SPEC (LPP's until week 82) was listed in LPP's report "before last time" (found by
// review).
TEST_F(CliQueryTest, ANewHoldersChangeWhoseApprovalLapsedIsNotInTheReport) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  Signer chief = NewSigner("lpf-cc", "Chief Constable");
  v1::DecisionProposed decision = Decision("LPF", "SCCP 1", {chief.role});
  decision.set_programme_id("SCCP");
  const v1::Event signature = Ev(chief.Sign(decision));
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(chief.Registration()), Ev(decision), signature}),
                     &response),
              GrpcOk());
  const uint64_t since = response.head_position();
  v1::ScopeItemRemoved removed = RemoveScope("LPP-SVC-SPEC", ProgrammeRef("SCCP"));
  removed.mutable_approval()->Clear();
  removed.mutable_approval()->set_decision_stream("decision/LPF/SCCP-1");
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(removed)}), &response), GrpcOk());
  ASSERT_THAT(Append(*stub_, MakeAppend({Correction(signature, "signed for the wrong force")}),
                     &response),
              GrpcOk());
  CliRun lpp = Run(absl::StrCat("report --programme LPP --since-position ", since));
  ASSERT_EQ(lpp.code, 0) << lpp.err;
  EXPECT_THAT(lpp.out, HasSubstr("## Scope changes since last time\n\nNone."));
  EXPECT_THAT(lpp.out, Not(HasSubstr("LPP-SVC-SPEC")));
  CliRun sccp = Run(absl::StrCat("report --programme SCCP --since-position ", since));
  ASSERT_EQ(sccp.code, 0) << sccp.err;
  EXPECT_THAT(sccp.out, HasSubstr("decision/LPF/SCCP-1 (LAPSED: "));
}

TEST_F(CliQueryTest, DecisionsOfAProgrammeInTheRegisterAndTheReport) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::DecisionProposed decision =
      Decision("LPF", "LPB 12", {"Chief Constable"},
               {Amount(v1::AMOUNT_KIND_CAPITAL, 40000000, "Change Reserve"),
                Amount(v1::AMOUNT_KIND_REVENUE, 19500000, "Change Reserve", true)});
  decision.set_programme_id("LPP");
  v1::OfficerStatement* approval = decision.add_officer_approvals();
  approval->set_role("Chief Finance Officer");
  approval->set_name("A. Person");
  approval->set_statement("Financial advice has been *taken*.");
  *decision.mutable_part1_deferred_until() = MakeDate(2199, 1, 31);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(decision)}), &response), GrpcOk());

  CliRun table = Run("decisions --programme LPP");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out,
              AllOf(HasSubstr("Programme:  LPP\n"),
                    HasSubstr("Decisions:  1 pending, 0 approved, 0 rejected, 0 withdrawn\n"),
                    HasSubstr("LPF           LPB 12     pending  £400,000.00 (+1 noted)  "
                              "-       Chief Constable  -           LPB 12 title\n"),
                    // Each amount under the table, the noted one not added to the other.
                    // When it was proposed (the event's effective time: now), first.
                    HasSubstr("\nLPF LPB 12:\n  Proposed effective 20"),
                    HasSubstr("Z\n  Recommendation 1: approve it\n  Amount: £400,000.00 capital from Change "
                              "Reserve\n  Noted, not approved: £195,000.00 revenue from "
                              "Change Reserve\n"),
                    Not(HasSubstr("Approved spend"))));
  CliRun report = Run(absl::StrCat("report --programme LPP --since-position ", kHead));
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              AllOf(HasSubstr("| LPF          | LPB 12    | LPB 12 title | pending | not proposed | "
                              "£400,000.00 (+1 noted) | Chief Constable |\n"),
                    // Under the table, what its row cannot hold, as Markdown.
                    HasSubstr("\nLPF LPB 12:\n\n- Proposed effective 20"),
                    HasSubstr("Z\n- Recommendation 1: approve it\n- Amount: £400,000.00 capital from Change "
                              "Reserve\n- Noted, not approved: £195,000.00 revenue from Change "
                              "Reserve\n- Officer approval (Chief Finance Officer, A. "
                              "Person): Financial advice has been \\*taken\\*.\n- Publication "
                              "of Part 1 deferred until 2199-01-31 (viewers see its content "
                              "from then)\n")));
  // Rejected, it awaits nobody.
  v1::DecisionRejected rejected;
  rejected.set_organisation_id("LPF");
  rejected.set_reference("LPB 12");
  rejected.set_reason("not affordable this year");
  rejected.set_rejected_by("Police and Crime Commissioner");
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(rejected)}), &response), GrpcOk());
  CliRun after = Run("decisions --programme LPP");
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_THAT(after.out, AllOf(HasSubstr("LPB 12     rejected"), Not(HasSubstr("Chief Constable"))));
  // Who rejected it, when and why (the register had said only "rejected").
  v1::GetDecisionRegisterResponse json;
  RunJson("decisions --programme LPP", &json);
  ASSERT_EQ(json.decisions_size(), 1);
  EXPECT_EQ(json.decisions(0).rejected_by(), "Police and Crime Commissioner");
  EXPECT_EQ(json.decisions(0).outcome_reason(), "not affordable this year");
  ASSERT_TRUE(json.decisions(0).has_outcome_time());
  EXPECT_GE(ToMicros(json.decisions(0).outcome_time()),
            ToMicros(json.decisions(0).proposed_time()));
  EXPECT_THAT(after.out,
              HasSubstr(absl::StrCat("\n  Rejected by Police and Crime Commissioner effective ",
                                     FormatRfc3339(ToMicros(json.decisions(0).outcome_time())),
                                     ": not affordable this year\n")));
}

// A programme with no rated status report (OCP): the title says so, rather than "reported".
// A closed programme's report says so, and what is still open against it (OCP holds LPP-R03,
// transferred to it in week 78).
TEST_F(CliQueryTest, AClosedProgrammesReportSaysSo) {
  CliRun open = Run(absl::StrCat("report --programme OCP --since-position ", kWeek74Position));
  ASSERT_EQ(open.code, 0) << open.err;
  EXPECT_THAT(open.out, Not(HasSubstr("The programme is closed")));
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({gov::Ev(gov::CloseProgramme("OCP"))}), &response),
              GrpcOk());
  CliRun closed = Run(absl::StrCat("report --programme OCP --since-position ", kWeek74Position));
  ASSERT_EQ(closed.code, 0) << closed.err;
  EXPECT_THAT(closed.out, HasSubstr(" The programme is closed, with 1 risk still open against it "
                                    "or its projects.\n"));
}

TEST_F(CliQueryTest, ReportTitleOfAProgrammeNeverReported) {
  CliRun r = Run(absl::StrCat("report --programme OCP --since-position ", kWeek74Position));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("# "));
  EXPECT_THAT(r.out.substr(0, r.out.find('\n')),
              AllOf(HasSubstr("(OCP): update at plan week "),
                    // Both points are today's, past the end of OCP's plan, and say so.
                    HasSubstr(" (no rated status report yet; the plan of 208 weeks has ended), "
                              "last time plan week "),
                    EndsWith(" (no rated status report then; the plan of 208 weeks has ended)")));
}

// A sum held at the largest int64 (the server's totals saturate rather than wrap) is shown as a
// lower bound, not as an exact figure.
TEST_F(CliQueryTest, ASaturatedTotalIsShownAsALowerBound) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  std::vector<v1::Event> huge;
  for (const char* project : {"LPP-INV", "LPP-RESP"}) {
    v1::BenefitForecast forecast;
    *forecast.mutable_subject() = ProjectRef(project);
    forecast.set_benefit_id("huge");
    forecast.set_annual_pence(std::numeric_limits<int64_t>::max());
    huge.push_back(Ev(forecast));
  }
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend(huge), &response), GrpcOk());
  CliRun r = Run("benefits --programme LPP");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("forecast £92,233,720,368,547,758.07 or more a year"));
  // One benefit at the largest amount is exact, and shown so.
  EXPECT_THAT(r.out, HasSubstr("huge"));
  CliRun report = Run("report --programme LPP --since-week 74");
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out, HasSubstr("Forecast £92,233,720,368,547,758.07 or more a year"));
}

// A rule counting revenue only, and a decision of a one-off £730,000: the register shows the
// rule NOT REACHED, saying what it counts, rather than nothing at all.
TEST_F(CliQueryTest, TheRegisterShowsARuleNotReachedBecauseOfTheKindsOfTheAmounts) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::DelegationRuleSet rule = Delegation("MOPAC", "REV-500K", 50000000, "Treasurer");
  rule.add_kinds(v1::AMOUNT_KIND_REVENUE);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({Ev(Organisation("MOPAC")), Ev(rule),
                                 Ev(Decision("MOPAC", "PCD 990", {"Chief Executive Officer"},
                                             {Amount(v1::AMOUNT_KIND_ONE_OFF, 73000000,
                                                     "Major Change Reserve")}))}),
                     &response),
              GrpcOk());
  CliRun r = Run("decisions --organisation MOPAC");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Treasurer (REV-500K, NOT REACHED: it counts revenue amounts only, "
                               "£0.00 here)"));
}

// A benefit forecast without a figure (a qualitative one) shows as "no figure", not £0.00, and
// adds nothing to the totals; its history says so too.
TEST_F(CliQueryTest, ABenefitWithoutAFigureIsNotShownAsZero) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::BenefitForecast confidence;
  *confidence.mutable_subject() = ProjectRef("LPP-RESP");
  confidence.set_benefit_id("public-confidence");
  confidence.set_description("Improved public confidence");
  v1::BenefitForecast only = confidence;  // LPP-PERF's only benefit
  *only.mutable_subject() = ProjectRef("LPP-PERF");
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(confidence), Ev(only)}), &response), GrpcOk());
  CliRun r = Run("benefits --programme LPP");
  // Its row says "no figure", not "-" (none recorded).
  EXPECT_THAT(r.out, ::testing::ContainsRegex("project LPP-PERF +open +no figure +- +-\n"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "public-confidence +no figure +- +Improved public confidence"));
  EXPECT_THAT(r.out, Not(HasSubstr("public-confidence  £0.00")));
  // The demo's sum, unchanged; the benefit without a figure counted apart.
  EXPECT_THAT(r.out, HasSubstr("forecast £7,650,000.00 a year (and 2 without a figure)"));
  v1::GetBenefitsResponse benefits;
  RunJson("benefits --programme LPP", &benefits);
  bool seen = false;
  for (const v1::WorkBenefits& w : benefits.projects()) {
    for (const v1::BenefitEntry& b : w.benefits()) {
      if (b.benefit_id() != "public-confidence") continue;
      seen = true;
      EXPECT_TRUE(b.has_forecast());
      EXPECT_FALSE(b.forecast_has_amount());
    }
  }
  EXPECT_TRUE(seen);
  CliRun history = Run("history project/LPP-RESP");
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_THAT(history.out, HasSubstr("forecast with no figure"));
}

// A report whose plan week is not the week its effective time falls in (here a mistyped "68"
// dated in week 86): shown beside it, not refused.
TEST_F(CliQueryTest, StatusShowsAPlanWeekThatIsNotTheWeekOfTheReportsDate) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({At(Ev(Status(ProjectRef("LPP-INV"), v1::RAG_RED, 68)),
                                    MakeDate(2016, 12, 23)),
                                 At(Ev(Status(ProgrammeRef("LPP"), v1::RAG_RED, 68)),
                                    MakeDate(2016, 12, 23))}),
                     &response),
              GrpcOk());
  CliRun r = Run("status --programme LPP");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Rating:     RED (reported for week 68, effective "
                               "2016-12-23T12:00:00Z, which is in week 86 of the plan)\n"));
  EXPECT_THAT(r.out, HasSubstr("LPP-INV   LPP-INV project   open    RED    -           68 "
                               "(effective in 86)  -\n"));
  v1::GetProgrammeStatusResponse json;
  RunJson("status --programme LPP", &json);
  EXPECT_EQ(json.programme().reported_plan_week(), 68);
  EXPECT_EQ(json.programme().effective_plan_week(), 86);
  // And the report's table of projects: it had shown "RED (week 68)", a project that had
  // missed its reports since week 68.
  r = Run("report --programme LPP --since-week 74");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("| LPP-INV  | LPP-INV project  | RED (week 68, effective in week 86) "
                        "| AMBER          |\n"));
  // So is a progress update's (a report without a rating), in status and in the report: it
  // had been shown as it was keyed.
  v1::StatusReported update = Status(ProgrammeRef("LPP"), v1::RAG_UNSPECIFIED, 78);
  update.set_commentary("Progress as planned");
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(update), MakeDate(2016, 12, 24))}), &response),
              GrpcOk());
  r = Run("status --programme LPP");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  LPP: week 78, effective 2016-12-24T12:00:00Z, which is in week "
                               "86 of the plan: Progress as planned\n"));
  r = Run("report --programme LPP --since-week 74");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("is for week 78, effective 2016-12-24T12:00:00Z, which is in week "
                               "86 of the plan:\n"));
}

// The heading's week is the latest report's of the programme or its projects; the rating's
// sentence names the programme's own report (a project's report for week 87 does not make the
// programme's week-86 rating a week-87 one).
TEST_F(CliQueryTest, TheReportsRatingNamesTheProgrammesOwnReport) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({At(Ev(Status(ProjectRef("LPP-INV"), v1::RAG_GREEN, 87)),
                                    MakeDate(2016, 12, 28))}),
                     &response),
              GrpcOk());
  CliRun r = Run("report --programme LPP --week 87 --since-week 86");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(StartsWith("# Local Policing Programme (LPP): update at week 87, last "
                                      "reported at week 86\n"),
                           HasSubstr("The programme is AMBER, as reported for week 86, unchanged "
                                     "since last time.\n")));
  // Weeks after their latest report: each named, with the report's week (not "update at week
  // 74" for week 84).
  r = Run("report --programme LPP --week 84 --since-week 83");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("# Local Policing Programme (LPP): update at week 84 (latest "
                                "status report for week 74), last time week 83 (latest status "
                                "report for week 74)\n"));
  // As recorded at a position recorded long after (the head, in plan week 606), the report's
  // week, said to be the latest report there, not the cut's week.
  r = Run("report --programme LPP --since-position 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("# Local Policing Programme (LPP): update at week 87 (the latest "
                                "status report at position 51), "));
  // A report for week 88 sent on the last day of week 87 (within a day's allowance): week 87's
  // report is titled week 87, naming the later report, not "update at week 88".
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({At(Ev(Status(ProjectRef("LPP-PREV"), v1::RAG_GREEN, 88)),
                                    MakeDate(2017, 1, 1))}),
                     &response),
              GrpcOk());
  r = Run("report --programme LPP --week 87 --since-week 86");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("# Local Policing Programme (LPP): update at week 87 (latest "
                                "status report for week 88), last reported at week 86\n"));
  // The programme's own report so sent: its rating says the week it took effect in, as the
  // projects' table does (a UK clerk's report made at 00:30 BST on a Monday is in the week
  // before, UTC).
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({At(Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 88)),
                                    MakeDate(2017, 1, 1))}),
                     &response),
              GrpcOk());
  r = Run("report --programme LPP --week 87 --since-week 86");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("The programme is GREEN, as reported for week 88 (effective in "
                               "week 87) (last time: AMBER, as reported for week 86)."));
}

// DOMAIN.md: support both scales. A project whose current report gives only a delivery
// confidence is rated on that scale, not "unrated"; the programme's likewise.
TEST_F(CliQueryTest, AProjectRatedOnDeliveryConfidenceOnlyIsNotUnrated) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::StatusReported confidence_only = Status(ProjectRef("LPP-INV"), v1::RAG_UNSPECIFIED, 86);
  confidence_only.set_delivery_confidence(v1::DELIVERY_CONFIDENCE_AMBER_RED);
  v1::StatusReported both = Status(ProjectRef("LPP-PP"), v1::RAG_GREEN, 86);
  both.set_delivery_confidence(v1::DELIVERY_CONFIDENCE_AMBER_GREEN);
  v1::StatusReported programme = Status(ProgrammeRef("LPP"), v1::RAG_UNSPECIFIED, 86);
  programme.set_delivery_confidence(v1::DELIVERY_CONFIDENCE_AMBER);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({At(Ev(confidence_only), MakeDate(2016, 12, 23)),
                                 At(Ev(both), MakeDate(2016, 12, 23)),
                                 At(Ev(programme), MakeDate(2016, 12, 23))}),
                     &response),
              GrpcOk());

  v1::GetProgrammeStatusResponse json;
  RunJson("status --programme LPP --week 86", &json);
  // RAG: PERF, PP, PREV GREEN; RESP AMBER; INV none (the four add up to the 5 open projects).
  ASSERT_EQ(json.project_rag_counts_size(), 3);
  EXPECT_EQ(json.project_rag_counts(0).count(), 3);
  EXPECT_EQ(json.project_rag_counts(1).count(), 1);
  EXPECT_EQ(json.project_rag_counts(2).rag(), v1::RAG_UNSPECIFIED);
  EXPECT_EQ(json.project_rag_counts(2).count(), 1);
  ASSERT_EQ(json.project_confidence_counts_size(), 2);
  EXPECT_EQ(json.project_confidence_counts(0).delivery_confidence(),
            v1::DELIVERY_CONFIDENCE_AMBER_GREEN);
  EXPECT_EQ(json.project_confidence_counts(0).count(), 1);
  EXPECT_EQ(json.project_confidence_counts(1).delivery_confidence(),
            v1::DELIVERY_CONFIDENCE_AMBER_RED);
  EXPECT_EQ(json.project_confidence_counts(1).count(), 1);

  CliRun status = Run("status --programme LPP --week 86");
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out,
              AllOf(HasSubstr("Rating:     delivery confidence AMBER (reported for week 86, "
                              "effective 2016-12-23T12:00:00Z)\n"),
                    HasSubstr("\nOpen projects by rating: GREEN 3, AMBER 1, delivery confidence "
                              "only 1\nOpen projects by delivery confidence: AMBER/GREEN 1, "
                              "AMBER/RED 1\n"),
                    Not(HasSubstr("unrated"))));

  CliRun report = Run("report --programme LPP --week 86 --since-week 74");
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              AllOf(HasSubstr("The programme is delivery confidence AMBER, as reported for week 86 "
                              "(last time: not rated).\n"),
                    HasSubstr("| delivery confidence only |   1 |         0 |\n"
                              "| open projects            |   5 |         5 |\n\n"
                              "Open projects by delivery confidence (a project may have a "
                              "rating too):\n\n"
                              "| DELIVERY CONFIDENCE | NOW | LAST TIME |\n"
                              "| ------------------- | --: | --------: |\n"
                              "| AMBER/GREEN         |   1 |         0 |\n"
                              "| AMBER/RED           |   1 |         0 |\n"),
                    HasSubstr("| LPP-INV  | LPP-INV project  | delivery confidence AMBER/RED "),
                    // Compare's words for the rating.
                    HasSubstr("| GREEN, delivery confidence AMBER/GREEN |"),
                    Not(HasSubstr("unrated"))));
  v1::ProgrammeReport report_json;
  RunJson("report --programme LPP --week 86 --since-week 74", &report_json);
  const v1::ReportPoint& now = report_json.current();
  EXPECT_EQ(now.programme().rag(), v1::RAG_UNSPECIFIED);
  EXPECT_EQ(now.programme().delivery_confidence(), v1::DELIVERY_CONFIDENCE_AMBER);
  EXPECT_EQ(now.projects_unrated(), 0);
  EXPECT_EQ(now.projects_delivery_confidence_only(), 1);
  std::map<v1::DeliveryConfidence, int> by_confidence;
  for (const v1::ConfidenceCount& c : now.projects_by_delivery_confidence()) {
    by_confidence[c.delivery_confidence()] = c.count();
  }
  EXPECT_EQ(by_confidence[v1::DELIVERY_CONFIDENCE_AMBER_RED], 1);
  EXPECT_EQ(by_confidence[v1::DELIVERY_CONFIDENCE_AMBER_GREEN], 1);
  std::map<std::string, v1::DeliveryConfidence> confidence;
  for (const v1::WorkStatus& w : now.projects()) confidence[w.ref().id()] = w.delivery_confidence();
  EXPECT_EQ(confidence["LPP-INV"], v1::DELIVERY_CONFIDENCE_AMBER_RED);
  EXPECT_EQ(confidence["LPP-RESP"], v1::DELIVERY_CONFIDENCE_UNSPECIFIED);
}

TEST_F(CliQueryTest, DecisionsShowPossibleSplitsOfADelegationThreshold) {
  using namespace ::govledger::testing::gov;  // NOLINT: builders
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({Ev(Delegation("LPF", "CC-250K", 25000000, "Chief Constable"))}),
                     &response),
              GrpcOk());
  for (const char* reference : {"LPB 20", "LPB 21"}) {
    v1::DecisionProposed d = Decision("LPF", reference, {"Director of Finance"},
                                      {Amount(v1::AMOUNT_KIND_CAPITAL, 15000000, "Reserve")});
    d.set_programme_id("LPP");
    ASSERT_THAT(Append(*stub_, MakeAppend({Ev(d)}), &response), GrpcOk());
  }
  CliRun table = Run("decisions --organisation LPF");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Possible splits (decisions each under a delegation threshold "
                                   "and not needing its role, proposed within 90 days of one "
                                   "another, that together reach it):\n"));
  EXPECT_THAT(table.out, HasSubstr("LPF CC-250K  £250,000.00  Chief Constable  LPP        LPB 20, "
                                   "LPB 21  £300,000.00  "));
  CliRun report = Run(absl::StrCat("report --programme LPP --since-position ", kHead));
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out, HasSubstr("Possible split of LPF CC-250K (£250,000.00 and above needs "
                                    "Chief Constable): LPB 20, LPB 21, £300,000.00 together, "
                                    "proposed "));
  v1::ProgrammeReport json;
  RunJson(absl::StrCat("report --programme LPP --since-position ", kHead), &json);
  ASSERT_EQ(json.current().possible_splits_size(), 1);
  const v1::PossibleSplit& split = json.current().possible_splits(0);
  EXPECT_EQ(split.organisation_id(), "LPF");
  EXPECT_EQ(split.rule_id(), "CC-250K");
  EXPECT_EQ(split.role(), "Chief Constable");
  EXPECT_EQ(split.threshold_pence(), 25000000);
  EXPECT_THAT(split.references(), ElementsAre("LPB 20", "LPB 21"));
  EXPECT_EQ(split.total_pence(), 30000000);
  EXPECT_EQ(json.previous().possible_splits_size(), 0);
  CliRun bad = Run("decisions --organisation LPF --split-window 0");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--split-window"));
}

TEST_F(CliQueryTest, BadArgumentsExitTwoWithOneLineSayingWhatToFix) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"history risk/LPP-R01 --week 3", "--week needs --programme"},
      {"status --programme LPP --week 0", "--week '0' is not a plan week"},
      {"risks --programme LPP --week -2", "whole number, 1 or more"},
      {"risks --programme LPP --week 99999999999", "is too large: no plan has that many weeks"},
      {"risks --programme LPP --week 99999999999999999999",
       "is too large: no plan has that many weeks"},
      {"status --programme LPP --week 86 --as-recorded --as-known",
       "give --as-recorded or --as-known, not both"},
      {"status --programme LPP --week 86 --position 3",
       "at most one of --position, --at and --week"},
      {"status --programme LPP --position -1", "--position '-1' is not a log position"},
      {"status --programme LPP --at yesterday", "--at 'yesterday' is not a time"},
      // A decision's reference as written: the stream has its slug.
      {"history 'decision/MOPAC/PCD 72'",
       "a decision's stream has its reference with '-' for each space: decision/MOPAC/PCD-72"},
      {"status --programme LPP --at 2016-02-30", "is not a time: give RFC 3339"},
      // A time whose zone is missing or no zone at all (protobuf's parser took "+23:59").
      {"status --programme LPP --at 2016-10-10T00:30:00",
       "--at '2016-10-10T00:30:00' has no zone: end it with Z (UTC) or an offset, such as +01:00"},
      {"status --programme LPP --at 2016-10-10T00:30:00+23:59",
       "has the offset +23:59, beyond any time zone's (-12:00 to +14:00)"},
      {"status --programme LPP --at 2016-10-10T00:30:00+1:00",
       "has an offset not written +HH:MM (two digits each, such as +01:00)"},
      // An id no programme or organisation can have, before any call.
      {"risks --programme 'LP P'", "--programme 'LP P' may hold only A-Z a-z 0-9 . _ : -"},
      {"decisions --organisation 'MO PAC'", "--organisation 'MO PAC' may hold only"},
      // Shown as typed (only bytes that are not UTF-8, or characters that act, are escaped).
      {"risks --programme ЛПП", "--programme 'ЛПП' may hold only A-Z a-z 0-9 . _ : -"},
      {"status", "status needs --programme"},
      {"status --programme ''", "--programme: is empty (an unset shell variable?): give a value"},
      {"decisions --organisation MOPAC --programme ''", "--programme: is empty"},
      {"decisions --organisation ''", "--organisation: is empty"},
      {"status --programme LPP --bogus",
       "'govledger status' has no option --bogus; 'govledger status --help' lists its options"},
      // An option of other commands says which; the first unknown option is named.
      {"benefits --programme LPP --since-week 3 --bogus",
       "'govledger benefits' has no option --since-week (it is an option of compare, report)"},
      {"status --programme LPP 86", "'govledger status' takes no argument '86'"},
      // The command's own option, given before the command.
      {"--programme LPP status",
       "--programme is an option of 'govledger status': give it after 'govledger status'"},
      // ... one the command requires, which CLI11 would call missing.
      {"--out k keys generate",
       "--out is an option of 'govledger keys generate': give it after 'govledger keys "
       "generate'"},
      {"history", "ENTITY is required"},
      {"decisions --week 3", "give --organisation, --programme or both"},
      {"history risk/LPP-R01 --programme LPP", "history takes --programme only with --week"},
      {"compare --programme LPP --week 86", "give the earlier point: --since-week N"},
      {"report --programme LPP --since-week 74 --since-position 3",
       "at most one of --since-position, --since and --since-week"},
      {"report --programme LPP --since-week 0", "--since-week '0' is not a plan week"},
      {"report --programme LPP --week 74 --since-week 86",
       "the earlier point (as known at 2016-12-25T23:59:59.999999Z) is after the report's point"},
      // A comparison the wrong way round would show BEFORE and AFTER swapped.
      {"compare --programme LPP --week 74 --since-week 86",
       "the earlier point (as known at 2016-12-25T23:59:59.999999Z) is after the later point"},
      {"compare --programme LPP --since-position 30 --week 86",
       "pair --since-position with --position, or --since-week and --since with --week and --at"},
      // As known reading the whole log, against as recorded at 30: the facts recorded after 30
      // would seem to vanish.
      {"report --programme LPP --since-week 74 --position 30",
       "reads the log to position 50, past the report's point (position 30, recorded at "},
      {"compare --programme LPP --since-week 74 --position 30", "Give --known-through 30"},
      // Both as known, the earlier reading the whole log (0: the head) and the later to 30: a
      // risk recorded after 30 had shown as gone, explained by its own opening (an auditor's
      // find).
      {"report --programme LPP --since-week 74 --week 86 --since-known-through 0 "
       "--known-through 30",
       "reads the log to position 50, past the report's point (as known at "},
      {"compare --programme LPP --since-week 74 --week 86 --since-known-through 40 "
       "--known-through 30",
       "Give --since-known-through 30 or less, or --known-through alone"},
      // As recorded at 40 against as known read to 30.
      {"compare --programme LPP --since-position 40 --at $(date -u +%F) --known-through 30",
       "reads the log to position 40, past the later point (as known at "},
      // Every event was recorded today, after week 86 took effect.
      {"report --programme LPP --since-position 30 --week 86", "recorded at 20"},
      {"report --programme LPP --since-position 30 --week 86",
       "pair --since-position with --position, or --since-week and --since with --week and --at"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(args);
    CliRun r = Run(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, AllOf(StartsWith("govledger: "), HasSubstr(message), EndsWith("\n")));
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line";
  }
}

// Today's date means now: given twice, it names one point, not two a few microseconds apart
// (the second then "before" the first).
TEST_F(CliQueryTest, TodayAgainstTodayIsOnePoint) {
  const std::string today = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  CliRun r = Run(absl::StrCat("compare --programme LPP --since ", today, " --at ", today));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("No differences."));
  // A mixed pair whose earlier point reads the log only as far as the later one.
  CliRun mixed = Run("compare --programme LPP --since-week 74 --position 30 --known-through 30");
  EXPECT_EQ(mixed.code, 0) << mixed.err;
}

TEST_F(CliQueryTest, ServerRefusalsExitOneWithTheServersMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"status --programme NOPE", "NOT_FOUND: programme 'NOPE' is not registered"},
      {"report --programme NOPE --since-week 74", "NOT_FOUND"},
      {"risks --programme LPP --week 300",
       "INVALID_ARGUMENT: --week 300 is "
       "past the plan"},
      {"status --programme LPP --position 51",
       "OUT_OF_RANGE: --position 51 is past the head (50); valid positions are 0 to 50"},
      // The earlier point of a comparison is named by its own flag.
      {"compare --programme LPP --since-position 51 --position 50",
       "OUT_OF_RANGE: --since-position 51 is past the head (50)"},
      {"history risk/NOPE", "NOT_FOUND"},
      // A stream mistyped is named as it likely was meant (an id alone, another letter case).
      {"history risk/lpp-r04",
       "NOT_FOUND: the ledger holds no events on stream risk/lpp-r04; "
       "did you mean risk/LPP-R04?"},
      {"history LPP-R04", "did you mean risk/LPP-R04?"},
      {"history lpp-r04", "did you mean risk/LPP-R04?"},
      // Never registered is not "registered later" (nothing to choose a later point for).
      {"decisions --organisation NOPE",
       "organisation 'NOPE' is not registered in the ledger; "
       "registered at this cut: "},
      // A report's own point must hold the programme (LPP is registered at position 2).
      {"report --programme LPP --position 1 --since-position 0",
       "not yet registered as at this cut"},
      // As known at position 0, which has no recorded time: said so (the cut had gone unnamed).
      {"status --programme LPP --position 0 --as-known",
       "programme 'LPP' is not yet registered as at this cut (position 0, before the ledger "
       "recorded anything); choose a later"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(args);
    CliRun r = Run(args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, AllOf(StartsWith(absl::StrCat("govledger: server ", daemon_.address())),
                             HasSubstr(message)));
  }
}

// Text a terminal would act on rather than show (here an escape sequence that erases the line
// and a carriage return, which would make the commentary read "all fine", and a right-to-left
// override) is refused on append;
// stored by an older version, it is shown escaped by every text output, and kept exact in JSON.
TEST_F(CliQueryTest, StoredTextATerminalWouldActOnIsShownEscaped) {
  const std::string hostile = "RED: overspent\r\x1b[2KGREEN: all fine \xE2\x80\xAE" "reversed";
  v1::StatusReported report = gov::Status(gov::ProgrammeRef("LPP"), v1::RAG_RED, 87);
  report.set_commentary(hostile);
  v1::AppendResponse response;
  EXPECT_THAT(Append(*stub_, MakeAppend({gov::Ev(report)}), &response),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("commentary holds the control character U+000D at byte "
                                     "14; text may hold line breaks")));
  // A bidirectional override is refused too.
  report.set_commentary("all fine \xE2\x80\xAE" "reversed");
  EXPECT_THAT(Append(*stub_, MakeAppend({gov::Ev(report)}), &response),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("commentary holds the bidirectional control U+202E at "
                                     "byte 9")));
  // Line breaks and tabs are accepted, and shown escaped.
  report.set_commentary("Two lines\r\nand\ta tab");
  ASSERT_THAT(Append(*stub_, MakeAppend({gov::Ev(report)}), &response), GrpcOk());
  CliRun accepted = Run("status --programme LPP");
  ASSERT_EQ(accepted.code, 0) << accepted.err;
  EXPECT_THAT(accepted.out, HasSubstr("Commentary:  Two lines\\r\\nand\\ta tab\n"));

  // As an older version could have stored it: straight into the store, chained to the head.
  ASSERT_TRUE(daemon_.Stop().Success());
  {
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
        RocksDbEventStore::Open(daemon_.data_dir(), RocksDbOptions{});
    ASSERT_OK(store);
    absl::StatusOr<ChainPoint> head = (*store)->LoadHead();
    ASSERT_OK(head);
    absl::StatusOr<uint64_t> version = (*store)->StreamVersion("programme/LPP");
    ASSERT_OK(version);
    report.set_commentary(hostile);
    v1::Event event = gov::Ev(report);
    // Effective between the reports appended before and after it, as the current status is
    // the report latest in effect.
    const int64_t now = absl::ToUnixMicros(absl::Now());
    event.mutable_effective_time()->set_seconds(now / 1000000);
    event.mutable_effective_time()->set_nanos(now % 1000000 * 1000);
    event.set_position(head->position + 1);
    event.set_stream_version(*version + 1);
    *event.mutable_recorded_time() = event.effective_time();
    event.set_actor("clerk\xC2\x9B" "31m");  // C1 CSI: a colour change on some terminals
    event.set_prev_hash(std::string(crypto::AsBytes(head->hash)));
    crypto::Hash hash;
    EventWrite write;
    write.position = head->position + 1;
    write.stream_id = event.stream_id();
    write.stream_version = *version + 1;
    write.event_id = *ParseUuid(event.event_id());
    write.stored_bytes = ChainRecord(event.SerializeAsString(), head->hash, &hash);
    ASSERT_OK((*store)->Commit({write}, ChainPoint{write.position, hash}));
  }
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Stderr();
  stub_ = daemon_.NewStub();

  const std::string shown = "RED: overspent\\r\\x1b[2KGREEN: all fine \\u202ereversed";
  for (const std::string& args :
       {std::string("status --programme LPP"), std::string("history programme/LPP"),
        std::string("report --programme LPP --since-week 74"),
        std::string("tail -n 1 --limit 1")}) {
    SCOPED_TRACE(args);
    CliRun r = Run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.find_first_of("\r\x1b\x9b"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\xE2\x80\xAE"), std::string::npos) << r.out;
    if (args.rfind("tail", 0) == 0) {
      EXPECT_THAT(r.out, HasSubstr("clerk\\u009b31m\n"));
    } else if (args.rfind("report", 0) == 0) {
      // Markdown, which shows the backslashes and the bracket as written.
      EXPECT_THAT(r.out, HasSubstr(R"(> RED: overspent\\r\\x1b\[2KGREEN: all fine \\u202ereversed)"));
    } else if (args.rfind("history", 0) != 0) {
      EXPECT_THAT(r.out, HasSubstr(shown));
    }
  }
  // JSON keeps the stored text exact (JSON escapes control characters itself).
  v1::GetProgrammeStatusResponse status;
  RunJson("status --programme LPP", &status);
  EXPECT_EQ(status.programme().commentary(), hostile);

  // Text that Markdown or HTML would act on is shown as written in the report: no HTML comment
  // hiding what follows, no link, no emphasis, no extra table cell; line breaks are spaces.
  report.set_plan_week(88);
  report.set_commentary("Fine <!-- hidden --> [approved](https://example.com) **bold**\nnext|line");
  ASSERT_THAT(Append(*stub_, MakeAppend({gov::Ev(report)}), &response), GrpcOk());
  CliRun markdown = Run("report --programme LPP --since-week 74");
  ASSERT_EQ(markdown.code, 0) << markdown.err;
  EXPECT_THAT(markdown.out,
              HasSubstr(R"(> Fine \<!-- hidden --\> \[approved\](https://example.com) )"
                        R"(\*\*bold\*\* next\|line)"
                        "\n"));
}

TEST_F(CliQueryTest, UnreachableServerExitsThreeNamingTheAddress) {
  const std::string address = daemon_.address();
  ASSERT_TRUE(daemon_.Stop().Success());
  for (const char* args : {"status --programme LPP",
                           "report --programme LPP --since-week 74 "
                           "--week 86 --json"}) {
    CliRun r = Cli(absl::StrCat("--server ", address, " ", args));
    EXPECT_EQ(r.code, 3) << args;
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, AllOf(StartsWith("govledger: "),
                             HasSubstr(absl::StrCat("cannot reach govledgerd at ", address))));
  }
}

TEST_F(CliQueryTest, ColourOnlyForRatingsOnATerminalWithoutNoColor) {
  // Through a pipe (as every other test): never colour, even without NO_COLOR.
  CliRun piped =
      Cli(absl::StrCat("--server ", daemon_.address(), " status --programme LPP --week 86"));
  ASSERT_EQ(piped.code, 0) << piped.err;
  EXPECT_THAT(piped.out, Not(HasSubstr("\x1b[")));
  // On a terminal (script(1) gives the CLI a pseudo-terminal): the ratings, and only they, are
  // coloured; with NO_COLOR=1 nothing is.
  const std::string on_tty =
      absl::StrCat("--server ", daemon_.address(), " status --programme LPP --week 86' /dev/null");
  CliRun tty = Cli(on_tty, "NO_COLOR= script -qec '");
  ASSERT_EQ(tty.code, 0) << tty.err;
  EXPECT_THAT(tty.out, AllOf(HasSubstr("Rating:      \x1b[1;33mAMBER\x1b[0m (reported"),
                             HasSubstr("open    \x1b[1;32mGREEN\x1b[0m  -")));
  size_t escapes = 0;
  for (size_t at = tty.out.find("\x1b["); at != std::string::npos;
       at = tty.out.find("\x1b[", at + 1)) {
    ++escapes;
  }
  // The programme's rating, the 7 projects' and the two counted in "Open projects by rating",
  // each opened and reset.
  EXPECT_EQ(escapes, 2u * 10u);
  CliRun no_color = Cli(on_tty, "NO_COLOR=1 script -qec '");
  ASSERT_EQ(no_color.code, 0) << no_color.err;
  EXPECT_THAT(no_color.out, AllOf(HasSubstr("AMBER"), Not(HasSubstr("\x1b["))));
}

TEST_F(CliQueryTest, EveryCommandHasHelpWithExamples) {
  for (const char* command :
       {"status", "risks", "scope", "benefits", "decisions", "history", "compare", "report"}) {
    CliRun r = Cli(absl::StrCat(command, " --help"));
    EXPECT_EQ(r.code, 0) << command;
    EXPECT_THAT(r.out, AllOf(HasSubstr("govledger "), HasSubstr("--as-known"), HasSubstr("--json"),
                             HasSubstr("the head")))
        << command;
  }
}

}  // namespace
}  // namespace govledger::testing
