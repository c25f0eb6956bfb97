#include "ledger/server/ledger_service.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "ledger/server/grpc_status.h"

namespace govledger {
namespace {

// How often a waiting subscription checks whether its client has gone.
constexpr std::chrono::milliseconds kSubscribePoll(200);

// The actor recorded on appended events: the caller's govledger-actor metadata if given,
// otherwise its peer address.
std::string ActorOf(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kActorMetadataKey); it != metadata.end()) {
    return std::string(it->second.data(), it->second.size());
  }
  return absl::StrCat("peer:", context.peer());
}

}  // namespace

grpc::Status LedgerServiceImpl::Append(grpc::ServerContext* context,
                                       const v1::AppendRequest* request,
                                       v1::AppendResponse* response) {
  absl::StatusOr<v1::AppendResponse> result = ledger_->Append(*request, ActorOf(*context));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status LedgerServiceImpl::Read(grpc::ServerContext* context,
                                     const v1::ReadRequest* request,
                                     v1::ReadResponse* response) {
  absl::StatusOr<v1::ReadResponse> result = ledger_->Read(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status LedgerServiceImpl::Subscribe(grpc::ServerContext* context,
                                          const v1::SubscribeRequest* request,
                                          grpc::ServerWriter<v1::Event>* writer) {
  // Every event is read back from the store in position order, so the switch from catching
  // up to following live can neither skip nor repeat one; Write() blocks under flow control.
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

grpc::Status LedgerServiceImpl::GetHead(grpc::ServerContext* context,
                                        const v1::GetHeadRequest* request,
                                        v1::GetHeadResponse* response) {
  ChainPoint head = ledger_->Head();
  response->set_position(head.position);
  response->set_hash(std::string(crypto::AsBytes(head.hash)));
  response->set_event_count(head.position);
  return grpc::Status::OK;
}

}  // namespace govledger
