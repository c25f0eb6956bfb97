// What protobuf says about a parse reaches the caller's ParseErrors, and errors logged elsewhere
// (parses gRPC makes itself) are limited per minute (ledger/common/parse_errors.h).
#include "ledger/common/parse_errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"

namespace govledger {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kSecond = 1000000;

TEST(ParseErrorsTest, AParseOfAStringThatIsNotUtf8IsToldWhichField) {
  InstallParseErrorCapture();
  v1::Event event;
  event.set_stream_id("ok");
  std::string bytes = event.SerializeAsString();
  bytes[bytes.size() - 1] = '\xff';
  v1::Event parsed;
  ParseErrors errors;
  EXPECT_FALSE(parsed.ParseFromString(bytes));
  EXPECT_THAT(errors.Suffix(), HasSubstr("govledger.v1.Event.stream_id"));
  // Protobuf's message ends with a space; a status message ending so is a header value some
  // clients drop whole.
  EXPECT_THAT(errors.Suffix(), Not(EndsWith(" ")));
  {
    ParseErrors inner;  // the innermost collects
    EXPECT_FALSE(parsed.ParseFromString(bytes));
    EXPECT_THAT(inner.Suffix(), HasSubstr("invalid UTF-8"));
  }
  EXPECT_EQ(errors.Suffix().find(';'), std::string::npos) << errors.Suffix();
}

// A declared field sent with another wire type parses as an unknown field; MisencodedField
// tells it from a field the type lacks (a newer client's).
TEST(ParseErrorsTest, AFieldSentWithTheWrongWireTypeIsToldFromAFieldTheTypeLacks) {
  v1::Event event;
  // event_id (1) as the varint 5; field 99 as the varint 5.
  ASSERT_TRUE(event.ParseFromString(std::string("\x08\x05\x98\x06\x05", 5)));
  const google::protobuf::UnknownFieldSet& unknown =
      event.GetReflection()->GetUnknownFields(event);
  ASSERT_EQ(unknown.field_count(), 2);
  EXPECT_EQ(MisencodedField(*v1::Event::descriptor(), unknown.field(0)),
            "field 1 (event_id) was sent as a varint, but it is a string (length-delimited)");
  EXPECT_EQ(MisencodedField(*v1::Event::descriptor(), unknown.field(1)), "");
  v1::AppendRequest request;
  ASSERT_TRUE(request.ParseFromString(std::string("\x0d\x01\x02\x03\x04", 5)));  // 32 bits
  EXPECT_EQ(MisencodedField(*v1::AppendRequest::descriptor(),
                            request.GetReflection()->GetUnknownFields(request).field(0)),
            "field 1 (events) was sent as 32 bits, but it is a repeated message "
            "(length-delimited)");
  // "an enum", "an int32" (a reviewer's "a enum").
  v1::RiskRerated rerated;
  ASSERT_TRUE(rerated.ParseFromString(std::string("\x12\x01\x00", 3)));  // rating (2), bytes
  EXPECT_EQ(MisencodedField(*v1::RiskRerated::descriptor(),
                            rerated.GetReflection()->GetUnknownFields(rerated).field(0)),
            "field 2 (rating) was sent as length-delimited, but it is an enum (a varint)");
}

TEST(LogLimiterTest, TakesTenLinesAMinuteAndSaysHowManyItDropped) {
  LogLimiter limiter;
  uint64_t dropped = 99;
  for (int i = 0; i < LogLimiter::kLinesPerMinute; ++i) {
    ASSERT_TRUE(limiter.Admit(1000 * kSecond + i, &dropped)) << i;
    EXPECT_EQ(dropped, 0u);
  }
  EXPECT_FALSE(limiter.Admit(1000 * kSecond + 30 * kSecond, &dropped));
  EXPECT_FALSE(limiter.Admit(1000 * kSecond + 59 * kSecond, &dropped));
  // A minute after the first line of the minute: a new minute, and the first line says 2.
  ASSERT_TRUE(limiter.Admit(1060 * kSecond, &dropped));
  EXPECT_EQ(dropped, 2u);
  ASSERT_TRUE(limiter.Admit(1061 * kSecond, &dropped));
  EXPECT_EQ(dropped, 0u);
}

}  // namespace
}  // namespace govledger
