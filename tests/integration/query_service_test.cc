// QueryService through gRPC against the real govledgerd: the seed-000 check of
// deploy/demo/10-seed000-* (the Local Policing Programme as at weeks 74 and 86, and
// the events that explain the difference), asked both as recorded (by log
// position) and as now known (by programme week: the events carry effective
// times in the weeks the report gives them); the scope map, benefits and a
// risk's history at week 86; PCD 72 in the decision register before and after
// its signature; and bad selectors with their status codes and messages.
#include <grpcpp/client_context.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "govledger/v1/query.grpc.pb.h"
#include "projections/as_at.h"
#include "tests/governance_events.h"
#include "tests/integration/client_util.h"
#include "tests/seed000_events.h"

namespace govledger::testing {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Pair;

v1::AsAt Week(int week, v1::AsAtMode mode,
              const std::string& programme = "LPP") {
  v1::AsAt a;
  a.mutable_programme_week()->set_programme_id(programme);
  a.mutable_programme_week()->set_week(week);
  a.set_mode(mode);
  return a;
}
v1::AsAt Position(uint64_t position) {
  v1::AsAt a;
  a.set_position(position);
  a.set_mode(v1::AS_AT_MODE_AS_RECORDED);
  return a;
}
constexpr v1::AsAtMode kRecorded = v1::AS_AT_MODE_AS_RECORDED;
constexpr v1::AsAtMode kKnown = v1::AS_AT_MODE_AS_KNOWN;

class QueryServiceTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  }

  uint64_t Send(std::vector<v1::Event> events) {
    v1::AppendResponse response;
    grpc::Status s =
        Append(*stub_, MakeAppend(std::move(events)), &response, "clerk");
    EXPECT_THAT(s, GrpcOk());
    return response.head_position();
  }

  grpc::Status ProgrammeStatus(const v1::AsAt& as_at,
                               v1::GetProgrammeStatusResponse* out,
                               const std::string& programme = "LPP") {
    v1::GetProgrammeStatusRequest request;
    request.set_programme_id(programme);
    *request.mutable_as_at() = as_at;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return query_->GetProgrammeStatus(&context, request, out);
  }
  grpc::Status RiskRegister(const v1::AsAt& as_at,
                            v1::GetRiskRegisterResponse* out,
                            const std::string& programme = "LPP") {
    v1::GetRiskRegisterRequest request;
    request.set_programme_id(programme);
    *request.mutable_as_at() = as_at;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return query_->GetRiskRegister(&context, request, out);
  }
  grpc::Status History(const std::string& stream, const v1::AsAt& as_at,
                       v1::GetEntityHistoryResponse* out) {
    v1::GetEntityHistoryRequest request;
    request.set_stream_id(stream);
    *request.mutable_as_at() = as_at;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return query_->GetEntityHistory(&context, request, out);
  }
  grpc::Status Compare(const v1::AsAt& from, const v1::AsAt& to,
                       v1::CompareResponse* out) {
    v1::CompareRequest request;
    request.set_programme_id("LPP");
    *request.mutable_from() = from;
    *request.mutable_to() = to;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return query_->Compare(&context, request, out);
  }

  // Seed 000 (tests/seed000_events.h) recorded: returns the head after the
  // week-74 report; the week-86 report is the rest of the log.
  uint64_t RecordSeed000() {
    const seed000::Seed000 seed = seed000::BuildSeed000();
    Send(seed.registrations);
    Send(seed.risk_register);
    const uint64_t week74 = Send(seed.week74_ratings);
    Send(seed.project_closures);
    Send(seed.risk_changes);
    Send(seed.changes);
    Send(seed.week86_ratings);
    return week74;
  }

  std::unique_ptr<v1::QueryService::Stub> query_;
};

void AspectText(std::string* out, const v1::Aspect& a) {
  absl::StrAppend(out, a.name(), "=", a.value());
}

// Counts of the open projects' ratings, as "GREEN=4 AMBER=1".
std::string Rags(const v1::GetProgrammeStatusResponse& r) {
  std::string out;
  for (const v1::RagCount& c : r.project_rag_counts()) {
    absl::StrAppend(&out, out.empty() ? "" : " ",
                    v1::Rag_Name(c.rag()).substr(4), "=", c.count());
  }
  return out;
}

// A cut "as recorded" at a time just past, under appends, holds every event recorded by then:
// the event after the position it resolves to was recorded after it. (An integrator's trial:
// half of such cuts left out a group stamped before the time but still being synced, and
// resolved to a later position when asked again; a history's next page was ABORTED.)
TEST_F(QueryServiceTest, ACutAtATimeJustPastHoldsEveryEventRecordedByThen) {
  RecordSeed000();
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      auto stub = daemon_.NewStub();
      while (!stop.load()) {
        if (!AppendOne(*stub, absl::StrCat("load/", w), "another system's record").ok()) return;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    const int64_t t = absl::ToUnixMicros(absl::Now()) - 200;
    v1::AsAt cut;
    SetMicros(t, cut.mutable_time());
    cut.set_mode(kRecorded);
    v1::GetProgrammeStatusResponse status;
    ASSERT_THAT(ProgrammeStatus(cut, &status), GrpcOk());
    const uint64_t position = status.as_at().position();
    v1::ReadRequest next;
    next.set_from(position + 1);
    next.set_limit(1);
    v1::ReadResponse page;
    for (int tries = 0; tries < 100 && page.events_size() == 0; ++tries) {
      ASSERT_THAT(Read(*stub_, next, &page), GrpcOk());
      if (page.events_size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(page.events_size(), 1);
    EXPECT_GT(ToMicros(page.events(0).recorded_time()), t)
        << "position " << position + 1 << " was recorded by the cut at position " << position;
  }
  stop = true;
  for (std::thread& w : writers) w.join();
}

// Another system's events on streams of no entity change no programme's state and are not
// folded into its answers (found by an integrator's trial: 25,000 such events were counted in,
// and read, by every programme's answer).
TEST_F(QueryServiceTest, AnotherSystemsEventsAreNotFolded) {
  RecordSeed000();
  auto folded = [&](uint64_t position) {
    v1::GetProgrammeStatusResponse status;
    EXPECT_THAT(ProgrammeStatus(Position(position), &status), GrpcOk());
    return status.as_at().events_folded();
  };
  const uint64_t head = GetHead(*stub_)->position();
  const uint64_t before = folded(head);
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK(AppendOne(*stub_, absl::StrCat("case/", i % 3), "another system's record"));
  }
  EXPECT_EQ(folded(head + 30), before);
  ASSERT_OK(AppendOne(*stub_, "programme/LPP", "a note on the programme's own stream"));
  EXPECT_EQ(folded(head + 31), before + 1);  // an opaque event on its stream is its own
}

TEST_F(QueryServiceTest, Seed000Weeks74And86AndTheEventsBetween) {
  const uint64_t week74 = RecordSeed000();
  const uint64_t head = GetHead(*stub_)->position();

  // As at week 74, both as recorded (the log up to the week-74 report) and as
  // now known.
  for (const v1::AsAt& at74 : {Position(week74), Week(74, kKnown)}) {
    SCOPED_TRACE(at74.ShortDebugString());
    v1::GetProgrammeStatusResponse status;
    ASSERT_THAT(ProgrammeStatus(at74, &status), GrpcOk());
    EXPECT_EQ(Rags(status), "GREEN=4 AMBER=1");
    EXPECT_EQ(status.projects_size(), 5);
    EXPECT_FALSE(status.programme().rated());
    v1::GetRiskRegisterResponse risks;
    ASSERT_THAT(RiskRegister(at74, &risks), GrpcOk());
    EXPECT_EQ(risks.open(), 14);
    EXPECT_EQ(risks.open_red(), 8);
    // Every event up to the week-74 report except OCP's and SCCP's
    // registrations: only the events that can concern LPP are folded.
    EXPECT_EQ(risks.as_at().events_folded(), week74 - 2);
  }
  v1::GetProgrammeStatusResponse known74;
  ASSERT_THAT(ProgrammeStatus(Week(74, kKnown), &known74), GrpcOk());
  EXPECT_EQ(known74.plan_week(), 74);

  // As at week 86.
  for (const v1::AsAt& at86 : {Position(head), Week(86, kKnown)}) {
    SCOPED_TRACE(at86.ShortDebugString());
    v1::GetProgrammeStatusResponse status;
    ASSERT_THAT(ProgrammeStatus(at86, &status), GrpcOk());
    EXPECT_EQ(status.programme().rag(), v1::RAG_AMBER);
    EXPECT_EQ(Rags(status), "GREEN=3 AMBER=2");
    EXPECT_EQ(status.projects_size(), 7);  // two of them closed
    v1::GetRiskRegisterResponse risks;
    ASSERT_THAT(RiskRegister(at86, &risks), GrpcOk());
    EXPECT_EQ(risks.open(), 11);
    EXPECT_EQ(risks.open_red(), 5);
    EXPECT_EQ(risks.closed(), 2);
    EXPECT_EQ(risks.transferred_out(), 1);
  }
  // As recorded at the end of week 86 (2016) the ledger held nothing: it was
  // written later.
  v1::GetProgrammeStatusResponse recorded86;
  grpc::Status not_yet = ProgrammeStatus(Week(86, kRecorded), &recorded86);
  EXPECT_THAT(not_yet, GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("not yet registered")));
  // Told apart from a programme the ledger does not hold by its reason.
  EXPECT_THAT(not_yet, HasErrorInfo("NOT_YET_REGISTERED",
                                    ElementsAre(Pair("programme", "LPP"))));

  // The difference is explained by exactly the events recorded after the
  // week-74 report.
  std::vector<uint64_t> between;
  for (uint64_t p = week74 + 1; p <= head; ++p) between.push_back(p);
  for (const auto& [from, to] :
       {std::pair{Position(week74), Position(head)},
        std::pair{Week(74, kKnown), Week(86, kKnown)}}) {
    SCOPED_TRACE(from.ShortDebugString());
    v1::CompareResponse diff;
    ASSERT_THAT(Compare(from, to, &diff), GrpcOk());
    std::vector<uint64_t> positions;
    for (const v1::EventRef& e : diff.events())
      positions.push_back(e.position());
    EXPECT_THAT(positions, ElementsAreArray(between));
    std::vector<std::string> lines;
    for (const v1::Difference& d : diff.differences()) {
      std::string events;
      for (const v1::EventRef& e : d.events()) {
        absl::StrAppend(&events, " ", e.event_type().substr(13));
      }
      lines.push_back(absl::StrCat(d.entity(), " ", d.aspect(), ": ",
                                   d.before(), " -> ", d.after(), " by",
                                   events));
    }
    EXPECT_THAT(
        lines,
        ElementsAreArray<std::string>({
            "programme/LPP rating:  -> AMBER by StatusReported",
            "project/LPP-CJ state: open -> closed by ProjectClosed",
            "project/LPP-INV gate:  -> Gate 3 by GatePassed",
            "project/LPP-INV benefit:annual-savings:  -> forecast "
            "£6,000,000.00 by BenefitForecast",
            "project/LPP-PCSO state: open -> closed by ProjectClosed",
            "project/LPP-PERF registered:  -> registered by ProjectRegistered",
            "project/LPP-PERF rating:  -> GREEN by StatusReported",
            "project/LPP-PERF state:  -> open by ProjectRegistered",
            "project/LPP-PP registered:  -> registered by ProjectRegistered",
            "project/LPP-PP rating:  -> GREEN by StatusReported",
            "project/LPP-PP state:  -> open by ProjectRegistered",
            "project/LPP-RESP rating: GREEN -> AMBER by StatusReported",
            "project/LPP-RESP benefit:annual-savings:  -> forecast "
            "£1,650,000.00 by BenefitForecast",
            "risk/LPP-R01 status: open -> closed by RiskClosed",
            "risk/LPP-R02 status: open -> closed by RiskClosed",
            "risk/LPP-R03 status: open -> transferred out by RiskTransferred",
            "risk/LPP-R03 subject: project LPP-CJ -> programme OCP by "
            "RiskTransferred",
            "risk/LPP-R04 rating: RED -> AMBER by RiskRerated",
            "scope/LPP-BATS-DISCOVERY owner:  -> project LPP-PREV by "
            "ScopeItemAdded",
            "scope/LPP-SVC-OPS owner: programme LPP -> programme OCP by "
            "ScopeItemTransferred",
            "scope/LPP-SVC-SPEC owner: programme LPP -> programme SCCP by "
            "ScopeItemTransferred",
        }));
  }
}

// "What did we believe, when the log had reached position P, about week 77?" LPP-R01's
// closure is recorded as effective in week 78; a correction later voids it and records it
// again in week 76. As now known, week 77 has the risk closed; as known through the position
// before the correction, open; as recorded at week 77, the ledger held nothing yet.
TEST_F(QueryServiceTest, AsKnownThroughAPositionIsWhatWasBelievedThen) {
  RecordSeed000();
  const uint64_t before = GetHead(*stub_)->position();
  std::optional<v1::Event> closure;
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_TRUE(log.ok());
  for (const v1::Event& e : *log) {
    if (e.event_type() == "govledger.v1.RiskClosed" && e.stream_id() == "risk/LPP-R01") {
      closure = e;
    }
  }
  ASSERT_TRUE(closure.has_value());
  // Warm the as-known answers at the head, so that snapshots exist that read past `before`.
  v1::GetRiskRegisterResponse r;
  for (int i = 0; i < 3; ++i) ASSERT_THAT(RiskRegister(Week(77, kKnown), &r), GrpcOk());
  EXPECT_EQ(r.open(), 14);  // LPP-R01 closed in week 78
  const v1::Event again = seed000::EffectiveIn(76, {Ev(CloseRisk("LPP-R01"))})[0];
  const uint64_t after =
      Send({gov::Correction(*closure, "closed in week 76, not 78"), again});
  ASSERT_EQ(after, before + 2);

  auto open_at_77 = [&](uint64_t through) {
    v1::AsAt a = Week(77, kKnown);
    a.set_known_through(through);
    v1::GetRiskRegisterResponse out;
    EXPECT_THAT(RiskRegister(a, &out), GrpcOk());
    return std::pair<int, uint64_t>{out.open(), out.as_at().position()};
  };
  EXPECT_EQ(open_at_77(0), std::make_pair(13, after));       // as now known
  EXPECT_EQ(open_at_77(after), std::make_pair(13, after));
  EXPECT_EQ(open_at_77(before), std::make_pair(14, before));  // as believed then
  EXPECT_EQ(open_at_77(before + 1), std::make_pair(14, before + 1));  // voided, not re-closed
  // Asked again (snapshots now taken at both bounds): the same.
  EXPECT_EQ(open_at_77(before), std::make_pair(14, before));
  EXPECT_EQ(open_at_77(0), std::make_pair(13, after));

  // Compare between the two beliefs about week 77 names the events that explain them.
  v1::AsAt then = Week(77, kKnown);
  then.set_known_through(before);
  v1::CompareResponse diff;
  ASSERT_THAT(Compare(then, Week(77, kKnown), &diff), GrpcOk());
  std::vector<uint64_t> events;
  for (const v1::EventRef& e : diff.events()) events.push_back(e.position());
  EXPECT_THAT(events, ::testing::Contains(after));

  // Refused: with AS_RECORDED, and past the head.
  v1::AsAt recorded = Week(77, kRecorded);
  recorded.set_known_through(before);
  EXPECT_THAT(RiskRegister(recorded, &r),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("as_at.known_through goes with AS_AT_MODE_AS_KNOWN")));
  v1::AsAt past = Week(77, kKnown);
  past.set_known_through(after + 1);
  EXPECT_THAT(RiskRegister(past, &r),
              GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                           HasSubstr(absl::StrCat("as_at.known_through ", after + 1))));
}

TEST_F(QueryServiceTest, BadSelectorsAreRefusedWithWhatIsValid) {
  const uint64_t week74 = RecordSeed000();
  v1::GetRiskRegisterResponse r;
  EXPECT_THAT(RiskRegister(Week(0, kKnown), &r),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           AllOf(HasSubstr("before mobilisation"),
                                 HasSubstr("2015-05-04"),
                                 HasSubstr("valid weeks are 1 to 208"))));
  EXPECT_THAT(
      RiskRegister(Week(209, kRecorded), &r),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                   AllOf(HasSubstr("past the plan"), HasSubstr("1 to 208"))));
  v1::AsAt future;
  future.mutable_time()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      3600);
  future.set_mode(kKnown);
  EXPECT_THAT(
      RiskRegister(future, &r),
      GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                   AllOf(HasSubstr("in the future"), HasSubstr("up to now"))));
  EXPECT_THAT(RiskRegister(Week(74, kKnown, "NOPE"), &r),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND,
                           HasSubstr("registered programmes: LPP, OCP, SCCP")));
  EXPECT_THAT(RiskRegister(Week(74, kKnown), &r, "NOPE"),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND,
                           HasSubstr("'NOPE' is not registered")));
  const uint64_t head = GetHead(*stub_)->position();
  const grpc::Status past_head = RiskRegister(Position(10000), &r);
  EXPECT_THAT(past_head,
              GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                           HasSubstr(absl::StrCat("valid positions are 0 to ", head))));
  EXPECT_THAT(past_head,
              HasErrorInfo("POSITION_PAST_HEAD",
                           ::testing::ElementsAre(::testing::Pair("head", absl::StrCat(head)))));
  v1::AsAt no_mode = Position(week74);
  no_mode.clear_mode();
  EXPECT_THAT(RiskRegister(no_mode, &r),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("as_at.mode")));
  v1::CompareResponse diff;
  EXPECT_THAT(
      Compare(Position(week74), Week(300, kKnown), &diff),
      GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                   AllOf(HasSubstr("to: "), HasSubstr("past the plan"))));
  // Compare keeps the reason of the point it names.
  const grpc::Status compare_past = Compare(Position(week74), Position(10000), &diff);
  EXPECT_THAT(compare_past, GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE, HasSubstr("to: ")));
  EXPECT_THAT(compare_past,
              HasErrorInfo("POSITION_PAST_HEAD",
                           ::testing::ElementsAre(::testing::Pair("head", absl::StrCat(head)))));
}

// An id that could name nothing is INVALID_ARGUMENT saying why, not NOT_FOUND; one long
// enough to pass a client's limit on trailers (its message would echo it) is too, not
// RESOURCE_EXHAUSTED.
TEST_F(QueryServiceTest, MalformedIdsAreInvalidArguments) {
  RecordSeed000();
  v1::GetRiskRegisterResponse r;
  for (const std::string& id : {std::string("LPP "), std::string("LP/P"), std::string(20000, 'X')}) {
    EXPECT_THAT(RiskRegister(Week(74, kKnown), &r, id),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("programme_id")))
        << id.size();
    EXPECT_THAT(RiskRegister(Week(74, kKnown, id), &r),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("as_at.programme_week.programme_id")))
        << id.size();
  }
  for (const std::string& stream : {std::string("risk/LPP-R01 "), std::string("programme/LPP/"),
                                    std::string(20000, 'a')}) {
    grpc::ClientContext context;
    v1::GetEntityHistoryRequest request;
    request.set_stream_id(stream);
    v1::GetEntityHistoryResponse response;
    EXPECT_THAT(query_->GetEntityHistory(&context, request, &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("stream_id")))
        << stream.size();
  }
  grpc::ClientContext context;
  v1::GetDecisionRegisterRequest request;
  request.set_organisation_id(std::string(20000, 'M'));
  v1::GetDecisionRegisterResponse response;
  const grpc::Status long_org = query_->GetDecisionRegister(&context, request, &response);
  EXPECT_THAT(long_org, GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                     HasSubstr("organisation_id has 20000 bytes")));
}

TEST_F(QueryServiceTest, Seed000ScopeBenefitsAndHistoryAtWeek86) {
  RecordSeed000();
  grpc::ClientContext scope_context;
  v1::GetScopeMapRequest scope_request;
  scope_request.set_programme_id("LPP");
  *scope_request.mutable_as_at() = Week(86, kKnown);
  v1::GetScopeMapResponse scope;
  ASSERT_THAT(query_->GetScopeMap(&scope_context, scope_request, &scope),
              GrpcOk());
  ASSERT_EQ(scope.items_size(), 3);
  EXPECT_EQ(scope.items(0).scope_item_id(), "LPP-BATS-DISCOVERY");
  EXPECT_EQ(scope.items(0).status(), v1::SCOPE_STATUS_IN_SCOPE);
  EXPECT_EQ(scope.items(1).scope_item_id(), "LPP-SVC-OPS");
  EXPECT_EQ(scope.items(1).status(), v1::SCOPE_STATUS_TRANSFERRED_OUT);
  EXPECT_EQ(scope.items(1).owner().id(), "OCP");
  EXPECT_EQ(scope.items(2).owner().id(), "SCCP");
  EXPECT_EQ(scope.transferred_out(), 2);

  grpc::ClientContext benefits_context;
  v1::GetBenefitsRequest benefits_request;
  benefits_request.set_programme_id("LPP");
  *benefits_request.mutable_as_at() = Week(86, kKnown);
  v1::GetBenefitsResponse benefits;
  ASSERT_THAT(
      query_->GetBenefits(&benefits_context, benefits_request, &benefits),
      GrpcOk());
  // Investigations £6m and Response £1.65m forecast; PCSO and CJ confirmed
  // £4.5m a year at closure.
  EXPECT_EQ(benefits.total_forecast_annual_pence(), 765000000);
  EXPECT_EQ(benefits.total_closure_annual_benefits_pence(), 450000000);

  grpc::ClientContext history_context;
  v1::GetEntityHistoryRequest history_request;
  history_request.set_stream_id("risk/LPP-R03");
  *history_request.mutable_as_at() = Week(86, kKnown);
  v1::GetEntityHistoryResponse history;
  ASSERT_THAT(
      query_->GetEntityHistory(&history_context, history_request, &history),
      GrpcOk());
  ASSERT_EQ(history.changes_size(), 2);
  EXPECT_EQ(history.changes(1).event().event_type(),
            "govledger.v1.RiskTransferred");
  EXPECT_EQ(history.changes(1).event().actor(), "clerk");
  ASSERT_EQ(history.changes(1).after_size(), 3);
  EXPECT_EQ(history.changes(1).before(2).value(), "project LPP-CJ");
  EXPECT_EQ(history.changes(1).after(2).value(), "programme OCP");
}

// A history asked for in pages: every page answers at the first page's cut (an as-known one
// reads no further than the first page did, whatever is appended meanwhile), the pages put
// together are the whole answer, and tokens from elsewhere are refused.
TEST_F(QueryServiceTest, AHistoryComesInPagesAtTheFirstPagesCut) {
  const v1::WorkRef lpp = ProgrammeRef("LPP");
  std::vector<v1::Event> events = {At(Ev(Organisation("MOPAC")), MakeDate(2015, 5, 4)),
                                   At(Ev(Programme("LPP", "MOPAC")), MakeDate(2015, 5, 4)),
                                   At(Ev(Risk("LPP-R01", lpp)), MakeDate(2016, 1, 4))};
  for (int i = 0; i < 23; ++i) {
    events.push_back(At(Ev(Rerate("LPP-R01", i % 2 == 0 ? v1::RAG_RED : v1::RAG_AMBER)),
                        MakeDate(2016, 2, 1 + i)));
  }
  const v1::Event voided = events[5];
  events.push_back(gov::Correction(voided, "never re-rated that day"));
  const uint64_t head = Send(events);
  // 25 entries: the opening, 22 re-ratings and the correction, then the voided re-rating.
  v1::AsAt as_known;
  as_known.set_position(head);
  as_known.set_mode(kKnown);
  v1::GetEntityHistoryResponse whole;
  ASSERT_THAT(History("risk/LPP-R01", as_known, &whole), GrpcOk());
  ASSERT_EQ(whole.changes_size(), 24);
  ASSERT_EQ(whole.voided_size(), 1);
  EXPECT_EQ(whole.next_page_token(), "");

  v1::GetEntityHistoryRequest request;
  request.set_stream_id("risk/LPP-R01");
  *request.mutable_as_at() = as_known;
  request.set_page_size(10);
  auto page = [&](v1::GetEntityHistoryResponse* out) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return query_->GetEntityHistory(&context, request, out);
  };
  v1::GetEntityHistoryResponse together;
  std::vector<int> sizes;
  std::vector<std::string> tokens;
  for (;;) {
    v1::GetEntityHistoryResponse p;
    ASSERT_THAT(page(&p), GrpcOk());
    EXPECT_EQ(p.as_at().SerializeAsString(), whole.as_at().SerializeAsString());
    sizes.push_back(p.changes_size() + p.voided_size());
    together.mutable_changes()->MergeFrom(p.changes());
    together.mutable_voided()->MergeFrom(p.voided());
    if (p.next_page_token().empty()) break;
    tokens.push_back(p.next_page_token());
    request.set_page_token(p.next_page_token());
    if (sizes.size() == 1) {
      // Re-ratings effective before the cut: a history read to the new head would hold them.
      Send({At(Ev(Rerate("LPP-R01", v1::RAG_GREEN)), MakeDate(2016, 1, 5)),
            At(Ev(Rerate("LPP-R01", v1::RAG_RED)), MakeDate(2016, 1, 6))});
    }
  }
  EXPECT_THAT(sizes, ElementsAre(10, 10, 5));
  EXPECT_EQ(together.SerializeAsString(),
            [&] {
              v1::GetEntityHistoryResponse w = whole;
              w.clear_as_at();
              return w.SerializeAsString();
            }());
  // The first page again now reads to the new head: two changes more.
  v1::GetEntityHistoryResponse now;
  as_known.set_position(head + 2);
  ASSERT_THAT(History("risk/LPP-R01", as_known, &now), GrpcOk());
  EXPECT_EQ(now.changes_size(), 26);

  // Tokens this server did not give, edited, or given for another request.
  v1::GetEntityHistoryResponse r;
  const std::string check = tokens[0].substr(tokens[0].rfind('.'));
  for (const std::string& bad :
       {std::string("garbage"), std::string("1.2"), absl::StrCat(tokens[0], "0"),
        absl::StrCat(head - 1, ".10", check), absl::StrCat(head, ".11", check),
        absl::StrCat(head + 5, ".10", check)}) {
    request.set_page_token(bad);
    EXPECT_THAT(page(&r), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                       HasSubstr("page_token is not one this server gave for "
                                                 "this request")))
        << bad;
  }
  request.set_page_token(tokens[0]);
  request.set_stream_id("risk/LPP-R02");
  EXPECT_THAT(page(&r), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                     HasSubstr("given for another stream_id or as_at")));
  request.set_stream_id("risk/LPP-R01");
  request.mutable_as_at()->set_position(head - 1);
  EXPECT_THAT(page(&r), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                     HasSubstr("given for another stream_id or as_at")));
  // The token again, with its own request: the same page as before.
  request.mutable_as_at()->set_position(head);
  ASSERT_THAT(page(&r), GrpcOk());
  EXPECT_EQ(r.next_page_token(), tokens[1]);
  // Nothing stored changed.
  EXPECT_EQ(GetHead(*stub_)->position(), head + 2);
}

// A history too large for one gRPC message is refused whole, saying how to ask for it, and
// comes in pages of at most 16 MiB and one entry.
TEST_F(QueryServiceTest, AHistoryTooLargeForOneMessageComesInPages) {
  const v1::WorkRef lpp = ProgrammeRef("LPP");
  Send({Ev(Organisation("MOPAC")), Ev(Programme("LPP", "MOPAC"))});
  constexpr int kReports = 70;
  const std::string commentary(1000000, 'c');
  for (int batch = 0; batch < kReports / 10; ++batch) {
    std::vector<v1::Event> reports;
    for (int i = 0; i < 10; ++i) {
      v1::StatusReported m = Status(lpp, v1::RAG_AMBER, batch * 10 + i + 1);
      m.set_commentary(commentary);
      reports.push_back(Ev(m));
    }
    Send(std::move(reports));
  }
  const uint64_t head = GetHead(*stub_)->position();
  v1::GetEntityHistoryResponse whole;
  const grpc::Status refused = History("programme/LPP", Position(head), &whole);
  EXPECT_THAT(refused, GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    AllOf(HasSubstr("more than the 67108864 a gRPC message may "
                                                    "carry"),
                                          HasSubstr("ask for the history in pages"))));
  EXPECT_THAT(refused, HasErrorInfo("ANSWER_TOO_LARGE", ::testing::Contains(::testing::Key(
                                                            "answer_bytes"))));

  v1::GetEntityHistoryRequest request;
  request.set_stream_id("programme/LPP");
  *request.mutable_as_at() = Position(head);
  request.set_page_size(1000);
  int entries = 0;
  int pages = 0;
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::GetEntityHistoryResponse p;
    ASSERT_THAT(query_->GetEntityHistory(&context, request, &p), GrpcOk());
    ++pages;
    ASSERT_GT(p.changes_size(), 0);
    const size_t last = p.changes(p.changes_size() - 1).ByteSizeLong();
    EXPECT_LT(p.ByteSizeLong() - last, size_t{16} << 20) << "page " << pages;
    for (const v1::EntityChange& c : p.changes()) {
      ++entries;
      if (entries > 1) {
        EXPECT_EQ(c.event().position(), uint64_t(entries + 1)) << "page " << pages;
      }
    }
    if (p.next_page_token().empty()) break;
    request.set_page_token(p.next_page_token());
  }
  EXPECT_EQ(entries, kReports + 1);  // the registration and the reports
  EXPECT_GE(pages, 4);
}

// Seed 001: PCD 72, £730,000, needing the Deputy Mayor because of the £500,000
// rule.
TEST_F(QueryServiceTest, DecisionRegisterPcd72) {
  const std::string dmpc_role = "Deputy Mayor for Policing and Crime";
  Signer dmpc = NewSigner("mopac-dmpc", dmpc_role);
  v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {dmpc_role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  const uint64_t proposed =
      Send({Ev(Organisation("MOPAC")),
            Ev(Delegation("MOPAC", "DMPC-500K", 50000000, dmpc_role)),
            Ev(dmpc.Registration("Sophie Linden")), Ev(pcd72)});
  const uint64_t signed_at = Send({Ev(dmpc.Sign(pcd72))});
  auto ask = [&](uint64_t position, v1::GetDecisionRegisterResponse* out) {
    v1::GetDecisionRegisterRequest request;
    request.set_organisation_id("MOPAC");
    *request.mutable_as_at() = Position(position);
    grpc::ClientContext context;
    return query_->GetDecisionRegister(&context, request, out);
  };
  v1::GetDecisionRegisterResponse before;
  ASSERT_THAT(ask(proposed, &before), GrpcOk());
  ASSERT_EQ(before.decisions_size(), 1);
  EXPECT_EQ(before.decisions(0).status(), v1::DECISION_STATUS_PENDING);
  EXPECT_THAT(before.decisions(0).unsigned_roles(),
              ElementsAreArray({dmpc_role}));
  ASSERT_EQ(before.decisions(0).delegations_size(), 1);
  EXPECT_EQ(before.decisions(0).delegations(0).role(), dmpc_role);
  EXPECT_EQ(before.approved_spend_size(), 0);
  v1::GetDecisionRegisterResponse after;
  ASSERT_THAT(ask(signed_at, &after), GrpcOk());
  EXPECT_EQ(after.decisions(0).status(), v1::DECISION_STATUS_APPROVED);
  ASSERT_EQ(after.approved_spend_size(), 1);
  EXPECT_EQ(after.approved_spend(0).pence(), 73000000);
  EXPECT_EQ(after.approved_spend(0).funding_source(), "Major Change Reserve");
}

// A corrected signature: the register shows the decision pending from the
// correction on, and the rules agree (the same key may sign again) across a
// restart.
// A week-80 report keyed in after the week-86 one joins the programme's history but does not
// become its current status, as recorded or as known, before and after a restart (the state
// then comes from the daemon's snapshots).
TEST_F(QueryServiceTest, AReportKeyedInLateIsHistoryNotTheCurrentStatus) {
  RecordSeed000();
  v1::StatusReported late = Status(ProgrammeRef("LPP"), v1::RAG_RED, 80);
  late.set_commentary("keyed in late");
  v1::Event event = Ev(late);
  SetMicros(seed000::InWeek(80), event.mutable_effective_time());
  event.set_source("Programme board highlight report, week 80");
  const uint64_t head = Send({event});
  auto expect_week86 = [&](const std::string& when) {
    SCOPED_TRACE(when);
    for (const v1::AsAt& as_at : {Position(head), Week(87, kKnown)}) {
      v1::GetProgrammeStatusResponse r;
      ASSERT_THAT(ProgrammeStatus(as_at, &r), GrpcOk());
      EXPECT_EQ(r.programme().rag(), v1::RAG_AMBER) << as_at.ShortDebugString();
      EXPECT_EQ(r.programme().reported_plan_week(), 86);
      EXPECT_EQ(ToMicros(r.programme().reported_time()), seed000::InWeek(86));
    }
    // As known at week 81, the late report was the status then.
    v1::GetProgrammeStatusResponse then;
    ASSERT_THAT(ProgrammeStatus(Week(81, kKnown), &then), GrpcOk());
    EXPECT_EQ(then.programme().rag(), v1::RAG_RED);
    EXPECT_EQ(then.programme().commentary(), "keyed in late");
  };
  expect_week86("before a restart");
  ASSERT_OK(daemon_.Restart());
  stub_ = daemon_.NewStub();
  query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("governance state from the snapshot"));
  expect_week86("after a restart");
  // The history holds both reports, in log order.
  v1::GetEntityHistoryResponse history;
  ASSERT_THAT(History("programme/LPP", Position(head), &history), GrpcOk());
  ASSERT_GE(history.changes_size(), 2);
  const v1::EntityChange& last = history.changes(history.changes_size() - 1);
  EXPECT_EQ(last.event().position(), head);
  // With the paper it records; the seed's events name none.
  EXPECT_EQ(last.event().source(), "Programme board highlight report, week 80");
  EXPECT_EQ(history.changes(0).event().source(), "");
  // Folding it changed nothing of the programme's current state.
  EXPECT_EQ(absl::StrJoin(last.before(), "; ", AspectText),
            absl::StrJoin(last.after(), "; ", AspectText));
}

// The current rated report and the latest update each name the paper they record
// (WorkStatus.reported_source, StatusUpdate.source), as recorded and as known, and still do
// after a restart (the state then comes from the daemon's snapshots); a report keyed in late
// for an earlier week does not take the current one's source.
TEST_F(QueryServiceTest, TheCurrentReportAndUpdateNameTheirSourcesAcrossARestart) {
  RecordSeed000();
  v1::Event rated = Ev(Status(ProgrammeRef("LPP"), v1::RAG_RED, 90));
  SetMicros(seed000::InWeek(90), rated.mutable_effective_time());
  rated.set_source("Update Report to the Joint Audit Committee, week 90");
  v1::StatusReported update_report = Status(ProjectRef("LPP-INV"), v1::RAG_UNSPECIFIED, 91);
  update_report.set_commentary("consultation closed");
  v1::Event update = Ev(update_report);
  SetMicros(seed000::InWeek(91), update.mutable_effective_time());
  update.set_source("Investigations project highlight report, week 91");
  v1::Event late = Ev(Status(ProgrammeRef("LPP"), v1::RAG_GREEN, 88));
  SetMicros(seed000::InWeek(88), late.mutable_effective_time());
  late.set_source("Programme board minutes, week 88");
  const uint64_t head = Send({rated, update, late});
  auto expect_sources = [&](const std::string& when) {
    SCOPED_TRACE(when);
    for (const v1::AsAt& as_at : {Position(head), Week(92, kKnown)}) {
      v1::GetProgrammeStatusResponse r;
      ASSERT_THAT(ProgrammeStatus(as_at, &r), GrpcOk());
      EXPECT_EQ(r.programme().reported_plan_week(), 90) << as_at.ShortDebugString();
      EXPECT_EQ(r.programme().reported_source(),
                "Update Report to the Joint Audit Committee, week 90");
      const v1::WorkStatus* inv = nullptr;
      for (const v1::WorkStatus& w : r.projects()) {
        if (w.ref().id() == "LPP-INV") inv = &w;
      }
      ASSERT_NE(inv, nullptr);
      EXPECT_EQ(inv->reported_source(), "");  // its week 86 rating: seed 000 names none
      EXPECT_EQ(inv->update().source(), "Investigations project highlight report, week 91");
    }
    // As known at week 89, the late report was current, with its own source.
    v1::GetProgrammeStatusResponse then;
    ASSERT_THAT(ProgrammeStatus(Week(89, kKnown), &then), GrpcOk());
    EXPECT_EQ(then.programme().reported_plan_week(), 88);
    EXPECT_EQ(then.programme().reported_source(), "Programme board minutes, week 88");
  };
  expect_sources("before a restart");
  ASSERT_OK(daemon_.Restart());
  stub_ = daemon_.NewStub();
  query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("governance state from the snapshot"));
  expect_sources("after a restart");
}

// The risk register names where each entry comes from (RiskEntry.rating_source and
// status_source): the event that set the rating in effect (not a re-rating keyed in late for an
// earlier week), the closure, the transfer out; as recorded and as known, and after a restart
// (from the daemon's snapshots).
TEST_F(QueryServiceTest, TheRiskRegisterNamesTheSourceOfEachRatingClosureAndTransfer) {
  RecordSeed000();
  auto in_week = [](auto message, int week, const std::string& source) {
    v1::Event e = Ev(message);
    SetMicros(seed000::InWeek(week), e.mutable_effective_time());
    e.set_source(source);
    return e;
  };
  const uint64_t head = Send(
      {in_week(Risk("LPP-R20", ProgrammeRef("LPP"), v1::RAG_AMBER), 88, "Risk register, week 88"),
       in_week(Rerate("LPP-R20", v1::RAG_RED), 90, "Update report, week 90"),
       in_week(Rerate("LPP-R20", v1::RAG_GREEN), 89, "Board minutes, week 89, keyed in late"),
       in_week(CloseRisk("LPP-R05"), 90, "Update report, week 90"),
       in_week(TransferRisk("LPP-R06", ProgrammeRef("OCP")), 90, "Scope change note 4")});
  auto entry = [](const v1::GetRiskRegisterResponse& r, const std::string& id) {
    for (const v1::RiskEntry& e : r.risks()) {
      if (e.risk_id() == id) return e;
    }
    ADD_FAILURE() << "no " << id;
    return v1::RiskEntry();
  };
  auto expect_sources = [&](const std::string& when) {
    SCOPED_TRACE(when);
    for (const v1::AsAt& as_at : {Position(head), Week(92, kKnown)}) {
      SCOPED_TRACE(as_at.ShortDebugString());
      v1::GetRiskRegisterResponse lpp;
      ASSERT_THAT(RiskRegister(as_at, &lpp), GrpcOk());
      const v1::RiskEntry r20 = entry(lpp, "LPP-R20");
      EXPECT_EQ(r20.rating(), v1::RAG_RED);
      EXPECT_EQ(r20.rating_source(), "Update report, week 90");
      EXPECT_EQ(r20.status_source(), "");
      const v1::RiskEntry r05 = entry(lpp, "LPP-R05");
      EXPECT_EQ(r05.status(), v1::RISK_STATUS_CLOSED);
      EXPECT_EQ(r05.rating_source(), "");  // opened by seed 000, which names no source
      EXPECT_EQ(r05.status_source(), "Update report, week 90");
      const v1::RiskEntry r06 = entry(lpp, "LPP-R06");
      EXPECT_EQ(r06.status(), v1::RISK_STATUS_TRANSFERRED_OUT);
      EXPECT_EQ(r06.status_source(), "Scope change note 4");
      v1::GetRiskRegisterResponse ocp;
      ASSERT_THAT(RiskRegister(as_at, &ocp, "OCP"), GrpcOk());
      EXPECT_EQ(entry(ocp, "LPP-R06").status(), v1::RISK_STATUS_OPEN);
      EXPECT_EQ(entry(ocp, "LPP-R06").status_source(), "");
    }
    // As known in week 89, the late re-rating was in effect, with its own source.
    v1::GetRiskRegisterResponse then;
    ASSERT_THAT(RiskRegister(Week(89, kKnown), &then), GrpcOk());
    EXPECT_EQ(entry(then, "LPP-R20").rating(), v1::RAG_GREEN);
    EXPECT_EQ(entry(then, "LPP-R20").rating_source(), "Board minutes, week 89, keyed in late");
  };
  expect_sources("before a restart");
  ASSERT_OK(daemon_.Restart());
  stub_ = daemon_.NewStub();
  query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("governance state from the snapshot"));
  expect_sources("after a restart");
}

// A re-plan extends seed 000's programme from 208 weeks to 260 and names a new board, from week
// 90 on: a point before it shows the plan as registered, one after it the new plan; weeks past
// the first plan may be asked about; the history says what changed and why; and after a
// restart (the state loaded from its snapshot) a re-plan dated before it is still refused.
TEST_F(QueryServiceTest, AReplanChangesThePlanFromItsEffectiveTimeOn) {
  RecordSeed000();
  v1::ProgrammeReplanned replan = Replan("LPP", 260);
  replan.set_board("LPP Board (re-formed)");
  replan.set_reason("Re-baselined after the week 86 report");
  replan.set_approved_by("Joint Audit Committee");
  replan.add_excluded_scope("Back office functions");
  v1::Event event = Ev(replan);
  SetMicros(seed000::InWeek(90), event.mutable_effective_time());
  const uint64_t head = Send({event});

  v1::GetProgrammeStatusResponse before, after;
  ASSERT_THAT(ProgrammeStatus(Week(86, kKnown), &before), GrpcOk());
  EXPECT_EQ(before.planned_weeks(), 208);
  EXPECT_NE(before.registration().board(), "LPP Board (re-formed)");
  ASSERT_THAT(ProgrammeStatus(Week(230, kKnown), &after), GrpcOk());
  EXPECT_EQ(after.planned_weeks(), 260);
  EXPECT_EQ(after.registration().board(), "LPP Board (re-formed)");
  EXPECT_THAT(after.registration().excluded_scope(), ElementsAre("Back office functions"));
  EXPECT_THAT(before.registration().excluded_scope(), ::testing::IsEmpty());
  EXPECT_EQ(after.plan_week(), 230);
  // The re-plan is listed with its effective time, and the plan as first registered kept.
  EXPECT_THAT(before.replans(), ::testing::IsEmpty());
  EXPECT_FALSE(before.has_as_registered());
  ASSERT_EQ(after.replans_size(), 1);
  EXPECT_EQ(ToMicros(after.replans(0).effective_time()), seed000::InWeek(90));
  EXPECT_EQ(after.replans(0).replan().reason(), "Re-baselined after the week 86 report");
  EXPECT_EQ(after.replans(0).replan().planned_weeks(), 260);
  EXPECT_EQ(after.as_registered().planned_weeks(), 208);
  EXPECT_EQ(after.as_registered().board(), before.registration().board());
  for (const int week : {86, 230}) {
    grpc::ClientContext context;
    v1::GetScopeMapRequest request;
    request.set_programme_id("LPP");
    *request.mutable_as_at() = Week(week, kKnown);
    v1::GetScopeMapResponse scope;
    ASSERT_THAT(query_->GetScopeMap(&context, request, &scope), GrpcOk());
    EXPECT_EQ(absl::StrJoin(scope.excluded(), "; "), week == 86 ? "" : "Back office functions");
  }
  // Compare shows what the re-plan changed, each explained by it.
  v1::CompareResponse compared;
  ASSERT_THAT(Compare(Week(86, kKnown), Week(230, kKnown), &compared), GrpcOk());
  std::vector<std::string> plan_changes;
  for (const v1::Difference& d : compared.differences()) {
    if (d.entity() != "programme/LPP") continue;
    ASSERT_EQ(d.events_size(), 1) << d.aspect();
    EXPECT_EQ(d.events(0).position(), head) << d.aspect();
    plan_changes.push_back(absl::StrCat(d.aspect(), ": ", d.before(), " -> ", d.after()));
  }
  EXPECT_THAT(plan_changes,
              ElementsAre("planned_weeks: 208 -> 260",
                          ::testing::StartsWith("board: "),
                          "excluded_scope:  -> Back office functions"));
  v1::GetRiskRegisterResponse r;
  EXPECT_THAT(RiskRegister(Week(261, kKnown), &r),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           AllOf(HasSubstr("past the plan"),
                                 HasSubstr("its longest plan recorded is 260 weeks"),
                                 HasSubstr("1 to 260"))));

  v1::GetEntityHistoryResponse history;
  ASSERT_THAT(History("programme/LPP", Position(head), &history), GrpcOk());
  const v1::EntityChange& last = history.changes(history.changes_size() - 1);
  EXPECT_EQ(last.event().position(), head);
  const std::string was = absl::StrJoin(last.before(), "; ", AspectText);
  const std::string now = absl::StrJoin(last.after(), "; ", AspectText);
  EXPECT_THAT(was, HasSubstr("planned_weeks=208"));
  EXPECT_THAT(now, AllOf(HasSubstr("planned_weeks=260"), HasSubstr("board=LPP Board (re-formed)"),
                         HasSubstr("excluded_scope=Back office functions")));
  EXPECT_THAT(was, ::testing::Not(HasSubstr("board=LPP Board (re-formed)")));
  EXPECT_THAT(last.note(), AllOf(HasSubstr("Re-baselined after the week 86 report"),
                                 HasSubstr("approved by Joint Audit Committee")));

  ASSERT_OK(daemon_.Restart());
  stub_ = daemon_.NewStub();
  query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("governance state from the snapshot"));
  v1::Event earlier = Ev(Replan("LPP", 300));
  SetMicros(seed000::InWeek(88), earlier.mutable_effective_time());
  v1::AppendResponse refused;
  EXPECT_THAT(Append(*stub_, MakeAppend({earlier}), &refused, "clerk"),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("programme LPP was last re-planned effective")));
  // Shortened again to 230 weeks: a question may still name a week of the 260-week plan, and
  // one past it is told the longest plan, not the one now in force.
  v1::Event shorter = Ev(Replan("LPP", 230));
  SetMicros(seed000::InWeek(95), shorter.mutable_effective_time());
  Send({shorter});
  v1::GetProgrammeStatusResponse status;
  ASSERT_THAT(ProgrammeStatus(Week(250, kKnown), &status), GrpcOk());
  EXPECT_EQ(status.planned_weeks(), 230);
  EXPECT_THAT(ProgrammeStatus(Week(261, kKnown), &status),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("its longest plan recorded is 260 weeks; valid weeks")));
}

// A re-plan recorded in error and corrected no longer lengthens the plan: its weeks may not be
// asked about, through the daemon's index, before and after a restart (the index saved and
// loaded).
TEST_F(QueryServiceTest, ACorrectedReplanNoLongerLengthensThePlan) {
  RecordSeed000();
  v1::Event replan = Ev(Replan("LPP", 260));
  SetMicros(seed000::InWeek(90), replan.mutable_effective_time());
  Send({replan});
  v1::GetProgrammeStatusResponse status;
  ASSERT_THAT(ProgrammeStatus(Week(230, kKnown), &status), GrpcOk());
  EXPECT_EQ(status.planned_weeks(), 260);
  Send({Correction(replan, "the re-plan was not approved")});
  for (const bool restarted : {false, true}) {
    SCOPED_TRACE(restarted ? "after a restart" : "before a restart");
    if (restarted) {
      ASSERT_OK(daemon_.Restart());
      stub_ = daemon_.NewStub();
      query_ = v1::QueryService::NewStub(daemon_.NewChannel());
    }
    EXPECT_THAT(ProgrammeStatus(Week(230, kKnown), &status),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             AllOf(HasSubstr("past the plan"),
                                   HasSubstr("its longest plan recorded is 208 weeks"),
                                   HasSubstr("1 to 208"))));
    ASSERT_THAT(ProgrammeStatus(Week(200, kKnown), &status), GrpcOk());
    EXPECT_EQ(status.planned_weeks(), 208);
  }
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("query index loaded"));
}

TEST_F(QueryServiceTest, ACorrectedSignatureLeavesTheDecisionPendingForRulesAndRegister) {
  const std::string dmpc_role = "Deputy Mayor for Policing and Crime";
  Signer dmpc = NewSigner("mopac-dmpc", dmpc_role);
  v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {dmpc_role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  const v1::Event signature = Ev(dmpc.Sign(pcd72));
  const uint64_t signed_at =
      Send({Ev(Organisation("MOPAC")), Ev(dmpc.Registration("Sophie Linden")),
            Ev(pcd72), signature});
  const uint64_t corrected_at =
      Send({Correction(signature, "signed on the wrong version of the paper")});
  auto status_at = [&](uint64_t position) {
    v1::GetDecisionRegisterRequest request;
    request.set_organisation_id("MOPAC");
    *request.mutable_as_at() = Position(position);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::GetDecisionRegisterResponse out;
    EXPECT_THAT(query_->GetDecisionRegister(&context, request, &out), GrpcOk());
    return out.decisions_size() == 1 ? out.decisions(0).status()
                                     : v1::DECISION_STATUS_UNSPECIFIED;
  };
  EXPECT_EQ(status_at(signed_at), v1::DECISION_STATUS_APPROVED);
  EXPECT_EQ(status_at(corrected_at), v1::DECISION_STATUS_PENDING);

  ASSERT_OK(daemon_.Restart());
  stub_ = daemon_.NewStub();
  query_ = v1::QueryService::NewStub(daemon_.NewChannel());
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("governance state from the snapshot"));
  const uint64_t resigned_at = Send({Ev(dmpc.Sign(pcd72))});
  EXPECT_EQ(status_at(resigned_at), v1::DECISION_STATUS_APPROVED);
  // Signed once more since the correction: the rules refuse a second.
  v1::AppendResponse response;
  EXPECT_THAT(Append(*stub_, MakeAppend({Ev(dmpc.Sign(pcd72))}), &response, "clerk"),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("already approved")));
}

}  // namespace
}  // namespace govledger::testing
