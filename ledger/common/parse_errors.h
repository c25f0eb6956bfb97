// Why protobuf refused to parse a message. Protobuf says why (a string field holding bytes that
// are not UTF-8, naming the field) only to its log handler, which writes an ERROR line to stderr:
// one line per bad request, which any client could use to fill the daemon's journal, while the
// client is told only that its message does not parse.
//
// InstallParseErrorCapture() (once, at start-up, before any thread parses) sets a handler that
// gives the errors protobuf logs on a thread with a ParseErrors alive to that ParseErrors, and
// writes everything else (warnings, fatal messages, errors elsewhere) to stderr as protobuf's
// own handler does. Keep a ParseErrors alive around the parse alone.
//
// Errors elsewhere come from parses gRPC makes itself (a health check or reflection request
// whose string is not UTF-8): at most LogLimiter::kLinesPerMinute of them are written a minute,
// and the first line after a minute that dropped some says how many.
#ifndef GOVLEDGER_LEDGER_COMMON_PARSE_ERRORS_H_
#define GOVLEDGER_LEDGER_COMMON_PARSE_ERRORS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"

namespace govledger {

void InstallParseErrorCapture();

// How many lines of one kind a log takes in a minute: the first kLinesPerMinute of each minute
// (from the first line of it), the rest dropped and counted. Not thread-safe.
class LogLimiter {
 public:
  static constexpr int kLinesPerMinute = 10;
  // Whether a line at `now_micros` is written. `*dropped` is set to the lines dropped since
  // the last one written (to say so with this one), when it is.
  bool Admit(int64_t now_micros, uint64_t* dropped);

 private:
  int64_t minute_start_ = 0;
  int lines_ = 0;
  uint64_t dropped_ = 0;
};

// Collects what protobuf logs on this thread while it is alive (nested: the innermost
// collects). Not thread-safe; one thread's.
class ParseErrors {
 public:
  ParseErrors();
  ~ParseErrors();
  ParseErrors(const ParseErrors&) = delete;
  ParseErrors& operator=(const ParseErrors&) = delete;

  // ": " and what was logged, messages joined by "; " without white space at either end, or ""
  // when nothing was (or the capture is not installed): for the end of an error message.
  std::string Suffix() const;

  // The handler's: adds one message.
  void Add(const std::string& message);

 private:
  ParseErrors* outer_;
  std::string text_;
};

// Why a field number that parsed as unknown in a message of `type` was not read as the field
// `type` declares with that number: it arrived with another wire type than the field's (a
// varint where a string or message goes, say), which protobuf keeps as an unknown field rather
// than refuse. "" when `type` declares no field `field.number()`: a newer client's field, not
// malformed bytes. Otherwise, for a message that the bytes are malformed: "field 1 (event_id)
// was sent as a varint, but it is a string (length-delimited)".
std::string MisencodedField(const google::protobuf::Descriptor& type,
                            const google::protobuf::UnknownField& field);

// Where `bytes` fail to parse as a `type`, for the end of an error message: " (its
// events[2].effective_time does not: byte 3 starts field 2 with wire type 7, which protobuf
// does not have)" for a part of it, the innermost found, or ": field 1 at byte 0 runs past
// the end of the 7 bytes: ..." for the message itself; "" when no part breaks protobuf's wire
// format on its own (the fault is then in what a field holds: a string that is not UTF-8,
// which ParseErrors says).
std::string WhereParseFails(const google::protobuf::Descriptor& type, absl::string_view bytes);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_PARSE_ERRORS_H_
