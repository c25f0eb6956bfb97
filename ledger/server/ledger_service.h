// LedgerServiceImpl: the gRPC adapter of the Ledger (proto in, proto out, no logic beyond
// mapping statuses, admitting callers and pacing subscriptions). Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_

#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/ledger.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/work_queue.h"

namespace govledger {

// Append, Read and GetHead are asynchronous methods (async_calls.h): an append waiting for
// its group commit holds no thread, the ledger's acknowledgement answers it; Read pages are
// built on two reader threads of the service's own, from stored bytes without re-encoding
// them. Subscribe is a synchronous handler: each
// subscription holds one server thread while open.
using LedgerServiceBase = v1::LedgerService::WithRawMethod_Append<
    v1::LedgerService::WithRawMethod_Read<
        v1::LedgerService::WithRawMethod_GetHead<v1::LedgerService::Service>>>;

class LedgerServiceImpl final : public LedgerServiceBase {
 public:
  // Callers are admitted by `access`: Append needs a writer, the rest a reader. REQUIRES:
  // `ledger` and `access` outlive the service.
  LedgerServiceImpl(Ledger* ledger, const AccessControl& access);

  // Serves Append, Read and GetHead from `cq` (see UnaryMethod::Listen). REQUIRES: the
  // ledger stays open until `cq` is drained (appends in flight answer their calls).
  void Listen(grpc::ServerCompletionQueue* cq) const;

  // Ends the reader threads; Read calls still queued, and any later, are UNAVAILABLE. Call
  // after the gRPC server has shut down. Idempotent.
  void Stop() { readers_.Stop(); }

  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::Event>* writer) override;

 private:
  void Append(UnaryCall<v1::AppendRequest>* call) const;
  void Read(UnaryCall<v1::ReadRequest>* call);
  void GetHead(UnaryCall<v1::GetHeadRequest>* call) const;

  Ledger* const ledger_;
  const AccessControl& access_;
  WorkQueue readers_{2, "ledger-reader"};
  UnaryMethod<v1::AppendRequest> append_;
  UnaryMethod<v1::ReadRequest> read_;
  UnaryMethod<v1::GetHeadRequest> get_head_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
