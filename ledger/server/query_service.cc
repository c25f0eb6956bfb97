#include "ledger/server/query_service.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include <gperftools/malloc_extension.h>
#include "ledger/server/grpc_status.h"

namespace govledger {

QueryServiceImpl::QueryServiceImpl(const Ledger* ledger, const Clock* clock,
                                   projections::SnapshotOptions options)
    : ledger_(ledger),
      clock_(clock),
      source_(&ledger->store()),
      snapshots_(&ledger->store()),
      log_{&index_, &source_, &snapshots_, options} {
  // Snapshots of an earlier run are unknown to this run's catalogue: drop them
  // (a failure leaves them unused).
  ledger->store()
      .DropProjections(projections::ProgrammeIndex::kSnapshotKeyPrefix)
      .IgnoreError();
  warmer_ = std::thread([this] { Warm(); });
  query_thread_ = std::thread([this] { ServeQueue(); });
}

QueryServiceImpl::~QueryServiceImpl() { Stop(); }

void QueryServiceImpl::Stop() {
  stopping_ = true;
  if (warmer_.joinable()) warmer_.join();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_stopped_ = true;
  }
  queue_cv_.notify_all();
  if (query_thread_.joinable()) query_thread_.join();
}

grpc::ServerUnaryReactor* QueryServiceImpl::Defer(
    grpc::CallbackServerContext* context,
    std::function<grpc::Status()> answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!queue_stopped_) {
      queue_.push_back({reactor, std::move(answer)});
      queue_cv_.notify_one();
      return reactor;
    }
  }
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "govledgerd is shutting down"));
  return reactor;
}

void QueryServiceImpl::ServeQueue() {
  while (true) {
    Pending next;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return queue_stopped_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopped, nothing left
      next = std::move(queue_.front());
      queue_.pop_front();
      if (queue_stopped_) {
        lock.unlock();
        next.reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                          "govledgerd is shutting down"));
        continue;
      }
    }
    next.reactor->Finish(next.answer());
  }
}

void QueryServiceImpl::Warm() {
  std::vector<std::string> programmes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!CatchUp().ok()) return;  // the calls will report it
    programmes = index_.Programmes();
  }
  for (const std::string& programme : programmes) {
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      if (stopping_) return;
      std::lock_guard<std::mutex> lock(mu_);
      v1::GetProgrammeStatusRequest request;
      request.set_programme_id(programme);
      request.mutable_as_at()->set_mode(mode);
      request.mutable_as_at()->set_position(index_.size());
      // Only the snapshots it leaves matter; a failure is the calls' to report.
      projections::QueryProgrammeStatus(log_, clock_->NowMicros(), request)
          .IgnoreError();
    }
  }
  // Warming read and wrote a lot (pages of the log, snapshots): give the
  // freed memory back to the system (tcmalloc keeps it otherwise).
  MallocExtension::instance()->ReleaseFreeMemory();
}

absl::Status QueryServiceImpl::CatchUp() {
  const uint64_t head = ledger_->Head().position;
  uint64_t from = index_.size() + 1;
  while (from <= head) {
    v1::ReadRequest request;
    request.set_from(from);
    request.set_limit(kMaxReadLimit);
    absl::StatusOr<v1::ReadResponse> page = ledger_->Read(request);
    if (!page.ok()) return page.status();
    if (page->events_size() == 0) break;
    for (const v1::Event& e : page->events()) {
      if (e.position() != index_.size() + 1) {
        return absl::InternalError("the ledger returned a page out of order");
      }
      if (absl::Status s = index_.Add(e, source_); !s.ok()) {
        index_ = projections::ProgrammeIndex();  // rebuilt by the next call
        return s;
      }
    }
    from = index_.size() + 1;
  }
  return absl::OkStatus();
}

template <typename Response, typename Query>
grpc::Status QueryServiceImpl::Answer(Query query, Response* response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CatchUp(); !s.ok()) return ToGrpcStatus(s);
  // The log is read before the clock: every event indexed was recorded at or
  // before `now`.
  absl::StatusOr<Response> answer = query(log_, clock_->NowMicros());
  // An answer folds megabytes (a snapshot's state, the events after it) and
  // frees them: give them back now rather than at tcmalloc's own pace, so that
  // the daemon's footprint is its live data.
  MallocExtension::instance()->ReleaseFreeMemory();
  if (!answer.ok()) return ToGrpcStatus(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetProgrammeStatus(
    grpc::CallbackServerContext* context, const v1::GetProgrammeStatusRequest* request,
    v1::GetProgrammeStatusResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryProgrammeStatus(log, now, *request);
        },
        response);
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetRiskRegister(
    grpc::CallbackServerContext* context, const v1::GetRiskRegisterRequest* request,
    v1::GetRiskRegisterResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryRiskRegister(log, now, *request);
        },
        response);
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::Compare(
    grpc::CallbackServerContext* context, const v1::CompareRequest* request,
    v1::CompareResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryCompare(log, now, *request);
        },
        response);
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetScopeMap(
    grpc::CallbackServerContext* context, const v1::GetScopeMapRequest* request,
    v1::GetScopeMapResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryScopeMap(log, now, *request);
        },
        response);
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetDecisionRegister(
    grpc::CallbackServerContext* context, const v1::GetDecisionRegisterRequest* request,
    v1::GetDecisionRegisterResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryDecisionRegister(log, now, *request);
        },
        response);
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetBenefits(
    grpc::CallbackServerContext* context, const v1::GetBenefitsRequest* request,
    v1::GetBenefitsResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryBenefits(log, now, *request);
        },
        response);
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetEntityHistory(
    grpc::CallbackServerContext* context, const v1::GetEntityHistoryRequest* request,
    v1::GetEntityHistoryResponse* response) {
  return Defer(context, [this, request, response] {
    return Answer(
        [request](const projections::IndexedLog& log, int64_t now) {
          return projections::QueryEntityHistory(log, now, *request);
        },
        response);
  });
}

}  // namespace govledger
