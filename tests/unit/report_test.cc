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

}  // namespace
}  // namespace govledger::cli
