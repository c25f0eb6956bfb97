// OpenHistoryPage and CutHistoryPage (projections/history_pages.h): which entries a page holds,
// its token, and the tokens refused.
#include "projections/history_pages.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using ::govledger::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::GetEntityHistoryRequest Request(uint32_t page_size, v1::AsAtMode mode) {
  v1::GetEntityHistoryRequest r;
  r.set_stream_id("risk/LPP-R01");
  r.mutable_as_at()->set_position(40);
  r.mutable_as_at()->set_mode(mode);
  r.set_page_size(page_size);
  return r;
}

// A history at position `position` of `changes` changes at positions 1.. with notes of
// `note_bytes` bytes, and `voided` voided events at positions 1001...
v1::GetEntityHistoryResponse History(int changes, int voided, uint64_t position = 40,
                                     size_t note_bytes = 10) {
  v1::GetEntityHistoryResponse h;
  h.mutable_as_at()->set_position(position);
  for (int i = 1; i <= changes; ++i) {
    v1::EntityChange* c = h.add_changes();
    c->mutable_event()->set_position(i);
    c->set_note(std::string(note_bytes, 'n'));
  }
  for (int i = 1; i <= voided; ++i) h.add_voided()->mutable_event()->set_position(1000 + i);
  return h;
}

// The positions a page holds, changes then voided.
std::vector<uint64_t> Positions(const v1::GetEntityHistoryResponse& page) {
  std::vector<uint64_t> out;
  for (const v1::EntityChange& c : page.changes()) out.push_back(c.event().position());
  for (const v1::VoidedEvent& v : page.voided()) out.push_back(v.event().position());
  return out;
}

// Every page of `whole` for `request`, as the positions each holds.
std::vector<std::vector<uint64_t>> Pages(v1::GetEntityHistoryRequest request,
                                         const v1::GetEntityHistoryResponse& whole) {
  std::vector<std::vector<uint64_t>> pages;
  for (int guard = 0; guard < 100; ++guard) {
    absl::StatusOr<HistoryPage> page = OpenHistoryPage(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    v1::GetEntityHistoryResponse answer = whole;
    EXPECT_TRUE(CutHistoryPage(*page, &answer).ok());
    pages.push_back(Positions(answer));
    if (answer.next_page_token().empty()) break;
    request.set_page_token(answer.next_page_token());
  }
  return pages;
}

TEST(HistoryPagesTest, WithoutPageSizeOrTokenTheHistoryIsWhole) {
  absl::StatusOr<HistoryPage> page = OpenHistoryPage(Request(0, v1::AS_AT_MODE_AS_RECORDED));
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->paged);
  v1::GetEntityHistoryResponse answer = History(3000, 2);
  ASSERT_TRUE(CutHistoryPage(*page, &answer).ok());
  EXPECT_EQ(answer.changes_size(), 3000);
  EXPECT_EQ(answer.voided_size(), 2);
  EXPECT_EQ(answer.next_page_token(), "");
}

TEST(HistoryPagesTest, PagesRunThroughTheChangesThenTheVoidedEvents) {
  EXPECT_THAT(Pages(Request(2, v1::AS_AT_MODE_AS_RECORDED), History(3, 2)),
              ElementsAre(ElementsAre(1, 2), ElementsAre(3, 1001), ElementsAre(1002)));
  EXPECT_THAT(Pages(Request(3, v1::AS_AT_MODE_AS_RECORDED), History(3, 2)),
              ElementsAre(ElementsAre(1, 2, 3), ElementsAre(1001, 1002)));
  EXPECT_THAT(Pages(Request(10, v1::AS_AT_MODE_AS_RECORDED), History(3, 2)),
              ElementsAre(ElementsAre(1, 2, 3, 1001, 1002)));
  EXPECT_THAT(Pages(Request(1, v1::AS_AT_MODE_AS_RECORDED), History(0, 2)),
              ElementsAre(ElementsAre(1001), ElementsAre(1002)));
}

// A page ends with the entry that takes it to 16 MiB, even when fewer than page_size; with a
// token and page_size 0 only that limit applies.
TEST(HistoryPagesTest, APageEndsWithTheEntryThatTakesItTo16MiB) {
  const v1::GetEntityHistoryResponse big = History(7, 0, 40, 5 << 20);
  EXPECT_THAT(Pages(Request(1000, v1::AS_AT_MODE_AS_RECORDED), big),
              ElementsAre(ElementsAre(1, 2, 3, 4), ElementsAre(5, 6, 7)));
  // One entry larger than the limit still makes a page.
  EXPECT_THAT(Pages(Request(1000, v1::AS_AT_MODE_AS_RECORDED), History(2, 0, 40, 17 << 20)),
              ElementsAre(ElementsAre(1), ElementsAre(2)));
  v1::GetEntityHistoryRequest rest = Request(4, v1::AS_AT_MODE_AS_RECORDED);
  absl::StatusOr<HistoryPage> first = OpenHistoryPage(rest);
  ASSERT_TRUE(first.ok());
  v1::GetEntityHistoryResponse answer = History(7, 0);
  ASSERT_TRUE(CutHistoryPage(*first, &answer).ok());
  rest.set_page_size(0);
  rest.set_page_token(answer.next_page_token());
  EXPECT_THAT(Pages(rest, History(7, 0)), ElementsAre(ElementsAre(5, 6, 7)));
}

// A later page of an as-known history reads the log only as far as the first page did; an
// as-recorded one is only checked against it.
TEST(HistoryPagesTest, ALaterPageIsPinnedToTheFirstPagesCut) {
  v1::GetEntityHistoryRequest known = Request(2, v1::AS_AT_MODE_AS_KNOWN);
  absl::StatusOr<HistoryPage> first = OpenHistoryPage(known);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->request.as_at().known_through(), 0u);
  v1::GetEntityHistoryResponse answer = History(5, 0, /*position=*/90);
  ASSERT_TRUE(CutHistoryPage(*first, &answer).ok());
  ASSERT_NE(answer.next_page_token(), "");
  known.set_page_token(answer.next_page_token());
  absl::StatusOr<HistoryPage> second = OpenHistoryPage(known);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->request.as_at().known_through(), 90u);
  EXPECT_EQ(second->first, 2u);

  v1::GetEntityHistoryRequest recorded = Request(2, v1::AS_AT_MODE_AS_RECORDED);
  first = OpenHistoryPage(recorded);
  answer = History(5, 0, 40);
  ASSERT_TRUE(CutHistoryPage(*first, &answer).ok());
  recorded.set_page_token(answer.next_page_token());
  second = OpenHistoryPage(recorded);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->request.as_at().SerializeAsString(), recorded.as_at().SerializeAsString());
  v1::GetEntityHistoryResponse moved = History(5, 0, 41);
  EXPECT_THAT(CutHistoryPage(*second, &moved),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("now resolves to position 41, not 40 as for its first page")));
  v1::GetEntityHistoryResponse shorter = History(2, 0, 40);
  EXPECT_THAT(CutHistoryPage(*second, &shorter),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("its first entry, 2, is past the history's end at this cut (2 "
                                 "entries)")));
}

// A token edited (any of its parts), or passed with another stream_id or as_at, is refused.
TEST(HistoryPagesTest, TokensEditedOrFromElsewhereAreRefused) {
  v1::GetEntityHistoryRequest request = Request(2, v1::AS_AT_MODE_AS_KNOWN);
  absl::StatusOr<HistoryPage> first = OpenHistoryPage(request);
  ASSERT_TRUE(first.ok());
  v1::GetEntityHistoryResponse answer = History(5, 0, /*position=*/90);
  ASSERT_TRUE(CutHistoryPage(*first, &answer).ok());
  const std::string token = answer.next_page_token();
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  ASSERT_EQ(parts[0], "90");
  ASSERT_EQ(parts[1], "2");
  const std::string check = parts[2];
  for (const std::string& bad :
       {std::string("x"), std::string("90.2"), absl::StrCat("90.0.", check),
        absl::StrCat("90.-1.", check), absl::StrCat("forty.2.", check),
        absl::StrCat("+90.2.", check), absl::StrCat(" 90.2.", check), absl::StrCat("090.2.", check),
        absl::StrCat("90.02.", check), absl::StrCat("90.2.3.", check)}) {
    request.set_page_token(bad);
    EXPECT_THAT(OpenHistoryPage(request).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("page_token is not one this server gave for this request "
                                   "(it does not parse)")))
        << bad;
  }
  // Another cut or entry under the same check: as if from another request.
  for (const std::string& bad :
       {absl::StrCat("89.2.", check), absl::StrCat("0.2.", check), absl::StrCat("90.3.", check),
        absl::StrCat("90.1.", check), absl::StrCat("90.2.", std::string(check.size(), '0')),
        absl::StrCat("90.2.", check, "0"), std::string("90.2."), absl::StrCat("91.2.", check)}) {
    request.set_page_token(bad);
    EXPECT_THAT(OpenHistoryPage(request).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("its check does not match: it was edited, or given for "
                                   "another stream_id or as_at")))
        << bad;
  }
  request.set_page_token(token);
  EXPECT_TRUE(OpenHistoryPage(request).ok());
  for (auto change :
       {+[](v1::GetEntityHistoryRequest* r) { r->set_stream_id("risk/LPP-R02"); },
        +[](v1::GetEntityHistoryRequest* r) { r->mutable_as_at()->set_position(41); },
        +[](v1::GetEntityHistoryRequest* r) {
          r->mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
        },
        +[](v1::GetEntityHistoryRequest* r) { r->mutable_as_at()->set_known_through(90); }}) {
    v1::GetEntityHistoryRequest other = request;
    change(&other);
    EXPECT_THAT(OpenHistoryPage(other).status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                                          HasSubstr("its check does not match")));
  }
  // page_size may change from page to page.
  request.set_page_size(7);
  EXPECT_TRUE(OpenHistoryPage(request).ok());
}

}  // namespace
}  // namespace govledger::projections
