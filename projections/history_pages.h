// The pages of an entity's history (GetEntityHistoryRequest.page_size and page_token; README,
// "Paging a history").
//
// A history is folded whole at its cut, withheld from as the caller's role requires, and then
// cut into pages: its entries are `changes` and then `voided`, in that order, and a page holds
// the next page_size of them (0: no limit) and ends early with the entry that takes it to
// kMaxHistoryPageBytes. A page token names the first page's resolved cut position and the index
// of the page's first entry, with a check over both and the request's stream_id and as_at, so
// that a token edited or passed with another request is refused. Every later page answers at
// the first page's cut: an AS_KNOWN request that read to the head reads only as far as the
// first page did (known_through is pinned). An AS_RECORDED cut is fixed by its point (a
// position, or a time or programme week already past when the first page was asked, after
// which no event can be recorded); one that resolved elsewhere all the same would be refused.
// Pure functions of the request and the answer.
#ifndef GOVLEDGER_PROJECTIONS_HISTORY_PAGES_H_
#define GOVLEDGER_PROJECTIONS_HISTORY_PAGES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "govledger/v1/query.pb.h"

namespace govledger::projections {

// A page ends with the entry that takes it to this many bytes (so it holds at most this and
// one entry), as a Read page does.
inline constexpr size_t kMaxHistoryPageBytes = 16 << 20;

// What a request asks of its answer's pages.
struct HistoryPage {
  // The request to fold: as given, with an AS_KNOWN cut's known_through pinned to the first
  // page's position when it asks for a later page.
  v1::GetEntityHistoryRequest request;
  // False: the whole history, in one answer (page_size 0 and no page_token).
  bool paged = false;
  // The index of the page's first entry.
  uint64_t first = 0;
  // The first page's resolved position (ResolvedAsAt.position), for a later page.
  std::optional<uint64_t> cut_position;
  // The request's stream_id and as_at as given, which its tokens are checked against (set
  // when `paged`).
  std::string identity;
};

// The page `request` asks for. INVALID_ARGUMENT for a page_token this server did not give for
// this stream_id and as_at (edited, or another request's).
absl::StatusOr<HistoryPage> OpenHistoryPage(const v1::GetEntityHistoryRequest& request);

// Cuts `answer`, the whole history folded for `page.request`, down to the page and sets its
// next_page_token where entries remain. Checks that cannot fail for a token this server gave
// with the same request: ABORTED when the cut resolved to another position than the first
// page's; INVALID_ARGUMENT when the token's first entry is past the history's end. A history
// not `paged` is left whole.
absl::Status CutHistoryPage(const HistoryPage& page, v1::GetEntityHistoryResponse* answer);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_HISTORY_PAGES_H_
