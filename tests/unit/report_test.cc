// The report's rating (cli/report.h): the programme's RAG rating and delivery confidence, in
// Compare's words, so that its sentence, `ratingChanged` and its table of differences agree.
#include "cli/report.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace govledger::cli {
namespace {

using ::testing::HasSubstr;

ReportInputs Rated(v1::DeliveryConfidence then, v1::DeliveryConfidence now) {
  ReportInputs in;
  in.programme_id = "TST";
  for (auto [point, confidence] : {std::pair{&in.previous, then}, std::pair{&in.current, now}}) {
    v1::WorkStatus* p = point->status.mutable_programme();
    p->mutable_ref()->set_kind(v1::WORK_KIND_PROGRAMME);
    p->mutable_ref()->set_id("TST");
    p->set_rated(true);
    p->set_rag(v1::RAG_AMBER);
    p->set_delivery_confidence(confidence);
  }
  return in;
}

TEST(ReportTest, ADeliveryConfidenceChangedUnderTheSameRagIsAChangedRating) {
  const ReportInputs in =
      Rated(v1::DELIVERY_CONFIDENCE_AMBER_GREEN, v1::DELIVERY_CONFIDENCE_RED);
  EXPECT_TRUE(ReportMessage(in).rating_changed());
  EXPECT_THAT(ReportMarkdown(in),
              HasSubstr("The programme is AMBER, delivery confidence RED (last time: AMBER, "
                        "delivery confidence AMBER/GREEN)."));
  const ReportInputs same = Rated(v1::DELIVERY_CONFIDENCE_RED, v1::DELIVERY_CONFIDENCE_RED);
  EXPECT_FALSE(ReportMessage(same).rating_changed());
}

// A project rated, or given a delivery confidence, that this version does not know (a newer
// govledgerd's) is counted in a row of its own, in the report and in its message, so that
// every open project is in some row (an upgrade tester's report counted 4 of 5).
TEST(ReportTest, RatingsThisVersionDoesNotKnowHaveRowsOfTheirOwn) {
  ReportInputs in = Rated(v1::DELIVERY_CONFIDENCE_AMBER, v1::DELIVERY_CONFIDENCE_AMBER);
  v1::WorkStatus* project = in.current.status.add_projects();
  project->mutable_ref()->set_kind(v1::WORK_KIND_PROJECT);
  project->mutable_ref()->set_id("TST-A");
  project->set_rated(true);
  project->set_rag(static_cast<v1::Rag>(9));
  project->set_delivery_confidence(static_cast<v1::DeliveryConfidence>(6));
  v1::RagCount* rag = in.current.status.add_project_rag_counts();
  rag->set_rag(static_cast<v1::Rag>(9));
  rag->set_count(1);
  v1::ConfidenceCount* confidence = in.current.status.add_project_confidence_counts();
  confidence->set_delivery_confidence(static_cast<v1::DeliveryConfidence>(6));
  confidence->set_count(1);
  const std::string markdown = ReportMarkdown(in);
  EXPECT_THAT(markdown, HasSubstr("| unknown (9)   |   1 |         0 |\n"
                                  "| open projects |   1 |         0 |"));
  EXPECT_THAT(markdown, HasSubstr("| unknown (6)         |   1 |         0 |"));
  const v1::ProgrammeReport message = ReportMessage(in);
  ASSERT_EQ(message.current().projects_by_rating_size(), 4);
  EXPECT_EQ(message.current().projects_by_rating(3).rag(), 9);
  EXPECT_EQ(message.current().projects_by_rating(3).count(), 1);
  ASSERT_EQ(message.current().projects_by_delivery_confidence_size(), 6);
  EXPECT_EQ(message.current().projects_by_delivery_confidence(5).delivery_confidence(), 6);
}

// An auditor's finding: a project whose last report is older than the week the report speaks
// for showed its old rating as NOW, as if freshly rated. Its week is given then, and only then.
TEST(ReportTest, AProjectRatingOlderThanTheReportSaysItsWeek) {
  ReportInputs in = Rated(v1::DELIVERY_CONFIDENCE_AMBER, v1::DELIVERY_CONFIDENCE_AMBER);
  in.current.status.mutable_programme()->set_reported_plan_week(86);
  auto add = [&](const std::string& id, int week, bool closed) {
    v1::WorkStatus* project = in.current.status.add_projects();
    project->mutable_ref()->set_kind(v1::WORK_KIND_PROJECT);
    project->mutable_ref()->set_id(id);
    project->set_rated(true);
    project->set_rag(v1::RAG_GREEN);
    project->set_reported_plan_week(week);
    project->set_closed(closed);
  };
  add("TST-LATE", 74, false);
  add("TST-NOW", 86, false);
  add("TST-SHUT", 74, true);
  const std::string markdown = ReportMarkdown(in);
  EXPECT_THAT(markdown, ::testing::ContainsRegex("\\| TST-LATE +\\| - +\\| GREEN \\(week 74\\) +\\|"));
  EXPECT_THAT(markdown, ::testing::ContainsRegex("\\| TST-NOW +\\| - +\\| GREEN +\\|"));
  EXPECT_THAT(markdown,
              ::testing::ContainsRegex("\\| TST-SHUT +\\| - +\\| closed \\(last GREEN, week 74\\) +\\|"));
}

// Ids are unique per kind only: a project sharing its programme's id has gates of its own,
// named and marked "since last time" apart from the programme's (a reviewer's finding: the
// project's new gate read as the programme's old one).
TEST(ReportTest, AProjectSharingItsProgrammesIdHasGatesOfItsOwn) {
  ReportInputs in = Rated(v1::DELIVERY_CONFIDENCE_AMBER, v1::DELIVERY_CONFIDENCE_AMBER);
  for (ReportPoint* point : {&in.previous, &in.current}) {
    point->status.mutable_programme()->add_gates_passed("Gate 1");
    v1::WorkStatus* project = point->status.add_projects();
    project->mutable_ref()->set_kind(v1::WORK_KIND_PROJECT);
    project->mutable_ref()->set_id("TST");
  }
  in.current.status.mutable_projects(0)->add_gates_passed("Gate 1");
  EXPECT_THAT(ReportMarkdown(in), HasSubstr("- programme TST: Gate 1\n"
                                            "- project TST: Gate 1 (since last time)\n"));
  in.current.status.mutable_projects(0)->mutable_ref()->set_id("TST-A");
  EXPECT_THAT(ReportMarkdown(in), HasSubstr("- TST: Gate 1\n"
                                            "- TST-A: Gate 1 (since last time)\n"));
}

// The events that tell the points apart but explain no difference are listed by their kinds,
// each with its positions (an integrator's report of ten corrections called them reports that
// restate a rating; a tester's, of closures, corrections and a report, one "or" for all four).
TEST(ReportTest, EventsThatChangeNothingShownAreListedByKind) {
  ReportInputs in = Rated(v1::DELIVERY_CONFIDENCE_AMBER, v1::DELIVERY_CONFIDENCE_AMBER);
  auto add_event = [&in](uint64_t position, const std::string& type) {
    v1::EventRef* e = in.compare.add_events();
    e->set_position(position);
    e->set_event_type(type);
  };
  add_event(36, "govledger.v1.ProjectClosed");
  add_event(110, "govledger.v1.CorrectionRecorded");
  add_event(111, "govledger.v1.StatusReported");
  add_event(112, "govledger.v1.ProjectClosed");
  add_event(113, "example.other_kind");  // Markdown-escaped
  EXPECT_THAT(
      ReportMarkdown(in),
      HasSubstr("5 events tell the two points apart for the programme, its projects, "
                "decisions, risks or scope items; none of them changes anything the "
                "answers show: ProjectClosed at 36, 112; CorrectionRecorded at 110; "
                "StatusReported at 111; example.other\\_kind at 113. Such an event restates "
                "what was held (a report of the rating held, say), voids one that "
                "neither point shows, is undone by another (a fact voided and "
                "recorded again), is another system's, or is one this version of govledger "
                "cannot read (a newer govledgerd's); `govledger history` shows what each "
                "did.\n"));
  // One explains a difference: counted apart, in the singular.
  v1::Difference* d = in.compare.add_differences();
  d->set_entity("project/X");
  d->set_aspect("closed");
  d->add_events()->set_position(36);
  EXPECT_THAT(ReportMarkdown(in),
              HasSubstr("; 1 of them explains the differences below, and 4 change nothing the "
                        "answers show: CorrectionRecorded at 110; StatusReported at 111; "
                        "ProjectClosed at 112; example.other\\_kind at 113. Such an event"));
  // One event alone, explaining nothing.
  in.compare.clear_differences();
  in.compare.clear_events();
  add_event(112, "govledger.v1.StatusReported");
  EXPECT_THAT(ReportMarkdown(in),
              HasSubstr("1 event tells the two points apart for the programme, its projects, "
                        "decisions, risks or scope items; it changes nothing the answers show: "
                        "StatusReported at 112. Such an event"));
}

}  // namespace
}  // namespace govledger::cli
