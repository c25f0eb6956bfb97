// The one conversion from absl::Status to grpc::Status: the adapters use it for every status the
// ledger, the store and the projections return. What the adapters decide themselves (a request
// that does not parse, a subscription refused or ended at shutdown, a tree size past the head)
// they build as grpc::Status where they decide it, with the codes of ledger/common/errors.h's
// table; gRPC's own codes (a cancelled call, a refused stream) pass through.
#ifndef GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_
#define GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace govledger {

// The absl codes and gRPC codes share numbers; the message is kept as is.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_
