// ValidateAppendRequest and the id rules: every malformed request is INVALID_ARGUMENT with a
// message that tells the caller what to fix; the nearest well-formed request is OK.
#include "ledger/envelope.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/common/errors.h"
#include "ledger/common/uuid.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::IsOk;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

v1::Event* AddEvent(v1::AppendRequest& request, absl::string_view stream = "programme/LPP",
                    absl::string_view type = "govledger.v1.RiskOpened") {
  v1::Event* e = request.add_events();
  e->set_event_id(NewUuid());
  e->set_stream_id(std::string(stream));
  e->set_event_type(std::string(type));
  e->set_payload("payload");
  return e;
}

v1::AppendRequest OneEvent() {
  v1::AppendRequest request;
  AddEvent(request);
  return request;
}

absl::Status Validate(const v1::AppendRequest& request, const AppendLimits& limits = {}) {
  std::vector<UuidBytes> ids;
  return ValidateAppendRequest(request, limits, &ids);
}

// ---- Well-formed requests (the other side of every rule). ----

TEST(EnvelopeTest, MinimalRequestIsValid) { EXPECT_OK(Validate(OneEvent())); }

TEST(EnvelopeTest, FullyPopulatedMultiStreamRequestIsValid) {
  v1::AppendRequest request;
  AddEvent(request, "programme/LPP");
  AddEvent(request, "risk/LPP-R07:a_b.c-d");
  v1::Event* e = AddEvent(request, "programme/LPP");
  e->mutable_effective_time()->set_seconds(1700000000);
  e->mutable_effective_time()->set_nanos(999999000);
  v1::ExpectedVersion* ev = request.add_expected_versions();
  ev->set_stream_id("programme/LPP");
  ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
  ev->set_version(4);
  ev = request.add_expected_versions();
  ev->set_stream_id("risk/LPP-R07:a_b.c-d");
  ev->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
  EXPECT_OK(Validate(request));
}

TEST(EnvelopeTest, ValidRequestYieldsTheParsedIdsInRequestOrder) {
  v1::AppendRequest request = OneEvent();
  AddEvent(request)->set_event_id("3F2B8C1E-4D6A-4F7B-9C0D-1E2F3A4B5C6D");
  AddEvent(request);
  std::vector<UuidBytes> ids = {UuidBytes{}};  // replaced, not appended to
  ASSERT_OK(ValidateAppendRequest(request, AppendLimits(), &ids));
  ASSERT_THAT(ids, ::testing::SizeIs(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ids[i], *ParseUuid(request.events(i).event_id())) << i;
  }
  EXPECT_EQ(FormatUuid(ids[1]), "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
}

TEST(EnvelopeTest, UpperCaseUuidIsValid) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_event_id("3F2B8C1E-4D6A-4F7B-9C0D-1E2F3A4B5C6D");
  EXPECT_OK(Validate(request));
}

// ---- Request shape and size limits. ----

TEST(EnvelopeTest, EmptyRequestIsRejected) {
  EXPECT_THAT(Validate(v1::AppendRequest()), StatusIs(kInvalid, HasSubstr("no events")));
}

TEST(EnvelopeTest, TooManyEventsIsRejected) {
  AppendLimits limits;
  limits.max_events_per_append = 3;
  v1::AppendRequest request;
  for (int i = 0; i < 3; ++i) AddEvent(request);
  EXPECT_OK(Validate(request, limits));
  AddEvent(request);
  EXPECT_THAT(Validate(request, limits),
              StatusIs(kInvalid, AllOf(HasSubstr("4 events"), HasSubstr("at most 3"))));
}

TEST(EnvelopeTest, TooManyEventsWithDefaultLimitIsRejected) {
  v1::AppendRequest request;
  const size_t count = AppendLimits().max_events_per_append + 1;
  for (size_t i = 0; i < count; ++i) AddEvent(request);
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr(absl::StrCat(count, " events")),
                                       HasSubstr("split it"))));
}

TEST(EnvelopeTest, EventTooLargeIsRejected) {
  AppendLimits limits;
  limits.max_event_bytes = 1000;
  v1::AppendRequest request = OneEvent();
  AddEvent(request)->set_payload(std::string(2000, 'x'));
  EXPECT_THAT(Validate(request, limits),
              StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr("at most 1000"))));
  request.mutable_events(1)->set_payload(std::string(500, 'x'));
  EXPECT_OK(Validate(request, limits));
}

TEST(EnvelopeTest, EventOverDefaultOneMebibyteIsRejected) {
  v1::AppendRequest request;
  AddEvent(request)->set_payload(std::string(1 << 20, 'x'));
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("events[0]"),
                                       HasSubstr(absl::StrCat("at most ", 1 << 20)))));
}

TEST(EnvelopeTest, RequestTooLargeIsRejected) {
  AppendLimits limits;
  limits.max_event_bytes = 1000;
  limits.max_append_bytes = 2000;
  v1::AppendRequest request;
  for (int i = 0; i < 4; ++i) AddEvent(request)->set_payload(std::string(600, 'x'));
  const absl::Status refused = Validate(request, limits);
  EXPECT_THAT(refused, StatusIs(kInvalid, AllOf(HasSubstr("append request has"),
                                                HasSubstr("bytes; at most 2000"))));
  const std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(refused);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "REQUEST_TOO_LARGE");
  EXPECT_EQ(info->metadata().at("max_request_bytes"), "2000");
  request.mutable_events()->RemoveLast();
  request.mutable_events()->RemoveLast();
  EXPECT_OK(Validate(request, limits));
}

// ---- Event ids. ----

TEST(EnvelopeTest, NonUuidEventIdIsRejected) {
  v1::AppendRequest empty = OneEvent();
  AddEvent(empty)->set_event_id("");
  EXPECT_THAT(Validate(empty),
              StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr("event_id is empty"))));
  for (const char* id :
       {"not-a-uuid", "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6", "3f2b8c1e4d6a4f7b9c0d1e2f3a4b5c6d"}) {
    v1::AppendRequest request = OneEvent();
    AddEvent(request)->set_event_id(id);
    EXPECT_THAT(Validate(request),
                StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr("not a UUID"),
                                         HasSubstr("use the form"))))
        << "'" << id << "'";
  }
}

TEST(EnvelopeTest, TheNilUuidIsRejected) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_event_id("00000000-0000-0000-0000-000000000000");
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("events[0]"), HasSubstr("the nil UUID"))));
}

TEST(EnvelopeTest, DuplicateEventIdInRequestIsRejected) {
  v1::AppendRequest request = OneEvent();
  AddEvent(request)->set_event_id(request.events(0).event_id());
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr("appears twice"))));
}

TEST(EnvelopeTest, DuplicateEventIdDifferingOnlyInCaseIsRejected) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_event_id("3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
  AddEvent(request)->set_event_id("3F2B8C1E-4D6A-4F7B-9C0D-1E2F3A4B5C6D");
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr("appears twice"))));
}

// ---- Stream ids. ----

TEST(EnvelopeTest, EmptyStreamIdIsRejected) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_stream_id("");
  EXPECT_THAT(Validate(request), StatusIs(kInvalid, AllOf(HasSubstr("events[0]"),
                                                         HasSubstr("stream_id is empty"))));
}

TEST(EnvelopeTest, TooLongStreamIdIsRejected) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_stream_id(std::string(kMaxNameLength, 'a'));
  EXPECT_OK(Validate(request));
  request.mutable_events(0)->set_stream_id(std::string(kMaxNameLength + 1, 'a'));
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("stream_id has 201 bytes"),
                                       HasSubstr("at most 200"))));
}

TEST(EnvelopeTest, IllegalStreamIdCharactersAreRejected) {
  for (absl::string_view id : {"programme LPP", "risk#7", "a\\b", "é", "programme/LPP\n"}) {
    v1::AppendRequest request = OneEvent();
    request.mutable_events(0)->set_stream_id(std::string(id));
    EXPECT_THAT(Validate(request),
                StatusIs(kInvalid, AllOf(HasSubstr("events[0]"), HasSubstr("illegal character"),
                                         HasSubstr("A-Z a-z 0-9"))))
        << id;
  }
}

TEST(EnvelopeTest, StreamIdWithNulByteIsRejected) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_stream_id(std::string("programme\0LPP", 13));
  ASSERT_EQ(request.events(0).stream_id().size(), 13u);
  EXPECT_THAT(Validate(request), StatusIs(kInvalid, HasSubstr("illegal character")));
  EXPECT_THAT(ValidateStreamId(absl::string_view("\0", 1)),
              StatusIs(kInvalid, HasSubstr("illegal character")));
}

// A refusal quotes what was sent escaped, so that the message itself is safe to print.
TEST(EnvelopeTest, RefusalsQuoteIllegalCharactersEscaped) {
  EXPECT_THAT(ValidateStreamId("risk/\x1b[2K"),
              StatusIs(kInvalid, HasSubstr("stream_id 'risk/\\x1b[2K' contains")));
  EXPECT_THAT(ValidateEventType("a.B\r"),
              StatusIs(kInvalid, HasSubstr("event_type 'a.B\\r' contains")));
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->set_event_id("\x1b]0;x\x07");
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, HasSubstr("event_id '\\x1b]0;x\\x07' is not a UUID")));
}

TEST(EnvelopeTest, StreamIdWithLeadingOrTrailingSlashIsRejected) {
  for (absl::string_view id : {"/programme/LPP", "programme/LPP/", "/"}) {
    v1::AppendRequest request = OneEvent();
    request.mutable_events(0)->set_stream_id(std::string(id));
    EXPECT_THAT(Validate(request),
                StatusIs(kInvalid, HasSubstr("must not start or end with '/'")))
        << id;
  }
  EXPECT_OK(ValidateStreamId("a/b/c"));
}

// ---- Event types. ----

TEST(EnvelopeTest, IllegalEventTypeIsRejected) {
  struct Case {
    std::string type;
    std::string fragment;
  };
  const Case kCases[] = {
      {"", "event_type is empty; name the event's type"},
      {std::string(kMaxNameLength + 1, 't'), "at most 200"},
      {"govledger.v1/RiskOpened", "illegal character"},  // '/' is legal in stream ids only
      {"govledger:RiskOpened", "illegal character"},     // so is ':'
      {"Risk Opened", "illegal character"},
      {std::string("Risk\0Opened", 11), "illegal character"},
      // Parts between single dots: a leading dot had put govledger's own packages past the
      // rules that keep them (".govledger.v2.X" was stored as an opaque type).
      {".govledger.v2.X", "'.govledger.v2.X' has an empty part between dots"},
      {"govledger..v2.X", "has an empty part between dots"},
      {"com.example.", "has an empty part between dots"},
      {".", "has an empty part between dots"},
  };
  for (const Case& c : kCases) {
    v1::AppendRequest request = OneEvent();
    request.mutable_events(0)->set_event_type(c.type);
    EXPECT_THAT(Validate(request),
                StatusIs(kInvalid, AllOf(HasSubstr("events[0]"), HasSubstr("event_type"),
                                         HasSubstr(c.fragment))))
        << c.type;
  }
  EXPECT_OK(ValidateEventType(std::string(kMaxNameLength, 't')));
  EXPECT_OK(ValidateEventType("govledger.v1.Risk_Opened-2"));
}

// ---- Effective time. ----

v1::AppendRequest WithEffectiveTime(int64_t seconds, int32_t nanos) {
  v1::AppendRequest request = OneEvent();
  request.mutable_events(0)->mutable_effective_time()->set_seconds(seconds);
  request.mutable_events(0)->mutable_effective_time()->set_nanos(nanos);
  return request;
}

TEST(EnvelopeTest, EffectiveTimeRangeIsInclusiveOf1900AndExclusiveOf2200) {
  EXPECT_OK(Validate(WithEffectiveTime(kMinEffectiveSeconds, 0)));
  EXPECT_OK(Validate(WithEffectiveTime(kMaxEffectiveSeconds - 1, 999999000)));
  // 1970-01-01T00:00:00Z exactly is the rules' to refuse, for new events only
  // (GovernanceLedgerTest.AnEmptyEffectiveTimeIsRefusedButItsRetryIsAnswered).
  EXPECT_OK(Validate(WithEffectiveTime(0, 0)));
}

TEST(EnvelopeTest, EffectiveTimeBefore1900IsRejected) {
  EXPECT_THAT(Validate(WithEffectiveTime(kMinEffectiveSeconds - 1, 999999999)),
              StatusIs(kInvalid, AllOf(HasSubstr("events[0]"),
                                       HasSubstr("effective_time is out of range"),
                                       HasSubstr("1900-01-01"))));
}

TEST(EnvelopeTest, EffectiveTimeAtOrAfter2200IsRejected) {
  for (int64_t seconds : {kMaxEffectiveSeconds, kMaxEffectiveSeconds + 1}) {
    EXPECT_THAT(Validate(WithEffectiveTime(seconds, 0)),
                StatusIs(kInvalid, AllOf(HasSubstr("effective_time is out of range"),
                                         HasSubstr("2199-12-31"))))
        << seconds;
  }
}

TEST(EnvelopeTest, EffectiveTimeWithBadNanosIsRejected) {
  for (int32_t nanos : {-1, 1000000000}) {
    EXPECT_THAT(Validate(WithEffectiveTime(1700000000, nanos)),
                StatusIs(kInvalid, AllOf(HasSubstr("effective_time is out of range"),
                                         HasSubstr("nanos in [0, 999999999]"))))
        << nanos;
  }
}

// The "as at" answers compare effective times to the microsecond, as recorded times are
// kept: a finer time would fold in an order its record does not show.
TEST(EnvelopeTest, EffectiveTimeBelowTheMicrosecondIsRejected) {
  for (int32_t nanos : {1, 999, 500000900, 999999999}) {
    EXPECT_THAT(Validate(WithEffectiveTime(1700000000, nanos)),
                StatusIs(kInvalid, AllOf(HasSubstr("events[0]"),
                                         HasSubstr("below the microsecond"),
                                         HasSubstr("give whole microseconds"))))
        << nanos;
  }
  EXPECT_OK(Validate(WithEffectiveTime(1700000000, 500001000)));
}

// ---- Fields only the server may set. ----

TEST(EnvelopeTest, EachServerOnlyFieldIsRejected) {
  struct Case {
    const char* field;
    void (*set)(v1::Event*);
  };
  const Case kCases[] = {
      {"position", [](v1::Event* e) { e->set_position(1); }},
      {"stream_version", [](v1::Event* e) { e->set_stream_version(1); }},
      {"recorded_time", [](v1::Event* e) { e->mutable_recorded_time(); }},
      {"actor", [](v1::Event* e) { e->set_actor("alice"); }},
      {"prev_hash", [](v1::Event* e) { e->set_prev_hash(std::string(32, '\0')); }},
      {"hash", [](v1::Event* e) { e->set_hash(std::string(32, '\1')); }},
  };
  for (const Case& c : kCases) {
    v1::AppendRequest request = OneEvent();
    c.set(AddEvent(request));
    EXPECT_THAT(Validate(request),
                StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr(c.field),
                                         HasSubstr("set by the server"))))
        << c.field;
  }
}

// A field this version's Event does not have would be lost: refused, naming its number.
TEST(EnvelopeTest, AnEventFieldThisVersionDoesNotKnowIsRejected) {
  v1::AppendRequest request = OneEvent();
  v1::Event* event = AddEvent(request);
  event->GetReflection()->MutableUnknownFields(event)->AddVarint(99, 1);
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("events[1]"), HasSubstr("field number 99"),
                                       HasSubstr("it would not be stored"))));
  // The same bytes parsed from the wire.
  v1::AppendRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
  EXPECT_THAT(Validate(parsed), StatusIs(kInvalid, HasSubstr("field number 99")));
}

// A field inside effective_time would be stored and hashed, but a JSON export cannot carry it,
// so every export holding the event would fail verification for good.
TEST(EnvelopeTest, AFieldATimestampDoesNotHaveIsRejected) {
  v1::AppendRequest request = OneEvent();
  v1::Event* event = AddEvent(request);
  event->mutable_effective_time()->set_seconds(1475000000);
  google::protobuf::Timestamp* t = event->mutable_effective_time();
  t->GetReflection()->MutableUnknownFields(t)->AddVarint(7, 1);
  v1::AppendRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
  EXPECT_THAT(Validate(parsed),
              StatusIs(kInvalid, AllOf(HasSubstr("events[1]"),
                                       HasSubstr("effective_time holds field number 7"))));
  parsed.mutable_events(1)->mutable_effective_time()->DiscardUnknownFields();
  EXPECT_OK(Validate(parsed));
}

// ---- Expected versions. ----

TEST(EnvelopeTest, ExpectedVersionForUnknownStreamIsRejected) {
  v1::AppendRequest request = OneEvent();
  v1::ExpectedVersion* ev = request.add_expected_versions();
  ev->set_stream_id("programme/OTHER");
  ev->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("'programme/OTHER'"),
                                       HasSubstr("no event of the request appends to"))));
}

TEST(EnvelopeTest, ExpectedVersionNamingAStreamTwiceIsRejected) {
  v1::AppendRequest request = OneEvent();
  for (int i = 0; i < 2; ++i) {
    v1::ExpectedVersion* ev = request.add_expected_versions();
    ev->set_stream_id("programme/LPP");
    ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
    ev->set_version(i);
  }
  EXPECT_THAT(Validate(request),
              StatusIs(kInvalid, AllOf(HasSubstr("'programme/LPP' twice"),
                                       HasSubstr("one per stream"))));
}

TEST(EnvelopeTest, ExpectedVersionWithUnknownKindIsRejected) {
  v1::AppendRequest request = OneEvent();
  v1::ExpectedVersion* ev = request.add_expected_versions();
  ev->set_stream_id("programme/LPP");
  ev->set_kind(static_cast<v1::ExpectedVersion::Kind>(7));
  EXPECT_THAT(Validate(request), StatusIs(kInvalid, AllOf(HasSubstr("unknown kind 7"),
                                                        HasSubstr("KIND_NO_STREAM (1)"))));
}

TEST(EnvelopeTest, ExpectedVersionWithAVersionButNotExactIsRejected) {
  for (auto kind : {v1::ExpectedVersion::KIND_ANY, v1::ExpectedVersion::KIND_NO_STREAM}) {
    v1::AppendRequest request = OneEvent();
    v1::ExpectedVersion* ev = request.add_expected_versions();
    ev->set_stream_id("programme/LPP");
    ev->set_kind(kind);
    ev->set_version(5);
    EXPECT_THAT(Validate(request),
                StatusIs(kInvalid, AllOf(HasSubstr("gives version 5"),
                                         HasSubstr("a version goes with KIND_EXACT only"))))
        << kind;
    ev->set_version(0);
    EXPECT_OK(Validate(request)) << kind;
  }
}

// ---- Source. ----

TEST(EnvelopeTest, SourceIsOneLineOfTextOfAtMost500Bytes) {
  v1::AppendRequest r = OneEvent();
  EXPECT_OK(Validate(r));  // none
  r.mutable_events(0)->set_source("Joint Audit Committee, programme update report (week 86)");
  EXPECT_OK(Validate(r));
  r.mutable_events(0)->set_source(std::string(kMaxSourceLength, 's'));
  EXPECT_OK(Validate(r));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {std::string(kMaxSourceLength + 1, 's'), "source has 501 bytes; at most 500"},
      {"report\nweek 86", "source holds the control character U+000A at byte 6"},
      {"report\xE2\x80\xA9week 86", "source holds the paragraph separator U+2029 at byte 6"},
      {"report \xE2\x80\xAE"
       "68 keew",
       "source holds the bidirectional control U+202E"},
      {" report", "must not start or end with white space"},
      // An integrator's: a byte-order mark before it, a zero-width space after it.
      {"\xEF\xBB\xBFreport", "(here U+FEFF)"},
      {"report\xE2\x80\x8B", "(here U+200B)"},
      {"Rapport \xe9t\xe9", "source is not UTF-8"},
      // A contract checker's: a selector or tag that completes nothing, at either end.
      {"\xEF\xB8\x8FPaper A", "(here U+FE0F)"},
      {"Paper A\xEF\xB8\x8F", "(here U+FE0F)"},
      {"Paper A\xF3\xA0\x80\x81", "(here U+E0001)"},
      {"Paper A\xF3\xA0\x81\xBF", "(here U+E007F)"},
      {"Paper A\xF0\x9D\x85\xB3", "(here U+1D173)"},
      // A reviewer's: a selector after a letter that has no variant, tags spelling hidden text
      // after a flag ("Paper " U+1F3F4, tags "ignore", the cancel tag).
      {"Caf\xC3\xA9\xEF\xB8\x8F", "(here U+FE0F)"},
      {"Paper \xF0\x9F\x8F\xB4\xF3\xA0\x81\xA9\xF3\xA0\x81\xA7\xF3\xA0\x81\xAE\xF3\xA0\x81\xAF"
       "\xF3\xA0\x81\xB2\xF3\xA0\x81\xA5\xF3\xA0\x81\xBF",
       "(here U+E007F)"},
      // A gRPC client's, within the source: a tag (hidden ASCII), an annotation character, a
      // noncharacter, and a combining mark that starts it.
      {"a\xF3\xA0\x81\x81"
       "b",
       "source holds U+E0041 at byte 1, a tag character, which shows nothing"},
      {"Paper \xF0\x9F\x8F\xB4\xF3\xA0\x81\xA9\xF3\xA0\x81\xA7\xF3\xA0\x81\xBF A",
       "source holds U+E0069 at byte 10, a tag character"},
      {"a\xEF\xBF\xB9"
       "b",
       "U+FFF9 at byte 1, an interlinear annotation character"},
      {"a\xEF\xBF\xBF"
       "b",
       "U+FFFF at byte 1, a noncharacter"},
      {"\xCC\x81"
       "abc",
       "U+0301 at byte 0, a combining mark with nothing before it"},
      // A second reviewer's: variation selectors after letters that have no such variant (one
      // a byte), a zero-width space, a run of joiners.
      {"Paper\xF3\xA0\x84\x80 A", "source holds U+E0100 at byte 5, a variation selector"},
      {"\xE8\xAD\xB0\xF3\xA0\x84\x80\xF3\xA0\x84\x81 A", "U+E0101 at byte 7, a variation selector"},
      {"Paper\xE2\x80\x8B A", "U+200B at byte 5, a character that shows nothing"},
      {"a\xE2\x80\x8C\xE2\x80\x8C"
       "b",
       "U+200C at byte 4, a joiner, soft hyphen or grapheme joiner after no character"},
      // A third's: soft hyphens and grapheme joiners as bits.
      {"Paper A\xC2\xAD\xCD\x8F final", "U+034F at byte 9, a joiner, soft hyphen"},
      // What a viewer is shown in place of a withheld source: no paper passes for one.
      {"(withheld: cited for a decision whose Part 1 is not yet published)",
       "source begins '(withheld:', as the text a viewer is shown in place of a withheld "
       "source does"},
      {"(Withheld: board minutes)", "source begins '(withheld:'"}};
  for (const auto& [source, message] : bad) {
    r.mutable_events(0)->set_source(source);
    EXPECT_THAT(Validate(r),
                StatusIs(kInvalid, AllOf(HasSubstr("events[0]"), HasSubstr(message))))
        << source;
  }
  // What a selector or tags complete at the end: an emoji shown as an emoji (U+2705 U+FE0F),
  // a flag's tag sequence (U+1F3F4, tags "gbeng", the cancel tag).
  for (const std::string& source :
       {std::string("Board minutes \xE2\x9C\x85\xEF\xB8\x8F"),
        std::string("Minutes \xE6\xB1\xBA\xF3\xA0\x84\x80"),  // an ideograph's variant
        std::string("Note 1\xEF\xB8\x8F"),                    // a digit's emoji variant
        std::string("Lemma \xE2\x89\xA8\xEF\xB8\x80"),        // a math operator's variant
        std::string("Board minutes \xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81"
                    "\xA5\xF3\xA0\x81\xAE\xF3\xA0\x81\xA7\xF3\xA0\x81\xBF"),
        // Within it: a flag's tags, a combining accent after its letter, private use.
        std::string("Board \xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81"
                    "\xB7\xF3\xA0\x81\xAC\xF3\xA0\x81\xB3\xF3\xA0\x81\xBF minutes"),
        std::string("Cafe\xCC\x81 minutes"), std::string("Minutes \xEE\x80\x80 item 4"),
        // An emoji's selector and joiners, a Persian non-joiner, an ideograph's variant.
        std::string("Board \xE2\x9D\xA4\xEF\xB8\x8F minutes"),
        std::string("\xF0\x9F\x91\xA9\xF0\x9F\x8F\xBE\xE2\x80\x8D\xF0\x9F\x92\xBB minutes"),
        std::string("\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88 minutes"),
        std::string("\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xAE\xD9\x88\xD8\xA7\xD9\x87\xD9\x85"),
        std::string("\xE8\xAD\xB0\xF3\xA0\x84\x80 minutes"),
        // A soft hyphen within a word; Mongolian's vowel separator, which is spelling.
        std::string("Pro\xC2\xADgramme board"), std::string("Minutes (withheld: no)"),
        std::string("\xE1\xA0\xAC\xE1\xA0\xA0\xE1\xA0\xB7\xE1\xA0\x8E\xE1\xA0\xA0 report")}) {
    r.mutable_events(0)->set_source(source);
    EXPECT_OK(Validate(r)) << source;
  }
}

// ---- Actor. ----

TEST(EnvelopeTest, ActorRules) {
  EXPECT_OK(ValidateActor("alice@example.gov"));
  EXPECT_OK(ValidateActor(std::string(kMaxNameLength, 'a')));
  EXPECT_THAT(ValidateActor(""), StatusIs(kInvalid, HasSubstr("1 to 200 bytes")));
  EXPECT_THAT(ValidateActor(std::string(kMaxNameLength + 1, 'a')),
              StatusIs(kInvalid, HasSubstr("1 to 200 bytes")));
  EXPECT_THAT(ValidateActor("ali\nce"),
              StatusIs(kInvalid, HasSubstr("the control character U+000A at byte 3")));
  EXPECT_THAT(ValidateActor("ali\x7f"),
              StatusIs(kInvalid, HasSubstr("the control character U+007F at byte 3")));
  // C1 controls (U+0080 to U+009F), e.g. U+009B, which some terminals take as an escape.
  EXPECT_THAT(ValidateActor("ali\xC2\x9B" "31m"),
              StatusIs(kInvalid, HasSubstr("the control character U+009B at byte 3")));
  EXPECT_OK(ValidateActor("J\xC2\xA3ne \xC3\xA9"));  // U+00A3 and U+00E9 are text
  // A bidirectional override would show the name around it reversed in history and tail.
  EXPECT_THAT(ValidateActor("PMO \xE2\x80\xAE" "kram"),
              StatusIs(kInvalid, HasSubstr("the bidirectional control U+202E at byte 4")));
  EXPECT_THAT(ValidateActor("PMO \xE2\x81\xA6" "x"),
              StatusIs(kInvalid, HasSubstr("the bidirectional control U+2066 at byte 4")));
  EXPECT_OK(
      ValidateActor("O\xE2\x80\x99"
                    "Brien"));  // U+2019 is text
  // " bob" would read as bob, and match no token of bob's.
  // Unicode's white space too: a no-break space, an ideographic space, a line separator.
  for (const char* actor : {" bob", "bob ", " ", "\xC2\xA0" "bob", "bob\xE3\x80\x80"}) {
    EXPECT_THAT(ValidateActor(actor), StatusIs(kInvalid, HasSubstr("white space"))) << actor;
  }
  EXPECT_THAT(ValidateActor("\xC2\xA0" "bob"), StatusIs(kInvalid, HasSubstr("(here U+00A0)")));
  // A line separator makes a "one line" name two.
  EXPECT_THAT(ValidateActor("writer\xE2\x80\xA8" "Approved by: Mayor"),
              StatusIs(kInvalid, HasSubstr("the line separator U+2028 at byte 6")));
  // As a key's holder: what does not show as itself (a zero-width space, a soft hyphen, a
  // byte order mark, a tag, a no-break space within), or letters of two look-alike scripts
  // (a Cyrillic "і" in "writer"), would let one actor pass for another.
  for (const auto& [actor, says] : std::vector<std::pair<std::string, std::string>>{
           {"writer-actor\xE2\x80\x8B", "shows nothing (here U+200B)"},
           {"writer\xC2\xAD"
            "actor",
            "U+00AD at byte 6"},
           {"\xEF\xBB\xBF"
            "writer",
            "shows nothing (here U+FEFF)"},
           {"writer\xF3\xA0\x81\x81", "shows nothing (here U+E0041)"},
           {"wri\xF3\xA0\x81\x81ter", "U+E0041 at byte 3"},
           {"Jean\xC2\xA0"
            "Dupont",
            "U+00A0 at byte 4"},
           {"wr\xD1\x96ter-actor", "mixes Latin and Cyrillic letters (U+0456 at byte 2)"},
           // A contract checker's: a musical symbol beam, a shorthand format control.
           {"bob\xF0\x9D\x85\xB3", "shows nothing (here U+1D173)"},
           {"bo\xF0\x9B\xB2\xA0"
            "b",
            "U+1BCA0 at byte 2"}}) {
    EXPECT_THAT(ValidateActor(actor), StatusIs(kInvalid, HasSubstr(says))) << actor;
  }
  EXPECT_OK(ValidateActor("J. Smith (PMO)"));
  EXPECT_OK(ValidateActor("\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD"));  // Cyrillic alone: Иван
  // The server's name for a caller that names none may not be named.
  EXPECT_OK(ValidateActor("peer:ipv4:127.0.0.1:53422"));
  EXPECT_THAT(ValidateNamedActor("peer:ipv4:10.0.0.7:51234"),
              StatusIs(kInvalid, HasSubstr("is the server's name for a caller that names none")));
  // In any letter case (found by an integrator's trial).
  EXPECT_THAT(ValidateNamedActor("PEER:ipv4:10.0.0.7:51234"),
              StatusIs(kInvalid, HasSubstr("(in any letter case)")));
  EXPECT_OK(ValidateNamedActor("J. Smith (PMO)"));
  // Not UTF-8: Latin-1, a lone continuation byte, a truncated sequence, an overlong encoding.
  for (const char* actor : {"Jos\xe9", "ab\xff\xfe" "cd", "a\x80", "a\xC3", "\xC0\xAF"}) {
    EXPECT_THAT(ValidateActor(actor), StatusIs(kInvalid, HasSubstr("not UTF-8"))) << actor;
  }
}

}  // namespace
}  // namespace govledger
