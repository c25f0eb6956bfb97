// Whole numbers written as text: the one rule every number the programs parse by hand follows
// (flags parsed by CLI11 use flags.h's WholeNumberIn, the same rule).
#ifndef GOVLEDGER_LEDGER_COMMON_NUMBERS_H_
#define GOVLEDGER_LEDGER_COMMON_NUMBERS_H_

#include <charconv>
#include <string_view>
#include <system_error>

namespace govledger {

// `text` as a whole number written in decimal digits alone (no sign, no space), at most `max`:
// what every numeric argument the programs parse by hand takes (a position, a week, a stream
// version), as WholeNumberIn does for flags.
template <typename Int>
bool ParseWholeNumber(std::string_view text, Int max, Int* out) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  Int value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value > max) return false;
  *out = value;
  return true;
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_NUMBERS_H_
