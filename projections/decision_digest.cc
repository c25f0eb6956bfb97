#include "projections/decision_digest.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/common/big_endian.h"
#include "ledger/crypto/sha256.h"

namespace govledger::projections {
namespace {

void Field(absl::string_view x, std::string* out) {
  AppendBigEndian(static_cast<uint32_t>(x.size()), out);
  out->append(x.data(), x.size());
}

void List(std::vector<std::string> items, bool sort, std::string* out) {
  if (sort) std::sort(items.begin(), items.end());
  Field(absl::StrCat(items.size()), out);
  for (const std::string& item : items) Field(item, out);
}

// Written here, not by FormatDate (as_at.h), which may change as a display: these bytes are
// signed, and must stay as FORMAT.md gives them.
std::string DateText(const v1::Date& date) {
  if (date.year() == 0 && date.month() == 0 && date.day() == 0) return "";
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(),
                         date.day());
}

std::string KindText(v1::AmountKind kind) {
  switch (kind) {
    case v1::AMOUNT_KIND_CAPITAL:
      return "CAPITAL";
    case v1::AMOUNT_KIND_REVENUE:
      return "REVENUE";
    case v1::AMOUNT_KIND_ONE_OFF:
      return "ONE_OFF";
    default:
      return "UNSPECIFIED";
  }
}

void Statements(const google::protobuf::RepeatedPtrField<v1::OfficerStatement>& statements,
                std::string* out) {
  std::vector<std::string> items;
  for (const v1::OfficerStatement& s : statements) {
    std::string item;
    Field(s.role(), &item);
    Field(s.name(), &item);
    Field(s.statement(), &item);
    Field(DateText(s.dated()), &item);
    items.push_back(std::move(item));
  }
  List(std::move(items), /*sort=*/false, out);
}

}  // namespace

std::string CanonicalDecisionEncoding(const v1::DecisionProposed& d) {
  std::string out;
  Field(kDecisionDigestTag, &out);
  Field(d.organisation_id(), &out);
  Field(d.reference(), &out);
  Field(d.title(), &out);
  List({d.recommendations().begin(), d.recommendations().end()}, /*sort=*/false,
       &out);
  std::vector<std::string> amounts;
  for (const v1::DecisionAmount& a : d.amounts()) {
    std::string amount;
    Field(KindText(a.kind()), &amount);
    Field(absl::StrCat(a.pence()), &amount);
    Field(a.funding_source(), &amount);
    Field(a.description(), &amount);
    Field(a.noted_only() ? "noted" : "approved", &amount);
    amounts.push_back(std::move(amount));
  }
  List(std::move(amounts), /*sort=*/true, &out);
  List({d.required_signatory_roles().begin(),
        d.required_signatory_roles().end()},
       true, &out);
  List({d.related_decisions().begin(), d.related_decisions().end()}, true,
       &out);
  Field(d.part1_text(), &out);
  Field(DateText(d.part1_deferred_until()), &out);
  Field(d.part2().text(), &out);
  Field(d.part2().reason(), &out);
  Field(DateText(d.part2().publication_deferred_until()), &out);
  Field(d.programme_id(), &out);
  // A section added with the officers' statements: present only when there is one, so that the
  // digests of decisions without them are those they always had.
  if (!d.originating_officer_declarations().empty() || !d.officer_approvals().empty()) {
    Field(kOfficersSectionTag, &out);
    Statements(d.originating_officer_declarations(), &out);
    Statements(d.officer_approvals(), &out);
  }
  // Likewise the delegation section, added with delegated authority and referrals.
  if (!d.delegated_authorities().empty() || d.has_referred_under()) {
    Field(kDelegationSectionTag, &out);
    std::vector<std::string> authorities;
    for (const v1::DelegatedAuthority& a : d.delegated_authorities()) {
      std::string authority;
      Field(a.delegation_id(), &authority);
      List({a.delegate_roles().begin(), a.delegate_roles().end()}, /*sort=*/true, &authority);
      Field(a.scope(), &authority);
      Field(a.referral_condition(), &authority);
      List({a.referral_roles().begin(), a.referral_roles().end()}, /*sort=*/true, &authority);
      authorities.push_back(std::move(authority));
    }
    List(std::move(authorities), /*sort=*/true, &out);
    Field(d.referred_under().reference(), &out);
    Field(d.referred_under().delegation_id(), &out);
  }
  return out;
}

std::string DecisionDigest(const v1::DecisionProposed& decision) {
  crypto::Hash h = crypto::Sha256(CanonicalDecisionEncoding(decision));
  return std::string(crypto::AsBytes(h).data(), crypto::kHashSize);
}

namespace {

// UnknownDecisionContent's walk: `path` names `m` ("" for the decision itself).
std::string UnknownContent(const google::protobuf::Message& m, const std::string& path) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const std::string in = path.empty() ? "" : absl::StrCat(" in ", path);
  if (const google::protobuf::UnknownFieldSet& unknown = r->GetUnknownFields(m);
      !unknown.empty()) {
    return absl::StrCat("field number ", unknown.field(0).number(), in);
  }
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!message && f->cpp_type() != FieldDescriptor::CPPTYPE_ENUM) continue;
    const int n = f->is_repeated() ? r->FieldSize(m, f) : (r->HasField(m, f) ? 1 : 0);
    for (int k = 0; k < n; ++k) {
      const std::string name = absl::StrCat(path, path.empty() ? "" : ".", f->name(),
                                            f->is_repeated() ? absl::StrCat("[", k, "]") : "");
      if (message) {
        std::string found = UnknownContent(
            f->is_repeated() ? r->GetRepeatedMessage(m, f, k) : r->GetMessage(m, f), name);
        if (!found.empty()) return found;
        continue;
      }
      const int value = f->is_repeated() ? r->GetRepeatedEnumValue(m, f, k)
                                         : r->GetEnumValue(m, f);
      if (f->enum_type()->FindValueByNumber(value) == nullptr) {
        return absl::StrCat(name, " value ", value);
      }
    }
  }
  return "";
}

}  // namespace

std::string UnknownDecisionContent(const v1::DecisionProposed& decision) {
  return UnknownContent(decision, "");
}

std::string SignatureDigest(absl::string_view decision_digest,
                            const v1::InterestsDeclaration& declaration) {
  std::string encoding;
  Field(kSignatureDigestTag, &encoding);
  Field(decision_digest, &encoding);
  Field(declaration.statement(), &encoding);
  Field(declaration.interests(), &encoding);
  crypto::Hash h = crypto::Sha256(encoding);
  return std::string(crypto::AsBytes(h).data(), crypto::kHashSize);
}

std::string SignedDigest(absl::string_view decision_digest, const v1::DecisionSigned& signature) {
  if (!signature.has_declaration()) return std::string(decision_digest);
  return SignatureDigest(decision_digest, signature.declaration());
}

}  // namespace govledger::projections
