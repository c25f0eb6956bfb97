// Calls of methods govledgerd does not have, answered UNIMPLEMENTED with a message that names
// the method and what the daemon does serve (gRPC's own answer has no message at all). Served
// as an asynchronous generic service on the daemon's completion queue (async_calls.h), so it
// holds no thread.
#ifndef GOVLEDGER_LEDGER_SERVER_UNKNOWN_METHODS_H_
#define GOVLEDGER_LEDGER_SERVER_UNKNOWN_METHODS_H_

#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/async_generic_service.h>

#include <string>
#include <vector>

namespace govledger {

class UnknownMethods {
 public:
  // `services`: the fully qualified names of the services the daemon serves, each of which
  // the generated descriptor pool describes (their methods are listed from it).
  explicit UnknownMethods(std::vector<std::string> services);

  // To register with the server (ServerBuilder::RegisterAsyncGenericService).
  grpc::AsyncGenericService* service() { return &service_; }

  // Waits for such calls on `cq`, `slots` at a time. REQUIRES: service() is registered with
  // the server that owns `cq`, which has started; this object outlives the draining of `cq`.
  void Listen(grpc::ServerCompletionQueue* cq, int slots = 2);

  // What a call of `method` ("/package.Service/Method") is told.
  std::string MessageFor(const std::string& method) const;

 private:
  class Call;
  void Await(grpc::ServerCompletionQueue* cq);

  const std::vector<std::string> services_;
  grpc::AsyncGenericService service_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_UNKNOWN_METHODS_H_
