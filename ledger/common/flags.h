// Checks of numeric command-line flags shared by govledgerd and the CLI (both parse with CLI11;
// header-only, so govledger_base itself does not depend on CLI11).
#ifndef GOVLEDGER_LEDGER_COMMON_FLAGS_H_
#define GOVLEDGER_LEDGER_COMMON_FLAGS_H_

#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "ledger/common/numbers.h"

namespace govledger {

// A whole number from `lo` (at least 0) to `hi`, written in decimal digits (ParseWholeNumber).
// Anything else, "abc", "1.5" or a number out of range, is refused as "'abc' is not a whole
// number from 1 to 3660" (CLI11's own Range says "Value abc not in range", as if "abc" were a
// number).
template <typename T>
CLI::Validator WholeNumberIn(T lo, T hi) {
  const std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        T value{};
        if (!ParseWholeNumber(std::string_view(text), hi, &value) || value < lo) {
          return "'" + text + "' is not a whole number from " + range;
        }
        return std::string();
      },
      "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_COMMON_FLAGS_H_
