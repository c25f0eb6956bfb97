#include "ledger/ledger.h"

#include <pthread.h>

#include <algorithm>
#include <future>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "ledger/common/uuid.h"
#include "ledger/stored_event.h"

namespace govledger {
namespace {

// A refusal by the governance rules, which name an event by its id ("event_id"), also names it by
// its index in the request ("event_index"), as the ledger's own checks do: a client maps either
// back to what it sent.
absl::Status WithEventIndex(absl::Status status, const v1::AppendRequest& request) {
  const std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(status);
  if (!info.has_value()) return status;
  const auto id = info->metadata().find("event_id");
  if (id == info->metadata().end() || info->metadata().contains("event_index")) return status;
  for (int i = 0; i < request.events_size(); ++i) {
    if (absl::EqualsIgnoreCase(request.events(i).event_id(), id->second)) {
      return errors::WithContext(status, "", {{"event_index", absl::StrCat(i)}});
    }
  }
  return status;
}

// Most events written by one group commit (one store write): appends queued past it wait for
// the next commit (an append larger than this alone is one commit).
constexpr size_t kMaxCommitEvents = 20000;

// An event id seen before is a retry when its content is the same; an unset effective time
// on the retry matches whatever was recorded. Returns the first part that differs (as the
// Event message names its field), or an empty view for a retry.
absl::string_view DifferingPart(const v1::Event& proposed, const v1::Event& stored) {
  if (proposed.stream_id() != stored.stream_id()) return "stream_id";
  if (proposed.event_type() != stored.event_type()) return "event_type";
  if (proposed.has_effective_time() &&
      (proposed.effective_time().seconds() != stored.effective_time().seconds() ||
       proposed.effective_time().nanos() != stored.effective_time().nanos())) {
    return "effective_time";
  }
  if (proposed.payload() != stored.payload()) return "payload";
  if (proposed.source() != stored.source()) return "source";
  return {};
}

std::string DescribeExpectation(const v1::ExpectedVersion& ev) {
  switch (ev.kind()) {
    case v1::ExpectedVersion::KIND_NO_STREAM:
      return "no stream";
    case v1::ExpectedVersion::KIND_EXACT:
      return absl::StrCat("version ", ev.version());
    default:
      return "any version";
  }
}

}  // namespace

// One event of a queued append, prepared on the caller's thread so the writer only adds what
// it alone can know.
struct PreparedEvent {
  UuidBytes id{};
  std::string id_text;  // canonical (lower-case) form
  // The serialized client fields (1 to 6, effective time filled in); the writer appends the
  // server fields to make the stored record.
  std::string client_record;
  // The position stored under this id, looked up before the append was queued (see
  // Pending::ids_checked_through).
  std::optional<uint64_t> stored_position;
};

struct Ledger::Pending {
  v1::AppendRequest request;  // as the client sent it, for comparing retries
  std::vector<PreparedEvent> prepared;
  // The published head when the ids were looked up: the look-ups saw every commit up to it, so
  // only ids committed after it remain for the writer to check.
  uint64_t ids_checked_through = 0;
  std::string actor;
  bool admin = true;  // the caller holds an admin token (AppendContext::admin)
  AppendDone done;
  size_t bytes = 0;  // of the events as received (their client records), for the queue's bound
  // When the append was received: the effective time of its events that have none.
  int64_t received_micros = 0;
  v1::AppendResponse response;
  absl::Status status;  // the outcome of staging
};

// What one group commit has staged so far, on top of what the store holds.
struct Ledger::Staging {
  uint64_t next_position = 0;
  crypto::Hash prev_hash{};
  int64_t recorded_micros = 0;
  absl::flat_hash_map<std::string, uint64_t> stream_versions;  // streams read or written
  absl::flat_hash_map<UuidBytes, size_t> new_ids;              // index into writes
  std::vector<EventWrite> writes;
};

// A group the writer has finished with, on its way to the sync thread.
struct Ledger::Written {
  std::vector<std::unique_ptr<Pending>> group;
  // The head after the group's store write; nullopt when it wrote nothing (every append
  // refused, or retries of earlier events).
  std::optional<ChainPoint> head;
};

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(EventStore* store, const Clock* clock,
                                                     const LedgerOptions& options,
                                                     EventValidator* validator) {
  ASSIGN_OR_RETURN(ChainPoint head, store->LoadHead());
  ASSIGN_OR_RETURN(ChainPoint verified, store->LoadVerified());
  if (verified.position > head.position) {
    return absl::DataLossError(absl::StrCat(
        "the verified point (", verified.position, ") is past the head (", head.position,
        "): events once verified are missing; restore the data directory from a backup "
        "(govledger admin restore)"));
  }
  if (verified.position > 0) {
    // The verified point is trusted only if the event there still has the hash it had, and
    // that hash is still the hash of its stored bytes (comparing the stored hash field alone
    // would miss an edit of the record itself).
    ASSIGN_OR_RETURN(std::optional<std::string> stored, store->Get(verified.position));
    if (!stored) return errors::CorruptEvent(verified.position, "missing");
    ASSIGN_OR_RETURN(v1::Event event, DecodeStoredEvent(verified.position, *stored));
    if (event.prev_hash().size() != crypto::kHashSize) {
      return errors::ChainBroken(verified.position, "its previous hash is not 32 bytes");
    }
    crypto::Hash prev{};
    std::copy(event.prev_hash().begin(), event.prev_hash().end(), prev.begin());
    ASSIGN_OR_RETURN(crypto::Hash hash, VerifyStoredEvent(verified.position, *stored, prev));
    if (hash != verified.hash) {
      return errors::ChainBroken(verified.position,
                                 "its hash is not the one recorded when it was last verified "
                                 "(it was replaced since, with a hash computed anew, or the "
                                 "record of the verified point was changed)");
    }
  }
  ASSIGN_OR_RETURN(ChainPoint end, VerifyChain(*store, verified, head.position));
  if (end.hash != head.hash) {
    return errors::ChainBroken(head.position,
                               "its hash is not the head hash the database recorded with it");
  }
  ASSIGN_OR_RETURN(uint64_t last, store->LastPosition());
  if (last > head.position) {
    // The head was lost or set back (a damaged or edited `meta`): appending would overwrite
    // the events after it.
    return absl::DataLossError(absl::StrCat(
        "events are stored up to position ", last, ", past the head (position ", head.position,
        "): the store's head is damaged; restore the data directory from a backup"));
  }
  if (head.position > verified.position) RETURN_IF_ERROR(store->SaveVerified(head));

  int64_t last_recorded = 0;
  if (head.position > 0) {
    ASSIGN_OR_RETURN(std::optional<std::string> stored, store->Get(head.position));
    if (!stored) return errors::CorruptEvent(head.position, "missing");
    ASSIGN_OR_RETURN(v1::Event event, DecodeStoredEvent(head.position, *stored));
    last_recorded = ToMicros(event.recorded_time());
    const int64_t now = clock->NowMicros();
    if (now < last_recorded - options.max_clock_behind_seconds * 1000000) {
      const int64_t behind = (last_recorded - now) / 1000000;
      return absl::FailedPreconditionError(absl::StrCat(
          "the clock reads ", FormatRfc3339(now), ", ", behind,
          " s before the last event's "
          "recorded time, ",
          FormatRfc3339(last_recorded), " (position ", head.position,
          "): recorded times never go backwards, so every event appended would be recorded "
          "at that later time and misdated. If this clock is wrong, set it (NTP) and start "
          "again: the log was not changed (the database's own files are tidied at each open). If "
          "it is right, an earlier start's clock was ahead and "
          "the log already holds that time: start with --max-clock-behind-seconds ",
          behind + 1, " or more to append at it until the clock catches up"));
    }
  }
  if (validator != nullptr) RETURN_IF_ERROR(validator->Recover(*store, head.position));
  return std::unique_ptr<Ledger>(
      new Ledger(store, clock, options, validator, head, last_recorded));
}

Ledger::Ledger(EventStore* store, const Clock* clock, const LedgerOptions& options,
               EventValidator* validator, ChainPoint head, int64_t last_recorded_micros)
    : store_(store),
      clock_(clock),
      options_(options),
      validator_(validator),
      head_(head),
      written_position_(head.position),
      written_(head),
      recent_floor_(head.position),
      last_recorded_micros_(last_recorded_micros),
      opened_position_(head.position),
      writer_([this] { WriterLoop(); }),
      syncer_([this] { SyncLoop(); }),
      acker_([this] { AckLoop(); }) {}

Ledger::~Ledger() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  CloseSubscriptions();
  writer_.join();
  {
    std::lock_guard lock(sync_mu_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_all();
  syncer_.join();
  {
    std::lock_guard lock(ack_mu_);
    ack_stopping_ = true;
  }
  ack_cv_.notify_all();
  acker_.join();
  // Everything up to the head was chained by this writer from a verified start; unless a read
  // found the stored log damaged since: then the verified point stays where this start left
  // it, and the next start checks again what was appended since (a damaged table of them had
  // served on as verified after a restart). Damage below that point still lets a start serve
  // what can be read, to be exported (README, "Saving what a damaged ledger still holds").
  if (failed_.ok() && integrity_failure().ok()) store_->SaveVerified(Head()).IgnoreError();
}

void Ledger::AppendAsync(v1::AppendRequest request, std::string actor, bool admin,
                         AppendDone done) {
  // Every outcome, wherever it is decided, is counted once.
  done = [this, done = std::move(done)](absl::StatusOr<v1::AppendResponse> result) {
    (result.ok() ? appends_accepted_ : appends_refused_).fetch_add(1, std::memory_order_relaxed);
    done(std::move(result));
  };
  std::vector<UuidBytes> ids;
  if (absl::Status s = ValidateAppendRequest(request, options_.limits, &ids); !s.ok()) {
    done(s);
    return;
  }
  if (absl::Status s = ValidateActor(actor); !s.ok()) {
    done(s);
    return;
  }
  auto pending = std::make_unique<Pending>();
  // An event without an effective time takes effect when received: never before the last
  // recorded time, as recorded times never go back (an operator's drill: a clock stepped back
  // two hours dated such events two hours early, recorded times clamped beside them).
  const int64_t received_micros =
      std::max(clock_->NowMicros(), last_recorded_micros_.load(std::memory_order_relaxed));
  pending->received_micros = received_micros;
  pending->prepared.resize(request.events_size());
  // The id look-ups happen here, on the caller's thread, so the single writer does not wait
  // on them; the head is read first, so they see at least every commit up to it.
  pending->ids_checked_through = Head().position;
  absl::StatusOr<std::vector<std::optional<uint64_t>>> stored = store_->FindEventIds(ids);
  if (!stored.ok()) {
    NoteDamage(stored.status());  // the event id index's: monitoring must see it
    done(stored.status());
    return;
  }
  for (int i = 0; i < request.events_size(); ++i) {
    pending->prepared[i].stored_position = (*stored)[i];
  }
  // Paused, an append that would store something is refused; a retry of stored events is
  // answered (it writes nothing), so a client whose call timed out learns its outcome. Stopped
  // by a storage failure, appends are told so by the writer (UNAVAILABLE: restart govledgerd),
  // not that they resume by themselves.
  if (paused_.load(std::memory_order_acquire) && storage_failure().ok() &&
      !std::all_of(stored->begin(), stored->end(),
                   [](const std::optional<uint64_t>& p) { return p.has_value(); })) {
    if (std::string why = appends_paused(); !why.empty()) {
      done(errors::WithReason(absl::ResourceExhaustedError(why), errors::reason::kAppendsPaused));
      return;
    }
  }
  v1::Event client_fields;
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::Event& e = request.events(i);
    PreparedEvent& p = pending->prepared[i];
    p.id = ids[i];
    p.id_text = FormatUuid(p.id);
    client_fields.set_event_id(p.id_text);
    client_fields.set_stream_id(e.stream_id());
    client_fields.set_event_type(e.event_type());
    if (e.has_effective_time()) {
      *client_fields.mutable_effective_time() = e.effective_time();
    } else {
      SetMicros(received_micros, client_fields.mutable_effective_time());
    }
    client_fields.set_payload(e.payload());
    client_fields.set_source(e.source());
    client_fields.SerializeToString(&p.client_record);
    pending->bytes += p.client_record.size();
  }
  pending->request = std::move(request);
  pending->actor = std::move(actor);
  pending->admin = admin;
  pending->done = std::move(done);
  absl::Status refused;
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) {
      refused = errors::ShuttingDown();
    } else if (!queue_.empty() && queued_bytes_ + pending->bytes > options_.max_queued_bytes) {
      refused = errors::Overloaded(queued_bytes_, options_.max_queued_bytes);
    } else {
      queued_bytes_ += pending->bytes;
      queue_.push_back(std::move(pending));
    }
  }
  if (!refused.ok()) {
    pending->done(refused);
    return;
  }
  queue_cv_.notify_one();
}

absl::StatusOr<v1::AppendResponse> Ledger::Append(v1::AppendRequest request, std::string actor,
                                                  bool admin) {
  std::promise<absl::StatusOr<v1::AppendResponse>> promise;
  std::future<absl::StatusOr<v1::AppendResponse>> future = promise.get_future();
  AppendAsync(
      std::move(request), std::move(actor), admin,
      [&promise](absl::StatusOr<v1::AppendResponse> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void Ledger::WriterLoop() {
  pthread_setname_np(pthread_self(), "ledger-writer");
  for (;;) {
    std::vector<std::unique_ptr<Pending>> group;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + queue_.front()->request.events_size() <=
                                   kMaxCommitEvents)) {
        events += queue_.front()->request.events_size();
        queued_bytes_ -= queue_.front()->bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    WriteGroup(std::move(group));
  }
}

void Ledger::WriteGroup(std::vector<std::unique_ptr<Pending>> group) {
  Written written;
  absl::Status failed;
  {
    std::lock_guard lock(sync_mu_);
    failed = failed_;
  }
  if (!failed.ok()) {
    for (auto& p : group) p->status = errors::WriterStopped(failed.message());
  } else {
    Staging staging;
    staging.next_position = written_.position + 1;
    staging.prev_hash = written_.hash;
    {
      std::lock_guard lock(stamp_mu_);
      staging.recorded_micros =
          std::max(clock_->NowMicros(), last_recorded_micros_.load(std::memory_order_relaxed));
      staging_micros_ = staging.recorded_micros;
    }
    if (validator_ != nullptr) validator_->BeginGroup();
    for (auto& p : group) {
      p->status = Stage(*p, staging);
      NoteDamage(p->status);  // a stream's version that does not read
    }

    const ChainPoint new_head{staging.next_position - 1, staging.prev_hash};
    absl::Status wrote = absl::OkStatus();
    if (!staging.writes.empty()) {
      {
        // A sync may have failed while this group was staged: then nothing more is written.
        std::lock_guard lock(sync_mu_);
        wrote = failed_;
      }
      if (wrote.ok()) wrote = store_->Write(staging.writes, new_head);
    }
    if (!wrote.ok()) {
      // What the store holds after a failed write is unknown: stop writing rather than risk
      // a fork in the chain. A restart re-reads and re-verifies the store.
      StopAppends(wrote);
      if (validator_ != nullptr) validator_->AbortGroup();
      // Every append of the group, refused ones too: a refusal may have been decided against
      // an event of the group (an id or a stream version it took), which is not stored. A
      // retry after the restart gets the true answer.
      for (auto& p : group) p->status = errors::WriterStopped(wrote.message());
    } else if (staging.writes.empty()) {
      if (validator_ != nullptr) validator_->AbortGroup();  // nothing staged
    } else {
      written_ = new_head;
      written.head = new_head;
      last_recorded_micros_.store(staging.recorded_micros, std::memory_order_relaxed);
      if (validator_ != nullptr) validator_->CommitGroup();
      if (stream_versions_.size() + staging.stream_versions.size() >
          options_.stream_cache_entries) {
        stream_versions_.clear();
      }
      for (const auto& [stream, version] : staging.stream_versions) {
        stream_versions_[stream] = version;
      }
      for (const EventWrite& w : staging.writes) {
        recent_ids_.emplace(w.event_id, w.position);
        recent_order_.emplace_back(w.position, w.event_id);
      }
      while (recent_order_.size() > options_.recent_ids) {
        recent_floor_ = recent_order_.front().first;
        recent_ids_.erase(recent_order_.front().second);
        recent_order_.pop_front();
      }
    }
    for (auto& p : group) p->response.set_head_position(written_.position);
    {
      std::lock_guard lock(stamp_mu_);
      staging_micros_ = 0;
      written_position_ = written_.position;
    }
    stamp_cv_.notify_all();
  }
  written.group = std::move(group);
  {
    std::lock_guard lock(sync_mu_);
    sync_queue_.push_back(std::move(written));
  }
  sync_cv_.notify_one();
}

void Ledger::SyncLoop() {
  pthread_setname_np(pthread_self(), "ledger-sync");
  // Once a sync fails, nothing written since the last good one is known to be on disk. (A
  // failed write fails its own group, and the writer refuses the groups after it; the groups
  // written before it are still synced here.)
  absl::Status failed;
  for (;;) {
    std::vector<Written> batch;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return sync_stopping_ || !sync_queue_.empty(); });
      if (sync_queue_.empty()) return;  // stopping, and every written group is delivered
      batch.swap(sync_queue_);
    }
    // One sync puts every group of the batch on disk: each was written before it started.
    std::optional<ChainPoint> head;
    for (const Written& w : batch) {
      if (w.head) head = w.head;
    }
    if (head && failed.ok()) {
      failed = store_->Sync();
      if (!failed.ok()) {
        StopAppends(failed);
        {
          // Nothing more is published (a write that fails publishes the groups written before
          // it): a SettledNowMicros waiting for the head stops waiting.
          std::lock_guard lock(head_mu_);
          publishing_stopped_ = true;
        }
        head_cv_.notify_all();
      } else {
        syncs_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!failed.ok()) {
      // Not known to be on disk: no append of the batch is acknowledged as stored, and no
      // retry is answered with a position that may not survive; nor refused against an event
      // that may not have survived (an id or a stream version it took).
      for (Written& w : batch) {
        for (auto& p : w.group) p->status = errors::WriterStopped(failed.message());
      }
    } else if (head) {
      {
        std::lock_guard lock(head_mu_);
        head_ = *head;
      }
      head_cv_.notify_all();
    }
    for (Written& w : batch) Acknowledge(w.group);
  }
}

std::optional<int64_t> Ledger::last_recorded_micros() const {
  const int64_t micros = last_recorded_micros_.load(std::memory_order_relaxed);
  if (micros == 0) return std::nullopt;
  return micros;
}

void Ledger::PauseAppends(std::string why) {
  std::lock_guard lock(paused_mu_);
  appends_paused_ = std::move(why);
  paused_.store(!appends_paused_.empty(), std::memory_order_release);
}

void Ledger::ResumeAppends() { PauseAppends(""); }

std::string Ledger::appends_paused() const {
  std::lock_guard lock(paused_mu_);
  return appends_paused_;
}

void Ledger::StopAppends(const absl::Status& cause) {
  {
    std::lock_guard lock(sync_mu_);
    if (!failed_.ok()) return;
    failed_ = cause;
  }
  if (options_.on_storage_failure) options_.on_storage_failure(cause);
}

absl::Status Ledger::storage_failure() const {
  std::lock_guard lock(sync_mu_);
  return failed_;
}

void Ledger::Acknowledge(std::vector<std::unique_ptr<Pending>>& group) {
  {
    std::lock_guard lock(ack_mu_);
    for (auto& p : group) ack_queue_.push_back(std::move(p));
  }
  ack_cv_.notify_one();
}

void Ledger::AckLoop() {
  pthread_setname_np(pthread_self(), "ledger-acks");
  for (;;) {
    std::deque<std::unique_ptr<Pending>> batch;
    {
      std::unique_lock lock(ack_mu_);
      ack_cv_.wait(lock, [this] { return ack_stopping_ || !ack_queue_.empty(); });
      if (ack_queue_.empty()) return;  // stopping, and every outcome is delivered
      batch.swap(ack_queue_);
    }
    for (auto& p : batch) {
      if (p->status.ok()) {
        p->done(std::move(p->response));
      } else {
        p->done(p->status);
      }
    }
  }
}

absl::Status Ledger::Stage(Pending& pending, Staging& staging) {
  const v1::AppendRequest& request = pending.request;
  const int n = request.events_size();
  std::vector<bool> duplicate(n, false);
  int duplicates = 0;
  for (int i = 0; i < n; ++i) {
    const PreparedEvent& p = pending.prepared[i];
    v1::AppendedEvent* out = pending.response.add_events();
    out->set_event_id(p.id_text);

    // An id seen before, staged in this group or stored, is a retry or a conflict.
    std::optional<absl::StatusOr<v1::Event>> seen;
    if (auto it = staging.new_ids.find(p.id); it != staging.new_ids.end()) {
      const EventWrite& w = staging.writes[it->second];
      seen = DecodeStoredEvent(w.position, w.stored_bytes);
    } else {
      std::optional<uint64_t> position = p.stored_position;
      if (!position && pending.ids_checked_through >= recent_floor_) {
        // Committed since the look-up, if at all: every such id is in recent_ids_.
        if (auto it = recent_ids_.find(p.id); it != recent_ids_.end()) position = it->second;
      } else if (!position) {
        // The append waited past what recent_ids_ remembers: look again.
        ASSIGN_OR_RETURN(position, store_->FindEventId(p.id));
      }
      if (position) {
        ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(*position));
        if (!bytes) return errors::CorruptEvent(*position, "indexed by event id but missing");
        // An entry naming another event would answer a new append as a retry and store
        // nothing (or refuse it as a conflict).
        // (WriteGroup notes it for monitoring, as every failed Stage.)
        RETURN_IF_ERROR(CheckEventIdIndexEntry(p.id_text, *position, *bytes));
        seen = DecodeStoredEvent(*position, *bytes);
      }
    }
    if (seen) {
      RETURN_IF_ERROR(seen->status());
      const v1::Event& earlier = **seen;
      if (absl::string_view part = DifferingPart(request.events(i), earlier); !part.empty()) {
        return errors::EventIdConflict(out->event_id(), earlier.position(), part);
      }
      duplicate[i] = true;
      ++duplicates;
      out->set_position(earlier.position());
      out->set_stream_version(earlier.stream_version());
      out->set_duplicate(true);
    }
  }
  if (duplicates == n) return absl::OkStatus();  // a retry of a committed append

  auto current_version = [&](const std::string& stream) -> absl::StatusOr<uint64_t> {
    if (auto it = staging.stream_versions.find(stream); it != staging.stream_versions.end()) {
      return it->second;
    }
    uint64_t v;
    if (auto it = stream_versions_.find(stream); it != stream_versions_.end()) {
      v = it->second;
    } else {
      ASSIGN_OR_RETURN(v, store_->StreamVersion(stream));
      // The stream index is covered by no hash, and the next version is taken from its last
      // entry: one planted past the stream's end would have the append store a version the
      // log skips, for good (a reviewer's forged entry). Its event must be that version.
      if (v > 0) RETURN_IF_ERROR(CheckLastStreamEntry(stream, v));
    }
    staging.stream_versions.emplace(stream, v);
    return v;
  };
  std::vector<errors::VersionMismatch> mismatches;  // all of them, so one retry fixes them all
  for (const v1::ExpectedVersion& ev : request.expected_versions()) {
    ASSIGN_OR_RETURN(uint64_t actual, current_version(ev.stream_id()));
    bool ok = ev.kind() == v1::ExpectedVersion::KIND_ANY ||
              (ev.kind() == v1::ExpectedVersion::KIND_NO_STREAM && actual == 0) ||
              (ev.kind() == v1::ExpectedVersion::KIND_EXACT && actual == ev.version());
    if (!ok) {
      mismatches.push_back({ev.stream_id(), DescribeExpectation(ev), actual});
    }
  }
  if (!mismatches.empty()) return errors::WrongExpectedVersions(mismatches);
  // Every fallible look-up happens before anything is staged, so a failure leaves the staging
  // exactly as this request found it.
  for (int i = 0; i < n; ++i) {
    if (!duplicate[i]) RETURN_IF_ERROR(current_version(request.events(i).stream_id()).status());
  }
  if (validator_ != nullptr) {
    std::vector<const v1::Event*> fresh;
    fresh.reserve(n - duplicates);
    for (int i = 0; i < n; ++i) {
      if (!duplicate[i]) fresh.push_back(&request.events(i));
    }
    if (absl::Status refused =
            validator_->CheckAppend(fresh, {staging.next_position, staging.recorded_micros,
                                            pending.received_micros, pending.actor, pending.admin});
        !refused.ok()) {
      return WithEventIndex(std::move(refused), request);
    }
  }
  v1::Event server_fields;
  SetMicros(staging.recorded_micros, server_fields.mutable_recorded_time());
  server_fields.set_actor(pending.actor);
  for (int i = 0; i < n; ++i) {
    if (duplicate[i]) continue;
    const std::string& stream = request.events(i).stream_id();
    PreparedEvent& p = pending.prepared[i];
    const uint64_t version = ++staging.stream_versions[stream];

    // Stored record = client fields || server fields: both serialized by protobuf, in field
    // number order, so the record is exactly the serialization of the whole event.
    server_fields.set_position(staging.next_position);
    server_fields.set_stream_version(version);
    server_fields.mutable_prev_hash()->assign(
        reinterpret_cast<const char*>(staging.prev_hash.data()), staging.prev_hash.size());
    std::string record = std::move(p.client_record);
    server_fields.AppendToString(&record);

    EventWrite& write = staging.writes.emplace_back();
    write.position = staging.next_position;
    write.stream_id = stream;
    write.stream_version = version;
    write.event_id = p.id;
    write.stored_bytes = ChainRecord(std::move(record), staging.prev_hash, &staging.prev_hash);
    staging.new_ids[p.id] = staging.writes.size() - 1;

    v1::AppendedEvent* out = pending.response.mutable_events(i);
    out->set_position(staging.next_position);
    out->set_stream_version(version);
    ++staging.next_position;
  }
  return absl::OkStatus();
}

Ledger::Stats Ledger::stats() const {
  Stats s;
  s.opened_position = opened_position_;
  s.appends_accepted = appends_accepted_.load(std::memory_order_relaxed);
  s.appends_refused = appends_refused_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  return s;
}

ChainPoint Ledger::Head() const {
  std::lock_guard lock(head_mu_);
  return head_;
}

uint64_t Ledger::WaitForHead(uint64_t position,
                             std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(head_mu_);
  head_cv_.wait_until(lock, deadline, [&] {
    return head_.position >= position || subscriptions_closed_;
  });
  return head_.position;
}

int64_t Ledger::SettledNowMicros(std::chrono::steady_clock::time_point deadline) const {
  int64_t now = 0;
  uint64_t written = 0;
  {
    std::unique_lock lock(stamp_mu_);
    now = std::max(clock_->NowMicros() - 1, last_recorded_micros_.load(std::memory_order_relaxed));
    stamp_cv_.wait_until(lock, deadline,
                         [&] { return staging_micros_ == 0 || staging_micros_ > now; });
    if (staging_micros_ != 0) now = std::min(now, staging_micros_ - 1);
    written = written_position_;
  }
  // Until every group written by then is published, or a failed sync has stopped publishing
  // (appends stopped otherwise, by a failed write or the data directory's watch, still publish
  // the groups written before). Not WaitForHead, which CloseSubscriptions ends: a query answered in
  // the shutdown's grace period needs its cut as exact as any other.
  std::unique_lock lock(head_mu_);
  head_cv_.wait_until(lock, deadline,
                      [&] { return head_.position >= written || publishing_stopped_; });
  return now;
}

void Ledger::CloseSubscriptions() {
  {
    std::lock_guard lock(head_mu_);
    subscriptions_closed_ = true;
  }
  head_cv_.notify_all();
}

bool Ledger::subscriptions_closed() const {
  std::lock_guard lock(head_mu_);
  return subscriptions_closed_;
}

absl::StatusOr<v1::ReadResponse> Ledger::Read(const v1::ReadRequest& request) const {
  ASSIGN_OR_RETURN(std::string wire, ReadWire(request));
  v1::ReadResponse response;
  if (!response.ParseFromString(wire)) {
    absl::Status damaged = absl::DataLossError("a page of stored events does not parse as events");
    NoteDamage(damaged);
    return damaged;
  }
  return response;
}

absl::Status Ledger::CheckLastStreamEntry(const std::string& stream, uint64_t version) const {
  absl::Status checked;
  RETURN_IF_ERROR(
      store_->ScanStream(stream, version, /*forward=*/true, [&](uint64_t, uint64_t position) {
        absl::StatusOr<std::optional<std::string>> stored = store_->Get(position);
        checked = !stored.ok() ? stored.status()
                  : !*stored   ? errors::CorruptEvent(position, "indexed by stream but missing")
                               : CheckStreamIndexEntry(stream, version, position, **stored);
        return false;
      }));
  return checked;  // (noted for monitoring by WriteGroup, as every failed Stage)
}

absl::Status Ledger::CheckEventType(absl::string_view type) const {
  return validator_ == nullptr ? absl::OkStatus() : validator_->CheckEventType(type);
}

void Ledger::NoteDamage(const absl::Status& status) const {
  if (status.code() != absl::StatusCode::kDataLoss) return;
  {
    std::lock_guard lock(damage_mu_);
    if (!damage_.ok()) return;
    damage_ = status;
  }
  if (options_.on_damage) options_.on_damage(status);
}

absl::Status Ledger::integrity_failure() const {
  std::lock_guard lock(damage_mu_);
  return damage_;
}

absl::StatusOr<std::string> Ledger::ReadWire(const v1::ReadRequest& request) const {
  absl::StatusOr<std::string> page = ReadPage(request);
  NoteDamage(page.status());
  return page;
}

absl::StatusOr<std::string> Ledger::ReadPage(const v1::ReadRequest& request) const {
  if (request.limit() > kMaxReadLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit ", request.limit(), " is too large; at most ", kMaxReadLimit));
  }
  if (!v1::Direction_IsValid(request.direction())) {
    return absl::InvalidArgumentError(
        absl::StrCat("direction ", static_cast<int>(request.direction()),
                     " is unknown; use DIRECTION_FORWARD (0) or DIRECTION_BACKWARD (1)"));
  }
  const uint32_t limit = request.limit() == 0 ? kDefaultReadLimit : request.limit();
  const bool forward = request.direction() == v1::DIRECTION_FORWARD;
  const uint64_t head = Head().position;

  // The page is built as ReadResponse wire bytes: each stored event already is a serialized
  // Event, so it is framed as field 1 without being parsed and re-serialized.
  std::string wire;
  uint32_t count = 0;
  uint64_t next = 0;
  absl::Status failure;
  auto finish = [&]() -> absl::StatusOr<std::string> {
    RETURN_IF_ERROR(failure);
    if (next != 0) AppendVarintField(2, next, &wire);
    if (head != 0) AppendVarintField(3, head, &wire);
    return std::move(wire);
  };
  // Adds one stored event; false once the page is full.
  auto add = [&](uint64_t position, absl::string_view stored) {
    if (!HasHashTrailer(stored)) {
      failure = errors::CorruptEvent(position, "stored bytes lack the hash trailer");
      return false;
    }
    if (wire.empty()) {
      wire.reserve(std::min<size_t>(limit * (stored.size() + 8), kMaxReadPageBytes + 64) +
                   stored.size());
    }
    AppendBytesField(1, stored, &wire);
    ++count;
    return count < limit && wire.size() < kMaxReadPageBytes;
  };

  if (request.stream_id().empty()) {
    uint64_t from = request.from();
    if (forward) {
      if (from == 0) from = 1;
      // head + 1 is still valid: an empty page, where a caller waiting for new events reads next.
      if (from > head + 1) {
        return errors::PositionPastHead(
            "position", from, head,
            absl::StrCat("read forwards from 1 to ", head + 1,
                         head == 0 ? " (the ledger is empty)" : ""));
      }
    } else {
      if (from == 0) from = head;
      if (from > head) {
        return errors::PositionPastHead(
            "position", from, head,
            head == 0 ? "read backwards from 0 (the ledger is empty: nothing to read)"
                      : absl::StrCat("read backwards from ", head, " down to 1"));
      }
    }
    if (head == 0 || from > head) return finish();
    uint64_t last = 0;
    bool full = false;
    RETURN_IF_ERROR(store_->ScanLog(from, forward, [&](uint64_t position, absl::string_view s) {
      if (position > head) return false;
      last = position;
      full = !add(position, s);
      return !full;
    }));
    RETURN_IF_ERROR(failure);
    // The log is dense from 1 to the head: a scan that ended before its page was full and
    // before the log's end met a missing event, which is reported, not passed off as a short
    // page.
    if (last == 0) return errors::CorruptEvent(from, "missing");
    const uint64_t end = forward ? head : 1;
    if (!full && last != end) return errors::CorruptEvent(forward ? last + 1 : last - 1, "missing");
    if (last != end) next = forward ? last + 1 : last - 1;
    return finish();
  }

  RETURN_IF_ERROR(ValidateStreamId(request.stream_id()));
  ASSIGN_OR_RETURN(uint64_t version, store_->StreamVersion(request.stream_id()));
  if (version > 0) {
    // The store's version may count events written but not yet synced: the stream's version
    // as published is that of its last event at or below the head.
    uint64_t published = 0;
    RETURN_IF_ERROR(store_->ScanStream(request.stream_id(), version, /*forward=*/false,
                                       [&](uint64_t v, uint64_t position) {
                                         if (position > head) return true;
                                         published = v;
                                         return false;
                                       }));
    version = published;
  }
  if (version == 0) {
    return absl::NotFoundError(
        absl::StrCat("stream '", request.stream_id(), "' has no events"));
  }
  uint64_t from = request.from();
  if (from == 0) from = forward ? 1 : version;
  if (from > (forward ? version + 1 : version)) {
    return errors::VersionPastStreamEnd(request.stream_id(), from, version);
  }
  bool full = false;
  uint64_t last_version = 0;  // the last version added to the page
  RETURN_IF_ERROR(store_->ScanStream(
      request.stream_id(), from, forward, [&](uint64_t v, uint64_t position) {
        if (position > head) return false;  // written but not yet published
        if (full) {
          next = v;  // the page is full and this event starts the next one
          return false;
        }
        absl::StatusOr<std::optional<std::string>> stored = store_->Get(position);
        if (!stored.ok() || !*stored) {
          failure = stored.ok() ? errors::CorruptEvent(position, "missing") : stored.status();
          return false;
        }
        // An entry that names another event (another stream's, or another version's) is
        // damage, not an answer.
        failure = CheckStreamIndexEntry(request.stream_id(), v, position, **stored);
        if (!failure.ok()) return false;
        full = !add(position, **stored);
        last_version = v;
        return failure.ok();
      }));
  // Versions are dense from 1 to the stream's last: a scan that ended before that, with no
  // next page to read, met a version missing from the index (an entry deleted on disk), which
  // is reported, not passed off as the stream's end.
  const uint64_t end = forward ? version : 1;
  if (failure.ok() && next == 0 && last_version != end && (!forward || from <= version)) {
    const uint64_t missing =
        last_version == 0 ? from : (forward ? last_version + 1 : last_version - 1);
    failure = errors::StreamVersionMissing(request.stream_id(), missing, version);
  }
  return finish();
}

}  // namespace govledger
