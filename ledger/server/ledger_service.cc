#include "ledger/server/ledger_service.h"

#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/server/grpc_status.h"
#include "projections/streams.h"

namespace govledger {
LedgerServiceImpl::LedgerServiceImpl(Ledger* ledger, const AccessControl& access,
                                     int max_subscriptions, int max_subscriptions_per_token)
    : ledger_(ledger),
      append_(
          BindRequest(this, &LedgerServiceImpl::RequestAppend), access, Role::kWriter,
          [this](UnaryCall<v1::AppendRequest>* call) { Append(call); },
          [ledger] { ledger->CountRefusedAppend(); }),
      read_(BindRequest(this, &LedgerServiceImpl::RequestRead), access, Role::kReader,
            [this](UnaryCall<v1::ReadRequest>* call) { Read(call); }),
      get_head_(BindRequest(this, &LedgerServiceImpl::RequestGetHead), access, Role::kViewer,
                [this](UnaryCall<v1::GetHeadRequest>* call) { GetHead(call); }),
      subscriptions_(
          [this](grpc::ServerContext* context, grpc::ByteBuffer* request,
                 grpc::ServerAsyncWriter<grpc::ByteBuffer>* writer,
                 grpc::CompletionQueue* operations, grpc::ServerCompletionQueue* arrivals,
                 void* tag) {
            RequestSubscribe(context, request, writer, operations, arrivals, tag);
          },
          ledger, access, &page_readers_, max_subscriptions, max_subscriptions_per_token) {}

void LedgerServiceImpl::Listen(grpc::ServerCompletionQueue* cq,
                               grpc::CompletionQueue* streams) {
  append_.Listen(cq);
  read_.Listen(cq);
  get_head_.Listen(cq);
  subscriptions_.Listen(cq, streams);
}

void LedgerServiceImpl::Stop() {
  {
    std::unique_lock lock(mu_);
    stopped_ = true;
  }
  subscriptions_.Stop();
  page_readers_.Stop();
  readers_.Stop();
}

namespace {

// PERMISSION_DENIED when a caller below admin appends to the streams that decide who may
// approve spending: organisations (organisation/), signing keys (key/) and delegation rules
// (delegation/), their corrections included. A writer who could register a key in a
// signatory's name, or revoke one, could approve a decision, or stop one being approved, on
// their own; one who could register an organisation overseeing another could have that
// organisation's decisions, held to none of the other's delegation rules, approve the other's
// programmes' scope changes.
absl::Status CheckTrustStreams(const v1::AppendRequest& request, Role role,
                               const std::string& actor) {
  if (role >= Role::kAdmin) return absl::OkStatus();
  for (int i = 0; i < request.events_size(); ++i) {
    const std::string& stream = request.events(i).stream_id();
    const std::optional<projections::EntityStream> entity = projections::ParseEntityStream(stream);
    if (entity && (entity->kind == projections::EntityKind::kOrganisation ||
                   entity->kind == projections::EntityKind::kKey ||
                   entity->kind == projections::EntityKind::kDelegation)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "events[", i, "] is on ", stream, ": organisations, signing keys and delegation rules "
          "(their registration, revocation, setting and corrections) decide who may approve "
          "spending, so they need an admin token; the token of '", actor, "' has the role ",
          RoleName(role)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void LedgerServiceImpl::Append(UnaryCall<v1::AppendRequest>* call) const {
  std::shared_lock lock(mu_);
  if (stopped_) {
    ledger_->CountRefusedAppend();
    call->Fail(ToGrpcStatus(errors::ShuttingDown()));
    return;
  }
  if (absl::Status denied = CheckTrustStreams(call->request(), call->role(), call->actor());
      !denied.ok()) {
    ledger_->CountRefusedAppend();
    call->Fail(ToGrpcStatus(denied));
    return;
  }
  // The ledger answers on its acknowledging thread once the append is on disk or refused.
  ledger_->AppendAsync(std::move(*call->mutable_request()), call->actor(),
                       call->role() >= Role::kAdmin,
                       [call](absl::StatusOr<v1::AppendResponse> result) {
                         if (!result.ok()) {
                           call->Fail(ToGrpcStatus(result.status()));
                           return;
                         }
                         call->Finish(*result);
                       });
}

void LedgerServiceImpl::Read(UnaryCall<v1::ReadRequest>* call) {
  QueueCall<v1::ReadRequest>(readers_, kMaxWaitingReads, call, [this](UnaryCall<v1::ReadRequest>* call) {
    absl::StatusOr<std::string> wire = ledger_->ReadWire(call->request());
    if (!wire.ok()) {
      call->Fail(ToGrpcStatus(wire.status()));
      return;
    }
    call->FinishBytes(std::move(*wire));
  });
}

void LedgerServiceImpl::GetHead(UnaryCall<v1::GetHeadRequest>* call) const {
  std::shared_lock lock(mu_);
  if (stopped_) {
    call->Fail(ToGrpcStatus(errors::ShuttingDown()));
    return;
  }
  ChainPoint head = ledger_->Head();
  v1::GetHeadResponse response;
  response.set_position(head.position);
  response.set_hash(std::string(crypto::AsBytes(head.hash)));
  response.set_event_count(head.position);
  call->Finish(response);
}

}  // namespace govledger
