// LedgerServiceImpl: the gRPC adapter of the Ledger (proto in, proto out, no logic beyond
// mapping statuses, reading the caller's actor and pacing subscriptions). Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_

#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/ledger.h"

namespace govledger {

// Metadata key a client may use to name who appends (see README, "Actors").
inline constexpr char kActorMetadataKey[] = "govledger-actor";

// Append, Read and GetHead use gRPC's callback API: an append waiting for its group commit
// holds no thread, and Read sends stored bytes without re-encoding them. Append and Read take
// raw bytes and parse them here, so that a request that does not parse is INVALID_ARGUMENT
// with a message (gRPC's typed callback handlers answer UNIMPLEMENTED with no message).
// Subscribe is a synchronous handler: each subscription holds one server thread while open.
using LedgerServiceBase = v1::LedgerService::WithRawCallbackMethod_Append<
    v1::LedgerService::WithRawCallbackMethod_Read<
        v1::LedgerService::WithCallbackMethod_GetHead<v1::LedgerService::Service>>>;

class LedgerServiceImpl final : public LedgerServiceBase {
 public:
  // REQUIRES: `ledger` outlives the service.
  explicit LedgerServiceImpl(Ledger* ledger) : ledger_(ledger) {}

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetHead(grpc::CallbackServerContext* context,
                                    const v1::GetHeadRequest* request,
                                    v1::GetHeadResponse* response) override;
  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::Event>* writer) override;

 private:
  Ledger* const ledger_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
