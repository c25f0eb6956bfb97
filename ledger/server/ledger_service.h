// LedgerServiceImpl: the gRPC adapter of the Ledger (proto in, proto out, no logic beyond
// mapping statuses, reading the caller's actor and pacing subscriptions). Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_

#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/ledger.h"

namespace govledger {

// Metadata key a client may use to name who appends (see README, "Actors").
inline constexpr char kActorMetadataKey[] = "govledger-actor";

class LedgerServiceImpl final : public v1::LedgerService::Service {
 public:
  // REQUIRES: `ledger` outlives the service.
  explicit LedgerServiceImpl(Ledger* ledger) : ledger_(ledger) {}

  grpc::Status Append(grpc::ServerContext* context, const v1::AppendRequest* request,
                      v1::AppendResponse* response) override;
  grpc::Status Read(grpc::ServerContext* context, const v1::ReadRequest* request,
                    v1::ReadResponse* response) override;
  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::Event>* writer) override;
  grpc::Status GetHead(grpc::ServerContext* context, const v1::GetHeadRequest* request,
                       v1::GetHeadResponse* response) override;

 private:
  Ledger* const ledger_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
