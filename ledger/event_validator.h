// EventValidator: the hook through which domain rules (projections/) check appends against the
// state they would change, inside the ledger's single writer. The ledger core knows nothing of
// governance; the daemon wires a validator in.
//
// Recover and the group calls (BeginGroup, CheckAppend, CommitGroup, AbortGroup) come only from
// the ledger's writer thread (and from Ledger::Open before the writer starts), so
// implementations need no locking of their own for them. CheckEventType may come from any
// thread: it reads no state.
#ifndef GOVLEDGER_LEDGER_EVENT_VALIDATOR_H_
#define GOVLEDGER_LEDGER_EVENT_VALIDATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/store/event_store.h"

namespace govledger {

// What the writer knows of an append besides its events.
struct AppendContext {
  uint64_t first_position = 0;  // position the first new event will take
  int64_t recorded_micros = 0;  // recorded time of every event of the append
  // When the append was received: the effective time the ledger stores for an event sent
  // without one (0: unknown, such an event is checked without one).
  int64_t received_micros = 0;
  absl::string_view actor;
  // The caller holds an admin token (or access is open). Some events need one whatever their
  // stream (a correction of a signature: PERMISSION_DENIED without).
  bool admin = true;
};

class EventValidator {
 public:
  virtual ~EventValidator() = default;

  // Rebuilds the validator's state from the stored log, positions 1 to `head`. Called once by
  // Ledger::Open after the chain is verified from the last verified point to `head`: an
  // implementation that reads events below that point checks them against the chain itself.
  // An error stops the ledger from opening.
  virtual absl::Status Recover(EventStore& store, uint64_t head) = 0;

  // Starts a group commit: what is accepted until CommitGroup or AbortGroup is staged.
  virtual void BeginGroup() = 0;

  // Checks one append's new events (client fields as sent; duplicates of earlier events
  // excluded; an event without an effective time will be stored with context.received_micros
  // as its effective time), in order, against the committed state plus the appends accepted
  // earlier in this group. OK: the events are staged. Otherwise the status to refuse the append
  // with (FAILED_PRECONDITION for a broken rule, INVALID_ARGUMENT for a malformed payload,
  // PERMISSION_DENIED for an event that needs context.admin without it), and the state is
  // exactly as before the call. The events stay valid (the writer keeps them) until
  // the group ends with CommitGroup or AbortGroup.
  virtual absl::Status CheckAppend(const std::vector<const v1::Event*>& events,
                                   const AppendContext& context) = 0;

  // The group is written to the store (readable there; a sync will put it on disk, and if that
  // fails the ledger stops writing): its staged state becomes committed state.
  virtual void CommitGroup() = 0;

  // The group was not written: its staged state is dropped.
  virtual void AbortGroup() = 0;

  // OK for an event type CheckAppend could accept; INVALID_ARGUMENT, saying what to give, for
  // one it refuses whatever the state (a name slipped). For filters of events by type, which
  // would otherwise wait for ever on a type no event has. Called from any thread.
  virtual absl::Status CheckEventType(absl::string_view type) const = 0;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_EVENT_VALIDATOR_H_
