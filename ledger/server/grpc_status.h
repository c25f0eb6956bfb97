// The one conversion from absl::Status to grpc::Status: the adapters use it for every status the
// ledger, the store and the projections return, and for those they decide themselves with a
// reason (a subscription refused or ended at shutdown, a tree size past the head). The rest
// they decide (a request that does not parse, a health check of an unknown service) they build
// as grpc::Status where they decide it, with the codes of ledger/common/errors.h's table;
// gRPC's own codes (a cancelled call, a refused stream) pass through.
#ifndef GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_
#define GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"
#include "ledger/common/errors.h"

namespace govledger {

// The absl codes and gRPC codes share numbers; the message is kept as is. A status with an
// ErrorInfo (errors::WithReason) also carries a google.rpc.Status with the same code and
// message and the ErrorInfo as its one detail: grpc-status-details-bin, where gRPC's client
// libraries look.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(status);
  if (!info) return grpc::Status(code, std::string(status.message()));
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(status.code()));
  details.set_message(std::string(status.message()));
  details.add_details()->PackFrom(*info);
  return grpc::Status(code, std::string(status.message()), details.SerializeAsString());
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_
