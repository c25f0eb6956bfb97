// QueryServiceImpl: the gRPC adapter of the read side
// (proto/govledger/v1/query.proto). It keeps a compact index of the log
// (projections::ProgrammeIndex: times, stream kinds, per-programme positions,
// corrections; no events), caught up from the Ledger at the start of each call,
// and answers with the pure functions of projections/queries.h, which read the
// events they fold from the store (projections::StoreEventSource) and keep
// snapshots of each programme's folds among the store's projections. Beyond
// reading and mapping statuses, it withholds from a viewer's answers what a
// viewer may not see (projections/publication.h: decisions whose Part 1 is not
// yet published, and the papers their events cite), and it owns the index's
// persistence (below): when it is loaded, rebuilt and saved, and when dropped
// snapshots' bytes go.
//
// The index and its catalogue of snapshots persist among the store's
// projections (key "query-index", proto internal::QueryIndexSnapshot): saved
// when the service stops and when its warming ends, loaded by the first call or
// the warming, whichever comes first, when its position and hash match the log.
// Then only the events after it are read; otherwise (none saved, another
// format, a log it does not match) the index is built from position 1 and the
// snapshots of earlier runs are dropped.
//
// At construction a background thread loads or builds the index and takes
// snapshots of every programme's folds at the head, so the daemon serves at once
// and the first queries need not fold from position 1; a call that arrives
// meanwhile waits for the index it needs.
//
// Threads: every method is asynchronous (async_calls.h): the daemon's serving
// thread only queues each call; one query thread answers them in arrival order,
// and the warming thread and the query thread share the index under one mutex.
// Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/work_queue.h"
#include "projections/event_source.h"
#include "projections/programme_index.h"
#include "projections/queries.h"

namespace govledger {

// All methods raw, so that async_calls.h parses the requests.
using QueryServiceBase = v1::QueryService::WithRawMethod_GetProgrammeStatus<
    v1::QueryService::WithRawMethod_GetRiskRegister<
        v1::QueryService::WithRawMethod_Compare<v1::QueryService::WithRawMethod_GetScopeMap<
            v1::QueryService::WithRawMethod_GetDecisionRegister<
                v1::QueryService::WithRawMethod_GetBenefits<
                    v1::QueryService::WithRawMethod_GetEntityHistory<
                        v1::QueryService::WithRawMethod_ListProgrammes<
                            v1::QueryService::Service>>>>>>>>;

class QueryServiceImpl final : public QueryServiceBase {
 public:
  // REQUIRES: `ledger` and `clock` outlive the service, and Stop() is called
  // before the ledger is destroyed.
  // `log`, if set, is told once how the index was made ready (loaded or built,
  // and in how long), and of each save of it that failed. Callers are admitted
  // by `access` as viewers; it must outlive the service too.
  QueryServiceImpl(const Ledger* ledger, const Clock* clock, const AccessControl& access,
                   projections::SnapshotOptions options = {},
                   std::function<void(const std::string&)> log = nullptr);
  ~QueryServiceImpl() override;

  // Serves every method from `cq` (see UnaryMethod::Listen): each call is
  // queued for the query thread, which answers calls one at a time (they share
  // the index and the snapshots).
  void Listen(grpc::ServerCompletionQueue* cq) const;

  // Ends the background work (at its next step: a page of the log while the
  // index is built or caught up) and the query thread, and waits for them;
  // calls still queued, and any later, are refused with UNAVAILABLE. Then
  // indexes up to kIndexedAtStop events appended since, and saves the index
  // (synced) if it changed since it was loaded or saved. Call after the gRPC server has shut down, while the ledger
  // is open. Idempotent.
  void Stop();
  // Stop's first step alone, before the gRPC server shuts down: the background work (the
  // index's build at start, the warming) stops at its next step, so that the calls the grace
  // period lets finish do not wait behind it.
  void BeginStop() { warming_stopped_ = true; }

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
    absl::Status Delete(absl::string_view key) override { return store_->DeleteProjection(key); }

   private:
    EventStore* const store_;
  };

  // Who catches the index up, and so what stops it: a call, once Stop has
  // begun; the warmer, once BeginStop (or Stop) has; Stop itself, after
  // kIndexedAtStop events.
  enum class Caller { kCall, kWarmer, kStop };
  // The first time: loads the saved index (or starts an empty one, dropping
  // earlier runs' snapshots). Every time: adds the events from the index's
  // size + 1 to the head published now (CatchUpFromLog). REQUIRES: mu_ held.
  absl::Status CatchUp(Caller caller);
  // Adds the events from the index's size + 1 to the head published now;
  // UNAVAILABLE (SHUTTING_DOWN) between two pages once `caller` is to stop;
  // Stop's own adds at most kIndexedAtStop events. An event the index cannot add (a store
  // that fails to find a correction's target) resets it (ResetIndex) and returns that error,
  // its position in `*dropped_at` when given. REQUIRES: mu_ held.
  absl::Status CatchUpFromLog(Caller caller, uint64_t* dropped_at = nullptr);
  // An empty index, to be built from position 1, and neither the saved index nor a snapshot of
  // the old one left stored. REQUIRES: mu_ held.
  void ResetIndex();
  static constexpr uint64_t kIndexedAtStop = 100000;
  // Saves the index (projections::SaveIndex) if it changed since loaded or
  // saved (events added, snapshots taken or left out of the catalogue), then
  // deletes the snapshots it no longer lists. REQUIRES: mu_ held.
  absl::Status SaveIndex(bool sync);
  // Tells the log that a save of the index (or the catch-up before it) failed with `status`;
  // nothing if it is OK.
  void LogUnsaved(const absl::Status& status) const;
  // A query of the read side (projections/queries.h).
  template <typename Request, typename Response>
  using Query = absl::StatusOr<Response> (*)(const projections::IndexedLog& log,
                                             int64_t now_micros, const Request& request);
  // The method whose calls `request_call` requests, answered by `query` on the
  // query thread.
  template <typename Request, typename Response>
  UnaryMethod<Request> Method(RequestRawCall request_call, const AccessControl& access,
                              Query<Request, Response> query);
  // Catches up, then runs `query` on the log as it stands now. `published`: the answer as a
  // viewer may see it, without the sources of decisions not yet published
  // (projections/publication.h, WithholdSources) and, for a decision's history, without its
  // notes and declarations while it is unpublished (WithholdUnpublished).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Answer(Query<Request, Response> query, const Request& request,
                                  bool published);
  // Answer, and for an entity's history the page the request asks for
  // (projections/history_pages.h).
  template <typename Request, typename Response>
  absl::StatusOr<Response> AnswerPage(Query<Request, Response> query, const Request& request,
                                      bool published);
  // RESOURCE_EXHAUSTED (ANSWER_TOO_LARGE): an answer of `bytes`, above kMaxMessageBytes, with
  // what the caller can ask instead (of an entity's `history`: pages).
  static absl::Status AnswerTooLarge(size_t bytes, bool history);
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
  bool index_ready_ = false;           // loaded or started empty; guarded by mu_
  bool stopped_ = false;               // Stop has run; guarded by mu_
  // The papers deferred decisions cite (projections::QueryDeferredCitations) and
  // index_.decision_events() when they were read: read again once a decision event is indexed.
  // Guarded by mu_.
  std::vector<projections::DeferredCitations> deferred_;
  std::optional<size_t> deferred_read_at_;
  // What the saved index holds: events, snapshots taken and left out. Guarded by mu_.
  uint64_t saved_size_ = 0;
  uint64_t saved_snapshots_ = 0;
  uint64_t saved_dropped_ = 0;
  const std::function<void(const std::string&)> log_line_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> warming_stopped_{false};
  std::thread warmer_;
  // The query thread: answers calls one at a time, in arrival order.
  WorkQueue queries_{1, "query"};
  const UnaryMethod<v1::GetProgrammeStatusRequest> programme_status_;
  const UnaryMethod<v1::GetRiskRegisterRequest> risk_register_;
  const UnaryMethod<v1::CompareRequest> compare_;
  const UnaryMethod<v1::GetScopeMapRequest> scope_map_;
  const UnaryMethod<v1::GetDecisionRegisterRequest> decision_register_;
  const UnaryMethod<v1::GetBenefitsRequest> benefits_;
  const UnaryMethod<v1::GetEntityHistoryRequest> entity_history_;
  const UnaryMethod<v1::ListProgrammesRequest> programmes_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_QUERY_SERVICE_H_
