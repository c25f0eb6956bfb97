#include "cli/table.h"

#include <unistd.h>

#include <locale.h>
#include <wchar.h>

#include <algorithm>
#include <cstdlib>
#include <cwchar>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace govledger::cli {
namespace {

constexpr absl::string_view kEmpty = "-";

const std::string& Shown(const Cell& cell) {
  static const std::string* const kDash = new std::string(kEmpty);
  return cell.text.empty() ? *kDash : cell.text;
}

std::string Pad(size_t n) { return std::string(n, ' '); }

// `text` padded to `width` columns on the left or right; `painted` is what is printed in place
// of `text` (the same text, perhaps coloured).
std::string Aligned(const std::string& text, const std::string& painted, size_t width, bool right) {
  const size_t w = DisplayWidth(text);
  const std::string pad = Pad(width > w ? width - w : 0);
  return right ? absl::StrCat(pad, painted) : absl::StrCat(painted, pad);
}

}  // namespace

std::string MarkdownText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // the \n follows
    if (c == '\n' || c == '\t') {  // a tab would be code or a cell break to some renderers
      out.push_back(' ');
      continue;
    }
    if (absl::string_view("\\`*_[]<>|~&#").find(c) != absl::string_view::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false) {}

void Table::AlignRight(size_t column) { right_.at(column) = true; }

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(headers_.size(), Cell(""));
  rows_.push_back(std::move(cells));
}

std::string Table::Render(bool colour) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const std::vector<Cell>& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(Shown(row[c])));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& texts, const std::vector<std::string>& painted) {
    std::string l;
    for (size_t c = 0; c < texts.size(); ++c) {
      if (c > 0) l += "  ";
      l += Aligned(texts[c], painted[c], widths[c], right_[c]);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    absl::StrAppend(&out, l, "\n");
  };
  line(headers_, headers_);
  for (const std::vector<Cell>& row : rows_) {
    std::vector<std::string> texts, painted;
    for (const Cell& cell : row) {
      texts.push_back(Shown(cell));
      painted.push_back(Paint(Shown(cell), cell.style, colour));
    }
    line(texts, painted);
  }
  return out;
}

std::string Table::RenderMarkdown() const {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({});
  for (const std::string& h : headers_) cells.back().push_back(MarkdownText(h));
  for (const std::vector<Cell>& row : rows_) {
    cells.push_back({});
    for (const Cell& cell : row) cells.back().push_back(MarkdownText(Shown(cell)));
  }
  std::vector<size_t> widths(headers_.size(), 3);
  for (const std::vector<std::string>& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  for (size_t r = 0; r < cells.size(); ++r) {
    std::string l = "|";
    for (size_t c = 0; c < cells[r].size(); ++c) {
      absl::StrAppend(&l, " ", Aligned(cells[r][c], cells[r][c], widths[c], right_[c]), " |");
    }
    absl::StrAppend(&out, l, "\n");
    if (r == 0) {
      std::string rule = "|";
      for (size_t c = 0; c < headers_.size(); ++c) {
        absl::StrAppend(&rule, " ", std::string(widths[c] - (right_[c] ? 1 : 0), '-'),
                        right_[c] ? ":" : "", " |");
      }
      absl::StrAppend(&out, rule, "\n");
    }
  }
  return out;
}

size_t DisplayWidth(absl::string_view text) {
  // wcwidth under the C.UTF-8 locale (glibc's tables of the Unicode version it was built
  // with), set for this thread only while measuring: the process's locale stays "C".
  static const locale_t kUtf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  if (kUtf8 == locale_t{}) {  // no such locale: a column per code point
    return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char ch) {
      return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    }));
  }
  const locale_t previous = ::uselocale(kUtf8);
  size_t n = 0;
  std::mbstate_t state{};
  for (size_t i = 0; i < text.size();) {
    wchar_t wc = 0;
    const size_t used = std::mbrtowc(&wc, text.data() + i, text.size() - i, &state);
    if (used == 0 || used > text.size() - i) {  // a NUL, or bytes that are not UTF-8
      ++n;
      ++i;
      state = std::mbstate_t{};
      continue;
    }
    const int w = ::wcwidth(wc);
    n += w < 0 ? 1 : static_cast<size_t>(w);  // a control (shown escaped anyway) counts 1
    i += used;
  }
  ::uselocale(previous);
  return n;
}

bool ShouldColour(bool stdout_is_terminal, const char* no_color) {
  return stdout_is_terminal && (no_color == nullptr || *no_color == '\0');
}

bool StdoutWantsColour() {
  return ShouldColour(::isatty(STDOUT_FILENO) == 1, std::getenv("NO_COLOR"));
}

std::string Paint(absl::string_view text, Style style, bool colour) {
  if (!colour || style == Style::kPlain) return std::string(text);
  const char* code = style == Style::kGreen ? "32" : style == Style::kAmber ? "33" : "31";
  return absl::StrCat("\x1b[1;", code, "m", text, "\x1b[0m");
}

Style RagStyle(v1::Rag rag) { return RatingTextStyle(RagText(rag)); }

Cell RagCell(v1::Rag rag) { return Cell(RagText(rag), RagStyle(rag)); }

Style ConfidenceStyle(v1::DeliveryConfidence confidence) {
  return RatingTextStyle(ConfidenceText(confidence));
}

Cell ConfidenceCell(v1::DeliveryConfidence confidence) {
  return Cell(ConfidenceText(confidence), ConfidenceStyle(confidence));
}

Style RatingTextStyle(absl::string_view text) {
  if (text == "GREEN") return Style::kGreen;
  if (text == "AMBER" || text == "AMBER/GREEN" || text == "AMBER/RED") return Style::kAmber;
  if (text == "RED") return Style::kRed;
  return Style::kPlain;
}

}  // namespace govledger::cli
