#include "ledger/server/audit_service.h"

#include <pthread.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/tree_head.h"
#include "ledger/crypto/sha256.h"
#include "ledger/common/errors.h"
#include "ledger/server/grpc_status.h"

namespace govledger {
namespace {

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

// OUT_OF_RANGE for a size past the head; `*size` 0 becomes the head.
grpc::Status ResolveSize(const char* field, uint64_t head, uint64_t* size) {
  if (*size == 0) *size = head;
  if (*size > head) {
    return ToGrpcStatus(errors::WithReason(
        absl::OutOfRangeError(absl::StrCat(field, " ", *size, " is past the head (", head,
                                           "); give 1 to ", head, ", or 0 for the head")),
        errors::reason::kPositionPastHead, {{"head", absl::StrCat(head)}}));
  }
  return grpc::Status::OK;
}

template <typename T>
void SetHashes(const std::vector<std::string>& hashes, T* out) {
  for (const std::string& h : hashes) out->add_hashes(h);
}

}  // namespace

AuditServiceImpl::AuditServiceImpl(const Ledger* ledger, const Clock* clock,
                                   const AccessControl& access, std::string tree_head_key)
    : ledger_(ledger),
      clock_(clock),
      access_(access),
      tree_head_key_(std::move(tree_head_key)),
      tree_(&ledger->store()) {}

AuditServiceImpl::~AuditServiceImpl() { Stop(); }

absl::StatusOr<v1::TreeHead> AuditServiceImpl::CurrentTreeHead() {
  const ChainPoint head = ledger_->Head();
  absl::StatusOr<std::string> root = tree_.Root(head.position);
  if (!root.ok()) return root.status();
  return MakeTreeHead(head.position, *root, crypto::AsBytes(head.hash), clock_->NowMicros(),
                      tree_head_key_);
}

void AuditServiceImpl::StartPublishing(
    int seconds, std::function<void(absl::StatusOr<v1::TreeHead>)> publish) {
  publisher_ = std::thread([this, seconds, publish = std::move(publish)] {
    pthread_setname_np(pthread_self(), "tree-heads");
    uint64_t published = 0;  // the size of the last tree head published
    bool last = false;
    while (!last) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        last = stop_cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return stopping_; });
      }
      if (ledger_->Head().position == published) continue;
      absl::StatusOr<v1::TreeHead> tree_head = CurrentTreeHead();
      if (tree_head.ok()) published = tree_head->size();
      publish(std::move(tree_head));
    }
  });
}

void AuditServiceImpl::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  // A failure costs the next start a read of the log's hashes.
  tree_.Save(/*sync=*/true).IgnoreError();
}

grpc::Status AuditServiceImpl::GetTreeHead(grpc::ServerContext* context,
                                             const v1::GetTreeHeadRequest* /*request*/,
                                             v1::TreeHead* response) {
  if (absl::StatusOr<AccessControl::Admitted> admitted = access_.Admit(*context, Role::kViewer);
      !admitted.ok()) {
    return ToGrpcStatus(admitted.status());
  }
  absl::StatusOr<v1::TreeHead> tree_head = CurrentTreeHead();
  if (!tree_head.ok()) return ToGrpcStatus(tree_head.status());
  *response = std::move(*tree_head);
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::GetInclusionProof(grpc::ServerContext* context,
                                                 const v1::GetInclusionProofRequest* request,
                                                 v1::GetInclusionProofResponse* response) {
  if (absl::StatusOr<AccessControl::Admitted> admitted = access_.Admit(*context, Role::kViewer);
      !admitted.ok()) {
    return ToGrpcStatus(admitted.status());
  }
  uint64_t size = request->tree_size();
  if (grpc::Status s = ResolveSize("tree_size", ledger_->Head().position, &size); !s.ok()) {
    return s;
  }
  if (size == 0) return Invalid("the ledger is empty: there is no event to prove");
  if (request->position() == 0 || request->position() > size) {
    return Invalid(absl::StrCat("position ", request->position(),
                                " is not in the tree: give 1 to its size, ", size));
  }
  absl::StatusOr<std::vector<std::string>> proof = tree_.InclusionProof(request->position(), size);
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  absl::StatusOr<std::string> root = tree_.Root(size);
  if (!root.ok()) return ToGrpcStatus(root.status());
  response->set_position(request->position());
  response->set_tree_size(size);
  SetHashes(*proof, response);
  response->set_root_hash(*root);
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::GetConsistencyProof(grpc::ServerContext* context,
                                                   const v1::GetConsistencyProofRequest* request,
                                                   v1::GetConsistencyProofResponse* response) {
  if (absl::StatusOr<AccessControl::Admitted> admitted = access_.Admit(*context, Role::kViewer);
      !admitted.ok()) {
    return ToGrpcStatus(admitted.status());
  }
  uint64_t to = request->to_size();
  if (grpc::Status s = ResolveSize("to_size", ledger_->Head().position, &to); !s.ok()) return s;
  const uint64_t from = request->from_size();
  if (from == 0 || from > to) {
    return Invalid(absl::StrCat("from_size ", from, " must be 1 to to_size (", to,
                                "): every log extends the empty one"));
  }
  absl::StatusOr<std::vector<std::string>> proof = tree_.ConsistencyProof(from, to);
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  absl::StatusOr<std::string> from_root = tree_.Root(from);
  if (!from_root.ok()) return ToGrpcStatus(from_root.status());
  absl::StatusOr<std::string> to_root = tree_.Root(to);
  if (!to_root.ok()) return ToGrpcStatus(to_root.status());
  response->set_from_size(from);
  response->set_to_size(to);
  SetHashes(*proof, response);
  response->set_from_root_hash(*from_root);
  response->set_to_root_hash(*to_root);
  return grpc::Status::OK;
}

}  // namespace govledger
