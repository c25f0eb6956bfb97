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
      log_{&index_, &source_, &snapshots_, options},
      programme_status_(Method(
          BindRequest(this, &QueryServiceImpl::RequestGetProgrammeStatus),
          projections::QueryProgrammeStatus)),
      risk_register_(
          Method(BindRequest(this, &QueryServiceImpl::RequestGetRiskRegister),
                 projections::QueryRiskRegister)),
      compare_(Method(BindRequest(this, &QueryServiceImpl::RequestCompare),
                      projections::QueryCompare)),
      scope_map_(
          Method(BindRequest(this, &QueryServiceImpl::RequestGetScopeMap),
                 projections::QueryScopeMap)),
      decision_register_(Method(
          BindRequest(this, &QueryServiceImpl::RequestGetDecisionRegister),
          projections::QueryDecisionRegister)),
      benefits_(Method(BindRequest(this, &QueryServiceImpl::RequestGetBenefits),
                       projections::QueryBenefits)),
      entity_history_(
          Method(BindRequest(this, &QueryServiceImpl::RequestGetEntityHistory),
                 projections::QueryEntityHistory)) {
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
  queries_.Stop();
}

void QueryServiceImpl::Listen(grpc::ServerCompletionQueue* cq) const {
  programme_status_.Listen(cq);
  risk_register_.Listen(cq);
  compare_.Listen(cq);
  scope_map_.Listen(cq);
  decision_register_.Listen(cq);
  benefits_.Listen(cq);
  entity_history_.Listen(cq);
}

template <typename Request, typename Response>
UnaryMethod<Request> QueryServiceImpl::Method(RequestRawCall request_call,
                                              Query<Request, Response> query) {
  return UnaryMethod<Request>(std::move(request_call), [this, query](UnaryCall<Request>* call) {
    queries_.Add([this, query, call](bool stopped) {
      if (stopped) {
        call->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "govledgerd is shutting down"));
        return;
      }
      absl::StatusOr<Response> answer = Answer(query, call->request());
      if (!answer.ok()) {
        call->Fail(ToGrpcStatus(answer.status()));
        return;
      }
      call->Finish(*answer);
    });
  });
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

template <typename Request, typename Response>
absl::StatusOr<Response> QueryServiceImpl::Answer(Query<Request, Response> query,
                                                  const Request& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CatchUp(); !s.ok()) return s;
  // The log is read before the clock: every event indexed was recorded at or
  // before `now`.
  absl::StatusOr<Response> answer = query(log_, clock_->NowMicros(), request);
  // An answer folds megabytes (a snapshot's state, the events after it) and
  // frees them: give them back now rather than at tcmalloc's own pace, so that
  // the daemon's footprint is its live data.
  MallocExtension::instance()->ReleaseFreeMemory();
  return answer;
}

}  // namespace govledger
