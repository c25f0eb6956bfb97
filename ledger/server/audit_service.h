// AuditServiceImpl: the gRPC adapter of signed tree heads and proofs (proto/govledger/v1/audit.proto;
// the tree is ledger/merkle_tree.h, the tree head's signed text ledger/tree_head.h).
//
// Every method is asynchronous and raw (async_calls.h parses the requests): the serving thread
// admits the caller and queues the call; one audit thread answers the calls in arrival order,
// each holding it only while it reads a chunk of hashes. Every call needs a viewer: the answers
// hold hashes, never a payload. Sizes are bounded by the head published when the call is
// answered, so a proof never covers an event not yet on disk. Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_AUDIT_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_AUDIT_SERVICE_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "govledger/v1/audit.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/merkle_tree.h"
#include "ledger/server/access_control.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/work_queue.h"

namespace govledger {

using AuditServiceBase = v1::AuditService::WithRawMethod_GetTreeHead<
    v1::AuditService::WithRawMethod_GetInclusionProof<
        v1::AuditService::WithRawMethod_GetConsistencyProof<v1::AuditService::Service>>>;

class AuditServiceImpl final : public AuditServiceBase {
 public:
  // `tree_head_key`: the 32-byte Ed25519 seed tree heads are signed with; empty: unsigned.
  // REQUIRES: `ledger`, `clock` and `access` outlive the service.
  AuditServiceImpl(const Ledger* ledger, const Clock* clock, const AccessControl& access,
                   std::string tree_head_key);
  ~AuditServiceImpl() override;  // Stop()s

  // Serves every method from `cq` (UnaryMethod::Listen).
  void Listen(grpc::ServerCompletionQueue* cq) const;

  // The tree head at the published head, signed when there is a key.
  absl::StatusOr<v1::TreeHead> CurrentTreeHead();

  // Publishes tree heads without being asked: every `seconds`, if the head has moved since the
  // last one, a thread passes the current tree head to `publish` (govledgerd writes it to its
  // log as JSON); at Stop, one more for the head then. The thread first builds the tree (so a
  // log that does not verify is passed on at once, and Stop does not wait for a build). An
  // error is passed on as the tree head's absence, once until another error or a tree head
  // (the same damage is not said at every tick). REQUIRES: called at most once, before Stop.
  void StartPublishing(int seconds, std::function<void(absl::StatusOr<v1::TreeHead>)> publish);

  // Stops a first build of the tree in progress after its current read (MerkleTree::Stop: a
  // long log's would hold the shutdown for seconds; a proof or tree head waiting for it is
  // refused with UNAVAILABLE, and no last tree head is written), ends the audit thread (calls
  // still queued, and any later, are refused with UNAVAILABLE), then the publishing thread
  // (after its last tree head), and waits for them. Call after the gRPC
  // server has shut down, before the ledger is destroyed. Idempotent.
  void Stop();

 private:
  // The answers, on the audit thread.
  absl::StatusOr<v1::TreeHead> TreeHead(const v1::GetTreeHeadRequest& request);
  // INVALID_ARGUMENT for position 0 or past tree_size; OUT_OF_RANGE for a tree_size past the
  // head (naming the head).
  absl::StatusOr<v1::GetInclusionProofResponse> InclusionProof(
      const v1::GetInclusionProofRequest& request);
  // INVALID_ARGUMENT for from_size 0 or past to_size; OUT_OF_RANGE for a to_size past the head.
  absl::StatusOr<v1::GetConsistencyProofResponse> ConsistencyProof(
      const v1::GetConsistencyProofRequest& request);
  // The method whose calls `request_call` requests, answered by `answer` on the audit thread.
  template <typename Request, typename Response>
  UnaryMethod<Request> Method(RequestRawCall request_call, const AccessControl& access,
                              absl::StatusOr<Response> (AuditServiceImpl::*answer)(const Request&));

  const Ledger* const ledger_;
  const Clock* const clock_;
  const std::string tree_head_key_;
  MerkleTree tree_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread publisher_;
  WorkQueue audits_{1, "audit"};
  const UnaryMethod<v1::GetTreeHeadRequest> tree_head_;
  const UnaryMethod<v1::GetInclusionProofRequest> inclusion_proof_;
  const UnaryMethod<v1::GetConsistencyProofRequest> consistency_proof_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_AUDIT_SERVICE_H_
