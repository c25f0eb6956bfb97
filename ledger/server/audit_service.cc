#include "ledger/server/audit_service.h"

#include <pthread.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/crypto/sha256.h"
#include "ledger/server/grpc_status.h"
#include "ledger/tree_head.h"

namespace govledger {
namespace {

// OUT_OF_RANGE for a size past the head; `*size` 0 becomes the head.
absl::Status ResolveSize(const char* field, uint64_t head, uint64_t* size) {
  if (*size == 0) *size = head;
  if (*size > head) {
    return errors::PositionPastHead(
        field, *size, head,
        head == 0 ? std::string("the ledger is empty: its only tree is size 0 (0: the head)")
                  : absl::StrCat("give 1 to ", head, ", or 0 for the head"));
  }
  return absl::OkStatus();
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
      tree_head_key_(std::move(tree_head_key)),
      tree_(&ledger->store()),
      tree_head_(Method(BindRequest(this, &AuditServiceImpl::RequestGetTreeHead), access,
                        &AuditServiceImpl::TreeHead)),
      inclusion_proof_(Method(BindRequest(this, &AuditServiceImpl::RequestGetInclusionProof),
                              access, &AuditServiceImpl::InclusionProof)),
      consistency_proof_(
          Method(BindRequest(this, &AuditServiceImpl::RequestGetConsistencyProof), access,
                 &AuditServiceImpl::ConsistencyProof)) {}

AuditServiceImpl::~AuditServiceImpl() { Stop(); }

void AuditServiceImpl::Listen(grpc::ServerCompletionQueue* cq) const {
  tree_head_.Listen(cq);
  inclusion_proof_.Listen(cq);
  consistency_proof_.Listen(cq);
}

template <typename Request, typename Response>
UnaryMethod<Request> AuditServiceImpl::Method(
    RequestRawCall request_call, const AccessControl& access,
    absl::StatusOr<Response> (AuditServiceImpl::*answer)(const Request&)) {
  return UnaryMethod<Request>(std::move(request_call), access, Role::kViewer,
                              [this, answer](UnaryCall<Request>* call) {
    QueueCall<Request>(audits_, kMaxWaitingCalls, call, [this, answer](UnaryCall<Request>* call) {
      absl::StatusOr<Response> response = (this->*answer)(call->request());
      ledger_->NoteDamage(response.status());  // the tree reads and verifies the log
      if (!response.ok()) {
        call->Fail(ToGrpcStatus(response.status()));
        return;
      }
      call->Finish(*response);
    });
  });
}

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
    // The tree built now, reading and verifying the whole log (MerkleTree), rather than at the
    // first tick or at shutdown; a log that does not verify is said at once.
    // A failure is passed on once until it changes or a tree head is published: the same
    // damage at every tick would bury the log's other lines (and say nothing new).
    std::string failure;  // the message of the last failure passed on since a tree head
    const auto publish_failure = [&](const absl::Status& status) {
      if (status.message() == failure) return;
      failure = std::string(status.message());
      publish(status);
    };
    if (absl::StatusOr<std::string> root = tree_.Root(ledger_->Head().position); !root.ok()) {
      ledger_->NoteDamage(root.status());
      publish_failure(root.status());
    }
    uint64_t published = 0;  // the size of the last tree head published
    bool last = false;
    while (!last) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        last = stop_cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return stopping_; });
      }
      if (ledger_->Head().position == published) continue;
      absl::StatusOr<v1::TreeHead> tree_head = CurrentTreeHead();
      ledger_->NoteDamage(tree_head.status());
      if (!tree_head.ok()) {
        publish_failure(tree_head.status());
        continue;
      }
      published = tree_head->size();
      failure.clear();
      publish(std::move(tree_head));
    }
  });
}

void AuditServiceImpl::Stop() {
  tree_.Stop();  // a first build of a long log in progress ends after its current read
  audits_.Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
}

absl::StatusOr<v1::TreeHead> AuditServiceImpl::TreeHead(const v1::GetTreeHeadRequest& /*request*/) {
  return CurrentTreeHead();
}

absl::StatusOr<v1::GetInclusionProofResponse> AuditServiceImpl::InclusionProof(
    const v1::GetInclusionProofRequest& request) {
  // A position past a tree the caller named is a request at odds with itself, whatever the
  // head (the tree's size past it too): INVALID_ARGUMENT, checked first, as it never becomes
  // valid. A position or size past the head is OUT_OF_RANGE, as in Read: it may be provable
  // once the log has grown.
  if (request.tree_size() != 0 && request.position() > request.tree_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "position ", request.position(), " is not in the tree: give 1 to its size, ",
        request.tree_size(), ", or a tree_size of at least the position (0: the head)"));
  }
  const uint64_t head = ledger_->Head().position;
  uint64_t size = request.tree_size();
  RETURN_IF_ERROR(ResolveSize("tree_size", head, &size));
  if (request.position() > head) {
    return errors::PositionPastHead(
        "position", request.position(), head,
        head == 0 ? "the ledger is empty: there is no event to prove"
                  : absl::StrCat("give 1 to ", head));
  }
  if (size == 0) {
    return absl::InvalidArgumentError("the ledger is empty: there is no event to prove");
  }
  // A position past `size` was refused above (past the tree named, or past the head).
  if (request.position() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("position 0 is not in the tree: give 1 to its size, ", size));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> proof,
                   tree_.InclusionProof(request.position(), size));
  ASSIGN_OR_RETURN(std::string root, tree_.Root(size));
  v1::GetInclusionProofResponse response;
  response.set_position(request.position());
  response.set_tree_size(size);
  SetHashes(proof, &response);
  response.set_root_hash(std::move(root));
  return response;
}

absl::StatusOr<v1::GetConsistencyProofResponse> AuditServiceImpl::ConsistencyProof(
    const v1::GetConsistencyProofRequest& request) {
  const uint64_t from = request.from_size();
  if (request.to_size() != 0 && from > request.to_size()) {  // never valid, whatever the head
    return absl::InvalidArgumentError(
        absl::StrCat("from_size ", from, " is past to_size ", request.to_size(),
                     ": a consistency proof goes "
                     "from an earlier tree to a later one; give from_size 1 to ",
                     request.to_size(), ", or a larger to_size (0: the head)"));
  }
  const uint64_t head = ledger_->Head().position;
  uint64_t to = request.to_size();
  RETURN_IF_ERROR(ResolveSize("to_size", head, &to));
  if (from > head) {
    return errors::PositionPastHead(
        "from_size", from, head,
        head == 0 ? std::string("the ledger is empty: there is no tree to prove consistency with")
                  : absl::StrCat("give 1 to ", head, ", at most to_size"));
  }
  if (to == 0) {
    return absl::InvalidArgumentError(
        "the ledger is empty: there is no tree to prove consistency with");
  }
  if (from == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "from_size 0: every log extends the empty one, so there is nothing to prove; give 1 to "
        "to_size (", to, ")"));
  }
  // From past `to` was refused above (past the to_size named, or past the head).
  ASSIGN_OR_RETURN(std::vector<std::string> proof, tree_.ConsistencyProof(from, to));
  ASSIGN_OR_RETURN(std::string from_root, tree_.Root(from));
  ASSIGN_OR_RETURN(std::string to_root, tree_.Root(to));
  v1::GetConsistencyProofResponse response;
  response.set_from_size(from);
  response.set_to_size(to);
  SetHashes(proof, &response);
  response.set_from_root_hash(std::move(from_root));
  response.set_to_root_hash(std::move(to_root));
  return response;
}

}  // namespace govledger
