// cli/event_json.h: events as JSON documents, both ways, and the errors for bad documents.
#include "cli/event_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "google/protobuf/util/json_util.h"
#include "govledger/v1/events.pb.h"
#include "ledger/stored_event.h"
#include "projections/governance_state.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::cli {
namespace {

using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace gov = ::govledger::testing::gov;

v1::Event Stored(v1::Event e) {
  e.set_position(7);
  e.set_stream_version(2);
  e.mutable_recorded_time()->set_seconds(1700000000);
  e.set_actor("auditor");
  e.set_prev_hash(std::string(32, 'p'));
  e.set_hash(std::string(32, 'h'));
  e.mutable_effective_time()->set_seconds(1481673600);  // 2016-12-14
  return e;
}

TEST(EventJsonTest, TypedPayloadPrintsAsItsFieldsAndParsesBackToTheSameBytes) {
  v1::RiskOpened risk = gov::Risk("LPP-R07", gov::ProgrammeRef("LPP"), v1::RAG_RED);
  const v1::Event stored = Stored(gov::Ev(risk));
  const std::string doc = EventDocument(stored);
  EXPECT_THAT(doc, HasSubstr("\"payload\":{\"riskId\":\"LPP-R07\""));
  EXPECT_THAT(doc, HasSubstr("\"rating\":\"RAG_RED\""));
  EXPECT_THAT(doc, HasSubstr("\"effectiveTime\":\"2016-12-14T00:00:00Z\""));
  EXPECT_THAT(doc, HasSubstr("\"position\":\"7\""));
  EXPECT_EQ(doc.find('\n'), std::string::npos);

  absl::StatusOr<v1::Event> parsed = ParseEventDocument(doc);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->event_id(), stored.event_id());
  EXPECT_EQ(parsed->stream_id(), "risk/LPP-R07");
  EXPECT_EQ(parsed->event_type(), "govledger.v1.RiskOpened");
  EXPECT_EQ(parsed->effective_time().seconds(), 1481673600);
  EXPECT_EQ(parsed->payload(), stored.payload());
  // Server-set fields are dropped, so an export re-imports.
  EXPECT_EQ(parsed->position(), 0u);
  EXPECT_EQ(parsed->stream_version(), 0u);
  EXPECT_FALSE(parsed->has_recorded_time());
  EXPECT_TRUE(parsed->actor().empty());
  EXPECT_TRUE(parsed->prev_hash().empty());
  EXPECT_TRUE(parsed->hash().empty());
}

// Stored bytes as the ledger writes them: `client` (fields 1 to 9) then `server` (10 to 14)
// serialized, `between` in between (fields of a newer version), chained to Stored()'s
// prev_hash. *event is what they decode to.
std::string Chain(const v1::Event& whole, const std::string& between, v1::Event* event) {
  v1::Event client = whole, server = whole;
  client.clear_position();
  client.clear_stream_version();
  client.clear_recorded_time();
  client.clear_actor();
  client.clear_prev_hash();
  client.clear_hash();
  server.clear_event_id();
  server.clear_stream_id();
  server.clear_event_type();
  server.clear_effective_time();
  server.clear_payload();
  server.clear_hash();
  crypto::Hash prev;
  std::copy(whole.prev_hash().begin(), whole.prev_hash().end(), prev.begin());
  crypto::Hash hash;
  std::string stored = ChainRecord(
      client.SerializeAsString() + between + server.SerializeAsString(), prev, &hash);
  absl::StatusOr<v1::Event> decoded = DecodeStoredEvent(whole.position(), stored);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (decoded.ok()) *event = *decoded;
  return stored;
}

TEST(EventJsonTest, AnExportedLineParsesBackToTheStoredEventByteForByte) {
  v1::Event typed = Stored(gov::Ev(gov::Risk("LPP-R07", gov::ProgrammeRef("LPP"), v1::RAG_RED)));
  typed.mutable_recorded_time()->set_nanos(123456000);
  v1::Event opaque = Stored(v1::Event());
  opaque.set_event_id("2b7f3c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
  opaque.set_stream_id("notes/1");
  opaque.set_event_type("example.v1.Note");
  opaque.set_payload(std::string("\x00\xff binary", 9));
  for (const v1::Event& whole : {typed, opaque}) {
    v1::Event event;
    const std::string stored = Chain(whole, "", &event);
    const std::string doc = ExportDocument(event, stored);
    EXPECT_EQ(doc, EventDocument(event)) << "no storedBytes for an event this version knows";
    absl::StatusOr<ExportedEvent> parsed = ParseExportedEvent(doc);
    ASSERT_OK(parsed);
    EXPECT_TRUE(parsed->stored.empty());
    // Every field, the server's included, so the record (and its hash) can be recomputed.
    EXPECT_EQ(parsed->event.SerializeAsString(), event.SerializeAsString());
  }
  EXPECT_THAT(ParseExportedEvent(R"({"position":"x"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position")));
}

// A newer govledgerd's envelope field (7, a string, between the client's fields and the
// server's): the JSON mapping cannot carry it, so the line carries the stored bytes too, and
// an import refuses the line rather than drop the field.
TEST(EventJsonTest, AnEventWithEnvelopeFieldsThisVersionDoesNotKnowCarriesItsStoredBytes) {
  v1::Event event;
  const std::string stored =
      Chain(Stored(gov::Ev(gov::Risk("LPP-R07", gov::ProgrammeRef("LPP")))),
            std::string("\x3A\x08" "corr-123", 10), &event);
  const std::string doc = ExportDocument(event, stored);
  EXPECT_THAT(doc, HasSubstr("\"payload\":{\"riskId\":\"LPP-R07\""));  // still readable
  EXPECT_THAT(doc, HasSubstr(absl::StrCat("\"storedBytes\":\"", absl::Base64Escape(stored),
                                          "\"}")));
  absl::StatusOr<ExportedEvent> parsed = ParseExportedEvent(doc);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->stored, stored);
  v1::Event known = event;
  known.DiscardUnknownFields();
  EXPECT_EQ(parsed->event.SerializeAsString(), known.SerializeAsString());

  EXPECT_THAT(ParseEventDocument(doc),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("fields this govledger does not know")));
  std::string bad = doc;
  bad.replace(bad.find("\"storedBytes\":\"") + 15, 4, "%%%%");
  EXPECT_THAT(ParseExportedEvent(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("storedBytes: must be")));
}

// A field inside effective_time (which an older govledgerd stored) serializes back in place, but
// the JSON mapping drops it: the line carries the stored bytes, which the hash covers.
TEST(EventJsonTest, AnEffectiveTimeWithAFieldTheMappingDropsCarriesItsStoredBytes) {
  v1::Event event = gov::Ev(gov::Risk("LPP-R07", gov::ProgrammeRef("LPP")));
  event.set_position(7);
  event.mutable_effective_time()->set_seconds(1475000000);
  google::protobuf::Timestamp* t = event.mutable_effective_time();
  t->GetReflection()->MutableUnknownFields(t)->AddVarint(7, 1);
  const std::string stored = event.SerializeAsString();
  const std::string doc = ExportDocument(event, stored);
  EXPECT_THAT(doc, HasSubstr(absl::StrCat("\"storedBytes\":\"", absl::Base64Escape(stored))));
  absl::StatusOr<ExportedEvent> parsed = ParseExportedEvent(doc);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->stored, stored);
  // Without the field, no stored bytes.
  event.mutable_effective_time()->DiscardUnknownFields();
  EXPECT_EQ(ExportDocument(event, event.SerializeAsString()), EventDocument(event));
}

// A base64 or absent payload is parsed as the plain JSON mapping, anything else the general
// way: both must give the same event.
TEST(EventJsonTest, BothWaysOfParsingAgree) {
  const std::string base64 =
      R"({"streamId":"s/1","eventType":"t.X","actor":"a","position":"3","prevHash":"AAAA",)"
      R"("hash":"AAAA","payload":"aGk="})";
  absl::StatusOr<v1::Event> imported = ParseEventDocument(base64);
  ASSERT_OK(imported);
  EXPECT_EQ(imported->payload(), "hi");
  EXPECT_EQ(imported->position(), 0u);  // server fields dropped
  EXPECT_TRUE(imported->actor().empty());
  absl::StatusOr<ExportedEvent> exported = ParseExportedEvent(base64);
  ASSERT_OK(exported);
  EXPECT_EQ(exported->event.position(), 3u);
  EXPECT_EQ(exported->event.actor(), "a");
  // A server field the plain mapping refuses is an error either way.
  const std::string bad_position =
      R"({"streamId":"s/1","eventType":"t.X","position":"soon","payload":"aGk="})";
  EXPECT_THAT(ParseEventDocument(bad_position),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position")));
  EXPECT_FALSE(ParseExportedEvent(bad_position).ok());
}

// A document that claims who recorded it, or when, without an export line's position and
// hashes is refused: the claim would be dropped in silence, the server recording its own (a
// hand-written "actor": "The Mayor" was imported as the caller's: a README reviewer's find).
TEST(EventJsonTest, AClaimOfTheServersFieldsOutsideAnExportLineIsRefused) {
  for (const std::string claim :
       {R"("actor":"The Mayor")", R"("recordedTime":"2016-01-01T00:00:00Z")",
        R"("streamVersion":"4")",
        // with some of an export line's fields, but not all (a reviewer's bypass)
        R"("actor":"The Mayor","position":"7")",
        R"("recordedTime":"2016-01-01T00:00:00Z","hash":"AAAA")"}) {
    const std::string doc = absl::StrCat(R"({"streamId":"s/1","eventType":"t.X",)", claim, "}");
    EXPECT_THAT(ParseEventDocument(doc),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(": set by the server when it stores the event")))
        << claim;
    absl::StatusOr<ExportedEvent> exported = ParseExportedEvent(doc);
    ASSERT_OK(exported);
    EXPECT_THAT(ClientEvent(*std::move(exported)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("remove ")))
        << claim;
  }
}

TEST(EventJsonTest, UnknownTypesTravelAsBase64) {
  v1::Event e = Stored(v1::Event());
  e.set_event_id("6f1c3c36-5b7e-4c55-9d0b-0a3f5f8e2d11");
  e.set_stream_id("other/x");
  e.set_event_type("example.v9.Unknown");
  e.set_payload(std::string("\x00\x01\xff opaque", 10));
  const std::string doc = EventDocument(e);
  EXPECT_THAT(doc, HasSubstr("\"payload\":\"AAH/IG9wYXF1ZQ==\""));
  absl::StatusOr<v1::Event> parsed = ParseEventDocument(doc);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->payload(), e.payload());
}

TEST(EventJsonTest, APayloadThatDoesNotRoundTripAsItsTypeTravelsAsBase64) {
  // Field 99 is not in RiskOpened (as if written by a newer version): printing the fields
  // would lose it, so the bytes are kept.
  v1::Event e = gov::Ev(gov::Risk("R1", gov::ProgrammeRef("P")));
  e.mutable_payload()->append("\x98\x06\x01", 3);  // field 99, varint 1
  const std::string doc = EventDocument(e);
  EXPECT_THAT(doc, ::testing::Not(HasSubstr("\"riskId\"")));
  absl::StatusOr<v1::Event> parsed = ParseEventDocument(doc);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->payload(), e.payload());
}

// A reviewer's finding: an opaque event typed as one of protobuf's well-known types, whose JSON
// is no object (StringValue and Timestamp print as strings, Int64Value as a string, BoolValue
// as a bool, ListValue as an array), was exported as that JSON: import read the string as
// base64 and stored other bytes, or refused the rest, and `verify --file` failed the export.
TEST(EventJsonTest, AWellKnownTypeWhoseJsonIsNoObjectTravelsAsBase64) {
  google::protobuf::StringValue text;
  text.set_value("aGVsbG8=");
  google::protobuf::Timestamp time;
  time.set_seconds(1644450176);
  google::protobuf::BoolValue flag;
  flag.set_value(true);
  google::protobuf::ListValue list;
  list.add_values()->set_number_value(1);
  google::protobuf::Struct object;
  (*object.mutable_fields())["a"].set_string_value("b");
  // Keys a document would read as one key twice (a field's two names): as base64 too.
  google::protobuf::Struct aliased;
  (*aliased.mutable_fields())["fooBar"].set_number_value(2);
  (*aliased.mutable_fields())["foo_bar"].set_number_value(1);
  const std::pair<const google::protobuf::Message*, bool> cases[] = {
      {&text, false}, {&time, false},   {&flag, false},
      {&list, false}, {&object, false}, {&aliased, false}};
  for (const auto& [message, as_json] : cases) {
    v1::Event e = Stored(v1::Event());
    e.set_event_id("6f1c3c36-5b7e-4c55-9d0b-0a3f5f8e2d11");
    e.set_stream_id("other/x");
    e.set_event_type(message->GetDescriptor()->full_name());
    e.set_payload(message->SerializeAsString());
    const std::string doc = EventDocument(e);
    const std::string base64 = absl::StrCat("\"payload\":\"", absl::Base64Escape(e.payload()), "\"");
    EXPECT_EQ(absl::StrContains(doc, base64), !as_json) << doc;
    absl::StatusOr<v1::Event> parsed = ParseEventDocument(doc);
    ASSERT_OK(parsed) << doc;
    EXPECT_EQ(parsed->payload(), e.payload()) << doc;
  }
}

// Only govledger.v1's payloads are written as objects (an auditor's finding: a Struct, or the
// CLI's storage-internal messages, were exported as JSON that a reader working from the docs
// could not read back to the bytes hashed); an object an older export wrote still reads.
TEST(EventJsonTest, OnlyGovernancePayloadsAreWrittenAsObjects) {
  google::protobuf::Struct object;
  (*object.mutable_fields())["a"].set_string_value("b");
  v1::Event e = Stored(v1::Event());
  e.set_event_id("6f1c3c36-5b7e-4c55-9d0b-0a3f5f8e2d11");
  e.set_stream_id("other/x");
  e.set_event_type("google.protobuf.Struct");
  e.set_payload(object.SerializeAsString());
  EXPECT_THAT(EventDocument(e),
              HasSubstr(absl::StrCat("\"payload\":\"", absl::Base64Escape(e.payload()), "\"")));
  absl::StatusOr<v1::Event> older = ParseEventDocument(
      R"({"eventId":"6f1c3c36-5b7e-4c55-9d0b-0a3f5f8e2d11","streamId":"other/x",)"
      R"("eventType":"google.protobuf.Struct","payload":{"a":"b"}})");
  ASSERT_OK(older);
  EXPECT_EQ(older->payload(), e.payload());
}

TEST(EventJsonTest, ProtoFieldNamesEnumsAndInt64AsStringsOrNumbers) {
  absl::StatusOr<v1::Event> parsed = ParseEventDocument(
      R"({"event_id":"6f1c3c36-5b7e-4c55-9d0b-0a3f5f8e2d11","stream_id":"project/PCSO",)"
      R"("event_type":"govledger.v1.ProjectClosed","payload":{"project_id":"PCSO",)"
      R"("finalCostPence":"123456789012","annualBenefitsPence":300000000}})");
  ASSERT_OK(parsed);
  v1::ProjectClosed closed;
  ASSERT_TRUE(closed.ParseFromString(parsed->payload()));
  EXPECT_EQ(closed.project_id(), "PCSO");
  EXPECT_EQ(closed.final_cost_pence(), 123456789012);
  EXPECT_EQ(closed.annual_benefits_pence(), 300000000);
}

// A document nested deeper than any event is refused before it is parsed (an untrusted file
// nested thousands deep would hold protobuf's parser for hours); brackets in strings do not
// count.
// A key given twice at the top of a document is refused, as one given twice in its payload is:
// protobuf's mapping would keep the last silently, storing one of two conflicting values (an
// event id a re-import relies on, a stream), found by an integrator's trial.
TEST(EventJsonTest, AKeyGivenTwiceIsRefused) {
  for (const std::string& twice :
       {std::string(R"({"streamId":"j/1","streamId":"j/2","eventType":"x.Note"})"),
        std::string(R"({"eventId":"11111111-2222-4333-8444-555555555555",)"
                    R"("eventId":"11111111-2222-4333-8444-666666666666","streamId":"j/4",)"
                    R"("eventType":"x.T"})"),
        std::string(R"({"streamId":"p/1","eventType":"x.T","payload":"Zmlyc3Q=",)"
                    R"("payload":"c2Vjb25k"})"),
        // One field by both its names: protobuf takes either.
        std::string(R"({"streamId":"j/1","stream_id":"j/2","eventType":"x.Note"})")}) {
    EXPECT_THAT(ParseEventDocument(twice),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice"))) << twice;
    EXPECT_THAT(ParseExportedEvent(twice).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice")));
  }
  EXPECT_THAT(ParseEventDocument(R"({"streamId":"j/1","streamId":"j/2","eventType":"x.Note"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the key \"streamId\" appears twice: give each field once")));
  EXPECT_OK(ParseEventDocument(R"({"streamId":"j/1","eventType":"x.Note","payload":"aGk="})"));
  // A key spelled with escapes is the same key.
  EXPECT_THAT(
      ParseEventDocument(R"({"streamId":"j/1","\u0073treamId":"j/2","eventType":"x.Note"})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("the key \"streamId\" appears twice")));
  // In the payload, and in its messages, as at the top: protobuf would keep one of the two, a
  // different one from run to run (found by a reviewer: a rerun of an import then conflicted).
  for (const std::string& twice : {
           std::string(R"({"eventType":"govledger.v1.RiskClosed","payload":{"riskId":"A",)"
                       R"("risk_id":"B","reason":"x"}})"),
           std::string(R"({"eventType":"govledger.v1.StatusReported","payload":{"subject":)"
                       R"({"kind":"WORK_KIND_PROGRAMME","id":"LPP","id":"OCP"},"planWeek":86}})"),
       }) {
    EXPECT_THAT(ParseEventDocument(twice),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice in one object")))
        << twice;
  }
  // Keys alike in letter case only are not one field's names: the unknown one is named.
  EXPECT_THAT(ParseEventDocument(R"({"streamId":"j/1","StreamId":"j/2","eventType":"x.Note"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("StreamId")));
  EXPECT_THAT(
      ParseEventDocument(R"({"streamId":"j/1","StreamId":"j/2","eventType":"x.Note"})"),
      StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("appears twice"))));
  // Arrays of objects: each object its own keys.
  EXPECT_OK(CheckJsonText(R"({"a":[{"id":"1"},{"id":"2"}],"b":{"id":"3"}})"));
}

// protobuf's parser alone takes JSON's look-alikes, which other JSON tools refuse: a file that
// imports must be JSON to jq too.
TEST(EventJsonTest, OnlyJsonIsTaken) {
  for (const std::string& almost : {
           std::string(R"({eventId:"7a7a0000-0000-4000-8000-000000000021",streamId:"p/j",)"
                       R"(eventType:"example.Note",payload:"aGk="})"),
           std::string(R"({'streamId':'p/j','eventType':'example.Note'})"),
           std::string(R"({"streamId":"p/j","eventType":"example.Note",})"),
           std::string("{\"streamId\":\"p/j\",\"eventType\":\"example.Note\",\"source\":\"a\tb\"}"),
           std::string(R"({"streamId":"p/j","eventType":"example.Note"} trailing)"),
       }) {
    EXPECT_THAT(ParseEventDocument(almost),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not JSON (parse error")))
        << almost;
    EXPECT_THAT(ParseExportedEvent(almost).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not JSON")));
  }
  EXPECT_OK(ParseEventDocument(R"( { "streamId" : "p/j" , "eventType" : "example.Note" } )"));
  // A fault's message never quotes the input back: an unterminated string runs to the end of
  // a line of any length (a private key given by mistake, say).
  const std::string secret(100000, 'S');
  absl::StatusOr<v1::Event> unterminated =
      ParseEventDocument(absl::StrCat(R"({"streamId":"p/j","source":")", secret));
  ASSERT_FALSE(unterminated.ok());
  EXPECT_LT(unterminated.status().message().size(), 200u) << unterminated.status().message();
  EXPECT_THAT(unterminated.status().message(),
              AllOf(HasSubstr("not JSON (parse error at column 1000"),
                    HasSubstr("missing closing quote"), Not(HasSubstr("SSS"))));
  EXPECT_THAT(ParseEventDocument(R"({"eventType":"x.Y","payload":{"planWeek":1e400}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not JSON (a number out of range at byte")));
  // A NUL byte, which nlohmann's parser reads as the end: what follows it is not left unread
  // for protobuf's parser, whose message quoted the input.
  const std::string nul = std::string(R"({"streamId":"p/j","eventType":"example.Note"})") +
                          std::string(1, '\0') + "SECRET";
  EXPECT_THAT(ParseEventDocument(nul),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("not JSON (a NUL byte at byte 46"), Not(HasSubstr("SECRET")),
                             Not(HasSubstr("near")))));
  // Nor does a message of protobuf's parser.
  const std::string typed =
      absl::StrCat(R"({"eventType":"govledger.v1.BenefitForecast","source":"SECRET",)",
                   R"("payload":{"benefitId":"b","annualPence":{}}})");
  absl::StatusOr<v1::Event> scalar = ParseEventDocument(typed);
  ASSERT_FALSE(scalar.ok());
  EXPECT_THAT(scalar.status().message(), AllOf(Not(HasSubstr("SECRET")), Not(HasSubstr("near"))));
  // A governance payload's numbers are whole, in digits: 100.00 meant as pounds would be 100
  // pence. The number is named.
  for (const char* number : {"100.00", "1e3", "1E2", "1.0"}) {
    EXPECT_THAT(
        ParseEventDocument(absl::StrCat(R"({"eventType":"govledger.v1.BenefitForecast",)",
                                        R"("payload":{"benefitId":"b","annualPence":)", number,
                                        "}}")),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(absl::StrCat("payload (govledger.v1.BenefitForecast): the number ",
                                        number, " has a decimal point or an exponent"))))
        << number;
  }
  EXPECT_THAT(ParseEventDocument(R"({"eventType":"govledger.v1.StatusReported",)"
                                 R"("payload":{"planWeek":99999999999999999999}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the number 99999999999999999999 is beyond 64 bits")));
  // So is the envelope's (it has only whole numbers).
  EXPECT_THAT(ParseEventDocument(R"({"streamId":"p/j","eventType":"example.Note",)"
                                 R"("position":1.5})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("position: the number 1.5 has a decimal point")));
  // An older export wrote a google.protobuf.Struct payload as its object, whose numbers are
  // doubles: such a line still reads.
  absl::StatusOr<v1::Event> structure = ParseEventDocument(
      R"({"streamId":"p/j","eventType":"google.protobuf.Struct","payload":{"x":1.5}})");
  ASSERT_OK(structure);
  google::protobuf::Struct x;
  ASSERT_TRUE(x.ParseFromString(structure->payload()));
  EXPECT_EQ(x.fields().at("x").number_value(), 1.5);
  // A time is RFC 3339 text, not protobuf's message form.
  for (const char* key : {"effectiveTime", "effective_time", "recordedTime"}) {
    EXPECT_THAT(ParseEventDocument(absl::StrCat(R"({"streamId":"p/j","eventType":"example.Note",")",
                                                key, R"(":{"seconds":1480593600}})")),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("is an object: give an RFC 3339 time as a JSON string")))
        << key;
  }
  // A time is in a zone: one protobuf's parser takes beyond any zone, or none, is refused.
  EXPECT_THAT(ParseEventDocument(R"({"streamId":"p/j","eventType":"example.Note",)"
                                 R"("effectiveTime":"2016-11-15T09:00:00+23:59"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("effectiveTime \"2016-11-15T09:00:00+23:59\" has the offset "
                                 "+23:59, beyond any time zone's")));
  EXPECT_OK(ParseEventDocument(R"({"streamId":"p/j","eventType":"example.Note",)"
                               R"("effectiveTime":"2016-11-15T09:00:00+05:30"})"));
  // What is no time at all is said to be none, not to lack a zone.
  EXPECT_THAT(ParseEventDocument(R"({"streamId":"p/j","eventType":"example.Note",)"
                                 R"("effectiveTime":"2016-12-14T09:30:00Z "})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("is not a time"), Not(HasSubstr("zone")))));
  // A payload object without an eventType: the type is what is missing, not base64.
  EXPECT_THAT(
      ParseEventDocument(R"({"streamId":"p/j","payload":{"benefitId":"b"}})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("the event has no eventType: give one"), Not(HasSubstr("base64")))));
}

TEST(EventJsonTest, ADocumentNestedDeeperThanAnEventIsRefused) {
  const std::string deep = absl::StrCat(
      R"({"eventId":"3f2b6c1e-8d4a-4b7e-9c1d-2a5e6f708192","streamId":"s","eventType":"t",)",
      R"("payload":{"a":)", std::string(100000, '['), std::string(100000, ']'), "}}");
  EXPECT_THAT(ParseEventDocument(deep),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nests arrays and objects more than 32 deep")));
  EXPECT_THAT(ParseExportedEvent(deep).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 deep")));
  v1::Event text;
  text.set_event_id("3f2b6c1e-8d4a-4b7e-9c1d-2a5e6f708192");
  text.set_stream_id("s");
  text.set_event_type("t");
  text.set_source(std::string(100, '[') + "\\\"" + std::string(100, '{'));
  absl::StatusOr<v1::Event> parsed = ParseEventDocument(EventDocument(text));
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->source(), text.source());
}

TEST(EventJsonTest, NoPayloadIsAnEmptyPayload) {
  absl::StatusOr<v1::Event> parsed =
      ParseEventDocument(R"({"streamId":"s/1","eventType":"t.X","payload":null})");
  ASSERT_OK(parsed);
  EXPECT_TRUE(parsed->payload().empty());
  EXPECT_TRUE(parsed->event_id().empty());
}

TEST(EventJsonTest, BadDocumentsNameWhatToFix) {
  EXPECT_THAT(ParseEventDocument("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseEventDocument("[1,2]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseEventDocument(R"({"streamID":"s/1"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("streamID")));
  EXPECT_THAT(ParseEventDocument(R"({"effectiveTime":"yesterday"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(effective_time): effectiveTime \"yesterday\" is not a time: "
                                 "give an RFC 3339 time, e.g. \"2016-12-21T12:00:00Z\"")));
  // A number, not a string; a time in lower case, which protobuf does not parse.
  EXPECT_THAT(ParseEventDocument(R"({"effectiveTime":5})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(effective_time): effectiveTime 5 is not a time: give an RFC "
                                 "3339 time as a JSON string, e.g. \"2016-12-21T12:00:00Z\"")));
  EXPECT_THAT(ParseEventDocument(R"({"effectiveTime":"2016-12-01t12:00:00z"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not a time: give an RFC 3339 time, e.g. "
                                 "\"2016-12-21T12:00:00Z\" (UTC) or \"2016-12-21T12:00:00+01:00\" "
                                 "(T and Z in capitals)")));
  // Words that happen to have a "t" at the eleventh letter are not told about capitals; text
  // beyond ASCII (a date in French, quotes pasted from a word processor) stays readable.
  for (const char* words :
       {"last sprint", "1234567890tz", "2016-12-01 12:00:00z", "2016-12-01T12:00z"}) {
    EXPECT_THAT(
        ParseEventDocument(absl::StrCat(R"({"effectiveTime":")", words, R"("})")),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr(absl::StrCat("effectiveTime \"", words, "\" is not a time")),
                       Not(HasSubstr("capitals")))))
        << words;
  }
  EXPECT_THAT(ParseEventDocument(R"({"effectiveTime":"2016-12-01T12:00:00.5z"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(T and Z in capitals)")));
  EXPECT_THAT(ParseEventDocument("{\"effectiveTime\":\"\u201c2016-12-21T12:00:00Z\u201d\"}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("effectiveTime \"\u201c2016-12-21T12:00:00Z\u201d\" is not a "
                                 "time")));
  // An unknown type's payload cannot be a JSON object: a governance event's name without its
  // package gets the full name, a misspelt governance type the advice to check it, and a type of
  // one's own the advice to give base64.
  EXPECT_THAT(
      ParseEventDocument(R"({"eventType":"govledger.v1.Nope","payload":{"a":1}})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::AllOf(HasSubstr("is not a governance event type this govledger knows"),
                                HasSubstr("check its spelling"))));
  for (const std::string type : {"RiskClosed", "GovLedger.v1.RiskClosed", "v1.RiskClosed"}) {
    EXPECT_THAT(
        ParseEventDocument(absl::StrCat(R"({"eventType":")", type, R"(","payload":{"a":1}})")),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr("did you mean govledger.v1.RiskClosed? (give its full name)")))
        << type;
  }
  EXPECT_THAT(
      ParseEventDocument(R"({"eventType":"example.v1.Note","payload":{"a":1}})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::AllOf(HasSubstr("not a type this govledger knows"),
                                HasSubstr("give it as a base64 string"))));
  EXPECT_THAT(
      ParseEventDocument(
          R"({"eventType":"govledger.v1.RiskOpened","payload":{"riskID":"R1"}})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::AllOf(HasSubstr("govledger.v1.RiskOpened"), HasSubstr("riskID"))));
  EXPECT_THAT(
      ParseEventDocument(
          R"({"eventType":"govledger.v1.RiskOpened","payload":{"rating":"PURPLE"}})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rating")));
  EXPECT_THAT(ParseEventDocument(R"({"eventType":"t.X","payload":"%%%"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base64")));
  EXPECT_THAT(ParseEventDocument(R"({"eventType":"t.X","payload":12})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("payload")));
  EXPECT_THAT(ParseEventDocument(
                  R"({"eventType":"govledger.v1.ProjectClosed",)"
                  R"("payload":{"finalCostPence":90071992547409930}})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON string")));
  // 2^53 + 1 reads as 2^53: from 2^53 up, a number is refused; below, it is exact.
  for (const char* pence : {"9007199254740993", "9007199254740992", "-9007199254740992"}) {
    EXPECT_THAT(ParseEventDocument(absl::StrCat(R"({"eventType":"govledger.v1.ProjectClosed",)",
                                                R"("payload":{"finalCostPence":)", pence, "}}")),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON string")))
        << pence;
  }
  absl::StatusOr<v1::Event> largest = ParseEventDocument(
      R"({"eventType":"govledger.v1.ProjectClosed",)"
      R"("payload":{"projectId":"PCSO","finalCostPence":9007199254740991}})");
  ASSERT_OK(largest);
  v1::ProjectClosed closed;
  ASSERT_TRUE(closed.ParseFromString(largest->payload()));
  EXPECT_EQ(closed.final_cost_pence(), 9007199254740991);
  // A parse error quotes the input near the fault on one line, its controls escaped: a line
  // handed to an auditor cannot rewrite their terminal.
  absl::StatusOr<v1::Event> hostile =
      ParseEventDocument("{\"eventId\":\"x\",\x1b[31mRED\x1b[0m\rOK all fine }");
  ASSERT_FALSE(hostile.ok());
  const std::string message(hostile.status().message());
  EXPECT_THAT(message, HasSubstr("not JSON (parse error at column 16: syntax error while "
                                 "parsing object key"));
  EXPECT_THAT(message, Not(HasSubstr("RED"))) << "the input is not quoted back";
  EXPECT_EQ(message.find_first_of("\x1b\r\n"), std::string::npos) << message;
  // A value of the wrong kind says what to give, not protobuf's type names.
  for (const auto& [payload, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"riskId":"R1","rating":"RED"})",
            R"((rating): invalid value "RED": give one of RAG_GREEN, RAG_AMBER, RAG_RED (did you )"
            R"(mean RAG_RED?))"},
           {R"({"riskId":"R1","rating":"PURPLE"})",
            R"(invalid value "PURPLE": give one of RAG_GREEN, RAG_AMBER, RAG_RED)"},
           // A field it does not have: the fields it has, of the message at that path.
           {R"({"riskId":"R1","rating":"RAG_RED","colour":"x"})",
            "colour: no such field; RiskRerated has riskId, rating, reason"},
           {R"({"riskId":"R1","rating":"RAG_RED","subject":{"kindd":"x"}})",
            "subject: no such field; RiskRerated has riskId, rating, reason"}}) {
    absl::StatusOr<v1::Event> bad = ParseEventDocument(absl::StrCat(
        R"({"eventType":"govledger.v1.RiskRerated","streamId":"risk/R1","payload":)", payload,
        "}"));
    ASSERT_FALSE(bad.ok()) << payload;
    EXPECT_THAT(bad.status().message(),
                AllOf(HasSubstr(says), Not(HasSubstr("googleapis")), Not(HasSubstr("Cannot"))))
        << payload;
  }
  absl::StatusOr<v1::Event> nested = ParseEventDocument(
      R"({"eventType":"govledger.v1.ProgrammeRegistered","streamId":"programme/LPP","payload":)"
      R"({"programmeId":"LPP","tranches":[{"nam":"Tranche 1"}]}})");
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(nested.status().message(),
              HasSubstr("(tranches[0]) nam: no such field; Tranche has number, name, startDate, "
                        "endDate"));
  absl::StatusOr<v1::Event> week = ParseEventDocument(
      R"({"eventType":"govledger.v1.StatusReported","streamId":"programme/LPP","payload":)"
      R"({"subject":{"kind":"WORK_KIND_PROGRAMME","id":"LPP"},"planWeek":"abc"}})");
  ASSERT_FALSE(week.ok());
  EXPECT_THAT(week.status().message(),
              HasSubstr(R"((plan_week): invalid value "abc": give a whole number)"));
  // A byte order mark before the document, as Windows' Notepad saves UTF-8, is skipped.
  absl::StatusOr<v1::Event> marked = ParseEventDocument(
      "\xEF\xBB\xBF"
      R"({"eventType":"example.v1.Note","streamId":"notes/1","payload":"bm90ZQ=="})");
  ASSERT_OK(marked);
  EXPECT_EQ(marked->stream_id(), "notes/1");
  // A file that is no JSON at all, given by mistake, is not quoted back: its start may be a
  // secret.
  for (const char* secret : {"-----BEGIN PRIVATE KEY-----", "root:*:20228:0:99999:7:::",
                             "  glt_0123456789abcdef reader alice"}) {
    absl::StatusOr<v1::Event> wrong_file = ParseEventDocument(secret);
    ASSERT_FALSE(wrong_file.ok());
    EXPECT_THAT(wrong_file.status().message(),
                AllOf(HasSubstr("it does not start with '{' (is it the right file?)"),
                      Not(HasSubstr("BEGIN")), Not(HasSubstr("root")), Not(HasSubstr("glt_"))));
  }
}

// The README's examples (section "Events as JSON") are true: each parses, and together they
// cover every payload type of events.proto.
// Lines of an export (the file an auditor is handed) with characters deleted, repeated, replaced
// or moved: each parses, or is refused with INVALID_ARGUMENT and a message; never a crash
// (deploy/sanitize.sh runs this under ASan and UBSan too).
TEST(EventJsonTest, MutatedDocumentsParseOrAreRefused) {
  std::vector<std::string> docs;
  v1::ProgrammeRegistered programme = gov::Programme("LPP", "LPF");
  v1::Tranche* tranche = programme.add_tranches();
  tranche->set_number(1);
  tranche->set_name("Quick wins");
  v1::DecisionProposed decision = gov::Decision(
      "MOPAC", "PCD 72", {"Deputy Mayor"},
      {gov::Amount(v1::AMOUNT_KIND_CAPITAL, 73000000, "Major Change Reserve")});
  for (const v1::Event& e :
       {gov::Ev(programme), gov::Ev(decision),
        gov::Ev(gov::Risk("LPP-R07", gov::ProgrammeRef("LPP"), v1::RAG_RED)),
        gov::On("notes/1", gov::Organisation("X"))}) {
    v1::Event event;
    const std::string stored = Chain(Stored(e), "", &event);
    docs.push_back(ExportDocument(event, stored));
  }
  v1::Event newer;
  const std::string stored = Chain(Stored(gov::Ev(gov::CloseRisk("LPP-R07"))),
                                   std::string("\x32\x03" "abc", 5), &newer);
  docs.push_back(ExportDocument(newer, stored));

  std::mt19937_64 rng(7);
  const std::string pieces[] = {"\"", "{", "}", "[", "]", ",", ":", "\\", "\\u0000", "null",
                                "1e999", "-0", "\"\xff\"", "9223372036854775808", " "};
  int parsed = 0, refused = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string doc = docs[rng() % docs.size()];
    for (int n = 1 + rng() % 3; n > 0 && !doc.empty(); --n) {
      const size_t at = rng() % doc.size();
      switch (rng() % 5) {
        case 0:
          doc.erase(at, 1 + rng() % 8);
          break;
        case 1:
          doc.insert(at, pieces[rng() % std::size(pieces)]);
          break;
        case 2:
          doc[at] = static_cast<char>(rng());
          break;
        case 3:
          doc.insert(at, doc.substr(rng() % doc.size(), 1 + rng() % 40));
          break;
        default:
          doc.resize(at);
      }
    }
    for (const absl::Status& s :
         {ParseEventDocument(doc).status(), ParseExportedEvent(doc).status()}) {
      if (s.ok()) {
        ++parsed;
        continue;
      }
      ++refused;
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s << "\n" << doc;
      EXPECT_FALSE(s.message().empty());
    }
  }
  std::cout << parsed << " parsed, " << refused << " refused\n";
  EXPECT_GT(parsed, 250);
  EXPECT_GT(refused, 4000);
}

// The demo ledger's files (deploy/demo/), in load order.
constexpr const char* kDemoFiles[] = {
    "00-organisations.jsonl", "10-seed000-local-policing-programme.jsonl",
    "20-seed001-002-strengthening-local-policing.jsonl",
    "30-seed003-mobilising-transformational-change.jsonl",
    "40-seed004-cambridgeshire-local-policing-review.jsonl"};

// The README's example documents, one per line (README, "Events as JSON").
std::vector<std::string> ReadmeExamples() {
  std::ifstream in(GOVLEDGER_README);
  EXPECT_TRUE(in) << GOVLEDGER_README;
  std::string line;
  while (std::getline(in, line) && line != "<!-- event-json-examples -->") {
  }
  std::vector<std::string> out;
  if (!std::getline(in, line) || line != "```json") {
    ADD_FAILURE() << "no ```json block after <!-- event-json-examples -->";
    return out;
  }
  while (std::getline(in, line) && line != "```") out.push_back(line);
  return out;
}

TEST(EventJsonTest, TheReadmeHasAValidExampleOfEveryEventType) {
  std::set<std::string> covered;
  std::vector<v1::Event> corrections;
  for (const std::string& line : ReadmeExamples()) {
    absl::StatusOr<v1::Event> event = ParseEventDocument(line);
    ASSERT_OK(event) << line;
    EXPECT_FALSE(event->payload().empty()) << line;
    EXPECT_TRUE(covered.insert(event->event_type()).second) << "two examples of " << line;
    if (event->event_type() == v1::CorrectionRecorded::descriptor()->full_name()) {
      corrections.push_back(*event);
    }
  }
  // A correction's example names an event of the demo ledger, on that event's stream.
  std::map<std::string, std::string> demo_streams;  // event id -> stream
  for (const char* file : kDemoFiles) {
    std::ifstream demo(std::string(GOVLEDGER_DEMO_DIR) + "/" + file);
    ASSERT_TRUE(demo) << file;
    for (std::string line; std::getline(demo, line);) {
      absl::StatusOr<v1::Event> event = ParseEventDocument(line);
      ASSERT_OK(event) << line;
      demo_streams[event->event_id()] = event->stream_id();
    }
  }
  ASSERT_EQ(corrections.size(), 1u);
  for (const v1::Event& e : corrections) {
    v1::CorrectionRecorded c;
    ASSERT_TRUE(c.ParseFromString(e.payload()));
    auto it = demo_streams.find(c.corrected_event_id());
    ASSERT_NE(it, demo_streams.end()) << c.corrected_event_id() << " is not a demo event";
    EXPECT_EQ(it->second, e.stream_id()) << c.corrected_event_id();
  }
  const google::protobuf::FileDescriptor* file = v1::RiskOpened::descriptor()->file();
  int types = 0;
  for (int i = 0; i < file->message_type_count(); ++i) {
    const std::string& name = file->message_type(i)->full_name();
    if (!projections::IsKnownGovernanceType(name)) continue;
    ++types;
    EXPECT_TRUE(covered.contains(name)) << "no README example of " << name;
  }
  EXPECT_EQ(covered.size(), static_cast<size_t>(types));
}

// Whether the README's `example` says what the demo's `demo` says: the same members, values and
// list lengths, except that an example's text ending in " ..." only needs to start the demo's.
// `where` names the member for the failure message.
bool ShortenedFrom(const google::protobuf::Value& example, const google::protobuf::Value& demo,
                   const std::string& where, std::string* why) {
  using google::protobuf::Value;
  if (example.kind_case() != demo.kind_case()) {
    *why = absl::StrCat(where, ": another kind of value");
    return false;
  }
  switch (example.kind_case()) {
    case Value::kStringValue: {
      absl::string_view text = example.string_value();
      if (absl::ConsumeSuffix(&text, " ...") ? absl::StartsWith(demo.string_value(), text)
                                              : text == demo.string_value()) {
        return true;
      }
      *why = absl::StrCat(where, ": \"", example.string_value(), "\" against \"",
                          demo.string_value(), "\"");
      return false;
    }
    case Value::kStructValue: {
      const auto& a = example.struct_value().fields();
      const auto& b = demo.struct_value().fields();
      for (const auto& [key, value] : b) {
        if (!a.contains(key)) {
          *why = absl::StrCat(where, ".", key, ": missing from the example");
          return false;
        }
      }
      for (const auto& [key, value] : a) {
        auto it = b.find(key);
        if (it == b.end()) {
          *why = absl::StrCat(where, ".", key, ": not in the demo");
          return false;
        }
        if (!ShortenedFrom(value, it->second, absl::StrCat(where, ".", key), why)) return false;
      }
      return true;
    }
    case Value::kListValue: {
      const auto& a = example.list_value().values();
      const auto& b = demo.list_value().values();
      if (a.size() != b.size()) {
        *why = absl::StrCat(where, ": ", a.size(), " items against ", b.size());
        return false;
      }
      for (int i = 0; i < a.size(); ++i) {
        if (!ShortenedFrom(a[i], b[i], absl::StrCat(where, "[", i, "]"), why)) return false;
      }
      return true;
    }
    default:
      if (example.SerializeAsString() == demo.SerializeAsString()) return true;
      *why = absl::StrCat(where, ": ", example.ShortDebugString(), " against ",
                          demo.ShortDebugString());
      return false;
  }
}

// An example that carries a demo event's id is that event, shortened: it never says something
// the demo does not (a rule's kinds, a signature from before the demo was re-signed).
TEST(EventJsonTest, TheReadmeExamplesOfDemoEventsAgreeWithTheDemo) {
  std::map<std::string, google::protobuf::Value> demo;  // by event id
  for (const char* file : kDemoFiles) {
    std::ifstream in(std::string(GOVLEDGER_DEMO_DIR) + "/" + file);
    ASSERT_TRUE(in) << file;
    for (std::string line; std::getline(in, line);) {
      google::protobuf::Value v;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &v).ok()) << line;
      demo[v.struct_value().fields().at("eventId").string_value()] = v;
    }
  }
  int compared = 0;
  for (const std::string& line : ReadmeExamples()) {
    google::protobuf::Value example;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &example).ok()) << line;
    auto it = demo.find(example.struct_value().fields().at("eventId").string_value());
    if (it == demo.end()) continue;  // an event the demo does not hold
    ++compared;
    std::string why;
    EXPECT_TRUE(ShortenedFrom(example, it->second, "event", &why)) << why << "\n" << line;
  }
  EXPECT_GE(compared, 10);
}

// A governance event's stream is read from its payload when the document has none: the stream
// of every type's README example, and of every event of the demo ledger.
TEST(EventJsonTest, AGovernanceEventWithoutAStreamGoesOnItsEntitysStream) {
  std::vector<std::string> documents = ReadmeExamples();
  for (const char* file : kDemoFiles) {
    std::ifstream demo(std::string(GOVLEDGER_DEMO_DIR) + "/" + file);
    ASSERT_TRUE(demo) << file;
    for (std::string line; std::getline(demo, line);) documents.push_back(line);
  }
  std::set<std::string> types;
  for (const std::string& document : documents) {
    absl::StatusOr<v1::Event> given = ParseEventDocument(document);
    ASSERT_OK(given) << document;
    if (given->event_type() == v1::CorrectionRecorded::descriptor()->full_name()) continue;
    google::protobuf::Struct without;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(document, &without).ok());
    without.mutable_fields()->erase("streamId");
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(without, &json).ok());
    absl::StatusOr<v1::Event> derived = ParseEventDocument(json);
    ASSERT_OK(derived) << json;
    EXPECT_EQ(derived->stream_id(), given->stream_id()) << document;
    types.insert(given->event_type());
  }
  EXPECT_GE(types.size(), 23u);  // every type but CorrectionRecorded

  // A correction's stream is the corrected event's: it must be given.
  EXPECT_THAT(ParseEventDocument(
                  R"({"eventType":"govledger.v1.CorrectionRecorded","payload":)"
                  R"({"correctedEventId":"5eed3000-0000-4000-8000-000000000014","reason":"x"}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("streamId is missing: a govledger.v1.CorrectionRecorded goes on "
                                 "the stream of the event it corrects")));
  // A payload without the entity's id says what is wrong with it.
  EXPECT_THAT(ParseEventDocument(R"({"eventType":"govledger.v1.RiskClosed","payload":)"
                                 R"({"reason":"mitigated"}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("the govledger.v1.RiskClosed payload is refused: "),
                             HasSubstr("risk_id"))));
  // And a payload whose fault is not its id, likewise: a rule's refusal keeps its code, as the
  // server would answer it.
  EXPECT_THAT(ParseEventDocument(R"({"eventType":"govledger.v1.ProjectClosed","payload":)"
                                 R"({"projectId":"PCSO","finalCostPence":"-1"}})"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("the govledger.v1.ProjectClosed payload is refused: "),
                             HasSubstr("-1"))));
  // Other types keep what they were given: the server names the missing stream.
  absl::StatusOr<v1::Event> opaque =
      ParseEventDocument(R"({"eventType":"example.Note","payload":"aGVsbG8="})");
  ASSERT_OK(opaque);
  EXPECT_EQ(opaque->stream_id(), "");
}

}  // namespace
}  // namespace govledger::cli
