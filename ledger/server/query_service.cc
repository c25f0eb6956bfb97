#include "ledger/server/query_service.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <gperftools/malloc_extension.h>
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/server/grpc_status.h"
#include "projections/history_pages.h"
#include "projections/publication.h"

namespace govledger {

QueryServiceImpl::QueryServiceImpl(const Ledger* ledger, const Clock* clock,
                                   const AccessControl& access,
                                   projections::SnapshotOptions options,
                                   std::function<void(const std::string&)> log)
    : ledger_(ledger),
      clock_(clock),
      source_(&ledger->store()),
      snapshots_(&ledger->store()),
      log_{&index_, &source_, &snapshots_, options},
      log_line_(std::move(log)),
      programme_status_(Method(BindRequest(this, &QueryServiceImpl::RequestGetProgrammeStatus),
                               access, projections::QueryProgrammeStatus)),
      risk_register_(Method(BindRequest(this, &QueryServiceImpl::RequestGetRiskRegister), access,
                            projections::QueryRiskRegister)),
      compare_(Method(BindRequest(this, &QueryServiceImpl::RequestCompare), access,
                      projections::QueryCompare)),
      scope_map_(Method(BindRequest(this, &QueryServiceImpl::RequestGetScopeMap), access,
                        projections::QueryScopeMap)),
      decision_register_(Method(BindRequest(this, &QueryServiceImpl::RequestGetDecisionRegister),
                                access, projections::QueryDecisionRegister)),
      benefits_(Method(BindRequest(this, &QueryServiceImpl::RequestGetBenefits), access,
                       projections::QueryBenefits)),
      entity_history_(Method(BindRequest(this, &QueryServiceImpl::RequestGetEntityHistory), access,
                             projections::QueryEntityHistory)),
      programmes_(Method(BindRequest(this, &QueryServiceImpl::RequestListProgrammes), access,
                         projections::QueryProgrammes)) {
  warmer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "query-warming");
    Warm();
  });
}

QueryServiceImpl::~QueryServiceImpl() { Stop(); }

void QueryServiceImpl::Stop() {
  stopping_ = true;
  if (warmer_.joinable()) warmer_.join();
  queries_.Stop();
  std::lock_guard<std::mutex> lock(mu_);
  // Once only: the destructor's Stop may come after the ledger is gone (a daemon that failed to
  // start, say, stops its services and closes the ledger before destroying them).
  if (stopped_) return;
  stopped_ = true;
  // Index what was appended since the last query, up to kIndexedAtStop events, so that the next
  // start loads it instead of reading those events again; more would hold the stop up (a
  // million take seconds), and are read by the next start, in the background. A failure costs
  // the next start that reading.
  if (!index_ready_) return;
  absl::Status saved = CatchUpFromLog(Caller::kStop);
  if (saved.ok()) saved = SaveIndex(/*sync=*/true);
  LogUnsaved(saved);
}

void QueryServiceImpl::LogUnsaved(const absl::Status& status) const {
  if (status.ok() || !log_line_) return;
  log_line_(absl::StrCat("query index not saved (", status.message(), "): the next start reads the ",
                    "log from position ", saved_size_ + 1, " to index it"));
}

void QueryServiceImpl::Listen(grpc::ServerCompletionQueue* cq) const {
  programme_status_.Listen(cq);
  risk_register_.Listen(cq);
  compare_.Listen(cq);
  scope_map_.Listen(cq);
  decision_register_.Listen(cq);
  benefits_.Listen(cq);
  entity_history_.Listen(cq);
  programmes_.Listen(cq);
}

template <typename Request, typename Response>
UnaryMethod<Request> QueryServiceImpl::Method(RequestRawCall request_call,
                                              const AccessControl& access,
                                              Query<Request, Response> query) {
  return UnaryMethod<Request>(std::move(request_call), access, Role::kViewer,
                              [this, query](UnaryCall<Request>* call) {
    QueueCall<Request>(queries_, kMaxWaitingCalls, call, [this, query](UnaryCall<Request>* call) {
      Request request = call->request();
      bool published = call->role() == Role::kViewer;
      if constexpr (std::is_same_v<Request, v1::GetDecisionRegisterRequest> ||
                    std::is_same_v<Request, v1::CompareRequest>) {
        // A viewer sees the published register: withheld decisions, and possible splits
        // among the published ones; and comparisons without the sources of their events.
        if (published) request.set_published_only(true);
        published = request.published_only();
      }
      // The whole answer is built (a history whole, then cut to its page) before its size
      // is known: one over the limit costs its fold and memory, then is refused.
      absl::StatusOr<Response> answer = AnswerPage(query, request, published);
      if (!answer.ok()) {
        // The log's own damage (an event read that fails its hash, the store's files), not a
        // derived snapshot's, which a rebuild replaces.
        if (const std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(answer.status());
            info && (info->reason() == errors::reason::kChainBroken ||
                     info->reason() == errors::reason::kEventCorrupt ||
                     info->reason() == errors::reason::kStorageCorrupt)) {
          ledger_->NoteDamage(answer.status());
        }
        call->Fail(ToGrpcStatus(answer.status()));
        return;
      }
      if (const size_t bytes = answer->ByteSizeLong(); bytes > kMaxMessageBytes) {
        call->Fail(ToGrpcStatus(
            AnswerTooLarge(bytes, std::is_same_v<Request, v1::GetEntityHistoryRequest>)));
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
    if (!CatchUp(Caller::kWarmer).ok()) return;  // the calls will report it
    programmes = index_.Programmes();
  }
  for (const std::string& programme : programmes) {
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      if (stopping_ || warming_stopped_) return;
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
  {
    // A crash from here on still finds the index and the snapshots warmed.
    std::lock_guard<std::mutex> lock(mu_);
    LogUnsaved(SaveIndex(/*sync=*/false));
  }
  // Warming read and wrote a lot (pages of the log, snapshots): give the
  // freed memory back to the system (tcmalloc keeps it otherwise).
  MallocExtension::instance()->ReleaseFreeMemory();
}

absl::Status QueryServiceImpl::SaveIndex(bool sync) {
  if (!index_ready_ ||
      (index_.size() == saved_size_ && index_.snapshots_taken == saved_snapshots_ &&
       index_.snapshots_dropped == saved_dropped_)) {
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(projections::SaveIndex(ledger_->store(), index_, sync));
  saved_size_ = index_.size();
  saved_snapshots_ = index_.snapshots_taken;
  saved_dropped_ = index_.snapshots_dropped;
  // The catalogue saved no longer lists them (after it, so that a crash leaves bytes, never
  // a catalogued snapshot without them).
  return index_.DeleteDroppedSnapshots(snapshots_);
}

absl::Status QueryServiceImpl::CatchUp(Caller caller) {
  std::optional<std::chrono::steady_clock::time_point> started;
  std::string loaded;
  if (!index_ready_) {
    started = std::chrono::steady_clock::now();
    absl::StatusOr<size_t> size =
        projections::LoadIndex(ledger_->store(), ledger_->Head().position, &index_);
    if (size.ok()) {
      saved_size_ = index_.size();
      saved_snapshots_ = index_.snapshots_taken;
      saved_dropped_ = index_.snapshots_dropped;
      loaded = absl::StrCat("loaded at position ", index_.size(), " (",
                            absl::StrFormat("%.1f", *size / 1e6), " MB)");
    } else {
      // Built from position 1 (a failure leaves them unused).
      ResetIndex();
      loaded = absl::StrCat("built from position 1 (", size.status().message(), ")");
    }
    index_ready_ = true;
  }
  const uint64_t before = index_.size();
  uint64_t dropped_at = 0;
  absl::Status caught_up = CatchUpFromLog(caller, &dropped_at);
  if (started && log_line_) {
    log_line_(absl::StrCat(
        "query index ", loaded, ", then ",
        dropped_at == 0
            ? absl::StrCat(index_.size() - before, " events read to position ", index_.size())
            : absl::StrCat("dropped at position ", dropped_at,
                           " (the next query builds it again from position 1)"),
        ", in ",
        absl::StrFormat(
            "%.2f",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - *started).count()),
        " s",
        caught_up.ok() ? ""
        : errors::ErrorInfoOf(caught_up).value_or(google::rpc::ErrorInfo()).reason() ==
                errors::reason::kShuttingDown
            ? " (stopped by the shutdown: the next start goes on from there)"
            : absl::StrCat(" (stopped: ", caught_up.message(), ")")));
  }
  return caught_up;
}

void QueryServiceImpl::ResetIndex() {
  index_ = projections::ProgrammeIndex();
  saved_size_ = saved_snapshots_ = saved_dropped_ = 0;
  // The saved index goes too (a start would load it again, and its catalogue lists the
  // snapshots below), before its snapshots, which are in no catalogue then: nothing else would
  // ever delete them.
  ledger_->store().DeleteProjection(projections::kQueryIndexKey).IgnoreError();
  ledger_->store().DropProjections(projections::ProgrammeIndex::kSnapshotKeyPrefix).IgnoreError();
}

absl::Status QueryServiceImpl::CatchUpFromLog(Caller caller, uint64_t* dropped_at) {
  const uint64_t head =
      caller == Caller::kStop
          ? std::min(ledger_->Head().position, index_.size() + kIndexedAtStop)
          : ledger_->Head().position;
  uint64_t from = index_.size() + 1;
  while (from <= head) {
    // A stop does not wait for the rest (an index built from position 1 takes seconds a
    // million events); it saves what is indexed.
    if ((caller == Caller::kCall && stopping_) ||
        (caller == Caller::kWarmer && (stopping_ || warming_stopped_))) {
      return errors::ShuttingDown();
    }
    v1::ReadRequest request;
    request.set_from(from);
    request.set_limit(std::min<uint64_t>(kMaxReadLimit, head - from + 1));
    absl::StatusOr<v1::ReadResponse> page = ledger_->Read(request);
    if (!page.ok()) return page.status();
    if (page->events_size() == 0) break;
    for (const v1::Event& e : page->events()) {
      if (e.position() != index_.size() + 1) {
        return absl::InternalError("the ledger returned a page out of order");
      }
      if (absl::Status s = index_.Add(e, source_); !s.ok()) {
        ResetIndex();  // rebuilt by the next call
        if (dropped_at != nullptr) *dropped_at = e.position();
        return s;
      }
    }
    from = index_.size() + 1;
  }
  return absl::OkStatus();
}

absl::Status QueryServiceImpl::AnswerTooLarge(size_t bytes, bool history) {
  return errors::WithReason(
      absl::ResourceExhaustedError(absl::StrFormat(
          "the answer is %d bytes, more than the %d a gRPC message may carry%s", bytes,
          kMaxMessageBytes,
          history
              ? ": ask for the history in pages (page_size, then each answer's "
                "next_page_token as page_token; `govledger history` does)"
              : ": ask about an earlier point (as_at), where it is smaller")),
      errors::reason::kAnswerTooLarge, {{"answer_bytes", absl::StrCat(bytes)}});
}

template <typename Request, typename Response>
absl::StatusOr<Response> QueryServiceImpl::AnswerPage(Query<Request, Response> query,
                                                      const Request& request, bool published) {
  if constexpr (std::is_same_v<Request, v1::GetEntityHistoryRequest>) {
    ASSIGN_OR_RETURN(projections::HistoryPage page, projections::OpenHistoryPage(request));
    ASSIGN_OR_RETURN(Response answer, Answer(query, page.request, published));
    RETURN_IF_ERROR(projections::CutHistoryPage(page, &answer));
    return answer;
  } else {
    return Answer(query, request, published);
  }
}

namespace {

bool AtATime(const v1::AsAt& as_at) {
  return as_at.point_case() == v1::AsAt::kTime || as_at.point_case() == v1::AsAt::kProgrammeWeek;
}

// Whether `request` asks for a cut at a time or a week.
template <typename Request>
bool CutsAtATime(const Request& request) {
  if constexpr (std::is_same_v<Request, v1::CompareRequest>) {
    return AtATime(request.from()) || AtATime(request.to());
  } else {
    return AtATime(request.as_at());
  }
}

}  // namespace

template <typename Request, typename Response>
absl::StatusOr<Response> QueryServiceImpl::Answer(Query<Request, Response> query,
                                                  const Request& request, bool published) {
  // Now, once every event recorded by then is published (a sync away, under appends), and
  // then the log: every event recorded at or before `now` is indexed (and those recorded
  // since may be, after any cut at or before `now`). A cut at a time just past, as recorded,
  // then holds all the ledger had recorded by then: it had left out a group still being
  // synced, and held it when asked again. A stuck disk delays an answer by 2 s at most.
  // Only a cut at a time or week needs it: a position is what it is, and waits for no append
  // (a reviewer's: a correction's refold had held every query for seconds); its now is read
  // after the log, so that every event indexed was recorded by then.
  const bool at_a_time = CutsAtATime(request);
  int64_t now =
      at_a_time
          ? ledger_->SettledNowMicros(std::chrono::steady_clock::now() + std::chrono::seconds(2))
          : 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CatchUp(Caller::kCall); !s.ok()) return s;
  if (!at_a_time) now = clock_->NowMicros();
  absl::StatusOr<Response> answer = query(log_, now, request);
  if (answer.ok() && published) {
    if (deferred_read_at_ != index_.decision_events()) {
      absl::StatusOr<std::vector<projections::DeferredCitations>> deferred =
          projections::QueryDeferredCitations(log_);
      if (!deferred.ok()) return deferred.status();
      deferred_ = *std::move(deferred);
      deferred_read_at_ = index_.decision_events();
    }
    projections::WithholdSources(projections::WithheldSources(deferred_, now), &*answer);
    if constexpr (std::is_same_v<Response, v1::GetEntityHistoryResponse>) {
      projections::WithholdUnpublished(now, deferred_, request.stream_id(), &*answer);
    }
  }
  // An answer folds megabytes (a snapshot's state, the events after it) and
  // frees them: give them back now rather than at tcmalloc's own pace, so that
  // the daemon's footprint is its live data.
  MallocExtension::instance()->ReleaseFreeMemory();
  return answer;
}

}  // namespace govledger
