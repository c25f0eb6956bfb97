// Matchers the unit tests share beyond tests/testutil.h.
#ifndef GOVLEDGER_TESTS_UNIT_MATCHERS_H_
#define GOVLEDGER_TESTS_UNIT_MATCHERS_H_

#include <gmock/gmock.h>

#include "absl/status/statusor.h"

namespace govledger::testing {

// EXPECT_THAT(status_or, IsOkAndHolds(value_or_matcher));
MATCHER_P(IsOkAndHolds, value_matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_UNIT_MATCHERS_H_
