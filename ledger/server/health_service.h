// HealthServiceImpl: the standard gRPC health service (proto/grpc/health/v1/health.proto) for
// govledgerd's own services. Every service the daemon has, and "" for the daemon as a whole,
// is SERVING from start until Shutdown(), then NOT_SERVING; any other name is NOT_FOUND from
// Check and SERVICE_UNKNOWN from Watch, as the protocol says. While the ledger refuses every
// append (stopped after a storage failure, or paused on a nearly full disk), the appending
// service and "" are NOT_SERVING while the others, which only read, stay SERVING.
//
// Check is answered on the daemon's completion queue (Listen), as the ledger's own calls are,
// so no number of open streams (reflection's, Watch's: both open to every caller) keeps a
// probe from its answer. Watch is a synchronous handler, holding one server thread while open
// (the pool is bounded by DaemonOptions::max_sync_threads); it sees a change within kWatchPoll,
// and Shutdown() ends every Watch (after sending NOT_SERVING) so the server need not wait for
// them. At most `max_watches` Watch streams are open at once; another is refused at once with
// RESOURCE_EXHAUSTED, leaving the pool's other threads to reflection. Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_HEALTH_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_HEALTH_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/server_context.h"

namespace govledger {

class HealthServiceImpl final
    : public grpc::health::v1::Health::WithAsyncMethod_Check<grpc::health::v1::Health::Service> {
 public:
  // `services`: the fully qualified names of the services the daemon serves, among them
  // `append_service`. `appends_refused` tells whether the ledger refuses every append now; it
  // is called on every Check and Watch poll, so it must be cheap and thread-safe.
  HealthServiceImpl(std::vector<std::string> services, std::string append_service,
                    std::function<bool()> appends_refused, int max_watches);

  // Everything NOT_SERVING from now on; open Watch streams send that and end.
  void Shutdown();

  // Starts answering Check calls arriving on `cq`, whose events the daemon's serving thread
  // passes to their CallStep (async_calls.h). REQUIRES: the server is started.
  void Listen(grpc::ServerCompletionQueue* cq);

  // Check's answer to `request`: OK with the status, or NOT_FOUND for a service not served.
  grpc::Status Answer(const grpc::health::v1::HealthCheckRequest& request,
                      grpc::health::v1::HealthCheckResponse* response) const;

  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // The status of `service` now, SERVICE_UNKNOWN for a name the daemon does not serve.
  ServingStatus StatusOf(const std::string& service) const;
  bool shut_down() const;

  const std::vector<std::string> services_;
  const std::string append_service_;
  const std::function<bool()> appends_refused_;
  const int max_watches_;
  std::atomic<int> open_watches_{0};
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool shut_down_ = false;  // guarded by mu_
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_HEALTH_SERVICE_H_
