// Text that acts rather than shows, and the UTF-8 decoding that finds it: one definition for
// what the ledger refuses in stored text (an actor, ledger/envelope.cc; a governance event's
// text fields, projections/governance_state.cc), what its error messages quote of a refused
// name, and what the CLI escapes when it shows text stored before those checks, or in opaque
// events (PrintableText, below; cli/printable.h).
#ifndef GOVLEDGER_LEDGER_COMMON_TEXT_H_
#define GOVLEDGER_LEDGER_COMMON_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace govledger {

// The length of the well-formed UTF-8 sequence at the start of `s` (1 to 4), with its code
// point in `*code_point`; 0 when `s` is empty or its first byte does not start one (RFC 3629:
// no overlong forms, no surrogates, at most U+10FFFF).
size_t Utf8Length(absl::string_view s, uint32_t* code_point);

// Whether `cp` is a bidirectional mark (U+061C, U+200E, U+200F), embedding, override or
// isolate (U+202A to U+202E, U+2066 to U+2069), which shows the text around it reordered:
// "approve U+202E 000,037" reads as "approve 730,000", and so does "000,730" with right-to-left
// marks around its digits.
constexpr bool IsBidiControl(uint32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// Unicode's White_Space characters: the ASCII ones, NEL, the no-break, ogham, en to hair,
// line and paragraph, narrow no-break, medium mathematical and ideographic spaces.
constexpr bool IsWhiteSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Whether `c` does not show as itself in a name: a format or variation character (U+200B,
// U+FEFF, bidirectional controls, tags, shorthand format controls, musical symbol beams...:
// Unicode's Default_Ignorable_Code_Point), the Egyptian hieroglyph format controls (format
// characters that show nothing of their own), a filler or the braille blank (U+2800), a line
// or paragraph separator, or a space other than U+0020.
constexpr bool InvisibleInName(char32_t c) {
  return c == 0x00A0 || c == 0x00AD || c == 0x034F || c == 0x061C || c == 0x115F || c == 0x1160 ||
         c == 0x17B4 || c == 0x17B5 || (c >= 0x180B && c <= 0x180F) ||
         (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
         (c >= 0x205F && c <= 0x206F) || c == 0x2800 || c == 0x3000 || c == 0x3164 ||
         (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFFF0 && c <= 0xFFFB) || (c >= 0x13430 && c <= 0x1343F) ||
         (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE0FFF);
}

// The script of a letter among those whose letters look alike (Latin "e", Cyrillic "е", Greek
// "ο"): nullptr for any other character. A name mixing two of them can pass for another.
constexpr const char* LookAlikeScript(char32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
      (c >= 0x00C0 && c <= 0x024F && c != 0x00D7 && c != 0x00F7)) {
    return "Latin";
  }
  if ((c >= 0x0370 && c <= 0x03FF) || (c >= 0x1F00 && c <= 0x1FFF)) return "Greek";
  if (c >= 0x0400 && c <= 0x052F) return "Cyrillic";
  return nullptr;
}

// What in a name would let it pass for another (a key's holder or role, an actor): the first
// character that does not show as itself (a tab, a line break, or InvisibleInName), and the
// first letter of a second of the look-alike scripts (LookAlikeScript). A byte that starts no
// well-formed UTF-8 sequence is passed over.
struct NameLookAlikes {
  static constexpr size_t kNone = static_cast<size_t>(-1);
  size_t hidden_at = kNone;  // byte
  uint32_t hidden = 0;
  size_t mixed_at = kNone;  // byte
  uint32_t mixed = 0;
  const char* first_script = nullptr;  // the script of the letters before mixed_at
  const char* other_script = nullptr;  // mixed's
};
NameLookAlikes FindLookAlikes(absl::string_view name);

// Whether `cp` acts rather than shows: a control character (C0, DEL, C1: U+0080 to U+009F),
// which a terminal acts on (a carriage return or an escape sequence overwrites what was
// printed before it), or a bidirectional control (IsBidiControl). Line breaks and tabs are
// among the controls: where text may hold them, the caller lets them through.
constexpr bool ActsRatherThanShows(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || IsBidiControl(cp);
}

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
// Everything else is unchanged (other Unicode text shows as it is), "\" included. Text without such characters is returned as it
// is, so PrintableText(PrintableText(t)) == PrintableText(t).
std::string PrintableText(absl::string_view text,
                          LineBreaks line_breaks = LineBreaks::kEscape);

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_TEXT_H_
