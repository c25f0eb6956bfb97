// AuditServiceImpl: the gRPC adapter of signed tree heads and proofs (proto/govledger/v1/audit.proto;
// the tree is ledger/merkle_tree.h, the tree head's signed text ledger/tree_head.h).
//
// Synchronous handlers: auditors' calls are few, and each holds a server thread only while it
// reads a chunk of hashes. Every call needs a viewer: the answers hold hashes, never a payload.
// Sizes are bounded by the head published when the call arrives, so a proof never covers an
// event not yet on disk. Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_AUDIT_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_AUDIT_SERVICE_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "govledger/v1/audit.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/merkle_tree.h"
#include "ledger/server/access_control.h"

namespace govledger {

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  // `tree_head_key`: the 32-byte Ed25519 seed tree heads are signed with; empty: unsigned.
  // REQUIRES: `ledger`, `clock` and `access` outlive the service's calls.
  AuditServiceImpl(const Ledger* ledger, const Clock* clock, const AccessControl& access,
                   std::string tree_head_key);
  ~AuditServiceImpl() override;  // Stop()s

  // The tree head at the published head, signed when there is a key.
  absl::StatusOr<v1::TreeHead> CurrentTreeHead();

  // Publishes tree heads without being asked: every `seconds`, if the head has moved since the
  // last one, a thread passes the current tree head to `publish` (govledgerd writes it to its
  // log as JSON); at Stop, one more for the head then. An error is passed on as the tree head's
  // absence. REQUIRES: called at most once, before Stop.
  void StartPublishing(int seconds, std::function<void(absl::StatusOr<v1::TreeHead>)> publish);

  // Ends the publishing thread (after its last tree head) and waits for it, then saves the
  // tree's chunk roots (synced). Call before the ledger is destroyed. Idempotent.
  void Stop();

  grpc::Status GetTreeHead(grpc::ServerContext* context, const v1::GetTreeHeadRequest* request,
                             v1::TreeHead* response) override;
  // INVALID_ARGUMENT for position 0 or past tree_size; OUT_OF_RANGE for a tree_size past the
  // head (naming the head).
  grpc::Status GetInclusionProof(grpc::ServerContext* context,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::GetInclusionProofResponse* response) override;
  // INVALID_ARGUMENT for from_size 0 or past to_size; OUT_OF_RANGE for a to_size past the head.
  grpc::Status GetConsistencyProof(grpc::ServerContext* context,
                                   const v1::GetConsistencyProofRequest* request,
                                   v1::GetConsistencyProofResponse* response) override;

 private:
  const Ledger* const ledger_;
  const Clock* const clock_;
  const AccessControl& access_;
  const std::string tree_head_key_;
  MerkleTree tree_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread publisher_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_AUDIT_SERVICE_H_
