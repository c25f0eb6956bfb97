// The names an envelope carries (stream ids, event types, actors, sources) and the rules for them: the
// ledger core checks every append with these, and the query side checks the stream ids it is
// asked about, so that a malformed one is INVALID_ARGUMENT wherever it is sent.
#ifndef GOVLEDGER_LEDGER_COMMON_NAMES_H_
#define GOVLEDGER_LEDGER_COMMON_NAMES_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace govledger {

// Longest stream id, event type or actor, bytes.
inline constexpr size_t kMaxNameLength = 200;

// The characters of a stream id's segment: A-Z a-z 0-9 . _ : - (a stream id joins segments
// with '/'; projections' entity ids are one segment).
constexpr bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == ':' || c == '-';
}

// OK, or INVALID_ARGUMENT naming the field to fix.
absl::Status ValidateStreamId(absl::string_view stream_id);
absl::Status ValidateEventType(absl::string_view event_type);
// An actor: 1 to kMaxNameLength bytes of well-formed UTF-8 without a character that acts rather
// than shows (ActsRatherThanShows, ledger/common/text.h: C0, DEL, C1, bidirectional controls) or
// that does not show as itself (InvisibleInName: zero-width and format characters, line
// separators, spaces other than U+0020), without letters of two look-alike scripts (Latin,
// Greek, Cyrillic: LookAlikeScript), not starting or ending with white space.
absl::Status ValidateActor(absl::string_view actor);

// What the server records for a caller that names no actor: this and its peer address.
inline constexpr char kPeerActorPrefix[] = "peer:";
// An actor a caller names (metadata, a tokens file's line, the CLI's --actor): ValidateActor's,
// and not starting with kPeerActorPrefix, which would pass for a caller that named none.
absl::Status ValidateNamedActor(absl::string_view actor);

// How the text QueryService shows a viewer in place of a source withheld from them begins
// (projections/publication.h, kWithheldSource): no source may begin so, in any letter case, or
// a writer could pass a paper off as withheld.
inline constexpr char kWithheldSourcePrefix[] = "(withheld:";

// Longest Event.source, bytes.
inline constexpr size_t kMaxSourceLength = 500;
// An event's source: empty, or up to kMaxSourceLength bytes of one line of text (no control
// or bidirectional character, no line or paragraph separator), not starting or ending with
// white space or a character that shows nothing, and with no run of invisible characters
// within (since 2026-12-07: README, "Concepts"), and not beginning with kWithheldSourcePrefix.
// Older logs may hold sources these rules refuse now.
absl::Status ValidateSource(absl::string_view source);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_NAMES_H_
