// QueryServiceImpl: the gRPC adapter of the read side
// (proto/govledger/v1/query.proto). It keeps a compact index of the log
// (projections::ProgrammeIndex: times, stream kinds, per-programme positions,
// corrections; no events), caught up from the Ledger at the start of each call,
// and answers with the pure functions of projections/queries.h, which read the
// events they fold from the store (projections::StoreEventSource) and keep
// snapshots of each programme's folds among the store's projections. No logic
// here beyond reading and mapping statuses.
//
// At construction a background thread builds the index and snapshots of every
// programme's folds at the head, so the daemon serves at once and the first
// queries need not fold from position 1; a call that arrives meanwhile waits for
// the index it needs.
//
// Threads: gRPC's callback threads only queue each call; one query thread
// answers them in arrival order (a synchronous service would wait out gRPC
// 1.51's 100 ms sleeps of idle callback threads; see README, Benchmarks), and
// the warming thread and the query thread share the index under one mutex.
// Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "projections/event_source.h"
#include "projections/programme_index.h"
#include "projections/queries.h"

namespace govledger {

class QueryServiceImpl final : public v1::QueryService::CallbackService {
 public:
  // REQUIRES: `ledger` and `clock` outlive the service, and Stop() is called
  // before the ledger is destroyed.
  QueryServiceImpl(const Ledger* ledger, const Clock* clock,
                   projections::SnapshotOptions options = {});
  ~QueryServiceImpl() override;

  // Ends the background work (at its next step) and the query thread, and
  // waits for them; calls still queued are finished with CANCELLED, later ones
  // with UNAVAILABLE. Call after the gRPC server has shut down. Idempotent.
  void Stop();

  // Each call is queued for the query thread, which answers calls one at a
  // time (they share the index and the snapshots); gRPC's own threads never
  // block on a query.
  grpc::ServerUnaryReactor* GetProgrammeStatus(grpc::CallbackServerContext* context,
                                 const v1::GetProgrammeStatusRequest* request,
                                 v1::GetProgrammeStatusResponse* response) override;
  grpc::ServerUnaryReactor* GetRiskRegister(grpc::CallbackServerContext* context,
                                 const v1::GetRiskRegisterRequest* request,
                                 v1::GetRiskRegisterResponse* response) override;
  grpc::ServerUnaryReactor* Compare(grpc::CallbackServerContext* context,
                                 const v1::CompareRequest* request,
                                 v1::CompareResponse* response) override;
  grpc::ServerUnaryReactor* GetScopeMap(grpc::CallbackServerContext* context,
                                 const v1::GetScopeMapRequest* request,
                                 v1::GetScopeMapResponse* response) override;
  grpc::ServerUnaryReactor* GetDecisionRegister(grpc::CallbackServerContext* context,
                                 const v1::GetDecisionRegisterRequest* request,
                                 v1::GetDecisionRegisterResponse* response) override;
  grpc::ServerUnaryReactor* GetBenefits(grpc::CallbackServerContext* context,
                                 const v1::GetBenefitsRequest* request,
                                 v1::GetBenefitsResponse* response) override;
  grpc::ServerUnaryReactor* GetEntityHistory(grpc::CallbackServerContext* context,
                                 const v1::GetEntityHistoryRequest* request,
                                 v1::GetEntityHistoryResponse* response) override;

 private:
  // Query snapshots among the store's projections (keys "query/...").
  class StoreSnapshots final : public projections::SnapshotStore {
   public:
    explicit StoreSnapshots(EventStore* store) : store_(store) {}
    absl::StatusOr<std::optional<std::string>> Get(
        absl::string_view key) override {
      return store_->GetProjection(key);
    }
    absl::Status Put(absl::string_view key, absl::string_view value) override {
      return store_->PutProjection(key, value, /*sync=*/false);
    }

   private:
    EventStore* const store_;
  };

  // Adds the events from the index's size + 1 to the head published now.
  // REQUIRES: mu_ held.
  absl::Status CatchUp();
  // Catches up, then runs `query(log, now)` and moves its answer into
  // `response`.
  template <typename Response, typename Query>
  grpc::Status Answer(Query query, Response* response);
  // Queues `answer` for the query thread, which runs it and finishes the call
  // with its status.
  grpc::ServerUnaryReactor* Defer(grpc::CallbackServerContext* context,
                                  std::function<grpc::Status()> answer);
  // The query thread: answers queued calls in order until Stop(); then
  // finishes any left with CANCELLED.
  void ServeQueue();
  // The background thread: catch up, then fold every programme at the head in
  // both modes (taking snapshots along the way).
  void Warm();

  const Ledger* const ledger_;
  const Clock* const clock_;
  projections::StoreEventSource source_;
  StoreSnapshots snapshots_;
  std::mutex mu_;
  projections::ProgrammeIndex index_;  // guarded by mu_
  projections::IndexedLog log_;        // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::thread warmer_;
  struct Pending {
    grpc::ServerUnaryReactor* reactor;
    std::function<grpc::Status()> answer;
  };
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;      // guarded by queue_mu_
  bool queue_stopped_ = false;     // guarded by queue_mu_
  std::thread query_thread_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_
