// RETURN_IF_ERROR and ASSIGN_OR_RETURN: Debian's abseil (20220623) does not ship them.
#ifndef GOVLEDGER_LEDGER_COMMON_STATUS_MACROS_H_
#define GOVLEDGER_LEDGER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GOVLEDGER_CONCAT_INNER_(a, b) a##b
#define GOVLEDGER_CONCAT_(a, b) GOVLEDGER_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function unless it is OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    if (absl::Status _st = (expr); !_st.ok()) {    \
      return _st;                                  \
    }                                              \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr `expr`; returns its status on error,
// otherwise moves the value into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(GOVLEDGER_CONCAT_(_status_or_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // GOVLEDGER_LEDGER_COMMON_STATUS_MACROS_H_
