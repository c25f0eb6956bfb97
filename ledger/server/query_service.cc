#include "ledger/server/query_service.h"

#include <utility>
#include <vector>

#include "ledger/server/grpc_status.h"
#include "projections/queries.h"

namespace govledger {

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
    for (v1::Event& e : *page->mutable_events()) {
      if (e.position() != index_.size() + 1) {
        return absl::InternalError("the ledger returned a page out of order");
      }
      // Answers never show the chain: the index keeps no hashes.
      e.clear_prev_hash();
      e.clear_hash();
      index_.Add(std::move(e));
    }
    from = index_.size() + 1;
  }
  return absl::OkStatus();
}

template <typename Response, typename Query>
grpc::Status QueryServiceImpl::Answer(Query query, Response* response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CatchUp(); !s.ok()) return ToGrpcStatus(s);
  // The log is read before the clock: every event held was recorded at or
  // before `now`.
  absl::StatusOr<Response> answer = query(index_, clock_->NowMicros());
  if (!answer.ok()) return ToGrpcStatus(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::Status QueryServiceImpl::GetProgrammeStatus(
    grpc::ServerContext*, const v1::GetProgrammeStatusRequest* request,
    v1::GetProgrammeStatusResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryProgrammeStatus(index, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetRiskRegister(
    grpc::ServerContext*, const v1::GetRiskRegisterRequest* request,
    v1::GetRiskRegisterResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryRiskRegister(index, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::Compare(grpc::ServerContext*,
                                       const v1::CompareRequest* request,
                                       v1::CompareResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryCompare(index, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetScopeMap(
    grpc::ServerContext*, const v1::GetScopeMapRequest* request,
    v1::GetScopeMapResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryScopeMap(index, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetDecisionRegister(
    grpc::ServerContext*, const v1::GetDecisionRegisterRequest* request,
    v1::GetDecisionRegisterResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryDecisionRegister(index.log(), now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetBenefits(
    grpc::ServerContext*, const v1::GetBenefitsRequest* request,
    v1::GetBenefitsResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryBenefits(index, now, *request);
      },
      response);
}

grpc::Status QueryServiceImpl::GetEntityHistory(
    grpc::ServerContext*, const v1::GetEntityHistoryRequest* request,
    v1::GetEntityHistoryResponse* response) {
  return Answer(
      [&](const projections::ProgrammeIndex& index, int64_t now) {
        return projections::QueryEntityHistory(index.log(), now, *request);
      },
      response);
}

}  // namespace govledger
