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
std::string ActorOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kActorMetadataKey); it != metadata.end()) {
    return std::string(it->second.data(), it->second.size());
  }
  return absl::StrCat("peer:", context.peer());
}

}  // namespace

grpc::ServerUnaryReactor* LedgerServiceImpl::Append(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::AppendRequest append;
  grpc::Status parsed = grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::AppendRequest>(
      const_cast<grpc::ByteBuffer*>(request), &append);
  if (!parsed.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request does not parse as a govledger.v1.AppendRequest"));
    return reactor;
  }
  ledger_->AppendAsync(std::move(append), ActorOf(*context),
                       [reactor, response](absl::StatusOr<v1::AppendResponse> result) {
                         if (!result.ok()) {
                           reactor->Finish(ToGrpcStatus(result.status()));
                           return;
                         }
                         bool own_buffer = false;
                         reactor->Finish(
                             grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::AppendResponse>(
                                 *result, response, &own_buffer));
                       });
  return reactor;
}

grpc::ServerUnaryReactor* LedgerServiceImpl::Read(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::ReadRequest read;
  grpc::Status parsed = grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::ReadRequest>(
      const_cast<grpc::ByteBuffer*>(request), &read);
  if (!parsed.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request is not a ReadRequest: " + parsed.error_message()));
    return reactor;
  }
  absl::StatusOr<std::string> wire = ledger_->ReadWire(read);
  if (!wire.ok()) {
    reactor->Finish(ToGrpcStatus(wire.status()));
    return reactor;
  }
  auto* bytes = new std::string(std::move(*wire));
  grpc::Slice slice(bytes->data(), bytes->size(),
                    [](void* p) { delete static_cast<std::string*>(p); }, bytes);
  *response = grpc::ByteBuffer(&slice, 1);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* LedgerServiceImpl::GetHead(grpc::CallbackServerContext* context,
                                                     const v1::GetHeadRequest* request,
                                                     v1::GetHeadResponse* response) {
  ChainPoint head = ledger_->Head();
  response->set_position(head.position);
  response->set_hash(std::string(crypto::AsBytes(head.hash)));
  response->set_event_count(head.position);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
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

}  // namespace govledger
