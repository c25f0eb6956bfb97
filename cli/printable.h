// Text from the ledger made safe to show on a terminal. Stored text is whatever its writer sent
// (an older server, or an opaque event, took any UTF-8), and a terminal acts on some characters
// instead of showing them: a carriage return or an escape sequence can overwrite a line already
// printed, so that "RED" stored reads "GREEN" on an auditor's screen; bidirectional overrides
// reorder what follows them. Every human-readable output of the CLI (tables, views, reports,
// `tail`, the server's error messages) goes through these; JSON output does not need them
// (JSON escapes control characters) and keeps the stored text exact.
#ifndef GOVLEDGER_CLI_PRINTABLE_H_
#define GOVLEDGER_CLI_PRINTABLE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace govledger::cli {

// Whether line feeds and tabs (and a carriage return before a line feed) stay as they are: for
// output that replaces them itself (the Markdown of `report`, whose table cells and quotes turn
// line breaks into spaces), where escaping them would show "\n" in text that had a line break.
enum class LineBreaks { kEscape, kKeep };

// `text` with every character a terminal would act on shown as an escape instead:
//   - C0 controls and DEL as \xNN, except line feed, carriage return and tab: \n, \r and \t
//     (or, with LineBreaks::kKeep, as they are: a line feed, a tab, a carriage return before a
//     line feed);
//   - C1 controls (U+0080 to U+009F) and the bidirectional marks, embeddings, overrides and
//     isolates (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) as \uNNNN;
//   - bytes that are not part of well-formed UTF-8 as \xNN.
// Everything else is unchanged, "\" included. Text without such characters is returned as it
// is, so PrintableText(PrintableText(t)) == PrintableText(t).
std::string PrintableText(absl::string_view text,
                          LineBreaks line_breaks = LineBreaks::kEscape);

// PrintableText applied to every string field of `message`, in nested and repeated messages
// too (not to bytes fields, which are never shown as text).
void MakePrintable(google::protobuf::Message* message,
                   LineBreaks line_breaks = LineBreaks::kEscape);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_PRINTABLE_H_
