// Events as JSON documents, the form `govledger append`, `import` and `export` read and write
// (README, "Events as JSON").
//
// A document is protobuf's JSON mapping of govledger.v1.Event (proto/govledger/v1/ledger.proto),
// except `payload`:
// - a JSON object: the JSON mapping of the message `eventType` names, which must be a type this
//   program knows (every govledger.v1 payload of events.proto); it is sent as that message's
//   deterministic serialization;
// - a JSON string: the payload's bytes in base64, for any type (what `export` writes for types it
//   does not know);
// - absent or null: an empty payload.
// Server-set fields (position, streamVersion, recordedTime, actor, prevHash, hash) may be
// present, as `export` writes them; ParseEventDocument drops them, so an export re-imports. A
// document with some of them but not all of position, prevHash and hash (not an export's line)
// is refused: its claim of who recorded it, when or where would be dropped.
// `export` and `tail --json` add `storedBytes` (base64 of the event's stored bytes) to an event
// whose envelope holds fields this program does not know (written by a newer govledgerd), since
// the JSON mapping cannot carry them: `verify --file` checks the hash over those bytes, and
// ParseEventDocument refuses such a line, whose unknown fields an import would drop.
// Integers outside +/-(2^53 - 1) in a payload object must be JSON strings (as the mapping prints
// int64), since a JSON number is read as a double.
//
// Pure functions; thread-safe.
#ifndef GOVLEDGER_CLI_EVENT_JSON_H_
#define GOVLEDGER_CLI_EVENT_JSON_H_

#include <google/protobuf/stubs/status.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/ledger.pb.h"

namespace govledger::cli {

// The most bytes of one event's document (a line of an export or an import, or `append`'s
// file): 16 times the largest event (16 MiB), since its JSON may be several times its bytes
// (protobuf's JSON writes '<' as "\u003c", six bytes for one; an enum's name for its number),
// with `storedBytes` beside it. Longer input is refused rather than read until the memory
// runs out (/dev/zero).
inline constexpr size_t kMaxEventDocumentBytes = size_t{256} << 20;

// OK when `json` is one JSON text by RFC 8259, without a key twice in its top object (under
// either of a field's names, "streamId" and "stream_id") and nesting arrays and objects at most
// 32 deep (no event goes deeper than 5; protobuf's parser takes time growing with the square of
// the depth). Else INVALID_ARGUMENT saying where ("not JSON (parse error at line 1, column 2:
// ...)"). Every JSON text the CLI reads as an event or payload goes through it first.
// `payload`: `json` is a payload alone (--payload), not an event's document. A number not
// written in digits alone (100.00, 1e3, or beyond 64 bits) is refused outside a document's
// payload; the payload's first is left in `*payload_float` as written ("" if none), for the
// caller to refuse where the payload's type has only whole numbers (ParseEventDocument: the
// govledger.v1 types).
absl::Status CheckJsonText(absl::string_view json, bool payload = false,
                           std::string* payload_float = nullptr);

// What `explain --template` writes where a clerk fills in the paper's own words: a document
// still holding one is refused (the time and stream parse as neither; the source is checked).
inline constexpr char kTemplateEffectiveTime[] = "WHEN IT TOOK EFFECT, e.g. 2016-12-21T12:00:00Z";
inline constexpr char kTemplateSource[] = "THE PAPER IT RECORDS";
// Whether `source` is kTemplateSource retyped: its letters, in any case, with any spacing.
bool IsTemplateSource(absl::string_view source);
inline constexpr char kTemplateCorrectionStream[] = "THE CORRECTED EVENT'S STREAM";

// Parses one document into an event with only client fields set. A governance event
// (govledger.v1) without a streamId gets its entity's stream, read from its payload
// (projections::EntityStreamOf: "decision/WWA/PCC/D/2017/05" for that DecisionProposed); a
// correction's cannot be, and must be given. INVALID_ARGUMENT naming the field at fault: not a
// JSON object, an unknown or mistyped envelope field, an unknown eventType with an object
// payload, a payload field the type does not have or a bad value, bad base64, a missing
// streamId that cannot be derived (and why), the template's source left in. FAILED_PRECONDITION
// when deriving the stream meets a payload a governance rule refuses (a negative amount), as the
// server would answer it. A UTF-8 byte order mark before the document (a file an editor saved so)
// is skipped.
absl::StatusOr<v1::Event> ParseEventDocument(absl::string_view json);

// The message of protobuf's own util::Status (protobuf 3.21 does not use absl::Status), on one
// line and safe to print: a JSON parse error quotes the input near the fault on a second line
// (and points at it on a third), and that input is whatever was given, escape sequences
// included; the quote is kept as "(near: ...)". A field the message does not have is "NAME: no
// such field", followed, when `type` (the message parsed) is given, by the fields it has.
std::string JsonErrorText(const google::protobuf::util::Status& s,
                          const google::protobuf::Descriptor* type = nullptr);

// One line of `export` read back.
struct ExportedEvent {
  // ParseEventDocument's event, keeping the fields the server set. When `stored` is empty, it
  // serializes to the stored record (every field but `hash`), so its hash can be checked again
  // (`govledger verify --file`).
  v1::Event event;
  // The line's storedBytes, decoded; empty when it has none.
  std::string stored;
};
absl::StatusOr<ExportedEvent> ParseExportedEvent(absl::string_view json);

// How many of an export's position, prevHash and hash (by JSON or proto names) `json` names
// among the members at its top level, 0 to 3, however the rest of it fails to parse: a line
// that does not parse as an exported event but names all three is an edited export, not a bad
// hand-written document (which may name none: the server sets them), and a last line cut short
// that names any is an export's. Linear in the text, without parsing it (a line cut short,
// nested deep, or with values of the wrong kind is read as far as it goes).
int CountExportFields(absl::string_view json);
// Whether the JSON object `json` gives "eventId" (or "event_id") as "" (not leaves it out): an id
// variable a client never set, which a made-up id would turn into a new event at every retry.
bool NamesAnEmptyEventId(absl::string_view json);

// The event ParseEventDocument gives, from a document ParseExportedEvent read (one parse for a
// reader that needs both, as `import`): the server's fields cleared, the stream derived as
// ParseEventDocument derives it; INVALID_ARGUMENT for an event with storedBytes, as there.
absl::StatusOr<v1::Event> ClientEvent(ExportedEvent exported);

// One line of `export` for an event read as its stored bytes (as a Read page frames them, never
// re-encoded): EventDocument(event), with storedBytes when the event has fields this program
// does not know (its record is not the serialization of what it parses to). REQUIRES: `event`
// is what `stored` decodes to (DecodeStoredEvent, ledger/stored_event.h).
std::string ExportDocument(const v1::Event& event, absl::string_view stored);

// One document for a stored event (every field the server set included), on one line, without
// a newline. The payload is an object when `eventType` is a type this program knows and the
// bytes parse as it, else base64.
std::string EventDocument(const v1::Event& event);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_EVENT_JSON_H_
