// Small helpers for propagating absl::Status through call chains.
// Thread-safe: these are pure macros with no state.
#ifndef AGORA_COMMON_STATUS_MACROS_H_
#define AGORA_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AGORA_CONCAT_INNER_(a, b) a##b
#define AGORA_CONCAT_(a, b) AGORA_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define AGORA_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::absl::Status agora_status_ = (expr);       \
    if (!agora_status_.ok()) return agora_status_; \
  } while (0)

// `lhs = value of expr` if expr (an absl::StatusOr<T>) is OK, else returns its status.
#define AGORA_ASSIGN_OR_RETURN(lhs, expr) \
  AGORA_ASSIGN_OR_RETURN_IMPL_(AGORA_CONCAT_(agora_statusor_, __LINE__), lhs, expr)
#define AGORA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#endif  // AGORA_COMMON_STATUS_MACROS_H_
