// GovernanceState: the current state of the governance record, as a pure fold
// of the log's typed events (proto/govledger/v1/events.proto) in position
// order.
//
// One fold, two uses:
// - the write side (GovernanceValidator) applies each new event in
// Mode::kValidate: the event's
//   payload is parsed and checked for shape (INVALID_ARGUMENT) and against the
//   rules in the current state (FAILED_PRECONDITION naming the entity and the
//   rule) before it changes anything; a refused event leaves the state exactly
//   as it was;
// - replay (recovery at startup, and the read side) applies stored events in
// Mode::kReplay:
//   no checks, because the log may have been written under other rules (a newer
//   version), and an event that cannot be applied (a payload that does not
//   parse, an entity unknown to this version) is skipped and counted, never a
//   crash.
//
// Events whose type is not in package govledger.v1 are opaque: their payload is
// ignored by both modes, but kValidate refuses a name that is likely a slip for
// a governance event (one ending in a governance event's name, or in a later
// govledger.vN package; CheckEventTypeName). Events of an unknown govledger.v1
// type (from a newer version) are refused by kValidate (this version cannot
// check their rules) and skipped by kReplay (their event id is still recorded).
//
// Undo: with a journal set (set_journal), every change records how to undo
// itself, so a caller can roll the state back to any earlier mark (per append,
// per group commit).
//
// Not thread-safe: one thread applies; readers must not run concurrently with
// Apply.
#ifndef GOVLEDGER_PROJECTIONS_GOVERNANCE_STATE_H_
#define GOVLEDGER_PROJECTIONS_GOVERNANCE_STATE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "govledger/internal/snapshot.pb.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/common/time.h"

namespace govledger::projections {

// An event id as its 16 UUID bytes (text order).
using EventKey = std::array<uint8_t, 16>;
// Every governance event applied: its id -> the index of its stream in a table
// of stream ids.
using EventIndex = absl::flat_hash_map<EventKey, uint32_t>;

// Undo actions, newest last. Not thread-safe.
class UndoJournal {
 public:
  size_t size() const { return undo_.size(); }
  void Push(std::function<void()> undo) {
    undo_.push_back(Entry{std::move(undo), nullptr, {}});
  }
  // Undo of an insertion into an EventIndex (the hot path: no allocation of its
  // own).
  void PushErase(EventIndex* index, const EventKey& key) {
    undo_.push_back(Entry{nullptr, index, key});
  }
  // Runs the undo actions recorded after `mark`, newest first, and forgets
  // them.
  void RollbackTo(size_t mark) {
    while (undo_.size() > mark) {
      Entry& e = undo_.back();
      if (e.index != nullptr) {
        e.index->erase(e.key);
      } else {
        e.undo();
      }
      undo_.pop_back();
    }
  }
  // Forgets every action (the changes become permanent).
  void Clear() { undo_.clear(); }

 private:
  struct Entry {
    std::function<void()> undo;
    EventIndex* index;
    EventKey key;
  };
  std::vector<Entry> undo_;
};

// Incarnations. A risk, scope item, decision or signing key whose opening event
// (RiskOpened, ScopeItemAdded, DecisionProposed, SigningKeyRegistered) a
// correction voided can be opened again under the same id, and an "as known"
// fold, in effective-time order, may meet the new opening before events that
// were recorded against the voided one. Each entity keeps its opening's log
// position, and a fold applies an event acting on it (a re-rating, closure,
// transfer, removal, signature, rejection, withdrawal or revocation) only if
// the event was recorded after that opening; otherwise it was recorded against
// an earlier incarnation, and is skipped, as the rules' position-order fold
// skips it. Position 0 (an event not yet stored, or a state loaded from an
// older snapshot) is not compared.

// An effective time the state does not know (the event had none, as in tests,
// or the state was loaded from a snapshot without it): effective-time rules
// do not apply to it. Effective times are microseconds since the epoch.
inline constexpr int64_t kUnknownTime = std::numeric_limits<int64_t>::min();

// The event's effective time; kUnknownTime when it has none.
inline int64_t EffectiveMicrosOrUnknown(const v1::Event& e) {
  return e.has_effective_time() ? ToMicros(e.effective_time()) : kUnknownTime;
}

struct OrganisationState {
  v1::OrganisationRegistered registered;
  int64_t registered_micros = kUnknownTime;  // effective time
};

// Current values (a status, a risk's rating, a benefit's forecast or realised
// figure) are those of the event with the latest effective time, ties going to
// the later in the fold: a report keyed in late for an earlier week joins the
// history without becoming current. Each keeps that event's effective time.
struct BenefitState {
  // The description of the forecast or realisation latest in effect that gives one (ties: the
  // later position), and that event's effective time.
  std::string description;
  int64_t description_micros = kUnknownTime;
  bool has_forecast = false;
  bool forecast_has_amount = false;  // its forecast gives a figure (annual_pence is set)
  int64_t forecast_annual_pence = 0;
  int64_t forecast_micros = kUnknownTime;
  std::string forecast_source;  // the current forecast's event's source (Event.source)
  bool has_realised = false;
  bool realised_has_amount = false;
  int64_t realised_annual_pence = 0;
  int64_t realised_micros = kUnknownTime;
  std::string realised_source;
};

// A programme or a project.
struct WorkState {
  v1::WorkRef ref;
  std::string organisation_id;
  // A project's programme; for a programme, its own id.
  std::string programme_id;
  // Set for a programme: its registration, with what re-plans have changed since (planned
  // weeks, senior responsible owner, board, tranches).
  v1::ProgrammeRegistered programme;
  v1::ProjectRegistered project;      // set for a project
  bool closed = false;
  int64_t closed_micros = kUnknownTime;  // the closure's effective time, while closed
  std::string closed_reason;  // a closed programme's
  v1::ProjectClosed closure;  // a closed project's closure report
  std::string closure_source;  // its event's source (Event.source), if it named one
  bool has_status = false;
  v1::StatusReported last_status;  // the current rated report (see BenefitState)
  int64_t status_micros = kUnknownTime;  // its effective time
  std::string status_source;             // its event's source (Event.source), if it named one
  // The latest report without a rating (a progress update, which leaves last_status as it is).
  bool has_update = false;
  v1::StatusReported last_update;
  int64_t update_micros = kUnknownTime;  // its effective time
  std::string update_source;             // its event's source
  std::vector<std::string> gates_passed;
  std::vector<std::string> milestones;
  std::map<std::string, BenefitState> benefits;
  int64_t opened_micros = kUnknownTime;  // its registration's effective time
  // A programme's re-plans, in the order recorded (which is their effective order), each with
  // its effective time; and, once it has one, the plan as first registered.
  struct Replan {
    int64_t micros = kUnknownTime;
    v1::ProgrammeReplanned replan;
  };
  std::vector<Replan> replans;
  v1::ProgrammeRegistered as_registered;  // set when replans is not empty
  // The highest plan week a status report on it gives (0 for none): a correction voiding a
  // re-plan may not leave a programme's, or its projects', past the longest plan left.
  int max_reported_week = 0;
  // The latest effective time of its gates and milestones, of the transfers of risks and scope
  // items to it, and of a project's closure (a closure takes effect no earlier than any fact on
  // the work, including a risk it received and passed on again, and a programme's no earlier
  // than its projects': GovernanceState::Access::LatestFactOn).
  int64_t last_micros = kUnknownTime;
};

// A risk's or scope item's last departure from a programme (a transfer from the programme or
// one of its projects to work outside it): where it went and, for a risk, its rating then. The
// programme's answers show it as it left, not what later holders did with it.
struct Departure {
  v1::WorkRef to;
  v1::Rag rating = v1::RAG_UNSPECIFIED;  // a risk's; unset for a scope item
  std::string rating_source;  // the source (Event.source) of the event that set that rating
  std::string source;         // the transfer's source
  // The transfer's (Event.position), after which the item's events are the new holder's (a
  // comparison's cut); 0 where the event was folded before it was stored (the write side).
  uint64_t position = 0;
};

struct RiskState {
  v1::RiskOpened opened;
  v1::WorkRef subject;  // the current subject (after transfers)
  // Every subject that held the risk before its current one (the opening's first), each once,
  // in the order first held: a register lists the risk as transferred out of them.
  std::vector<v1::WorkRef> earlier_subjects;
  // By programme id: its last departure from each programme that held it. Only programmes whose
  // work is in the state are known, so a fold of one programme's streams records its own.
  std::map<std::string, Departure> departures;
  v1::Rag rating = v1::RAG_UNSPECIFIED;  // current (see BenefitState)
  int64_t rating_micros = kUnknownTime;   // its effective time
  std::string rating_source;  // the source (Event.source) of the event that set it, if any
  bool open = true;
  int64_t closed_micros = kUnknownTime;  // the closure's effective time, once closed
  std::string closed_reason;
  std::string closed_source;  // the closure's source
  // The source of the transfer that made `subject` its holder; empty before any transfer.
  std::string subject_source;
  int64_t opened_micros = kUnknownTime;  // RiskOpened's effective time
  uint64_t opened_position = 0;          // RiskOpened's (see ActedOn)
  // The latest effective time of its opening, re-ratings and transfers: a closure or transfer
  // takes effect no earlier (the rules), so that no fold in effective order acts on a risk
  // already closed or passed on.
  int64_t last_micros = kUnknownTime;
};

// A delegation rule: every setting of it, each in force from its effective time until the next.
// A decision is held to the setting in force when it was proposed, not to a later one (nor to
// one dated in the future).
struct RuleState {
  struct Setting {
    int64_t micros = kUnknownTime;  // its effective time
    v1::DelegationRuleSet rule;
    // Its DelegationRuleSet's position: 0 where not known (the write side's fold of an append
    // not yet stored). The decision register tells by it which settings a proposal was
    // recorded under.
    uint64_t position = 0;
  };
  // By effective time; ties, and settings of unknown time (only outside the ledger), in log
  // order. Never empty.
  std::vector<Setting> settings;

  // The setting latest in effect (what the rule says at the end of the log).
  const v1::DelegationRuleSet& rule() const { return settings.back().rule; }
  // The setting in force at `micros` (the last effective at or before it, or of unknown time);
  // null before the first. kUnknownTime: the latest.
  const v1::DelegationRuleSet* InForceAt(int64_t micros) const;
};

struct ScopeItemState {
  v1::ScopeItemAdded added;
  v1::WorkRef owner;  // the current owner (after transfers)
  // Every owner before the current one (the addition's first), each once, in the order first
  // held (see RiskState::earlier_subjects).
  std::vector<v1::WorkRef> earlier_owners;
  std::map<std::string, Departure> departures;  // as RiskState::departures
  bool in_scope = true;
  int64_t added_micros = kUnknownTime;  // ScopeItemAdded's effective time
  uint64_t added_position = 0;          // ScopeItemAdded's (see ActedOn)
  // The latest effective time of its addition and transfers: a removal or transfer takes effect
  // no earlier (see RiskState::last_micros).
  int64_t last_micros = kUnknownTime;
};

struct DecisionState {
  enum class Outcome { kPending, kRejected, kWithdrawn };
  v1::DecisionProposed proposed;
  std::string digest;  // 32 bytes: DecisionDigest(proposed)
  Outcome outcome = Outcome::kPending;
  std::map<std::string, std::string>
      signed_roles;                    // role -> key id that signed for it
  std::set<std::string> signing_keys;  // key ids that signed
  // key id -> the declaration of interests its signature carried, if any
  std::map<std::string, v1::InterestsDeclaration> declarations;
  // key id -> the date written beside its signature, if any (DecisionSigned.signed_on)
  std::map<std::string, v1::Date> signed_on;
  int64_t proposed_micros = kUnknownTime;  // DecisionProposed's effective time
  uint64_t proposed_position = 0;          // DecisionProposed's (see ActedOn)
  // The sources (Event.source) of its proposal, of each signature (key id -> source, when it
  // named one) and of its rejection or withdrawal.
  std::string proposed_source;
  std::map<std::string, std::string> signed_sources;
  std::string outcome_source;
  // Its rejection's or withdrawal's: who rejected it (DecisionRejected.rejected_by; empty for a
  // withdrawal), why, and when it took effect.
  std::string outcome_by;
  std::string outcome_reason;
  int64_t outcome_micros = kUnknownTime;
  // The latest effective time of its signatures: once approved, when it was.
  int64_t signed_micros = kUnknownTime;
  // Approved is derived: every required role has signed (and it was not
  // rejected or withdrawn, which only a pending, unapproved decision can be).
  bool approved() const;
};

struct KeyState {
  v1::SigningKeyRegistered registered;
  bool revoked = false;
  int64_t registered_micros = kUnknownTime;  // effective times
  int64_t revoked_micros = kUnknownTime;
  int64_t last_signed_micros = kUnknownTime;  // of its latest signature
  uint64_t registered_position = 0;           // SigningKeyRegistered's (see ActedOn)
};

// What the state knows of a governance event: for corrections.
struct EventRecord {
  std::string stream_id;
  std::vector<std::string>
      corrected_by;  // lower-case ids of the corrections naming it
};

class GovernanceState {
 public:
  enum class Mode { kValidate, kReplay };

  // `remember_events`: keep every governance event's id and stream, so that
  // FindEvent (corrections' validation) works; the read side, which never
  // validates, leaves it out (about 30 bytes an event saved, and the fold is
  // faster).
  explicit GovernanceState(bool remember_events = true)
      : remember_events_(remember_events) {}
  // The journal's undo actions refer to this object: not movable, and copied only by Clone.
  GovernanceState& operator=(const GovernanceState&) = delete;

  // A copy of everything the folds so far have built (not the journal: the copy has none),
  // from which folding on gives exactly what folding on from this state gives. It shares the
  // event lookup. REQUIRES: no journalled change is pending.
  std::unique_ptr<GovernanceState> Clone() const;

  // Folds one event (client fields suffice; of the server's, only the position,
  // where 0 is "not stored yet" (Incarnations, above), and the recorded time, by
  // which a signature counts before its key's revocation dated ahead, are read) into
  // the state. kValidate: OK and applied; or INVALID_ARGUMENT (malformed
  // payload, wrong stream, unknown govledger.v1 type, an opaque type named like
  // a governance event) or FAILED_PRECONDITION (a rule), and nothing changed. kReplay: always
  // applies what it can; returns OK, or the reason the event was skipped (which the caller may
  // count; the state is consistent either way).
  absl::Status Apply(const v1::Event& event, Mode mode);

  // The rule only an append can check: a governance fact takes effect no later than it is
  // recorded (`recorded_micros`), with kFutureAllowanceMicros for clocks; a
  // registration (of an organisation, programme or project: at most
  // kRegistrationAheadMicros), a delegation rule's setting and a key's
  // registration or revocation may be dated ahead (they take effect from then), and so may a
  // correction (GovernanceValidator::CheckCorrected holds it to a day after it is recorded,
  // or to the time of an event dated further ahead that it corrects). Otherwise a
  // fact dated ahead would stay the current value over every fact recorded
  // after it. OK, or FAILED_PRECONDITION.
  static absl::Status CheckNotAhead(const v1::Event& event, int64_t recorded_micros);
  static constexpr int64_t kFutureAllowanceMicros = kMicrosPerDay;
  // How far ahead an organisation's, programme's or project's registration may be dated.
  static constexpr int64_t kRegistrationAheadMicros = 366 * kMicrosPerDay;

  // The recorded time of the append Apply checks next (Mode::kValidate): a key whose revocation
  // is dated ahead signs until the revocation takes effect. kUnknownTime (the default): a
  // revoked key signs nothing.
  void set_recording_micros(int64_t micros) { recording_micros_ = micros; }

  // Changes from now on are journalled in `journal` (null: not journalled).
  // REQUIRES: the journal outlives its use and is rolled back only by this
  // state's owner.
  void set_journal(UndoJournal* journal) { journal_ = journal; }

  // Look-ups; null when unknown.
  const OrganisationState* FindOrganisation(absl::string_view id) const;
  const WorkState* FindProgramme(absl::string_view id) const;
  const WorkState* FindProject(absl::string_view id) const;
  const WorkState* FindWork(const v1::WorkRef& ref) const;
  const RiskState* FindRisk(absl::string_view id) const;
  const ScopeItemState* FindScopeItem(absl::string_view id) const;
  const DecisionState* FindDecision(absl::string_view organisation_id,
                                    absl::string_view reference) const;
  const KeyState* FindKey(absl::string_view id) const;
  const v1::DelegationRuleSet* FindDelegationRule(
      absl::string_view organisation_id, absl::string_view rule_id) const;
  // A governance event applied so far (`event_id` in any case); nullopt when
  // unknown. Events forgotten (ForgetEvents) are asked of the event lookup.
  std::optional<EventRecord> FindEvent(absl::string_view event_id) const;

  // Where FindEvent looks for events this state has forgotten: the stream of
  // the governance event with this id, or nullopt (the write side reads its
  // store). REQUIRES: it answers for every event forgotten.
  using EventLookup =
      std::function<std::optional<std::string>(absl::string_view event_id)>;
  void set_event_lookup(EventLookup lookup) { lookup_ = std::move(lookup); }
  // Drops the ids and streams of the events applied so far (about 60 bytes an
  // event), leaving them to the event lookup. REQUIRES: a lookup is set, and no
  // journalled change is pending (between groups).
  void ForgetEvents();
  // A hint that `event` is about to be applied: starts loading the memory its
  // risk's or scope item's look-up will touch (a fold over a large state waits
  // on those cache misses more than on anything else). Changes nothing. A fold
  // over many events gives it the event kPrefetchDistance ahead of the one it
  // applies (with it, a rebuild of a million events folded faster in eight of
  // nine alternations with a build without it, by about 6% in the median).
  void Prefetch(const v1::Event& event) const;
  static constexpr size_t kPrefetchDistance = 8;
  // Records that `event` (a governance event) is in the log, for FindEvent,
  // without applying it: an event a correction voids, which later corrections
  // may still name. As Apply, only while events are remembered.
  void Remember(const v1::Event& event) {
    RememberEvent(event.event_id(), event.stream_id());
  }
  // Whether Apply records events' ids and streams from now on (see the
  // constructor).
  void set_remember_events(bool remember) { remember_events_ = remember; }

  // The pending or approved decisions that fall short of a delegation rule's setting in force
  // when they were proposed (they reach its threshold without its role): by decision stream,
  // what each lacks. The rules keep this from growing, but a correction (of a withdrawal, of a
  // setting) can reinstate one: the validator refuses a correction that adds to it. A log
  // written before these rules may hold some.
  std::map<std::string, std::string> DecisionsShortOfTheirRules() const;

  // The programmes reported on (themselves, or a project of theirs) for a plan week past their
  // longest plan recorded (the registration's and every re-plan's): by programme id, which work
  // and week. The rules keep this empty, but a correction voiding a re-plan can add to it:
  // the validator refuses one that does (also when a single append voids several re-plans).
  std::map<std::string, std::string> ProgrammesReportedPastTheirPlan() const;

  // A programme's longest plan recorded: its registration's planned weeks, or a re-plan's.
  static int LongestPlan(const WorkState& programme);
  // The decisions that were signed or still may be (pending, or with a signature) that a
  // delegation rule's setting in force when they were proposed holds to its role (they reach
  // its threshold and name the role): by decision stream, each such rule and role ("delegation
  // rule MOPAC/DMPC-500K's role 'DMPC'"), every such decision listed (held to none: an empty
  // set). The rules keep a setting from releasing one after the fact; the validator refuses a
  // correction (of the setting) that would, for a decision still so weighed after it.
  std::map<std::string, std::set<std::string>> DecisionsHeldByTheirRules() const;

  // Projects of a programme, in id order.
  std::vector<const WorkState*> ProjectsOf(
      absl::string_view programme_id) const;

  // Events of an unknown govledger.v1 type seen, and replayed events skipped as
  // inapplicable.
  uint64_t unknown_events() const { return unknown_events_; }

  // Every entity of a kind, for answers that list them (unordered).
  const absl::node_hash_map<std::string, OrganisationState>& organisations()
      const {
    return organisations_;
  }
  const absl::node_hash_map<std::string, RiskState>& risks() const {
    return risks_;
  }  // by risk id
  const absl::node_hash_map<std::string, ScopeItemState>& scope_items() const {
    return scope_items_;
  }  // by scope item id
  const absl::node_hash_map<std::string, DecisionState>& decisions() const {
    return decisions_;
  }  // by stream id
  const absl::node_hash_map<std::string, RuleState>& rules() const {
    return rules_;
  }  // by stream id
  // Lower-case id of each corrected event -> lower-case ids of the
  // corrections naming it (voided or not: projections/corrections.h).
  const absl::node_hash_map<std::string, std::vector<std::string>>&
  corrections() const {
    return corrections_;
  }

  // The layout of GovernanceStateSnapshot this version writes and reads (the
  // state_format of validator and query snapshots); bump it when the meaning of
  // the state's fields changes, and older snapshots are ignored (the log is
  // refolded). 2: entities' effective opening times (and keys' and decisions'
  // signing times), without which a loaded state would check fewer rules; and
  // corrections void events for the rules too, a corrected correction voiding
  // nothing (projections/corrections.h), so a state saved by format 1 may
  // still count events that format 2 leaves out. 3: the effective times of
  // current values (a report keyed in late no longer becomes current), without
  // which a loaded state would let any later report replace them. 4: signatures'
  // declarations of interests. 5: decisions' digests cover delegated authority
  // and referrals (a state saved by an older version holds digests without
  // them).
  // 6: entities' opening positions (Incarnations, above), without which a
  // loaded state would credit events to an incarnation they were not recorded
  // against. 7: risks' earlier subjects, scope items' earlier owners, the
  // latest effective time of a risk's or scope item's changes, and delegation
  // rules' effective times (ledger/store/FORMAT.md, "Event types and versioning"). 8:
  // the dates written beside signatures, which the decision register shows. 9:
  // every setting of a delegation rule, each held to decisions proposed while
  // it was in force. 10: organisations' effective times. 11: a programme's or project's
  // last_micros counts the risks and scope items transferred to it and a project's closure,
  // without which a loaded state would let a closure precede a transfer to a holder that has
  // passed the item on, or a programme's closure precede its project's. 12: risks' and scope
  // items' departures from programmes, without which a loaded state would show a programme's
  // answers what a later holder did with a risk or item it passed on. 13: signatures by a key
  // whose revocation is dated ahead, given before it takes effect, count (a state folded
  // before left them out). 14: a programme's last re-plan's effective time (ProgrammeReplanned),
  // without which a loaded state would take a re-plan dated before the last. 15: the latest
  // report without a rating (a progress update), kept apart from the current rated report.
  // 16: a programme's re-plans and its plan as registered, which its status shows. 17: the
  // sources of the current report and update, which a status cites. 18: the sources of a
  // risk's current rating, closure and departures, which a register cites, and of a benefit's
  // current forecast and realised figures. 19: the sources of a decision's proposal,
  // signatures and rejection or withdrawal, which the decision register cites. 20: the position
  // of a risk's or scope item's departure from a programme, after which a comparison of that
  // programme leaves the item's events to its new holder; the source of a project's closure,
  // which the benefits cite for what it confirmed. 21: each delegation rule setting's position,
  // by which the decision register tells the settings a proposal was recorded under. 22: a
  // signature appended with a correction keeps its recorded time. 23: whether a benefit's
  // figure was given (a qualitative benefit has none). 24: the source of the transfer that made
  // a risk's current subject its holder, which a register cites for the risk's subject; who
  // rejected a decision, why it was rejected or withdrawn, and when, which the register shows;
  // a programme's highest plan week reported, which a correction of a re-plan is checked
  // against. 25: when a programme, project or risk was closed, by which a fact refused for
  // the closure is told how to go in. 26: whether a project closure states its final cost and
  // benefits (a stated 0 is kept; an older binary's state would have dropped it). 27: a
  // benefit's description is the one latest in effect (it had been the last folded).
  static constexpr uint32_t kSnapshotFormat = 27;

  // Snapshots (projections/state_snapshot.cc; the layout is
  // proto/govledger/internal/snapshot.proto). Save records everything the folds so
  // far have built; Load replaces this state's contents with a snapshot's, so
  // that folding on from it gives exactly what folding on from the saved state
  // would have given. Load: DATA_LOSS for a snapshot that does not hold
  // together (the state is then empty). REQUIRES for both: no journal set.
  void Save(internal::GovernanceStateSnapshot* out) const;
  // Save, serialized (what is stored), made on two threads and appended to
  // `out`. Its bytes may order fields and risks differently from Save's; they
  // load to the same state.
  void SerializeSnapshot(std::string* out) const;
  absl::Status Load(const internal::GovernanceStateSnapshot& in);

  // Used by the event handlers in governance_state.cc.
  struct Access;

 private:
  friend struct Access;

  GovernanceState(const GovernanceState&) = default;  // for Clone

  // The entity at `key`, for a change (journalled): Mutate makes it if it is
  // missing; MutateExisting returns nullptr then.
  template <typename V>
  V* Mutate(absl::node_hash_map<std::string, V>& map, const std::string& key);
  template <typename V>
  V* MutateExisting(absl::node_hash_map<std::string, V>& map,
                    const std::string& key);
  // An id of `map` that differs from `key` in letter case (ASCII) alone, if any (null if none):
  // a lookup in case_folded_, which it builds for `map` on first use.
  template <typename V>
  const std::string* CaseTwin(const absl::node_hash_map<std::string, V>& map,
                              absl::string_view key) const;
  void CountUnknown();
  // Parts of a snapshot that share no entity: every `parts`-th risk and scope
  // item from the `part`-th (0-based), appended to `out` serialized as the
  // snapshot's fields; and everything else, as a message.
  void SerializeEntities(size_t part, size_t parts, std::string* out) const;
  void SaveRest(internal::GovernanceStateSnapshot* out) const;
  // Records a governance event's id and stream (journalled).
  void RememberEvent(absl::string_view event_id, absl::string_view stream_id);

  void Clear();

  bool remember_events_;
  int64_t recording_micros_ = kUnknownTime;
  UndoJournal* journal_ = nullptr;
  EventLookup lookup_;
  absl::node_hash_map<std::string, OrganisationState>
      organisations_;                                  // by organisation id
  absl::node_hash_map<std::string, WorkState> work_;   // by stream id
  absl::node_hash_map<std::string, RiskState> risks_;  // by risk id
  absl::node_hash_map<std::string, ScopeItemState>
      scope_items_;  // by scope item id
  absl::node_hash_map<std::string, DecisionState> decisions_;  // by stream id
  absl::node_hash_map<std::string, KeyState> keys_;            // by key id
  absl::node_hash_map<std::string, RuleState> rules_;  // by stream id
  // Every governance event's id and stream, compactly (about 30 bytes an
  // event): streams are interned in stream_ids_ (never rolled back: an unused
  // entry is harmless).
  EventIndex events_;
  std::vector<std::string> stream_ids_;
  absl::flat_hash_map<std::string, uint32_t> stream_numbers_;
  // Lower-case id of a corrected event -> lower-case ids of its corrections.
  absl::node_hash_map<std::string, std::vector<std::string>> corrections_;
  uint64_t unknown_events_ = 0;
  // For each map CaseTwin was asked about (by its address): its ids by their lower-case
  // spelling (one spelling each; a log from before the rule may hold two). Built from the map
  // at the first question, then kept by Mutate with the map (journalled with it); dropped by
  // Clear. A cache of the maps, never saved: without it each opening would scan every id.
  mutable absl::flat_hash_map<const void*, absl::flat_hash_map<std::string, std::string>>
      case_folded_;
};

// True for event types in package govledger.v1 (checked by the rules, or
// refused if unknown).
bool IsGovernanceType(absl::string_view event_type);
// True for the govledger.v1 types this version knows: the event messages of
// events.proto registered in GovernanceState's handlers (not its parts, such as
// Date or WorkRef; a message added without a handler is unknown, and refused).
bool IsKnownGovernanceType(absl::string_view event_type);
// OK for an event type this version appends: a known govledger.v1 type, or an opaque one that
// does not name a governance event without its exact package ("RiskClosed",
// "GovLedger.v1.RiskClosed": a client's likeliest slip, which would store the fact unchecked);
// else INVALID_ARGUMENT saying what to give. Thread-safe.
absl::Status CheckEventTypeName(absl::string_view type);
// What of `event` this version cannot read, in words ("its payload does not parse as
// govledger.v1.RiskRerated"), or "" when it reads all of it or it is an opaque event of another
// system: a govledger.v1 type this version does not know, a type of a later version's
// governance package, a payload that does not parse as its type, or one holding a field its
// type does not have here (EntityChange.unread). Thread-safe.
std::string UnreadByThisVersion(const v1::Event& event);
// Whether this version reads what `event` says, if only in part: false for the events
// UnreadByThisVersion names but those whose payload holds a field it does not know (it reads
// the rest). Thread-safe.
bool ReadableByThisVersion(const v1::Event& event);
// The stream a typed governance event belongs on, read from its payload: the
// one Apply checks the event's stream against (README, "Typed governance
// events"), e.g. "decision/WWA/PCC/D/2017/05" for that DecisionProposed. ""
// for a CorrectionRecorded, whose stream is the corrected event's.
// INVALID_ARGUMENT for a type IsKnownGovernanceType refuses, a payload that
// does not parse as it, or one Apply would refuse as malformed (an illegal or
// missing id, a missing required field).
absl::StatusOr<std::string> EntityStreamOf(absl::string_view event_type,
                                           absl::string_view payload);

// "£730,000.00" for 73000000 pence.
std::string FormatPence(int64_t pence);

// "capital", "revenue", "one-off"; "" for an unknown kind.
std::string AmountKindText(v1::AmountKind kind);

// a + b, held at the limits of int64 instead of overflowing. For totals on the
// read side: the rules bound each amount and each decision's total, not a sum
// over many events (or events an older version accepted).
int64_t AddPence(int64_t a, int64_t b);

// The committed total of a decision's amounts: every amount but those noted only, added with
// AddPence. The one sum every view of a decision's total uses.
int64_t CommittedPence(const google::protobuf::RepeatedPtrField<v1::DecisionAmount>& amounts);

// The part of a decision's amounts that `rule` counts toward its threshold: the committed
// amounts of a kind the rule names (of every kind when it names none), added with AddPence. The
// rules refuse an approval the sum reaches without the rule's role; the register shows it.
int64_t CountedPence(const v1::DelegationRuleSet& rule,
                     const google::protobuf::RepeatedPtrField<v1::DecisionAmount>& amounts);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_GOVERNANCE_STATE_H_
