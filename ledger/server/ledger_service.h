// LedgerServiceImpl: the gRPC adapter of the Ledger (proto in, proto out, no logic beyond
// mapping statuses, admitting callers and pacing subscriptions). Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_

#include <shared_mutex>

#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/ledger.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/subscriptions.h"
#include "ledger/server/work_queue.h"

namespace govledger {

// Every method is asynchronous: Append, Read and GetHead as unary calls (async_calls.h), an
// append waiting for its group commit holding no thread (the ledger's acknowledgement answers
// it), Read pages built on two reader threads of the service's own from stored bytes without
// re-encoding them; Subscribe as a stream (subscriptions.h) that holds no thread while it
// waits, its pages read on reader threads of their own (page_readers_, below).
using LedgerServiceBase = v1::LedgerService::WithRawMethod_Append<
    v1::LedgerService::WithRawMethod_Read<v1::LedgerService::WithRawMethod_Subscribe<
        v1::LedgerService::WithRawMethod_GetHead<v1::LedgerService::Service>>>>;

class LedgerServiceImpl final : public LedgerServiceBase {
 public:
  // Callers are admitted by `access`: Append needs a writer, Read and Subscribe a reader,
  // GetHead a viewer. At most `max_subscriptions` subscriptions are open at once. REQUIRES:
  // `ledger` and `access` outlive the service.
  LedgerServiceImpl(Ledger* ledger, const AccessControl& access, int max_subscriptions,
                    int max_subscriptions_per_token);

  // Serves every method from `cq`, Subscribe's writes completing on `streams` (see
  // UnaryMethod::Listen, Subscriptions::Listen).
  // REQUIRES: the ledger stays open until Stop() has returned (appends in flight answer their
  // calls from the ledger's threads; the ledger finishes them when it closes).
  void Listen(grpc::ServerCompletionQueue* cq, grpc::CompletionQueue* streams);

  // Ends the reader threads and the subscriptions' waiting thread. From its return no call
  // touches the ledger: Read calls still queued, and every Append, Read and GetHead whose
  // arrival is handled later (one still queued when the server's shutdown deadline passed),
  // are UNAVAILABLE. Call after the gRPC server has shut down, before the ledger closes.
  // Idempotent.
  void Stop();

  int subscriptions_open() const { return subscriptions_.open(); }

 private:
  void Append(UnaryCall<v1::AppendRequest>* call) const;
  void Read(UnaryCall<v1::ReadRequest>* call);
  void GetHead(UnaryCall<v1::GetHeadRequest>* call) const;

  Ledger* const ledger_;
  // Held shared while a handler uses the ledger, exclusively by Stop() to set stopped_.
  mutable std::shared_mutex mu_;
  bool stopped_ = false;  // guarded by mu_
  // Read calls, and only they: the backlog limit counts Read calls, and a Read never waits
  // behind subscriptions' pages.
  WorkQueue readers_{2, "ledger-reader"};
  // Read calls that may wait for a reader thread (QueueCall).
  static constexpr size_t kMaxWaitingReads = 256;
  // Subscriptions' pages, which always queue: every append wakes each live subscription.
  WorkQueue page_readers_{2, "page-reader"};
  UnaryMethod<v1::AppendRequest> append_;
  UnaryMethod<v1::ReadRequest> read_;
  UnaryMethod<v1::GetHeadRequest> get_head_;
  Subscriptions subscriptions_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_LEDGER_SERVICE_H_
