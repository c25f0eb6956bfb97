// cli/explain_command.h: the payload templates `govledger explain` prints, from the events.proto
// compiled into the CLI with its comments.
#include "cli/explain_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <memory>

#include "govledger/v1/events.pb.h"
#include "projections/governance_state.h"

namespace govledger::cli {

extern const unsigned char kEventsDescriptorSet[];
extern const std::size_t kEventsDescriptorSet_size;

namespace {

namespace pb = google::protobuf;
using ::testing::HasSubstr;

// The compiled-in events.proto is the one the CLI's messages were generated from (the build
// makes both from the same file): its fields, not only its comments.
TEST(ExplainTest, TheCompiledInEventsProtoIsTheOneBuilt) {
  pb::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromArray(kEventsDescriptorSet, static_cast<int>(kEventsDescriptorSet_size)));
  ASSERT_EQ(set.file_size(), 1);
  pb::FileDescriptorProto embedded = set.file(0);
  EXPECT_GT(embedded.source_code_info().location_size(), 100) << "no comments";
  embedded.clear_source_code_info();
  pb::FileDescriptorProto generated;
  v1::RiskOpened::descriptor()->file()->CopyTo(&generated);
  v1::RiskOpened::descriptor()->file()->CopyJsonNameTo(&generated);
  pb::util::MessageDifferencer differencer;
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(embedded, generated)) << differences;
}

// Every governance event type has a template that reads back as its payload message, with
// every field of the message present; no other type has one.
TEST(ExplainTest, EveryGovernanceTypeHasATemplateThatReadsBack) {
  const pb::FileDescriptor& file = *v1::RiskOpened::descriptor()->file();
  pb::DynamicMessageFactory factory;
  int types = 0;
  for (int i = 0; i < file.message_type_count(); ++i) {
    const pb::Descriptor& type = *file.message_type(i);
    SCOPED_TRACE(type.full_name());
    const std::optional<std::string> payload = PayloadTemplate(type.full_name());
    if (!projections::IsKnownGovernanceType(type.full_name())) {
      EXPECT_FALSE(payload.has_value());
      continue;
    }
    ++types;
    ASSERT_TRUE(payload.has_value());
    std::unique_ptr<pb::Message> message(factory.GetPrototype(&type)->New());
    EXPECT_TRUE(pb::util::JsonStringToMessage(*payload, message.get()).ok()) << *payload;
    for (int f = 0; f < type.field_count(); ++f) {
      EXPECT_THAT(*payload, HasSubstr("\"" + type.field(f)->json_name() + "\":"));
    }
  }
  EXPECT_EQ(types, 26);
  EXPECT_EQ(PayloadTemplate("govledger.v1.Date"), std::nullopt);
  EXPECT_EQ(PayloadTemplate("RiskOpened"), std::nullopt);  // the full name
}

// An enum's template value is a real one, not its unset value: a filled-in document that keeps
// it is a rated risk.
TEST(ExplainTest, AnEnumTakesItsFirstSetValue) {
  EXPECT_THAT(PayloadTemplate("govledger.v1.RiskOpened").value_or(""),
              HasSubstr(R"("subject":{"kind":"WORK_KIND_PROGRAMME","id":""})"));
  EXPECT_THAT(PayloadTemplate("govledger.v1.RiskOpened").value_or(""),
              HasSubstr(R"("rating":"RAG_GREEN")"));
  EXPECT_THAT(PayloadTemplate("govledger.v1.DelegationRuleSet").value_or(""),
              HasSubstr(R"("kinds":["AMOUNT_KIND_CAPITAL"])"));
}

}  // namespace
}  // namespace govledger::cli
