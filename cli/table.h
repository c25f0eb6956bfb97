// Output for people: aligned text tables (kubectl style), Markdown tables, and the colour of
// ratings. Colour is only ever given to ratings (RAG and delivery confidence), and only when
// stdout is a terminal and NO_COLOR is unset or empty (https://no-color.org).
//
// Widths count Unicode code points of UTF-8 text (so "£" is one column), never the escape codes
// of colour. Thread-compatible: a Table is a plain value.
#ifndef GOVLEDGER_CLI_TABLE_H_
#define GOVLEDGER_CLI_TABLE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "govledger/v1/events.pb.h"
#include "projections/queries.h"

namespace govledger::cli {

// The colour of a cell; kPlain for everything that is not a rating.
enum class Style { kPlain, kGreen, kAmber, kRed };

struct Cell {
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: implicit, for brace lists of rows
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t, Style s) : text(std::move(t)), style(s) {}

  std::string text;
  Style style = Style::kPlain;
};

// A table of rows under a header. An empty cell is shown as "-".
class Table {
 public:
  // `headers`: one per column, shown as given (the text renderer does not change case).
  explicit Table(std::vector<std::string> headers);

  // Right-aligns `column` (numbers, amounts). REQUIRES: column < the number of headers.
  void AlignRight(size_t column);

  // Missing trailing cells are empty. REQUIRES: at most one cell per column.
  void AddRow(std::vector<Cell> cells);

  size_t rows() const { return rows_.size(); }

  // The header, then one line per row: columns padded to their widest cell and separated by
  // two spaces, no trailing spaces, each line ending in "\n". With `colour`, styled cells are
  // wrapped in ANSI SGR codes (the padding stays outside them).
  std::string Render(bool colour) const;

  // A GitHub-flavoured Markdown pipe table, never coloured; every cell is MarkdownText.
  std::string RenderMarkdown() const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<Cell>> rows_;
};

// `text` as Markdown that renders as the text itself, on one line: a line break ("\n" or
// "\r\n") or a tab becomes a space, and each character Markdown or HTML could act on
// (\ ` * _ [ ] < > | ~ & #) is escaped with a backslash, so that stored text cannot add a
// link, an image, emphasis, a table cell or an HTML comment hiding what follows it.
std::string MarkdownText(absl::string_view text);

// Columns `text` takes on a terminal: two for a wide character (CJK, most emoji), none for a
// combining mark or a zero-width character, one for the rest (wcwidth's answer in C.UTF-8, a
// column per code point where that locale is missing; a byte that is not UTF-8 counts one).
size_t DisplayWidth(absl::string_view text);

// The colour decision: true only when stdout is a terminal and `no_color` (the value of
// NO_COLOR, nullptr when unset) is unset or empty.
bool ShouldColour(bool stdout_is_terminal, const char* no_color);

// ShouldColour for this process's stdout and environment.
bool StdoutWantsColour();

// `text` wrapped in the SGR codes of `style` when `colour` and style is not kPlain; else `text`.
std::string Paint(absl::string_view text, Style style, bool colour);

// Ratings as the answers word them (projections/queries.h); the CLI colours them.
using projections::ConfidenceText;
using projections::RagText;

Style RagStyle(v1::Rag rag);
// A rating cell: RagText and RagStyle ("-" when unrated).
Cell RagCell(v1::Rag rag);

// AMBER/GREEN and AMBER/RED are coloured amber.
Style ConfidenceStyle(v1::DeliveryConfidence confidence);
Cell ConfidenceCell(v1::DeliveryConfidence confidence);

// The style of a rating given as text (RagText or ConfidenceText output); kPlain for any other
// text.
Style RatingTextStyle(absl::string_view text);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_TABLE_H_
