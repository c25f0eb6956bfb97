// Ledger: the write side. Validates appends, assigns positions in commit order with a single
// writer thread, chains hashes, group-commits many requests into one store write, and serves
// reads bounded by the published head. Three threads of its own, a pipeline:
//   - the writer stages a group of appends and writes it to the store (not yet synced);
//   - the sync thread syncs the store, which puts on disk every group written before the
//     sync started, then publishes the last of them as the head;
//   - the ack thread runs those groups' append callbacks, in commit order.
// So the writer stages and writes the next group while the disk syncs the last ones.
//
// Thread-safe: any number of threads may append, read and wait concurrently. Appends are
// acknowledged (their callback runs) only after a sync that covers them, and nothing past the
// published head, which only synced groups reach, is read, counted or waited for.
#ifndef GOVLEDGER_LEDGER_LEDGER_H_
#define GOVLEDGER_LEDGER_LEDGER_H_

#include <atomic>
#include <optional>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/common/clock.h"
#include "ledger/envelope.h"
#include "ledger/event_validator.h"
#include "ledger/store/event_store.h"

namespace govledger {

struct LedgerOptions {
  AppendLimits limits;
  // Most stream versions the writer keeps in memory; past this the cache is emptied and
  // refilled from the store. Default 100,000 (about 10 MB); set by tests.
  size_t stream_cache_entries = 100000;
  // Event ids of the latest commits the writer remembers. An append's ids are looked up in the
  // store on the caller's thread, off the writer; the writer checks only the ids committed
  // since, here, and looks in the store again only for an append that waited longer than this
  // many events. Default 65,536 (about 3 MB).
  size_t recent_ids = 65536;
  // Most bytes of appends waiting for the writer (their events as received). An append that
  // would take the queue past this while others wait fails at once with RESOURCE_EXHAUSTED,
  // storing nothing (the client retries after a pause); an append alone in the queue always
  // fits. Bounds the daemon's memory when clients send faster than the disk commits. Default
  // 64 MiB.
  size_t max_queued_bytes = 64 << 20;
  // Open refuses (FAILED_PRECONDITION) a clock that reads more than this many seconds before
  // the last event's recorded time. Recorded times never go backwards, so every event appended
  // would take that later time: a start with the clock set back (not yet corrected by NTP, say)
  // would misdate them, and one earlier with the clock ahead has already. Default 300.
  int64_t max_clock_behind_seconds = 300;
  // Called once, on the writer's or the sync thread, when a store write or sync fails and the
  // ledger stops accepting appends (see storage_failure()), with the failure. Must not block
  // and must not call back into the ledger. May be empty.
  std::function<void(const absl::Status&)> on_storage_failure;
  // Called once, on the thread of the read that met it, when NoteDamage first notes damage (the
  // log's damage stays noted until the ledger is opened again), with that DATA_LOSS. The same
  // contract as on_storage_failure. May be empty.
  std::function<void(const absl::Status&)> on_damage;
};

// Read page limits (ReadRequest.limit).
inline constexpr uint32_t kDefaultReadLimit = 1000;
inline constexpr uint32_t kMaxReadLimit = 10000;
// A page also ends with the event that takes it to this many bytes (so it holds at most this and
// one event, and always at least one event).
inline constexpr size_t kMaxReadPageBytes = 16 << 20;

class Ledger {
 public:
  // Opens the ledger on `store`: loads the head and verifies the hash chain from the last
  // verified point to the head, then records the head as verified. DATA_LOSS naming the first
  // bad position when the chain does not verify. REQUIRES: `store` and `clock` outlive the
  // Ledger, and nothing else writes the log to `store` (its events, streams, ids and head;
  // projections and the verified point are others' to write).
  // `validator`, if not null, checks every append's new events before they are staged (see
  // event_validator.h) and must also outlive the Ledger.
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(EventStore* store, const Clock* clock,
                                                      const LedgerOptions& options = {},
                                                      EventValidator* validator = nullptr);

  // Stops the writer after the appends already queued are committed (later appends fail with
  // UNAVAILABLE) and records the head as verified, so the next Open has nothing to re-verify;
  // not after a storage failure, nor once damage was found (integrity_failure()): then the next
  // Open verifies again what this one appended.
  ~Ledger();

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  using AppendDone = std::function<void(absl::StatusOr<v1::AppendResponse>)>;

  // Appends the request's events atomically on behalf of `actor`. `done` runs exactly once,
  // on the ledger's ack thread or the caller's, after the events are on disk or with the error:
  // INVALID_ARGUMENT (malformed), ABORTED (expected version), ALREADY_EXISTS (event id reused
  // with other content), RESOURCE_EXHAUSTED (appends paused by PauseAppends, or more than
  // max_queued_bytes already waiting), UNAVAILABLE (stopping or stopped), or the validator's
  // refusal (FAILED_PRECONDITION for a broken rule, PERMISSION_DENIED for an event only an
  // admin may append), or a storage error from looking up the event
  // ids, which happens on the caller's thread before the append is queued. `done` must not block.
  // `admin`: the caller holds an admin token (or access is open), which the validator may ask
  // of some events (AppendContext::admin).
  void AppendAsync(v1::AppendRequest request, std::string actor, bool admin, AppendDone done);
  // Counts an append refused before it reached AppendAsync (by the server: a caller without
  // the right token, a request that does not parse), among Stats::appends_refused.
  void CountRefusedAppend() { appends_refused_.fetch_add(1, std::memory_order_relaxed); }

  // AppendAsync, waiting for the outcome (for tests: govledgerd appends with
  // AppendAsync).
  absl::StatusOr<v1::AppendResponse> Append(v1::AppendRequest request, std::string actor,
                                            bool admin = true);

  // One page of the global log or of one stream (see ReadRequest in ledger.proto).
  // OUT_OF_RANGE past the head, NOT_FOUND for a stream with no events.
  absl::StatusOr<v1::ReadResponse> Read(const v1::ReadRequest& request) const;

  // Read, returning the serialized ReadResponse: stored events are framed, not re-encoded, so
  // this is what servers send. DATA_LOSS for a stored log found damaged, noted
  // (integrity_failure()).
  absl::StatusOr<std::string> ReadWire(const v1::ReadRequest& request) const;

  // The published head: every event at or below it is on disk and readable.
  ChainPoint Head() const;

  // Blocks until the head reaches `position`, `deadline` passes, or subscriptions are closed;
  // returns the head position then.
  uint64_t WaitForHead(uint64_t position, std::chrono::steady_clock::time_point deadline) const;

  // Now (by the ledger's clock less a microsecond, and not before the last recorded time, which
  // a clock set back would leave ahead of it), once every event recorded by then is published:
  // after the group the writer is staging, if its recorded time is by then, is written (its
  // rules' checks, which a correction's refold makes seconds long), and the groups written are
  // synced. A cut "as recorded" at that instant or before then misses no event recorded by it:
  // without this, an event of a group still being staged or synced was left out of a cut after
  // its recorded time, and was in the same cut asked a moment later. Past `deadline`, it
  // returns at once: then the microsecond before the staged group's recorded time, if that is
  // sooner; and so once a sync has failed (nothing more is published then), also before the
  // call. CloseSubscriptions does not end its wait.
  int64_t SettledNowMicros(std::chrono::steady_clock::time_point deadline) const;

  // Wakes every WaitForHead and makes subscriptions_closed() true, so long-lived readers end
  // before the server shuts down. Appends continue.
  void CloseSubscriptions();
  bool subscriptions_closed() const;

  EventStore& store() const { return *store_; }

  // What the ledger has done since it opened, for monitoring (AdminService.GetStats).
  struct Stats {
    uint64_t opened_position = 0;   // the head when it opened
    uint64_t appends_accepted = 0;  // appends whose outcome was OK (stored, or a retry)
    uint64_t appends_refused = 0;   // appends with any other outcome
    uint64_t syncs = 0;             // store syncs that put groups on disk
  };
  Stats stats() const;
  // The recorded time of the last event written; none for an empty log. Thread-safe.
  std::optional<int64_t> last_recorded_micros() const;

  // While paused, every append fails at once with RESOURCE_EXHAUSTED and `why` (not empty)
  // as its message, storing nothing (a malformed one is still INVALID_ARGUMENT); appends
  // already queued are committed. For a disk nearly full (server/free_space_watch.h).
  // Resume undoes it; both may be called again and from any thread.
  void PauseAppends(std::string why);
  void ResumeAppends();
  // Why appends are paused; empty when they are not.
  std::string appends_paused() const;

  // OK while appends are accepted. Once a store write or sync has failed, that failure: from
  // then on every append fails with UNAVAILABLE, nothing more is written or published, and
  // reads go on serving the published head, until the ledger is opened again (a restart
  // re-reads and re-verifies the store).
  absl::Status storage_failure() const;
  // Records `cause` as the storage failure unless one is recorded already (the ledger's own
  // failed writes and syncs do; so may a watcher of the store that finds it cannot keep what
  // would be written: its directory removed, a backup's failed flush), and tells
  // options.on_storage_failure the first time. Thread-safe.
  void StopAppends(const absl::Status& cause);

  // OK for an event type an append could hold; INVALID_ARGUMENT for one the validator refuses
  // whatever the state (EventValidator::CheckEventType). Thread-safe.
  absl::Status CheckEventType(absl::string_view type) const;

  // Notes `status` if it is DATA_LOSS: a read of the stored log or its indexes found it damaged
  // (an event missing, not parsing or not chaining, a block checksum failing). Every read the
  // ledger serves or makes for an append (event ids, stream versions) notes its own; other
  // readers of store() (the Merkle tree) call it. Thread-safe.
  void NoteDamage(const absl::Status& status) const;
  // OK until NoteDamage met a DATA_LOSS; then the first one, until the ledger is opened again.
  // Appends go on meanwhile (each new event chains to the head, whatever lies below it).
  absl::Status integrity_failure() const;

 private:
  struct Pending;
  struct Staging;

  // ReadWire's page, without noting damage.
  absl::StatusOr<std::string> ReadPage(const v1::ReadRequest& request) const;

  Ledger(EventStore* store, const Clock* clock, const LedgerOptions& options,
         EventValidator* validator, ChainPoint head, int64_t last_recorded_micros);
  struct Written;

  void WriterLoop();
  // Stages `group` and writes what it accepted; hands the group to the sync thread either way.
  void WriteGroup(std::vector<std::unique_ptr<Pending>> group);
  void SyncLoop();
  // Hands finished appends to the ack thread, which runs their callbacks in commit order, so
  // the sync thread goes on to the next sync while responses are sent.
  void Acknowledge(std::vector<std::unique_ptr<Pending>>& group);
  void AckLoop();
  absl::Status Stage(Pending& pending, Staging& staging);
  // DATA_LOSS (INDEX_DAMAGED) unless the stream index's last entry for `stream`, at
  // `version`, names that version of the stream's own event.
  absl::Status CheckLastStreamEntry(const std::string& stream, uint64_t version) const;

  EventStore* const store_;
  const Clock* const clock_;
  const LedgerOptions options_;
  EventValidator* const validator_;  // may be null

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by queue_mu_
  size_t queued_bytes_ = 0;                     // Pending::bytes of queue_; guarded by queue_mu_
  bool stopping_ = false;                       // guarded by queue_mu_

  mutable std::mutex head_mu_;
  mutable std::condition_variable head_cv_;
  ChainPoint head_;                    // guarded by head_mu_
  bool subscriptions_closed_ = false;  // guarded by head_mu_
  bool publishing_stopped_ = false;    // by a failed sync; guarded by head_mu_

  // The recorded time of the group the writer is staging (0: none), and the position of the
  // last event written: under one lock with the clock's reading in SettledNowMicros, so that
  // each group is written by then, or being staged, or recorded later.
  mutable std::mutex stamp_mu_;
  mutable std::condition_variable stamp_cv_;  // signalled when a staged group is done
  int64_t staging_micros_ = 0;                // guarded by stamp_mu_
  uint64_t written_position_ = 0;  // guarded by stamp_mu_

  // Writer thread only.
  ChainPoint written_;  // the head of the last group written to the store
  absl::flat_hash_map<std::string, uint64_t> stream_versions_;  // written versions, a cache
  // Every event id written at a position after recent_floor_, and those ids in commit order.
  absl::flat_hash_map<UuidBytes, uint64_t> recent_ids_;
  std::deque<std::pair<uint64_t, UuidBytes>> recent_order_;
  uint64_t recent_floor_;
  // The recorded time of the last event written (0: none); written by the writer thread alone,
  // read by last_recorded_micros().
  std::atomic<int64_t> last_recorded_micros_;

  mutable std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<Written> sync_queue_;  // groups in write order; guarded by sync_mu_
  bool sync_stopping_ = false;      // guarded by sync_mu_
  // Set once a store write or sync fails; from then on the writer refuses every append and
  // nothing more is published. Guarded by sync_mu_.
  absl::Status failed_;

  std::mutex ack_mu_;
  std::condition_variable ack_cv_;
  std::deque<std::unique_ptr<Pending>> ack_queue_;  // guarded by ack_mu_
  bool ack_stopping_ = false;                       // guarded by ack_mu_

  std::atomic<bool> paused_{false};  // appends_paused_ is not empty
  mutable std::mutex paused_mu_;
  std::string appends_paused_;  // guarded by paused_mu_

  mutable std::mutex damage_mu_;
  mutable absl::Status damage_;  // guarded by damage_mu_

  const uint64_t opened_position_;
  std::atomic<uint64_t> appends_accepted_{0};
  std::atomic<uint64_t> appends_refused_{0};
  std::atomic<uint64_t> syncs_{0};

  std::thread writer_;
  std::thread syncer_;
  std::thread acker_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_LEDGER_H_
