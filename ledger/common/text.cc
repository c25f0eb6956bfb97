#include "ledger/common/text.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace govledger {
namespace {

// Whether the character `cp` at `i` in `text` is a line break or tab kept as it is.
bool Kept(absl::string_view text, size_t i, uint32_t cp, LineBreaks line_breaks) {
  if (line_breaks != LineBreaks::kKeep) return false;
  return cp == '\n' || cp == '\t' || (cp == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
}

bool NeedsEscapes(absl::string_view text, LineBreaks line_breaks) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    const size_t n = Utf8Length(text.substr(i), &cp);
    if (n == 0 || (ActsRatherThanShows(cp) && !Kept(text, i, cp, line_breaks))) return true;
    i += n;
  }
  return false;
}

}  // namespace

size_t Utf8Length(absl::string_view s, uint32_t* code_point) {
  if (s.empty()) return 0;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t n;
  uint32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

std::string PrintableText(absl::string_view text, LineBreaks line_breaks) {
  if (!NeedsEscapes(text, line_breaks)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    const size_t n = Utf8Length(text.substr(i), &cp);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint8_t>(text[i]));
      ++i;
      continue;
    }
    if (!ActsRatherThanShows(cp) || Kept(text, i, cp, line_breaks)) {
      out.append(text.data() + i, n);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x80) {
      absl::StrAppendFormat(&out, "\\x%02x", cp);
    } else {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
    }
    i += n;
  }
  return out;
}

NameLookAlikes FindLookAlikes(absl::string_view name) {
  NameLookAlikes out;
  for (size_t i = 0; i < name.size();) {
    uint32_t c = 0;
    const size_t n = std::max<size_t>(1, Utf8Length(name.substr(i), &c));
    if (out.hidden_at == NameLookAlikes::kNone &&
        (c == '\t' || c == '\n' || c == '\r' || InvisibleInName(c))) {
      out.hidden = c;
      out.hidden_at = i;
    }
    if (const char* script = LookAlikeScript(c);
        script != nullptr && out.mixed_at == NameLookAlikes::kNone) {
      if (out.first_script == nullptr) {
        out.first_script = script;
      } else if (script != out.first_script) {
        out.mixed = c;
        out.mixed_at = i;
        out.other_script = script;
      }
    }
    i += n;
  }
  return out;
}

}  // namespace govledger
