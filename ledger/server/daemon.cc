#include "ledger/server/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "ledger/common/status_macros.h"
#include "ledger/server/ledger_service.h"
#include "ledger/server/query_service.h"
#include "projections/governance_validator.h"

namespace govledger {

// Largest gRPC message in either direction: an append of the largest size plus framing.
constexpr int kMaxMessageBytes = 64 << 20;

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options,
                                                      const Clock* clock) {
  std::unique_ptr<Daemon> daemon(new Daemon());
  daemon->options_ = options;
  ASSIGN_OR_RETURN(daemon->store_, RocksDbEventStore::Open(options.data_dir, options.rocksdb));
  daemon->validator_ = std::make_unique<projections::GovernanceValidator>();
  ASSIGN_OR_RETURN(daemon->ledger_, Ledger::Open(daemon->store_.get(), clock, options.ledger,
                                                 daemon->validator_.get()));
  daemon->ledger_service_ = std::make_unique<LedgerServiceImpl>(daemon->ledger_.get());
  daemon->query_service_ = std::make_unique<QueryServiceImpl>(daemon->ledger_.get(), clock);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &daemon->port_);
  builder.RegisterService(daemon->ledger_service_.get());
  builder.RegisterService(daemon->query_service_.get());
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // Refuse a port another process already serves on (gRPC allows sharing by default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  daemon->server_ = builder.BuildAndStart();
  if (daemon->server_ == nullptr || daemon->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen,
                                               "; is the address valid and the port free?"));
  }
  return daemon;
}

void Daemon::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (ledger_ != nullptr) ledger_->CloseSubscriptions();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(options_.shutdown_grace_seconds));
    server_->Wait();
  }
  ledger_.reset();  // commits what is queued, then stops the writer
  validator_.reset();
  store_.reset();   // closes the database
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace govledger
