#include "ledger/server/health_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/common/errors.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/grpc_status.h"

namespace govledger {
namespace {

using grpc::health::v1::HealthCheckResponse;

// How often a waiting Watch checks whether its client has gone.
constexpr std::chrono::milliseconds kWatchPoll(200);

}  // namespace

HealthServiceImpl::HealthServiceImpl(std::vector<std::string> services,
                                     std::string append_service,
                                     std::function<bool()> appends_refused, int max_watches)
    : services_(std::move(services)),
      append_service_(std::move(append_service)),
      appends_refused_(std::move(appends_refused)),
      max_watches_(max_watches) {}

void HealthServiceImpl::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
  }
  changed_.notify_all();
}

HealthServiceImpl::ServingStatus HealthServiceImpl::StatusOf(const std::string& service) const {
  if (!service.empty() &&
      std::find(services_.begin(), services_.end(), service) == services_.end()) {
    return HealthCheckResponse::SERVICE_UNKNOWN;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return HealthCheckResponse::NOT_SERVING;
  }
  if ((service.empty() || service == append_service_) && appends_refused_()) {
    return HealthCheckResponse::NOT_SERVING;
  }
  return HealthCheckResponse::SERVING;
}

bool HealthServiceImpl::shut_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shut_down_;
}

grpc::Status HealthServiceImpl::Answer(const grpc::health::v1::HealthCheckRequest& request,
                                       HealthCheckResponse* response) const {
  const ServingStatus status = StatusOf(request.service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        CutForStatus(absl::StrCat("no service \"", request.service(),
                                  "\" here; ask for \"\" (the daemon) or one of ",
                                  absl::StrJoin(services_, ", ")),
                     kMaxStatusMessageBytes));
  }
  response->set_status(status);
  return grpc::Status::OK;
}

namespace {

// One Check call: requested, answered at once, deleted when gRPC has sent the answer.
class CheckCall final : public CallStep {
 public:
  CheckCall(HealthServiceImpl* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq) {}

  void Listen() { service_->RequestCheck(&context_, &request_, &responder_, cq_, cq_, this); }

  void Proceed(bool ok) override {
    if (answered_ || !ok) {  // sent, or no call will come: the server is shutting down
      delete this;
      return;
    }
    (new CheckCall(service_, cq_))->Listen();  // the next probe finds a slot
    answered_ = true;
    HealthCheckResponse response;
    if (grpc::Status status = service_->Answer(request_, &response); status.ok()) {
      responder_.Finish(response, grpc::Status::OK, this);
    } else {
      responder_.FinishWithError(status, this);
    }
  }

 private:
  HealthServiceImpl* const service_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::health::v1::HealthCheckRequest request_;
  grpc::ServerAsyncResponseWriter<HealthCheckResponse> responder_{&context_};
  bool answered_ = false;
};

}  // namespace

void HealthServiceImpl::Listen(grpc::ServerCompletionQueue* cq) {
  (new CheckCall(this, cq))->Listen();
}

grpc::Status HealthServiceImpl::Watch(grpc::ServerContext* context,
                                      const grpc::health::v1::HealthCheckRequest* request,
                                      grpc::ServerWriter<HealthCheckResponse>* writer) {
  if (open_watches_.fetch_add(1) >= max_watches_) {
    open_watches_.fetch_sub(1);
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat(max_watches_,
                     " health Watch streams are open, the most this server "
                     "allows (govledgerd --max-sync-threads less the threads kept for reflection); "
                     "use Check, or retry when some have ended"));
  }
  const absl::Cleanup counted = [this] { open_watches_.fetch_sub(1); };
  ServingStatus sent = StatusOf(request->service());
  HealthCheckResponse response;
  response.set_status(sent);
  if (!writer->Write(response)) return grpc::Status::CANCELLED;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait_for(lock, kWatchPoll);
    }
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    const bool ending = shut_down();  // read first: then `now` is NOT_SERVING if it is set
    const ServingStatus now = StatusOf(request->service());
    if (now != sent) {
      sent = now;
      response.set_status(now);
      if (!writer->Write(response)) return grpc::Status::CANCELLED;
    }
    if (ending) {
      return ToGrpcStatus(errors::ShuttingDown());
    }
  }
}

}  // namespace govledger
