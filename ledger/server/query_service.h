// QueryServiceImpl: the gRPC adapter of the read side
// (proto/govledger/v1/query.proto). It keeps the log in memory in a
// projections::ProgrammeIndex, caught up from the Ledger (Read pages, from the
// last position it holds to the published head) at the start of each call, and
// answers with the pure functions of projections/queries.h: a programme's
// answers fold only the events that can concern that programme, replayed from
// position 1. No logic here beyond reading and mapping statuses.
//
// Thread-safe: calls are serialized on one mutex (the index is built lazily, on
// the first call; it holds every event of the log in memory, without its
// hashes).
#ifndef GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_

#include <mutex>

#include "absl/status/status.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "projections/programme_index.h"

namespace govledger {

class QueryServiceImpl final : public v1::QueryService::Service {
 public:
  // REQUIRES: `ledger` and `clock` outlive the service.
  QueryServiceImpl(const Ledger* ledger, const Clock* clock)
      : ledger_(ledger), clock_(clock) {}

  grpc::Status GetProgrammeStatus(
      grpc::ServerContext* context,
      const v1::GetProgrammeStatusRequest* request,
      v1::GetProgrammeStatusResponse* response) override;
  grpc::Status GetRiskRegister(grpc::ServerContext* context,
                               const v1::GetRiskRegisterRequest* request,
                               v1::GetRiskRegisterResponse* response) override;
  grpc::Status Compare(grpc::ServerContext* context,
                       const v1::CompareRequest* request,
                       v1::CompareResponse* response) override;
  grpc::Status GetScopeMap(grpc::ServerContext* context,
                           const v1::GetScopeMapRequest* request,
                           v1::GetScopeMapResponse* response) override;
  grpc::Status GetDecisionRegister(
      grpc::ServerContext* context,
      const v1::GetDecisionRegisterRequest* request,
      v1::GetDecisionRegisterResponse* response) override;
  grpc::Status GetBenefits(grpc::ServerContext* context,
                           const v1::GetBenefitsRequest* request,
                           v1::GetBenefitsResponse* response) override;
  grpc::Status GetEntityHistory(
      grpc::ServerContext* context, const v1::GetEntityHistoryRequest* request,
      v1::GetEntityHistoryResponse* response) override;

 private:
  // Adds the events from the index's size + 1 to the head published now.
  // REQUIRES: mu_ held.
  absl::Status CatchUp();
  // Catches up, then runs `query(index, now)` and moves its answer into
  // `response`.
  template <typename Response, typename Query>
  grpc::Status Answer(Query query, Response* response);

  const Ledger* const ledger_;
  const Clock* const clock_;
  std::mutex mu_;
  projections::ProgrammeIndex index_;  // guarded by mu_
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_
