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

// The events that tell the points apart but explain no difference are said by their kinds:
// corrections of events neither point shows are not called reports restating a rating (an
// integrator's report of ten such corrections said so).
TEST(ReportTest, EventsThatChangeNothingShownAreSaidByTheirKinds) {
  ReportInputs in = Rated(v1::DELIVERY_CONFIDENCE_AMBER, v1::DELIVERY_CONFIDENCE_AMBER);
  auto add_event = [&in](uint64_t position, const std::string& type) {
    v1::EventRef* e = in.compare.add_events();
    e->set_position(position);
    e->set_event_type(type);
  };
  const std::string correction = "govledger.v1.CorrectionRecorded";
  const std::string report = "govledger.v1.StatusReported";
  add_event(34, correction);
  add_event(35, correction);
  EXPECT_THAT(ReportMarkdown(in),
              HasSubstr("0 of them explain the differences below, and 2 change nothing the "
                        "answers show (34, 35: corrections of events neither point shows, say; "
                        "`govledger history` shows what each did)"));
  add_event(36, report);
  EXPECT_THAT(ReportMarkdown(in),
              HasSubstr("(34-36: a report that restates the rating held, or a correction of an "
                        "event neither point shows, say;"));
  in.compare.clear_events();
  add_event(36, report);
  EXPECT_THAT(ReportMarkdown(in), HasSubstr("(36: a report that restates the rating held, say;"));
}

}  // namespace
}  // namespace govledger::cli
