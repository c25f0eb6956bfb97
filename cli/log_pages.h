// Calls on LedgerService that the CLI's log commands (event_commands.h) and its checks
// (audit_commands.h) share: the head, and pages of the log as the server stored them.
#ifndef GOVLEDGER_CLI_LOG_PAGES_H_
#define GOVLEDGER_CLI_LOG_PAGES_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "govledger/v1/ledger.grpc.pb.h"

namespace govledger::cli {

// LedgerService.GetHead into `*head`.
grpc::Status GetHead(v1::LedgerService::Stub& stub, v1::GetHeadResponse* head);

// The stored events of one Read page, as the server framed them (field 1 of ReadResponse, each
// the stored bytes of one event, never re-encoded), and its `next`.
struct RawPage {
  std::vector<std::string> events;
  uint64_t next = 0;
};

// A ReadResponse's bytes as RawPage; DATA_LOSS when they do not parse.
absl::StatusOr<RawPage> ParseRawPage(const std::string& wire);

// LedgerService.Read through `stub`, its response's bytes into `*wire` untouched (ParseRawPage
// reads them), so that events keep the bytes their hashes cover, fields this version does not
// know included.
grpc::Status RawRead(grpc::GenericStub& stub, const v1::ReadRequest& request, std::string* wire);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_LOG_PAGES_H_
