#include "projections/governance_state.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/unknown_field_set.h"
#include "ledger/common/errors.h"
#include "ledger/common/parse_errors.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/text.h"
#include "ledger/common/time.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/ed25519.h"
#include "projections/decision_digest.h"
#include "projections/plan_dates.h"
#include "projections/streams.h"
#include "unicode/uchar.h"

namespace govledger::projections {

using Mode = GovernanceState::Mode;

bool DecisionState::approved() const {
  if (outcome != Outcome::kPending) return false;
  for (const std::string& role : proposed.required_signatory_roles()) {
    if (!signed_roles.contains(role)) return false;
  }
  return !proposed.required_signatory_roles().empty();
}

int64_t AddPence(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max()
               : std::numeric_limits<int64_t>::min();
}

int64_t CommittedPence(const google::protobuf::RepeatedPtrField<v1::DecisionAmount>& amounts) {
  int64_t total = 0;
  for (const v1::DecisionAmount& a : amounts) {
    if (!a.noted_only()) total = AddPence(total, a.pence());
  }
  return total;
}

int64_t CountedPence(const v1::DelegationRuleSet& rule,
                     const google::protobuf::RepeatedPtrField<v1::DecisionAmount>& amounts) {
  int64_t counted = 0;
  for (const v1::DecisionAmount& a : amounts) {
    if (a.noted_only()) continue;
    if (rule.kinds().empty() ||
        std::find(rule.kinds().begin(), rule.kinds().end(), a.kind()) != rule.kinds().end()) {
      counted = AddPence(counted, a.pence());
    }
  }
  return counted;
}

std::string AmountKindText(v1::AmountKind kind) {
  switch (kind) {
    case v1::AMOUNT_KIND_CAPITAL:
      return "capital";
    case v1::AMOUNT_KIND_REVENUE:
      return "revenue";
    case v1::AMOUNT_KIND_ONE_OFF:
      return "one-off";
    default:
      return "";
  }
}

std::string FormatPence(int64_t pence) {
  std::string sign = pence < 0 ? "-" : "";
  uint64_t abs = pence < 0 ? 0 - static_cast<uint64_t>(pence)
                           : static_cast<uint64_t>(pence);
  std::string pounds = absl::StrCat(abs / 100);
  std::string grouped;
  for (size_t i = 0; i < pounds.size(); ++i) {
    if (i > 0 && (pounds.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(pounds[i]);
  }
  return absl::StrFormat("%s\xC2\xA3%s.%02d", sign, grouped,
                         static_cast<int>(abs % 100));
}

namespace {

// Payloads up to this size are parsed into a message reused for the next event
// of the type (see Access::Handle); a larger one frees its buffers after use.
constexpr size_t kReusedPayloadBytes = 64 << 10;

// The longest plan a programme may register: 100 years of weeks.
constexpr int kMaxPlannedWeeks = 5200;

absl::Status Invalid(absl::string_view message) {
  return errors::WithReason(absl::InvalidArgumentError(message),
                            errors::reason::kInvalidEvent);
}

// What to do when a fact reported late is dated before a closure already recorded: the
// rules read the state as recorded, in which the entity is closed, whatever the fact's date.
constexpr absl::string_view kDatedBeforeClosure =
    "a fact dated before the closure goes in by voiding the closure with a correction "
    "(govledger.v1.CorrectionRecorded, on the closure's stream; a programme's closure before "
    "its projects', a project's before its risks'), recording the fact, then recording the "
    "closure again";

// What to do when a project registered late is dated before its programme's closure.
constexpr absl::string_view kProjectDatedBeforeClosure =
    "a project dated before its programme's closure goes in by voiding that closure with a "
    "correction (govledger.v1.CorrectionRecorded, on the programme's stream), registering the "
    "project, recording the project's closure (a programme is closed after its projects), then "
    "recording the programme's closure again";

// What to do when a fact is dated after a closure already recorded.
constexpr absl::string_view kDatedAfterClosure =
    "a closure recorded in error is voided with a correction (govledger.v1.CorrectionRecorded, "
    "on the closure's stream; a programme's closure before its projects', a project's before "
    "its risks')";

// A broken rule: "<entity> <problem>: <rule>", and "; <remedy>" when one is given.
absl::Status Refuse(absl::string_view entity, absl::string_view problem, absl::string_view rule,
                    absl::string_view remedy = "") {
  return errors::WithReason(
      absl::FailedPreconditionError(
          absl::StrCat(entity, " ", problem, ": ", rule, remedy.empty() ? "" : "; ", remedy)),
      errors::reason::kRuleRefused, {{"entity", std::string(entity)}, {"rule", std::string(rule)}});
}

// Whether `cp` is a non-spacing or enclosing mark (Unicode's Mn and Me: an accent, an Arabic
// haraka), which shows nothing of its own. (A spacing mark, such as Devanagari's vowel sign
// U+093F, shows.)
bool IsCombiningMark(uint32_t cp) {
  const int8_t type = u_charType(static_cast<UChar32>(cp));
  return type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK;
}

// Whether `text` (valid UTF-8) is empty or shows nothing a reader could see: white space,
// characters that show nothing (InvisibleInName: U+2800, U+3164, zero-width and tag
// characters...) and combining marks with nothing to combine with.
bool IsBlank(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint32_t c = 0;
    const size_t n = std::max<size_t>(1, Utf8Length(text.substr(i), &c));
    if (!IsWhiteSpace(c) && !InvisibleInName(c) && !IsCombiningMark(c)) return false;
    i += n;
  }
  return true;
}

// Why a non-empty text IsBlank: "white space", or "nothing that shows".
std::string BlankText(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint32_t c = 0;
    const size_t n = std::max<size_t>(1, Utf8Length(text.substr(i), &c));
    if (!IsWhiteSpace(c)) {
      return absl::StrFormat("characters that show nothing, such as U+%04X", c);
    }
    i += n;
  }
  return "white space";
}

absl::Status Required(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(absl::StrCat(field, " is required"));
  if (IsBlank(value)) {
    return Invalid(absl::StrCat(field, " is required (it holds only ", BlankText(value), ")"));
  }
  return absl::OkStatus();
}

absl::Status NotNegative(absl::string_view entity, absl::string_view field,
                         int64_t pence) {
  if (pence < 0) {
    return Refuse(entity, absl::StrCat("has ", field, " of ", pence, " pence"),
                  "amounts are whole pence and not negative");
  }
  return absl::OkStatus();
}

bool IsUnset(const v1::Date& d) {
  return d.year() == 0 && d.month() == 0 && d.day() == 0;
}

absl::Status CheckDate(absl::string_view field, const v1::Date& d,
                       bool required) {
  if (IsUnset(d)) {
    return required ? Invalid(absl::StrCat(field,
                                           " is required: a date with its year, month and day "
                                           "(all zero, or {} in JSON, is no date)"))
                    : absl::OkStatus();
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  bool leap = (d.year() % 4 == 0 && d.year() % 100 != 0) || d.year() % 400 == 0;
  if (d.year() < 1900 || d.year() > 2199 || d.month() < 1 || d.month() > 12 ||
      d.day() < 1 ||
      d.day() > kDays[d.month() - 1] + (d.month() == 2 && leap ? 1 : 0)) {
    return Invalid(absl::StrFormat(
        "%s %04d-%02d-%02d is not a date from 1900-01-01 to 2199-12-31", field,
        d.year(), d.month(), d.day()));
  }
  return absl::OkStatus();
}

// An optional date (`present`: the message holds the field): absent, or a date CheckDate
// accepts. One held but left all zero ({} in JSON) is refused: the rules and the decision digest
// would read it as no date, an answer that asks whether the field is held as 0000-00-00.
absl::Status CheckOptionalDate(absl::string_view field, bool present, const v1::Date& d) {
  if (present && IsUnset(d)) {
    return Invalid(absl::StrCat(field,
                                " is present but empty (year, month and day 0): give the date, "
                                "e.g. {\"year\": 2017, \"month\": 3, \"day\": 1}, or leave "
                                "the field out"));
  }
  return CheckDate(field, d, /*required=*/false);
}

int64_t DateKey(const v1::Date& d) {
  return d.year() * 10000LL + d.month() * 100 + d.day();
}

// The byte offset in `text` (valid UTF-8) of its first character that acts
// rather than shows (ActsRatherThanShows, ledger/common/text.h) other than a
// tab, a line feed, or a carriage return before a line feed. npos when there is
// none.
size_t FirstControl(absl::string_view text) {
  // Most text has none, which eight bytes at a time show: every such character
  // holds a byte below 0x20, 0x7F, or starts with 0xC2 (C1), 0xD8 (the Arabic
  // letter mark) or 0xE2 (the other bidirectional controls). The tests are exact
  // about whether a word has such a byte, not about which.
  constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
  auto has_zero = [](uint64_t w) { return ((w - kOnes) & ~w & kHighs) != 0; };
  auto has_below_0x20 = [](uint64_t w) {
    return ((w - 0x20 * kOnes) & ~w & kHighs) != 0;
  };
  size_t first = 0;
  for (; first + 8 <= text.size(); first += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + first, 8);
    if (has_below_0x20(w) || has_zero(w ^ (0x7F * kOnes)) ||
        has_zero(w ^ (0xC2 * kOnes)) || has_zero(w ^ (0xD8 * kOnes)) ||
        has_zero(w ^ (0xE2 * kOnes))) {
      break;
    }
  }
  // From the first word that may hold one, character by character (a word may
  // start inside a character: back up to its start).
  while (first > 0 && first < text.size() &&
         (static_cast<uint8_t>(text[first]) & 0xC0) == 0x80) {
    --first;
  }
  for (size_t i = first; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = std::max<size_t>(1, Utf8Length(text.substr(i), &cp));
    if (ActsRatherThanShows(cp) && cp != '\t' && cp != '\n' &&
        !(cp == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      return i;
    }
    i += n;
  }
  return absl::string_view::npos;
}

// Refuses text holding letters of more than one of the Latin, Greek and Cyrillic scripts
// (FindLookAlikes): "Gаte 3" with a Cyrillic "а" would pass for "Gate 3" and not be compared
// as it. `text` is valid UTF-8 (proto3).
absl::Status CheckOneScript(absl::string_view field, absl::string_view text,
                            const NameLookAlikes& found) {
  if (found.mixed_at == NameLookAlikes::kNone) return absl::OkStatus();
  return Invalid(absl::StrFormat(
      "%s '%s' mixes %s and %s letters (U+%04X at byte %d): letters that look alike "
      "across scripts would make one name look like another; write it in one script",
      field, text, found.first_script, found.other_script, found.mixed, found.mixed_at));
}

// Refuses a name (a key's holder or role) holding a tab, a line break or a
// character InvisibleInName, mixing scripts (CheckOneScript), or not in Unicode's composed
// form (IsComposed): two keys whose holders differ only there would look like one person, and
// two spellings of a role would not match. `text` is valid UTF-8 (proto3).
absl::Status CheckName(absl::string_view field, absl::string_view text) {
  const NameLookAlikes found = FindLookAlikes(text);
  RETURN_IF_ERROR(CheckOneScript(field, text, found));
  // " Chair" would show as Chair and never match it.
  if (!text.empty()) {
    uint32_t first = 0, last = 0;
    Utf8Length(text, &first);
    size_t at = text.size() - 1;
    while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
    Utf8Length(text.substr(at), &last);
    if (IsWhiteSpace(first) || IsWhiteSpace(last)) {
      return Invalid(absl::StrFormat("%s '%s' starts or ends with white space: send the name "
                                     "without it",
                                     field, text));
    }
  }
  if (found.hidden_at != NameLookAlikes::kNone) {
    return Invalid(absl::StrFormat(
        "%s holds U+%04X at byte %d, which does not show as itself: a name is "
        "written in visible characters and ordinary spaces (U+0020)",
        field, found.hidden, found.hidden_at));
  }
  // Roles are matched exactly: "Directeur Général" with its accents composed and decomposed
  // look the same and would not match, leaving a decision no key can sign.
  if (!IsComposed(text)) {
    return Invalid(absl::StrFormat(
        "%s '%s' is not in Unicode's composed form (NFC): write an accented letter as one "
        "character (é, not e followed by U+0301), so that a name is spelled one way",
        field, text));
  }
  return absl::OkStatus();
}


// Refuses a payload any of whose text fields (at any depth) holds a control
// character or a bidirectional control (FirstControl): a terminal or a report
// would act on it rather than show it (a carriage return or an escape sequence
// can overwrite what was printed before it; a right-to-left override shows
// "£000,037" for what is stored as "£730,000"). Line breaks and tabs are text.
// The message names the field by its path (e.g. tranches[0].name).
absl::Status CheckText(const google::protobuf::Message& m) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  std::string scratch;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->type() != FieldDescriptor::TYPE_STRING &&
        f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int k = 0; k < n; ++k) {
      auto name = [&] {
        return f->is_repeated() ? absl::StrCat(f->name(), "[", k, "]") : f->name();
      };
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (!f->is_repeated() && !r->HasField(m, f)) continue;
        absl::Status nested = CheckText(
            f->is_repeated() ? r->GetRepeatedMessage(m, f, k) : r->GetMessage(m, f));
        if (!nested.ok()) return Invalid(absl::StrCat(name(), ".", nested.message()));
        continue;
      }
      const std::string& text =
          f->is_repeated() ? r->GetRepeatedStringReference(m, f, k, &scratch)
                           : r->GetStringReference(m, f, &scratch);
      const size_t at = FirstControl(text);
      if (at == absl::string_view::npos) continue;
      uint32_t code_point = 0;
      Utf8Length(absl::string_view(text).substr(at), &code_point);
      if (IsBidiControl(code_point)) {
        return Invalid(absl::StrFormat(
            "%s holds the bidirectional control U+%04X at byte %d, which would "
            "reorder the text around it when shown; text holds no bidirectional marks, "
            "embeddings, overrides or isolates (U+061C, U+200E, U+200F, U+202A to U+202E, "
            "U+2066 to U+2069)",
            name(), code_point, at));
      }
      return Invalid(absl::StrFormat(
          "%s holds the control character U+%04X at byte %d; text may hold "
          "line breaks (\\n or \\r\\n) and tabs, no other control characters",
          name(), code_point, at));
    }
  }
  return absl::OkStatus();
}

// A field `m` holds that its type does not declare (at any depth): the path of the message
// holding it ("" for `m` itself, else e.g. "amounts[0]"), the message's type and the field's
// number; nullopt when there is none.
struct UnknownField {
  std::string path;
  std::string type;
  int number = 0;
  std::string misencoded;  // MisencodedField's account: "" for a field the type lacks
};
std::optional<UnknownField> FindUnknownField(const google::protobuf::Message& m) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = r->GetUnknownFields(m);
  if (!unknown.empty()) {
    return UnknownField{"", m.GetDescriptor()->full_name(), unknown.field(0).number(),
                        MisencodedField(*m.GetDescriptor(), unknown.field(0))};
  }
  // The hot path (every typed append): no allocation, and only the message fields set.
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const int n = f->is_repeated() ? r->FieldSize(m, f) : (r->HasField(m, f) ? 1 : 0);
    for (int k = 0; k < n; ++k) {
      std::optional<UnknownField> found = FindUnknownField(
          f->is_repeated() ? r->GetRepeatedMessage(m, f, k) : r->GetMessage(m, f));
      if (!found) continue;
      found->path = absl::StrCat(f->name(), f->is_repeated() ? absl::StrCat("[", k, "]") : "",
                                 found->path.empty() ? "" : ".", found->path);
      return found;
    }
  }
  return std::nullopt;
}

// Refuses a payload holding a field its type does not declare: no rule checks it and no
// signature covers it (a decision's digest is over the fields this version knows), yet it
// would be stored as part of the fact.
absl::Status CheckNoUnknownFields(absl::string_view event_type,
                                  const google::protobuf::Message& m) {
  std::optional<UnknownField> found = FindUnknownField(m);
  if (!found) return absl::OkStatus();
  if (!found->misencoded.empty()) {
    return Invalid(absl::StrCat("the ", event_type, " payload's bytes are malformed: ",
                                found->path.empty() ? "" : absl::StrCat(found->path, "'s "),
                                found->misencoded));
  }
  return Invalid(absl::StrCat(
      "the ", event_type, " payload holds field number ", found->number,
      found->path.empty() ? "" : absl::StrCat(" in ", found->path), ", which ", found->type,
      " does not have in this version of govledgerd: a payload holds only the fields of its "
      "type (proto/govledger/v1), since no rule could check another and no signature would "
      "cover it (a client built from newer protos needs a govledgerd built from them)"));
}

absl::Status CheckApproval(absl::string_view field, const v1::Approval& a) {
  if (a.decision_stream().empty() == a.board().empty()) {
    return Invalid(absl::StrCat(
        field, ": exactly one of decision_stream and board is required"));
  }
  return absl::OkStatus();
}

// What a fact refused for a closure effective at `closed_micros` is told: `before_closure`
// when it is dated no later than the closure (or either time is unknown), which "" leaves
// unsaid (a closure refused for one); otherwise that it is dated after the closure, and
// kDatedAfterClosure.
std::string ClosureRemedy(absl::string_view before_closure, int64_t closed_micros,
                          const v1::Event& e) {
  if (before_closure.empty()) return "";
  const int64_t at = EffectiveMicrosOrUnknown(e);
  if (closed_micros == kUnknownTime || at == kUnknownTime || at <= closed_micros) {
    return std::string(before_closure);
  }
  return absl::StrCat("this event is dated after the closure, effective ",
                      FormatRfc3339(closed_micros), "; ", kDatedAfterClosure);
}

// Refuses an event effective before `since`, when both times are known:
// "<entity> <what> effective <since>, after this event's effective time <at>".
absl::Status RequireEffectiveSince(absl::string_view entity,
                                   absl::string_view what, int64_t since,
                                   const v1::Event& e,
                                   absl::string_view rule =
                                       "an event on an entity takes effect "
                                       "no earlier than the entity exists "
                                       "(its registration, proposal, opening "
                                       "or addition)") {
  const int64_t at = EffectiveMicrosOrUnknown(e);
  if (since == kUnknownTime || at == kUnknownTime || at >= since) {
    return absl::OkStatus();
  }
  return Refuse(entity,
                absl::StrCat(what, " effective ", FormatRfc3339(since),
                             ", after this event's effective time ",
                             FormatRfc3339(at)),
                rule);
}

// Refuses an event of `entity` that names organisation `id` when the organisation is not
// registered (`rule`), or takes effect before its registration does.
absl::Status RequireOrganisation(const GovernanceState& s, absl::string_view entity,
                                 absl::string_view id, absl::string_view rule,
                                 const v1::Event& e) {
  const OrganisationState* o = s.FindOrganisation(id);
  if (o == nullptr) {
    return Refuse(entity, absl::StrCat("names organisation ", id, ", which is not registered"),
                  rule);
  }
  return RequireEffectiveSince(
      entity, absl::StrCat("names organisation ", id, ", which was registered"),
      o->registered_micros, e,
      "an organisation's programmes, signing keys, delegation rules and decisions take effect "
      "no earlier than its registration");
}

// Whether an event effective `at` replaces a current value effective
// `current` (governance_state.h, BenefitState): the latest effective time
// wins, ties the later event; an unknown time falls back to fold order.
bool Supersedes(int64_t current, int64_t at) {
  return current == kUnknownTime || at == kUnknownTime || at >= current;
}

// A benefit's forecast or realisation effective `at` gives `description`: it becomes the
// benefit's if none is held or it is latest in effect (BenefitState::description).
void TakeDescription(BenefitState& b, const std::string& description, int64_t at) {
  if (description.empty()) return;
  if (!b.description.empty() && !Supersedes(b.description_micros, at)) return;
  b.description = description;
  b.description_micros = at;
}

// The later of two effective times; an unknown one counts for nothing.
int64_t Latest(int64_t a, int64_t b) {
  if (a == kUnknownTime) return b;
  if (b == kUnknownTime) return a;
  return std::max(a, b);
}

bool SameRef(const v1::WorkRef& a, const v1::WorkRef& b) {
  return a.kind() == b.kind() && a.id() == b.id();
}

// A transfer `e` of a risk (rated `rating`, by an event of source `rating_source`) or scope
// item from `*holder` to `to`: the holder joins `*earlier` (once), and a transfer out of the
// holder's programme is that programme's departure.
void PassOn(const GovernanceState& s, const v1::WorkRef& to, v1::Rag rating,
            const std::string& rating_source, const v1::Event& e, v1::WorkRef* holder,
            std::vector<v1::WorkRef>* earlier, std::map<std::string, Departure>* departures) {
  if (std::none_of(earlier->begin(), earlier->end(),
                   [&](const v1::WorkRef& held) { return SameRef(held, *holder); })) {
    earlier->push_back(*holder);
  }
  const WorkState* from_work = s.FindWork(*holder);
  const WorkState* to_work = s.FindWork(to);
  if (from_work != nullptr &&
      (to_work == nullptr || to_work->programme_id != from_work->programme_id)) {
    (*departures)[from_work->programme_id] =
        Departure{to, rating, rating_source, e.source(), e.position()};
  }
  *holder = to;
}

}  // namespace

template <typename V>
V* GovernanceState::Mutate(absl::node_hash_map<std::string, V>& map,
                           const std::string& key) {
  // One probe of the map whether the entity is new or not.
  auto [it, inserted] = map.try_emplace(key);
  if (inserted) {
    if (auto folded = case_folded_.find(&map); folded != case_folded_.end()) {
      std::string lower = absl::AsciiStrToLower(key);
      if (folded->second.try_emplace(lower, key).second && journal_ != nullptr) {
        // By the map's address, not the index's: CaseTwin may drop and rebuild the index.
        journal_->Push([this, index = static_cast<const void*>(&map), lower] {
          if (auto it = case_folded_.find(index); it != case_folded_.end()) {
            it->second.erase(lower);
          }
        });
      }
    }
  }
  if (journal_ != nullptr) {
    if (inserted) {
      journal_->Push([&map, key] { map.erase(key); });
    } else {
      journal_->Push([&map, key, old = it->second]() mutable {
        map[key] = std::move(old);
      });
    }
  }
  return &it->second;
}

template <typename V>
const std::string* GovernanceState::CaseTwin(const absl::node_hash_map<std::string, V>& map,
                                             absl::string_view key) const {
  const std::string lower = absl::AsciiStrToLower(key);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto [folded, build] = case_folded_.try_emplace(&map);
    if (build) {
      for (const auto& [id, unused] : map) {
        folded->second.try_emplace(absl::AsciiStrToLower(id), id);
      }
    }
    auto it = folded->second.find(lower);
    if (it == folded->second.end() || it->second == key) return nullptr;
    if (map.contains(it->second)) return &it->second;
    // Built while a group's ids were in the map, and one of them rolled back since (the
    // journal undoes only what Mutate added): build it again.
    case_folded_.erase(folded);
  }
  return nullptr;
}

template <typename V>
V* GovernanceState::MutateExisting(absl::node_hash_map<std::string, V>& map,
                                   const std::string& key) {
  auto it = map.find(key);
  if (it == map.end()) return nullptr;
  if (journal_ != nullptr) {
    journal_->Push([&map, key, old = it->second]() mutable {
      map[key] = std::move(old);
    });
  }
  return &it->second;
}

void GovernanceState::RememberEvent(absl::string_view event_id,
                                    absl::string_view stream_id) {
  if (!remember_events_) return;  // no index kept (see the constructor)
  std::optional<EventKey> key = ParseUuid(event_id);
  if (!key) return;  // the ledger only passes UUIDs
  auto [it, inserted] = stream_numbers_.try_emplace(
      stream_id, static_cast<uint32_t>(stream_ids_.size()));
  if (inserted) stream_ids_.emplace_back(stream_id);
  if (events_.insert_or_assign(*key, it->second).second &&
      journal_ != nullptr) {
    journal_->PushErase(&events_, *key);
  }
}

void GovernanceState::CountUnknown() {
  ++unknown_events_;
  if (journal_ != nullptr) journal_->Push([this] { --unknown_events_; });
}

// The event handlers: for each payload type M,
//   Shape(m)        the stream the event belongs on, or INVALID_ARGUMENT
//   (state-independent); Rules(s, m, e)  OK or FAILED_PRECONDITION (against the
//   current state); Do(s, m, e)     the change; tolerant of missing entities
//   (replay applies unchecked events).
struct GovernanceState::Access {
  using S = GovernanceState;

  // --- Incarnations (governance_state.h). ---

  static uint64_t OpenedAt(const RiskState& r) { return r.opened_position; }
  static uint64_t OpenedAt(const ScopeItemState& i) { return i.added_position; }
  static uint64_t OpenedAt(const DecisionState& d) { return d.proposed_position; }
  static uint64_t OpenedAt(const KeyState& k) { return k.registered_position; }
  // Whether `e` was recorded before the opening at position `opened`.
  static bool RecordedBefore(uint64_t opened, const v1::Event& e) {
    return opened != 0 && e.position() != 0 && e.position() < opened;
  }
  // The entity at `key` for a change by `e` (journalled); null when there is
  // none, or when `e` was recorded against an earlier incarnation.
  template <typename V>
  static V* ActedOn(S& s, absl::node_hash_map<std::string, V>& map, const std::string& key,
                    const v1::Event& e) {
    auto it = map.find(key);
    if (it == map.end() || RecordedBefore(OpenedAt(it->second), e)) return nullptr;
    return s.MutateExisting(map, key);
  }

  // --- Shared rule helpers. ---

  // Refuses `entity`, whose id is `key` in `map`, when the map holds a key that differs from it
  // only in letter case ("lpp" beside "LPP"): streams and queries would tell the two apart,
  // their readers would not. `map` is one of `s`'s, keyed by id or by stream ("programme/LPP");
  // a lookup (GovernanceState::CaseTwin): a scan of every id, at each of a long log's hundreds
  // of thousands of openings, made appends crawl.
  template <typename Map>
  static absl::Status RefuseCaseTwin(const S& s, const Map& map, absl::string_view key,
                                     absl::string_view entity, absl::string_view kind) {
    const std::string* k = s.CaseTwin(map, key);
    if (k == nullptr) return absl::OkStatus();
    std::string twin = kind.empty() ? absl::StrReplaceAll(*k, {{"/", " "}})
                                    : absl::StrCat(kind, " ", *k);
    return Refuse(entity, absl::StrCat("differs only in letter case from ", twin),
                  "ids are compared without letter case: use the existing one's spelling, or "
                  "another id");
  }

  // "is not registered" for signing key `key_id`, naming a registered key whose id differs from
  // it in letter case alone (ids are matched exactly; a key id typed in capitals was refused
  // with no hint).
  static std::string KeyNotRegistered(const S& s, absl::string_view key_id) {
    const std::string* twin = s.CaseTwin(s.keys_, key_id);
    if (twin == nullptr) return "is not registered";
    return absl::StrCat("is not registered (key ids are matched exactly: did you mean ", *twin,
                        "?)");
  }

  // The subject exists and is open (a project also needs its programme open).
  // "is not registered", and when the id is registered as the other kind of work, that it is
  // (a reference's kind given wrong: "programme LPP-INV is not registered (LPP-INV is a
  // project, not a programme)").
  static absl::Status RefuseUnregistered(const S& s, const v1::WorkRef& ref,
                                         absl::string_view rule) {
    v1::WorkRef other = ref;
    other.set_kind(ref.kind() == v1::WORK_KIND_PROJECT ? v1::WORK_KIND_PROGRAMME
                                                       : v1::WORK_KIND_PROJECT);
    if (s.FindWork(other) == nullptr) return Refuse(Describe(ref), "is not registered", rule);
    return Refuse(
        Describe(ref),
        other.kind() == v1::WORK_KIND_PROJECT
            ? absl::StrCat("is not registered (", ref.id(), " is a project, not a programme)")
            : absl::StrCat("is not registered (", ref.id(), " is a programme, not a project)"),
        rule);
  }

  // `before_closure`: what to say to a fact refused for a closure it is dated before (none for
  // a closure refused for one; ClosureRemedy).
  static absl::Status RequireOpen(const S& s, const v1::WorkRef& ref, absl::string_view rule,
                                  const v1::Event& e,
                                  absl::string_view before_closure = kDatedBeforeClosure) {
    const WorkState* w = s.FindWork(ref);
    if (w == nullptr) return RefuseUnregistered(s, ref, rule);
    if (w->closed) {
      return Refuse(Describe(ref), "is closed", rule,
                    ClosureRemedy(before_closure, w->closed_micros, e));
    }
    if (ref.kind() == v1::WORK_KIND_PROJECT) {
      const WorkState* p = s.FindProgramme(w->programme_id);
      if (p != nullptr && p->closed) {
        return Refuse(Describe(ref), absl::StrCat("belongs to closed programme ", p->ref.id()),
                      rule, ClosureRemedy(before_closure, p->closed_micros, e));
      }
    }
    return RequireEffectiveSince(Describe(ref), "was registered",
                                 w->opened_micros, e);
  }

  static absl::Status RequireRegistered(const S& s, const v1::WorkRef& ref,
                                        absl::string_view rule,
                                        const v1::Event& e) {
    const WorkState* w = s.FindWork(ref);
    if (w == nullptr) return RefuseUnregistered(s, ref, rule);
    return RequireEffectiveSince(Describe(ref), "was registered",
                                 w->opened_micros, e);
  }

  // A scope change's approval: a board, or a decision that exists, is
  // approved (every required role has signed) and is of the organisation of
  // one of `work` (the programmes or projects the change concerns), or of an
  // organisation overseeing it.
  static absl::Status RequireApproval(const S& s, const v1::Approval& a,
                                      absl::string_view entity,
                                      std::initializer_list<const v1::WorkRef*> work,
                                      const v1::Event& e) {
    if (a.decision_stream().empty()) return absl::OkStatus();
    constexpr absl::string_view kRule =
        "a scope change is approved by a board, or by an approved decision of "
        "the organisation owning the programme or project (or overseeing it)";
    auto it = s.decisions_.find(a.decision_stream());
    auto refuse = [&](absl::string_view why) {
      return Refuse(entity,
                    absl::StrCat("names approving decision ",
                                 a.decision_stream(), ", which ", why),
                    kRule);
    };
    if (it == s.decisions_.end()) {
      // "decision/MOPAC/PCD 72" or ".../pcd-72" for the stream of "PCD 72": name it.
      std::string hint;
      const absl::string_view named = a.decision_stream();
      if (absl::StartsWith(named, "decision/")) {
        const absl::string_view rest = named.substr(std::string_view("decision/").size());
        if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
          const auto [stream, alike] =
              SpelledAlike(s, rest.substr(0, slash), rest.substr(slash + 1));
          if (alike != nullptr) {
            hint = absl::StrCat(" (did you mean ", stream, ", the stream of decision ",
                                alike->proposed.organisation_id(), "/", alike->proposed.reference(),
                                "? a decision's stream has its reference as proposed, with '-' "
                                "for each space)");
          }
        }
      }
      return refuse(absl::StrCat("has not been proposed", hint));
    }
    const DecisionState& d = it->second;
    if (d.outcome == DecisionState::Outcome::kRejected) {
      return refuse("was rejected");
    }
    if (d.outcome == DecisionState::Outcome::kWithdrawn) {
      return refuse("was withdrawn");
    }
    if (!d.approved()) {
      return refuse("is not approved (not every required role has signed)");
    }
    RETURN_IF_ERROR(RequireEffectiveSince(
        entity,
        absl::StrCat("names approving decision ", a.decision_stream(),
                     ", which was approved"),
        d.signed_micros, e,
        "a scope change takes effect no earlier than the decision approving "
        "it"));
    const std::string& decider = d.proposed.organisation_id();
    std::string owners;
    for (const v1::WorkRef* ref : work) {
      const WorkState* w = s.FindWork(*ref);
      if (w == nullptr) continue;
      if (DecidesFor(s, decider, w->organisation_id)) return absl::OkStatus();
      absl::StrAppend(&owners, owners.empty() ? "" : " nor ", Describe(*ref),
                      " (organisation ", w->organisation_id, ")");
    }
    return refuse(absl::StrCat("is of organisation ", decider,
                               ", which neither owns nor oversees ", owners));
  }

  // Whether a decision of organisation `decider` may concern the work of
  // organisation `owner`: its own, or one it oversees.
  static bool DecidesFor(const S& s, absl::string_view decider,
                         absl::string_view owner) {
    if (decider == owner) return true;
    const OrganisationState* o = s.FindOrganisation(decider);
    if (o == nullptr) return false;
    const auto& overseen = o->registered.oversees();
    return std::find(overseen.begin(), overseen.end(), owner) != overseen.end();
  }

  // Whether organisation `overseer`'s registration, and so what it oversees, holds at `at`
  // (when both times are known) and names `overseen`.
  static bool OverseesAt(const OrganisationState& overseer, absl::string_view overseen,
                         int64_t at) {
    if (overseer.registered_micros != kUnknownTime && at != kUnknownTime &&
        overseer.registered_micros > at) {
      return false;
    }
    const auto& list = overseer.registered.oversees();
    return std::find(list.begin(), list.end(), overseen) != list.end();
  }

  // Whether a risk or scope item of organisation `from` may pass to work of organisation `to`
  // at `at`: one organisation, one overseeing the other, or both overseen by a third (the
  // partners of a collaboration, registered as overseen by its joint board), the overseer
  // registered by then. Organisations are few: a scan.
  static bool OneFamily(const S& s, absl::string_view from, absl::string_view to, int64_t at) {
    return from == to || FamilyOverseer(s, from, to, at) != nullptr;
  }

  // The organisation that makes `from` and `to` one family at `at` (one of them, or a third),
  // registered by then; null if none. Of several, the one with the least id: the same every
  // time.
  static const OrganisationState* FamilyOverseer(const S& s, absl::string_view from,
                                                 absl::string_view to, int64_t at) {
    const std::string* least = nullptr;
    const OrganisationState* found = nullptr;
    for (const auto& [id, o] : s.organisations_) {
      if (((id == from && OverseesAt(o, to, at)) || (id == to && OverseesAt(o, from, at)) ||
           (OverseesAt(o, from, at) && OverseesAt(o, to, at))) &&
          (least == nullptr || id < *least)) {
        least = &id;
        found = &o;
      }
    }
    return found;
  }

  // A transfer of `entity`, held by `held` (registered), to `to` (registered), by event `e`:
  // within one family of organisations at its effective time (OneFamily), else refused naming
  // both organisations, and any organisation that makes them one family only later.
  static absl::Status RequireOneFamily(const S& s, absl::string_view entity,
                                       const v1::WorkRef& held, const v1::WorkRef& to,
                                       absl::string_view what, const v1::Event& e) {
    const WorkState* from_work = s.FindWork(held);
    const WorkState* to_work = s.FindWork(to);
    const int64_t at = EffectiveMicrosOrUnknown(e);
    if (from_work == nullptr || to_work == nullptr ||
        OneFamily(s, from_work->organisation_id, to_work->organisation_id, at)) {
      return absl::OkStatus();
    }
    std::string when;
    if (at != kUnknownTime) {
      when =
          absl::StrCat(" (as registered by ", FormatRfc3339(at), ", this event's effective time");
      if (const OrganisationState* later = FamilyOverseer(s, from_work->organisation_id,
                                                          to_work->organisation_id, kUnknownTime)) {
        absl::StrAppend(&when, "; organisation ", later->registered.organisation_id(),
                        " does from its registration, effective ",
                        FormatRfc3339(later->registered_micros), ": date the transfer from then");
      }
      absl::StrAppend(&when, ")");
    }
    return Refuse(
        entity,
        absl::StrCat("belongs to ", Describe(held), " of organisation ", from_work->organisation_id,
                     ", and ", Describe(to), " is of organisation ", to_work->organisation_id,
                     ", which neither oversees nor is overseen by ", from_work->organisation_id,
                     ", and no organisation oversees both", when),
        absl::StrCat(what,
                     " passes only between the work of one organisation, of an organisation "
                     "and one it oversees, or of organisations one organisation oversees (the "
                     "partners of a collaboration: register its joint board as an organisation "
                     "overseeing them)"));
  }

  static const DecisionState* Decision(const S& s, absl::string_view org,
                                       absl::string_view ref) {
    auto it = s.decisions_.find(DecisionStream(org, ref));
    return it == s.decisions_.end() ? nullptr : &it->second;
  }

  // A decision of `org` whose reference differs from `ref` at most in letter case,
  // punctuation, spacing or a number's leading zeros (SpellingKey: one reference, for
  // uniqueness), with its stream; {"", null} if none.
  static std::pair<std::string, const DecisionState*> SpelledAlike(const S& s,
                                                                   absl::string_view org,
                                                                   absl::string_view ref) {
    const std::string key = SpellingKey(ref);
    std::pair<std::string, const DecisionState*> found{"", nullptr};
    // Of several (a log written before references were unique so), the least stream.
    for (const auto& [stream, d] : s.decisions_) {
      if (d.proposed.organisation_id() == org && SpellingKey(d.proposed.reference()) == key &&
          (found.second == nullptr || stream < found.first)) {
        found = {stream, &d};
      }
    }
    return found;
  }
  // " (references are matched exactly: did you mean 'PCD 72'?)" for SpelledAlike's decision;
  // "" if none.
  static std::string DidYouMean(const S& s, absl::string_view org, absl::string_view ref) {
    const DecisionState* d = SpelledAlike(s, org, ref).second;
    if (d == nullptr) return "";
    return absl::StrCat(" (references are matched exactly: did you mean '",
                        d->proposed.reference(), "'?)");
  }

  static absl::Status RequirePendingDecision(const S& s, absl::string_view org,
                                             absl::string_view ref,
                                             absl::string_view action,
                                             const v1::Event& e) {
    std::string entity = absl::StrCat("decision ", org, "/", ref);
    const DecisionState* d = Decision(s, org, ref);
    if (d == nullptr) {
      return Refuse(entity, absl::StrCat("has not been proposed", DidYouMean(s, org, ref)),
                    absl::StrCat("only a proposed decision can be ", action));
    }
    if (d->outcome == DecisionState::Outcome::kRejected) {
      return Refuse(entity, "was rejected",
                    absl::StrCat("only a pending decision can be ", action));
    }
    if (d->outcome == DecisionState::Outcome::kWithdrawn) {
      return Refuse(entity, "was withdrawn",
                    absl::StrCat("only a pending decision can be ", action));
    }
    if (d->approved()) {
      return Refuse(entity,
                    "is already approved (every required role has signed)",
                    absl::StrCat("only a pending decision can be ", action));
    }
    return RequireEffectiveSince(entity, "was proposed", d->proposed_micros, e);
  }

  // Refuses a rejection or withdrawal effective before the pending decision's latest signature
  // (which would show a signature given after the decision was rejected). REQUIRES: the
  // decision is proposed.
  static absl::Status RequireEndedAfterSignatures(const S& s, absl::string_view org,
                                                  absl::string_view ref, const v1::Event& e) {
    return RequireEffectiveSince(absl::StrCat("decision ", org, "/", ref), "was signed",
                                 Decision(s, org, ref)->signed_micros, e,
                                 "a decision is rejected or withdrawn effective no earlier "
                                 "than its latest signature");
  }

  static WorkState* MutableWork(S& s, const v1::WorkRef& ref) {
    absl::StatusOr<std::string> stream = WorkStream("ref", ref);
    if (!stream.ok()) return nullptr;
    return s.MutateExisting(s.work_, *stream);
  }

  // --- Organisations, programmes, projects. ---

  static absl::StatusOr<std::string> Shape(
      const v1::OrganisationRegistered& m) {
    RETURN_IF_ERROR(CheckId("organisation_id", m.organisation_id()));
    RETURN_IF_ERROR(Required("name", m.name()));
    absl::flat_hash_set<std::string> overseen;
    for (const std::string& id : m.oversees()) {
      if (id.empty()) {
        return Invalid(
            "oversees has an empty entry: name each organisation overseen, or leave it out");
      }
      RETURN_IF_ERROR(CheckId("oversees", id));
      if (id == m.organisation_id()) {
        return Invalid("oversees names the organisation itself");
      }
      if (!overseen.insert(id).second) {
        return Invalid(absl::StrCat("oversees names ", id, " twice"));
      }
    }
    return OrganisationStream(m.organisation_id());
  }
  static absl::Status Rules(const S& s, const v1::OrganisationRegistered& m,
                            const v1::Event& e) {
    std::string entity = absl::StrCat("organisation ", m.organisation_id());
    if (s.organisations_.contains(m.organisation_id())) {
      return Refuse(entity, "is already registered",
                    "an organisation is registered once");
    }
    RETURN_IF_ERROR(RefuseCaseTwin(s, s.organisations_, m.organisation_id(), entity,
                                   "organisation"));
    for (const std::string& id : m.oversees()) {
      if (!s.organisations_.contains(id)) {
        return Refuse(entity,
                      absl::StrCat("oversees organisation ", id,
                                   ", which is not registered"),
                      "an organisation oversees registered organisations");
      }
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::OrganisationRegistered& m, const v1::Event& e) {
    OrganisationState* o = s.Mutate(s.organisations_, m.organisation_id());
    o->registered = m;
    o->registered_micros = EffectiveMicrosOrUnknown(e);
  }

  static absl::StatusOr<std::string> Shape(const v1::ProgrammeRegistered& m) {
    RETURN_IF_ERROR(CheckId("programme_id", m.programme_id()));
    RETURN_IF_ERROR(CheckId("organisation_id", m.organisation_id()));
    RETURN_IF_ERROR(Required("name", m.name()));
    RETURN_IF_ERROR(
        CheckDate("mobilisation_date", m.mobilisation_date(), true));
    RETURN_IF_ERROR(CheckPlannedWeeks(m.planned_weeks()));
    RETURN_IF_ERROR(CheckTranches(m.tranches()));
    RETURN_IF_ERROR(CheckExclusions(m.excluded_scope()));
    return ProgrammeStream(m.programme_id());
  }
  // What a programme's scope leaves out: each entry written, none twice (in any letter case).
  static absl::Status CheckExclusions(
      const google::protobuf::RepeatedPtrField<std::string>& excluded) {
    absl::flat_hash_set<std::string> seen;
    for (const std::string& x : excluded) {
      if (IsBlank(x)) {  // white space of any kind, as for a required field
        return Invalid("excluded_scope has an empty entry: name each exclusion, or leave it out");
      }
      if (!seen.insert(absl::AsciiStrToLower(x)).second) {
        return Invalid(absl::StrCat("excluded_scope names \"", x, "\" twice"));
      }
    }
    return absl::OkStatus();
  }
  static absl::Status CheckPlannedWeeks(int weeks) {
    if (weeks == 0) {
      return Invalid(
          absl::StrCat("planned_weeks (JSON plannedWeeks) is 0 or left out: give the "
                       "plan's length in weeks, 1 to ",
                       kMaxPlannedWeeks));
    }
    if (weeks < 1 || weeks > kMaxPlannedWeeks) {
      return Invalid(absl::StrCat("planned_weeks ", weeks, " is not from 1 to ",
                                  kMaxPlannedWeeks, " (a plan of at most 100 years)"));
    }
    return absl::OkStatus();
  }
  // A programme's tranches: numbered from 1, each number once, each a date range.
  static absl::Status CheckTranches(
      const google::protobuf::RepeatedPtrField<v1::Tranche>& tranches) {
    absl::flat_hash_set<int> numbers;
    for (const v1::Tranche& t : tranches) {
      std::string f = absl::StrCat("tranche ", t.number());
      if (t.number() < 1) {
        return Invalid(absl::StrCat("tranche number ", t.number(),
                                    ": tranches are numbered from 1 (leave tranches out where "
                                    "the paper names none)"));
      }
      if (!numbers.insert(t.number()).second)
        return Invalid(absl::StrCat(f, " appears twice"));
      RETURN_IF_ERROR(
          CheckDate(absl::StrCat(f, " start_date"), t.start_date(), true));
      RETURN_IF_ERROR(
          CheckDate(absl::StrCat(f, " end_date"), t.end_date(), true));
      if (DateKey(t.end_date()) < DateKey(t.start_date())) {
        return Invalid(absl::StrCat(f, " ends before it starts"));
      }
    }
    return absl::OkStatus();
  }
  static absl::Status Rules(const S& s, const v1::ProgrammeRegistered& m,
                            const v1::Event& e) {
    std::string entity = absl::StrCat("programme ", m.programme_id());
    if (s.work_.contains(ProgrammeStream(m.programme_id()))) {
      return Refuse(entity, "is already registered",
                    "a programme is registered once");
    }
    RETURN_IF_ERROR(RefuseCaseTwin(s, s.work_, ProgrammeStream(m.programme_id()), entity, ""));
    return RequireOrganisation(s, entity, m.organisation_id(),
                               "a programme belongs to a registered organisation", e);
  }
  static void Do(S& s, const v1::ProgrammeRegistered& m, const v1::Event& e) {
    WorkState* w = s.Mutate(s.work_, ProgrammeStream(m.programme_id()));
    w->opened_micros = EffectiveMicrosOrUnknown(e);
    w->ref.set_kind(v1::WORK_KIND_PROGRAMME);
    w->ref.set_id(m.programme_id());
    w->organisation_id = m.organisation_id();
    w->programme_id = m.programme_id();
    w->programme = m;
  }

  static absl::StatusOr<std::string> Shape(const v1::ProgrammeReplanned& m) {
    RETURN_IF_ERROR(CheckId("programme_id", m.programme_id()));
    RETURN_IF_ERROR(Required("reason", m.reason()));
    if (m.planned_weeks() == 0 && m.senior_responsible_owner().empty() && m.board().empty() &&
        m.tranches().empty() && m.excluded_scope().empty() && !m.excludes_nothing()) {
      return Invalid(
          "a re-plan sets planned_weeks, senior_responsible_owner, board, tranches, "
          "excluded_scope (or excludes_nothing) or several");
    }
    if (m.excludes_nothing() && !m.excluded_scope().empty()) {
      return Invalid(
          "a re-plan gives excluded_scope (what the scope leaves out from now on) or "
          "excludes_nothing (it leaves out nothing), not both");
    }
    if (m.planned_weeks() != 0) RETURN_IF_ERROR(CheckPlannedWeeks(m.planned_weeks()));
    RETURN_IF_ERROR(CheckTranches(m.tranches()));
    RETURN_IF_ERROR(CheckExclusions(m.excluded_scope()));
    return ProgrammeStream(m.programme_id());
  }
  static absl::Status Rules(const S& s, const v1::ProgrammeReplanned& m, const v1::Event& e) {
    v1::WorkRef ref;
    ref.set_kind(v1::WORK_KIND_PROGRAMME);
    ref.set_id(m.programme_id());
    RETURN_IF_ERROR(
        RequireOpen(s, ref, "only a registered, open programme is re-planned", e));
    RETURN_IF_ERROR(RequireLengthReachesItsWeek(*s.FindWork(ref), m, e));
    RETURN_IF_ERROR(RequireExclusionsOutOfScope(s, m));
    // Each re-plan sets the plan from its effective time on: one dated before the last would
    // leave the plan as at any time after both unclear.
    return RequireEffectiveSince(Describe(ref), "was last re-planned",
                                 LastReplanMicros(*s.FindWork(ref)), e,
                                 "a programme's re-plans take effect in the order recorded "
                                 "(correct the later one first to record an earlier one)");
  }
  // Refuses a re-plan to a length that ends before the plan week it takes effect in: a plan
  // of 80 weeks made in week 92 (a mistyped 180, say) had ended before it was made, and every
  // week since would be past the plan. A re-plan that ends the programme early gives the week
  // it takes effect in, or a later one.
  static absl::Status RequireLengthReachesItsWeek(const WorkState& w,
                                                  const v1::ProgrammeReplanned& m,
                                                  const v1::Event& e) {
    const int64_t at = EffectiveMicrosOrUnknown(e);
    if (m.planned_weeks() == 0 || at == kUnknownTime) return absl::OkStatus();
    const int week = PlanWeekAt(w.programme, at);
    if (m.planned_weeks() >= week) return absl::OkStatus();
    return Refuse(Describe(w.ref),
                  absl::StrCat("is re-planned to ", m.planned_weeks(), " weeks effective ",
                               FormatRfc3339(at), ", in week ", week,
                               " of its plan: that plan would have ended before the re-plan "
                               "takes effect"),
                  "a re-plan's planned length reaches at least the plan week it takes effect "
                  "in");
  }
  // A scope title as exclusions are compared with it: lower case, runs of white space as one.
  static std::string ScopeTitleKey(absl::string_view title) {
    return absl::StrJoin(
        absl::StrSplit(absl::AsciiStrToLower(title), absl::ByAnyChar(" \t\n"), absl::SkipEmpty()),
        " ");
  }
  // An exclusion of programme `w`'s scope that names `title`: the one in effect at `micros`, or
  // else one a later re-plan sets (an item dated before that re-plan would be held in scope
  // when it took effect). Re-plans take effect in the order recorded.
  struct Exclusion {
    std::string text;               // as the plan words it; "" if none names the title
    int64_t micros = kUnknownTime;  // the re-plan's effective time; unknown for the one in effect
  };
  static Exclusion ExcludedAtOrAfter(const WorkState& w, int64_t micros, absl::string_view title) {
    const std::string key = ScopeTitleKey(title);
    const auto naming = [&](const google::protobuf::RepeatedPtrField<std::string>& excluded) {
      for (const std::string& x : excluded) {
        if (ScopeTitleKey(x) == key) return x;
      }
      return std::string();
    };
    const google::protobuf::RepeatedPtrField<std::string>* excluded =
        &(w.replans.empty() ? w.programme : w.as_registered).excluded_scope();
    size_t later = 0;
    for (; later < w.replans.size(); ++later) {
      const WorkState::Replan& r = w.replans[later];
      if (micros != kUnknownTime && r.micros != kUnknownTime && r.micros > micros) break;
      if (!r.replan.excluded_scope().empty()) excluded = &r.replan.excluded_scope();
      if (r.replan.excludes_nothing()) excluded = &kNoExclusions();
    }
    if (std::string x = naming(*excluded); !x.empty()) return {std::move(x), kUnknownTime};
    for (; later < w.replans.size(); ++later) {
      const WorkState::Replan& r = w.replans[later];
      if (std::string x = naming(r.replan.excluded_scope()); !x.empty()) {
        return {std::move(x), r.micros};
      }
    }
    return {};
  }
  // Refuses scope item `id` titled `title` coming into `owner`'s programme at `e`'s effective
  // time (added, or transferred in) when that programme's scope excludes the title then or
  // from a later re-plan on.
  static absl::Status RequireNotExcluded(const S& s, absl::string_view id, absl::string_view title,
                                         const v1::WorkRef& owner, absl::string_view coming,
                                         const v1::Event& e) {
    const WorkState* work = s.FindWork(owner);
    if (work == nullptr) return absl::OkStatus();
    const WorkState* programme = s.FindProgramme(work->programme_id);
    if (programme == nullptr) return absl::OkStatus();
    const Exclusion x = ExcludedAtOrAfter(*programme, EffectiveMicrosOrUnknown(e), title);
    if (x.text.empty()) return absl::OkStatus();
    if (x.micros == kUnknownTime) {
      return Refuse(absl::StrCat("scope item ", id),
                    absl::StrCat("is titled \"", title, "\", which programme ", work->programme_id,
                                 "'s scope excludes (\"", x.text, "\")"),
                    absl::StrCat("a scope item is not ", coming,
                                 " what its programme's scope excludes: re-plan the programme "
                                 "first to bring it in (excluded_scope without it, or "
                                 "excludes_nothing); an item that is another thing than the one "
                                 "excluded is titled for what it is"));
    }
    // Re-plans take effect in the order recorded, so a later one cannot make way for it: an
    // item held only before the exclusion is recorded as re-plans dated before the last are.
    return Refuse(
        absl::StrCat("scope item ", id),
        absl::StrCat("is titled \"", title, "\", which programme ", work->programme_id,
                     "'s scope excludes (\"", x.text, "\") from its re-plan effective ",
                     FormatRfc3339(x.micros),
                     ", after this event's effective time, so the item would be held in scope "
                     "when it was excluded"),
        absl::StrCat("a scope item is not ", coming,
                     " what its programme's scope excludes, then or later: date it on or after "
                     "a later re-plan that brings it back in, or, for an item the programme held "
                     "only before that exclusion, correct the excluding re-plan and every later "
                     "one first, latest first (CorrectionRecorded), record the item and its "
                     "removal or transfer, and record those re-plans again in date order"));
  }
  static const google::protobuf::RepeatedPtrField<std::string>& kNoExclusions() {
    static const auto* const kNone = new google::protobuf::RepeatedPtrField<std::string>();
    return *kNone;
  }
  // Refuses a re-plan that excludes what a scope item of the programme (or of its projects)
  // holds in scope: the scope would both exclude and hold it.
  static absl::Status RequireExclusionsOutOfScope(const S& s, const v1::ProgrammeReplanned& m) {
    for (const std::string& x : m.excluded_scope()) {
      const std::string key = ScopeTitleKey(x);
      // The least id of those that hold it, so that the refusal says the same every time.
      const std::string* held_by = nullptr;
      const ScopeItemState* holder = nullptr;
      for (const auto& [id, item] : s.scope_items_) {
        if (!item.in_scope || ScopeTitleKey(item.added.title()) != key) continue;
        const WorkState* owner = s.FindWork(item.owner);
        if (owner == nullptr || owner->programme_id != m.programme_id()) continue;
        if (held_by == nullptr || id < *held_by) {
          held_by = &id;
          holder = &item;
        }
      }
      if (held_by != nullptr) {
        return Refuse(absl::StrCat("programme ", m.programme_id()),
                      absl::StrCat("would exclude \"", x, "\", which scope item ", *held_by,
                                   " holds in its scope (", Describe(holder->owner), ")"),
                      "a programme's scope does not exclude what a scope item of it holds: "
                      "remove the item from scope first (ScopeItemRemoved), or name the "
                      "exclusion apart from it");
      }
    }
    return absl::OkStatus();
  }
  static int64_t LastReplanMicros(const WorkState& w) {
    return w.replans.empty() ? kUnknownTime : w.replans.back().micros;
  }
  static void Do(S& s, const v1::ProgrammeReplanned& m, const v1::Event& e) {
    v1::WorkRef ref;
    ref.set_kind(v1::WORK_KIND_PROGRAMME);
    ref.set_id(m.programme_id());
    WorkState* w = MutableWork(s, ref);
    if (w == nullptr) return;
    v1::ProgrammeRegistered& plan = w->programme;
    if (w->replans.empty()) w->as_registered = plan;
    w->replans.push_back({EffectiveMicrosOrUnknown(e), m});
    if (m.planned_weeks() != 0) plan.set_planned_weeks(m.planned_weeks());
    if (!m.senior_responsible_owner().empty()) {
      plan.set_senior_responsible_owner(m.senior_responsible_owner());
    }
    if (!m.board().empty()) plan.set_board(m.board());
    if (!m.tranches().empty()) *plan.mutable_tranches() = m.tranches();
    if (!m.excluded_scope().empty()) *plan.mutable_excluded_scope() = m.excluded_scope();
    if (m.excludes_nothing()) plan.clear_excluded_scope();
  }

  static absl::StatusOr<std::string> Shape(const v1::ProgrammeClosed& m) {
    RETURN_IF_ERROR(CheckId("programme_id", m.programme_id()));
    RETURN_IF_ERROR(Required("reason", m.reason()));
    return ProgrammeStream(m.programme_id());
  }
  static absl::Status Rules(const S& s, const v1::ProgrammeClosed& m,
                            const v1::Event& e) {
    v1::WorkRef ref;
    ref.set_kind(v1::WORK_KIND_PROGRAMME);
    ref.set_id(m.programme_id());
    RETURN_IF_ERROR(RequireOpen(s, ref, "only a registered, open programme can be closed", e,
                                /*before_closure=*/""));
    // Otherwise its open projects would go on with nothing they could record: no status, risk
    // or scope for a project of a closed programme.
    for (const WorkState* project : s.ProjectsOf(m.programme_id())) {
      if (project->closed) continue;
      return Refuse(absl::StrCat("programme ", m.programme_id()),
                    absl::StrCat("has project ", project->ref.id(), ", which is open"),
                    "a programme is closed after its projects: close each first");
    }
    // Otherwise a decision about it could be approved after it closed. The refusal names the
    // least stream of those pending, the same every time.
    const std::string* pending = nullptr;
    for (const auto& [stream, d] : s.decisions_) {
      if (d.proposed.programme_id() != m.programme_id() ||
          d.outcome != DecisionState::Outcome::kPending || d.approved()) {
        continue;
      }
      if (pending == nullptr || stream < *pending) pending = &stream;
    }
    if (pending != nullptr) {
      return Refuse(absl::StrCat("programme ", m.programme_id()),
                    absl::StrCat("is named by ", *pending, ", which is pending"),
                    "a programme is closed once the decisions naming it are approved, rejected "
                    "or withdrawn");
    }
    return RequireClosedAfterFacts(s, *s.FindWork(ref), e);
  }

  // The latest fact on `w` a closure must follow: its effective time and what it is.
  struct Fact {
    int64_t micros = kUnknownTime;
    std::string what;  // "its status report", "risk R1 (its latest change)", ...
    bool kinds = false;  // `what` names kinds of fact only (WorkState::last_micros's)
  };
  // Keeps the later of `*latest` and the fact at `micros` that `what` describes (made only when
  // it is not earlier). Of two at one time, one that names its fact over one that names only
  // kinds (a risk transferred in is both), then the one whose words sort first: the state's
  // maps are not iterated in one order, and a refusal says the same every time.
  static void KeepLater(Fact* latest, int64_t micros, absl::FunctionRef<std::string()> what,
                        bool kinds = false) {
    if (micros == kUnknownTime || (latest->micros != kUnknownTime && micros < latest->micros)) {
      return;
    }
    if (micros == latest->micros && kinds && !latest->kinds) return;
    std::string words = what();
    if (micros == latest->micros && kinds == latest->kinds && words >= latest->what) return;
    latest->micros = micros;
    latest->what = std::move(words);
    latest->kinds = kinds;
  }
  // The latest fact on `w`: its registration, its current status report and update, gates,
  // milestones, transfers in and (a programme's) project closures, benefit forecasts, the risks
  // it holds (their opening, re-ratings and transfers) and the scope items it owns (their
  // addition and transfers), the opening of those opened on it and passed on; for a programme,
  // also its latest re-plan, its projects' facts, and the proposals and signatures of the
  // pending decisions naming it. Not a realised benefit figure: one may be recorded for a
  // closed project, after its closure.
  static Fact LatestFactOn(const S& s, const WorkState& w) {
    Fact latest;
    KeepLater(&latest, w.opened_micros, [] { return "its registration"; });
    // (A project's closure counts too, for its programme's.)
    const bool closure = w.closed && w.closed_micros == w.last_micros;
    KeepLater(
        &latest, w.last_micros,
        [closure] {
          return closure ? "its closure"
                         : "a gate, milestone, or risk or scope item transferred to it";
        },
        /*kinds=*/!closure);
    if (w.has_status) KeepLater(&latest, w.status_micros, [] { return "its status report"; });
    if (w.has_update) KeepLater(&latest, w.update_micros, [] { return "its progress update"; });
    for (const auto& [id, b] : w.benefits) {
      if (b.has_forecast) {
        KeepLater(&latest, b.forecast_micros,
                  [&id = id] { return absl::StrCat("the forecast of benefit ", id); });
      }
    }
    auto is_w = [&w](const v1::WorkRef& ref) {
      return ref.kind() == w.ref.kind() && ref.id() == w.ref.id();
    };
    // A risk or scope item it holds counts with its latest change; one opened on it and passed
    // on since, with its opening (a closure before that would show a closed project taking a
    // new risk or scope).
    for (const auto& [id, r] : s.risks_) {
      if (is_w(r.subject)) {
        KeepLater(&latest, r.last_micros, [&id = id] {
          return absl::StrCat("risk ", id, " (its latest opening, re-rating or transfer)");
        });
      } else if (is_w(r.opened.subject())) {
        KeepLater(&latest, r.opened_micros, [&id = id] {
          return absl::StrCat("the opening of risk ", id, ", since transferred");
        });
      }
    }
    for (const auto& [id, item] : s.scope_items_) {
      if (is_w(item.owner)) {
        KeepLater(&latest, item.last_micros, [&id = id] {
          return absl::StrCat("scope item ", id, " (its latest addition or transfer)");
        });
      } else if (is_w(item.added.owner())) {
        KeepLater(&latest, item.added_micros, [&id = id] {
          return absl::StrCat("the addition of scope item ", id, ", since transferred");
        });
      }
    }
    if (w.ref.kind() == v1::WORK_KIND_PROGRAMME) {
      KeepLater(&latest, LastReplanMicros(w), [] { return "its latest re-plan"; });
      for (const auto& [stream, d] : s.decisions_) {
        // A rejected or withdrawn proposal binds nothing (one may record the closure itself).
        if (d.proposed.programme_id() == w.ref.id() &&
            d.outcome == DecisionState::Outcome::kPending) {
          const bool signature =
              d.signed_micros != kUnknownTime &&
              (d.proposed_micros == kUnknownTime || d.signed_micros > d.proposed_micros);
          KeepLater(
              &latest, Latest(d.proposed_micros, d.signed_micros), [&stream = stream, signature] {
                return absl::StrCat(signature ? "a signature of " : "the proposal of ", stream);
              });
        }
      }
      for (const auto& [stream, project] : s.work_) {
        if (project.ref.kind() == v1::WORK_KIND_PROJECT &&
            project.programme_id == w.ref.id()) {
          const Fact on_project = LatestFactOn(s, project);
          KeepLater(
              &latest, on_project.micros,
              [&] { return absl::StrCat("project ", project.ref.id(), ": ", on_project.what); },
              on_project.kinds);
        }
      }
    }
    return latest;
  }
  static absl::Status RequireClosedAfterFacts(const S& s, const WorkState& w,
                                              const v1::Event& e) {
    const Fact latest = LatestFactOn(s, w);
    return RequireEffectiveSince(
        Describe(w.ref), absl::StrCat("has a fact recorded (", latest.what, ")"), latest.micros, e,
        "a programme or project is closed no earlier than the latest fact on it (a status "
        "report, gate, milestone, benefit forecast, a risk or scope item it holds or that was "
        "opened on it; for a programme, also its re-plans, its projects' and the decisions "
        "naming it) takes effect");
  }
  static void Do(S& s, const v1::ProgrammeClosed& m, const v1::Event& e) {
    v1::WorkRef ref;
    ref.set_kind(v1::WORK_KIND_PROGRAMME);
    ref.set_id(m.programme_id());
    if (WorkState* w = MutableWork(s, ref)) {
      w->closed = true;
      w->closed_micros = EffectiveMicrosOrUnknown(e);
      w->closed_reason = m.reason();
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::ProjectRegistered& m) {
    RETURN_IF_ERROR(CheckId("project_id", m.project_id()));
    RETURN_IF_ERROR(CheckId("programme_id", m.programme_id()));
    RETURN_IF_ERROR(Required("name", m.name()));
    return ProjectStream(m.project_id());
  }
  static absl::Status Rules(const S& s, const v1::ProjectRegistered& m,
                            const v1::Event& e) {
    if (s.work_.contains(ProjectStream(m.project_id()))) {
      return Refuse(absl::StrCat("project ", m.project_id()),
                    "is already registered", "a project is registered once");
    }
    RETURN_IF_ERROR(RefuseCaseTwin(s, s.work_, ProjectStream(m.project_id()),
                                   absl::StrCat("project ", m.project_id()), ""));
    v1::WorkRef programme;
    programme.set_kind(v1::WORK_KIND_PROGRAMME);
    programme.set_id(m.programme_id());
    return RequireOpen(s, programme, "a project joins a registered, open programme", e,
                       kProjectDatedBeforeClosure);
  }
  static void Do(S& s, const v1::ProjectRegistered& m, const v1::Event& e) {
    const WorkState* programme = s.FindProgramme(m.programme_id());
    WorkState* w = s.Mutate(s.work_, ProjectStream(m.project_id()));
    w->opened_micros = EffectiveMicrosOrUnknown(e);
    w->ref.set_kind(v1::WORK_KIND_PROJECT);
    w->ref.set_id(m.project_id());
    w->programme_id = m.programme_id();
    if (programme != nullptr) w->organisation_id = programme->organisation_id;
    w->project = m;
  }

  static absl::StatusOr<std::string> Shape(const v1::ProjectClosed& m) {
    RETURN_IF_ERROR(CheckId("project_id", m.project_id()));
    std::string entity = absl::StrCat("project ", m.project_id());
    RETURN_IF_ERROR(
        NotNegative(entity, "final_cost_pence", m.final_cost_pence()));
    RETURN_IF_ERROR(NotNegative(entity, "annual_benefits_pence",
                                 m.annual_benefits_pence()));
    return ProjectStream(m.project_id());
  }
  static absl::Status Rules(const S& s, const v1::ProjectClosed& m,
                            const v1::Event& e) {
    v1::WorkRef ref;
    ref.set_kind(v1::WORK_KIND_PROJECT);
    ref.set_id(m.project_id());
    const WorkState* w = s.FindWork(ref);
    if (w == nullptr) {
      return Refuse(Describe(ref), "is not registered",
                    "only a registered project can be closed");
    }
    if (w->closed)
      return Refuse(Describe(ref), "is already closed",
                    "a project is closed once");
    RETURN_IF_ERROR(RequireEffectiveSince(Describe(ref), "was registered",
                                          w->opened_micros, e));
    return RequireClosedAfterFacts(s, *w, e);
  }
  static void Do(S& s, const v1::ProjectClosed& m, const v1::Event& e) {
    v1::WorkRef ref;
    ref.set_kind(v1::WORK_KIND_PROJECT);
    ref.set_id(m.project_id());
    if (WorkState* w = MutableWork(s, ref)) {
      w->closed = true;
      w->closed_micros = EffectiveMicrosOrUnknown(e);
      w->closure = m;
      w->closure_source = e.source();
      // Its programme closes no earlier (a programme is closed after its projects).
      w->last_micros = Latest(w->last_micros, EffectiveMicrosOrUnknown(e));
    }
  }

  // --- Status, gates, milestones, benefits. ---

  static absl::StatusOr<std::string> Shape(const v1::StatusReported& m) {
    absl::StatusOr<std::string> stream = WorkStream("subject", m.subject());
    if (!stream.ok()) return stream.status();
    if (!v1::Rag_IsValid(m.rag()))
      return Invalid(absl::StrCat("rag ", m.rag(), " is unknown"));
    if (!v1::DeliveryConfidence_IsValid(m.delivery_confidence())) {
      return Invalid(absl::StrCat("delivery_confidence ",
                                  m.delivery_confidence(), " is unknown"));
    }
    if (!Rated(m) && m.commentary().empty()) {
      return Invalid(
          "a status report sets rag, delivery_confidence or both; a report without a rating (a "
          "progress update) gives its commentary");
    }
    if (m.plan_week() == 0) {
      return Invalid(
          "plan_week (JSON planWeek) is 0 or left out: give the week of the "
          "programme's plan the report is for, from 1 (week 1 begins on the "
          "mobilisation date)");
    }
    if (m.plan_week() < 1) return Invalid("plan_week must be at least 1");
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::StatusReported& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireOpen(
        s, m.subject(),
        "status is reported only for a registered, open programme or project", e));
    RETURN_IF_ERROR(RequireWeekBegun(s, m, e));
    return RequireWeekInPlan(s, m);
  }
  // Refuses a report for a week past the longest plan the programme has had (its registration's
  // or any re-plan's): no question could name that week (as_at's programme week runs from 1 to
  // the longest plan recorded), though the report was stored (a clerk's trial: week 179 of a
  // 175-week plan). A programme that runs on is re-planned.
  static absl::Status RequireWeekInPlan(const S& s, const v1::StatusReported& m) {
    const WorkState* w = s.FindWork(m.subject());
    const WorkState* programme =
        w->ref.kind() == v1::WORK_KIND_PROGRAMME ? w : s.FindProgramme(w->programme_id);
    if (programme == nullptr) return absl::OkStatus();
    const v1::ProgrammeRegistered& plan = programme->programme;
    const int longest = LongestPlan(*programme);
    if (m.plan_week() <= longest) return absl::OkStatus();
    return Refuse(
        Describe(m.subject()),
        absl::StrCat("reports plan week ", m.plan_week(), ", past programme ", programme->ref.id(),
                     "'s longest plan recorded, ", longest, " weeks (its last week ended ",
                     FormatRfc3339(EndOfWeekMicros(plan, longest) + 1), ")"),
        "a status report is for a week of its programme's plan: a programme that runs past "
        "its plan is re-planned first (ProgrammeReplanned with planned_weeks reaching the "
        "week), and its weeks can then be asked about");
  }
  // Refuses a report for a plan week that had not begun by the report's effective time (a
  // day's grace for time zones): week 5,000 of a plan in its fifth week, or any week before
  // mobilisation. A report for an earlier week (keyed in late) is history, and stands.
  static absl::Status RequireWeekBegun(const S& s, const v1::StatusReported& m,
                                       const v1::Event& e) {
    const int64_t at = EffectiveMicrosOrUnknown(e);
    if (at == kUnknownTime) return absl::OkStatus();
    const WorkState* w = s.FindWork(m.subject());
    const WorkState* programme =
        w->ref.kind() == v1::WORK_KIND_PROGRAMME ? w : s.FindProgramme(w->programme_id);
    if (programme == nullptr) return absl::OkStatus();
    const v1::ProgrammeRegistered& plan = programme->programme;
    const int64_t grace = at > std::numeric_limits<int64_t>::max() - kMicrosPerDay
                              ? std::numeric_limits<int64_t>::max()
                              : at + kMicrosPerDay;
    const int begun = PlanWeekAt(plan, grace);
    if (m.plan_week() <= begun) return absl::OkStatus();
    return Refuse(
        Describe(m.subject()),
        absl::StrCat("reports plan week ", m.plan_week(), " effective ", FormatRfc3339(at),
                     begun == 0 ? absl::StrCat(", before programme ", programme->ref.id(),
                                               " mobilised (", FormatDate(
                                                   plan.mobilisation_date()), ")")
                                : absl::StrCat(", in week ", PlanWeekAt(plan, at),
                                               " of programme ", programme->ref.id(),
                                               "'s plan (week 1 began ",
                                               FormatDate(plan.mobilisation_date()), ")")),
        "a status report is for a plan week that has begun by its effective time (a day's "
        "grace for time zones)");
  }
  static bool Rated(const v1::StatusReported& m) {
    return m.rag() != v1::RAG_UNSPECIFIED ||
           m.delivery_confidence() != v1::DELIVERY_CONFIDENCE_UNSPECIFIED;
  }
  static void Do(S& s, const v1::StatusReported& m, const v1::Event& e) {
    // The hot path: journal only the previous report (moved, not copied), not
    // the whole WorkState. The node's address is stable, and any undo that
    // erases it runs after this one.
    absl::StatusOr<std::string> stream = WorkStream("subject", m.subject());
    if (!stream.ok()) return;
    auto it = s.work_.find(*stream);
    if (it == s.work_.end()) return;
    WorkState* w = &it->second;
    if (m.plan_week() > w->max_reported_week) {
      int* highest = &w->max_reported_week;
      if (s.journal_ != nullptr) s.journal_->Push([highest, was = *highest] { *highest = was; });
      *highest = m.plan_week();
    }
    // A rated report is the current status; one without a rating the latest update.
    const bool rated = Rated(m);
    bool* has = rated ? &w->has_status : &w->has_update;
    v1::StatusReported* last = rated ? &w->last_status : &w->last_update;
    int64_t* micros = rated ? &w->status_micros : &w->update_micros;
    std::string* source = rated ? &w->status_source : &w->update_source;
    const int64_t at = EffectiveMicrosOrUnknown(e);
    // A report for an earlier time is history only: the current one stays.
    if (*has && !Supersedes(*micros, at)) return;
    if (s.journal_ != nullptr) {
      auto old = std::make_shared<v1::StatusReported>();
      old->Swap(last);
      s.journal_->Push([has, last, micros, source, old, had = *has, was = *micros,
                        was_source = std::move(*source)]() mutable {
        last->Swap(old.get());
        *has = had;
        *micros = was;
        *source = std::move(was_source);
      });
    }
    *has = true;
    *last = m;
    *micros = at;
    *source = e.source();
  }

  static absl::StatusOr<std::string> Shape(const v1::GatePassed& m) {
    absl::StatusOr<std::string> stream = WorkStream("subject", m.subject());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(Required("gate", m.gate()));
    // A gate is passed once: a name that looks like another ("Gаte 3" with a Cyrillic "а")
    // would pass it again. (Whole names alike, and invisible characters, are LookAlike's.)
    RETURN_IF_ERROR(CheckOneScript("gate", m.gate(), FindLookAlikes(m.gate())));
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::GatePassed& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireOpen(
        s, m.subject(),
        "gates are passed only by a registered, open programme or project", e));
    const WorkState* w = s.FindWork(m.subject());
    for (const std::string& passed : w->gates_passed) {
      if (!LookAlike(passed, m.gate())) continue;
      return Refuse(Describe(m.subject()),
                    absl::StrCat("has already passed ", m.gate(),
                                 passed == m.gate() ? "" : absl::StrCat(" (as '", passed, "')")),
                    "a gate is passed once (names that differ only in letter case, accents, "
                    "punctuation, spacing or letters that look alike are one gate)");
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::GatePassed& m, const v1::Event& e) {
    if (WorkState* w = MutableWork(s, m.subject())) {
      w->gates_passed.push_back(m.gate());
      w->last_micros = Latest(w->last_micros, EffectiveMicrosOrUnknown(e));
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::MilestoneReached& m) {
    absl::StatusOr<std::string> stream = WorkStream("subject", m.subject());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(Required("milestone", m.milestone()));
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::MilestoneReached& m,
                            const v1::Event& e) {
    return RequireOpen(s, m.subject(),
                       "milestones are reached only by a registered, open "
                       "programme or project", e);
  }
  static void Do(S& s, const v1::MilestoneReached& m, const v1::Event& e) {
    if (WorkState* w = MutableWork(s, m.subject())) {
      w->milestones.push_back(m.milestone());
      w->last_micros = Latest(w->last_micros, EffectiveMicrosOrUnknown(e));
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::BenefitForecast& m) {
    absl::StatusOr<std::string> stream = WorkStream("subject", m.subject());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(Required("benefit_id", m.benefit_id()));
    RETURN_IF_ERROR(CheckName("benefit_id", m.benefit_id()));
    RETURN_IF_ERROR(
        NotNegative(Describe(m.subject()), "annual_pence", m.annual_pence()));
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::BenefitForecast& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireOpen(s, m.subject(),
                                "benefits are forecast only for a registered, open "
                                "programme or project",
                                e));
    return RequireBenefitSpelledOneWay(s, m.subject(), m.benefit_id());
  }
  // A benefit of `subject` is named one way: "Annual savings" beside "annual-savings" would
  // be two benefits and add the same savings twice to the totals.
  static absl::Status RequireBenefitSpelledOneWay(const S& s, const v1::WorkRef& subject,
                                                  const std::string& id) {
    const WorkState* w = s.FindWork(subject);
    if (w == nullptr || w->benefits.contains(id)) return absl::OkStatus();
    // Compared as names are (LookAlike), and without the separators an id may use between its
    // words: "annual_savings", "annual.savings" and "annualsavings" are "annual-savings".
    auto joined = [](absl::string_view text) {
      std::string out;
      for (char c : text) {
        if (c != ' ' && c != '-' && c != '_' && c != '.' && c != ':' && c != '/') out += c;
      }
      return out;
    };
    const std::string id_joined = joined(id);
    for (const auto& [known, unused] : w->benefits) {
      if (LookAlike(known, id) || LookAlike(joined(known), id_joined)) {
        return Refuse(
            Describe(subject),
            absl::StrCat("names benefit '", id, "', which looks like its benefit '", known, "'"),
            absl::StrCat("a benefit's id is written one way (ids that differ only in "
                         "letter case, accents, spacing, separators or look-alike letters are one "
                         "benefit): use '",
                         known, "'"));
      }
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::BenefitForecast& m, const v1::Event& e) {
    if (WorkState* w = MutableWork(s, m.subject())) {
      BenefitState& b = w->benefits[m.benefit_id()];
      const int64_t at = EffectiveMicrosOrUnknown(e);
      TakeDescription(b, m.description(), at);
      if (b.has_forecast && !Supersedes(b.forecast_micros, at)) return;
      b.has_forecast = true;
      b.forecast_has_amount = m.has_annual_pence();
      b.forecast_annual_pence = m.annual_pence();
      b.forecast_micros = at;
      b.forecast_source = e.source();
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::BenefitRealised& m) {
    absl::StatusOr<std::string> stream = WorkStream("subject", m.subject());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(Required("benefit_id", m.benefit_id()));
    RETURN_IF_ERROR(CheckName("benefit_id", m.benefit_id()));
    RETURN_IF_ERROR(
        NotNegative(Describe(m.subject()), "annual_pence", m.annual_pence()));
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::BenefitRealised& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireRegistered(
        s, m.subject(), "benefits are realised only by a registered programme or project", e));
    return RequireBenefitSpelledOneWay(s, m.subject(), m.benefit_id());
  }
  static void Do(S& s, const v1::BenefitRealised& m, const v1::Event& e) {
    if (WorkState* w = MutableWork(s, m.subject())) {
      BenefitState& b = w->benefits[m.benefit_id()];
      const int64_t at = EffectiveMicrosOrUnknown(e);
      TakeDescription(b, m.description(), at);
      if (b.has_realised && !Supersedes(b.realised_micros, at)) return;
      b.has_realised = true;
      b.realised_has_amount = m.has_annual_pence();
      b.realised_annual_pence = m.annual_pence();
      b.realised_micros = at;
      b.realised_source = e.source();
    }
  }

  // --- Risks. ---

  // A risk's rating: RAG_GREEN, RAG_AMBER or RAG_RED; at its opening also RAG_UNSPECIFIED,
  // "not rated" (a paper can list a risk without rating it), when `unrated_allowed`.
  static absl::Status CheckRating(const v1::Rag rating, bool unrated_allowed) {
    if (!v1::Rag_IsValid(rating)) {
      return Invalid(absl::StrCat("rating ", rating,
                                  " is unknown: give RAG_GREEN, RAG_AMBER or RAG_RED",
                                  unrated_allowed ? ", or leave it unset for a risk not rated" : ""));
    }
    if (rating == v1::RAG_UNSPECIFIED && !unrated_allowed) {
      return Invalid("a re-rating gives the rating: RAG_GREEN, RAG_AMBER or RAG_RED");
    }
    return absl::OkStatus();
  }

  // `before_closure`: as RequireOpen's.
  static absl::Status RequireOpenRisk(const S& s, absl::string_view risk_id, absl::string_view rule,
                                      const v1::Event& e,
                                      absl::string_view before_closure = kDatedBeforeClosure) {
    std::string entity = absl::StrCat("risk ", risk_id);
    auto it = s.risks_.find(risk_id);
    if (it == s.risks_.end())
      return Refuse(entity, "has not been opened", rule);
    if (!it->second.open) {
      return Refuse(entity, "is closed", rule,
                    ClosureRemedy(before_closure, it->second.closed_micros, e));
    }
    return RequireEffectiveSince(entity, "was opened",
                                 it->second.opened_micros, e);
  }

  // A closure or transfer of risk `risk_id` (open, RequireOpenRisk) is effective no
  // earlier than its latest opening, re-rating or transfer.
  static absl::Status RequireLatestForRisk(const S& s, absl::string_view risk_id,
                                           const v1::Event& e) {
    return RequireEffectiveSince(
        absl::StrCat("risk ", risk_id), "has an opening, re-rating or transfer",
        s.risks_.find(risk_id)->second.last_micros, e,
        "a risk is closed or transferred no earlier than its latest opening, "
        "re-rating or transfer takes effect");
  }

  static absl::StatusOr<std::string> Shape(const v1::RiskOpened& m) {
    RETURN_IF_ERROR(CheckId("risk_id", m.risk_id()));
    RETURN_IF_ERROR(WorkStream("subject", m.subject()).status());
    RETURN_IF_ERROR(Required("title", m.title()));
    RETURN_IF_ERROR(Required("description", m.description()));
    RETURN_IF_ERROR(CheckRating(m.rating(), /*unrated_allowed=*/true));
    return RiskStream(m.risk_id());
  }
  static absl::Status Rules(const S& s, const v1::RiskOpened& m,
                            const v1::Event& e) {
    if (s.risks_.contains(m.risk_id())) {
      return Refuse(absl::StrCat("risk ", m.risk_id()),
                    "has already been opened", "a risk id is used once");
    }
    RETURN_IF_ERROR(
        RefuseCaseTwin(s, s.risks_, m.risk_id(), absl::StrCat("risk ", m.risk_id()), "risk"));
    return RequireOpen(s, m.subject(),
                       "risks are opened only against a registered, open "
                       "programme or project", e);
  }
  static void Do(S& s, const v1::RiskOpened& m, const v1::Event& e) {
    RiskState* r = s.Mutate(s.risks_, m.risk_id());
    *r = RiskState();  // a new incarnation: nothing of an earlier one carries over
    r->opened_position = e.position();
    r->opened_micros = EffectiveMicrosOrUnknown(e);
    r->opened = m;
    r->subject = m.subject();
    r->earlier_subjects.clear();
    r->rating = m.rating();
    r->rating_micros = r->opened_micros;
    r->rating_source = e.source();
    r->last_micros = r->opened_micros;
    r->open = true;
  }

  static absl::StatusOr<std::string> Shape(const v1::RiskRerated& m) {
    RETURN_IF_ERROR(CheckId("risk_id", m.risk_id()));
    RETURN_IF_ERROR(CheckRating(m.rating(), /*unrated_allowed=*/false));
    return RiskStream(m.risk_id());
  }
  static absl::Status Rules(const S& s, const v1::RiskRerated& m, const v1::Event& e) {
    // A closed project takes no new risk: nor a change of one it still holds (which would
    // change its closed register's counts). Closing or passing the risk on is what is left.
    // Said first: for a risk closed too, voiding its closure (RequireOpenRisk's remedy) would
    // not let a re-rating in.
    const std::string entity = absl::StrCat("risk ", m.risk_id());
    if (auto held = s.risks_.find(m.risk_id()); held != s.risks_.end()) {
      int64_t closed_micros = kUnknownTime;
      if (const std::string closed = ClosedRegister(s, held->second.subject, &closed_micros);
          !closed.empty()) {
        // A fact dated after the risk's own closure, though before its holder's, is after a
        // closure too (kUnknownTime, the least, leaves it unknown).
        if (!held->second.open) closed_micros = std::min(closed_micros, held->second.closed_micros);
        return Refuse(
            entity, absl::StrCat("is held by ", closed, held->second.open ? "" : ", and is closed"),
            "a risk of a closed programme or project is closed or transferred, not "
            "re-rated",
            ClosureRemedy(kDatedBeforeClosure, closed_micros, e));
      }
    }
    RETURN_IF_ERROR(RequireOpenRisk(s, m.risk_id(), "only an open risk can be re-rated", e));
    const RiskState& r = s.risks_.find(m.risk_id())->second;
    // Nor dated back into the time a closed holder had it.
    for (const v1::WorkRef& earlier : r.earlier_subjects) {
      if (const std::string closed = ClosedRegister(s, earlier); !closed.empty()) {
        return RequireEffectiveSince(
            entity,
            absl::StrCat("was held by ", closed, ", and has an opening, re-rating or transfer"),
            r.last_micros, e,
            "a re-rating of a risk a closed programme or project once held takes effect no "
            "earlier than the risk's latest opening, re-rating or transfer (dated earlier, it "
            "could change that closed register)");
      }
    }
    return absl::OkStatus();
  }
  // "project P, which is closed" or "project P, of closed programme Q" when the register of
  // `ref` is closed, and that closure's effective time to `closed_micros` if given; "" when it
  // is open (or unknown).
  static std::string ClosedRegister(const S& s, const v1::WorkRef& ref,
                                    int64_t* closed_micros = nullptr) {
    const WorkState* holder = s.FindWork(ref);
    if (holder == nullptr) return "";
    const WorkState* programme = s.FindProgramme(holder->programme_id);
    const WorkState* closed = holder->closed                              ? holder
                              : programme != nullptr && programme->closed ? programme
                                                                          : nullptr;
    if (closed == nullptr) return "";
    if (closed_micros != nullptr) *closed_micros = closed->closed_micros;
    return closed == holder
               ? absl::StrCat(Describe(ref), ", which is closed")
               : absl::StrCat(Describe(ref), ", of closed programme ", programme->ref.id());
  }
  static void Do(S& s, const v1::RiskRerated& m, const v1::Event& e) {
    RiskState* r = ActedOn(s, s.risks_, m.risk_id(), e);
    if (r == nullptr) return;
    const int64_t at = EffectiveMicrosOrUnknown(e);
    r->last_micros = Latest(r->last_micros, at);
    // A re-rating for an earlier time is history only: the rating stays.
    if (Supersedes(r->rating_micros, at)) {
      r->rating = m.rating();
      r->rating_micros = at;
      r->rating_source = e.source();
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::RiskClosed& m) {
    RETURN_IF_ERROR(CheckId("risk_id", m.risk_id()));
    RETURN_IF_ERROR(Required("reason", m.reason()));
    return RiskStream(m.risk_id());
  }
  static absl::Status Rules(const S& s, const v1::RiskClosed& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireOpenRisk(s, m.risk_id(), "only an open risk can be closed", e,
                                    /*before_closure=*/""));
    return RequireLatestForRisk(s, m.risk_id(), e);
  }
  static void Do(S& s, const v1::RiskClosed& m, const v1::Event& e) {
    RiskState* r = ActedOn(s, s.risks_, m.risk_id(), e);
    if (r == nullptr) return;
    r->open = false;
    r->closed_micros = EffectiveMicrosOrUnknown(e);
    r->closed_reason = m.reason();
    r->closed_source = e.source();
  }

  static absl::StatusOr<std::string> Shape(const v1::RiskTransferred& m) {
    RETURN_IF_ERROR(CheckId("risk_id", m.risk_id()));
    RETURN_IF_ERROR(WorkStream("to", m.to()).status());
    return RiskStream(m.risk_id());
  }
  static absl::Status Rules(const S& s, const v1::RiskTransferred& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireOpenRisk(s, m.risk_id(),
                                     "only an open risk can be transferred", e));
    RETURN_IF_ERROR(RequireLatestForRisk(s, m.risk_id(), e));
    if (SameRef(s.risks_.find(m.risk_id())->second.subject, m.to())) {
      return Refuse(absl::StrCat("risk ", m.risk_id()),
                    absl::StrCat("already belongs to ", Describe(m.to())),
                    "a risk is transferred to another programme or project");
    }
    RETURN_IF_ERROR(RequireOpen(
        s, m.to(), "a risk is transferred only to an existing, open programme or project", e));
    return RequireOneFamily(s, absl::StrCat("risk ", m.risk_id()),
                            s.risks_.find(m.risk_id())->second.subject, m.to(), "a risk", e);
  }
  static void Do(S& s, const v1::RiskTransferred& m, const v1::Event& e) {
    if (RiskState* r = ActedOn(s, s.risks_, m.risk_id(), e)) {
      PassOn(s, m.to(), r->rating, r->rating_source, e, &r->subject, &r->earlier_subjects,
             &r->departures);
      r->subject_source = e.source();
      r->last_micros = Latest(r->last_micros, EffectiveMicrosOrUnknown(e));
      Received(s, m.to(), e);
    }
  }
  // A risk or scope item passed to `to` is a fact on it, which its closure may not precede
  // even once the item has been passed on again (WorkState::last_micros).
  static void Received(S& s, const v1::WorkRef& to, const v1::Event& e) {
    const int64_t at = EffectiveMicrosOrUnknown(e);
    if (at == kUnknownTime) return;
    if (WorkState* w = MutableWork(s, to)) w->last_micros = Latest(w->last_micros, at);
  }

  // --- Scope items. ---

  static absl::Status RequireOwner(const S& s, absl::string_view item_id,
                                   const v1::WorkRef& from,
                                   absl::string_view action,
                                   const v1::Event& e) {
    std::string entity = absl::StrCat("scope item ", item_id);
    auto it = s.scope_items_.find(item_id);
    if (it == s.scope_items_.end()) {
      return Refuse(entity, "has not been added",
                    absl::StrCat("only a scope item in scope can be ", action));
    }
    if (!it->second.in_scope) {
      return Refuse(entity, "has been removed from scope",
                    absl::StrCat("only a scope item in scope can be ", action));
    }
    if (!SameRef(it->second.owner, from)) {
      return Refuse(
          entity,
          absl::StrCat("belongs to ", Describe(it->second.owner), ", not ",
                       Describe(from)),
          absl::StrCat("only the current owner's scope item can be ", action));
    }
    RETURN_IF_ERROR(RequireEffectiveSince(entity, "was added", it->second.added_micros, e));
    return RequireEffectiveSince(
        entity, "has an addition or transfer", it->second.last_micros, e,
        absl::StrCat("a scope item is ", action,
                     " no earlier than its latest addition or transfer takes effect"));
  }

  static absl::StatusOr<std::string> Shape(const v1::ScopeItemAdded& m) {
    RETURN_IF_ERROR(CheckId("scope_item_id", m.scope_item_id()));
    RETURN_IF_ERROR(WorkStream("owner", m.owner()).status());
    RETURN_IF_ERROR(Required("title", m.title()));
    RETURN_IF_ERROR(CheckApproval("approval", m.approval()));
    return ScopeStream(m.scope_item_id());
  }
  static absl::Status Rules(const S& s, const v1::ScopeItemAdded& m,
                            const v1::Event& e) {
    std::string entity = absl::StrCat("scope item ", m.scope_item_id());
    if (s.scope_items_.contains(m.scope_item_id())) {
      return Refuse(entity, "has already been added",
                    "a scope item id is used once");
    }
    RETURN_IF_ERROR(RefuseCaseTwin(s, s.scope_items_, m.scope_item_id(), entity, "scope item"));
    RETURN_IF_ERROR(RequireOpen(
        s, m.owner(),
        "scope is added only to a registered, open programme or project", e));
    // What the programme's scope excludes, as registered or re-planned then or later, is not
    // added to it.
    RETURN_IF_ERROR(RequireNotExcluded(s, m.scope_item_id(), m.title(), m.owner(), "added to", e));
    return RequireApproval(s, m.approval(), entity, {&m.owner()}, e);
  }
  static void Do(S& s, const v1::ScopeItemAdded& m, const v1::Event& e) {
    ScopeItemState* item = s.Mutate(s.scope_items_, m.scope_item_id());
    *item = ScopeItemState();  // a new incarnation
    item->added_position = e.position();
    item->added_micros = EffectiveMicrosOrUnknown(e);
    item->added = m;
    item->owner = m.owner();
    item->earlier_owners.clear();
    item->in_scope = true;
    item->last_micros = item->added_micros;
  }

  static absl::StatusOr<std::string> Shape(const v1::ScopeItemRemoved& m) {
    RETURN_IF_ERROR(CheckId("scope_item_id", m.scope_item_id()));
    RETURN_IF_ERROR(WorkStream("from", m.from()).status());
    RETURN_IF_ERROR(CheckApproval("approval", m.approval()));
    return ScopeStream(m.scope_item_id());
  }
  static absl::Status Rules(const S& s, const v1::ScopeItemRemoved& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequireOwner(s, m.scope_item_id(), m.from(), "removed", e));
    return RequireApproval(s, m.approval(),
                           absl::StrCat("scope item ", m.scope_item_id()),
                           {&m.from()}, e);
  }
  // A replay applies a removal or transfer only from the item's owner (the
  // rules require it on append): a correction voiding an earlier transfer
  // leaves a later one "from" a programme that never held the item.
  static ScopeItemState* ActedOnByOwner(S& s, const std::string& item_id,
                                        const v1::WorkRef& from, const v1::Event& e) {
    auto it = s.scope_items_.find(item_id);
    if (it == s.scope_items_.end() || !SameRef(it->second.owner, from)) return nullptr;
    return ActedOn(s, s.scope_items_, item_id, e);
  }
  static void Do(S& s, const v1::ScopeItemRemoved& m, const v1::Event& e) {
    if (ScopeItemState* item = ActedOnByOwner(s, m.scope_item_id(), m.from(), e)) {
      item->in_scope = false;
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::ScopeItemTransferred& m) {
    RETURN_IF_ERROR(CheckId("scope_item_id", m.scope_item_id()));
    RETURN_IF_ERROR(WorkStream("from", m.from()).status());
    RETURN_IF_ERROR(WorkStream("to", m.to()).status());
    RETURN_IF_ERROR(CheckApproval("approval", m.approval()));
    return ScopeStream(m.scope_item_id());
  }
  static absl::Status Rules(const S& s, const v1::ScopeItemTransferred& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(
        RequireOwner(s, m.scope_item_id(), m.from(), "transferred", e));
    if (SameRef(m.from(), m.to())) {  // from is the current owner
      return Refuse(absl::StrCat("scope item ", m.scope_item_id()),
                    absl::StrCat("already belongs to ", Describe(m.to())),
                    "a scope item is transferred to another programme or "
                    "project");
    }
    RETURN_IF_ERROR(RequireOpen(
        s, m.to(),
        "scope is transferred only to an existing, open programme or project", e));
    RETURN_IF_ERROR(RequireOneFamily(s, absl::StrCat("scope item ", m.scope_item_id()), m.from(),
                                     m.to(), "a scope item", e));
    // Only into another programme: a move between a programme's own projects changes nothing
    // its scope holds.
    const WorkState* from = s.FindWork(m.from());
    const WorkState* to = s.FindWork(m.to());
    if (const auto item = s.scope_items_.find(m.scope_item_id());
        item != s.scope_items_.end() && from != nullptr && to != nullptr &&
        from->programme_id != to->programme_id) {
      RETURN_IF_ERROR(RequireNotExcluded(s, m.scope_item_id(), item->second.added.title(), m.to(),
                                         "transferred into", e));
    }
    // Either side's organisation may approve a transfer: seed 000's services
    // left the programme on its own board's decision.
    return RequireApproval(s, m.approval(),
                           absl::StrCat("scope item ", m.scope_item_id()),
                           {&m.from(), &m.to()}, e);
  }
  static void Do(S& s, const v1::ScopeItemTransferred& m, const v1::Event& e) {
    if (ScopeItemState* item = ActedOnByOwner(s, m.scope_item_id(), m.from(), e)) {
      PassOn(s, m.to(), v1::RAG_UNSPECIFIED, "", e, &item->owner, &item->earlier_owners,
             &item->departures);
      item->last_micros = Latest(item->last_micros, EffectiveMicrosOrUnknown(e));
      Received(s, m.to(), e);
    }
  }

  // --- Decisions. ---

  static absl::StatusOr<std::string> DecisionShape(absl::string_view org,
                                                   absl::string_view ref) {
    RETURN_IF_ERROR(CheckId("organisation_id", org));
    RETURN_IF_ERROR(CheckReference(ref));
    return DecisionStream(org, ref);
  }

  static absl::StatusOr<std::string> Shape(const v1::DecisionProposed& m) {
    absl::StatusOr<std::string> stream =
        DecisionShape(m.organisation_id(), m.reference());
    if (!stream.ok()) return stream.status();
    std::string entity =
        absl::StrCat("decision ", m.organisation_id(), "/", m.reference());
    RETURN_IF_ERROR(Required("title", m.title()));
    if (m.required_signatory_roles().empty()) {
      return Invalid(absl::StrCat(
          entity, ": at least one required signatory role is needed"));
    }
    RETURN_IF_ERROR(CheckRoles(entity, "required_signatory_roles",
                               m.required_signatory_roles()));
    int64_t total = 0;
    for (const v1::DecisionAmount& a : m.amounts()) {
      if (a.kind() == v1::AMOUNT_KIND_UNSPECIFIED ||
          !v1::AmountKind_IsValid(a.kind())) {
        return Invalid(absl::StrCat(
            entity, ": an amount's kind must be CAPITAL, REVENUE or ONE_OFF"));
      }
      RETURN_IF_ERROR(NotNegative(entity, "an amount", a.pence()));
      if (a.pence() == 0) {
        // Proto3 cannot tell 0 from a figure left out: a sum of nothing is refused rather than
        // shown as £0.00 approved.
        return Refuse(entity, "has an amount of 0 pence",
                      "a decision's amount states its sum, more than 0 pence: give the figure, "
                      "or leave the amount out (a decision may have none)");
      }
      RETURN_IF_ERROR(
          Required("an amount's funding_source", a.funding_source()));
      if (a.pence() > std::numeric_limits<int64_t>::max() - total) {
        return Invalid(
            absl::StrCat(entity, ": the amounts' total overflows 64 bits"));
      }
      total += a.pence();
    }
    RETURN_IF_ERROR(CheckOptionalDate("part1_deferred_until", m.has_part1_deferred_until(),
                                      m.part1_deferred_until()));
    RETURN_IF_ERROR(CheckOptionalDate("part2.publication_deferred_until",
                                      m.part2().has_publication_deferred_until(),
                                      m.part2().publication_deferred_until()));
    // A Part 2 is its text and the reason it is confidential: the register says a decision
    // has one, and why, from these (a clerk's trial: a reason alone showed as a Part 2, a date
    // alone showed nowhere). One whose text this ledger is not to hold says so in its text.
    if (const v1::ConfidentialPart& part2 = m.part2(); !part2.text().empty() ||
                                                       !part2.reason().empty() ||
                                                       part2.has_publication_deferred_until()) {
      if (IsBlank(part2.text())) {
        return Invalid(absl::StrCat(
            entity, ": a Part 2 needs its text (part2.text ",
            part2.text().empty() ? "is empty"
                                 : absl::StrCat("holds only ", BlankText(part2.text())),
            "): what is confidential, or, when this ledger is not to hold it, where it is "
            "held; or leave part2 out if the decision has none"));
      }
      if (IsBlank(part2.reason())) {
        return Invalid(absl::StrCat(entity, ": a Part 2 needs the reason it is confidential"));
      }
    }
    if (!m.programme_id().empty())
      RETURN_IF_ERROR(CheckId("programme_id", m.programme_id()));
    RETURN_IF_ERROR(CheckStatements("originating_officer_declarations",
                                    m.originating_officer_declarations(),
                                    /*statement_required=*/true));
    RETURN_IF_ERROR(CheckStatements("officer_approvals", m.officer_approvals(),
                                    /*statement_required=*/false));
    RETURN_IF_ERROR(CheckDelegatedAuthorities(entity, m.delegated_authorities()));
    if (m.has_referred_under()) {
      RETURN_IF_ERROR(CheckReference(m.referred_under().reference()));
      RETURN_IF_ERROR(CheckId("referred_under.delegation_id",
                              m.referred_under().delegation_id()));
    }
    return stream;
  }
  // For a refusal over a role `roles` lacks: ", though it lists 'X', which differs only in
  // letter case, accents, punctuation, spacing or look-alike letters" when `roles` holds such a
  // spelling of `role` (LookAlike), else "". Roles are compared exactly, so the near miss is
  // what the reader must see.
  static std::string NearMissRole(absl::string_view role,
                                  const google::protobuf::RepeatedPtrField<std::string>& roles) {
    for (const std::string& listed : roles) {
      if (listed != role && LookAlike(listed, role)) {
        return absl::StrCat(
            ", though it lists '", listed,
            "', which differs only in letter case, accents, punctuation, spacing or "
            "look-alike letters (roles are compared exactly: spell them alike)");
      }
    }
    return "";
  }
  // Roles: none empty, none twice. `what` names the list in a refusal.
  static absl::Status CheckRoles(absl::string_view entity, absl::string_view what,
                                 const google::protobuf::RepeatedPtrField<std::string>& roles) {
    for (int i = 0; i < roles.size(); ++i) {
      const std::string& role = roles[i];
      if (role.empty()) return Invalid(absl::StrCat(entity, ": a role in ", what, " is empty"));
      RETURN_IF_ERROR(CheckName(absl::StrCat(entity, ": a role in ", what), role));
      // "Chair" and "chair" would be two roles to sign for, one of them held by nobody.
      for (int j = 0; j < i; ++j) {
        if (LookAlike(roles[j], role)) {
          return Invalid(absl::StrCat(entity, ": role '", role, "' appears twice in ", what,
                                      " (roles that differ only in letter case, accents, "
                                      "punctuation, spacing or look-alike letters are one role)"));
        }
      }
    }
    return absl::OkStatus();
  }
  static absl::Status CheckDelegatedAuthorities(
      absl::string_view entity,
      const google::protobuf::RepeatedPtrField<v1::DelegatedAuthority>& list) {
    absl::flat_hash_set<absl::string_view> ids;
    for (int i = 0; i < list.size(); ++i) {
      const v1::DelegatedAuthority& a = list[i];
      const std::string name = absl::StrCat("delegated_authorities[", i, "]");
      RETURN_IF_ERROR(CheckId(absl::StrCat(name, ".delegation_id"), a.delegation_id()));
      if (!ids.insert(a.delegation_id()).second) {
        return Invalid(absl::StrCat(entity, ": delegation_id '", a.delegation_id(),
                                    "' appears twice"));
      }
      if (a.delegate_roles().empty()) {
        return Invalid(absl::StrCat(entity, ": ", name, " needs at least one delegate role"));
      }
      RETURN_IF_ERROR(CheckRoles(entity, absl::StrCat(name, ".delegate_roles"),
                                 a.delegate_roles()));
      RETURN_IF_ERROR(Required(absl::StrCat(name, ".scope"), a.scope()));
      if (a.referral_condition().empty() != a.referral_roles().empty()) {
        return Invalid(absl::StrCat(
            entity, ": ", name,
            " needs both a referral_condition and the referral_roles that approve what it "
            "refers back, or neither"));
      }
      RETURN_IF_ERROR(CheckRoles(entity, absl::StrCat(name, ".referral_roles"),
                                 a.referral_roles()));
    }
    return absl::OkStatus();
  }
  static absl::Status CheckStatements(
      absl::string_view field,
      const google::protobuf::RepeatedPtrField<v1::OfficerStatement>& list,
      bool statement_required) {
    for (int i = 0; i < list.size(); ++i) {
      const std::string name = absl::StrCat(field, "[", i, "]");
      RETURN_IF_ERROR(Required(absl::StrCat(name, ".role"), list[i].role()));
      if (statement_required) {
        RETURN_IF_ERROR(
            Required(absl::StrCat(name, ".statement"), list[i].statement()));
      }
      RETURN_IF_ERROR(CheckOptionalDate(absl::StrCat(name, ".dated"), list[i].has_dated(),
                                        list[i].dated()));
    }
    return absl::OkStatus();
  }
  static absl::Status Rules(const S& s, const v1::DecisionProposed& m,
                            const v1::Event& e) {
    std::string entity =
        absl::StrCat("decision ", m.organisation_id(), "/", m.reference());
    RETURN_IF_ERROR(RequireOrganisation(s, entity, m.organisation_id(),
                                        "a decision is made by a registered organisation", e));
    // A deferral that ended before the proposal defers nothing: a mistyped year, most likely.
    if (const int64_t at = EffectiveMicrosOrUnknown(e); at != kUnknownTime) {
      const std::pair<const v1::Date*, absl::string_view> deferrals[] = {
          {m.has_part1_deferred_until() ? &m.part1_deferred_until() : nullptr, "Part 1's"},
          {m.part2().has_publication_deferred_until()
               ? &m.part2().publication_deferred_until()
               : nullptr,
           "Part 2's"}};
      // Dates are the paper's, as the days fall where it was written: compared with the
      // proposal's date in any time zone (UTC-12 to UTC+14), as a signature's date is (a
      // proposal made at 00:30 in London in summer is dated the day UTC has not reached).
      for (const auto& [until, what] : deferrals) {
        if (until != nullptr && DateKey(*until) < UtcDayKey(at - kZoneBehindMicros)) {
          return Refuse(
              entity,
              absl::StrCat("defers ", what, " publication until ", FormatDate(*until),
                           ", before the proposal takes effect (", FormatRfc3339(at), ")"),
              "a deferral of publication runs to a date on or after the decision's "
              "proposal (its date in some time zone, UTC-12 to UTC+14): leave it out "
              "for a decision published at once");
        }
      }
      // The officers' statements put the decision to its signatories: the proposal records
      // them as made, so none is dated after it takes effect.
      const std::pair<const google::protobuf::RepeatedPtrField<v1::OfficerStatement>*,
                      absl::string_view>
          statements[] = {{&m.originating_officer_declarations(),
                           "originating_officer_declarations"},
                          {&m.officer_approvals(), "officer_approvals"}};
      for (const auto& [list, field] : statements) {
        for (int i = 0; i < list->size(); ++i) {
          const v1::OfficerStatement& o = (*list)[i];
          if (o.has_dated() && DateKey(o.dated()) > UtcDayKey(at + kZoneAheadMicros)) {
            return Refuse(
                entity,
                absl::StrCat("has ", field, "[", i, "] (", o.role(), ") dated ",
                             FormatDate(o.dated()), ", after the proposal takes effect (",
                             FormatRfc3339(at),
                             "): record the proposal effective on or after that date"),
                "an officer's statement on a decision is dated on or before its proposal (its "
                "date in some time zone, UTC-12 to UTC+14)");
          }
        }
      }
    }
    // Decisions are made by people, hundreds a year: a scan costs nothing beside the proposal.
    if (const auto [stream, d] = SpelledAlike(s, m.organisation_id(), m.reference());
        d != nullptr) {
      return Refuse(entity,
                    absl::StrCat("uses a reference already used by this organisation ('",
                                 d->proposed.reference(), "', stream ", stream,
                                 "): references that differ only in letter case, "
                                 "punctuation, spacing or a number's leading zeros are one "
                                 "reference"),
                    "decision references are unique per organisation");
    }
    if (!m.programme_id().empty()) {
      constexpr absl::string_view kRule =
          "a decision concerns a registered, open programme of its "
          "organisation or of one it oversees";
      const WorkState* p = s.FindProgramme(m.programme_id());
      if (p == nullptr) {
        return Refuse(entity,
                      absl::StrCat("names programme ", m.programme_id(),
                                   s.FindProject(m.programme_id()) != nullptr
                                       ? ", which is not registered (it is a project, not a "
                                         "programme: name the project's programme)"
                                       : ", which is not registered"),
                      kRule);
      }
      if (!DecidesFor(s, m.organisation_id(), p->organisation_id)) {
        return Refuse(entity,
                      absl::StrCat("names programme ", m.programme_id(),
                                   " of organisation ", p->organisation_id,
                                   ", which ", m.organisation_id(),
                                   " neither is nor oversees"),
                      kRule);
      }
      if (p->closed) {
        return Refuse(entity,
                      absl::StrCat("names programme ", m.programme_id(),
                                   ", which is closed"),
                      kRule);
      }
      RETURN_IF_ERROR(RequireEffectiveSince(
          absl::StrCat("programme ", m.programme_id()), "was registered",
          p->opened_micros, e));
    }
    if (m.has_referred_under()) RETURN_IF_ERROR(CheckReferral(s, entity, m, e));
    // Delegation: every rule of the organisation whose threshold the counted
    // total reaches requires its role among the signatories.
    // Each rule's setting in force when the decision is proposed.
    std::vector<const v1::DelegationRuleSet*> rules;
    for (const auto& [stream, rule] : s.rules_) {
      if (rule.rule().organisation_id() != m.organisation_id()) continue;
      if (const v1::DelegationRuleSet* in_force = rule.InForceAt(EffectiveMicrosOrUnknown(e))) {
        rules.push_back(in_force);
      }
    }
    std::sort(rules.begin(), rules.end(),
              [](auto* a, auto* b) { return a->rule_id() < b->rule_id(); });
    for (const v1::DelegationRuleSet* rule : rules) {
      if (const std::optional<int64_t> counted = Shortfall(*rule, m)) {
        return Refuse(
            entity,
            absl::StrCat("commits ", FormatPence(*counted),
                         ", at or above delegation rule ", m.organisation_id(),
                         "/", rule->rule_id(), "'s threshold of ",
                         FormatPence(rule->threshold_pence()),
                         ", without the role '", rule->role(),
                         "' among its required signatories",
                         NearMissRole(rule->role(), m.required_signatory_roles())),
            "a decision at or above a delegation threshold requires that "
            "rule's role");
      }
    }
    return absl::OkStatus();
  }
  // The total `m` commits of `rule`'s kinds (amounts only noted left out) when it reaches the
  // rule's threshold without the rule's role among `m`'s required signatories; nullopt when the
  // rule does not stand in `m`'s way.
  static std::optional<int64_t> Shortfall(const v1::DelegationRuleSet& rule,
                                          const v1::DecisionProposed& m) {
    const std::optional<int64_t> counted = Reaches(rule, m);
    if (!counted.has_value() || HasRole(m, rule.role())) return std::nullopt;
    return counted;
  }
  // The total of `m`'s amounts `rule` counts, when it is at or above the rule's threshold.
  static std::optional<int64_t> Reaches(const v1::DelegationRuleSet& rule,
                                        const v1::DecisionProposed& m) {
    const int64_t counted = CountedPence(rule, m.amounts());
    if (counted < rule.threshold_pence()) return std::nullopt;
    return counted;
  }
  static bool HasRole(const v1::DecisionProposed& m, const std::string& role) {
    return std::find(m.required_signatory_roles().begin(), m.required_signatory_roles().end(),
                     role) != m.required_signatory_roles().end();
  }
  // A proposal referred back under a delegation: the delegating decision is of
  // the same organisation and approved, delegates that authority with a
  // referral, and the referral's roles are among the required signatories.
  static absl::Status CheckReferral(const S& s, absl::string_view entity,
                                    const v1::DecisionProposed& m,
                                    const v1::Event& e) {
    constexpr absl::string_view kRule =
        "a proposal referred back under delegated authority names an approved "
        "decision of its organisation that delegates it, and requires that "
        "delegation's referral roles";
    const v1::DelegationReference& under = m.referred_under();
    const std::string delegating =
        absl::StrCat(m.organisation_id(), "/", under.reference());
    const DecisionState* d = s.FindDecision(m.organisation_id(), under.reference());
    if (d == nullptr) {
      return Refuse(entity,
                    absl::StrCat("is referred under decision ", delegating,
                                 ", which is not recorded",
                                 DidYouMean(s, m.organisation_id(), under.reference())),
                    kRule);
    }
    if (!d->approved()) {
      const char* why = d->outcome == DecisionState::Outcome::kRejected    ? "rejected"
                        : d->outcome == DecisionState::Outcome::kWithdrawn ? "withdrawn"
                                                                           : "not yet approved";
      return Refuse(entity,
                    absl::StrCat("is referred under decision ", delegating,
                                 ", which is ", why),
                    kRule);
    }
    RETURN_IF_ERROR(RequireEffectiveSince(
        entity,
        absl::StrCat("is referred under decision ", delegating, ", which was approved"),
        d->signed_micros, e,
        "a proposal referred back under delegated authority takes effect no "
        "earlier than the decision delegating it was approved"));
    const v1::DelegatedAuthority* authority = nullptr;
    std::vector<std::string> ids;
    for (const v1::DelegatedAuthority& a : d->proposed.delegated_authorities()) {
      ids.push_back(a.delegation_id());
      if (a.delegation_id() == under.delegation_id()) authority = &a;
    }
    if (authority == nullptr) {
      return Refuse(entity,
                    absl::StrCat("is referred under delegation '", under.delegation_id(),
                                 "' of decision ", delegating, ", which delegates ",
                                 ids.empty() ? std::string("no authority")
                                             : absl::StrCat("only '",
                                                            absl::StrJoin(ids, "', '"), "'")),
                    kRule);
    }
    if (authority->referral_roles().empty()) {
      return Refuse(entity,
                    absl::StrCat("is referred under delegation '", under.delegation_id(),
                                 "' of decision ", delegating,
                                 ", which refers nothing back"),
                    kRule);
    }
    for (const std::string& role : authority->referral_roles()) {
      if (std::find(m.required_signatory_roles().begin(), m.required_signatory_roles().end(),
                    role) == m.required_signatory_roles().end()) {
        return Refuse(entity,
                      absl::StrCat("is referred under delegation '", under.delegation_id(),
                                   "' of decision ", delegating, " without the referral role '",
                                   role, "' among its required signatories"),
                      kRule);
      }
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::DecisionProposed& m, const v1::Event& e) {
    DecisionState* d = s.Mutate(
        s.decisions_, DecisionStream(m.organisation_id(), m.reference()));
    // A new incarnation: signatures, declarations and an outcome of an earlier
    // proposal (one a correction revived, folded before this one) do not carry
    // over to content nobody signed.
    *d = DecisionState();
    d->proposed = m;
    d->proposed_position = e.position();
    d->digest = DecisionDigest(m);
    d->proposed_micros = EffectiveMicrosOrUnknown(e);
    d->proposed_source = e.source();
  }

  static absl::StatusOr<std::string> Shape(const v1::DecisionSigned& m) {
    absl::StatusOr<std::string> stream =
        DecisionShape(m.organisation_id(), m.reference());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(CheckId("key_id", m.key_id()));
    if (m.signature().size() != crypto::kEd25519SignatureSize) {
      return Invalid(absl::StrCat("signature has ", m.signature().size(),
                                  " bytes; an Ed25519 signature has 64"));
    }
    if (!m.digest().empty() && m.digest().size() != 32) {
      return Invalid(absl::StrCat("digest has ", m.digest().size(),
                                  " bytes; it has 32 or is unset"));
    }
    RETURN_IF_ERROR(CheckOptionalDate("signed_on", m.has_signed_on(), m.signed_on()));
    if (m.has_declaration()) {
      RETURN_IF_ERROR(
          Required("declaration.statement", m.declaration().statement()));
    }
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::DecisionSigned& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequirePendingDecision(s, m.organisation_id(),
                                            m.reference(), "signed", e));
    const DecisionState& d = *Decision(s, m.organisation_id(), m.reference());
    std::string entity =
        absl::StrCat("decision ", m.organisation_id(), "/", m.reference());
    // Only a log written before programmes closed after their decisions holds such a decision.
    if (const WorkState* p = d.proposed.programme_id().empty()
                                 ? nullptr
                                 : s.FindProgramme(d.proposed.programme_id());
        p != nullptr && p->closed) {
      return Refuse(entity, absl::StrCat("names programme ", p->ref.id(), ", which is closed"),
                    "a decision about a closed programme is not signed (record its rejection or "
                    "withdrawal)");
    }
    // Recorded by a newer govledgerd (a rollback to a build of the same storage format): the
    // digest this version computes would not cover all the decision says.
    if (std::string unknown = UnknownDecisionContent(d.proposed); !unknown.empty()) {
      return Refuse(entity,
                    absl::StrCat("was proposed with ", unknown,
                                 ", which this version of govledgerd does not know"),
                    "a decision is signed over all it says: sign it through a govledgerd at "
                    "least as new as the one that recorded its proposal");
    }
    std::string key_entity = absl::StrCat("signing key ", m.key_id());
    auto key = s.keys_.find(m.key_id());
    if (key == s.keys_.end()) {
      return Refuse(key_entity, KeyNotRegistered(s, m.key_id()),
                    "a decision is signed with a registered, unrevoked key");
    }
    if (key->second.revoked && !RevokedOnlyLater(s, key->second, e)) {
      return Refuse(key_entity,
                    key->second.revoked_micros == kUnknownTime
                        ? std::string("has been revoked")
                        : absl::StrCat("has been revoked, effective ",
                                       FormatRfc3339(key->second.revoked_micros)),
                    "a decision is signed with a registered, unrevoked key (a key whose "
                    "revocation is dated ahead signs until the revocation takes effect: a "
                    "signature both recorded and effective before then)");
    }
    RETURN_IF_ERROR(RequireKeyPairNotRevoked(s, key_entity, key->second.registered.public_key(),
                                             "a revoked key signs nothing more, under any id",
                                             m.key_id()));
    RETURN_IF_ERROR(RequireEffectiveSince(
        key_entity, "was registered", key->second.registered_micros, e,
        "a signature takes effect no earlier than its key's registration (to record an "
        "earlier signature, register a key effective on or before the signing: a new key id "
        "for its holder, or, for a key that has signed nothing yet, this one's registration "
        "corrected and made again)"));
    const std::string& key_org = key->second.registered.organisation_id();
    if (!key_org.empty() && key_org != m.organisation_id()) {
      return Refuse(key_entity,
                    absl::StrCat("signs for organisation ", key_org, ", not ",
                                 m.organisation_id(), " (decision ",
                                 m.organisation_id(), "/", m.reference(), ")"),
                    "a key registered for an organisation signs only that "
                    "organisation's decisions");
    }
    const std::string& role = key->second.registered.role();
    const auto& required = d.proposed.required_signatory_roles();
    if (std::find(required.begin(), required.end(), role) == required.end()) {
      return Refuse(entity,
                    absl::StrCat("does not require the role '", role, "' of key ", m.key_id(), " (",
                                 key->second.registered.holder(), ")", NearMissRole(role, required),
                                 "; it requires '", absl::StrJoin(required, "', '"), "'"),
                    "a signature's key holder has one of the decision's required roles");
    }
    if (d.signing_keys.contains(m.key_id())) {
      return Refuse(
          entity, absl::StrCat("has already been signed with key ", m.key_id()),
          "a signatory signs once");
    }
    // One person, one signature: a holder with keys for several roles
    // satisfies only one of them.
    const std::string& holder = key->second.registered.holder();
    for (const std::string& signed_with : d.signing_keys) {
      auto other = s.keys_.find(signed_with);
      if (other != s.keys_.end() && LookAlike(other->second.registered.holder(), holder)) {
        return Refuse(entity,
                      absl::StrCat("has already been signed by ",
                                   other->second.registered.holder(), " (key ", signed_with,
                                   "; now key ", m.key_id(),
                                   other->second.registered.holder() == holder
                                       ? std::string()
                                       : absl::StrCat(", held by ", holder),
                                   ")"),
                      "a holder signs a decision once");
      }
    }
    if (auto it = d.signed_roles.find(role); it != d.signed_roles.end()) {
      return Refuse(
          entity,
          absl::StrCat("has already been signed for the role '", role, "' (key ", it->second, ")"),
          "each required role is signed for once: one signature satisfies it");
    }
    if (!m.digest().empty() && m.digest() != d.digest) {
      return Refuse(entity,
                    "has a different digest from the one this signature names",
                    "a signature covers the decision's canonical digest");
    }
    if (!crypto::Ed25519Verify(key->second.registered.public_key(),
                               SignedDigest(d.digest, m), m.signature())) {
      return Refuse(
          entity,
          absl::StrCat("has a signature that does not verify with key ",
                       m.key_id(),
                       m.has_declaration()
                           ? " over the signature digest of its canonical "
                             "digest and this declaration of interests"
                           : " over its canonical digest"),
          "a signature verifies against the key over the decision's canonical "
          "digest (with a declaration of interests, over the signature "
          "digest, which covers both); one made over a proposal a correction has since "
          "voided does not: sign the digest of the decision as proposed now");
    }
    if (m.has_signed_on()) {
      RETURN_IF_ERROR(CheckSignedOn(m, d, key->second, e));
    }
    return absl::OkStatus();
  }
  // The UTC day of `micros`, as DateKey gives a Date's (YYYYMMDD).
  static int64_t UtcDayKey(int64_t micros) {
    const absl::CivilDay c = absl::ToCivilDay(absl::FromUnixMicros(micros), absl::UTCTimeZone());
    return c.year() * 10000LL + c.month() * 100 + c.day();
  }
  // The date written beside a signature (which the signature does not cover)
  // falls on or after the day the decision was proposed and its key
  // registered, and on or before the day the signature takes effect, as the
  // days fall in some time zone (UTC-12 to UTC+14: a signature made at 00:30 in
  // London in summer is dated the day UTC has not reached); unknown times bound
  // nothing.
  static constexpr int64_t kZoneAheadMicros = int64_t{14} * 3600 * 1000000;   // UTC+14
  static constexpr int64_t kZoneBehindMicros = int64_t{12} * 3600 * 1000000;  // UTC-12
  static absl::Status CheckSignedOn(const v1::DecisionSigned& m, const DecisionState& d,
                                    const KeyState& key, const v1::Event& e) {
    constexpr absl::string_view kRule =
        "the date beside a signature falls between the decision's proposal (and its key's "
        "registration) and the signature's effective time";
    const auto day = UtcDayKey;
    const int64_t signed_on = DateKey(m.signed_on());
    const std::string entity = absl::StrCat("decision ", m.organisation_id(), "/", m.reference());
    const std::string date = FormatDate(m.signed_on());
    const std::pair<int64_t, std::string> earliest[] = {
        {d.proposed_micros, "it was proposed"},
        {key.registered_micros, absl::StrCat("signing key ", m.key_id(), " was registered")}};
    for (const auto& [micros, what] : earliest) {
      if (micros != kUnknownTime && signed_on < day(micros - kZoneBehindMicros)) {
        return Refuse(entity,
                      absl::StrCat("has a signature dated ", date, ", before ", what, " (",
                                   FormatRfc3339(micros), ")"),
                      kRule);
      }
    }
    const int64_t at = EffectiveMicrosOrUnknown(e);
    if (at != kUnknownTime && signed_on > day(at + kZoneAheadMicros)) {
      return Refuse(entity,
                    absl::StrCat("has a signature dated ", date,
                                 ", after the signature takes effect (", FormatRfc3339(at), ")"),
                    kRule);
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::DecisionSigned& m, const v1::Event& e) {
    std::string stream = DecisionStream(m.organisation_id(), m.reference());
    // A replay counts no signature without its key and decision (as it was
    // recorded against them: Incarnations), nor one by a key revoked by then
    // (a revocation dated ahead not yet in effect aside, as the rules have it),
    // nor one that names another digest than the decision's (after a
    // correction voided the proposal it signed); the rules refuse all of these
    // on append.
    const DecisionState* found = s.FindDecision(m.organisation_id(), m.reference());
    const KeyState* key_found = s.FindKey(m.key_id());
    if (found == nullptr || key_found == nullptr ||
        (key_found->revoked && !RevokedOnlyLater(s, *key_found, e)) ||
        RecordedBefore(found->proposed_position, e) ||
        RecordedBefore(key_found->registered_position, e) ||
        (!m.digest().empty() && m.digest() != found->digest)) {
      return;
    }
    // Nor one by a key of another organisation: the rules have refused it since keys named
    // their organisation, so no log they checked holds one, while a copy rewritten with a new
    // chain could have another organisation's real signature approve a decision.
    if (const std::string& org = key_found->registered.organisation_id();
        !org.empty() && org != m.organisation_id()) {
      return;
    }
    KeyState* key = s.MutateExisting(s.keys_, m.key_id());
    const int64_t at = EffectiveMicrosOrUnknown(e);  // kUnknownTime is the least
    key->last_signed_micros = std::max(key->last_signed_micros, at);
    DecisionState* d = s.MutateExisting(s.decisions_, stream);
    d->signing_keys.insert(m.key_id());
    d->signed_roles.emplace(key->registered.role(), m.key_id());
    if (m.has_declaration()) d->declarations[m.key_id()] = m.declaration();
    if (m.has_signed_on()) d->signed_on[m.key_id()] = m.signed_on();
    if (!e.source().empty()) d->signed_sources[m.key_id()] = e.source();
    d->signed_micros = std::max(d->signed_micros, at);
  }

  static absl::StatusOr<std::string> Shape(const v1::DecisionRejected& m) {
    absl::StatusOr<std::string> stream =
        DecisionShape(m.organisation_id(), m.reference());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(Required("rejected_by", m.rejected_by()));
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::DecisionRejected& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequirePendingDecision(s, m.organisation_id(), m.reference(),
                                           "rejected", e));
    return RequireEndedAfterSignatures(s, m.organisation_id(), m.reference(), e);
  }
  static void Do(S& s, const v1::DecisionRejected& m, const v1::Event& e) {
    std::string stream = DecisionStream(m.organisation_id(), m.reference());
    if (DecisionState* d = ActedOn(s, s.decisions_, stream, e)) {
      d->outcome = DecisionState::Outcome::kRejected;
      d->outcome_source = e.source();
      d->outcome_by = m.rejected_by();
      d->outcome_reason = m.reason();
      d->outcome_micros = EffectiveMicrosOrUnknown(e);
    }
  }

  static absl::StatusOr<std::string> Shape(const v1::DecisionWithdrawn& m) {
    absl::StatusOr<std::string> stream =
        DecisionShape(m.organisation_id(), m.reference());
    if (!stream.ok()) return stream.status();
    RETURN_IF_ERROR(Required("reason", m.reason()));
    return stream;
  }
  static absl::Status Rules(const S& s, const v1::DecisionWithdrawn& m,
                            const v1::Event& e) {
    RETURN_IF_ERROR(RequirePendingDecision(s, m.organisation_id(), m.reference(),
                                           "withdrawn", e));
    return RequireEndedAfterSignatures(s, m.organisation_id(), m.reference(), e);
  }
  static void Do(S& s, const v1::DecisionWithdrawn& m, const v1::Event& e) {
    std::string stream = DecisionStream(m.organisation_id(), m.reference());
    if (DecisionState* d = ActedOn(s, s.decisions_, stream, e)) {
      d->outcome = DecisionState::Outcome::kWithdrawn;
      d->outcome_source = e.source();
      d->outcome_by.clear();
      d->outcome_reason = m.reason();
      d->outcome_micros = EffectiveMicrosOrUnknown(e);
    }
  }

  // --- Delegation rules and keys. ---

  static absl::StatusOr<std::string> Shape(const v1::DelegationRuleSet& m) {
    RETURN_IF_ERROR(CheckId("organisation_id", m.organisation_id()));
    RETURN_IF_ERROR(CheckId("rule_id", m.rule_id()));
    RETURN_IF_ERROR(NotNegative(
        absl::StrCat("delegation rule ", m.organisation_id(), "/", m.rule_id()),
        "threshold_pence", m.threshold_pence()));
    // Spelled as a decision's required role and a key's role must be, which it is compared with
    // exactly: a role no decision may name would hold every decision it reaches unsignable.
    RETURN_IF_ERROR(Required("role", m.role()));
    RETURN_IF_ERROR(CheckName("role", m.role()));
    for (int kind : m.kinds()) {
      if (kind == v1::AMOUNT_KIND_UNSPECIFIED ||
          !v1::AmountKind_IsValid(kind)) {
        return Invalid("kinds may hold only CAPITAL, REVENUE and ONE_OFF");
      }
    }
    return DelegationStream(m.organisation_id(), m.rule_id());
  }
  static absl::Status Rules(const S& s, const v1::DelegationRuleSet& m,
                            const v1::Event& e) {
    const std::string entity =
        absl::StrCat("delegation rule ", m.organisation_id(), "/", m.rule_id());
    if (m.threshold_pence() == 0) {
      // Proto3 cannot tell 0 from a threshold left out, which would hold every decision,
      // even one that spends nothing, to the rule's role.
      return Refuse(entity, "has a threshold of 0 pence",
                    "a delegation rule's threshold_pence states the spend from which its role "
                    "must sign, more than 0 pence: give the figure (1 for any spend at all)");
    }
    RETURN_IF_ERROR(RequireOrganisation(
        s, entity, m.organisation_id(), "a delegation rule belongs to a registered organisation",
        e));
    // The setting is in force from its effective time until the rule's next later setting: a
    // decision already proposed in that span is held to it, so it must not need a role the
    // decision lacks (the decision could otherwise be approved without it, or be found in
    // breach after the fact).
    const int64_t from = EffectiveMicrosOrUnknown(e);
    if (from == kUnknownTime) return absl::OkStatus();
    int64_t until = std::numeric_limits<int64_t>::max();
    if (auto rule = s.rules_.find(DelegationStream(m.organisation_id(), m.rule_id()));
        rule != s.rules_.end()) {
      for (const RuleState::Setting& setting : rule->second.settings) {
        if (setting.micros != kUnknownTime && setting.micros > from) {
          until = std::min(until, setting.micros);
        }
      }
    }
    // Both checks below weigh the decisions that were signed or still may be: one withdrawn or
    // rejected before anyone signed it was never held to anything.
    const auto weighed = [&](const DecisionState& d) {
      return d.proposed.organisation_id() == m.organisation_id() &&
             d.proposed_micros != kUnknownTime && d.proposed_micros >= from &&
             d.proposed_micros < until &&
             (d.outcome == DecisionState::Outcome::kPending || !d.signing_keys.empty());
    };
    // Each refusal names the latest proposal of those it would change (by stream on a tie):
    // dated after it, the setting is after them all, and the refusal says the same every time.
    const auto later = [](const std::string& stream, const DecisionState& d,
                          const std::string* than_stream, const DecisionState* than) {
      return than == nullptr || d.proposed_micros > than->proposed_micros ||
             (d.proposed_micros == than->proposed_micros && stream < *than_stream);
    };
    const std::string* held_stream = nullptr;
    const DecisionState* held = nullptr;
    int64_t held_pence = 0;
    for (const auto& [stream, d] : s.decisions_) {
      if (!weighed(d)) continue;
      const std::optional<int64_t> counted = Shortfall(m, d.proposed);
      if (counted && later(stream, d, held_stream, held)) {
        held_stream = &stream;
        held = &d;
        held_pence = *counted;
      }
    }
    if (held != nullptr) {
      return Refuse(
          entity,
          absl::StrCat("would hold decision ", m.organisation_id(), "/", held->proposed.reference(),
                       ", proposed effective ", FormatRfc3339(held->proposed_micros), " for ",
                       FormatPence(held_pence), " without the role '", m.role(),
                       "', to its threshold of ", FormatPence(m.threshold_pence())),
          "a delegation rule's setting takes effect no earlier than a decision it would "
          "hold to a role the decision lacks: date it after that decision's proposal");
    }
    // Nor may it release, after the fact, a decision the setting then in force held to its
    // role: the register would no longer show what the decision was held to when signed.
    const auto rule = s.rules_.find(DelegationStream(m.organisation_id(), m.rule_id()));
    if (rule == s.rules_.end()) return absl::OkStatus();
    const std::string* released_stream = nullptr;
    const DecisionState* released = nullptr;
    const v1::DelegationRuleSet* released_from = nullptr;
    int64_t released_pence = 0;
    for (const auto& [stream, d] : s.decisions_) {
      if (!weighed(d)) continue;
      const v1::DelegationRuleSet* then = rule->second.InForceAt(d.proposed_micros);
      if (then == nullptr || !HasRole(d.proposed, then->role())) continue;
      const std::optional<int64_t> reached = Reaches(*then, d.proposed);
      if (!reached.has_value()) continue;
      if (then->role() == m.role() && Reaches(m, d.proposed).has_value()) continue;
      if (later(stream, d, released_stream, released)) {
        released_stream = &stream;
        released = &d;
        released_from = then;
        released_pence = *reached;
      }
    }
    if (released != nullptr) {
      return Refuse(entity,
                    absl::StrCat("would release decision ", m.organisation_id(), "/",
                                 released->proposed.reference(), ", proposed effective ",
                                 FormatRfc3339(released->proposed_micros), " for ",
                                 FormatPence(released_pence), ", from the role '",
                                 released_from->role(), "' the setting then in force (",
                                 FormatPence(released_from->threshold_pence()), ") held it to"),
                    "a delegation rule's setting takes effect no earlier than a decision whose "
                    "requirement it would change: date it after that decision's proposal");
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::DelegationRuleSet& m, const v1::Event& e) {
    const std::string stream = DelegationStream(m.organisation_id(), m.rule_id());
    const int64_t at = EffectiveMicrosOrUnknown(e);
    RuleState* r = s.Mutate(s.rules_, stream);
    // After every setting it supersedes (ties: the later event).
    auto place = r->settings.end();
    while (place != r->settings.begin() && !Supersedes((place - 1)->micros, at)) --place;
    r->settings.insert(place, {at, m, e.position()});
  }

  static absl::StatusOr<std::string> Shape(const v1::SigningKeyRegistered& m) {
    RETURN_IF_ERROR(CheckId("key_id", m.key_id()));
    if (!m.organisation_id().empty()) {
      RETURN_IF_ERROR(CheckId("organisation_id", m.organisation_id()));
    }
    RETURN_IF_ERROR(Required("holder", m.holder()));
    RETURN_IF_ERROR(Required("role", m.role()));
    RETURN_IF_ERROR(CheckName("holder", m.holder()));
    RETURN_IF_ERROR(CheckName("role", m.role()));
    if (m.public_key().size() != crypto::kEd25519PublicKeySize) {
      return Invalid(absl::StrCat("public_key has ", m.public_key().size(),
                                  " bytes; an Ed25519 public key has 32"));
    }
    return KeyStream(m.key_id());
  }
  static absl::Status Rules(const S& s, const v1::SigningKeyRegistered& m,
                            const v1::Event& e) {
    if (auto it = s.keys_.find(m.key_id()); it != s.keys_.end()) {
      const KeyState& key = it->second;
      return Refuse(
          absl::StrCat("signing key ", m.key_id()),
          absl::StrCat("is already registered (to ", key.registered.holder(), ", ",
                       key.registered.role(),
                       key.registered_micros == kUnknownTime
                           ? ""
                           : absl::StrCat(", effective ", FormatRfc3339(key.registered_micros)),
                       key.registered_position == 0
                           ? ""
                           : absl::StrCat(", at position ", key.registered_position),
                       ")"),
          key.revoked ? "a key id is registered once; this key is revoked: register a new "
                        "key pair under a new id"
          : key.last_signed_micros != kUnknownTime
              ? "a key id is registered once; this key has signed, so its registration "
                "stands: register a new key pair under a new id"
              : absl::StrCat("a key id is registered once; a registration with the wrong "
                             "date, holder or role is corrected before the key signs (a "
                             "CorrectionRecorded naming it: govledger history key/",
                             m.key_id(), " shows its event id), and then registered again"));
    }
    RETURN_IF_ERROR(RefuseCaseTwin(s, s.keys_, m.key_id(), absl::StrCat("signing key ", m.key_id()),
                                   "signing key"));
    if (!m.organisation_id().empty()) {
      RETURN_IF_ERROR(RequireOrganisation(s, absl::StrCat("signing key ", m.key_id()),
                                          m.organisation_id(),
                                          "a key's organisation is a registered organisation", e));
    }
    // Checked here, not in Shape: a key of small order stored by an earlier version still
    // replays (it verifies no signature: crypto::Ed25519Verify).
    if (absl::Status s = crypto::CheckEd25519PublicKey(m.public_key()); !s.ok()) {
      return Invalid(absl::StrCat("signing key ", m.key_id(), ": ", s.message(),
                                  "; register the .pub that `govledger keys generate` wrote"));
    }
    const std::string entity = absl::StrCat("signing key ", m.key_id());
    RETURN_IF_ERROR(RequireKeyPairNotRevoked(
        s, entity, m.public_key(),
        "a revoked key signs nothing more, under any id: generate a new key pair"));
    // Otherwise one holder's signature would count for a second holder or role as well.
    for (const auto& [id, key] : s.keys_) {  // a few hundred keys at most
      if (key.registered.public_key() == m.public_key()) {
        return Refuse(entity,
                      absl::StrCat("has the public key of signing key ", id, ", registered to ",
                                   key.registered.holder(), " (", key.registered.role(), ")"),
                      "a key pair is registered once, to one holder and role: generate a new "
                      "key pair for each (or, if that registration is the wrong one and its key "
                      "has not signed, correct it first)");
      }
    }
    return absl::OkStatus();
  }
  // Whether revoked key `k` still signs `e`: its revocation was dated ahead (a term's end) and
  // takes effect after the append recording `e` and after `e` takes effect. A revocation in
  // effect stops every later signature, whatever its effective time (a signature keyed in late
  // included: a revoked key may be in other hands).
  static bool RevokedOnlyLater(const S& s, const KeyState& k, const v1::Event& e) {
    const int64_t at = EffectiveMicrosOrUnknown(e);
    // Recorded: as stored (a replay, a refold), else the append being checked.
    const int64_t recorded =
        e.has_recorded_time() ? ToMicros(e.recorded_time()) : s.recording_micros_;
    return k.revoked_micros != kUnknownTime && recorded != kUnknownTime &&
           at != kUnknownTime && recorded < k.revoked_micros && at < k.revoked_micros;
  }
  // Refuses `entity` (a key) when a revoked key other than `except_id` has `public_key`: a key
  // pair once revoked signs nothing more, whichever key id names it.
  static absl::Status RequireKeyPairNotRevoked(const S& s, absl::string_view entity,
                                               absl::string_view public_key,
                                               absl::string_view rule,
                                               absl::string_view except_id = "") {
    for (const auto& [id, key] : s.keys_) {  // a few hundred keys at most
      if (key.revoked && id != except_id && key.registered.public_key() == public_key) {
        return Refuse(entity,
                      absl::StrCat("has the public key of signing key ", id, ", which is revoked"),
                      rule);
      }
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::SigningKeyRegistered& m, const v1::Event& e) {
    KeyState* k = s.Mutate(s.keys_, m.key_id());
    *k = KeyState();  // a new incarnation
    k->registered = m;
    k->registered_position = e.position();
    k->registered_micros = EffectiveMicrosOrUnknown(e);
  }

  static absl::StatusOr<std::string> Shape(const v1::SigningKeyRevoked& m) {
    RETURN_IF_ERROR(CheckId("key_id", m.key_id()));
    RETURN_IF_ERROR(Required("reason", m.reason()));
    return KeyStream(m.key_id());
  }
  static absl::Status Rules(const S& s, const v1::SigningKeyRevoked& m,
                            const v1::Event& e) {
    std::string entity = absl::StrCat("signing key ", m.key_id());
    auto it = s.keys_.find(m.key_id());
    if (it == s.keys_.end()) {
      return Refuse(entity, KeyNotRegistered(s, m.key_id()),
                    "only a registered key can be revoked");
    }
    // A revocation dated ahead (a term's end) may be brought forward (the key was lost before
    // then) by another effective earlier; no other revocation changes anything.
    const int64_t revoked = it->second.revoked_micros;
    const int64_t at = EffectiveMicrosOrUnknown(e);
    if (it->second.revoked &&
        (revoked == kUnknownTime || at == kUnknownTime || at >= revoked)) {
      return Refuse(entity,
                    revoked == kUnknownTime
                        ? std::string("is already revoked")
                        : absl::StrCat("is already revoked, effective ", FormatRfc3339(revoked)),
                    "a key is revoked once; another revocation is accepted only to bring one "
                    "forward, effective earlier than the revocation in force");
    }
    RETURN_IF_ERROR(RequireEffectiveSince(entity, "was registered",
                                          it->second.registered_micros, e));
    return RequireEffectiveSince(
        entity, "gave a signature", it->second.last_signed_micros, e,
        "a key is revoked effective no earlier than its latest signature");
  }
  static void Do(S& s, const v1::SigningKeyRevoked& m, const v1::Event& e) {
    if (KeyState* k = ActedOn(s, s.keys_, m.key_id(), e)) {
      // The earliest revocation is in force (Rules accept a second only effective earlier).
      const int64_t at = EffectiveMicrosOrUnknown(e);
      if (!k->revoked || k->revoked_micros == kUnknownTime || at == kUnknownTime ||
          at < k->revoked_micros) {
        k->revoked_micros = at;
      }
      k->revoked = true;
    }
  }

  // --- Corrections: the stream is the corrected event's, so Shape cannot say
  // it. ---

  static absl::StatusOr<std::string> Shape(const v1::CorrectionRecorded& m) {
    if (!ParseUuid(m.corrected_event_id()).has_value()) {
      return Invalid(absl::StrCat("corrected_event_id '",
                                  m.corrected_event_id(), "' is not a UUID"));
    }
    RETURN_IF_ERROR(Required("reason", m.reason()));
    return std::string();  // checked by Rules
  }
  static absl::Status Rules(const S& s, const v1::CorrectionRecorded& m,
                            const v1::Event& e) {
    std::optional<EventRecord> target = s.FindEvent(m.corrected_event_id());
    std::string entity =
        absl::StrCat("event ", absl::AsciiStrToLower(m.corrected_event_id()));
    if (!target && absl::EqualsIgnoreCase(m.corrected_event_id(), e.event_id())) {
      return Refuse(entity, "names itself",
                    "a correction names an existing event, stored before it");
    }
    if (!target) {
      // Only governance events are corrected: an event of another type (stored as it came,
      // checked by no rule) states no governance fact to correct.
      return Refuse(entity,
                    "is not a governance event in the ledger (no event has that id, or its type "
                    "is not one of govledger.v1's: only governance events are corrected)",
                    "a correction names an existing event");
    }
    if (target->stream_id != e.stream_id()) {
      return Invalid(absl::StrCat("a correction of ", entity,
                                  " belongs on its stream ", target->stream_id,
                                  ", not ", e.stream_id()));
    }
    return absl::OkStatus();
  }
  static void Do(S& s, const v1::CorrectionRecorded& m, const v1::Event& e) {
    std::string id = absl::AsciiStrToLower(m.corrected_event_id());
    s.Mutate(s.corrections_, id)
        ->push_back(absl::AsciiStrToLower(e.event_id()));
  }

  // --- Dispatch. ---

  template <typename M>
  static absl::Status Handle(S& s, const v1::Event& e, Mode mode) {
    // One message per type and thread, parsed into again and again: its strings
    // and sub-messages keep their memory, so a fold allocates only for what it
    // keeps (about 10% faster in memory, govledger-as-at-bench's "full fold").
    // Handle is not reentered: Do never applies events.
    thread_local M m;
    // A large payload (up to the event size limit) leaves no large buffers
    // behind in the thread's message.
    struct ShrinkLarge {
      const v1::Event& e;
      ~ShrinkLarge() {
        if (e.payload().size() > kReusedPayloadBytes) m = M();
      }
    } shrink{e};
    std::string why;  // protobuf's reason (a string that is not UTF-8), not its log line
    const bool parsed = [&] {
      ParseErrors errors;
      if (m.ParseFromString(e.payload())) return true;
      why = errors.Suffix();
      // Else its bytes may break the wire format: say where.
      if (why.empty()) why = WhereParseFails(*M::descriptor(), e.payload());
      return false;
    }();
    if (!parsed) return Invalid(absl::StrCat("payload does not parse as ", e.event_type(), why));
    if (mode == Mode::kValidate) {
      RETURN_IF_ERROR(CheckNoUnknownFields(e.event_type(), m));
      RETURN_IF_ERROR(CheckText(m));
      absl::StatusOr<std::string> stream = Shape(m);
      if (!stream.ok()) return stream.status();
      if (!stream->empty() && *stream != e.stream_id()) {
        return Invalid(absl::StrCat(e.event_type(),
                                    " for this entity belongs on stream ",
                                    *stream, ", not ", e.stream_id()));
      }
      RETURN_IF_ERROR(Rules(s, m, e));
    }
    Do(s, m, e);
    return absl::OkStatus();
  }

  template <typename M>
  static absl::StatusOr<std::string> StreamOf(absl::string_view payload) {
    M m;
    if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Invalid(absl::StrCat("payload does not parse as ",
                                  M::descriptor()->full_name()));
    }
    return Shape(m);
  }

  // Per type: Apply's handler, and the entity stream of a payload.
  struct Handler {
    absl::Status (*handle)(S&, const v1::Event&, Mode);
    absl::StatusOr<std::string> (*stream)(absl::string_view payload);
  };

  template <typename M>
  static void Register(absl::flat_hash_map<std::string, Handler>& table) {
    table.emplace(M::descriptor()->full_name(),
                  Handler{&Handle<M>, &StreamOf<M>});
  }

  static const absl::flat_hash_map<std::string, Handler>& Handlers() {
    static const auto* table = [] {
      auto* t = new absl::flat_hash_map<std::string, Handler>();
      Register<v1::OrganisationRegistered>(*t);
      Register<v1::ProgrammeRegistered>(*t);
      Register<v1::ProgrammeReplanned>(*t);
      Register<v1::ProgrammeClosed>(*t);
      Register<v1::ProjectRegistered>(*t);
      Register<v1::ProjectClosed>(*t);
      Register<v1::StatusReported>(*t);
      Register<v1::GatePassed>(*t);
      Register<v1::MilestoneReached>(*t);
      Register<v1::BenefitForecast>(*t);
      Register<v1::BenefitRealised>(*t);
      Register<v1::RiskOpened>(*t);
      Register<v1::RiskRerated>(*t);
      Register<v1::RiskClosed>(*t);
      Register<v1::RiskTransferred>(*t);
      Register<v1::ScopeItemAdded>(*t);
      Register<v1::ScopeItemRemoved>(*t);
      Register<v1::ScopeItemTransferred>(*t);
      Register<v1::DecisionProposed>(*t);
      Register<v1::DecisionSigned>(*t);
      Register<v1::DecisionRejected>(*t);
      Register<v1::DecisionWithdrawn>(*t);
      Register<v1::DelegationRuleSet>(*t);
      Register<v1::SigningKeyRegistered>(*t);
      Register<v1::SigningKeyRevoked>(*t);
      Register<v1::CorrectionRecorded>(*t);
      return t;
    }();
    return *table;
  }

  // Each governance event type's name without its package ("RiskClosed"), by its lower-case
  // form: for Apply's check of an opaque type that names one.
  static const absl::flat_hash_map<std::string, std::string>& ShortNames() {
    static const auto* names = [] {
      auto* n = new absl::flat_hash_map<std::string, std::string>();
      for (const auto& [type, handler] : Handlers()) {
        std::string name = type.substr(kGovernanceTypePrefix.size());
        n->emplace(absl::AsciiStrToLower(name), name);
      }
      return n;
    }();
    return *names;
  }
};

bool IsGovernanceType(absl::string_view event_type) {
  return absl::StartsWith(event_type, kGovernanceTypePrefix);
}

bool IsKnownGovernanceType(absl::string_view event_type) {
  return GovernanceState::Access::Handlers().contains(event_type);
}

absl::StatusOr<std::string> EntityStreamOf(absl::string_view event_type,
                                           absl::string_view payload) {
  const auto& handlers = GovernanceState::Access::Handlers();
  auto handler = handlers.find(event_type);
  if (handler == handlers.end()) {
    return Invalid(absl::StrCat("event type ", event_type,
                                " is not a governance event type this version "
                                "knows, so its stream cannot be derived"));
  }
  return handler->second.stream(payload);
}

void GovernanceState::Prefetch(const v1::Event& event) const {
  const std::optional<EntityStream> entity = ParseEntityStream(event.stream_id());
  if (!entity) return;
  if (entity->kind == EntityKind::kRisk) {
    risks_.prefetch(entity->id);
  } else if (entity->kind == EntityKind::kScope) {
    scope_items_.prefetch(entity->id);
  }
}

absl::Status GovernanceState::CheckNotAhead(const v1::Event& event,
                                            int64_t recorded_micros) {
  static const absl::flat_hash_set<std::string> kMayBeAhead = {
      v1::DelegationRuleSet::descriptor()->full_name(),
      v1::SigningKeyRegistered::descriptor()->full_name(),
      v1::SigningKeyRevoked::descriptor()->full_name(),
      // At the time of the event it corrects, dated ahead (GovernanceValidator::CheckCorrected).
      v1::CorrectionRecorded::descriptor()->full_name()};
  static const absl::flat_hash_set<std::string> kEntityRegistrations = {
      v1::OrganisationRegistered::descriptor()->full_name(),
      v1::ProgrammeRegistered::descriptor()->full_name(),
      v1::ProjectRegistered::descriptor()->full_name()};
  const int64_t at = EffectiveMicrosOrUnknown(event);
  if (at == kUnknownTime || recorded_micros == 0 ||
      at - recorded_micros <= kFutureAllowanceMicros ||
      !IsGovernanceType(event.event_type())) {
    return absl::OkStatus();
  }
  if (kEntityRegistrations.contains(event.event_type())) {
    if (at - recorded_micros <= kRegistrationAheadMicros) return absl::OkStatus();
    return Refuse(absl::StrCat("event ", absl::AsciiStrToLower(event.event_id())),
                  absl::StrCat("registers ", event.stream_id(), " effective ", FormatRfc3339(at),
                               ", more than a year after it is recorded (",
                               FormatRfc3339(recorded_micros), ")"),
                  "an organisation, programme or project is registered at most a year ahead: "
                  "nothing can be recorded on it before then, and a registration is not "
                  "corrected, so a mistyped year would hold the entity, and its programme's "
                  "closure, back for years");
  }
  if (kMayBeAhead.contains(event.event_type())) return absl::OkStatus();
  return Refuse(absl::StrCat("event ", absl::AsciiStrToLower(event.event_id())),
                absl::StrCat("takes effect ", FormatRfc3339(at),
                             ", more than a day after it is "
                             "recorded (",
                             FormatRfc3339(recorded_micros), ")"),
                "a fact takes effect no later than it is recorded (a day allowed for clocks); "
                "only a registration, a delegation rule's setting and a key's registration "
                "or revocation may be dated ahead (and a correction of a setting or key "
                "registration dated ahead, at its time)");
}

// Whether `type` is in a later version's governance package ("govledger.v2.", ...), reserved
// as govledger.v1 is: FORMAT.md, "Event types and versioning", has a changed meaning go there.
bool InLaterGovernancePackage(absl::string_view type) {
  // In any letter case, as a slip of v1's package is caught (CheckEventTypeName).
  if (!absl::StartsWithIgnoreCase(type, "govledger.v")) return false;
  type.remove_prefix(strlen("govledger.v"));
  size_t digits = 0;
  while (digits < type.size() && absl::ascii_isdigit(static_cast<unsigned char>(type[digits]))) {
    ++digits;
  }
  return digits > 0 && digits < type.size() && type[digits] == '.' &&
         type.substr(0, digits) != "1";
}

namespace {

// A known governance type's payload parsed as its message; null when `type` is none, or the
// payload does not parse.
std::unique_ptr<google::protobuf::Message> ParsedPayload(const v1::Event& event) {
  if (!IsKnownGovernanceType(event.event_type())) return nullptr;
  const google::protobuf::Descriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(event.event_type());
  if (d == nullptr) return nullptr;
  std::unique_ptr<google::protobuf::Message> m(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(d)->New());
  if (!m->ParseFromString(event.payload())) return nullptr;
  return m;
}

}  // namespace

bool ReadableByThisVersion(const v1::Event& event) {
  if (InLaterGovernancePackage(event.event_type())) return false;
  if (!IsGovernanceType(event.event_type())) return true;
  return ParsedPayload(event) != nullptr;
}

std::string UnreadByThisVersion(const v1::Event& event) {
  const std::string& type = event.event_type();
  if (InLaterGovernancePackage(type)) {
    return absl::StrCat("its type is in ", type.substr(0, type.find('.', strlen("govledger."))),
                        ", a later govledger version's package, which this version does not "
                        "read");
  }
  if (!IsGovernanceType(type)) return "";
  if (!IsKnownGovernanceType(type)) {
    return "its type is one of govledger.v1 that this version does not know (a newer "
           "govledgerd's)";
  }
  const std::unique_ptr<google::protobuf::Message> m = ParsedPayload(event);
  if (m == nullptr) return absl::StrCat("its payload does not parse as ", type);
  const std::optional<UnknownField> found = FindUnknownField(*m);
  if (!found) return "";
  if (!found->misencoded.empty()) {
    return absl::StrCat("its payload's bytes are malformed: ",
                        found->path.empty() ? "" : absl::StrCat(found->path, "'s "),
                        found->misencoded);
  }
  return absl::StrCat("its payload holds field number ", found->number,
                      found->path.empty() ? "" : absl::StrCat(" in ", found->path), ", which ",
                      found->type,
                      " does not have in this version (a newer govledgerd's): what it says there "
                      "is left out");
}

// The governance event's name that `type` names without its exact package ("RiskClosed" for
// "riskclosed"), or "":
std::string GovernanceNameIn(absl::string_view type) {
  // Its last word (run of letters and digits: "v1_RiskClosed", "RiskClosed_"), or that word
  // without a version before it ("govledger.v1RiskClosed"), in any letter case
  // ("riskclosed"). (Not words joined: "com.example.risk.closed" is a type of one's own.)
  const auto alnum = [&](size_t i) {
    return absl::ascii_isalnum(static_cast<unsigned char>(type[i]));
  };
  size_t end = type.size();
  while (end > 0 && !alnum(end - 1)) --end;
  size_t begin = end;
  while (begin > 0 && alnum(begin - 1)) --begin;
  // Or its last name (after the last '.') with what separates its words taken out
  // ("RISK_CLOSED", "risk-closed": a constant's spelling of the name, or a file's).
  const size_t name = type.rfind('.');
  std::string joined;
  for (const char c : type.substr(name == absl::string_view::npos ? 0 : name + 1)) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      joined.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  for (const std::string& word :
       {absl::AsciiStrToLower(type.substr(begin, end - begin)), std::move(joined)}) {
    if (auto it = GovernanceState::Access::ShortNames().find(word);
        it != GovernanceState::Access::ShortNames().end()) {
      return it->second;
    }
    if (word.size() > 1 && word[0] == 'v' && absl::ascii_isdigit(word[1])) {
      const size_t digits = word.find_first_not_of("0123456789", 1);
      if (auto versioned = GovernanceState::Access::ShortNames().find(
              digits == std::string::npos ? "" : word.substr(digits));
          versioned != GovernanceState::Access::ShortNames().end()) {
        return versioned->second;
      }
    }
  }
  return "";
}

// Whether `type` is a governance package's name alone, in any letter case: "govledger",
// "govledger.v1", "govledger.v2." (a client's slip: the package where a type was meant).
bool IsGovernancePackageName(absl::string_view type) {
  absl::ConsumeSuffix(&type, ".");
  if (!absl::StartsWithIgnoreCase(type, "govledger")) return false;
  type.remove_prefix(strlen("govledger"));
  if (type.empty()) return true;
  if (!absl::StartsWithIgnoreCase(type, ".v") || type.size() == 2) return false;
  type.remove_prefix(2);
  return std::all_of(type.begin(), type.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

absl::Status CheckEventTypeName(absl::string_view type) {
  if (IsGovernancePackageName(type)) {
    return Invalid(absl::StrCat("event type ", type,
                                " is a package's name, not an event type: give the event's "
                                "message's full name (govledger.v1.RiskClosed, say), or a type "
                                "of your own"));
  }
  if (InLaterGovernancePackage(type)) {
    return Invalid(absl::StrCat(
        "event type ", type, " is in ", type.substr(0, type.find('.', strlen("govledger."))),
        ", a package kept for govledger's own governance events of another version, whose "
        "rules this govledgerd cannot check: upgrade every writer to a govledgerd that knows "
        "it, or give a type of your own (outside govledger.v1, govledger.v2, ...)"));
  }
  if (!IsGovernanceType(type)) {  // opaque
    // Unless it names a governance event without its package, or in another case ("RiskClosed",
    // "GovLedger.v1.RiskClosed"): a client's likeliest slip (a descriptor's short name), which
    // would store the fact unchecked and fold it nowhere.
    if (const std::string last = GovernanceNameIn(type); !last.empty()) {
      return Invalid(absl::StrCat(
          "event type ", type, " names the governance event ", kGovernanceTypePrefix, last,
          " without its exact package: give the full name ", kGovernanceTypePrefix, last,
          " (its message descriptor's full name), or a type of your own whose last word, and "
          "last name with its separators taken out, are not a governance event's name"));
    }
    // Or one in govledger.v1 written in another letter case, whatever its name.
    if (absl::StartsWithIgnoreCase(type, kGovernanceTypePrefix) &&
        !absl::StartsWith(type, kGovernanceTypePrefix)) {
      return Invalid(absl::StrCat(
          "event type ", type, " names the package ", kGovernanceTypePrefix.substr(0, 12),
          " in another letter case: a governance event's type is its message's full name, "
          "exactly (", kGovernanceTypePrefix, "RiskClosed, say)"));
    }
    return absl::OkStatus();
  }
  if (!IsKnownGovernanceType(type)) {
    const std::string meant = GovernanceNameIn(type);
    return Invalid(absl::StrCat(
        "event type ", type,
        " is not a governance event type this govledgerd knows; "
        "types in package govledger.v1 must be known to be appended",
        meant.empty() ? "" : absl::StrCat(" (did you mean ", kGovernanceTypePrefix, meant, "?)")));
  }
  return absl::OkStatus();
}

absl::Status GovernanceState::Apply(const v1::Event& event, Mode mode) {
  const auto& handlers = Access::Handlers();
  if (mode == Mode::kValidate) {
    RETURN_IF_ERROR(CheckEventTypeName(event.event_type()));
    // Checked here, for new events only, not with the envelope: a retry of an event stored
    // before this check is answered as stored, before the rules run.
    if (event.has_effective_time() && event.effective_time().seconds() == 0 &&
        event.effective_time().nanos() == 0) {
      return Invalid(
          "effective_time is 1970-01-01T00:00:00Z, what a Timestamp set but left empty holds "
          "(many client libraries' default): give the time the fact became true, or none for "
          "the time the server receives the append");
    }
  }
  if (!IsGovernanceType(event.event_type())) return absl::OkStatus();  // opaque
  auto handler = handlers.find(event.event_type());
  absl::Status status;
  if (handler == handlers.end()) {
    CountUnknown();
    status = absl::UnimplementedError(
        absl::StrCat("unknown event type ", event.event_type()));
  } else if (mode == Mode::kValidate && event.payload().empty()) {
    // Every governance event names at least its entity: a field's refusal would blame the
    // first field checked rather than the missing payload.
    return Invalid(absl::StrCat("the payload is empty: a ", event.event_type(),
                                " carries its fields in payload, the message serialized (or, "
                                "in the CLI's JSON, as an object)"));
  } else {
    status = handler->second.handle(*this, event, mode);
    if (!status.ok()) {
      if (mode == Mode::kValidate) return status;
      CountUnknown();  // replay: skipped
    }
  }
  // Every governance event (even one skipped by replay) can be named by a
  // correction.
  RememberEvent(event.event_id(), event.stream_id());
  return status;
}

const OrganisationState* GovernanceState::FindOrganisation(
    absl::string_view id) const {
  auto it = organisations_.find(id);
  return it == organisations_.end() ? nullptr : &it->second;
}

const WorkState* GovernanceState::FindProgramme(absl::string_view id) const {
  auto it = work_.find(ProgrammeStream(id));
  return it == work_.end() ? nullptr : &it->second;
}

const WorkState* GovernanceState::FindProject(absl::string_view id) const {
  auto it = work_.find(ProjectStream(id));
  return it == work_.end() ? nullptr : &it->second;
}

const WorkState* GovernanceState::FindWork(const v1::WorkRef& ref) const {
  switch (ref.kind()) {
    case v1::WORK_KIND_PROGRAMME:
      return FindProgramme(ref.id());
    case v1::WORK_KIND_PROJECT:
      return FindProject(ref.id());
    default:
      return nullptr;
  }
}

const RiskState* GovernanceState::FindRisk(absl::string_view id) const {
  auto it = risks_.find(id);
  return it == risks_.end() ? nullptr : &it->second;
}

const ScopeItemState* GovernanceState::FindScopeItem(
    absl::string_view id) const {
  auto it = scope_items_.find(id);
  return it == scope_items_.end() ? nullptr : &it->second;
}

const DecisionState* GovernanceState::FindDecision(
    absl::string_view organisation_id, absl::string_view reference) const {
  auto it = decisions_.find(DecisionStream(organisation_id, reference));
  return it == decisions_.end() ? nullptr : &it->second;
}

const KeyState* GovernanceState::FindKey(absl::string_view id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

const v1::DelegationRuleSet* GovernanceState::FindDelegationRule(
    absl::string_view organisation_id, absl::string_view rule_id) const {
  auto it = rules_.find(DelegationStream(organisation_id, rule_id));
  return it == rules_.end() ? nullptr : &it->second.rule();
}

const v1::DelegationRuleSet* RuleState::InForceAt(int64_t micros) const {
  if (micros == kUnknownTime) return &rule();
  for (auto it = settings.rbegin(); it != settings.rend(); ++it) {
    if (it->micros == kUnknownTime || it->micros <= micros) return &it->rule;
  }
  return nullptr;
}

std::optional<EventRecord> GovernanceState::FindEvent(
    absl::string_view event_id) const {
  std::optional<EventKey> key = ParseUuid(event_id);
  if (!key) return std::nullopt;
  EventRecord record;
  auto it = events_.find(*key);
  if (it != events_.end()) {
    record.stream_id = stream_ids_[it->second];
  } else if (std::optional<std::string> stream =
                 lookup_ ? lookup_(event_id) : std::nullopt) {
    record.stream_id = *std::move(stream);
  } else {
    return std::nullopt;
  }
  if (auto c = corrections_.find(absl::AsciiStrToLower(event_id));
      c != corrections_.end()) {
    record.corrected_by = c->second;
  }
  return record;
}

int GovernanceState::LongestPlan(const WorkState& programme) {
  int longest = programme.programme.planned_weeks();
  if (!programme.replans.empty()) {
    longest = std::max(longest, static_cast<int>(programme.as_registered.planned_weeks()));
    for (const WorkState::Replan& r : programme.replans) {
      longest = std::max(longest, static_cast<int>(r.replan.planned_weeks()));
    }
  }
  return longest;
}

std::map<std::string, std::string> GovernanceState::ProgrammesReportedPastTheirPlan() const {
  // One work is enough to say: of a programme and its projects, the one reported for the latest
  // week, by least stream on a tie, so that the same state says the same every time.
  struct Past {
    const std::string* stream;
    const WorkState* work;
    int longest;
  };
  std::map<std::string, Past> past;  // by programme id
  for (const auto& [stream, w] : work_) {
    if (w.max_reported_week == 0) continue;
    const WorkState* programme =
        w.ref.kind() == v1::WORK_KIND_PROGRAMME ? &w : FindProgramme(w.programme_id);
    if (programme == nullptr) continue;
    const int longest = LongestPlan(*programme);
    if (w.max_reported_week <= longest) continue;
    auto [it, added] = past.try_emplace(programme->ref.id(), Past{&stream, &w, longest});
    const Past& said = it->second;
    if (!added &&
        (w.max_reported_week > said.work->max_reported_week ||
         (w.max_reported_week == said.work->max_reported_week && stream < *said.stream))) {
      it->second = Past{&stream, &w, longest};
    }
  }
  std::map<std::string, std::string> out;
  for (const auto& [programme_id, p] : past) {
    out[programme_id] = absl::StrCat(Describe(p.work->ref), " reported for plan week ",
                                     p.work->max_reported_week, ", past the ", p.longest,
                                     " weeks of programme ", programme_id, "'s longest plan left");
  }
  return out;
}

std::map<std::string, std::string> GovernanceState::DecisionsShortOfTheirRules() const {
  std::map<std::string, std::string> out;
  // In the order of their ids, so that a decision two rules find short is always reported
  // against the same one.
  std::vector<const RuleState*> rules;
  for (const auto& [rule_stream, rule] : rules_) rules.push_back(&rule);
  std::sort(rules.begin(), rules.end(), [](const RuleState* a, const RuleState* b) {
    return a->rule().rule_id() < b->rule().rule_id();
  });
  for (const auto& [stream, d] : decisions_) {
    if (d.outcome != DecisionState::Outcome::kPending || d.proposed_micros == kUnknownTime) {
      continue;
    }
    for (const RuleState* rule_state : rules) {
      const RuleState& rule = *rule_state;
      if (rule.rule().organisation_id() != d.proposed.organisation_id()) continue;
      const v1::DelegationRuleSet* setting = rule.InForceAt(d.proposed_micros);
      if (setting == nullptr) continue;
      if (const std::optional<int64_t> counted = Access::Shortfall(*setting, d.proposed)) {
        out.emplace(stream, absl::StrCat("decision ", d.proposed.organisation_id(), "/",
                                         d.proposed.reference(), " (",
                                         FormatPence(*counted), ") without the role '",
                                         setting->role(), "' that delegation rule ",
                                         setting->organisation_id(), "/", setting->rule_id(),
                                         " requires of it"));
        break;
      }
    }
  }
  return out;
}

std::map<std::string, std::set<std::string>> GovernanceState::DecisionsHeldByTheirRules() const {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [stream, d] : decisions_) {
    if (d.proposed_micros == kUnknownTime ||
        (d.outcome != DecisionState::Outcome::kPending && d.signing_keys.empty())) {
      continue;
    }
    std::set<std::string>& held = out[stream];  // (weighed: listed even if held to none)
    for (const auto& [rule_stream, rule] : rules_) {
      if (rule.rule().organisation_id() != d.proposed.organisation_id()) continue;
      const v1::DelegationRuleSet* setting = rule.InForceAt(d.proposed_micros);
      if (setting == nullptr || !Access::HasRole(d.proposed, setting->role()) ||
          !Access::Reaches(*setting, d.proposed).has_value()) {
        continue;
      }
      held.insert(absl::StrCat("delegation rule ", setting->organisation_id(), "/",
                               setting->rule_id(), "'s role '", setting->role(), "'"));
    }
  }
  return out;
}

std::vector<const WorkState*> GovernanceState::ProjectsOf(
    absl::string_view programme_id) const {
  std::vector<const WorkState*> out;
  for (const auto& [stream, w] : work_) {
    if (w.ref.kind() == v1::WORK_KIND_PROJECT &&
        w.programme_id == programme_id) {
      out.push_back(&w);
    }
  }
  std::sort(out.begin(), out.end(), [](const WorkState* a, const WorkState* b) {
    return a->ref.id() < b->ref.id();
  });
  return out;
}

}  // namespace govledger::projections
