#include "projections/governance_validator.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "govledger/internal/snapshot.pb.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "ledger/common/uuid.h"
#include "ledger/stored_event.h"
#include "projections/as_at.h"
#include "projections/corrections.h"
#include "projections/streams.h"

namespace govledger::projections {
namespace {

using google::protobuf::internal::WireFormatLite;

constexpr uint32_t kStateFormat = GovernanceState::kSnapshotFormat;

// Whether stored ValidatorSnapshot bytes are an interrupted rebuild's
// checkpoint (`rebuilding`) of this state format, read from those two fields
// alone: the state (field 4, nearly all of a large snapshot) is skipped, not
// parsed. False for bytes that are not a well-formed message.
bool IsRebuildCheckpoint(absl::string_view bytes) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  uint64_t state_format = 0;
  uint64_t rebuilding = 0;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const bool varint = WireFormatLite::GetTagWireType(tag) ==
                        WireFormatLite::WIRETYPE_VARINT;
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    if (varint && number == internal::ValidatorSnapshot::kStateFormatFieldNumber) {
      if (!in.ReadVarint64(&state_format)) return false;
    } else if (varint &&
               number == internal::ValidatorSnapshot::kRebuildingFieldNumber) {
      if (!in.ReadVarint64(&rebuilding)) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage() && rebuilding != 0 &&
         state_format == kStateFormat;
}

// One stored event, read and parsed ahead of the fold by Recover's reader.
struct ReadAhead {
  enum Kind { kOpaque, kGovernance, kUnparsable };
  uint64_t position = 0;
  Kind kind = kOpaque;
  // kGovernance: the event's id, stream, type, payload, source and times, all the
  // fold reads (GovernanceState::Apply); its other fields are never set. Reused batch
  // after batch (the strings keep their capacity).
  v1::Event event;
  crypto::Hash hash{};  // the stored event's, for checkpoints
};

// Reads a stored event (v1::Event's serialization) for the fold. kOpaque as
// soon as its event_type (field 3) is not a governance type, without reading
// further (the ledger stores fields in number order, so a large opaque payload
// is skipped, not copied; the outcome does not depend on the order), or if it
// has none. Otherwise kGovernance, with its event_id, stream_id, event_type,
// payload, source, effective_time and recorded_time (fields 1, 2, 3, 5, 6, 4, 12)
// in `event` (the state so rebuilt is the one the appends built); or kUnparsable if the bytes are
// not a well-formed message. The envelope's other fields (position, actor, hashes) are skipped
// unparsed, and strings are not checked for UTF-8 again: the ledger checked them when it stored the
// event, and the chain has been verified since.
ReadAhead::Kind ParseForFold(absl::string_view stored, v1::Event* event) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(stored.data()),
      static_cast<int>(stored.size()));
  std::string* const strings[] = {
      nullptr, event->mutable_event_id(), event->mutable_stream_id(), event->mutable_event_type(),
      nullptr, event->mutable_payload(),  event->mutable_source()};
  static_assert(v1::Event::kSourceFieldNumber == 6);
  for (std::string* field : strings) {
    if (field != nullptr) field->clear();
  }
  event->clear_effective_time();
  event->clear_recorded_time();
  bool typed = false;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const bool time = number == v1::Event::kEffectiveTimeFieldNumber ||
                      number == v1::Event::kRecordedTimeFieldNumber;
    if (time && WireFormatLite::GetTagWireType(tag) ==
                    WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      // The fold records entities' effective opening times (the rules on
      // effective times check against them), and a signature by a key whose
      // revocation is dated ahead counts if recorded before it takes effect.
      if (!WireFormatLite::ReadMessage(&in, number == v1::Event::kEffectiveTimeFieldNumber
                                                ? event->mutable_effective_time()
                                                : event->mutable_recorded_time())) {
        return ReadAhead::kUnparsable;
      }
    } else if (number < 7 && strings[number] != nullptr &&
               WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t size = 0;
      if (!in.ReadVarint32(&size) ||
          !in.ReadString(strings[number], static_cast<int>(size))) {
        return ReadAhead::kUnparsable;
      }
      if (number == 3) {
        if (!IsGovernanceType(event->event_type())) return ReadAhead::kOpaque;
        typed = true;
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return ReadAhead::kUnparsable;
    }
  }
  if (!in.ConsumedEntireMessage()) return ReadAhead::kUnparsable;
  return typed ? ReadAhead::kGovernance : ReadAhead::kOpaque;
}

// Batches of ReadAhead from the reader thread (Fill) to the folding thread
// (Next/Done): at most kBatches batches exist, so the reader stays at most that
// far ahead. Thread-safe.
class ReadAheadQueue {
 public:
  static constexpr size_t kBatch = 2048;
  static constexpr size_t kBatches = 4;

  ReadAheadQueue() : batches_(kBatches) {
    for (std::vector<ReadAhead>& b : batches_) {
      b.resize(kBatch);
      free_.push_back(&b);
    }
  }

  // Reads positions from..head, checking each against the chain (`prev`: the
  // hash of the event at from - 1, zeros for from = 1) and parsing governance
  // events; then closes. DATA_LOSS naming the first position that does not
  // verify, having handed on only the events before it.
  absl::Status Fill(EventStore& store, uint64_t from, uint64_t head,
                    crypto::Hash prev) {
    std::vector<ReadAhead>* batch = TakeFree();
    size_t n = 0;
    uint64_t expected = from;
    absl::Status broken;
    absl::Status status = store.ScanLog(
        from, /*forward=*/true,
        [&](uint64_t position, absl::string_view stored) {
          if (batch == nullptr) return false;  // stopped
          if (position != expected) {
            broken = absl::DataLossError(absl::StrCat(
                "event at position ", expected, " is missing; the log should reach ", head));
            return false;
          }
          ++expected;
          absl::StatusOr<crypto::Hash> hash =
              VerifyStoredEvent(position, stored, prev);
          if (!hash.ok()) {
            broken = hash.status();
            return false;
          }
          prev = *hash;
          ReadAhead& r = (*batch)[n++];
          r.position = position;
          r.kind = ParseForFold(stored, &r.event);
          r.hash = *hash;
          if (n == kBatch) {
            Push(batch, n);
            batch = TakeFree();
            n = 0;
          }
          return position < head && batch != nullptr;
        });
    if (batch != nullptr && n > 0) Push(batch, n);
    Close();
    return status.ok() ? broken : status;
  }

  // The next batch and its size; false once the reader has closed and every
  // batch was taken.
  bool Next(std::vector<ReadAhead>** batch, size_t* n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return false;
    *batch = full_.front().first;
    *n = full_.front().second;
    full_.pop_front();
    return true;
  }

  // Gives a batch from Next back to the reader.
  void Done(std::vector<ReadAhead>* batch) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(batch);
    }
    cv_.notify_all();
  }

  // Makes the reader stop at its next event.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

 private:
  // A free batch, or null once stopped.
  std::vector<ReadAhead>* TakeFree() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || stopped_; });
    if (stopped_) return nullptr;
    std::vector<ReadAhead>* b = free_.back();
    free_.pop_back();
    return b;
  }
  void Push(std::vector<ReadAhead>* batch, size_t n) {
    {
      std::lock_guard lock(mu_);
      full_.emplace_back(batch, n);
    }
    cv_.notify_all();
  }
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  std::vector<std::vector<ReadAhead>> batches_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<ReadAhead>*> free_;                   // guarded by mu_
  std::deque<std::pair<std::vector<ReadAhead>*, size_t>> full_;  // guarded by mu_
  bool closed_ = false;                                          // guarded by mu_
  bool stopped_ = false;                                         // guarded by mu_
};

// The events that make a risk or scope item, or pass it on, with how CheckNothingBuiltOn
// names them; and the events of its stream that build on them, with how they are described.
const absl::flat_hash_map<std::string, std::string>& PassedOn() {
  static const auto* const kVerbs = new absl::flat_hash_map<std::string, std::string>{
      {v1::RiskOpened::descriptor()->full_name(), "opens"},
      {v1::RiskTransferred::descriptor()->full_name(), "transfers"},
      {v1::ScopeItemAdded::descriptor()->full_name(), "adds"},
      {v1::ScopeItemTransferred::descriptor()->full_name(), "transfers"}};
  return *kVerbs;
}
const absl::flat_hash_map<std::string, std::string>& BuiltOnSince() {
  static const auto* const kSince = new absl::flat_hash_map<std::string, std::string>{
      {v1::RiskRerated::descriptor()->full_name(), "been re-rated"},
      {v1::RiskClosed::descriptor()->full_name(), "been closed"},
      {v1::RiskTransferred::descriptor()->full_name(), "been transferred"},
      {v1::ScopeItemTransferred::descriptor()->full_name(), "been transferred"},
      {v1::ScopeItemRemoved::descriptor()->full_name(), "been removed from scope"}};
  return *kSince;
}

bool IsCorrection(const v1::Event& e) {
  static const std::string kCorrection =
      v1::CorrectionRecorded::descriptor()->full_name();
  return e.event_type() == kCorrection;
}

absl::Status WithContext(const absl::Status& status, const v1::Event& event) {
  // Every malformed payload is INVALID_EVENT, whichever check found it (some, shared with
  // the read side, return a bare INVALID_ARGUMENT), so a client can tell which event to fix.
  if (status.code() == absl::StatusCode::kInvalidArgument && !errors::ErrorInfoOf(status)) {
    return WithContext(errors::WithReason(status, errors::reason::kInvalidEvent), event);
  }
  // A refusal of the event itself (its entity is "event <id>") is not told its id twice.
  const std::string self = absl::StrCat("event ", absl::AsciiStrToLower(event.event_id()), " ");
  absl::Status named = status;
  if (absl::StartsWith(status.message(), self)) {
    named = absl::Status(status.code(), status.message().substr(self.size()));
    status.ForEachPayload([&named](absl::string_view type_url, const absl::Cord& payload) {
      named.SetPayload(type_url, payload);
    });
  }
  return errors::WithContext(named,
                             absl::StrCat("event ", event.event_id(), " (", event.event_type(),
                                          " on ", event.stream_id(), "): "),
                             {{"event_id", event.event_id()}});
}

}  // namespace

GovernanceValidator::GovernanceValidator(ValidatorOptions options)
    : options_(options), state_(NewState()) {
  state_->set_journal(&journal_);
}

std::unique_ptr<GovernanceState> GovernanceValidator::NewState() const {
  auto state = std::make_unique<GovernanceState>();
  // Committed events are found in the store, not kept in memory: a correction
  // names a governance event of the log, on its stream.
  state->set_event_lookup(
      [this](absl::string_view event_id) { return LookUpEvent(event_id); });
  return state;
}

std::optional<std::pair<uint64_t, std::string>> GovernanceValidator::Stored(
    absl::string_view event_id) const {
  std::optional<UuidBytes> id = ParseUuid(event_id);
  if (!id || store_ == nullptr) return std::nullopt;
  absl::StatusOr<std::optional<uint64_t>> position = store_->FindEventId(*id);
  if (!position.ok()) {
    if (lookup_failure_.ok()) lookup_failure_ = position.status();
    return std::nullopt;
  }
  if (!*position) return std::nullopt;
  absl::StatusOr<std::optional<std::string>> stored = store_->Get(**position);
  if (!stored.ok()) {
    if (lookup_failure_.ok()) lookup_failure_ = stored.status();
    return std::nullopt;
  }
  // The index is covered by no hash: its entry must name the event with this id.
  if (absl::Status named = *stored ? CheckEventIdIndexEntry(event_id, **position, **stored)
                                   : errors::CorruptEvent(**position,
                                                          "indexed by event id "
                                                          "but missing");
      !named.ok()) {
    if (lookup_failure_.ok()) lookup_failure_ = named;
    return std::nullopt;
  }
  return std::make_pair(**position, *std::move(*stored));
}

std::optional<v1::Event> GovernanceValidator::StoredEvent(absl::string_view event_id) const {
  std::optional<std::pair<uint64_t, std::string>> stored = Stored(event_id);
  v1::Event event;
  if (!stored || ParseForFold(stored->second, &event) != ReadAhead::kGovernance) {
    return std::nullopt;
  }
  return event;
}

std::optional<std::string> GovernanceValidator::LookUpEvent(
    absl::string_view event_id) const {
  std::optional<v1::Event> event = StoredEvent(event_id);
  if (!event) return std::nullopt;
  return std::move(*event->mutable_stream_id());
}

std::optional<v1::Event> GovernanceValidator::EventNamed(
    absl::string_view event_id, absl::Span<const v1::Event* const> earlier) const {
  auto same = [&](const v1::Event& e) {
    return absl::EqualsIgnoreCase(e.event_id(), event_id);
  };
  for (const v1::Event* e : earlier) {
    if (same(*e)) return *e;
  }
  for (const v1::Event* e : group_events_) {
    if (same(*e)) return *e;
  }
  for (const v1::Event& e : unstored_log_) {
    if (same(e)) return e;
  }
  return StoredEvent(event_id);
}

absl::StatusOr<std::optional<v1::Event>> GovernanceValidator::NewestStandingAfter(
    const std::string& stream, absl::string_view event_id,
    absl::Span<const v1::Event* const> earlier) const {
  const absl::flat_hash_set<std::string> voided = VoidedEvents(state_->corrections());
  const std::string id = absl::AsciiStrToLower(event_id);
  std::optional<v1::Event> newest;
  // Newest first: true once the named event, or a standing one after it, is reached.
  auto reached = [&](const v1::Event& e) {
    if (e.stream_id() != stream) return false;
    const std::string e_id = absl::AsciiStrToLower(e.event_id());
    if (e_id == id) return true;
    if (!BuiltOnSince().contains(e.event_type()) || voided.contains(e_id)) return false;
    newest = e;
    return true;
  };
  for (auto e = earlier.rbegin(); e != earlier.rend(); ++e) {
    if (reached(**e)) return newest;
  }
  for (auto e = group_events_.rbegin(); e != group_events_.rend(); ++e) {
    if (reached(**e)) return newest;
  }
  for (auto e = unstored_log_.rbegin(); e != unstored_log_.rend(); ++e) {
    if (reached(*e)) return newest;
  }
  if (store_ == nullptr) return newest;
  ASSIGN_OR_RETURN(const uint64_t version, store_->StreamVersion(stream));
  if (version == 0) return newest;
  v1::Event event;
  absl::Status read = absl::OkStatus();
  bool found = false;             // the scan stopped at the named event or a standing one after it
  uint64_t lowest = version + 1;  // the lowest version scanned
  RETURN_IF_ERROR(
      store_->ScanStream(stream, version, /*forward=*/false, [&](uint64_t v, uint64_t position) {
        lowest = v;
        absl::StatusOr<std::optional<std::string>> stored = store_->Get(position);
        if (!stored.ok() || !*stored) {
          read = stored.ok() ? errors::CorruptEvent(position, "indexed by stream but missing")
                             : stored.status();
          return false;
        }
        read = CheckStreamIndexEntry(stream, v, position, **stored);
        if (!read.ok()) return false;
        found = ParseForFold(**stored, &event) == ReadAhead::kGovernance && reached(event);
        return !found;
      }));
  // The scan ends at a version the index lacks: one that ended above version 1 met a gap.
  if (read.ok() && !found && lowest != 1) {
    read = errors::StreamVersionMissing(stream, lowest - 1, version);
  }
  RETURN_IF_ERROR(read);
  return newest;
}

absl::Status GovernanceValidator::CheckNothingBuiltOn(
    const std::string& type, const std::string& stream, absl::string_view event_id,
    absl::Span<const v1::Event* const> earlier) const {
  // The entity as the state holds it is the one the corrected opening made: an opening
  // voided before is not corrected again, and a stream opened again holds a new one.
  const std::optional<EntityStream> entity = ParseEntityStream(stream);
  if (!entity) return absl::OkStatus();
  // The decision of a decision stream's event (null on other streams, or when there is none).
  const DecisionState* d = nullptr;
  if (const size_t slash = entity->id.find('/');
      entity->kind == EntityKind::kDecision && slash != absl::string_view::npos) {
    d = state_->FindDecision(entity->id.substr(0, slash), entity->id.substr(slash + 1));
  }
  // Its programme, when it names one that is closed.
  const WorkState* closed_programme =
      d == nullptr || d->proposed.programme_id().empty()
          ? nullptr
          : state_->FindProgramme(d->proposed.programme_id());
  if (closed_programme != nullptr && !closed_programme->closed) closed_programme = nullptr;
  auto built_on = [&](absl::string_view what, absl::string_view since) {
    return absl::FailedPreconditionError(absl::StrCat(what, " ", stream, ", which has since ",
                                                      since));
  };
  if (type == v1::DecisionProposed::descriptor()->full_name()) {
    if (d == nullptr) return absl::OkStatus();
    if (!d->signing_keys.empty()) return built_on("proposes", "been signed");
    if (d->outcome == DecisionState::Outcome::kRejected) return built_on("proposes", "been rejected");
    if (d->outcome == DecisionState::Outcome::kWithdrawn) {
      return built_on("proposes", "been withdrawn");
    }
  } else if (const bool rejects = type == v1::DecisionRejected::descriptor()->full_name(),
                        withdraws = type == v1::DecisionWithdrawn::descriptor()->full_name(),
                        signs = type == v1::DecisionSigned::descriptor()->full_name();
             rejects || withdraws || signs) {
    // Its programme closed after it (a programme is closed once the decisions naming it are
    // decided): voided, the decision would be pending, and approvable, in a closed programme.
    // (Voiding a signature of a decision not yet approved leaves it pending either way.)
    if (closed_programme != nullptr && (!signs || d->approved())) {
      return built_on(rejects ? "rejects" : withdraws ? "withdraws" : "signs",
                      absl::StrCat("seen its programme ", closed_programme->ref.id(), " closed"));
    }
    // The approval a referral back was proposed under (no decision is referred under one
    // that is not approved, so one of its signatures is enough to look for).
    if (!signs || d == nullptr || !d->approved()) return absl::OkStatus();
    const std::string* referred = nullptr;  // the least stream, the same every time
    for (const auto& [other_stream, other] : state_->decisions()) {
      const v1::DecisionProposed& p = other.proposed;
      if (p.has_referred_under() &&
          state_->FindDecision(p.organisation_id(), p.referred_under().reference()) == d &&
          (referred == nullptr || other_stream < *referred)) {
        referred = &other_stream;
      }
    }
    if (referred != nullptr) {
      return built_on("signs", absl::StrCat("had ", *referred, " referred back under it"));
    }
  } else if (const auto verb = PassedOn().find(type); verb != PassedOn().end()) {
    ASSIGN_OR_RETURN(const std::optional<v1::Event> later,
                     NewestStandingAfter(stream, event_id, earlier));
    if (later) {
      return built_on(verb->second,
                      absl::StrCat(BuiltOnSince().at(later->event_type()), " (event ",
                                   absl::AsciiStrToLower(later->event_id()), ")"));
    }
  } else if (type == v1::ProjectClosed::descriptor()->full_name()) {
    // Its programme closed after it (a programme is closed after its projects).
    const WorkState* project = state_->FindProject(entity->id);
    const WorkState* programme =
        project == nullptr ? nullptr : state_->FindProgramme(project->programme_id);
    if (programme != nullptr && programme->closed) {
      return built_on("closes", absl::StrCat("seen its programme ", programme->ref.id(),
                                             " closed"));
    }
  } else if (type == v1::SigningKeyRegistered::descriptor()->full_name()) {
    const KeyState* k = state_->FindKey(entity->id);
    if (k != nullptr && k->last_signed_micros != kUnknownTime) {
      return built_on("registers", "signed a decision");
    }
  }
  return absl::OkStatus();
}

absl::Status GovernanceValidator::CheckCorrected(const v1::Event& correction,
                                                 absl::Span<const v1::Event* const> earlier,
                                                 bool admin, int64_t received_micros) const {
  static const absl::flat_hash_set<std::string> kRegistrations = {
      v1::OrganisationRegistered::descriptor()->full_name(),
      v1::ProgrammeRegistered::descriptor()->full_name(),
      v1::ProjectRegistered::descriptor()->full_name()};
  static const std::string kRevocation = v1::SigningKeyRevoked::descriptor()->full_name();
  static const std::string kKeyRegistration =
      v1::SigningKeyRegistered::descriptor()->full_name();
  static const std::string kCorrection = v1::CorrectionRecorded::descriptor()->full_name();
  v1::CorrectionRecorded m;
  if (!m.ParseFromString(correction.payload())) return absl::OkStatus();  // Apply refused it
  const std::optional<v1::Event> corrected = EventNamed(m.corrected_event_id(), earlier);
  if (!corrected) return absl::OkStatus();  // Apply refused it
  const std::string* type = &corrected->event_type();
  const std::string entity = absl::StrCat("event ", absl::AsciiStrToLower(m.corrected_event_id()));
  auto refuse = [&](absl::string_view what, absl::string_view rule) {
    return errors::WithReason(
        absl::FailedPreconditionError(absl::StrCat(entity, " ", what, ": ", rule)),
        errors::reason::kRuleRefused, {{"entity", entity}, {"rule", std::string(rule)}});
  };
  if (*type == kCorrection) {
    // Voiding a correction would make the event it voided count again, unchecked against
    // everything recorded since (a signature by a key since re-registered to someone else, a
    // closure of a project that has since reported).
    return refuse(absl::StrCat("is itself a correction on ", correction.stream_id()),
                  "a correction is not corrected: record the fact it voided again, as a new "
                  "event, which the rules check against the record as it now stands");
  }
  // A second correction of a voided event would change nothing but which correction a history
  // credits with the voiding.
  if (auto named = state_->corrections().find(absl::AsciiStrToLower(m.corrected_event_id()));
      named != state_->corrections().end()) {
    const absl::flat_hash_set<std::string> voided = VoidedEvents(state_->corrections());
    const std::string self = absl::AsciiStrToLower(correction.event_id());  // applied already
    for (const std::string& by : named->second) {
      // Nor a correction voided (under an older version's rules).
      if (by == self || voided.contains(by)) continue;
      return refuse(absl::StrCat("is already voided by correction ", by),
                    "an event is corrected once: its correction stands (a correction is not "
                    "corrected); record the fact as it should stand as a new event");
    }
  }
  static const std::string kSignature = v1::DecisionSigned::descriptor()->full_name();
  if (*type == kSignature && !admin) {
    // Voiding a signature takes a decision's approval away: no more a writer's to do alone
    // than revoking the signatory's key is (organisation/, key/ and delegation/ need an admin).
    return absl::PermissionDeniedError(absl::StrCat(
        entity, " signs a decision on ", correction.stream_id(),
        ": a signature is corrected only with an admin token (voiding it takes the decision's "
        "approval away, as revoking its signatory's key would); ask an administrator to record "
        "the correction"));
  }
  // Voiding a withdrawal or rejection brings the decision's signatures back into force, and
  // with them, once every role has signed, its approval: an admin's to do, as voiding a
  // signature is (a writer had restored a signatory's withdrawn consent alone).
  if (const bool withdrawal = *type == v1::DecisionWithdrawn::descriptor()->full_name();
      !admin && (withdrawal || *type == v1::DecisionRejected::descriptor()->full_name())) {
    std::string organisation, reference;
    if (v1::DecisionWithdrawn w; withdrawal && w.ParseFromString(corrected->payload())) {
      organisation = w.organisation_id();
      reference = w.reference();
    } else if (v1::DecisionRejected r; !withdrawal && r.ParseFromString(corrected->payload())) {
      organisation = r.organisation_id();
      reference = r.reference();
    }
    const DecisionState* d = state_->FindDecision(organisation, reference);
    if (d != nullptr && !d->signing_keys.empty()) {
      return absl::PermissionDeniedError(absl::StrCat(
          entity, withdrawal ? " withdraws" : " rejects", " decision ", organisation, "/",
          reference, ", which holds ", d->signing_keys.size(),
          d->signing_keys.size() == 1 ? " signature" : " signatures",
          ": the withdrawal or rejection of a signed decision is corrected only with an admin "
          "token (voiding it brings the signatures back into force, and the decision is "
          "approved once every required role has signed, as voiding a signature takes approval "
          "away); ask an administrator to record the correction"));
    }
  }
  if (*type == kRevocation) {
    return refuse(absl::StrCat("revokes a key on ", correction.stream_id()),
                  "a key's revocation is not corrected (a revoked key signs nothing more): "
                  "register a new key for its holder instead; a revocation dated ahead is "
                  "brought forward by another revocation, effective earlier");
  }
  if (*type == kKeyRegistration) {
    const std::optional<EntityStream> key = ParseEntityStream(correction.stream_id());
    const KeyState* k = key ? state_->FindKey(key->id) : nullptr;
    if (k != nullptr && k->revoked) {
      return refuse(absl::StrCat("registers ", correction.stream_id(), ", which is revoked"),
                    "a revoked key's registration is not corrected (its id could then be "
                    "registered again and sign): register a new key for its holder instead");
    }
  }
  if (absl::Status built_on =
          CheckNothingBuiltOn(*type, correction.stream_id(), m.corrected_event_id(), earlier);
      !built_on.ok()) {
    // (A look-up that failed, as through a damaged index, is no refusal: it says so.)
    if (built_on.code() != absl::StatusCode::kFailedPrecondition) return built_on;
    return refuse(built_on.message(),
                  "an event that later events of its entity build on is not corrected: correct "
                  "those first, newest first");
  }
  if (kRegistrations.contains(*type)) {
    return refuse(absl::StrCat("registers ", correction.stream_id(),
                               ", and a registration is not corrected (every later event of ",
                               correction.stream_id(), " rests on it)"),
                  "a correction names an event other than a registration");
  }
  // Dated before the event it voids, a correction would stand in that event's history, as now
  // known, at dates when neither had taken effect (before the risk was even opened). And it is
  // dated no later than a day after it is recorded (CheckNotAhead lets every correction by),
  // but for one of an event dated further ahead (a delegation setting, a key's registration),
  // which is dated at that event's time: corrected before it takes effect.
  // The ledger dates every event it stores; only a test's validator sees one undated.
  if (!correction.has_effective_time()) return absl::OkStatus();
  const int64_t voided_at = corrected->has_effective_time() ? ToMicros(corrected->effective_time())
                                                            : std::numeric_limits<int64_t>::min();
  const int64_t at = ToMicros(correction.effective_time());
  // No received time (0), as in CheckNotAhead: nothing is checked against it.
  const int64_t latest = received_micros == 0
                             ? std::numeric_limits<int64_t>::max()
                             : received_micros + GovernanceState::kFutureAllowanceMicros;
  if (at >= voided_at && (at <= latest || at == voided_at)) return absl::OkStatus();
  std::string dating;  // how to date it
  if (voided_at > latest) {
    dating = absl::StrCat("date it ", FormatRfc3339(voided_at),
                          ", the time of the event it corrects, which is dated ahead");
  } else if (voided_at == latest) {
    dating = absl::StrCat("date it ", FormatRfc3339(voided_at));
  } else {
    dating = absl::StrCat("date it ", voided_at == std::numeric_limits<int64_t>::min()
                                          ? "no later than a day after it is recorded"
                                          : absl::StrCat(FormatRfc3339(voided_at), " or later"));
    if (received_micros != 0) {
      absl::StrAppend(&dating, ", up to a day after it is recorded (", FormatRfc3339(latest), ")",
                      voided_at <= received_micros
                          ? ", or leave its effective time out to date it when recorded"
                          : "");
    }
  }
  // The event it corrects sent in this append, undated, is dated by each attempt anew.
  if (absl::c_any_of(earlier, [&](const v1::Event* e) {
        return absl::EqualsIgnoreCase(e->event_id(), m.corrected_event_id());
      })) {
    absl::StrAppend(&dating, " (it is in this append: date both, or leave both undated)");
  }
  if (at < voided_at) {
    return refuse(absl::StrCat("takes effect ", FormatRfc3339(voided_at),
                               ", after the correction's effective time ", FormatRfc3339(at)),
                  absl::StrCat("a correction takes effect no earlier than the event it "
                               "corrects: ",
                               dating,
                               voided_at > latest ? ""
                                                  : "; the fact as it should stand, recorded "
                                                    "again as a new event, carries the earlier "
                                                    "date"));
  }
  return refuse(absl::StrCat("takes effect ", FormatRfc3339(voided_at), ", and the correction ",
                             FormatRfc3339(at), ", more than a day after it is recorded (",
                             FormatRfc3339(received_micros), ")"),
                absl::StrCat("a correction takes effect no later than a day after it is "
                             "recorded, unless it corrects an event dated further ahead, and "
                             "then at that event's time: ",
                             dating));
}

bool GovernanceValidator::CheckpointServes(const absl::flat_hash_set<std::string>& voided) {
  if (!checkpoint_ || checkpoint_->point.position > committed_position_) return false;
  const absl::Status failure = lookup_failure_;
  // An event `id` that comes after the checkpoint: what folding on from it reaches.
  auto after = [&](const std::string& id) {
    if (checkpoint_->after.contains(id)) return true;
    // The ledger passes no event already stored to the validator: one of the group's is not.
    bool found = absl::c_any_of(group_events_, [&](const v1::Event* e) {
      return absl::EqualsIgnoreCase(e->event_id(), id);
    });
    if (!found) {
      const std::optional<std::pair<uint64_t, std::string>> stored = Stored(id);
      found = stored && stored->first > checkpoint_->point.position;
    }
    if (found) checkpoint_->after.insert(id);
    return found;
  };
  bool serves = true;
  for (const std::string& id : voided) {
    serves = serves && (checkpoint_->voided.contains(id) || after(id));
  }
  for (const std::string& id : checkpoint_->voided) {
    serves = serves && (voided.contains(id) || after(id));
  }
  lookup_failure_ = failure;
  return serves;
}

absl::Status GovernanceValidator::Refold(Replaced* replaced) {
  const absl::flat_hash_set<std::string> voided =
      VoidedEvents(state_->corrections());
  const bool from_checkpoint = CheckpointServes(voided);
  std::unique_ptr<GovernanceState> fresh =
      from_checkpoint ? checkpoint_->state->Clone() : NewState();
  const ChainPoint start = from_checkpoint ? checkpoint_->point : ChainPoint{};
  // Where the fold takes the next checkpoint (0: nowhere): the lag behind the committed head,
  // when that is at least the lag past the checkpoint it starts from, or it starts from none.
  const uint64_t lag = options_.refold_checkpoint_lag;
  uint64_t retake = 0;
  if (store_ != nullptr && lag > 0 && committed_position_ > lag &&
      committed_position_ - lag >= (from_checkpoint ? start.position + lag : 1)) {
    retake = committed_position_ - lag;
  }
  std::optional<Checkpoint> taken;
  // Corrections themselves always fold: a correction's only effect is the
  // link it records, which decides whether it is voided. A voided event is
  // still known to FindEvent, for later corrections to name.
  // `recorded`: for an event without its recorded time (the group's), the time its append has.
  auto fold = [&](const v1::Event& e, int64_t recorded = kUnknownTime) {
    if (IsCorrection(e) ||
        !voided.contains(absl::AsciiStrToLower(e.event_id()))) {
      fresh->set_recording_micros(recorded);
      fresh->Apply(e, GovernanceState::Mode::kReplay).IgnoreError();
    } else {
      fresh->Remember(e);
    }
  };
  fresh->set_remember_events(store_ == nullptr);
  if (store_ != nullptr && committed_position_ > start.position) {
    // Checked against the chain as it is read, as Recover's replay is: the events below the
    // snapshot were not read at this start (nor those below the checkpoint at this refold).
    v1::Event event;
    crypto::Hash prev = start.hash;
    absl::Status broken;
    RETURN_IF_ERROR(store_->ScanLog(
        start.position + 1, /*forward=*/true, [&](uint64_t position, absl::string_view stored) {
          absl::StatusOr<crypto::Hash> hash = VerifyStoredEvent(position, stored, prev);
          if (!hash.ok()) {
            broken = hash.status();
            return false;
          }
          prev = *hash;
          if (ParseForFold(stored, &event) == ReadAhead::kGovernance) {
            fold(event);
          }
          if (position == retake) taken = Checkpoint{fresh->Clone(), {position, prev}, voided};
          return position < committed_position_;
        }));
    RETURN_IF_ERROR(broken);
  }
  for (const v1::Event& e : unstored_log_) fold(e);
  fresh->set_remember_events(true);  // the group's events are not stored yet
  for (size_t i = 0; i < group_events_.size(); ++i) fold(*group_events_[i], group_recorded_[i]);
  fresh->set_recording_micros(kUnknownTime);
  if (group_base_ == nullptr) {
    // The first refold of the group: keep the state as the group found it.
    group_base_ = std::move(state_);
    std::swap(journal_, base_journal_);
    group_base_->set_journal(&base_journal_);
  } else if (replaced != nullptr && replaced->state == nullptr) {
    replaced->state = std::move(state_);
    std::swap(journal_, replaced->journal);
    replaced->state->set_journal(&replaced->journal);
  }
  journal_.Clear();
  state_ = std::move(fresh);
  state_->set_journal(&journal_);
  if (taken) checkpoint_ = std::move(taken);
  ++refolds_.refolds;
  refolds_.from_checkpoint += from_checkpoint ? 1 : 0;
  refolds_.last_from = start.position + 1;
  return absl::OkStatus();
}

absl::Status GovernanceValidator::Save(const ChainPoint& point, bool rebuilding,
                                       bool sync) {
  internal::ValidatorSnapshot snapshot;  // all but the state
  snapshot.set_state_format(kStateFormat);
  snapshot.set_position(point.position);
  if (point.position > 0) {
    snapshot.set_hash(point.hash.data(), point.hash.size());
  }
  snapshot.set_rebuilding(rebuilding);
  snapshot.set_replayed_events(replayed_total_);
  snapshot.set_skipped_events(skipped_total_);
  // The state (field 4) is serialized by the state itself (on two threads)
  // into `bytes` after a gap that then takes its tag and length, and the other
  // fields follow it: a field's place in the bytes does not matter to a
  // parser, and the state (tens of megabytes for a million events) is never
  // copied.
  constexpr size_t kGap = 6;  // the tag (1 byte) and a length (at most 5)
  std::string bytes(kGap, '\0');
  state_->SerializeSnapshot(&bytes);
  uint8_t prefix[kGap];
  uint8_t* end = WireFormatLite::WriteTagToArray(
      internal::ValidatorSnapshot::kStateFieldNumber,
      WireFormatLite::WIRETYPE_LENGTH_DELIMITED, prefix);
  end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(bytes.size() - kGap), end);
  const size_t start = kGap - static_cast<size_t>(end - prefix);
  std::memcpy(bytes.data() + start, prefix, kGap - start);
  snapshot.AppendToString(&bytes);
  RETURN_IF_ERROR(store_->PutProjection(
      kSnapshotKey, absl::string_view(bytes).substr(start), sync));
  saved_position_ = point.position;
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint64_t, bool>> GovernanceValidator::Load(
    uint64_t head) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->GetProjection(kSnapshotKey));
  if (!bytes) {
    recovery_.snapshot_ignored = "no snapshot";
    return std::make_pair(uint64_t{0}, false);
  }
  // On an arena: thousands of small messages made in one go and freed at once.
  google::protobuf::Arena arena;
  auto& snapshot =
      *google::protobuf::Arena::CreateMessage<internal::ValidatorSnapshot>(&arena);
  auto ignore = [&](std::string why) {
    recovery_.snapshot_ignored = std::move(why);
    return std::make_pair(uint64_t{0}, false);
  };
  if (!snapshot.ParseFromString(*bytes)) {
    return ignore("the snapshot does not parse");
  }
  if (snapshot.state_format() != kStateFormat) {
    return ignore(absl::StrCat("the snapshot has state format ",
                               snapshot.state_format(), "; this version uses ",
                               kStateFormat));
  }
  const uint64_t position = snapshot.position();
  if (absl::Status s = CheckAnchor(*store_, head, position, snapshot.hash(),
                                   "the snapshot");
      !s.ok()) {
    // The store failed, or found its files corrupt: no replay would do better.
    const std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(s);
    if (s.code() != absl::StatusCode::kDataLoss ||
        (info && info->reason() == errors::reason::kStorageCorrupt)) {
      return s;
    }
    return ignore(std::string(s.message()));
  }
  if (absl::Status s = state_->Load(snapshot.state()); !s.ok()) {
    return ignore(std::string(s.message()));
  }
  replayed_total_ = snapshot.replayed_events();
  skipped_total_ = snapshot.skipped_events();
  saved_position_ = position;
  recovery_.snapshot_position = position;
  return std::make_pair(position, snapshot.rebuilding());
}

absl::Status GovernanceValidator::Recover(EventStore& store, uint64_t head) {
  const auto start = std::chrono::steady_clock::now();
  store_ = &store;
  if (options_.rebuild) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     store.GetProjection(kSnapshotKey));
    if (bytes && IsRebuildCheckpoint(*bytes)) {
      recovery_.resumed = true;  // an interrupted rebuild: go on from its checkpoint
    } else {
      RETURN_IF_ERROR(store.DropProjections(""));
      RETURN_IF_ERROR(Save(ChainPoint{}, /*rebuilding=*/true, /*sync=*/true));
    }
    recovery_.rebuilt = true;
  }
  ASSIGN_OR_RETURN(auto loaded, Load(head));
  const auto [from, rebuilding] = loaded;
  if (rebuilding) recovery_.rebuilt = true;  // resumed without the flag: finish it
  // Replay is not journalled (nothing here is ever rolled back), and needs no
  // event index (no rule is checked; the store answers for committed events).
  state_->set_journal(nullptr);
  state_->set_remember_events(false);
  state_->ForgetEvents();
  absl::Status checkpoint = absl::OkStatus();
  absl::Status status;
  // When the replay began or the last save ended.
  auto last_checkpoint = std::chrono::steady_clock::now();
  // Save, its time counted in the report apart from the fold's.
  auto timed_save = [&](const ChainPoint& point, bool rebuilding, bool sync) {
    const auto saving = std::chrono::steady_clock::now();
    absl::Status saved = Save(point, rebuilding, sync);
    last_checkpoint = std::chrono::steady_clock::now();
    recovery_.saving_seconds +=
        std::chrono::duration<double>(last_checkpoint - saving).count();
    return saved;
  };
  // Whether the replay takes a checkpoint at `position` (see
  // ValidatorOptions::checkpoint_seconds). Past the count of positions, the
  // clock is read once every 1,024.
  // Once the replay meets a correction, the state is exact only after the
  // refold at its end: no checkpoint until then.
  bool corrected = false;
  auto checkpoint_due = [&](uint64_t position) {
    if (corrected || options_.snapshot_every == 0 || position >= head ||
        position - saved_position_ < options_.snapshot_every) {
      return false;
    }
    if (options_.checkpoint_seconds <= 0) return true;
    return (position - saved_position_ - options_.snapshot_every) % 1024 == 0 &&
           std::chrono::steady_clock::now() - last_checkpoint >=
               std::chrono::seconds(options_.checkpoint_seconds);
  };
  if (from < head) {
    // The ledger verified the chain only from its last verified point: what
    // is folded here, from the snapshot on (from position 1 without one), is
    // checked again, so that no state is built from an event edited below
    // that point (the snapshot's own event was checked against its anchor).
    crypto::Hash prev{};
    if (from > 0) {
      ASSIGN_OR_RETURN(std::string anchor, AnchorHash(store, from, "the snapshot"));
      std::memcpy(prev.data(), anchor.data(), prev.size());
    }
    // Two threads: a reader scans the store, checks and parses each stored
    // event, the caller's thread folds them (and checkpoints), one batch
    // behind.
    ReadAheadQueue queue;
    std::thread reader([&] {
      pthread_setname_np(pthread_self(), "replay-reader");
      status = queue.Fill(store, from + 1, head, prev);
    });
    std::vector<ReadAhead>* batch = nullptr;
    size_t n = 0;
    while (checkpoint.ok() && queue.Next(&batch, &n)) {
      for (size_t i = 0; i < n && checkpoint.ok(); ++i) {
        const ReadAhead& r = (*batch)[i];
        if (i + GovernanceState::kPrefetchDistance < n) {
          state_->Prefetch((*batch)[i + GovernanceState::kPrefetchDistance].event);
        }
        ++recovery_.tail_positions;
        if (r.kind == ReadAhead::kUnparsable) {
          // Only bytes the writer did not serialize, their chain made again by hand.
          ++recovery_.skipped_events;
        } else if (r.kind == ReadAhead::kGovernance) {
          corrected = corrected || IsCorrection(r.event);
          if (state_->Apply(r.event, GovernanceState::Mode::kReplay).ok()) {
            ++recovery_.replayed_events;
          } else {
            ++recovery_.skipped_events;
          }
        }
        if (checkpoint_due(r.position)) {
          replayed_total_ += recovery_.replayed_events;
          skipped_total_ += recovery_.skipped_events;
          checkpoint = timed_save(ChainPoint{r.position, r.hash},
                                 recovery_.rebuilt, /*sync=*/false);
          replayed_total_ -= recovery_.replayed_events;
          skipped_total_ -= recovery_.skipped_events;
          if (checkpoint.ok() && recovery_.rebuilt &&
              options_.on_rebuild_checkpoint) {
            options_.on_rebuild_checkpoint(r.position);
          }
        }
      }
      queue.Done(batch);
    }
    queue.Stop();  // a failed checkpoint stops the reader early
    reader.join();
  }
  replayed_total_ += recovery_.replayed_events;
  skipped_total_ += recovery_.skipped_events;
  state_->set_journal(&journal_);
  state_->set_remember_events(true);
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(checkpoint);
  if (from + recovery_.tail_positions != head) {
    return absl::DataLossError(absl::StrCat(
        "replaying the governance state stopped at position ",
        from + recovery_.tail_positions, " before the head ", head));
  }
  committed_position_ = group_position_ = head;
  if (corrected) {
    const auto folding = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(Refold());
    group_base_.reset();  // nothing to roll back to
    base_journal_.Clear();
    recovery_.refold_seconds = std::chrono::duration<double>(
                                   std::chrono::steady_clock::now() - folding)
                                   .count();
  }
  if (recovery_.rebuilt || (corrected && options_.snapshot_every > 0) ||
      (options_.snapshot_every > 0 &&
       head - saved_position_ >= options_.snapshot_every)) {
    // The end of a rebuild (unmarked, synced), or a long tail not to replay again.
    ASSIGN_OR_RETURN(ChainPoint point, store.LoadHead());
    RETURN_IF_ERROR(timed_save(point, /*rebuilding=*/false, /*sync=*/true));
  }
  recovery_.seconds = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  return absl::OkStatus();
}

absl::Status GovernanceValidator::SaveSnapshot(bool sync) {
  if (store_ == nullptr) {
    return absl::FailedPreconditionError("the validator has not recovered");
  }
  if (committed_position_ == saved_position_) return absl::OkStatus();
  ASSIGN_OR_RETURN(ChainPoint point, store_->LoadHead());
  if (point.position != committed_position_) {
    return absl::InternalError(absl::StrCat(
        "the store's head ", point.position,
        " is not the validator's committed position ", committed_position_));
  }
  return Save(point, /*rebuilding=*/false, sync);
}

void GovernanceValidator::BeginGroup() {
  journal_.Clear();
  group_events_.clear();
  group_recorded_.clear();
  timed_.clear();
}

absl::Status GovernanceValidator::CheckAppend(
    const std::vector<const v1::Event*>& events, const AppendContext& context) {
  const size_t mark = journal_.size();
  const size_t copies = timed_.size();
  // The events as they will be stored: a governance event sent without an
  // effective time is checked with the one the ledger will give it, in a copy
  // kept until the group ends.
  std::vector<const v1::Event*> stored(events.begin(), events.end());
  for (const v1::Event*& e : stored) {
    if (context.received_micros != 0 && !e->has_effective_time() &&
        IsGovernanceType(e->event_type())) {
      v1::Event& copy = timed_.emplace_back(*e);
      SetMicros(context.received_micros, copy.mutable_effective_time());
      e = &copy;
    }
  }
  const size_t accepted = group_events_.size();
  // A correction voids the event it names for the rules from the next event
  // on, within this append too: before the first later event that is not a
  // correction (a correction only records a link), and at the append's end,
  // the state is refolded with this append's events so far.
  const bool group_refolded = group_base_ != nullptr;
  Replaced replaced;  // the state a refold in this append replaced, when
                      // group_refolded
  bool refolded = false;  // by this append: journal_ no longer holds `mark`
  auto refold_with = [&](size_t n) {
    const std::map<std::string, std::string> short_before = state_->DecisionsShortOfTheirRules();
    const std::map<std::string, std::set<std::string>> held_before =
        state_->DecisionsHeldByTheirRules();
    const std::map<std::string, std::string> past_before =
        state_->ProgrammesReportedPastTheirPlan();
    group_events_.insert(group_events_.end(), stored.begin(), stored.begin() + n);
    group_recorded_.insert(group_recorded_.end(), n, context.recorded_micros);
    absl::Status status = Refold(group_refolded ? &replaced : nullptr);
    group_events_.resize(accepted);
    group_recorded_.resize(accepted);
    if (!status.ok()) return status;
    refolded = true;
    // A refusal of the correction(s) just folded without the events they void.
    auto refused = [](const std::string& entity, absl::string_view problem,
                      absl::string_view rule) {
      return errors::WithReason(absl::FailedPreconditionError(absl::StrCat(problem, ": ", rule)),
                                errors::reason::kRuleRefused,
                                {{"entity", entity}, {"rule", std::string(rule)}});
    };
    // A correction that leaves a status report past its programme's plan (voids the re-plan
    // that made room for its week; checked on the state folded without every event the
    // append's corrections void, so that two re-plans voided together are seen together).
    for (const auto& [programme, what] : state_->ProgrammesReportedPastTheirPlan()) {
      if (past_before.contains(programme)) continue;
      return refused(absl::StrCat("programme ", programme), absl::StrCat("it would leave ", what),
                     "a correction leaves no status report past its programme's plan: correct "
                     "those reports first, newest first, or record a re-plan of the right "
                     "length before voiding the re-plans");
    }
    // A correction that reinstates a decision (voids its withdrawal or rejection) or relaxes
    // nothing but leaves one short of a rule (voids the later setting it was proposed under)
    // would let it be approved without the rule's role.
    for (const auto& [stream, lacks] : state_->DecisionsShortOfTheirRules()) {
      if (short_before.contains(stream)) continue;
      return refused(absl::StrCat("decision on ", stream), absl::StrCat("it would leave ", lacks),
                     "a correction leaves no pending or approved decision short of the "
                     "delegation rule's setting in force when it was proposed");
    }
    // Nor one that releases a decision from the role a setting held it to when it was proposed
    // (voids that setting): the register would no longer show what it was held to, as a setting
    // dated back over it may not (a signatory's trial: a rule's only setting voided, and a
    // decision approved with its role showed none). A decision the correction leaves held to
    // nothing at all, as one no longer signed or pending (its proposal voided, or the last
    // signature of one rejected), is not released: it was never held, as now known.
    const std::map<std::string, std::set<std::string>> held_after =
        state_->DecisionsHeldByTheirRules();
    for (const auto& [stream, requirements] : held_before) {
      const auto after = held_after.find(stream);
      if (after == held_after.end()) continue;
      for (const std::string& requirement : requirements) {
        if (after->second.contains(requirement)) continue;
        return refused(
            absl::StrCat("decision on ", stream),
            absl::StrCat("it would release the decision on ", stream, " from ", requirement),
            "a correction releases no decision from the role a delegation rule's "
            "setting in force when it was proposed held it to: record a new "
            "setting, dated after that decision's proposal, instead");
      }
    }
    return absl::OkStatus();
  };
  // Back to the state as this append found it.
  auto refuse = [&](absl::Status status) {
    if (!refolded) {
      journal_.RollbackTo(mark);
    } else if (group_refolded) {
      replaced.journal.RollbackTo(mark);
      state_ = std::move(replaced.state);
      std::swap(journal_, replaced.journal);
      state_->set_journal(&journal_);
    } else {
      // This append's refold was the group's first: group_base_ is the state
      // as the group found it, changed by this append's events before it.
      base_journal_.RollbackTo(mark);
      state_ = std::move(group_base_);
      std::swap(journal_, base_journal_);
      state_->set_journal(&journal_);
      base_journal_.Clear();
    }
    timed_.resize(copies);
    return status;
  };
  bool refold_pending = false;
  // The last correction of the run a refold applies: a refusal found by the refold names it
  // (a client maps it back to the request; the refold applies the whole run).
  const v1::Event* run_last = nullptr;
  // A damaged log or a failed read is the log's, not the correction's: said as it was.
  const auto refold_refused = [&](const absl::Status& status) {
    const absl::Status applying = errors::WithContext(status, "applying a correction: ");
    const bool of_the_log = status.code() == absl::StatusCode::kDataLoss ||
                            status.code() == absl::StatusCode::kInternal ||
                            status.code() == absl::StatusCode::kUnavailable;
    return refuse(of_the_log ? applying : WithContext(applying, *run_last));
  };
  for (size_t i = 0; i < stored.size(); ++i) {
    const v1::Event& event = *stored[i];
    const bool correction = IsCorrection(event);
    if (refold_pending && !correction) {
      if (absl::Status status = refold_with(i); !status.ok()) return refold_refused(status);
      refold_pending = false;
    }
    lookup_failure_ = absl::OkStatus();
    absl::Status status = GovernanceState::CheckNotAhead(event, context.received_micros);
    state_->set_recording_micros(context.recorded_micros);
    if (status.ok()) status = state_->Apply(event, GovernanceState::Mode::kValidate);
    if (status.ok() && correction) {
      status = CheckCorrected(event, absl::MakeConstSpan(stored.data(), i), context.admin,
                              context.received_micros);
      if (!status.ok() && refold_pending) {
        // Judged by a state that still counts what this append's earlier corrections void
        // (a signature voided just before its decision's proposal): judged again after them.
        if (absl::Status refolded_now = refold_with(i); !refolded_now.ok()) {
          return refold_refused(refolded_now);
        }
        state_->set_recording_micros(context.recorded_micros);
        status = state_->Apply(event, GovernanceState::Mode::kValidate);
        if (status.ok()) {
          status = CheckCorrected(event, absl::MakeConstSpan(stored.data(), i), context.admin,
                                  context.received_micros);
        }
      }
      refold_pending = true;
      run_last = &event;
    }
    // A store that failed to give an event the checks looked up: its error, not what the
    // checks concluded without the event ("names no event", or nothing refused).
    if (!lookup_failure_.ok()) status = lookup_failure_;
    if (!status.ok()) return refuse(WithContext(status, event));
  }
  if (refold_pending) {
    // The corrected events stop counting for the rules from now on.
    if (absl::Status status = refold_with(stored.size()); !status.ok()) {
      return refold_refused(status);
    }
  }
  group_events_.insert(group_events_.end(), stored.begin(), stored.end());
  group_recorded_.insert(group_recorded_.end(), stored.size(), context.recorded_micros);
  if (!events.empty()) {
    group_position_ = context.first_position + events.size() - 1;
  }
  return absl::OkStatus();
}

void GovernanceValidator::CommitGroup() {
  journal_.Clear();
  base_journal_.Clear();
  group_base_.reset();
  if (store_ != nullptr) {
    // The group is in the store now, where the event lookup finds it.
    state_->ForgetEvents();
  } else {
    for (size_t i = 0; i < group_events_.size(); ++i) {
      v1::Event& committed = unstored_log_.emplace_back(*group_events_[i]);
      if (!committed.has_recorded_time() && group_recorded_[i] != kUnknownTime) {
        SetMicros(group_recorded_[i], committed.mutable_recorded_time());
      }
    }
  }
  group_events_.clear();
  group_recorded_.clear();
  timed_.clear();
  committed_position_ = group_position_;
  if (options_.snapshot_every > 0 && store_ != nullptr &&
      committed_position_ - saved_position_ >= options_.snapshot_every) {
    // After the commit, on the writer thread: the state is exactly 1..head. Not synced (the
    // next sync of an append covers it), so appends wait for the write alone. A failure only
    // costs a longer replay at the next start.
    if (absl::Status saved = SaveSnapshot(/*sync=*/false); !saved.ok() && options_.log) {
      options_.log(absl::StrCat("governance rules' snapshot at position ", committed_position_,
                                " not saved (", saved.message(),
                                "): the next start replays the log from an earlier one"));
    }
  }
}

absl::Status GovernanceValidator::CheckEventType(absl::string_view type) const {
  return CheckEventTypeName(type);
}

void GovernanceValidator::AbortGroup() {
  if (group_base_ != nullptr) {
    // Back to the state as the group found it: drop the refolded one.
    journal_.Clear();
    base_journal_.RollbackTo(0);
    state_ = std::move(group_base_);
    state_->set_journal(&journal_);
  } else {
    journal_.RollbackTo(0);
  }
  group_events_.clear();
  group_recorded_.clear();
  timed_.clear();
  group_position_ = committed_position_;
}

}  // namespace govledger::projections
