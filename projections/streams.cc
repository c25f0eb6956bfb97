#include "projections/streams.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "unicode/normalizer2.h"
#include "unicode/unistr.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/common/names.h"
#include "ledger/common/text.h"

namespace govledger::projections {
namespace {

// The first segment of each EntityKind's streams, '/' included, in the enum's order.
constexpr absl::string_view kEntityPrefixes[] = {
    "organisation/", "programme/", "project/", "risk/",
    "scope/",        "key/",       "delegation/", "decision/",
};

static_assert(std::size(kEntityPrefixes) == static_cast<size_t>(EntityKind::kDecision) + 1,
              "one prefix for each EntityKind");

std::string StreamOf(EntityKind kind, absl::string_view id) {
  return absl::StrCat(kEntityPrefixes[static_cast<int>(kind)], id);
}

}  // namespace

absl::Status CheckId(absl::string_view field, absl::string_view id) {
  if (id.empty())
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (id.size() > kMaxEntityIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " has ", id.size(), " bytes; at most ", kMaxEntityIdLength));
  }
  for (char c : id) {
    if (!IsSegmentChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " '", PrintableText(id),
          "' may hold only A-Z a-z 0-9 . _ : - (it names a stream)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReference(absl::string_view reference) {
  if (reference.empty())
    return absl::InvalidArgumentError("reference is required");
  if (reference.size() > kMaxEntityIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("reference has ", reference.size(),
                     " bytes; at most ", kMaxEntityIdLength));
  }
  for (char c : reference) {
    if (!IsSegmentChar(c) && c != '/' && c != ' ') {
      return absl::InvalidArgumentError(
          absl::StrCat("reference '", PrintableText(reference),
                       "' may hold only A-Z a-z 0-9 . _ : - / and spaces"));
    }
  }
  if (reference.front() == '/' || reference.back() == '/' ||
      reference.front() == ' ' || reference.back() == ' ' ||
      absl::StrContains(reference, "//")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reference '", reference,
        "' may not start or end with '/' or a space, or hold '//'"));
  }
  return absl::OkStatus();
}

std::string FoldForComparison(absl::string_view text) {
  // ASCII text, the most of it (references are ASCII only), folds to its lower case: ICU
  // would give the same, a dozen times slower.
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return absl::AsciiStrToLower(text);
  }
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(error);
  if (U_FAILURE(error)) {
    // ICU's data is part of libicu: missing, it is a broken installation, not an input.
    std::fprintf(stderr, "govledger: ICU's NFKC_Casefold data is missing (%s)\n",
                 u_errorName(error));
    std::abort();
  }
  const icu::UnicodeString folded = fold->normalize(
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))),
      error);
  if (U_FAILURE(error)) return std::string(text);  // only on exhausted memory
  std::string out;
  folded.toUTF8String(out);
  return out;
}

std::string SpellingKey(absl::string_view name) {
  const std::string folded = FoldForComparison(name);
  std::string spaced;
  spaced.reserve(folded.size());
  for (size_t i = 0; i < folded.size();) {
    uint32_t cp = 0;
    const size_t n = std::max<size_t>(1, Utf8Length(absl::string_view(folded).substr(i), &cp));
    if (cp == '-' || IsWhiteSpace(cp) || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212) {
      spaced.push_back(' ');
    } else {
      spaced.append(folded, i, n);
    }
    i += n;
  }
  return absl::StrJoin(absl::StrSplit(spaced, ' ', absl::SkipEmpty()), " ");
}

std::string ReferenceSlug(absl::string_view reference) {
  std::string slug(reference.data(), reference.size());
  for (char& c : slug) {
    if (c == ' ') c = '-';
  }
  return slug;
}

std::optional<EntityStream> ParseEntityStream(absl::string_view stream) {
  for (int k = 0; k < static_cast<int>(std::size(kEntityPrefixes)); ++k) {
    absl::string_view id = stream;
    if (absl::ConsumePrefix(&id, kEntityPrefixes[k]) && !id.empty()) {
      return EntityStream{static_cast<EntityKind>(k), id};
    }
  }
  return std::nullopt;
}

std::string OrganisationStream(absl::string_view id) {
  return StreamOf(EntityKind::kOrganisation, id);
}
std::string ProgrammeStream(absl::string_view id) { return StreamOf(EntityKind::kProgramme, id); }
std::string ProjectStream(absl::string_view id) { return StreamOf(EntityKind::kProject, id); }
std::string RiskStream(absl::string_view id) { return StreamOf(EntityKind::kRisk, id); }
std::string ScopeStream(absl::string_view id) { return StreamOf(EntityKind::kScope, id); }
std::string KeyStream(absl::string_view id) { return StreamOf(EntityKind::kKey, id); }
std::string DelegationStream(absl::string_view organisation_id, absl::string_view rule_id) {
  return StreamOf(EntityKind::kDelegation, absl::StrCat(organisation_id, "/", rule_id));
}
std::string DecisionStream(absl::string_view organisation_id, absl::string_view reference) {
  return StreamOf(EntityKind::kDecision,
                  absl::StrCat(organisation_id, "/", ReferenceSlug(reference)));
}

absl::StatusOr<std::string> WorkStream(absl::string_view field,
                                       const v1::WorkRef& ref) {
  switch (ref.kind()) {
    case v1::WORK_KIND_PROGRAMME:
      if (absl::Status s = CheckId(absl::StrCat(field, ".id"), ref.id());
          !s.ok())
        return s;
      return ProgrammeStream(ref.id());
    case v1::WORK_KIND_PROJECT:
      if (absl::Status s = CheckId(absl::StrCat(field, ".id"), ref.id());
          !s.ok())
        return s;
      return ProjectStream(ref.id());
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".kind must be WORK_KIND_PROGRAMME or WORK_KIND_PROJECT"));
  }
}

std::string Describe(const v1::WorkRef& ref) {
  switch (ref.kind()) {
    case v1::WORK_KIND_PROGRAMME:
      return absl::StrCat("programme ", ref.id());
    case v1::WORK_KIND_PROJECT:
      return absl::StrCat("project ", ref.id());
    default:  // unset, or a kind this version does not know (a newer govledgerd's)
      return absl::StrCat("work of kind ", static_cast<int>(ref.kind()), " ", ref.id());
  }
}

}  // namespace govledger::projections
