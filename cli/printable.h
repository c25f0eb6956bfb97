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
#include "ledger/common/text.h"  // PrintableText, LineBreaks

namespace govledger::cli {

// PrintableText applied to every string field of `message`, in nested and repeated messages
// too (not to bytes fields, which are never shown as text).
void MakePrintable(google::protobuf::Message* message,
                   LineBreaks line_breaks = LineBreaks::kEscape);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_PRINTABLE_H_
