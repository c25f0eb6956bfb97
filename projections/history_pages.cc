#include "projections/history_pages.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ledger/crypto/sha256.h"
#include "ledger/common/numbers.h"

namespace govledger::projections {

namespace {

// What a token is given for: the request's stream id and its as_at, serialized (protobuf's
// serialization of a message without maps is the same bytes every time).
std::string RequestIdentity(const v1::GetEntityHistoryRequest& request) {
  return absl::StrCat(request.stream_id().size(), ":", request.stream_id(),
                      request.as_at().SerializeAsString());
}

// A token's check: 16 hex digits of SHA-256 over what it is given for and its two numbers, so
// that a token edited, or passed with another request, is refused. Not a secret: a token
// grants nothing that the request could not ask for itself.
std::string TokenCheck(const std::string& identity, uint64_t position, uint64_t first) {
  const crypto::Hash h = crypto::Sha256(identity, absl::StrCat(position, ".", first));
  return crypto::ToHex(crypto::AsBytes(h).substr(0, 8));
}

// A decimal number as this server writes it: digits only, no leading zero.
bool ParseNumber(absl::string_view text, uint64_t* out) {
  if (text.size() > 1 && text[0] == '0') return false;
  return ParseWholeNumber(std::string_view(text.data(), text.size()),
                          std::numeric_limits<uint64_t>::max(), out);
}

absl::Status NotOurs(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "page_token is not one this server gave for this request (", why,
      "): pass the answer before's next_page_token as it came, with the same stream_id and "
      "as_at, or no page_token for the first page"));
}

}  // namespace

absl::StatusOr<HistoryPage> OpenHistoryPage(const v1::GetEntityHistoryRequest& request) {
  HistoryPage page;
  page.request = request;
  page.paged = request.page_size() > 0 || !request.page_token().empty();
  if (!page.paged) return page;
  page.identity = RequestIdentity(request);
  if (request.page_token().empty()) return page;
  // "<position>.<first entry>.<check>"
  const std::vector<absl::string_view> parts = absl::StrSplit(request.page_token(), '.');
  uint64_t position = 0;
  if (parts.size() != 3 || !ParseNumber(parts[0], &position) ||
      !ParseNumber(parts[1], &page.first) || page.first == 0) {
    return NotOurs("it does not parse");
  }
  if (parts[2] != TokenCheck(page.identity, position, page.first)) {
    return NotOurs(
        "its check does not match: it was edited, or given for another stream_id or "
        "as_at");
  }
  page.cut_position = position;
  v1::AsAt& as_at = *page.request.mutable_as_at();
  if (as_at.mode() == v1::AS_AT_MODE_AS_KNOWN && as_at.known_through() == 0) {
    as_at.set_known_through(position);
  }
  return page;
}

absl::Status CutHistoryPage(const HistoryPage& page, v1::GetEntityHistoryResponse* answer) {
  if (!page.paged) return absl::OkStatus();
  const uint64_t position = answer->as_at().position();
  if (page.cut_position && position != *page.cut_position) {
    return absl::AbortedError(absl::StrCat(
        "the history's cut now resolves to position ", position, ", not ", *page.cut_position,
        " as for its first page: ask again from the first page, with no page_token"));
  }
  const uint64_t changes = answer->changes_size();
  const uint64_t total = changes + answer->voided_size();
  // (A first page, page.first 0, may be empty: the query itself refuses an empty history.)
  if (page.first > 0 && page.first >= total) {
    return NotOurs(absl::StrCat("its first entry, ", page.first,
                                ", is past the history's end at this cut (", total, " entries)"));
  }
  uint64_t end = page.first;
  size_t bytes = 0;
  while (end < total &&
         (page.request.page_size() == 0 || end - page.first < page.request.page_size())) {
    bytes += end < changes ? answer->changes(end).ByteSizeLong()
                           : answer->voided(end - changes).ByteSizeLong();
    ++end;
    if (bytes >= kMaxHistoryPageBytes) break;
  }
  // Keep entries [first, end): changes [first, end) and voided [first - changes, end - changes),
  // each clamped to its field.
  auto keep = [](auto* field, uint64_t from, uint64_t to) {
    const int size = field->size();
    const int a = static_cast<int>(std::min<uint64_t>(from, size));
    const int b = static_cast<int>(std::min<uint64_t>(to, size));
    field->DeleteSubrange(b, size - b);
    field->DeleteSubrange(0, a);
  };
  keep(answer->mutable_changes(), page.first, end);
  keep(answer->mutable_voided(), page.first > changes ? page.first - changes : 0,
       end > changes ? end - changes : 0);
  if (end < total) {
    answer->set_next_page_token(
        absl::StrCat(position, ".", end, ".", TokenCheck(page.identity, position, end)));
  }
  return absl::OkStatus();
}

}  // namespace govledger::projections
