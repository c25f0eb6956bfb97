#include "ledger/server/async_calls.h"

namespace govledger {

void ServeCalls(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<CallStep*>(tag)->Proceed(ok);
}

}  // namespace govledger
