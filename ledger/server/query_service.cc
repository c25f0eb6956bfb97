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
}

QueryServiceImpl::~QueryServiceImpl() { Stop(); }

void QueryServiceImpl::Stop() {
  stopping_ = true;
  if (warmer_.joinable()) warmer_.join();
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

grpc::Status QueryServiceImpl::GetProgrammeStatus(
    grpc::ServerContext*, const v1::GetProgrammeStatusRequest* request,
    v1::GetProgrammeStatusResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryProgrammeStatus(log, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetRiskRegister(
    grpc::ServerContext*, const v1::GetRiskRegisterRequest* request,
    v1::GetRiskRegisterResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryRiskRegister(log, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::Compare(grpc::ServerContext*,
                                       const v1::CompareRequest* request,
                                       v1::CompareResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryCompare(log, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetScopeMap(
    grpc::ServerContext*, const v1::GetScopeMapRequest* request,
    v1::GetScopeMapResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryScopeMap(log, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetDecisionRegister(
    grpc::ServerContext*, const v1::GetDecisionRegisterRequest* request,
    v1::GetDecisionRegisterResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryDecisionRegister(log, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetBenefits(
    grpc::ServerContext*, const v1::GetBenefitsRequest* request,
    v1::GetBenefitsResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryBenefits(log, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetEntityHistory(
    grpc::ServerContext*, const v1::GetEntityHistoryRequest* request,
    v1::GetEntityHistoryResponse* response) {
  return Answer(
      [&](const projections::IndexedLog& log, int64_t now) {
        return projections::QueryEntityHistory(log, now, *request);
      },
      response);
}

}  // namespace govledger
