#include "ledger/common/names.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/text.h"

namespace govledger {
namespace {

bool IsStreamChar(char c) { return IsSegmentChar(c) || c == '/'; }

bool IsTypeChar(char c) { return IsStreamChar(c) && c != ':' && c != '/'; }

}  // namespace

absl::Status ValidateStreamId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("stream_id is empty; name the entity's stream, e.g. 'programme/LPP'");
  if (id.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream_id has ", id.size(), " bytes; at most ", kMaxNameLength));
  }
  for (char c : id) {
    if (!IsStreamChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat("stream_id '", PrintableText(id),
                                                  "' contains an illegal character; use A-Z "
                                                  "a-z 0-9 . _ : / -"));
    }
  }
  if (id.front() == '/' || id.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("stream_id '", id, "' must not start or end with '/'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEventType(absl::string_view type) {
  if (type.empty()) {
    return absl::InvalidArgumentError(
        "event_type is empty; name the event's type, such as govledger.v1.StatusReported or "
        "your own (A-Z a-z 0-9 . _ -)");
  }
  if (type.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("event_type has ", type.size(), " bytes; at most ", kMaxNameLength));
  }
  for (char c : type) {
    if (!IsTypeChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat("event_type '", PrintableText(type),
                                                  "' contains an illegal character; use A-Z "
                                                  "a-z 0-9 . _ -"));
    }
  }
  // Parts between single dots, as a protobuf message's full name: a leading dot (the spelling
  // of a descriptor's type_name) had put govledger's own packages' names past the rules that
  // keep them.
  if (type.front() == '.' || type.back() == '.' || absl::StrContains(type, "..")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event_type '", PrintableText(type),
        "' has an empty part between dots: give its parts between single dots, with no dot at "
        "its start or end (e.g. govledger.v1.RiskOpened, or com.example.ContractAwarded)"));
  }
  return absl::OkStatus();
}

namespace {

// Whether `c` is shown as an emoji when an emoji presentation selector (U+FE0F) follows it, or
// as text with U+FE0E: the symbols of Unicode's emoji variation sequences (©, ™, ↔, ⌚, ☀ to ➿,
// ⬅, 〰...) and the emoji planes.
constexpr bool HasEmojiPresentation(uint32_t c) {
  return c == '#' || c == '*' || (c >= '0' && c <= '9') || c == 0x00A9 || c == 0x00AE ||
         c == 0x203C || c == 0x2049 || c == 0x2122 || c == 0x2139 || (c >= 0x2194 && c <= 0x21AA) ||
         (c >= 0x231A && c <= 0x23FF) || c == 0x24C2 || (c >= 0x25AA && c <= 0x27BF) ||
         c == 0x2934 || c == 0x2935 || (c >= 0x2B05 && c <= 0x2B55) || c == 0x3030 || c == 0x303D ||
         c == 0x3297 || c == 0x3299 || (c >= 0x1F000 && c <= 0x1FAFF);
}

// Whether the invisible character that ends a text completes what shows before it (`tail`: the
// text's last code points, at most 7, the last at the back; `count`: how many the text has): an
// emoji or
// text presentation selector (U+FE0E, U+FE0F) after a symbol that has both, an ideographic
// variation selector (U+E0100 to U+E01EF) after a CJK ideograph, a Mongolian free variation
// selector after a Mongolian letter, or the tag sequence of one of the subdivision flags
// Unicode recommends (England, Scotland, Wales: U+1F3F4, "gbeng", "gbsct" or "gbwls" in tags,
// the cancel tag U+E007F). Anything else invisible at the end ("Paper A", or "Café", then a
// selector; a flag followed by tags spelling hidden text) makes a look-alike of the text
// without it.
bool EndsAnEmojiOrVariant(const std::array<uint32_t, 7>& tail, size_t count) {
  const uint32_t last = tail[6];
  const uint32_t base = count >= 2 ? tail[5] : 0;
  if (last == 0xFE0E || last == 0xFE0F) return HasEmojiPresentation(base);
  // Unicode's standardized variation sequences: mathematical operators, CJK compatibility
  // ideographs, Myanmar, Phags-pa.
  if (last >= 0xFE00 && last <= 0xFE0D) {
    return (base >= 0x2200 && base <= 0x2AFF) || (base >= 0x1000 && base <= 0x109F) ||
           (base >= 0xA840 && base <= 0xA877) || (base >= 0x3400 && base <= 0x9FFF) ||
           (base >= 0xF900 && base <= 0xFAFF) || (base >= 0x20000 && base <= 0x3134F);
  }
  if (last >= 0xE0100 && last <= 0xE01EF) {
    return (base >= 0x3400 && base <= 0x4DBF) || (base >= 0x4E00 && base <= 0x9FFF) ||
           (base >= 0xF900 && base <= 0xFAFF) || (base >= 0x20000 && base <= 0x3134F);
  }
  if ((last >= 0x180B && last <= 0x180D) || last == 0x180F) {
    return base >= 0x1820 && base <= 0x18AF;
  }
  if (last != 0xE007F || count < 7) return false;
  std::string tags;
  for (size_t i = 1; i < 6; ++i) {
    if (tail[i] < 0xE0020 || tail[i] > 0xE007E) return false;
    tags += static_cast<char>(tail[i] - 0xE0000);
  }
  return tail[0] == 0x1F3F4 && (tags == "gbeng" || tags == "gbsct" || tags == "gbwls");
}

// One line of text naming something (`what`: "actor", "source"; `is_a`: "an actor is a name"):
// well-formed UTF-8 without a character that acts rather than shows, not starting or ending
// with white space.
absl::Status CheckOneLine(absl::string_view what, absl::string_view is_a, absl::string_view text) {
  // The first code point, and the last 7 (for the end's check), without keeping the rest: every
  // event's source passes here.
  uint32_t first = 0;
  std::array<uint32_t, 7> tail{};
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = Utf8Length(text.substr(i), &cp);
    if (count++ == 0) first = cp;
    std::copy(tail.begin() + 1, tail.end(), tail.begin());
    tail[6] = cp;
    // Event's strings are protobuf strings: a record holding bytes that are not UTF-8 would
    // never parse again.
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " is not UTF-8 text; send it as UTF-8 (any other encoding, Latin-1 say, is "
                "refused)"));
    }
    if (IsBidiControl(cp)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s holds the bidirectional control U+%04X at byte %d, which would reorder the "
          "text around it when shown; %s without such characters",
          what, cp, i, is_a));
    }
    if (ActsRatherThanShows(cp) || cp == 0x2028 || cp == 0x2029) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s holds the %s U+%04X at byte %d; %s without "
                          "control characters (line breaks, tabs, escapes)",
                          what,
                          cp == 0x2028   ? "line separator"
                          : cp == 0x2029 ? "paragraph separator"
                                         : "control character",
                          cp, i,
                          is_a));
    }
    i += n;
  }
  // " bob" (or bob after a no-break space, a zero-width space or a byte-order mark) would read
  // as bob wherever it is shown, and not match bob's token; two sources alike to the eye would
  // differ on a retry.
  const auto hidden = [](uint32_t cp) { return IsWhiteSpace(cp) || InvisibleInName(cp); };
  if (count == 0) return absl::OkStatus();
  std::optional<uint32_t> refused;
  if (hidden(first)) refused = first;
  if (!refused && hidden(tail[6]) && !EndsAnEmojiOrVariant(tail, count)) {
    refused = tail[6];
  }
  if (refused) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s must not start or end with white space or a character that shows nothing (here "
        "U+%04X); send it without it",
        what, *refused));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateActor(absl::string_view actor) {
  if (actor.empty() || actor.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("an actor has 1 to ", kMaxNameLength,
                                                " bytes of UTF-8 (a letter such as é takes 2), not ",
                                                actor.size()));
  }
  RETURN_IF_ERROR(CheckOneLine("actor", "an actor is a name", actor));
  // As a signing key's holder: "writer" with a zero-width space, or with a Cyrillic "е", would
  // show as "writer" and be someone else.
  const NameLookAlikes found = FindLookAlikes(actor);
  if (found.hidden_at < found.mixed_at) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "actor holds U+%04X at byte %d, which does not show as itself: an actor is a name "
        "in visible characters and ordinary spaces (U+0020)",
        found.hidden, found.hidden_at));
  }
  if (found.mixed_at != NameLookAlikes::kNone) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "actor mixes %s and %s letters (U+%04X at byte %d): letters that look alike across "
        "scripts would make one name look like another; write it in one script",
        found.first_script, found.other_script, found.mixed, found.mixed_at));
  }
  return absl::OkStatus();
}

absl::Status ValidateNamedActor(absl::string_view actor) {
  RETURN_IF_ERROR(ValidateActor(actor));
  // In any letter case: "PEER:ipv4:..." would pass for the address to a reader.
  if (absl::StartsWithIgnoreCase(actor, kPeerActorPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an actor starting '", kPeerActorPrefix, "' (in any letter case) is the server's name "
        "for a caller that names none (its address): name yourself otherwise"));
  }
  return absl::OkStatus();
}

namespace {

constexpr bool IsVariationSelector(uint32_t cp) {
  return (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) ||
         (cp >= 0x180B && cp <= 0x180D) || cp == 0x180F;
}
// The invisible characters text uses singly, between what shows: the zero-width non-joiner
// and joiner (Persian and Indic spelling, emoji sequences), the soft hyphen and the combining
// grapheme joiner.
constexpr bool IsJoiner(uint32_t cp) {
  return cp == 0x200C || cp == 0x200D || cp == 0x00AD || cp == 0x034F;
}

// Why `cp`, at code point number `index` of a source and after `prev` (0 for none), could
// carry text no reader sees; nullptr if it shows or does its work. These rules close the wide
// channels, runs of characters that show nothing (a reviewer spelled words in tags, selectors,
// soft hyphens and grapheme joiners); a narrow one is left wherever text may differ unseen (a
// selector after each ideograph, a joiner between letters, the kind of space), so sources are
// compared by their bytes, never by eye. A variation selector stands only right after a
// character of a kind that takes one (EndsAnEmojiOrVariant's test: an emoji-capable symbol or
// digit, an ideograph, a math operator, a Myanmar, Phags-pa or Mongolian letter), a joiner
// (IsJoiner) only singly and after something that shows, and a character that only ever shows
// nothing (zero-width space, word joiner and invisible operators, fillers, the braille blank,
// ...) nowhere. (A tag inside a flag's sequence is passed over by the caller.)
const char* HiddenInASource(uint32_t cp, uint32_t prev, size_t index) {
  if (IsVariationSelector(cp) &&
      (index == 0 || !EndsAnEmojiOrVariant({0, 0, 0, 0, 0, prev, cp}, 2))) {
    return "a variation selector after a character of no kind that takes one, which shows "
           "nothing (selectors can spell hidden text)";
  }
  if (IsJoiner(cp) && (index == 0 || IsJoiner(prev) || IsWhiteSpace(prev))) {
    return "a joiner, soft hyphen or grapheme joiner after no character that shows, which "
           "shows nothing (a run of them can spell hidden text)";
  }
  if (cp >= 0xE0000 && cp <= 0xE007F) {
    return "a tag character, which shows nothing and can spell hidden text (tags stand only "
           "in the flags of England, Scotland and Wales)";
  }
  if (cp >= 0xFFF9 && cp <= 0xFFFB) {
    return "an interlinear annotation character, which shows nothing";
  }
  // The Mongolian vowel separator is spelling (it shapes the letter after it).
  if (!IsVariationSelector(cp) && !IsJoiner(cp) && InvisibleInName(cp) && !IsWhiteSpace(cp) &&
      cp != 0x180E) {
    return "a character that shows nothing";
  }
  if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
    return "a noncharacter, which no text holds";
  }
  const bool combining = (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
                         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
                         (cp >= 0xFE20 && cp <= 0xFE2F);
  if (combining && index == 0) return "a combining mark with nothing before it to combine with";
  return nullptr;
}

// The number of bytes at the start of `text` that a subdivision flag Unicode recommends takes
// (U+1F3F4, the tags "gbeng", "gbsct" or "gbwls", the cancel tag U+E007F); 0 if none starts
// there.
size_t SubdivisionFlagLength(absl::string_view text) {
  uint32_t cp = 0;
  size_t at = Utf8Length(text, &cp);
  if (at == 0 || cp != 0x1F3F4) return 0;
  std::string tags;
  while (at < text.size()) {
    const size_t n = Utf8Length(text.substr(at), &cp);
    if (n == 0) return 0;
    at += n;
    if (cp == 0xE007F) {
      return tags == "gbeng" || tags == "gbsct" || tags == "gbwls" ? at : 0;
    }
    if (cp < 0xE0020 || cp > 0xE007E || tags.size() == 5) return 0;
    tags += static_cast<char>(cp - 0xE0000);
  }
  return 0;
}

}  // namespace

absl::Status ValidateSource(absl::string_view source) {
  if (source.size() > kMaxSourceLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source has ", source.size(), " bytes; at most ", kMaxSourceLength,
        " bytes of UTF-8 (a letter such as é takes 2): name the paper, not its text"));
  }
  RETURN_IF_ERROR(CheckOneLine("source", "a source is one line of text", source));
  if (absl::StartsWithIgnoreCase(source, kWithheldSourcePrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source begins '", kWithheldSourcePrefix,
        "', as the text a viewer is shown in place of a withheld source does: name the paper "
        "itself"));
  }
  // Within it too: text an auditor reads must show all it holds (a reviewer hid a run of tag
  // characters, which spell ASCII no one sees, inside a source).
  size_t index = 0;
  uint32_t prev = 0;
  for (size_t i = 0; i < source.size(); ++index) {
    uint32_t cp = 0;
    const size_t n = Utf8Length(source.substr(i), &cp);  // UTF-8: CheckOneLine's
    if (const size_t flag = cp == 0x1F3F4 ? SubdivisionFlagLength(source.substr(i)) : 0; flag > 0) {
      i += flag;
      prev = cp;  // the flag, as shown
      continue;
    }
    if (const char* why = HiddenInASource(cp, prev, index)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "source holds U+%04X at byte %d, %s: a source is text that shows all it holds; send "
          "it without it",
          cp, i, why));
    }
    prev = cp;
    i += n;
  }
  return absl::OkStatus();
}

}  // namespace govledger
