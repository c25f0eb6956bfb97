#include "ledger/server/ledger_service.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "ledger/server/grpc_status.h"

namespace govledger {
namespace {

// How often a waiting subscription checks whether its client has gone.
constexpr std::chrono::milliseconds kSubscribePoll(200);

}  // namespace

LedgerServiceImpl::LedgerServiceImpl(Ledger* ledger, const AccessControl& access)
    : ledger_(ledger),
      access_(access),
      append_(BindRequest(this, &LedgerServiceImpl::RequestAppend), access, Role::kWriter,
              [this](UnaryCall<v1::AppendRequest>* call) { Append(call); }),
      read_(BindRequest(this, &LedgerServiceImpl::RequestRead), access, Role::kReader,
            [this](UnaryCall<v1::ReadRequest>* call) { Read(call); }),
      get_head_(BindRequest(this, &LedgerServiceImpl::RequestGetHead), access, Role::kReader,
                [this](UnaryCall<v1::GetHeadRequest>* call) { GetHead(call); }) {}

void LedgerServiceImpl::Listen(grpc::ServerCompletionQueue* cq) const {
  append_.Listen(cq);
  read_.Listen(cq);
  get_head_.Listen(cq);
}

void LedgerServiceImpl::Append(UnaryCall<v1::AppendRequest>* call) const {
  // The ledger answers on its acknowledging thread once the append is on disk or refused.
  ledger_->AppendAsync(std::move(*call->mutable_request()), call->actor(),
                       [call](absl::StatusOr<v1::AppendResponse> result) {
                         if (!result.ok()) {
                           call->Fail(ToGrpcStatus(result.status()));
                           return;
                         }
                         call->Finish(*result);
                       });
}

void LedgerServiceImpl::Read(UnaryCall<v1::ReadRequest>* call) {
  readers_.Add([this, call](bool stopped) {
    if (stopped) {
      call->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "govledgerd is shutting down"));
      return;
    }
    absl::StatusOr<std::string> wire = ledger_->ReadWire(call->request());
    if (!wire.ok()) {
      call->Fail(ToGrpcStatus(wire.status()));
      return;
    }
    call->FinishBytes(std::move(*wire));
  });
}

void LedgerServiceImpl::GetHead(UnaryCall<v1::GetHeadRequest>* call) const {
  ChainPoint head = ledger_->Head();
  v1::GetHeadResponse response;
  response.set_position(head.position);
  response.set_hash(std::string(crypto::AsBytes(head.hash)));
  response.set_event_count(head.position);
  call->Finish(response);
}

grpc::Status LedgerServiceImpl::Subscribe(grpc::ServerContext* context,
                                          const v1::SubscribeRequest* request,
                                          grpc::ServerWriter<v1::Event>* writer) {
  // Every event is read back from the store in position order, so the switch from catching
  // up to following live can neither skip nor repeat one; Write() blocks under flow control.
  if (absl::StatusOr<std::string> admitted = access_.Admit(*context, Role::kReader);
      !admitted.ok()) {
    return ToGrpcStatus(admitted.status());
  }
  uint64_t next = request->from_position() == 0 ? 1 : request->from_position();
  uint64_t head = ledger_->Head().position;
  if (next > head + 1) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        absl::StrCat("from_position ", next, " is past the head (", head,
                                     "); subscribe from 1 to ", head + 1));
  }
  for (;;) {
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    head = ledger_->WaitForHead(next, std::chrono::steady_clock::now() + kSubscribePoll);
    if (ledger_->subscriptions_closed()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("the server is shutting down; resubscribe from position ",
                                       next));
    }
    if (head < next) continue;
    v1::ReadRequest page;
    page.set_from(next);
    absl::StatusOr<v1::ReadResponse> events = ledger_->Read(page);
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (const v1::Event& event : events->events()) {
      if (!writer->Write(event)) return grpc::Status::CANCELLED;  // the client went away
      next = event.position() + 1;
    }
  }
}

}  // namespace govledger
