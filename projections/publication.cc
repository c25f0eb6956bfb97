#include "projections/publication.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "ledger/common/time.h"
#include "projections/as_at.h"
#include "projections/governance_state.h"
#include "projections/streams.h"

namespace govledger::projections {

bool Unpublished(const v1::Date& until, int64_t now_micros) {
  if (until.year() == 0) return false;  // an unset Date: not deferred
  return now_micros < DateMicros(until);
}

void WithholdUnpublished(int64_t now_micros, v1::GetDecisionRegisterResponse* answer) {
  // The approved spend again, from the decisions left whole, as the register adds it (a
  // withheld decision's amounts taken from a total held at the largest int64 would leave a
  // figure that is neither).
  std::map<std::pair<std::string, int>, int64_t> spend;
  for (v1::DecisionEntry& e : *answer->mutable_decisions()) {
    if (!Unpublished(e.part1_deferred_until(), now_micros)) {
      if (e.status() != v1::DECISION_STATUS_APPROVED) continue;
      for (const v1::DecisionAmount& a : e.amounts()) {
        if (a.noted_only()) continue;
        int64_t& total = spend[{a.funding_source(), a.kind()}];
        total = AddPence(total, a.pence());
      }
      continue;
    }
    e.clear_title();
    e.clear_amounts();
    e.clear_delegations();
    e.clear_originating_officer_declarations();
    e.clear_officer_approvals();
    e.clear_delegated_authorities();
    e.clear_recommendations();
    e.clear_related_decisions();
    e.clear_part2();
    // Sources may name the record of decision by its title.
    WithholdSource(e.mutable_proposed_source());
    WithholdSource(e.mutable_outcome_source());
    e.clear_outcome_reason();
    e.clear_rejected_by();  // free text, which may say more than a name
    for (v1::DecisionSignature& s : *e.mutable_signatures()) {
      s.clear_declaration();
      WithholdSource(s.mutable_source());
    }
    if (e.has_referred_under()) e.mutable_referred_under()->clear_delegation_id();
    for (v1::DecisionReferral& r : *e.mutable_referrals()) r.clear_delegation_id();
    e.set_withheld(true);
    answer->set_withheld(answer->withheld() + 1);
  }
  answer->clear_approved_spend();
  for (const auto& [key, pence] : spend) {
    v1::SpendTotal* t = answer->add_approved_spend();
    t->set_funding_source(key.first);
    t->set_kind(static_cast<v1::AmountKind>(key.second));
    t->set_pence(pence);
  }
}

void WithholdUnpublished(int64_t now_micros, const std::vector<DeferredCitations>& deferred,
                         const std::string& stream_id, v1::GetEntityHistoryResponse* history) {
  auto withheld = [&](absl::string_view stream) {
    return std::any_of(deferred.begin(), deferred.end(), [&](const auto& d) {
      return d.stream_id == stream && Unpublished(d.part1_deferred_until, now_micros);
    });
  };
  // A decision referred back under a withheld decision's delegated authority says under whose,
  // not which authority: its delegation id names it. ("referred under": "PCD 72, delegation
  // D1", a decision of the stream's organisation.)
  if (absl::StartsWith(stream_id, "decision/")) {
    const absl::string_view rest = absl::string_view(stream_id).substr(9);
    const absl::string_view organisation = rest.substr(0, rest.find('/'));
    auto redact = [&](google::protobuf::RepeatedPtrField<v1::Aspect>* aspects) {
      for (v1::Aspect& a : *aspects) {
        if (a.name() != kReferredUnderAspect) continue;
        const std::string reference = a.value().substr(0, a.value().find(", delegation "));
        if (withheld(DecisionStream(organisation, reference))) a.set_value(reference);
      }
    };
    for (v1::EntityChange& c : *history->mutable_changes()) {
      redact(c.mutable_before());
      redact(c.mutable_after());
      redact(c.mutable_before_at_effective_time());
      redact(c.mutable_after_at_effective_time());
    }
  }
  bool unpublished = withheld(stream_id);
  // Nothing folded, and the head's deferrals (which hold every decision deferred, one whose
  // proposals corrections all void included) hold none in force for the stream: nothing to
  // withhold (another entity's history has no Part 1).
  if (!unpublished && history->changes().empty()) return;
  // "2017-05-01": ISO dates order as text.
  const std::string today = FormatRfc3339(now_micros).substr(0, 10);
  if (!unpublished) {  // as the proposal standing at the cut defers it
    for (const v1::Aspect& a : history->changes().rbegin()->after()) {
      if (a.name() == kPart1DeferredAspect) unpublished = today < a.value();
    }
  }
  if (!unpublished) return;
  // Its events' sources may name what is withheld (a record of decision by its title).
  for (v1::EntityChange& c : *history->mutable_changes()) {
    WithholdSource(c.mutable_event()->mutable_source());
    if (c.has_corrects()) WithholdSource(c.mutable_corrects()->mutable_source());
  }
  for (v1::VoidedEvent& v : *history->mutable_voided()) {
    WithholdSource(v.mutable_event()->mutable_source());
    if (v.has_voided_by()) WithholdSource(v.mutable_voided_by()->mutable_source());
  }
  auto drop = [](google::protobuf::RepeatedPtrField<v1::Aspect>* aspects) {
    aspects->erase(std::remove_if(aspects->begin(), aspects->end(),
                                  [](const v1::Aspect& a) {
                                    return a.name() == kInterestsDeclaredAspect ||
                                           a.name() == kReferredUnderAspect ||
                                           a.name() == kAmountAspect;
                                  }),
                   aspects->end());
  };
  for (v1::EntityChange& c : *history->mutable_changes()) {
    drop(c.mutable_before());
    drop(c.mutable_after());
    drop(c.mutable_before_at_effective_time());
    drop(c.mutable_after_at_effective_time());
    if (!c.note().empty()) c.set_note(kWithheldNote);
  }
  for (v1::VoidedEvent& v : *history->mutable_voided()) {
    if (!v.reason().empty()) v.set_reason(kWithheldNote);
  }
}

void WithholdSource(std::string* source) {
  if (!source->empty()) *source = kWithheldSource;
}

absl::flat_hash_set<std::string> WithheldSources(const std::vector<DeferredCitations>& deferred,
                                                 int64_t now_micros) {
  absl::flat_hash_set<std::string> out;
  for (const DeferredCitations& d : deferred) {
    if (Unpublished(d.part1_deferred_until, now_micros)) {
      out.insert(d.sources.begin(), d.sources.end());
    }
  }
  return out;
}

void WithholdSources(const absl::flat_hash_set<std::string>& sources,
                     google::protobuf::Message* answer) {
  if (sources.empty()) return;
  namespace pb = ::google::protobuf;
  const pb::Reflection* reflection = answer->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(*answer, &fields);  // those set: a cleared field is never listed
  for (const pb::FieldDescriptor* field : fields) {
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*answer, field); ++i) {
          WithholdSources(sources, reflection->MutableRepeatedMessage(answer, field, i));
        }
      } else {
        WithholdSources(sources, reflection->MutableMessage(answer, field));
      }
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
               !field->is_repeated() &&
               (field->name() == "source" || absl::EndsWith(field->name(), "_source")) &&
               field->name() != "funding_source" &&
               sources.contains(reflection->GetString(*answer, field))) {
      reflection->SetString(answer, field, kWithheldSource);
    }
  }
}

}  // namespace govledger::projections
