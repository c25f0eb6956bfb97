#include "cli/event_json.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/printable.h"
#include "cli/time_flags.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "govledger/v1/events.pb.h"  // links the payload types into the generated pool
#include "nlohmann/json.hpp"
#include "projections/governance_state.h"

namespace govledger::cli {
namespace {

namespace pb = ::google::protobuf;

// The member `export` adds for an event with fields this program does not know, by its JSON
// and proto names.
constexpr absl::string_view kStoredBytes[] = {"storedBytes", "stored_bytes"};

// The generated message type an event type names, or null.
const pb::Descriptor* PayloadType(const std::string& event_type) {
  if (event_type.empty()) return nullptr;
  return pb::DescriptorPool::generated_pool()->FindMessageTypeByName(event_type);
}

// The first number in `value` (recursively) that a double cannot hold exactly as an integer.
bool HasUnsafeNumber(const pb::Value& value) {
  switch (value.kind_case()) {
    case pb::Value::kNumberValue:
      // 2^53 itself is exact, but so is every larger integer's nearest double, 2^53 + 1's
      // included: from 2^53 up, the double does not say what was written.
      return std::fabs(value.number_value()) >= 9007199254740992.0;
    case pb::Value::kStructValue:
      for (const auto& [name, v] : value.struct_value().fields()) {
        if (HasUnsafeNumber(v)) return true;
      }
      return false;
    case pb::Value::kListValue:
      for (const pb::Value& v : value.list_value().values()) {
        if (HasUnsafeNumber(v)) return true;
      }
      return false;
    default:
      return false;
  }
}

std::string Deterministic(const pb::Message& message) {
  std::string bytes;
  pb::io::StringOutputStream stream(&bytes);
  pb::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&out);
  out.Trim();
  return bytes;
}

absl::StatusOr<std::string> PayloadBytes(const std::string& event_type, const pb::Value& payload) {
  switch (payload.kind_case()) {
    case pb::Value::KIND_NOT_SET:
    case pb::Value::kNullValue:
      return std::string();
    case pb::Value::kStringValue: {
      std::string bytes;
      if (!absl::Base64Unescape(payload.string_value(), &bytes) &&
          !absl::WebSafeBase64Unescape(payload.string_value(), &bytes)) {
        return absl::InvalidArgumentError(
            "payload: a string payload must be base64 (or give the payload as a JSON object)");
      }
      return bytes;
    }
    case pb::Value::kStructValue: {
      if (event_type.empty()) {
        return absl::InvalidArgumentError(
            "the event has no eventType: give one, e.g. \"eventType\": "
            "\"govledger.v1.RiskClosed\" (a payload given as a JSON object is read as its "
            "type's fields)");
      }
      const pb::Descriptor* type = PayloadType(event_type);
      if (type == nullptr) {
        // A governance event's name without its exact package ("RiskClosed") is the likeliest
        // slip, and a misspelt one in govledger.v1 the next: base64 would not help either.
        const std::string full = absl::StrCat(
            "govledger.v1.", absl::string_view(event_type).substr(event_type.rfind('.') + 1));
        if (PayloadType(full) != nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              "payload: eventType \"", PrintableText(event_type), "\" is not a type this "
              "govledger knows; did you mean ", full, "? (give its full name)"));
        }
        if (absl::StartsWith(event_type, "govledger.v1.")) {
          return absl::InvalidArgumentError(absl::StrCat(
              "payload: eventType \"", PrintableText(event_type), "\" is not a governance event "
              "type this govledger knows: check its spelling (README, \"Typed governance "
              "events\", lists them)"));
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "payload: eventType \"", PrintableText(event_type),
            "\" is not a type this govledger knows, so its payload cannot be given as a JSON "
            "object; give it as a base64 string"));
      }
      if (HasUnsafeNumber(payload)) {
        return absl::InvalidArgumentError(
            "payload: a number beyond +/-(2^53 - 1) loses precision; write it as a JSON string");
      }
      std::string json;
      if (auto s = pb::util::MessageToJsonString(payload.struct_value(), &json); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("payload: ", JsonErrorText(s)));
      }
      std::unique_ptr<pb::Message> message(
          pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
      if (auto s = pb::util::JsonStringToMessage(json, message.get()); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("payload (", event_type, "): ", JsonErrorText(s, type)));
      }
      return Deterministic(*message);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "payload: must be a JSON object (the ", event_type.empty() ? "event type's" : event_type,
          " fields) or a base64 string"));
  }
}

// How deep an event document may nest arrays and objects. The deepest an event's JSON mapping
// goes is 5 (an event, its payload, a decision's delegated authorities, one of them, its roles);
// protobuf's parser takes time growing with the square of the depth, so a document of an
// untrusted file (an export handed to `verify --file`) nested thousands deep would hold the CLI
// for hours.
constexpr int kMaxDocumentDepth = 32;

// A JSON key as protobuf's mapping reads it: a field's proto name ("stream_id") is its JSON
// name ("streamId"), so the two are one key. No event has a map field, whose keys are free.
std::string FieldKey(absl::string_view key) {
  std::string out;
  out.reserve(key.size());
  bool upper = false;
  for (char c : key) {
    if (c == '_') {
      upper = true;
    } else {
      out.push_back(upper ? absl::ascii_toupper(c) : c);
      upper = false;
    }
  }
  return out;
}

// A field's two names, for a message about `key`: "\"riskId\" or \"risk_id\"", its JSON
// name and its proto name; "" for a key that has one ("id"), or over 64 bytes.
std::string FieldNames(absl::string_view key) {
  if (key.size() > 64) return "";
  const std::string json = FieldKey(key);
  std::string proto;
  for (char c : json) {
    if (absl::ascii_isupper(c)) {
      proto.push_back('_');
      proto.push_back(absl::ascii_tolower(c));
    } else {
      proto.push_back(c);
    }
  }
  if (json == proto) return "";
  return absl::StrCat("\"", json, "\" or \"", proto, "\"");
}

// Whether `text` starts as an RFC 3339 date and time, YYYY-MM-DDTHH:MM:SS.
bool DateTimeShaped(absl::string_view text) {
  if (text.size() < 19 || (text[10] != 'T' && text[10] != 't')) return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!absl::ascii_isdigit(text[i])) return false;
  }
  return text[4] == '-' && text[7] == '-' && text[13] == ':' && text[16] == ':';
}

// What is wrong with a JSON number nlohmann read as a double, as written (`text`: digits,
// sign, point and exponent only; a long one is cut).
std::string FloatProblem(absl::string_view text) {
  const std::string shown =
      text.size() > 24 ? absl::StrCat(text.substr(0, 24), "...") : std::string(text);
  if (text.find_first_of(".eE") == absl::string_view::npos) {
    return absl::StrCat("the number ", shown, " is beyond 64 bits");
  }
  return absl::StrCat("the number ", shown,
                      " has a decimal point or an exponent: an event's numbers are whole "
                      "(pence, weeks, counts), written in digits alone (£1,234.50 is 123450 "
                      "pence)");
}

// Reads a JSON text by RFC 8259 (nlohmann's SAX parser, strict), stopping at the first thing
// CheckJsonText refuses. protobuf's parser alone would take JSON's look-alikes (unquoted keys,
// single-quoted strings) that no other JSON tool reads, and of a key given twice it would keep
// one of the two (which one, through a Struct, differs from run to run).
class StrictJson final : public nlohmann::json_sax<nlohmann::json> {
 public:
  // `payload`: the text is a payload alone (--payload), not an event's document.
  explicit StrictJson(bool payload) : payload_(payload) {}
  absl::Status status() const { return status_; }
  // The first number of the payload not in digits alone, as written ("" if none).
  const std::string& payload_float() const { return payload_float_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  // A number not in digits alone (100.00, 1e3), or a whole number beyond 64 bits, which
  // nlohmann reads as a double. The envelope has none; in a payload, the first is kept for
  // the caller (JsonFacts), who refuses it for a governance type (protobuf's parser would
  // take 100.00 pence, meant as pounds, as £1.00) but not in the object of a well-known type
  // an older export wrote (google.protobuf.Struct, whose numbers are doubles).
  bool number_float(number_float_t, const string_t& text) override {
    if (!payload_ && (depth_ < 2 || top_key_ != "payload")) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          top_key_.empty() ? "" : absl::StrCat(PrintableText(top_key_.substr(0, 64)), ": "),
          FloatProblem(text)));
      return false;
    }
    if (payload_float_.empty()) payload_float_ = text;
    return true;
  }
  // A time protobuf's parser would take with a zone that is no zone ("+23:59", "+1:00") or none.
  bool string(string_t& value) override {
    if (payload_ || depth_ != 1 || top_key_ != "effectiveTime" || !DateTimeShaped(value)) {
      return true;
    }
    if (const std::string zone = TimeZoneProblem(value); !zone.empty()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("effectiveTime \"", PrintableText(value.substr(0, 40)), "\" ", zone));
      return false;
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    // protobuf's parser reads a Timestamp's message form too ({"seconds": ...}), which no
    // document of ours uses: a time is RFC 3339 text.
    if (!payload_ && depth_ == 1 && (top_key_ == "effectiveTime" || top_key_ == "recordedTime")) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(top_key_,
                       " is an object: give an RFC 3339 time as a JSON string, e.g. "
                       "\"2016-12-21T12:00:00Z\" (UTC) or \"2016-12-21T12:00:00+01:00\""));
      return false;
    }
    objects_.emplace_back();
    return Enter();
  }
  bool end_object() override {
    objects_.pop_back();
    return Leave();
  }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override { return Leave(); }

  // Keys are checked in every object, the payload's and its messages' too.
  bool key(string_t& key) override {
    if (depth_ == 1) top_key_ = FieldKey(key);
    if (!objects_.back().insert(FieldKey(key)).second) {
      const absl::string_view shown = absl::string_view(key).substr(0, 64);
      const std::string names = FieldNames(key);
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "the key \"", PrintableText(shown), key.size() > 64 ? "..." : "", "\" appears twice",
          depth_ > 1 ? " in one object" : "", ": give each field once",
          names.empty() ? std::string()
                        : absl::StrCat(", by one of its names (", PrintableText(names), ")")));
      return false;
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    // nlohmann says "[json.exception.parse_error.101] parse error at line 1, column 2: syntax
    // error while parsing object key - invalid literal; last read: '{r'; expected string
    // literal". Its "last read" quotes the input, up to all of a line of any length (an
    // unterminated string), and the input may be a secret given by mistake: it is left out.
    std::string what = error.what();
    if (size_t bracket = what.find("] "); bracket != std::string::npos) what.erase(0, bracket + 2);
    if (size_t quote = what.find("; last read: '"); quote != std::string::npos) {
      const size_t expected = what.rfind("'; expected ");
      what.erase(quote, expected != std::string::npos && expected > quote
                            ? expected + 1 - quote
                            : std::string::npos);
    }
    // A document is one line of a file: its column is what says where.
    absl::StrReplaceAll({{"parse error at line 1, column ", "parse error at column "}}, &what);
    if (error.id == 406) {  // a number beyond a double's range ("1e400"), quoted whole
      what = absl::StrCat("a number out of range at byte ", position);
    }
    status_ = absl::InvalidArgumentError(absl::StrCat("not JSON (", PrintableText(what), ")"));
    return false;
  }

 private:
  bool Enter() {
    if (++depth_ > kMaxDocumentDepth) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "the JSON nests arrays and objects more than ", kMaxDocumentDepth,
          " deep: no event does"));
      return false;
    }
    return true;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  const bool payload_;
  int depth_ = 0;
  std::string top_key_;  // the FieldKey of the top object's last key
  std::string payload_float_;
  std::vector<absl::flat_hash_set<std::string>> objects_;  // each open object's FieldKeys
  absl::Status status_;
};

// The fields the server sets, which a document's reader does not send.
void ClearServerFields(v1::Event& event) {
  event.clear_position();
  event.clear_stream_version();
  event.clear_recorded_time();
  event.clear_actor();
  event.clear_prev_hash();
  event.clear_hash();
}

absl::Status StoredBytesRefused() {
  return absl::InvalidArgumentError(
      "storedBytes: this event has fields this govledger does not know (a newer govledgerd "
      "wrote it), which an import would drop; import it with a govledger of that version");
}

// An event document, with the server's fields (and storedBytes) as given.
absl::StatusOr<ExportedEvent> ParseDocument(absl::string_view json) {
  // A file saved by an editor that starts UTF-8 with a byte order mark (Windows' Notepad).
  absl::ConsumePrefix(&json, "\xEF\xBB\xBF");
  // Text that is no JSON object at all is not quoted back: it may be a file given by mistake
  // (a private key, a tokens file), whose start would end up on the terminal or in a log.
  if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(json), "{")) {
    return absl::InvalidArgumentError(
        "not a JSON object of an event: it does not start with '{' (is it the right file?)");
  }
  std::string payload_float;
  if (absl::Status strict = CheckJsonText(json, /*payload=*/false, &payload_float); !strict.ok()) {
    return strict;
  }
  // Fast path: a payload that is absent or base64 is the plain JSON mapping of an Event. Any
  // document it refuses (a typed payload object, a bad value) takes the general path below,
  // which gives the same event or the error to report.
  if (v1::Event event;
      pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()), &event).ok()) {
    return ExportedEvent{std::move(event), ""};
  }
  pb::Struct document;
  if (auto s = pb::util::JsonStringToMessage(std::string(json), &document); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a JSON object of an event: ", JsonErrorText(s)));
  }
  auto& fields = *document.mutable_fields();
  pb::Value payload;
  if (auto it = fields.find("payload"); it != fields.end()) {
    payload = std::move(it->second);
    fields.erase(it);
  }
  std::string stored;
  for (absl::string_view name : kStoredBytes) {
    auto it = fields.find(std::string(name));
    if (it == fields.end()) continue;
    if (it->second.kind_case() != pb::Value::kStringValue ||
        !absl::Base64Unescape(it->second.string_value(), &stored) || stored.empty()) {
      return absl::InvalidArgumentError("storedBytes: must be the stored bytes in base64");
    }
    fields.erase(it);
  }

  std::string envelope_json;
  if (auto s = pb::util::MessageToJsonString(document, &envelope_json); !s.ok()) {
    return absl::InvalidArgumentError(JsonErrorText(s));
  }
  v1::Event event;
  if (auto s = pb::util::JsonStringToMessage(envelope_json, &event); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("event: ", JsonErrorText(s)));
  }
  if (!payload_float.empty() && projections::IsKnownGovernanceType(event.event_type())) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload (", event.event_type(), "): ", FloatProblem(payload_float)));
  }
  absl::StatusOr<std::string> bytes = PayloadBytes(event.event_type(), payload);
  if (!bytes.ok()) return bytes.status();
  event.set_payload(*std::move(bytes));
  return ExportedEvent{std::move(event), std::move(stored)};
}

}  // namespace

namespace {

// Whether `text` has the shape of an RFC 3339 time in capitals: 2016-12-21T12:00:00Z, with
// any fraction of a second, and Z or an offset (+01:00).
bool RfcTimeShape(absl::string_view text) {
  auto digits = [&text](size_t n) {
    if (text.size() < n || !std::all_of(text.begin(), text.begin() + n, absl::ascii_isdigit)) {
      return false;
    }
    text.remove_prefix(n);
    return true;
  };
  auto one = [&text](char c) { return absl::ConsumePrefix(&text, absl::string_view(&c, 1)); };
  if (!(digits(4) && one('-') && digits(2) && one('-') && digits(2) && one('T') && digits(2) &&
        one(':') && digits(2) && one(':') && digits(2))) {
    return false;
  }
  if (one('.')) {
    if (!digits(1)) return false;
    while (!text.empty() && absl::ascii_isdigit(text.front())) text.remove_prefix(1);
  }
  if (one('Z')) return text.empty();
  return (one('+') || one('-')) && digits(2) && one(':') && digits(2) && text.empty();
}

// Protobuf's words for a value of the wrong kind, 'invalid value "RED" for type
// type.googleapis.com/govledger.v1.Rag' or '... for type TYPE_INT32', or a time that does not
// parse ("invalid value Field 'effectiveTime', Invalid time format: X for type
// type.googleapis.com/google.protobuf.Timestamp"), said as what to give instead; other
// messages as they are.
std::string ValueErrorText(absl::string_view message) {
  constexpr absl::string_view kTimeFormat = "Invalid time format: ";
  constexpr absl::string_view kNotAString = "Invalid data type for timestamp, value is ";
  constexpr absl::string_view kTimestamp =
      " for type type.googleapis.com/google.protobuf.Timestamp";
  size_t at = message.find(kTimeFormat);
  const bool not_a_string = at == absl::string_view::npos;
  if (not_a_string) at = message.find(kNotAString);
  if (at != absl::string_view::npos && absl::EndsWith(message, kTimestamp)) {
    const size_t from = at + (not_a_string ? kNotAString : kTimeFormat).size();
    const absl::string_view value = message.substr(from, message.size() - kTimestamp.size() - from);
    // RFC 3339 allows "t" and "z"; protobuf's parser takes only capitals: a time of that shape
    // ("2016-12-21t12:00:00z") with either in lower case.
    const bool lower_case = absl::StrContains(value, "t") || absl::StrContains(value, "z")
                                ? RfcTimeShape(absl::AsciiStrToUpper(value))
                                : false;
    const size_t invalid = message.find("invalid value ");
    // "Field 'effectiveTime', ": the member's JSON name.
    absl::string_view field = message.substr(invalid == absl::string_view::npos ? 0 : invalid);
    const bool named = absl::ConsumePrefix(&field, "invalid value Field '") &&
                       field.find('\'') != absl::string_view::npos;
    return absl::StrCat(
        message.substr(0, invalid == absl::string_view::npos ? 0 : invalid),
        named ? absl::StrCat(field.substr(0, field.find('\'')), " ") : "",
        not_a_string ? value : absl::StrCat("\"", value, "\""),  // made printable below
        " is not a time: give an RFC 3339 time", not_a_string ? " as a JSON string" : "",
        ", e.g. \"2016-12-21T12:00:00Z\" (UTC) or \"2016-12-21T12:00:00+01:00\"",
        lower_case ? " (T and Z in capitals)" : "",
        value == kTemplateEffectiveTime
            ? " (the template's placeholder: give when the event took effect, or leave "
              "effectiveTime out for the time the ledger receives it)"
            : "");
  }
  constexpr absl::string_view kInvalid = "invalid value \"";
  constexpr absl::string_view kForType = "\" for type ";
  const size_t start = message.find(kInvalid);
  const size_t end = start == absl::string_view::npos ? start : message.find(kForType, start);
  if (end == absl::string_view::npos) return std::string(message);
  const absl::string_view value =
      message.substr(start + kInvalid.size(), end - start - kInvalid.size());
  absl::string_view type = message.substr(end + kForType.size());
  const std::string given =
      absl::StrCat(message.substr(0, start), "invalid value \"", value, "\"");
  if (absl::ConsumePrefix(&type, "type.googleapis.com/")) {
    const pb::EnumDescriptor* e = pb::DescriptorPool::generated_pool()->FindEnumTypeByName(
        std::string(type));
    if (e == nullptr) return std::string(message);
    std::vector<std::string> names;
    std::string meant;
    for (int i = 0; i < e->value_count(); ++i) {
      const std::string& name = e->value(i)->name();
      if (e->value(i)->number() == 0) continue;  // the unset value, never meant
      names.push_back(name);
      if (absl::EndsWith(name, absl::StrCat("_", absl::AsciiStrToUpper(value)))) meant = name;
    }
    // explain's template lists the choices ("A | B | C"): one is kept, or, where the paper
    // gives none and the field may be left unset (a risk's rating), the member is left out.
    const bool choices = absl::StrContains(value, " | ");
    // "" where the paper gives none (a progress update's rating): left out, not emptied.
    const bool emptied = value.empty();
    return absl::StrCat(given, ": give one of ", absl::StrJoin(names, ", "),
                        meant.empty() ? "" : absl::StrCat(" (did you mean ", meant, "?)"),
                        choices   ? " (the template's choices: keep the one the paper gives, or "
                                    "leave the member out if it gives none and the field may be "
                                    "unset; explain TYPE says which)"
                        : emptied ? " (or, if the paper gives none and the field may be unset, "
                                    "leave the member out rather than give \"\"; explain TYPE "
                                    "says which)"
                                  : "");
  }
  if (type == "TYPE_INT32" || type == "TYPE_INT64" || type == "TYPE_UINT32" ||
      type == "TYPE_UINT64") {
    return absl::StrCat(given, ": give a whole number", absl::StartsWith(type, "TYPE_U") ?
                        " of 0 or more" : "");
  }
  if (type == "TYPE_BOOL") return absl::StrCat(given, ": give true or false");
  if (type == "TYPE_DOUBLE" || type == "TYPE_FLOAT") return absl::StrCat(given, ": give a number");
  return std::string(message);
}

}  // namespace

std::string JsonErrorText(const pb::util::Status& s, const pb::Descriptor* type) {
  const absl::string_view message(s.message().data(), s.message().size());
  const std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  std::string text = PrintableText(ValueErrorText(lines[0]));
  // Protobuf's "colour: Cannot find field." for a field the message does not have.
  if (absl::EndsWith(text, ": Cannot find field.")) {
    text = absl::StrCat(text.substr(0, text.size() - std::string_view(" Cannot find field.").size()),
                        " no such field");
    // The fields the message has, at the path protobuf names ("(subject) kindd": those of
    // subject's message).
    std::vector<std::string> path;
    if (absl::StartsWith(lines[0], "(") && lines[0].find(')') != absl::string_view::npos) {
      path = absl::StrSplit(lines[0].substr(1, lines[0].find(')') - 1), '.');
    }
    for (size_t i = 0; type != nullptr && i < path.size(); ++i) {
      const std::string name = path[i].substr(0, path[i].find('['));  // "tranches[0]"
      const pb::FieldDescriptor* f = type->FindFieldByCamelcaseName(name);
      if (f == nullptr) f = type->FindFieldByName(name);
      type = f != nullptr ? f->message_type() : nullptr;
    }
    if (type != nullptr && type->field_count() > 0) {
      std::vector<std::string> names;
      for (int i = 0; i < type->field_count(); ++i) names.push_back(type->field(i)->json_name());
      absl::StrAppend(&text, "; ", type->name(), " has ", absl::StrJoin(names, ", "));
    }
  }
  // Protobuf's second line quotes the input near the error: left out, as nlohmann's "last
  // read" is (StrictJson::parse_error).
  return text;
}

absl::Status CheckJsonText(absl::string_view json, bool payload, std::string* payload_float) {
  // nlohmann's parser reads a NUL byte as the end of the input, and what follows it unread.
  if (const size_t nul = json.find('\0'); nul != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON (a NUL byte at byte ", nul + 1,
                                                   ": JSON text holds none outside \\u0000)"));
  }
  StrictJson check(payload);
  nlohmann::json::sax_parse(json.begin(), json.end(), &check);
  if (payload_float != nullptr) *payload_float = check.payload_float();
  return check.status();
}

namespace {

// A stream left out of a governance event's document: derived from its payload.
absl::StatusOr<v1::Event> WithStream(v1::Event event) {
  if (event.stream_id().empty() && projections::IsKnownGovernanceType(event.event_type())) {
    absl::StatusOr<std::string> stream =
        projections::EntityStreamOf(event.event_type(), event.payload());
    if (!stream.ok()) {
      return absl::Status(stream.status().code(),
                          absl::StrCat("the ", event.event_type(), " payload is refused: ",
                                       stream.status().message()));
    }
    if (stream->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "streamId is missing: a ", event.event_type(),
          " goes on the stream of the event it corrects, so give that stream"));
    }
    event.set_stream_id(*std::move(stream));
  }
  return event;
}

}  // namespace

absl::StatusOr<v1::Event> ParseEventDocument(absl::string_view json) {
  absl::StatusOr<ExportedEvent> parsed = ParseDocument(json);
  if (!parsed.ok()) return parsed.status();
  return ClientEvent(*std::move(parsed));
}

absl::StatusOr<v1::Event> ClientEvent(ExportedEvent exported) {
  if (!exported.stored.empty()) return StoredBytesRefused();
  const v1::Event& e = exported.event;
  // An export's line carries the server's fields, its position and hashes among them, and is
  // sent without them. Any other document that gives some would have them dropped in silence
  // (who recorded it, when, where): the server sets its own.
  if (e.position() == 0 || e.hash().empty() || e.prev_hash().empty()) {
    std::vector<std::string> claimed;
    if (e.position() != 0) claimed.push_back("position");
    if (e.stream_version() != 0) claimed.push_back("streamVersion");
    if (e.has_recorded_time()) claimed.push_back("recordedTime");
    if (!e.actor().empty()) claimed.push_back("actor");
    if (!e.prev_hash().empty()) claimed.push_back("prevHash");
    if (!e.hash().empty()) claimed.push_back("hash");
    if (!claimed.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          absl::StrJoin(claimed, ", "),
          ": set by the server when it stores the event (the actor is the caller's token or "
          "--actor, the time the server's), not by a document; remove ",
          claimed.size() == 1 ? "it" : "them",
          " (an export's line carries them all, with position, prevHash and hash, and imports "
          "whole",
          e.stream_version() != 0 ? "; a stream's expected version is `append --expect`" : "",
          ")"));
    }
  }
  // An export's line is what the ledger holds, whatever its source says.
  if (e.position() == 0 && IsTemplateSource(e.source())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source is still the template's \"", kTemplateSource,
        "\": name the paper the event records (its title, and the meeting or date), or leave "
        "source out; the ledger keeps it for good"));
  }
  ClearServerFields(exported.event);
  return WithStream(std::move(exported.event));
}

bool IsTemplateSource(absl::string_view source) {
  // Its letters alone, in any case: retyped with other spaces (two, a no-break one) or
  // punctuation, it is still the placeholder.
  std::string letters;
  for (const char c : source) {
    if (absl::ascii_isalpha(c)) letters.push_back(absl::ascii_toupper(c));
  }
  return letters == "THEPAPERITRECORDS";
}

absl::StatusOr<ExportedEvent> ParseExportedEvent(absl::string_view json) {
  return ParseDocument(json);
}

bool NamesAnEmptyEventId(absl::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                                   /*allow_exceptions=*/false);
  if (!doc.is_object()) return false;
  for (const char* key : {"eventId", "event_id"}) {  // protobuf's JSON takes either
    const auto id = doc.find(key);
    if (id != doc.end() && id->is_string() && id->get_ref<const std::string&>().empty()) {
      return true;
    }
  }
  return false;
}

int CountExportFields(absl::string_view json) {
  bool position = false, prev_hash = false, hash = false;
  int depth = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      const size_t start = i + 1;
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\') ++i;  // the escaped character
      }
      if (depth != 1 || i >= json.size()) continue;
      const absl::string_view text = json.substr(start, i - start);
      size_t after = i + 1;
      while (after < json.size() && absl::ascii_isspace(static_cast<unsigned char>(json[after]))) {
        ++after;
      }
      if (after >= json.size() || json[after] != ':') continue;  // a value, not a member's name
      position |= text == "position";
      prev_hash |= text == "prevHash" || text == "prev_hash";
      hash |= text == "hash";
    }
  }
  return int{position} + int{prev_hash} + int{hash};
}

std::string ExportDocument(const v1::Event& event, absl::string_view stored) {
  std::string json = EventDocument(event);
  // Stored bytes are the record (every field but `hash`, in field order) then `hash`, the last
  // field: the event parsed from them serializes back to exactly them, unless it has fields this
  // program does not know (parsed, they are kept aside and serialized after the known ones).
  // Unknown fields inside a time serialize back in place, but the JSON mapping drops them
  // (an older govledgerd stored such an effective_time): the bytes go with the document too.
  const auto unknown_in = [](const google::protobuf::Timestamp& t) {
    return !t.GetReflection()->GetUnknownFields(t).empty();
  };
  if (unknown_in(event.effective_time()) || unknown_in(event.recorded_time()) ||
      event.SerializeAsString() != stored) {
    json.pop_back();  // `json` is an object with members: "{...}"
    absl::StrAppend(&json, ",\"storedBytes\":\"", absl::Base64Escape(stored), "\"}");
  }
  return json;
}

std::string EventDocument(const v1::Event& event) {
  v1::Event envelope = event;
  envelope.clear_payload();
  std::string json;
  // The envelope's fields always print (every type is known and valid UTF-8 is checked on
  // append).
  (void)pb::util::MessageToJsonString(envelope, &json);

  std::string payload_json;
  if (!event.payload().empty()) {
    // Only govledger.v1's payloads of events.proto are written as objects: another type the
    // CLI happens to link (google.protobuf.Struct, its own storage-internal messages) is no
    // part of the format, and a reader working from the docs (or a later CLI without it)
    // could not read its JSON back to the bytes hashed. Such objects in older exports still
    // read (ParseEventDocument).
    if (const pb::Descriptor* type = PayloadType(event.event_type());
        type != nullptr && type->file() == v1::RiskOpened::descriptor()->file()) {
      std::unique_ptr<pb::Message> message(
          pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
      std::string typed;
      // Only when the JSON reads back to the very same bytes (no fields from a newer version,
      // which JSON would drop; the serialization ParseEventDocument uses), so that an export
      // re-imports as the same events; only when it is an object: a well-known type's JSON may
      // be a string (google.protobuf.StringValue, Timestamp), which a document reads as base64,
      // or a number, a bool or an array, which it refuses; and only when a document may hold
      // it (CheckJsonText: a Struct's keys "fooBar" and "foo_bar" read as one key twice).
      std::unique_ptr<pb::Message> back(message->New());
      if (message->ParseFromString(event.payload()) &&
          pb::util::MessageToJsonString(*message, &typed).ok() && absl::StartsWith(typed, "{") &&
          CheckJsonText(typed, /*payload=*/true).ok() &&
          pb::util::JsonStringToMessage(typed, back.get()).ok() &&
          Deterministic(*back) == event.payload()) {
        payload_json = std::move(typed);
      }
    }
    if (payload_json.empty()) {
      payload_json = absl::StrCat("\"", absl::Base64Escape(event.payload()), "\"");
    }
  }
  if (payload_json.empty()) return json;
  // `json` is an object: "{}" or "{...}". Add the payload as its last member.
  json.pop_back();
  absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"payload\":", payload_json, "}");
  return json;
}

}  // namespace govledger::cli
