// Errors' reasons (ledger/common/errors.h) on their way to a client: attached to an absl::Status,
// kept when context is added, and sent by ToGrpcStatus as a google.rpc.Status a client decodes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "ledger/common/errors.h"
#include "ledger/server/grpc_status.h"

namespace govledger {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ElementsAre;
using ::testing::Pair;

std::map<std::string, std::string> MetadataOf(const google::rpc::ErrorInfo& info) {
  return {info.metadata().begin(), info.metadata().end()};
}

TEST(ErrorDetailsTest, AReasonTravelsWithTheStatusAndItsFacts) {
  const absl::Status status = errors::EventIdConflict("0f8e0c36-3c55-4f42-9d7c-1c7a0c0d7c11", 7,
                                                          "payload");
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "EVENT_ID_CONFLICT");
  EXPECT_EQ(info->domain(), "govledger");
  EXPECT_THAT(MetadataOf(*info),
              ElementsAre(Pair("differs", "payload"),
                          Pair("event_id", "0f8e0c36-3c55-4f42-9d7c-1c7a0c0d7c11"),
                          Pair("position", "7")));
  EXPECT_FALSE(errors::ErrorInfoOf(absl::InvalidArgumentError("no reason")).has_value());
}

TEST(ErrorDetailsTest, ContextAddedOnTheWayOutKeepsTheReasonAndAddsFacts) {
  const absl::Status refused = errors::WithReason(absl::FailedPreconditionError("risk R1 is closed"),
                                                  errors::reason::kRuleRefused,
                                                  {{"entity", "risk R1"}});
  const absl::Status out = errors::WithContext(refused, "event e1: ", {{"event_id", "e1"}});
  EXPECT_EQ(out.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.message(), "event e1: risk R1 is closed");
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(out);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "RULE_REFUSED");
  EXPECT_THAT(MetadataOf(*info), ElementsAre(Pair("entity", "risk R1"), Pair("event_id", "e1")));
  // Without a reason, context adds none.
  EXPECT_FALSE(errors::ErrorInfoOf(errors::WithContext(absl::InternalError("x"), "y: ",
                                                       {{"event_id", "e1"}}))
                   .has_value());
}

TEST(ErrorDetailsTest, EveryMismatchedStreamIsNamedWithItsCurrentVersion) {
  const absl::Status status = errors::WrongExpectedVersions(
      {{"programme/LPP", "version 5", 2}, {"risk/LPP-R07", "no stream", 3}});
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(),
            "stream 'programme/LPP' expected version 5 but its current version is 2; stream "
            "'risk/LPP-R07' expected no stream but its current version is 3; re-read the "
            "streams and retry");
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "WRONG_EXPECTED_VERSION");
  EXPECT_THAT(MetadataOf(*info),
              ElementsAre(Pair("current_versions", R"({"programme/LPP":2,"risk/LPP-R07":3})")));
}

// Many long stream ids: current_versions holds as many as fit within the metadata limit and
// stays a JSON object a client can parse; streams_left_out counts the rest.
TEST(ErrorDetailsTest, CurrentVersionsStaysJsonWhenNotEveryStreamFits) {
  std::vector<errors::VersionMismatch> mismatches;
  for (char c : std::string("ABCDE")) {
    mismatches.push_back({"programme/" + std::string(120, c), "version 3", 0});
  }
  const grpc::Status sent = ToGrpcStatus(errors::WrongExpectedVersions(mismatches));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(sent.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  const std::string& current = info.metadata().at("current_versions");
  EXPECT_LE(current.size(), kMaxErrorMetadataBytes);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(current, &parsed).ok()) << current;
  ASSERT_EQ(parsed.fields().size(), 1u);  // two ids of 131 bytes do not fit in 256
  EXPECT_EQ(parsed.fields().at("programme/" + std::string(120, 'A')).number_value(), 0);
  EXPECT_EQ(info.metadata().at("streams_left_out"), "4");
  EXPECT_THAT(sent.error_message(), HasSubstr(std::string(120, 'E')));  // the message names all

  // When every stream fits there is no count.
  mismatches.resize(1);
  std::optional<google::rpc::ErrorInfo> one =
      errors::ErrorInfoOf(errors::WrongExpectedVersions(mismatches));
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->metadata().count("streams_left_out"), 0u);
}

TEST(ErrorDetailsTest, ToGrpcStatusSendsTheReasonAsAGoogleRpcStatus) {
  const grpc::Status sent = ToGrpcStatus(errors::WriterStopped("No space left on device"));
  EXPECT_EQ(sent.error_code(), grpc::StatusCode::UNAVAILABLE);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(sent.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(details.message(), sent.error_message());
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  // What the CLI reads back.
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOfDetails(sent.error_details());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "WRITER_STOPPED");
  EXPECT_THAT(MetadataOf(*info), ElementsAre(Pair("cause", "No space left on device")));

  // A status without a reason sends no details; neither does OK.
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_details(), "");
  EXPECT_EQ(ToGrpcStatus(absl::OkStatus()).error_details(), "");
  EXPECT_FALSE(errors::ErrorInfoOfDetails("").has_value());
  EXPECT_FALSE(errors::ErrorInfoOfDetails("not a google.rpc.Status").has_value());
  // Another domain's (a proxy's) reason is not read as govledger's.
  details.mutable_details(0)->clear_value();
  google::rpc::ErrorInfo foreign = *info;
  foreign.set_domain("proxy.example");
  details.mutable_details(0)->set_value(foreign.SerializeAsString());
  EXPECT_FALSE(errors::ErrorInfoOfDetails(details.SerializeAsString()).has_value());
}

// A message echoing a huge id is cut (a client would refuse the trailers whole, as
// RESOURCE_EXHAUSTED), at a character boundary and saying so; so is a long metadata value.
TEST(ErrorDetailsTest, ToGrpcStatusCutsLongMessagesAndMetadata) {
  const std::string id = "\xc2\xa3" + std::string(20000, 'X');  // "£XXX..."
  const grpc::Status sent = ToGrpcStatus(absl::NotFoundError("programme " + id));
  EXPECT_EQ(sent.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(sent.error_message(),
              AllOf(StartsWith("programme \xc2\xa3XXX"), EndsWith(" more bytes cut)")));
  EXPECT_LE(sent.error_message().size(), kMaxStatusMessageBytes);
  // The ending counts: of 1,100 bytes, 999 and a 25-byte "... (NNNN more bytes cut)" would
  // fit; the cut falls inside a two-byte character, so the whole character goes.
  const std::string pounds = std::string(998, 'a') + "\xc2\xa3" + std::string(100, 'b');
  EXPECT_EQ(CutForStatus(pounds, kMaxStatusMessageBytes),
            std::string(998, 'a') + "... (102 more bytes cut)");
  EXPECT_EQ(CutForStatus("short", kMaxStatusMessageBytes), "short");

  const grpc::Status with_reason = ToGrpcStatus(errors::WriterStopped(std::string(5000, 'c')));
  std::optional<google::rpc::ErrorInfo> info =
      errors::ErrorInfoOfDetails(with_reason.error_details());
  ASSERT_TRUE(info.has_value());
  EXPECT_THAT(info->metadata().at("cause"),
              AllOf(StartsWith(std::string(kMaxErrorMetadataBytes - 25, 'c')),
                    EndsWith(" more bytes cut)")));
  EXPECT_EQ(info->metadata().at("cause").size(), kMaxErrorMetadataBytes);
  EXPECT_LE(with_reason.error_message().size(), kMaxStatusMessageBytes);
}

}  // namespace
}  // namespace govledger
