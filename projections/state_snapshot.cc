// GovernanceState's snapshot half: Save, SerializeSnapshot and Load (the state to and from a
// govledger.internal.GovernanceStateSnapshot, proto/govledger/internal/snapshot.proto) and
// their helpers, and Clear, Clone and ForgetEvents, which must know every member as they do.
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "ledger/common/big_endian.h"
#include "projections/governance_state.h"

namespace govledger::projections {
namespace {

constexpr size_t kPackedEventBytes = 16 + 4;

}  // namespace

void GovernanceState::Clear() {
  organisations_.clear();
  work_.clear();
  risks_.clear();
  scope_items_.clear();
  decisions_.clear();
  keys_.clear();
  rules_.clear();
  events_.clear();
  stream_ids_.clear();
  stream_numbers_.clear();
  corrections_.clear();
  unknown_events_ = 0;
  case_folded_.clear();
}

std::unique_ptr<GovernanceState> GovernanceState::Clone() const {
  std::unique_ptr<GovernanceState> copy(new GovernanceState(*this));
  copy->journal_ = nullptr;
  // Keyed by the maps' addresses: each index is copied to the copy's own map (without one, the
  // copy's first question about a map's letter case builds its index in a pass over every id).
  copy->case_folded_.clear();
  const std::pair<const void*, const void*> maps[] = {{&organisations_, &copy->organisations_},
                                                      {&work_, &copy->work_},
                                                      {&risks_, &copy->risks_},
                                                      {&scope_items_, &copy->scope_items_},
                                                      {&decisions_, &copy->decisions_},
                                                      {&keys_, &copy->keys_},
                                                      {&rules_, &copy->rules_},
                                                      {&corrections_, &copy->corrections_}};
  for (const auto& [mine, its] : maps) {
    if (auto folded = case_folded_.find(mine); folded != case_folded_.end()) {
      copy->case_folded_.emplace(its, folded->second);
    }
  }
  return copy;
}

void GovernanceState::ForgetEvents() {
  events_ = EventIndex();
  stream_ids_ = std::vector<std::string>();
  stream_numbers_ = absl::flat_hash_map<std::string, uint32_t>();
}

void GovernanceState::Save(internal::GovernanceStateSnapshot* out) const {
  out->Clear();
  SaveRest(out);
  std::string entities;
  SerializeEntities(0, 1, &entities);
  out->MergeFromString(entities);
}

void GovernanceState::SerializeSnapshot(std::string* out) const {
  // Made in two halves on two threads: walking the entities, scattered over
  // the heap, is most of a snapshot's cost, and risks and scope items are most
  // of the entities, so each half takes every other one of those and one of
  // them the rest. A serialized message followed by another parses as the two
  // merged, and the halves share no entity.
  std::string other;
  std::thread other_thread([&] { SerializeEntities(1, 2, &other); });
  google::protobuf::Arena arena;
  auto* rest = google::protobuf::Arena::CreateMessage<internal::GovernanceStateSnapshot>(&arena);
  SaveRest(rest);
  rest->AppendToString(out);
  SerializeEntities(0, 2, out);
  other_thread.join();
  out->append(other);
}

namespace {

using google::protobuf::internal::WireFormatLite;
using Snapshot = internal::GovernanceStateSnapshot;

// The two passes over an entity's fields, each field listed once (RiskFields, ScopeItemFields):
// a FieldSizer adds up the bytes they take, then a FieldWriter writes them behind the entity's
// header. Both follow proto3: a scalar at its default (an `optional` time at kUnknownTime) is
// left out, a message field is always present. Sizing a message caches its size
// (ByteSizeLong), which writing it then uses, so the sizer must walk the same objects first.
class FieldSizer {
 public:
  void Message(int field, const google::protobuf::MessageLite& m) {
    size_ += Nested(field, m.ByteSizeLong());
  }
  void String(int field, const std::string& s) {
    if (!s.empty()) size_ += Nested(field, s.size());
  }
  void Bool(int field, bool b) {
    if (b) size_ += WireFormatLite::TagSize(field, WireFormatLite::TYPE_BOOL) + 1;
  }
  void Enum(int field, int value) {
    if (value != 0) {
      size_ += WireFormatLite::TagSize(field, WireFormatLite::TYPE_ENUM) +
               WireFormatLite::EnumSize(value);
    }
  }
  void Time(int field, int64_t micros) {
    if (micros != kUnknownTime) {
      size_ += WireFormatLite::TagSize(field, WireFormatLite::TYPE_INT64) +
               WireFormatLite::Int64Size(micros);
    }
  }
  void UInt64(int field, uint64_t value) {
    if (value != 0) {
      size_ += WireFormatLite::TagSize(field, WireFormatLite::TYPE_UINT64) +
               WireFormatLite::UInt64Size(value);
    }
  }
  size_t size() const { return size_; }

 private:
  // The size of field `field` holding a message (or bytes) of `size` bytes.
  static size_t Nested(int field, size_t size) {
    return WireFormatLite::TagSize(field, WireFormatLite::TYPE_MESSAGE) +
           google::protobuf::io::CodedOutputStream::VarintSize32(static_cast<uint32_t>(size)) +
           size;
  }
  size_t size_ = 0;
};

class FieldWriter {
 public:
  explicit FieldWriter(google::protobuf::io::CodedOutputStream* out) : out_(out) {}
  void Message(int field, const google::protobuf::MessageLite& m) {
    WireFormatLite::WriteMessage(field, m, out_);
  }
  void String(int field, const std::string& s) {
    if (!s.empty()) WireFormatLite::WriteString(field, s, out_);
  }
  void Bool(int field, bool b) {
    if (b) WireFormatLite::WriteBool(field, true, out_);
  }
  void Enum(int field, int value) {
    if (value != 0) WireFormatLite::WriteEnum(field, value, out_);
  }
  void Time(int field, int64_t micros) {
    if (micros != kUnknownTime) WireFormatLite::WriteInt64(field, micros, out_);
  }
  void UInt64(int field, uint64_t value) {
    if (value != 0) WireFormatLite::WriteUInt64(field, value, out_);
  }
  // The header of field `field` holding `size` bytes of fields, written next.
  void Header(int field, size_t size) {
    WireFormatLite::WriteTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, out_);
    out_->WriteVarint32(static_cast<uint32_t>(size));
  }

 private:
  google::protobuf::io::CodedOutputStream* out_;
};

// `departures` as snapshot messages (few entities have any).
std::vector<Snapshot::Departure> DeparturesOf(const std::map<std::string, Departure>& departures) {
  std::vector<Snapshot::Departure> out;
  for (const auto& [programme_id, departure] : departures) {
    Snapshot::Departure& d = out.emplace_back();
    d.set_programme_id(programme_id);
    *d.mutable_to() = departure.to;
    d.set_rating(departure.rating);
    d.set_rating_source(departure.rating_source);
    d.set_source(departure.source);
    d.set_position(departure.position);
  }
  return out;
}

void LoadDepartures(const google::protobuf::RepeatedPtrField<Snapshot::Departure>& in,
                    std::map<std::string, Departure>* out) {
  for (const Snapshot::Departure& d : in) {
    (*out)[d.programme_id()] =
        Departure{d.to(), d.rating(), d.rating_source(), d.source(), d.position()};
  }
}

// A risk's fields as Snapshot::Risk holds them, to `f` (a FieldSizer or FieldWriter).
template <typename Fields>
void RiskFields(const RiskState& r, const std::vector<Snapshot::Departure>& departures, Fields& f) {
  using Risk = Snapshot::Risk;
  f.Message(Risk::kOpenedFieldNumber, r.opened);
  f.Message(Risk::kSubjectFieldNumber, r.subject);
  f.Enum(Risk::kRatingFieldNumber, r.rating);
  f.Bool(Risk::kOpenFieldNumber, r.open);
  f.String(Risk::kClosedReasonFieldNumber, r.closed_reason);
  f.Time(Risk::kOpenedMicrosFieldNumber, r.opened_micros);
  f.Time(Risk::kRatingMicrosFieldNumber, r.rating_micros);
  f.UInt64(Risk::kOpenedPositionFieldNumber, r.opened_position);
  for (const v1::WorkRef& held : r.earlier_subjects) {
    f.Message(Risk::kEarlierSubjectsFieldNumber, held);
  }
  f.Time(Risk::kLastMicrosFieldNumber, r.last_micros);
  for (const Snapshot::Departure& d : departures) f.Message(Risk::kDeparturesFieldNumber, d);
  f.String(Risk::kRatingSourceFieldNumber, r.rating_source);
  f.String(Risk::kClosedSourceFieldNumber, r.closed_source);
  f.String(Risk::kSubjectSourceFieldNumber, r.subject_source);
  f.Time(Risk::kClosedMicrosFieldNumber, r.closed_micros);
}

// A scope item's fields as Snapshot::ScopeItem holds them, to `f`.
template <typename Fields>
void ScopeItemFields(const ScopeItemState& item, const std::vector<Snapshot::Departure>& departures,
                     Fields& f) {
  using Item = Snapshot::ScopeItem;
  f.Message(Item::kAddedFieldNumber, item.added);
  f.Message(Item::kOwnerFieldNumber, item.owner);
  f.Bool(Item::kInScopeFieldNumber, item.in_scope);
  f.Time(Item::kAddedMicrosFieldNumber, item.added_micros);
  f.UInt64(Item::kAddedPositionFieldNumber, item.added_position);
  f.Time(Item::kLastMicrosFieldNumber, item.last_micros);
  for (const v1::WorkRef& held : item.earlier_owners) {
    f.Message(Item::kEarlierOwnersFieldNumber, held);
  }
  for (const Snapshot::Departure& d : departures) f.Message(Item::kDeparturesFieldNumber, d);
}

// Writes one entity as field `field` of the snapshot: `fields(entity, departures, f)` lists its
// fields, sized then written.
template <typename Entity, typename ListFields>
void WriteEntity(int field, const Entity& entity, ListFields fields, FieldWriter& out) {
  const std::vector<Snapshot::Departure> departures = DeparturesOf(entity.departures);
  FieldSizer sizer;
  fields(entity, departures, sizer);
  out.Header(field, sizer.size());
  fields(entity, departures, out);
}

}  // namespace

// Each entity is written as its snapshot message would serialize, straight from the state's
// own messages: copying them into snapshot messages first took about half of a snapshot's
// time.
void GovernanceState::SerializeEntities(size_t part, size_t parts, std::string* out) const {
  google::protobuf::io::StringOutputStream stream(out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  FieldWriter writer(&coded);
  size_t i = 0;
  for (const auto& [id, r] : risks_) {
    if (i++ % parts != part) continue;
    WriteEntity(
        Snapshot::kRisksFieldNumber, r,
        [](const auto& e, const auto& d, auto& f) { RiskFields(e, d, f); }, writer);
  }
  for (const auto& [id, item] : scope_items_) {
    if (i++ % parts != part) continue;
    WriteEntity(
        Snapshot::kScopeItemsFieldNumber, item,
        [](const auto& e, const auto& d, auto& f) { ScopeItemFields(e, d, f); }, writer);
  }
}

void GovernanceState::SaveRest(internal::GovernanceStateSnapshot* out) const {
  using Snap = internal::GovernanceStateSnapshot;
  for (const auto& [id, o] : organisations_) {
    internal::GovernanceStateSnapshot::Organisation* saved = out->add_organisations();
    *saved->mutable_registered() = o.registered;
    if (o.registered_micros != kUnknownTime) saved->set_registered_micros(o.registered_micros);
  }
  for (const auto& [stream, w] : work_) {
    Snap::Work* s = out->add_work();
    s->set_stream_id(stream);
    *s->mutable_ref() = w.ref;
    s->set_organisation_id(w.organisation_id);
    s->set_programme_id(w.programme_id);
    if (w.ref.kind() == v1::WORK_KIND_PROGRAMME) {
      *s->mutable_programme() = w.programme;
    } else {
      *s->mutable_project() = w.project;
    }
    s->set_closed(w.closed);
    s->set_closed_reason(w.closed_reason);
    if (w.closed) *s->mutable_closure() = w.closure;
    s->set_has_status(w.has_status);
    if (w.has_status) *s->mutable_last_status() = w.last_status;
    for (const std::string& g : w.gates_passed) s->add_gates_passed(g);
    for (const std::string& m : w.milestones) s->add_milestones(m);
    if (w.opened_micros != kUnknownTime) s->set_opened_micros(w.opened_micros);
    if (w.last_micros != kUnknownTime) s->set_last_micros(w.last_micros);
    for (const WorkState::Replan& r : w.replans) {
      Snap::Work::Replan* sr = s->add_replans();
      if (r.micros != kUnknownTime) sr->set_micros(r.micros);
      *sr->mutable_replan() = r.replan;
    }
    if (!w.replans.empty()) *s->mutable_as_registered() = w.as_registered;
    if (w.status_micros != kUnknownTime) s->set_status_micros(w.status_micros);
    if (w.has_update) *s->mutable_last_update() = w.last_update;
    if (w.update_micros != kUnknownTime) s->set_update_micros(w.update_micros);
    s->set_status_source(w.status_source);
    s->set_update_source(w.update_source);
    s->set_closure_source(w.closure_source);
    s->set_max_reported_week(w.max_reported_week);
    if (w.closed_micros != kUnknownTime) s->set_closed_micros(w.closed_micros);
    for (const auto& [id, b] : w.benefits) {
      Snap::Benefit* sb = s->add_benefits();
      sb->set_benefit_id(id);
      sb->set_description(b.description);
      if (b.description_micros != kUnknownTime) sb->set_description_micros(b.description_micros);
      sb->set_has_forecast(b.has_forecast);
      sb->set_forecast_annual_pence(b.forecast_annual_pence);
      sb->set_has_realised(b.has_realised);
      sb->set_realised_annual_pence(b.realised_annual_pence);
      if (b.forecast_micros != kUnknownTime) sb->set_forecast_micros(b.forecast_micros);
      if (b.realised_micros != kUnknownTime) sb->set_realised_micros(b.realised_micros);
      sb->set_forecast_source(b.forecast_source);
      sb->set_realised_source(b.realised_source);
      sb->set_forecast_has_amount(b.forecast_has_amount);
      sb->set_realised_has_amount(b.realised_has_amount);
    }
  }
  for (const auto& [stream, d] : decisions_) {
    Snap::Decision* s = out->add_decisions();
    s->set_stream_id(stream);
    *s->mutable_proposed() = d.proposed;
    s->set_digest(d.digest);
    s->set_outcome(static_cast<int32_t>(d.outcome));
    for (const auto& [role, key] : d.signed_roles) {
      Snap::SignedRole* r = s->add_signed_roles();
      r->set_role(role);
      r->set_key_id(key);
      if (auto it = d.signed_on.find(key); it != d.signed_on.end()) {
        *r->mutable_signed_on() = it->second;
      }
      if (auto it = d.signed_sources.find(key); it != d.signed_sources.end()) {
        r->set_source(it->second);
      }
    }
    for (const std::string& key : d.signing_keys) s->add_signing_keys(key);
    for (const auto& [key, declaration] : d.declarations) {
      Snap::Declaration* out_declaration = s->add_declarations();
      out_declaration->set_key_id(key);
      *out_declaration->mutable_declaration() = declaration;
    }
    if (d.proposed_micros != kUnknownTime) s->set_proposed_micros(d.proposed_micros);
    if (d.signed_micros != kUnknownTime) s->set_signed_micros(d.signed_micros);
    s->set_proposed_position(d.proposed_position);
    s->set_proposed_source(d.proposed_source);
    s->set_outcome_source(d.outcome_source);
    s->set_outcome_by(d.outcome_by);
    s->set_outcome_reason(d.outcome_reason);
    if (d.outcome_micros != kUnknownTime) s->set_outcome_micros(d.outcome_micros);
  }
  for (const auto& [id, k] : keys_) {
    Snap::Key* s = out->add_keys();
    *s->mutable_registered() = k.registered;
    s->set_revoked(k.revoked);
    if (k.registered_micros != kUnknownTime) s->set_registered_micros(k.registered_micros);
    if (k.revoked_micros != kUnknownTime) s->set_revoked_micros(k.revoked_micros);
    if (k.last_signed_micros != kUnknownTime) s->set_last_signed_micros(k.last_signed_micros);
    s->set_registered_position(k.registered_position);
  }
  for (const auto& [stream, rule] : rules_) {
    Snap::Rule* s = out->add_rules();
    s->set_stream_id(stream);
    for (const RuleState::Setting& setting : rule.settings) {
      Snap::Rule::Setting* out_setting = s->add_settings();
      *out_setting->mutable_rule() = setting.rule;
      if (setting.micros != kUnknownTime) out_setting->set_micros(setting.micros);
      out_setting->set_position(setting.position);
    }
  }
  std::string* packed = out->mutable_events();
  packed->resize(events_.size() * kPackedEventBytes);
  char* p = packed->data();
  for (const auto& [key, stream] : events_) {
    std::memcpy(p, key.data(), key.size());
    PutBigEndian<uint32_t>(stream, p + 16);
    p += kPackedEventBytes;
  }
  for (const std::string& stream : stream_ids_) out->add_event_streams(stream);
  for (const auto& [id, by] : corrections_) {
    Snap::Correction* s = out->add_corrections();
    s->set_corrected_event_id(id);
    for (const std::string& c : by) s->add_correction_event_ids(c);
  }
  out->set_unknown_events(unknown_events_);
}

absl::Status GovernanceState::Load(const internal::GovernanceStateSnapshot& in) {
  Clear();
  for (const auto& o : in.organisations()) {
    OrganisationState& loaded = organisations_[o.registered().organisation_id()];
    loaded.registered = o.registered();
    loaded.registered_micros = o.has_registered_micros() ? o.registered_micros() : kUnknownTime;
  }
  for (const auto& s : in.work()) {
    WorkState& w = work_[s.stream_id()];
    w.ref = s.ref();
    w.organisation_id = s.organisation_id();
    w.programme_id = s.programme_id();
    w.programme = s.programme();
    w.project = s.project();
    w.closed = s.closed();
    w.closed_reason = s.closed_reason();
    w.closure = s.closure();
    w.has_status = s.has_status();
    w.last_status = s.last_status();
    w.gates_passed.assign(s.gates_passed().begin(), s.gates_passed().end());
    w.milestones.assign(s.milestones().begin(), s.milestones().end());
    w.opened_micros = s.has_opened_micros() ? s.opened_micros() : kUnknownTime;
    w.last_micros = s.has_last_micros() ? s.last_micros() : kUnknownTime;
    w.replans.clear();
    for (const auto& r : s.replans()) {
      w.replans.push_back({r.has_micros() ? r.micros() : kUnknownTime, r.replan()});
    }
    w.as_registered = s.as_registered();
    w.status_micros = s.has_status_micros() ? s.status_micros() : kUnknownTime;
    w.has_update = s.has_last_update();
    w.last_update = s.last_update();
    w.update_micros = s.has_update_micros() ? s.update_micros() : kUnknownTime;
    w.status_source = s.status_source();
    w.update_source = s.update_source();
    w.closure_source = s.closure_source();
    w.max_reported_week = s.max_reported_week();
    w.closed_micros = s.has_closed_micros() ? s.closed_micros() : kUnknownTime;
    for (const auto& b : s.benefits()) {
      BenefitState& state = w.benefits[b.benefit_id()];
      state.description = b.description();
      state.description_micros = b.has_description_micros() ? b.description_micros() : kUnknownTime;
      state.has_forecast = b.has_forecast();
      state.forecast_annual_pence = b.forecast_annual_pence();
      state.has_realised = b.has_realised();
      state.realised_annual_pence = b.realised_annual_pence();
      state.forecast_micros = b.has_forecast_micros() ? b.forecast_micros() : kUnknownTime;
      state.realised_micros = b.has_realised_micros() ? b.realised_micros() : kUnknownTime;
      state.forecast_source = b.forecast_source();
      state.realised_source = b.realised_source();
      state.forecast_has_amount = b.forecast_has_amount();
      state.realised_has_amount = b.realised_has_amount();
    }
  }
  for (const auto& s : in.risks()) {
    RiskState& r = risks_[s.opened().risk_id()];
    r.opened = s.opened();
    r.subject = s.subject();
    r.rating = s.rating();
    r.open = s.open();
    r.closed_reason = s.closed_reason();
    r.opened_micros = s.has_opened_micros() ? s.opened_micros() : kUnknownTime;
    r.rating_micros = s.has_rating_micros() ? s.rating_micros() : kUnknownTime;
    r.opened_position = s.opened_position();
    r.earlier_subjects.assign(s.earlier_subjects().begin(), s.earlier_subjects().end());
    r.last_micros = s.has_last_micros() ? s.last_micros() : kUnknownTime;
    LoadDepartures(s.departures(), &r.departures);
    r.rating_source = s.rating_source();
    r.closed_source = s.closed_source();
    r.subject_source = s.subject_source();
    r.closed_micros = s.has_closed_micros() ? s.closed_micros() : kUnknownTime;
  }
  for (const auto& s : in.scope_items()) {
    ScopeItemState& item = scope_items_[s.added().scope_item_id()];
    item.added = s.added();
    item.owner = s.owner();
    item.in_scope = s.in_scope();
    item.added_micros = s.has_added_micros() ? s.added_micros() : kUnknownTime;
    item.added_position = s.added_position();
    item.last_micros = s.has_last_micros() ? s.last_micros() : kUnknownTime;
    item.earlier_owners.assign(s.earlier_owners().begin(), s.earlier_owners().end());
    LoadDepartures(s.departures(), &item.departures);
  }
  for (const auto& s : in.decisions()) {
    if (s.outcome() < 0 || s.outcome() > 2) {
      Clear();
      return absl::DataLossError(
          absl::StrCat("snapshot: decision ", s.stream_id(), " has outcome ", s.outcome()));
    }
    DecisionState& d = decisions_[s.stream_id()];
    d.proposed = s.proposed();
    d.digest = s.digest();
    d.outcome = static_cast<DecisionState::Outcome>(s.outcome());
    for (const auto& r : s.signed_roles()) {
      d.signed_roles[r.role()] = r.key_id();
      if (r.has_signed_on()) d.signed_on[r.key_id()] = r.signed_on();
      if (!r.source().empty()) d.signed_sources[r.key_id()] = r.source();
    }
    d.signing_keys.insert(s.signing_keys().begin(), s.signing_keys().end());
    for (const auto& declaration : s.declarations()) {
      d.declarations[declaration.key_id()] = declaration.declaration();
    }
    d.proposed_micros = s.has_proposed_micros() ? s.proposed_micros() : kUnknownTime;
    d.signed_micros = s.has_signed_micros() ? s.signed_micros() : kUnknownTime;
    d.proposed_position = s.proposed_position();
    d.proposed_source = s.proposed_source();
    d.outcome_source = s.outcome_source();
    d.outcome_by = s.outcome_by();
    d.outcome_reason = s.outcome_reason();
    d.outcome_micros = s.has_outcome_micros() ? s.outcome_micros() : kUnknownTime;
  }
  for (const auto& s : in.keys()) {
    KeyState& k = keys_[s.registered().key_id()];
    k.registered = s.registered();
    k.revoked = s.revoked();
    k.registered_micros = s.has_registered_micros() ? s.registered_micros() : kUnknownTime;
    k.revoked_micros = s.has_revoked_micros() ? s.revoked_micros() : kUnknownTime;
    k.last_signed_micros = s.has_last_signed_micros() ? s.last_signed_micros() : kUnknownTime;
    k.registered_position = s.registered_position();
  }
  for (const auto& s : in.rules()) {
    if (s.settings().empty()) {
      Clear();
      return absl::DataLossError(
          absl::StrCat("snapshot: delegation rule ", s.stream_id(), " has no setting"));
    }
    RuleState& r = rules_[s.stream_id()];
    for (const auto& setting : s.settings()) {
      r.settings.push_back({setting.has_micros() ? setting.micros() : kUnknownTime, setting.rule(),
                            setting.position()});
    }
  }
  const std::string& packed = in.events();
  if (packed.size() % kPackedEventBytes != 0) {
    Clear();
    return absl::DataLossError("snapshot: the packed event index is truncated");
  }
  stream_ids_.assign(in.event_streams().begin(), in.event_streams().end());
  stream_numbers_.reserve(stream_ids_.size());
  for (size_t i = 0; i < stream_ids_.size(); ++i) {
    stream_numbers_.emplace(stream_ids_[i], static_cast<uint32_t>(i));
  }
  if (remember_events_) {
    events_.reserve(packed.size() / kPackedEventBytes);
    for (size_t off = 0; off < packed.size(); off += kPackedEventBytes) {
      EventKey key;
      std::memcpy(key.data(), packed.data() + off, key.size());
      const uint32_t stream = GetBigEndian<uint32_t>(packed.data() + off + 16);
      if (stream >= stream_ids_.size()) {
        Clear();
        return absl::DataLossError("snapshot: an event names a stream the snapshot does not hold");
      }
      events_.emplace(key, stream);
    }
  }
  for (const auto& s : in.corrections()) {
    corrections_[s.corrected_event_id()].assign(s.correction_event_ids().begin(),
                                                s.correction_event_ids().end());
  }
  unknown_events_ = in.unknown_events();
  return absl::OkStatus();
}

}  // namespace govledger::projections
