#include "projections/streams.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ledger/common/names.h"
#include "ledger/common/text.h"
#include "unicode/locid.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/uspoof.h"

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

std::string SpellingKey(absl::string_view reference) {
  std::vector<std::string> words;
  for (size_t i = 0; i < reference.size();) {
    const auto alnum = [&](size_t k) {
      return absl::ascii_isalnum(static_cast<unsigned char>(reference[k]));
    };
    const auto digit = [&](size_t k) {
      return absl::ascii_isdigit(static_cast<unsigned char>(reference[k]));
    };
    if (!alnum(i)) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < reference.size() && alnum(end) && digit(end) == digit(i)) ++end;
    absl::string_view word = reference.substr(i, end - i);
    // A number, as its value reads ("072" is "72", "00" is "0"), but not a fraction's digits
    // after a full stop ("3.01" and "3.1" are two sections).
    if (digit(i) && !(i >= 2 && reference[i - 1] == '.' && digit(i - 2))) {
      while (word.size() > 1 && word.front() == '0') word.remove_prefix(1);
    }
    words.push_back(absl::AsciiStrToLower(word));
    i = end;
  }
  return absl::StrJoin(words, " ");
}

namespace {

[[noreturn]] void IcuBroken(const char* what, UErrorCode error) {
  // ICU's data is part of libicu: missing, it is a broken installation, not an input.
  std::fprintf(stderr, "govledger: ICU's %s is missing (%s)\n", what, u_errorName(error));
  std::abort();
}

const icu::Normalizer2& Normalizer(const icu::Normalizer2* (*get)(UErrorCode&), const char* what) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* n = get(error);
  if (U_FAILURE(error)) IcuBroken(what, error);
  return *n;
}

// The confusable skeleton of `text` (UTS #39). A USpoofChecker is safe to share once made.
icu::UnicodeString Skeleton(const icu::UnicodeString& text) {
  static USpoofChecker* const checker = [] {
    UErrorCode error = U_ZERO_ERROR;
    USpoofChecker* c = uspoof_open(&error);
    if (U_FAILURE(error)) IcuBroken("confusables data", error);
    return c;
  }();
  UErrorCode error = U_ZERO_ERROR;
  icu::UnicodeString out;
  uspoof_getSkeletonUnicodeString(checker, 0, text, out, &error);
  return U_FAILURE(error) ? text : out;  // only on exhausted memory
}

// How LookAlikeKey takes the text's letter case, before its skeleton: folded; kept (capitals
// alike only as capitals: Cyrillic "В" and "B"); or upper case (a digit zero as a capital O in
// a name written in capitals: "B0B" and "Bob", which neither other key meets, since a skeleton
// maps "0" to "O" and folding leaves "o"). Never the skeleton folded: a skeleton maps "I" to
// "l", which folding "L" would then meet.
enum class LetterCase { kFolded, kKept, kUpper };

// One of the keys LookAlike compares: the skeleton of the text with its letter case as `cased`.
std::string LookAlikeKey(absl::string_view text, LetterCase cased) {
  static const icu::Normalizer2& fold =
      Normalizer(icu::Normalizer2::getNFKCCasefoldInstance, "NFKC_Casefold data");
  static const icu::Normalizer2& nfd = Normalizer(icu::Normalizer2::getNFDInstance, "NFD data");
  UErrorCode error = U_ZERO_ERROR;
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  // Fillers that show as a blank, which the normalization would drop as showing nothing
  // (Hangul fillers): spaces, as they look.
  for (int32_t i = 0; i < u.length(); ++i) {
    const UChar c = u.charAt(i);
    if (c == 0x115F || c == 0x1160 || c == 0x3164 || c == 0xFFA0) u.setCharAt(i, u' ');
  }
  // (As written: not NFKC's compatibility forms either, which map a lunate "Ϲ" to "Σ".)
  if (cased == LetterCase::kFolded) u = fold.normalize(u, error);
  if (cased == LetterCase::kUpper) u.toUpper(icu::Locale::getRoot());
  u = Skeleton(u);
  u = nfd.normalize(u, error);
  icu::UnicodeString kept;
  bool space = true;  // none at the start, runs as one
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) == U_NON_SPACING_MARK || u_charType(c) == U_ENCLOSING_MARK ||
        u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
      continue;  // accents, and what shows nothing (U+200B, a soft hyphen)
    }
    // Blanks (U+2800, U+FFF9), and punctuation, which a reader passes over as they do a space:
    // "Alice Smith." and "Alice_Smith" are "Alice Smith"; "O’Brien" is "O'Brien".
    if (u_isUWhiteSpace(c) || InvisibleInName(static_cast<char32_t>(c)) || u_ispunct(c) ||
        c == 0x2212) {
      if (!space) kept.append(static_cast<UChar>(' '));
      space = true;
      continue;
    }
    kept.append(c);
    space = false;
  }
  if (kept.endsWith(icu::UnicodeString(static_cast<UChar>(' ')))) kept.truncate(kept.length() - 1);
  std::string out;
  kept.toUTF8String(out);
  return out;
}

}  // namespace

bool IsComposed(absl::string_view text) {
  static const icu::Normalizer2& nfc = Normalizer(icu::Normalizer2::getNFCInstance, "NFC data");
  UErrorCode error = U_ZERO_ERROR;
  const bool composed = nfc.isNormalized(
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))),
      error);
  return U_SUCCESS(error) && composed;
}

bool LookAlike(absl::string_view a, absl::string_view b) {
  if (a == b) return true;
  for (LetterCase cased : {LetterCase::kFolded, LetterCase::kKept, LetterCase::kUpper}) {
    if (LookAlikeKey(a, cased) == LookAlikeKey(b, cased)) return true;
  }
  return false;
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
