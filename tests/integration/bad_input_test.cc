// Every bad input of issue 2 against the real daemon. Each case asserts the gRPC status code and
// a message fragment a user could act on, and then that the log is unchanged (same head position
// and hash) and that the daemon still serves an append.
#include <grpcpp/client_context.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/query.pb.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Matcher;
using ::testing::Not;
using ::testing::Pair;
using ::testing::Property;

constexpr char kAppendMethod[] = "/govledger.v1.LedgerService/Append";

class BadInputTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (HasFatalFailure()) return;
    // Something to protect: two events in "programme/LPP".
    ASSERT_OK(AppendOne(*stub_, "programme/LPP", "one"));
    ASSERT_OK(AppendOne(*stub_, "programme/LPP", "two"));
  }

  // Runs `call`, which must fail with `code`, a message matching `message` and error details
  // matching `details` (HasErrorInfo); then checks the head did not move and that an append
  // still succeeds.
  void ExpectRejected(const std::string& what, const std::function<grpc::Status()>& call,
                      grpc::StatusCode code, const Matcher<const std::string&>& message,
                      const Matcher<const grpc::Status&>& details = _) {
    SCOPED_TRACE(what);
    absl::StatusOr<v1::GetHeadResponse> before = GetHead(*stub_);
    ASSERT_OK(before);
    const grpc::Status status = call();
    EXPECT_THAT(status, GrpcStatusIs(code, message));
    EXPECT_THAT(status, details);
    ExpectUnchangedAndServing(*before);
  }

  void ExpectUnchangedAndServing(const v1::GetHeadResponse& before) {
    absl::StatusOr<v1::GetHeadResponse> after = GetHead(*stub_);
    ASSERT_OK(after);
    EXPECT_EQ(after->position(), before.position()) << "the log changed";
    EXPECT_EQ(after->hash(), before.hash()) << "the log changed";
    absl::StatusOr<v1::AppendResponse> good = AppendOne(*stub_, "still/serving", "ok");
    ASSERT_OK(good);
    EXPECT_EQ(good->events(0).position(), before.position() + 1);
  }

  grpc::Status AppendEvent(const v1::Event& event) {
    v1::AppendResponse response;
    return Append(*stub_, MakeAppend({event}), &response);
  }
};

TEST_F(BadInputTest, EmptyRequest) {
  ExpectRejected(
      "empty AppendRequest",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_, v1::AppendRequest(), &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("no events"),
      Property(&grpc::Status::error_details, IsEmpty()));
  // Zero bytes on the wire parse as the empty request.
  ExpectRejected(
      "zero bytes through a generic stub",
      [&] { return GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, "", nullptr); },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("no events"));
}

// A compressed request is refused before it is read: gRPC inflates a message before its size
// limit applies, so a 2 MB gzip "bomb" (1 GiB inflated), sent by anyone who can connect, grew the
// daemon by gigabytes (found by a fuzzer). Nothing is stored.
TEST_F(BadInputTest, ACompressedRequestIsRefused) {
  for (grpc_compression_algorithm algorithm : {GRPC_COMPRESS_GZIP, GRPC_COMPRESS_DEFLATE}) {
    ExpectRejected(
        absl::StrCat("compression ", algorithm),
        [&] {
          grpc::ClientContext context;
          context.set_compression_algorithm(algorithm);
          v1::AppendResponse response;
          return stub_->Append(&context, MakeAppend({MakeEvent("programme/LPP", "zipped")}),
                               &response);
        },
        grpc::StatusCode::UNIMPLEMENTED, HasSubstr("is disabled"));
  }
  // gRPC logs a line for each: at most ten a minute, so that no caller (token or not) can fill
  // the journal with them (found by an integrator's trial).
  for (int i = 0; i < 30; ++i) {
    grpc::ClientContext context;
    context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    v1::AppendResponse response;
    EXPECT_FALSE(
        stub_->Append(&context, MakeAppend({MakeEvent("programme/LPP", "zipped")}), &response)
            .ok());
  }
  const std::string log = daemon_.Stderr();
  size_t lines = 0;
  for (size_t at = log.find("is disabled"); at != std::string::npos;
       at = log.find("is disabled", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 10u) << log;
  EXPECT_THAT(log, HasSubstr("[grpc ERROR "));
}

TEST_F(BadInputTest, MalformedRequestBytes) {
  // Bytes that do not parse as an AppendRequest: field 1 (events, length-delimited) claiming
  // far more bytes than follow; a tag with the invalid wire type 7; an event whose stream_id
  // (a proto3 string) is not UTF-8. The daemon parses Append requests itself and answers
  // INVALID_ARGUMENT naming the message type.
  v1::AppendRequest not_utf8 = MakeAppend({MakeEvent("programme/LPP", "x")});
  std::string not_utf8_bytes = not_utf8.SerializeAsString();
  not_utf8_bytes.replace(not_utf8_bytes.find("programme/LPP"), 1, "\xff");
  for (const std::string& bytes : {std::string("\x0a\xff\xff\xff\x0f\x01\x02", 7),
                                   std::string("\x0f\x0f\x0f", 3), not_utf8_bytes}) {
    ExpectRejected(
        absl::StrCat("malformed bytes ", ::testing::PrintToString(bytes)),
        [&] {
          std::string response;
          return GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, bytes, &response);
        },
        grpc::StatusCode::INVALID_ARGUMENT,
        HasSubstr("does not parse as a govledger.v1.AppendRequest"));
  }
  // Bytes that break the wire format are told where (a contract checker's finding: a bare
  // "does not parse"): cut short, a wire type protobuf does not have, within an event too.
  {
    std::string response;
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod,
                                 std::string("\x0a\xff\xff\xff\x0f\x01\x02", 7), &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("does not parse as a govledger.v1.AppendRequest: field 1 "
                                       "at byte 0 runs past the end of the 7 bytes: they are cut "
                                       "short, or its length is wrong")));
    // A number longer than a varint may be is not said to be cut short (an integrator's find).
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod,
                                 std::string("\x08") + std::string(10, '\x80') + '\x00', &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("field 1 at byte 0 holds a number (a varint) that does "
                                       "not end within 10 bytes")));
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod,
                                 std::string("\x0f\x0f\x0f", 3), &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("byte 0 starts field 1 with wire type 7, which protobuf "
                                       "does not have")));
    // An event whose own bytes end inside its stream id.
    std::string event_bytes = MakeEvent("programme/LPP", "x").SerializeAsString();
    event_bytes.resize(event_bytes.find("programme/LPP") + 3);
    const std::string cut_event =
        std::string("\x0a", 1) + static_cast<char>(event_bytes.size()) + event_bytes;
    ASSERT_LT(event_bytes.size(), 128u);
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, cut_event, &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             AllOf(HasSubstr("(its events[0] does not: field "),
                                   HasSubstr("runs past the end of the "))));
  }
  // The one that is not UTF-8 is told which field, as protobuf says it, and the daemon logs
  // nothing for it (a client could otherwise fill its journal).
  {
    std::string response;
    EXPECT_THAT(
        GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, not_utf8_bytes, &response),
        GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                     AllOf(HasSubstr("does not parse as a govledger.v1.AppendRequest "
                                     "(its events[0] does not): "),
                           HasSubstr("govledger.v1.Event.stream_id"), HasSubstr("invalid UTF-8"))));
    // In a batch, the event is named by its index (a batch of 1,000 had been refused whole).
    v1::AppendRequest batch =
        MakeAppend({MakeEvent("programme/A", "x"), MakeEvent("programme/B", "y"),
                    MakeEvent("programme/C", "z")});
    std::string batch_bytes = batch.SerializeAsString();
    batch_bytes.replace(batch_bytes.find("programme/B"), 1, "\xff");
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, batch_bytes, &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             AllOf(HasSubstr("(its events[1] does not): "),
                                   HasSubstr("govledger.v1.Event.stream_id"))));
    // A field 1 of another wire type before them is no element (protobuf keeps it apart).
    EXPECT_THAT(
        GenericUnaryCall(daemon_.NewChannel(), kAppendMethod,
                         std::string("\x08\x05", 2) + batch_bytes, &response),
        GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("(its events[1] does not): ")));
    // A typed payload (bytes) holding such a string is refused the same way.
    v1::ProgrammeRegistered programme;
    programme.set_programme_id("UTF");
    programme.set_organisation_id("ORG");
    programme.set_name("N\xffN");
    std::string payload;
    ASSERT_TRUE(programme.SerializePartialToString(&payload));
    v1::AppendResponse appended;
    EXPECT_THAT(Append(*stub_,
                       MakeAppend({MakeEvent("programme/UTF", payload,
                                             "govledger.v1.ProgrammeRegistered")}),
                       &appended),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             AllOf(HasSubstr("payload does not parse as "
                                             "govledger.v1.ProgrammeRegistered: "),
                                   HasSubstr("govledger.v1.ProgrammeRegistered.name"))));
    // Bytes that break the wire format: where.
    EXPECT_THAT(
        Append(*stub_, MakeAppend({MakeEvent("risk/R1", "\xff\xff", "govledger.v1.RiskOpened")}),
               &appended),
        GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                     HasSubstr("payload does not parse as govledger.v1.RiskOpened: byte 0 "
                               "starts no field")));
    EXPECT_THAT(
        Append(*stub_,
               MakeAppend({MakeEvent("risk/R1", "\x12\x02\xff\xff", "govledger.v1.RiskOpened")}),
               &appended),
        GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                     HasSubstr("payload does not parse as govledger.v1.RiskOpened (its subject "
                               "does not: byte 0 starts no field")));
    EXPECT_THAT(daemon_.Stderr(), Not(HasSubstr("libprotobuf")));
  }
  // Every unary method parses its request the same way (ledger/server/async_calls.h), and
  // says which message it expected.
  for (const auto& [method, type] : std::vector<std::pair<std::string, std::string>>{
           {"/govledger.v1.LedgerService/Read", "govledger.v1.ReadRequest"},
           {"/govledger.v1.LedgerService/GetHead", "govledger.v1.GetHeadRequest"},
           {"/govledger.v1.QueryService/GetProgrammeStatus",
            "govledger.v1.GetProgrammeStatusRequest"},
           {"/govledger.v1.QueryService/Compare", "govledger.v1.CompareRequest"},
           {"/govledger.v1.AuditService/GetTreeHead", "govledger.v1.GetTreeHeadRequest"},
           {"/govledger.v1.AuditService/GetInclusionProof",
            "govledger.v1.GetInclusionProofRequest"},
           {"/govledger.v1.AuditService/GetConsistencyProof",
            "govledger.v1.GetConsistencyProofRequest"},
           {"/govledger.v1.AdminService/GetStats", "govledger.v1.GetStatsRequest"}}) {
    ExpectRejected(
        absl::StrCat("malformed request to ", method),
        [&] {
          std::string response;
          return GenericUnaryCall(daemon_.NewChannel(), method, std::string("\x0f\x0f\x0f", 3),
                                  &response);
        },
        grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("does not parse as a " + type));
  }
  // A field sent with the wrong wire type is malformed bytes, not a newer client's field:
  // in the request, in an event, in a payload.
  {
    std::string response;
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, std::string("\x08\x05", 2),
                                 &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             AllOf(HasSubstr("the request does not parse as a "
                                             "govledger.v1.AppendRequest: its field 1 (events) "
                                             "was sent as a varint, but it is a repeated message"),
                                   Not(HasSubstr("newer")))));
    v1::AppendRequest varint_id = MakeAppend({MakeEvent("programme/LPP", "x")});
    varint_id.mutable_events(0)->clear_event_id();
    std::string bytes = varint_id.SerializeAsString();
    // The event's own bytes gain event_id as the varint 5 (its length grows by 2).
    ASSERT_LT(static_cast<unsigned char>(bytes[1]), 0x7e);
    bytes = absl::StrCat(std::string(1, bytes[0]), std::string(1, static_cast<char>(bytes[1] + 2)),
                         std::string("\x08\x05", 2), bytes.substr(2));
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, bytes, &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("events[0]: the event's bytes are malformed: field 1 "
                                       "(event_id) was sent as a varint, but it is a string")));
    v1::ProgrammeRegistered programme;
    programme.set_programme_id("WIRE");
    std::string payload = programme.SerializeAsString() + std::string("\x10\x05", 2);
    ASSERT_EQ(v1::ProgrammeRegistered::descriptor()->FindFieldByNumber(2)->type(),
              google::protobuf::FieldDescriptor::TYPE_STRING);
    v1::AppendResponse appended;
    EXPECT_THAT(Append(*stub_,
                       MakeAppend({MakeEvent("programme/WIRE", payload,
                                             "govledger.v1.ProgrammeRegistered")}),
                       &appended),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             HasSubstr("the govledger.v1.ProgrammeRegistered payload's bytes are "
                                       "malformed: field 2")));
  }
  // A string that is not UTF-8 is named, as protobuf names it, by every method.
  for (const auto& [method, field] : std::vector<std::pair<std::string, std::string>>{
           {"/govledger.v1.LedgerService/Read", "govledger.v1.ReadRequest.stream_id"},
           {"/govledger.v1.QueryService/GetProgrammeStatus",
            "govledger.v1.GetProgrammeStatusRequest.programme_id"}}) {
    std::string response;
    EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), method, std::string("\x0a\x02L\xff", 4),
                                 &response),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                             AllOf(HasSubstr("does not parse as a"), HasSubstr(field),
                                   HasSubstr("invalid UTF-8"),
                                   // HTTP/2 forbids a header value ending in white space, and
                                   // Node's client drops such a grpc-message: it saw "".
                                   Not(EndsWith(" ")))))
        << method;
  }
  // The streaming methods, Subscribe and Backup, parse theirs too (subscriptions.cc,
  // admin_service.cc).
  for (const auto& [method, type] : std::vector<std::pair<std::string, std::string>>{
           {"/govledger.v1.LedgerService/Subscribe", "govledger.v1.SubscribeRequest"},
           {"/govledger.v1.AdminService/Backup", "govledger.v1.BackupRequest"}}) {
    ExpectRejected(
        absl::StrCat("malformed request to ", method),
        [&] {
          std::vector<std::string> messages;
          grpc::Status s = GenericBidiCall(daemon_.NewChannel(), method,
                                           {std::string("\x0f\x0f\x0f", 3)}, &messages);
          EXPECT_TRUE(messages.empty());
          return s;
        },
        grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("does not parse as a " + type));
  }
  // An event that is itself well-formed protobuf but not a valid event is INVALID_ARGUMENT.
  v1::AppendRequest no_type = MakeAppend({MakeEvent("programme/LPP", "x", /*event_type=*/"")});
  ExpectRejected(
      "event without a type",
      [&] {
        std::string response;
        return GenericUnaryCall(daemon_.NewChannel(), kAppendMethod, no_type.SerializeAsString(),
                                &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("event_type is empty"),
      HasErrorInfo("INVALID_EVENT", ElementsAre(Pair("event_index", "0"))));
}

// gRPC parses a health check itself: a service name that is not UTF-8 makes protobuf log an
// error, which the daemon writes at most ten times a minute, so that a client cannot fill its
// journal with them.
TEST_F(BadInputTest, ParseErrorsGrpcLogsItselfAreLimitedPerMinute) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("ledger");
  std::string bytes = request.SerializeAsString();
  bytes.back() = '\xff';
  for (int i = 0; i < 15; ++i) {
    std::string response;
    EXPECT_THAT(
        GenericUnaryCall(daemon_.NewChannel(), "/grpc.health.v1.Health/Check", bytes, &response),
        GrpcStatusIs(grpc::StatusCode::INTERNAL, ::testing::Eq("Unable to parse request")));
  }
  const std::string err = daemon_.Stderr();
  int lines = 0;
  for (size_t at = err.find("[libprotobuf ERROR"); at != std::string::npos;
       at = err.find("[libprotobuf ERROR", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 10) << err;
  EXPECT_THAT(err, HasSubstr("invalid UTF-8"));
  // The daemon still serves.
  EXPECT_OK(GetHead(*stub_));
}

TEST_F(BadInputTest, WrongExpectedVersion) {
  auto append_expecting = [&](v1::ExpectedVersion::Kind kind, uint64_t version) {
    v1::AppendRequest request = MakeAppend({MakeEvent("programme/LPP", "three")});
    v1::ExpectedVersion* ev = request.add_expected_versions();
    ev->set_stream_id("programme/LPP");
    ev->set_kind(kind);
    ev->set_version(version);
    v1::AppendResponse response;
    return Append(*stub_, request, &response);
  };
  ExpectRejected(
      "exact version 5", [&] { return append_expecting(v1::ExpectedVersion::KIND_EXACT, 5); },
      grpc::StatusCode::ABORTED, HasSubstr("current version is 2"),
      HasErrorInfo("WRONG_EXPECTED_VERSION", ElementsAre(Pair("current_versions", R"({"programme/LPP":2})"))));
  ExpectRejected(
      "exact version 0", [&] { return append_expecting(v1::ExpectedVersion::KIND_EXACT, 0); },
      grpc::StatusCode::ABORTED, HasSubstr("current version is 2"));
  ExpectRejected(
      "no stream", [&] { return append_expecting(v1::ExpectedVersion::KIND_NO_STREAM, 0); },
      grpc::StatusCode::ABORTED,
      AllOf(HasSubstr("expected no stream"), HasSubstr("current version is 2")));

  // Atomicity: one event per stream, the first stream's expectation right, the second's
  // wrong: neither is stored.
  ExpectRejected(
      "one of two expectations wrong",
      [&] {
        v1::AppendRequest request =
            MakeAppend({MakeEvent("programme/LPP", "three"), MakeEvent("risk/new", "r1")});
        v1::ExpectedVersion* ev = request.add_expected_versions();
        ev->set_stream_id("programme/LPP");
        ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
        ev->set_version(2);
        ev = request.add_expected_versions();
        ev->set_stream_id("risk/new");
        ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
        ev->set_version(1);
        v1::AppendResponse response;
        return Append(*stub_, request, &response);
      },
      grpc::StatusCode::ABORTED, AllOf(HasSubstr("risk/new"), HasSubstr("current version is 0")),
      HasErrorInfo("WRONG_EXPECTED_VERSION", ElementsAre(Pair("current_versions", R"({"risk/new":0})"))));
  // Both wrong: the details give each stream's current version, so one retry can fix both.
  ExpectRejected(
      "both expectations wrong",
      [&] {
        v1::AppendRequest request =
            MakeAppend({MakeEvent("programme/LPP", "three"), MakeEvent("risk/new", "r1")});
        v1::ExpectedVersion* ev = request.add_expected_versions();
        ev->set_stream_id("programme/LPP");
        ev->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
        ev = request.add_expected_versions();
        ev->set_stream_id("risk/new");
        ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
        ev->set_version(7);
        v1::AppendResponse response;
        return Append(*stub_, request, &response);
      },
      grpc::StatusCode::ABORTED, HasSubstr("re-read the streams and retry"),
      HasErrorInfo("WRONG_EXPECTED_VERSION",
                   ElementsAre(Pair("current_versions",
                                    R"({"programme/LPP":2,"risk/new":0})"))));
  absl::StatusOr<std::vector<v1::Event>> lpp = ReadAll(*stub_, "programme/LPP");
  ASSERT_OK(lpp);
  EXPECT_EQ(lpp->size(), 2u);
  v1::ReadResponse page;
  v1::ReadRequest risk;
  risk.set_stream_id("risk/new");
  EXPECT_THAT(Read(*stub_, risk, &page), GrpcStatusIs(grpc::StatusCode::NOT_FOUND, ::testing::_));

  // The right expectation is accepted.
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  v1::AppendRequest right = MakeAppend({MakeEvent("programme/LPP", "three")});
  v1::ExpectedVersion* ev = right.add_expected_versions();
  ev->set_stream_id("programme/LPP");
  ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
  ev->set_version(2);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, right, &response), GrpcOk());
  EXPECT_EQ(response.events(0).stream_version(), 3u);
}

TEST_F(BadInputTest, EventOverSizeLimit) {
  // The default limit is 1 MiB per serialized event; a 1 MiB payload alone exceeds it.
  ExpectRejected(
      "1 MiB payload",
      [&] { return AppendEvent(MakeEvent("programme/LPP", std::string(1 << 20, 'x'))); },
      grpc::StatusCode::INVALID_ARGUMENT,
      AllOf(HasSubstr("events[0]"), HasSubstr("at most 1048576")));
  // An oversized event later in a batch rejects the whole batch.
  ExpectRejected(
      "oversized second event",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_,
                      MakeAppend({MakeEvent("programme/LPP", "small"),
                                  MakeEvent("programme/LPP", std::string((1 << 20) + 1, 'y'))}),
                      &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT,
      AllOf(HasSubstr("events[1]"), HasSubstr("at most 1048576")));
}

TEST_F(BadInputTest, BatchOverCountLimit) {
  // The default limit is 10,000 events per Append.
  std::vector<v1::Event> events;
  for (int i = 0; i < 10001; ++i) events.push_back(MakeEvent("bulk/load", absl::StrCat(i)));
  v1::AppendRequest request = MakeAppend(std::move(events));
  ExpectRejected(
      "10,001 events",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_, request, &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT,
      AllOf(HasSubstr("10001 events"), HasSubstr("at most 10000")),
      // A program splits it by the reason and its figures, not by parsing the message.
      HasErrorInfo("REQUEST_TOO_LARGE", ::testing::UnorderedElementsAre(
                                            Pair("events", "10001"), Pair("max_events", "10000"))));
}

TEST_F(BadInputTest, JustWithinTheLimitsIsAccepted) {
  v1::AppendResponse response;
  // An event of just under 1 MiB.
  ASSERT_THAT(Append(*stub_, MakeAppend({MakeEvent("big/one", std::string((1 << 20) - 1024, 'z'))}),
                     &response),
              GrpcOk());
  // 10,000 events in one call, one synced commit.
  std::vector<v1::Event> events;
  for (int i = 0; i < 10000; ++i) events.push_back(MakeEvent("bulk/load", absl::StrCat(i)));
  ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
  EXPECT_EQ(response.events_size(), 10000);
  EXPECT_EQ(response.head_position(), 2u + 1u + 10000u);
  // Effective times at both ends of the range.
  v1::Event earliest = MakeEvent("time/edge", "1900");
  earliest.mutable_effective_time()->set_seconds(-2208988800);  // 1900-01-01T00:00:00Z
  v1::Event latest = MakeEvent("time/edge", "2199");
  latest.mutable_effective_time()->set_seconds(7258118399);  // 2199-12-31T23:59:59Z
  latest.mutable_effective_time()->set_nanos(999999000);
  ASSERT_THAT(Append(*stub_, MakeAppend({earliest, latest}), &response), GrpcOk());
}

TEST_F(BadInputTest, EmptyOrIllegalStreamId) {
  ExpectRejected(
      "empty stream id", [&] { return AppendEvent(MakeEvent("", "x")); },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("stream_id is empty"));
  for (const std::string& id :
       {std::string("has space"), std::string("semi;colon"), std::string("/leading"),
        std::string("trailing/"), std::string("caf\xc3\xa9"), std::string("nul\0byte", 8),
        std::string(201, 'a')}) {
    ExpectRejected(
        absl::StrCat("stream id '", id, "'"), [&] { return AppendEvent(MakeEvent(id, "x")); },
        grpc::StatusCode::INVALID_ARGUMENT, AllOf(HasSubstr("events[0]"), HasSubstr("stream_id")));
  }
  // A message that would echo a huge id is cut, so that the client sees the status rather than
  // its own limit on trailers (RESOURCE_EXHAUSTED, which says retry).
  ExpectRejected(
      "expected version of a 20,000-character stream",
      [&] {
        v1::AppendRequest request = MakeAppend({MakeEvent("programme/LPP", "x")});
        request.add_expected_versions()->set_stream_id(std::string(20000, 's'));
        v1::AppendResponse response;
        return Append(*stub_, request, &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT,
      AllOf(HasSubstr("expected_versions names stream 'sss"), HasSubstr("more bytes cut)")));
  // Reading an illegal stream id is rejected the same way.
  ExpectRejected(
      "read of an illegal stream id",
      [&] {
        v1::ReadRequest request;
        request.set_stream_id("bad stream");
        v1::ReadResponse response;
        return Read(*stub_, request, &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("illegal character"));
}

TEST_F(BadInputTest, EventIdNotAUuid) {
  v1::Event empty = MakeEvent("programme/LPP", "x");
  empty.set_event_id("");
  ExpectRejected(
      "an empty event id", [&] { return AppendEvent(empty); }, grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("event_id is empty: give each event a UUID of the client's making"));
  for (const std::string& id :
       {std::string("not-a-uuid"), std::string("3f2b8c1e4d6a4f7b9c0d1e2f3a4b5c6d"),
        std::string("3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6"),
        std::string("3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6g"),
        std::string("{3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d}")}) {
    v1::Event event = MakeEvent("programme/LPP", "x");
    event.set_event_id(id);
    ExpectRejected(
        absl::StrCat("event id '", id, "'"), [&] { return AppendEvent(event); },
        grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("is not a UUID"));
  }
  // The same id twice in one request.
  v1::Event event = MakeEvent("programme/LPP", "x");
  ExpectRejected(
      "id repeated in a request",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_, MakeAppend({event, event}), &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("appears twice"));
}

TEST_F(BadInputTest, EffectiveTimeOutOfRange) {
  struct Case {
    const char* what;
    int64_t seconds;
    int32_t nanos;
  };
  for (const Case& c :
       {Case{"1899-12-31T23:59:59Z", -2208988801, 0}, Case{"2200-01-01T00:00:00Z", 7258118400, 0},
        Case{"year 10000", 253402300800, 0}, Case{"negative nanos", 0, -1},
        Case{"nanos of a whole second", 0, 1000000000}}) {
    v1::Event event = MakeEvent("programme/LPP", "x");
    event.mutable_effective_time()->set_seconds(c.seconds);
    event.mutable_effective_time()->set_nanos(c.nanos);
    ExpectRejected(
        c.what, [&] { return AppendEvent(event); }, grpc::StatusCode::INVALID_ARGUMENT,
        HasSubstr("effective_time is out of range"));
  }
  v1::Event event = MakeEvent("programme/LPP", "x");
  event.mutable_effective_time()->set_seconds(1463832000);
  event.mutable_effective_time()->set_nanos(900);
  ExpectRejected(
      "900 ns", [&] { return AppendEvent(event); }, grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("effective_time has 900 ns below the microsecond"));
}

TEST_F(BadInputTest, SourceOverItsLimitOrNotOneLineOfText) {
  struct Case {
    const char* what;
    std::string source;
    const char* says;
  };
  for (const Case& c :
       {Case{"501 bytes", std::string(501, 'p'), "source has 501 bytes; at most 500"},
        Case{"two lines", "Minutes\nitem 4", "source holds the control character U+000A"},
        Case{"an escape", "Minutes \x1b[2J", "source holds the control character U+001B"},
        // protobuf's own parse refuses a string field that is not UTF-8, naming it.
        Case{"Latin-1", "Proc\xe8s-verbal", "'govledger.v1.Event.source' contains invalid UTF-8"},
        Case{"padded", "Minutes ", "must not start or end with white space"}}) {
    v1::Event event = MakeEvent("programme/LPP", "x");
    event.set_source(c.source);
    ExpectRejected(
        c.what, [&] { return AppendEvent(event); }, grpc::StatusCode::INVALID_ARGUMENT,
        HasSubstr(c.says));
  }
}

TEST_F(BadInputTest, ServerOnlyFieldsSet) {
  v1::Event event = MakeEvent("programme/LPP", "x");
  event.set_position(3);
  ExpectRejected(
      "position set", [&] { return AppendEvent(event); }, grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("set by the server"));
  event = MakeEvent("programme/LPP", "x");
  event.set_actor("mallory");
  ExpectRejected(
      "actor set", [&] { return AppendEvent(event); }, grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("set by the server"));
}

// A field this govledgerd's messages do not have (a newer client's) would be ignored, and it
// may narrow or guard what the request asks (a later AsAt.known_through, say): the request is
// refused, wherever the field is. Inside an event it is the event that is refused.
TEST_F(BadInputTest, FieldsFromANewerClientAreRefused) {
  auto with_unknown_field = [](google::protobuf::Message* message, int number) {
    message->GetReflection()->MutableUnknownFields(message)->AddVarint(number, 1);
  };
  v1::AppendRequest append = MakeAppend({MakeEvent("programme/LPP", "x")});
  with_unknown_field(&append, 9);
  ExpectRejected(
      "an AppendRequest's own field",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_, append, &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("the request holds field number 9, which this govledgerd's "
                "govledger.v1.AppendRequest (release "),
      HasErrorInfo("UNKNOWN_FIELD", ElementsAre(Pair("field", ""), Pair("field_number", "9"))));

  append = MakeAppend({MakeEvent("programme/LPP", "x"), MakeEvent("risk/LPP-R01", "y")});
  for (const char* stream : {"programme/LPP", "risk/LPP-R01"}) {
    v1::ExpectedVersion* expected = append.add_expected_versions();
    expected->set_stream_id(stream);
    expected->set_kind(v1::ExpectedVersion::KIND_ANY);
  }
  with_unknown_field(append.mutable_expected_versions(1), 4);
  ExpectRejected(
      "an expected version's field",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_, append, &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT,
      AllOf(HasSubstr("the request's expected_versions[1] holds field number 4, which this "
                      "govledgerd's govledger.v1.ExpectedVersion"),
            HasSubstr("would be ignored, so the request is refused; leave the field unset, or "
                      "upgrade govledgerd")),
      HasErrorInfo("UNKNOWN_FIELD",
                   ElementsAre(Pair("field", "expected_versions[1]"), Pair("field_number", "4"))));

  v1::Event event = MakeEvent("programme/LPP", "x");
  with_unknown_field(&event, 40);
  ExpectRejected(
      "an event's field", [&] { return AppendEvent(event); }, grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("events[0]: holds field number 40"),
      HasErrorInfo("INVALID_EVENT", ElementsAre(Pair("event_index", "0"))));

  v1::GetProgrammeStatusRequest status;
  status.set_programme_id("LPP");
  status.mutable_as_at()->set_position(1);
  with_unknown_field(status.mutable_as_at(), 6);
  const auto query_status = [&] {
    std::string response;
    return GenericUnaryCall(daemon_.NewChannel(), "/govledger.v1.QueryService/GetProgrammeStatus",
                            status.SerializeAsString(), &response);
  };
  ExpectRejected("a query's as_at field", query_status, grpc::StatusCode::INVALID_ARGUMENT,
                 HasSubstr("the request's as_at holds field number 6, which this govledgerd's "
                           "govledger.v1.AsAt"),
                 HasErrorInfo("UNKNOWN_FIELD",
                              ElementsAre(Pair("field", "as_at"), Pair("field_number", "6"))));
  // Inside a Timestamp, protobuf's own type: no upgrade would help (it had said one would).
  status.mutable_as_at()->Clear();
  status.mutable_as_at()->mutable_time()->set_seconds(1482321600);
  with_unknown_field(status.mutable_as_at()->mutable_time(), 5);
  ExpectRejected(
      "a query's as_at.time field", query_status, grpc::StatusCode::INVALID_ARGUMENT,
      AllOf(HasSubstr("the request's as_at.time holds field number 5, which a "
                      "google.protobuf.Timestamp does not have (protobuf's own type, the same "
                      "in every release): send only its fields (seconds and nanos)"),
            Not(HasSubstr("upgrade"))),
      HasErrorInfo("UNKNOWN_FIELD",
                   ElementsAre(Pair("field", "as_at.time"), Pair("field_number", "5"))));

  v1::SubscribeRequest subscribe;
  with_unknown_field(&subscribe, 7);
  ExpectRejected(
      "a subscription's field",
      [&] {
        std::vector<std::string> messages;
        grpc::Status s =
            GenericBidiCall(daemon_.NewChannel(), "/govledger.v1.LedgerService/Subscribe",
                            {subscribe.SerializeAsString()}, &messages);
        EXPECT_TRUE(messages.empty());
        return s;
      },
      grpc::StatusCode::INVALID_ARGUMENT,
      HasSubstr("the request holds field number 7, which this govledgerd's "
                "govledger.v1.SubscribeRequest"));
}

TEST_F(BadInputTest, ReadingPastTheHead) {
  // Each case reads the current head first: the append after each case moves it.
  auto read_at = [&](uint64_t offset, v1::Direction direction) {
    absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
    v1::ReadRequest request;
    request.set_from(head->position() + offset);
    request.set_direction(direction);
    v1::ReadResponse response;
    return Read(*stub_, request, &response);
  };
  ExpectRejected(
      "forward from head + 2", [&] { return read_at(2, v1::DIRECTION_FORWARD); },
      grpc::StatusCode::OUT_OF_RANGE, HasSubstr("past the head"),
      HasErrorInfo("POSITION_PAST_HEAD", ElementsAre(Pair("head", "2"))));
  ExpectRejected(
      "forward from far away", [&] { return read_at(1000000, v1::DIRECTION_FORWARD); },
      grpc::StatusCode::OUT_OF_RANGE, HasSubstr("past the head"));
  ExpectRejected(
      "backward from head + 1", [&] { return read_at(1, v1::DIRECTION_BACKWARD); },
      grpc::StatusCode::OUT_OF_RANGE, HasSubstr("past the head"));
  ExpectRejected(
      "stream past its end",
      [&] {
        v1::ReadRequest request;
        request.set_stream_id("programme/LPP");
        request.set_from(4);  // version 2 is the last; 3 would be the (empty) next page
        v1::ReadResponse response;
        return Read(*stub_, request, &response);
      },
      grpc::StatusCode::OUT_OF_RANGE, HasSubstr("past the end of stream 'programme/LPP'"),
      HasErrorInfo("VERSION_PAST_STREAM_END",
                   ElementsAre(Pair("stream", "programme/LPP"), Pair("stream_version", "2"))));
  ExpectRejected(
      "page limit over 10000",
      [&] {
        v1::ReadRequest request;
        request.set_limit(10001);
        v1::ReadResponse response;
        return Read(*stub_, request, &response);
      },
      grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("at most 10000"));

  // Forward from head + 1 is the (empty) page a follower polls for: OK, no events.
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  v1::ReadRequest request;
  request.set_from(head->position() + 1);
  v1::ReadResponse response;
  ASSERT_THAT(Read(*stub_, request, &response), GrpcOk());
  EXPECT_EQ(response.events_size(), 0);
  EXPECT_EQ(response.next(), 0u);
  EXPECT_EQ(response.head_position(), head->position());
}

TEST_F(BadInputTest, SubscribingBeyondTheHead) {
  auto subscribe_at = [&](uint64_t offset) {
    absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::SubscribeRequest request;
    request.set_from_position(head->position() + offset);
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader = stub_->Subscribe(&context, request);
    v1::Event event;
    EXPECT_FALSE(reader->Read(&event)) << "an event arrived: " << event.ShortDebugString();
    return reader->Finish();
  };
  ExpectRejected(
      "from head + 2", [&] { return subscribe_at(2); }, grpc::StatusCode::OUT_OF_RANGE,
      AllOf(HasSubstr("past the head"), HasSubstr("subscribe from 1 to")),
      HasErrorInfo("POSITION_PAST_HEAD", ElementsAre(Pair("head", "2"))));
  ExpectRejected(
      "from far away", [&] { return subscribe_at(1u << 30); }, grpc::StatusCode::OUT_OF_RANGE,
      HasSubstr("past the head"));
}

TEST_F(BadInputTest, SameEventIdDifferentContent) {
  v1::Event original = MakeEvent("risk/LPP-R07", "opened");
  v1::AppendResponse first;
  ASSERT_THAT(Append(*stub_, MakeAppend({original}), &first), GrpcOk());
  const uint64_t position = first.events(0).position();

  v1::Event other_payload = original;
  other_payload.set_payload("closed");
  ExpectRejected(
      "other payload", [&] { return AppendEvent(other_payload); }, grpc::StatusCode::ALREADY_EXISTS,
      AllOf(HasSubstr(original.event_id()),
            HasSubstr(absl::StrCat("already stored at position ", position)),
            HasSubstr("its payload differs")),
      HasErrorInfo("EVENT_ID_CONFLICT",
                   ElementsAre(Pair("differs", "payload"), Pair("event_id", original.event_id()),
                               Pair("position", absl::StrCat(position)))));
  v1::Event other_stream = original;
  other_stream.set_stream_id("risk/LPP-R08");
  ExpectRejected(
      "other stream", [&] { return AppendEvent(other_stream); }, grpc::StatusCode::ALREADY_EXISTS,
      HasSubstr("its stream_id differs"));
  v1::Event other_time = original;
  other_time.mutable_effective_time()->set_seconds(86400);
  ExpectRejected(
      "other effective time", [&] { return AppendEvent(other_time); },
      grpc::StatusCode::ALREADY_EXISTS, HasSubstr("its effective_time differs"));
  v1::Event other_type = original;
  other_type.set_event_type("RiskReopened");
  ExpectRejected(
      "other event type", [&] { return AppendEvent(other_type); },
      grpc::StatusCode::ALREADY_EXISTS, HasSubstr("its event_type differs"));
  v1::Event other_source = original;
  other_source.set_source("another system");
  ExpectRejected(
      "other source", [&] { return AppendEvent(other_source); }, grpc::StatusCode::ALREADY_EXISTS,
      HasSubstr("its source differs"));
  // A batch holding a new event and a conflicting one stores neither.
  ExpectRejected(
      "conflict inside a batch",
      [&] {
        v1::AppendResponse response;
        return Append(*stub_, MakeAppend({MakeEvent("risk/LPP-R09", "new"), other_payload}),
                      &response);
      },
      grpc::StatusCode::ALREADY_EXISTS, HasSubstr("different content"));

  // The same content is a retry: the original position, nothing stored.
  absl::StatusOr<v1::GetHeadResponse> before = GetHead(*stub_);
  ASSERT_OK(before);
  v1::AppendResponse retry;
  ASSERT_THAT(Append(*stub_, MakeAppend({original}), &retry), GrpcOk());
  EXPECT_EQ(retry.events(0).position(), position);
  EXPECT_TRUE(retry.events(0).duplicate());
  EXPECT_EQ(retry.head_position(), before->position());
  ExpectUnchangedAndServing(*before);
}

// Unary calls whose clients give up (a deadline that passes, a cancel) while the append waits
// for its commit or a page is being built: the daemon answers calls that are gone, frees them,
// and goes on serving; whatever it acknowledged is in the log, whose chain verifies.
TEST_F(BadInputTest, ClientsThatGiveUpOnUnaryCallsLeaveTheDaemonServing) {
  for (int i = 0; i < 20; ++i) ASSERT_OK(AppendOne(*stub_, "giveup/seed", absl::StrCat(i)));
  constexpr int kCalls = 200;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::AppendRequest> requests(kCalls);
  std::vector<v1::AppendResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<v1::ReadRequest> reads(kCalls);
  std::vector<v1::ReadResponse> pages(kCalls);
  std::vector<grpc::Status> read_statuses(kCalls);
  auto done = [&] {
    std::lock_guard lock(mu);
    ++finished;
    cv.notify_all();
  };
  for (int i = 0; i < kCalls; ++i) {
    requests[i] = MakeAppend({MakeEvent("giveup/append", absl::StrCat("event ", i))});
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    // Some expire almost at once, some are cancelled right after being sent.
    contexts.back()->set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::microseconds(i % 2 == 0 ? 100 : 100000));
    stub_->async()->Append(contexts.back().get(), &requests[i], &responses[i],
                           [&, i](grpc::Status s) {
                             statuses[i] = std::move(s);
                             done();
                           });
    if (i % 3 == 0) contexts.back()->TryCancel();
    reads[i].set_from(1);
    reads[i].set_limit(10000);
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::microseconds(50));
    stub_->async()->Read(contexts.back().get(), &reads[i], &pages[i], [&, i](grpc::Status s) {
      read_statuses[i] = std::move(s);
      done();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kCallTimeout, [&] { return finished == 2 * kCalls; }));
  }
  std::vector<uint64_t> acknowledged;
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_THAT(statuses[i].error_code(),
                ::testing::AnyOf(grpc::StatusCode::OK, grpc::StatusCode::DEADLINE_EXCEEDED,
                                 grpc::StatusCode::CANCELLED))
        << statuses[i].error_message();
    if (statuses[i].ok()) acknowledged.push_back(responses[i].events(0).position());
    EXPECT_THAT(read_statuses[i].error_code(),
                ::testing::AnyOf(grpc::StatusCode::OK, grpc::StatusCode::DEADLINE_EXCEEDED,
                                 grpc::StatusCode::CANCELLED))
        << read_statuses[i].error_message();
  }
  // Still serving; everything acknowledged is there, and the chain verifies.
  ASSERT_OK(AppendOne(*stub_, "giveup/after", "still here"));
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_OK(log);
  EXPECT_TRUE(ChainVerifies(*log, *head));
  for (uint64_t position : acknowledged) {
    ASSERT_LE(position, log->size());
    EXPECT_EQ((*log)[position - 1].stream_id(), "giveup/append");
  }
}

// Reads `count` events from a fresh subscription at `from` on its own channel and returns them.
std::vector<v1::Event> SubscribeAndTake(const DaemonHarness& daemon, uint64_t from, int count) {
  auto stub = daemon.NewStub();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  v1::SubscribeRequest request;
  request.set_from_position(from);
  auto reader = stub->Subscribe(&context, request);
  std::vector<v1::Event> events;
  v1::Event event;
  while (static_cast<int>(events.size()) < count && reader->Read(&event)) events.push_back(event);
  context.TryCancel();
  grpc::Status ignored = reader->Finish();
  return events;
}

TEST_F(BadInputTest, ClientDisconnectsMidStream) {
  for (int i = 0; i < 50; ++i) ASSERT_OK(AppendOne(*stub_, "sub/cancel", absl::StrCat(i)));
  absl::StatusOr<v1::GetHeadResponse> before = GetHead(*stub_);
  ASSERT_OK(before);

  // 1. Cancel mid catch-up.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::SubscribeRequest request;
    request.set_from_position(1);
    auto reader = stub_->Subscribe(&context, request);
    v1::Event event;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(reader->Read(&event));
    EXPECT_EQ(event.position(), 5u);
    context.TryCancel();
    EXPECT_THAT(reader->Finish(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
  }
  // 2. Cancel while live (waiting for events past the head).
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::SubscribeRequest request;
    request.set_from_position(before->position() + 1);
    auto reader = stub_->Subscribe(&context, request);
    context.TryCancel();
    v1::Event event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_THAT(reader->Finish(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
  }
  // 3. The whole connection goes away mid-stream: the channel, context and reader of a second
  //    client are destroyed without finishing the call.
  {
    auto channel = daemon_.NewChannel();
    auto stub = v1::LedgerService::NewStub(channel);
    auto context = std::make_unique<grpc::ClientContext>();
    v1::SubscribeRequest request;
    auto reader = stub->Subscribe(context.get(), request);
    v1::Event event;
    ASSERT_TRUE(reader->Read(&event));
    reader.reset();
    context.reset();
    stub.reset();
    channel.reset();
  }
  ExpectUnchangedAndServing(*before);

  // A new subscriber sees the whole log, including the append made just now.
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  std::vector<v1::Event> events = SubscribeAndTake(daemon_, 1, static_cast<int>(head->position()));
  ASSERT_EQ(events.size(), head->position());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].position(), i + 1);
}

TEST_F(BadInputTest, SubscriberHeldByFlowControlThenDisconnects) {
  // 200 events of 64 KiB (12.5 MiB) is far more than HTTP/2 flow-control windows admit, so the
  // server ends up blocked in Write() for a subscriber that stops reading. Cancelling that
  // subscriber must release the server's handler; the daemon keeps serving and still shuts
  // down promptly (TearDown checks exit code 0).
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 50; ++i) {
      events.push_back(
          MakeEvent("sub/big", std::string(64 << 10, static_cast<char>('a' + i % 26))));
    }
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
  }
  absl::StatusOr<v1::GetHeadResponse> before = GetHead(*stub_);
  ASSERT_OK(before);
  {
    auto stub = daemon_.NewStub();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    auto reader = stub->Subscribe(&context, v1::SubscribeRequest());
    v1::Event event;
    ASSERT_TRUE(reader->Read(&event));
    // Stop reading and give the server time to fill the windows and block in Write(). (Not a
    // synchronisation: nothing observable from here says "blocked", and the case holds either
    // way; the pause only makes the interesting interleaving the likely one.)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    context.TryCancel();
    grpc::Status ignored = reader->Finish();
  }
  ExpectUnchangedAndServing(*before);
  std::vector<v1::Event> events = SubscribeAndTake(daemon_, before->position(), 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].position(), before->position());
  EXPECT_EQ(events[1].position(), before->position() + 1);
}

}  // namespace
}  // namespace govledger::testing
