// GovernanceValidator: the governance rules, plugged into the ledger's writer
// through the EventValidator hook (ledger/event_validator.h).
//
// It keeps one GovernanceState, the fold of every committed typed event, and
// checks each append's new events against it in Mode::kValidate, applying them
// as it goes so that later events of the same append, and later appends of the
// same group commit, see them. Every change is journalled: a refused append is
// rolled back to where it started, an aborted group to where the group started,
// and a committed group's journal is dropped.
//
// What it accepts (README, "Typed governance events"): events of a govledger.v1
// type this version knows, when their payload is well formed, on their entity's
// stream, and allowed by the rules; events of any type outside package
// govledger.v1 unchecked (opaque, e.g. the benchmark's
// "govledger.bench.Filler"). Refused: INVALID_ARGUMENT for a malformed payload,
// a wrong stream or an unknown govledger.v1 type; FAILED_PRECONDITION naming
// the entity and the rule. Recover replays the stored log without checking
// rules and never fails on content (a log written by a newer version, with
// types this one does not know, still opens).
//
// Persistence: the state is saved as a snapshot (proto/govledger/internal/snapshot.proto,
// key "validator" of the store's projections) every `snapshot_every` committed
// positions, during Recover's replay, and by SaveSnapshot (the daemon's clean
// shutdown). A snapshot names the position it reflects and the hash of the event
// there; Recover loads it only when the stored event at that position still has
// that hash (otherwise it is ignored and the log refolded from position 1), then
// replays only the events after it. A snapshot is written after the commit it
// reflects, never before, so it never claims a position it does not reflect.
//
// Rebuild (`rebuild`): Recover first drops every projection of the store and
// records a snapshot of the empty state marked `rebuilding`, then refolds the
// whole log, checkpointing every `snapshot_every` positions but at most every
// `checkpoint_seconds`. Interrupted (a
// crash, SIGKILL), the next Recover resumes from the last checkpoint: a rebuild
// that finds a snapshot still marked `rebuilding` does not drop it again. The log
// itself is only read.
//
// Corrections: a CorrectionRecorded voids the event it names for the rules as
// for the queries (projections/corrections.h), from the next event on, the
// rest of its own append included. An append holding one refolds the state
// after it (once for a run of corrections, before the next other event, and at
// the append's end): the writer folds the log again, less the voided events, so
// that later appends are checked against what the ledger now says. Recover
// refolds likewise when its replay met a correction, and takes no checkpoint
// after meeting one until then.
//
// A refold folds on from the refold checkpoint, an in-memory copy of the state at
// a committed position, when the events voided then and now differ only after
// that position (a correction of a recent event); otherwise from position 1
// (2.5 s at a million governance events on a 2-core machine). A refold that
// passes the point ValidatorOptions::refold_checkpoint_lag positions behind the
// committed head copies the state there, as the next checkpoint, when the head
// is twice the lag past the checkpoint it used (or it used none). A refold
// checks the chain of the events it reads: from the checkpoint on (those before
// it were checked as the checkpoint was taken), or from position 1.
//
// Memory: committed events' ids are not kept; a correction's target is looked
// up in the store (EventStore::FindEventId), so the state holds only entities.
//
// CheckAppend's events must stay valid until the group ends (CommitGroup or
// AbortGroup), as the ledger's writer keeps them.
//
// Thread-safety: as EventValidator (the writer thread only). state() may be
// read only while no append is in progress (tests, or before the ledger
// starts).
#ifndef GOVLEDGER_PROJECTIONS_GOVERNANCE_VALIDATOR_H_
#define GOVLEDGER_PROJECTIONS_GOVERNANCE_VALIDATOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ledger/event_validator.h"
#include "projections/governance_state.h"

namespace govledger::projections {

struct ValidatorOptions {
  // Save a snapshot whenever this many positions have been committed (or
  // replayed) since the last one; 0: only by SaveSnapshot and at a rebuild's
  // end.
  // Default 500,000 (saving the state of a million-event ledger takes a few
  // tenths of a second of the writer's time, during which appends wait).
  uint64_t snapshot_every = 500000;
  // During Recover's replay, a checkpoint is taken once snapshot_every
  // positions and also this many seconds have passed since the replay began or
  // the last checkpoint; 0: positions alone. A checkpoint bounds the work an
  // interrupted replay loses, and costs in proportion to the state: a replay
  // shorter than this saves none, and a long one does not spend its time
  // saving ever larger states. Default 10.
  int checkpoint_seconds = 10;
  // Drop the store's projections and refold the log in Recover (see above).
  // Default false.
  bool rebuild = false;
  // Called (on the recovering thread) after each checkpoint of a rebuild, with
  // the position it reflects: progress for the daemon's log. Default none.
  std::function<void(uint64_t position)> on_rebuild_checkpoint;
  // How far behind the committed head a refold takes the refold checkpoint it
  // leaves (Corrections, above); 0: every refold folds from position 1, and no
  // copy of the state is kept. A refold from the checkpoint copies the state
  // (one copy more in memory) and folds every position from the checkpoint to
  // the head: one to two lags while corrections keep coming, more after a long
  // stretch without one (the checkpoint moves only at a refold). Default
  // 10,000: tens of milliseconds at 50,000 risks on a 2-core machine.
  uint64_t refold_checkpoint_lag = 10000;
  // Told a line for the daemon's log when a snapshot taken every snapshot_every positions could
  // not be saved (a full disk). Default none.
  std::function<void(const std::string&)> log;
};

// What Recover did, for the daemon's log.
struct RecoveryReport {
  // The snapshot loaded (0: none, the log was folded from position 1) and why
  // none was used ("" when one was).
  uint64_t snapshot_position = 0;
  std::string snapshot_ignored;
  // Positions read after the snapshot, governance events among them replayed
  // and skipped (unknown type or not applicable; they stay in the log).
  uint64_t tail_positions = 0;
  uint64_t replayed_events = 0;
  uint64_t skipped_events = 0;
  // A rebuild ran (`resumed`: from an interrupted one's checkpoint).
  bool rebuilt = false;
  bool resumed = false;
  // The whole recovery, and the part of it spent saving snapshots (a
  // rebuild's checkpoints and its final snapshot) rather than folding.
  double seconds = 0;
  double saving_seconds = 0;
  // The replay met a correction, and refolded the log at its end
  // (GovernanceValidator, "Corrections") in this long; 0 when it did not.
  double refold_seconds = 0;
};

// What the refolds of corrections did since Recover began (Corrections, above).
struct RefoldReport {
  uint64_t refolds = 0;
  uint64_t from_checkpoint = 0;  // of them, folded on from the refold checkpoint
  uint64_t last_from = 0;        // the first position the last one folded (1: the whole log)
};

class GovernanceValidator : public EventValidator {
 public:
  explicit GovernanceValidator(ValidatorOptions options = {});

  absl::Status Recover(EventStore& store, uint64_t head) override;
  void BeginGroup() override;
  absl::Status CheckAppend(const std::vector<const v1::Event*>& events,
                           const AppendContext& context) override;
  void CommitGroup() override;
  void AbortGroup() override;
  absl::Status CheckEventType(absl::string_view type) const override;

  // Saves the committed state as the snapshot; `sync`: on disk when OK is returned (the clean
  // shutdown's). Unsynced, a crash may lose it, never keep it without the events it reflects
  // (written after them, to the same write-ahead log). REQUIRES: Recover has run, and no
  // group in progress (the writer stopped, or on the writer's thread between groups).
  absl::Status SaveSnapshot(bool sync = true);

  const GovernanceState& state() const { return *state_; }
  const RecoveryReport& recovery() const { return recovery_; }
  const RefoldReport& refolds() const { return refolds_; }

  // Key of the validator's snapshot among the store's projections.
  static constexpr char kSnapshotKey[] = "validator";

 private:
  // Saves the state as reflecting `point`; `rebuilding` marks a rebuild's
  // checkpoint.
  absl::Status Save(const ChainPoint& point, bool rebuilding, bool sync);
  // Loads the stored snapshot if it is usable at `head`; returns its position
  // (0 when none was loaded) and whether it is a rebuild's checkpoint.
  absl::StatusOr<std::pair<uint64_t, bool>> Load(uint64_t head);

  // A new empty state, its events found by LookUpEvent.
  std::unique_ptr<GovernanceState> NewState() const;
  // The committed event `event_id` (any case): its position and stored bytes, the id index's
  // entry checked against them (the index is covered by no hash); nullopt if there is none or
  // no store, or if the store fails, which lookup_failure_ then keeps (for CheckAppend to
  // answer, not the "names no event" the caller would conclude).
  std::optional<std::pair<uint64_t, std::string>> Stored(absl::string_view event_id) const;
  // The committed governance event `event_id` (any case) as the fold reads it
  // (id, stream, type, payload, effective time), from the store; nullopt as Stored, or if it
  // is no governance event.
  std::optional<v1::Event> StoredEvent(absl::string_view event_id) const;
  // Its stream.
  std::optional<std::string> LookUpEvent(absl::string_view event_id) const;
  // The event `event_id` (any case): one of `earlier` (this append's), of the
  // group's, or of the committed log; nullopt if none.
  std::optional<v1::Event> EventNamed(absl::string_view event_id,
                                      absl::Span<const v1::Event* const> earlier) const;
  // What a correction may not void, FAILED_PRECONDITION (RULE_REFUSED) if `correction` names
  // it: a correction; a registration (of an organisation, programme or project); a key's
  // revocation, or a revoked key's registration; an event later events build on
  // (CheckNothingBuiltOn). And PERMISSION_DENIED for a signature, or the withdrawal or
  // rejection of a decision that holds signatures, unless `admin` (the caller holds an admin
  // token, AppendContext::admin). Then, FAILED_PRECONDITION for a correction dated before the
  // event it names, or more than the allowance for clocks after `received_micros` (the
  // append's received time; 0: not checked) other than at the time of an event it names that
  // is dated ahead; saying how to date it.
  absl::Status CheckCorrected(const v1::Event& correction,
                              absl::Span<const v1::Event* const> earlier, bool admin,
                              int64_t received_micros) const;
  // An event `event_id` of the entity on `stream` that later events build on: an opening of a
  // decision whose entity has since changed (signed, rejected or withdrawn); a signature of an
  // approved decision that a standing proposal was referred back under; a key's registration
  // once it has signed; a risk's opening or transfer, or a scope item's addition
  // or transfer, followed on its stream by an event that stands (NewestStandingAfter); a
  // project's closure once its programme has closed. Voiding it would leave those later events
  // without effect, silently (a signed, approved decision would vanish from the register), or
  // acting on a holder they never had (a re-rating made after a transfer, counted against the
  // project the risk came from). FAILED_PRECONDITION "VERB STREAM, which has since ..." if so;
  // the store's error if it could not be read.
  absl::Status CheckNothingBuiltOn(const std::string& type, const std::string& stream,
                                   absl::string_view event_id,
                                   absl::Span<const v1::Event* const> earlier) const;
  // The newest event on `stream` after the event `event_id` (any case), in log order, that
  // passes the risk or scope item on, re-rates, closes or removes it and is not voided:
  // searched in `earlier` (this append's), the group's and the committed log; nullopt if none.
  absl::StatusOr<std::optional<v1::Event>> NewestStandingAfter(
      const std::string& stream, absl::string_view event_id,
      absl::Span<const v1::Event* const> earlier) const;
  // A state a refold replaced, with the journal that undoes its changes.
  struct Replaced {
    std::unique_ptr<GovernanceState> state;
    UndoJournal journal;
  };
  // A copy of the state at a committed position, for refolds to fold on from.
  struct Checkpoint {
    std::unique_ptr<GovernanceState> state;
    ChainPoint point;  // the position it reflects, and the hash of the event there
    absl::flat_hash_set<std::string> voided;  // lower-case ids of the events it left out
    // Lower-case ids found to come after it: stored after it, or not stored yet (any later
    // position is after it), so that each is looked up once.
    absl::flat_hash_set<std::string> after;
  };
  // Whether the checkpoint is the fold, at its position, of the log without `voided`: every
  // event in one of `voided` and the checkpoint's set but not the other is one of the group's,
  // or stored after the checkpoint's position. False when one is not found, or the store fails
  // (lookup_failure_ is left as it was).
  bool CheckpointServes(const absl::flat_hash_set<std::string>& voided);
  // Replaces the state with the fold (Mode::kReplay) of the committed log and
  // the group's accepted events, less the events the state's corrections void
  // (projections/corrections.h): on from the checkpoint when it serves, else from position 1,
  // leaving a new checkpoint as Corrections (above) says. The state as the group found it is kept
  // for AbortGroup (group_base_); a later refold of the group moves the state it replaces into
  // `*replaced` when that is given and empty, and otherwise drops it. An error (the store could not
  // be read) changes nothing.
  absl::Status Refold(Replaced* replaced = nullptr);

  const ValidatorOptions options_;
  EventStore* store_ = nullptr;  // set by Recover
  std::unique_ptr<GovernanceState> state_;
  UndoJournal journal_;  // undoes the group's changes to *state_
  // Once the group has refolded: the state as the group found it, and what
  // undoes the changes the group made to it before the first refold.
  std::unique_ptr<GovernanceState> group_base_;
  UndoJournal base_journal_;
  // The group's accepted events, in order (CheckAppend's events stay valid
  // until the group ends), some of them in timed_.
  std::vector<const v1::Event*> group_events_;
  // Each one's recorded time (AppendContext::recorded_micros): a client's event carries none,
  // and a refold's Apply needs it (a key whose revocation is dated ahead signs until then).
  std::vector<int64_t> group_recorded_;
  // The group's governance events sent without an effective time, copied with
  // the one the ledger gives them (AppendContext::received_micros).
  std::deque<v1::Event> timed_;
  // Without a store (a validator that never recovered, in tests): the
  // committed governance events, which Refold folds in place of the store's.
  std::vector<v1::Event> unstored_log_;
  std::optional<Checkpoint> checkpoint_;  // none before the first refold that takes one
  RefoldReport refolds_;
  mutable absl::Status lookup_failure_;  // StoredEvent's, since CheckAppend last cleared it
  RecoveryReport recovery_;
  uint64_t committed_position_ = 0;  // the state reflects 1..this
  uint64_t group_position_ = 0;      // ... plus the group staged up to this
  uint64_t saved_position_ = 0;      // of the last snapshot saved or loaded
  uint64_t replayed_total_ = 0;      // governance events folded since position 1
  uint64_t skipped_total_ = 0;
};

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_GOVERNANCE_VALIDATOR_H_
