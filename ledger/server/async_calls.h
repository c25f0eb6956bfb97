// Unary methods served as gRPC asynchronous methods from one completion queue.
//
// Every unary method of govledgerd's own services (LedgerService, QueryService, AuditService,
// AdminService) is served this way, and Subscribe and Backup as asynchronous streams
// (subscriptions.h, whose operations complete on a queue of their own; admin_service.h), as
// are calls of methods the daemon does not have (unknown_methods.h). Health Check is
// asynchronous too, typed and open to every caller (health_service.h). Only health Watch and
// reflection are synchronous, on gRPC's thread pool (--max-sync-threads). The server has no
// callback-API method at all, on purpose: in
// gRPC 1.51 a server with any callback method starts the callback API's own threads, which
// then share the polling of the sockets with everyone else, and every call crosses threads
// more often. Measured on the project's 2-core machine (README, "Benchmarks"), the same
// no-op unary method answered about 1.4 times the calls per second, at about 50 us less
// latency, without them.
//
// Each method is registered raw (bytes in, bytes out) and the request is parsed here, so a
// request that does not parse is INVALID_ARGUMENT naming the message it should be (gRPC's
// typed asynchronous methods answer INTERNAL with no useful message). Before it is parsed,
// the caller is admitted by the server's AccessControl for the method's role.
//
// The life of a call: UnaryMethod::Listen puts call objects in place; when one's call
// arrives, ServeCalls (on the serving thread) puts a fresh one in place for the next call,
// admits the caller, parses the request and runs the method's handler, which answers at
// once or hands the call on (to the ledger's writer, to the query thread); whoever answers
// calls exactly one of Finish, FinishBytes or Fail, from any thread; the serving thread
// deletes the call when gRPC reports that answer done. A call the client cancels is answered
// all the same (gRPC then reports it done at once), so it lives until it is answered, and a
// pointer to it held by whoever answers it stays valid.
#ifndef GOVLEDGER_LEDGER_SERVER_ASYNC_CALLS_H_
#define GOVLEDGER_LEDGER_SERVER_ASYNC_CALLS_H_

#include <grpcpp/completion_queue.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/parse_errors.h"
#include "ledger/server/access_control.h"
#include "ledger/server/grpc_status.h"
#include "ledger/server/work_queue.h"

namespace govledger {

// Largest gRPC message govledgerd receives or sends: an append of the largest size plus
// framing. An answer that would be larger is refused (RESOURCE_EXHAUSTED) rather than sent.
inline constexpr size_t kMaxMessageBytes = 64 << 20;

// What the completion queue's tags point to: a call waiting for its next step.
class CallStep {
 public:
  // Runs on the thread serving the queue (ServeCalls) with the outcome of the step (false:
  // the call was cancelled, or no call will come because the server is shutting down).
  virtual void Proceed(bool ok) = 0;

 protected:
  ~CallStep() = default;
};

// Runs the steps of the calls on `cq` until `cq` is shut down and drained. Several threads
// may serve one queue. REQUIRES: every tag on `cq` is a CallStep.
void ServeCalls(grpc::CompletionQueue* cq);

// Starts waiting for one call of a raw method: a generated WithRawMethod_X::RequestX.
using RequestRawCall = std::function<void(
    grpc::ServerContext* context, grpc::ByteBuffer* request,
    grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* responder,
    grpc::ServerCompletionQueue* cq, void* tag)>;

// The generated RequestX of a raw method, bound to `service`: the
// RequestRawCall of X. `request` is the member pointer, e.g.
// &LedgerServiceImpl::RequestAppend.
template <typename Service, typename Base>
RequestRawCall BindRequest(
    Service* service,
    void (Base::*request)(grpc::ServerContext*, grpc::ByteBuffer*,
                          grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>*,
                          grpc::CompletionQueue*, grpc::ServerCompletionQueue*,
                          void*)) {
  return [service, request](
             grpc::ServerContext* context, grpc::ByteBuffer* bytes,
             grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* responder,
             grpc::ServerCompletionQueue* cq, void* tag) {
    (service->*request)(context, bytes, responder, cq, cq, tag);
  };
}

template <typename Request>
class UnaryMethod;

// OK, or INVALID_ARGUMENT (UNKNOWN_FIELD) when `request` holds a field this govledgerd's
// messages do not have, anywhere but inside an Append's events (each of which the ledger core
// checks, naming its index): a newer client's field, which would be ignored, and such a field
// may narrow what the request asks (AsAt.known_through, say) or guard it.
absl::Status RefuseUnknownFields(const google::protobuf::Message& request);

// WhereParseFails (ledger/common/parse_errors.h) for a request's bytes as gRPC received them.
std::string WhereParseFails(const google::protobuf::Descriptor& type, const grpc::ByteBuffer& raw);

// Parses a request registered raw (here and in Subscribe, subscriptions.h): OK, or
// INVALID_ARGUMENT naming the message type the bytes should have been, or the field they hold
// that it does not have (RefuseUnknownFields).
template <typename Request>
grpc::Status ParseRequest(grpc::ByteBuffer* raw, Request* request) {
  ParseErrors why;  // protobuf's reason (a field that is not UTF-8), not its log line
  bool parsed = false;
  {
    grpc::ProtoBufferReader reader(raw);
    parsed = reader.status().ok() && request->ParseFromZeroCopyStream(&reader);
  }
  if (parsed) {
    raw->Clear();
    return ToGrpcStatus(RefuseUnknownFields(*request));
  }
  grpc::Status refused(
      grpc::StatusCode::INVALID_ARGUMENT,
      CutForStatus(
          absl::StrCat("the request does not parse as a ", Request::descriptor()->full_name(),
                       WhereParseFails(*Request::descriptor(), *raw), why.Suffix()),
          kMaxStatusMessageBytes));
  raw->Clear();
  return refused;
}

// One call of a unary method, from its arrival to its answer.
template <typename Request>
class UnaryCall final : public CallStep {
 public:
  const grpc::ServerContext& context() const { return context_; }
  Request* mutable_request() { return &request_; }
  const Request& request() const { return request_; }
  // Whether the client's deadline has passed: an answer would reach no one.
  bool Expired() const { return context_.deadline() <= std::chrono::system_clock::now(); }
  // Who made the call (AccessControl::Admit): the actor its appends record, and its role.
  const std::string& actor() const { return caller_.actor; }
  Role role() const { return caller_.role; }

  // Each call is answered by exactly one of these, once, from any thread; the call must not
  // be touched afterwards.
  template <typename Response>
  void Finish(const Response& response) {
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    grpc::Status serialized =
        grpc::GenericSerialize<grpc::ProtoBufferWriter, Response>(response, &bytes, &own_buffer);
    if (!serialized.ok()) {
      Fail(serialized);
      return;
    }
    responder_.Finish(bytes, grpc::Status::OK, this);
  }
  // `bytes` is the response already serialized; it is sent without a copy.
  void FinishBytes(std::string bytes) {
    auto* owned = new std::string(std::move(bytes));
    grpc::Slice slice(owned->data(), owned->size(),
                      [](void* p) { delete static_cast<std::string*>(p); }, owned);
    responder_.Finish(grpc::ByteBuffer(&slice, 1), grpc::Status::OK, this);
  }
  void Fail(const grpc::Status& status) { responder_.FinishWithError(status, this); }

 private:
  friend class UnaryMethod<Request>;

  UnaryCall(const UnaryMethod<Request>* method, grpc::ServerCompletionQueue* cq)
      : method_(method), cq_(cq) {}
  ~UnaryCall() = default;

  void Proceed(bool ok) override {
    if (!ok || arrived_) {  // answered, cancelled, or the server is shutting down
      delete this;
      return;
    }
    arrived_ = true;
    method_->Await(cq_);  // the next call of this method finds a slot
    absl::StatusOr<AccessControl::Admitted> caller =
        method_->access_.Admit(context_, method_->role_);
    if (!caller.ok()) {
      if (method_->refused_) method_->refused_();
      Fail(ToGrpcStatus(caller.status()));
      return;
    }
    caller_ = std::move(*caller);
    if (grpc::Status parsed = ParseRequest(&raw_request_, &request_); !parsed.ok()) {
      if (method_->refused_) method_->refused_();
      Fail(parsed);
      return;
    }
    method_->handler_(this);
  }

  const UnaryMethod<Request>* const method_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::ByteBuffer raw_request_;
  Request request_;
  AccessControl::Admitted caller_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_{&context_};
  bool arrived_ = false;
};

// A unary method and what answers it. Owned by its service; outlives the server and the
// draining of its queue.
template <typename Request>
class UnaryMethod {
 public:
  // `handler` runs on the serving thread when a call has arrived and parsed; it answers the
  // call, now or later from another thread.
  using Handler = std::function<void(UnaryCall<Request>* call)>;

  // Callers need `role` (AccessControl::Admit). `refused`, if given, runs on the serving
  // thread for each call refused before `handler` (not admitted, or a request that does not
  // parse), for a count of them. REQUIRES: `access` outlives the method.
  UnaryMethod(RequestRawCall request_call, const AccessControl& access, Role role, Handler handler,
              std::function<void()> refused = nullptr)
      : request_call_(std::move(request_call)),
        access_(access),
        role_(role),
        handler_(std::move(handler)),
        refused_(std::move(refused)) {}

  // Waits for calls on `cq`, `slots` at a time (calls that arrive while all are taken wait
  // in gRPC's queue until the serving thread puts the next in place). REQUIRES: the method
  // is registered raw with the server that owns `cq`, which has started.
  void Listen(grpc::ServerCompletionQueue* cq, int slots = 8) const {
    for (int i = 0; i < slots; ++i) Await(cq);
  }

 private:
  friend class UnaryCall<Request>;

  void Await(grpc::ServerCompletionQueue* cq) const {
    auto* call = new UnaryCall<Request>(this, cq);
    request_call_(&call->context_, &call->raw_request_, &call->responder_, cq, call);
  }

  const RequestRawCall request_call_;
  const AccessControl& access_;
  const Role role_;
  const Handler handler_;
  const std::function<void()> refused_;
};

// Calls of one kind that may wait for their thread (QueueCall) where no other limit is given.
inline constexpr size_t kMaxWaitingCalls = 64;

// Hands `call` to `queue`, whose thread runs `answer(call)`, which answers it. A queue that
// already holds `max_waiting` calls refuses it at once (RESOURCE_EXHAUSTED, CALLS_BACKLOGGED),
// so a flood of calls costs the server a bounded backlog; a stopped queue refuses it
// (UNAVAILABLE, SHUTTING_DOWN); a call whose deadline passed while it waited is answered
// DEADLINE_EXCEEDED without the work, which nobody would read.
template <typename Request>
void QueueCall(WorkQueue& queue, size_t max_waiting, UnaryCall<Request>* call,
               std::function<void(UnaryCall<Request>*)> answer) {
  const bool queued = queue.TryAdd(
      [call, answer = std::move(answer)](bool stopped) {
        if (stopped) {
          call->Fail(ToGrpcStatus(errors::ShuttingDown()));
        } else if (call->Expired()) {
          call->Fail(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                  "the call's deadline passed while it waited for its thread"));
        } else {
          answer(call);
        }
      },
      max_waiting);
  if (!queued) {
    call->Fail(ToGrpcStatus(errors::WithReason(
        absl::ResourceExhaustedError(absl::StrCat(
            max_waiting, " calls of this kind are already waiting for the server; retry after "
            "a pause")),
        errors::reason::kCallsBacklogged, {{"waiting", absl::StrCat(max_waiting)}})));
  }
}

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_ASYNC_CALLS_H_
