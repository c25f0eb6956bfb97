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
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"
#include "ledger/common/errors.h"

namespace govledger {

// The most of a status message, and of each ErrorInfo metadata value, sent. gRPC sends both
// in the call's trailing metadata (the message percent-encoded, up to three bytes a byte; the
// details in base64), and a client refuses trailers over its limit (8 KiB by default) whole,
// as RESOURCE_EXHAUSTED, a code that says "retry later": a message echoing a 20,000-character
// id would hide the real status behind it.
inline constexpr size_t kMaxStatusMessageBytes = 1024;
using errors::kMaxErrorMetadataBytes;

// `text` cut at a UTF-8 character boundary and ending "... (N more bytes cut)", at most `max`
// bytes in all; `text` itself when it fits. REQUIRES: `max` leaves room for the ending.
inline std::string CutForStatus(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  // The ending is longest when N has as many digits as the text's size.
  const size_t ending =
      std::string("... ( more bytes cut)").size() + std::to_string(text.size()).size();
  size_t end = max > ending ? max - ending : 0;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "... (" + std::to_string(text.size() - end) +
         " more bytes cut)";
}

// The absl codes and gRPC codes share numbers; the message is kept as is up to
// kMaxStatusMessageBytes. A status with an ErrorInfo (errors::WithReason) also carries a
// google.rpc.Status with the same code and message and the ErrorInfo as its one detail:
// grpc-status-details-bin, where gRPC's client libraries look.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message = CutForStatus(status.message(), kMaxStatusMessageBytes);
  std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(status);
  if (!info) return grpc::Status(code, message);
  for (auto& [key, value] : *info->mutable_metadata()) {
    if (value.size() > kMaxErrorMetadataBytes) value = CutForStatus(value, kMaxErrorMetadataBytes);
  }
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(status.code()));
  details.set_message(message);
  details.add_details()->PackFrom(*info);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_GRPC_STATUS_H_
