// The CLI's tables (cli/table.h): alignment, UTF-8 widths, Markdown, and the colour decision
// (stdout a terminal and NO_COLOR unset or empty), which the integration tests cannot reach
// because they read the CLI through a pipe; and cells of the query views (cli/query_text.h)
// that the demo ledger never shows.
#include "cli/table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/query_text.h"

namespace govledger::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(TableTest, AlignsColumnsTwoSpacesApartWithoutTrailingSpaces) {
  Table t({"RISK", "RATING", "OPEN"});
  t.AlignRight(2);
  t.AddRow({"LPP-R01", RagCell(v1::RAG_RED), "11"});
  t.AddRow({"R2", RagCell(v1::RAG_UNSPECIFIED), "5"});
  EXPECT_EQ(t.Render(false),
            "RISK     RATING  OPEN\n"
            "LPP-R01  RED       11\n"
            "R2       -          5\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, MissingTrailingCellsAreEmpty) {
  Table t({"A", "B"});
  t.AddRow({"x"});
  EXPECT_EQ(t.Render(false), "A  B\nx  -\n");
}

TEST(TableTest, WidthsAreTerminalColumns) {
  EXPECT_EQ(DisplayWidth("£730,000.00"), 11u);
  EXPECT_EQ(DisplayWidth(""), 0u);
  // Terminal columns: wide characters take two, combining marks none.
  EXPECT_EQ(DisplayWidth("\xE6\xB8\xAC\xE8\xA9\xA6"), 4u);        // 測試
  EXPECT_EQ(DisplayWidth("Rollout \xF0\x9F\x9A\x93"), 10u);          // a police car emoji
  EXPECT_EQ(DisplayWidth("Cafe\xCC\x81"), 4u);                         // e + combining acute
  EXPECT_EQ(DisplayWidth("ab\xFF" "c"), 4u);                            // not UTF-8: a column
  {
    Table wide({"NAME", "STATE"});
    wide.AddRow({"\xE6\xB8\xAC\xE8\xA9\xA6", "open"});
    wide.AddRow({"Cafe\xCC\x81", "closed"});
    wide.AddRow({"Police", "open"});
    EXPECT_EQ(wide.Render(false),
              "NAME    STATE\n"
              "\xE6\xB8\xAC\xE8\xA9\xA6    open\n"
              "Cafe\xCC\x81    closed\n"
              "Police  open\n");
  }
  Table t({"AMOUNT", "X"});
  t.AlignRight(0);
  t.AddRow({"£1.00", "a"});
  t.AddRow({"£100.00", "b"});
  EXPECT_EQ(t.Render(false),
            " AMOUNT  X\n"
            "  £1.00  a\n"
            "£100.00  b\n");
}

TEST(TableTest, ColourWrapsOnlyRatingsAndKeepsTheAlignment) {
  Table t({"RAG", "NAME"});
  t.AddRow({RagCell(v1::RAG_RED), "x"});
  t.AddRow({RagCell(v1::RAG_GREEN), "y"});
  t.AddRow({"AMBER", "z"});  // a plain cell stays plain, whatever its text
  EXPECT_EQ(t.Render(true),
            "RAG    NAME\n"
            "\x1b[1;31mRED\x1b[0m    x\n"
            "\x1b[1;32mGREEN\x1b[0m  y\n"
            "AMBER  z\n");
  EXPECT_THAT(t.Render(false), Not(HasSubstr("\x1b")));
}

TEST(TableTest, ColourOnlyOnATerminalWithoutNoColor) {
  EXPECT_TRUE(ShouldColour(true, nullptr));
  EXPECT_TRUE(ShouldColour(true, ""));  // NO_COLOR set but empty: ignored, as no-color.org says
  EXPECT_FALSE(ShouldColour(true, "1"));
  EXPECT_FALSE(ShouldColour(true, "0"));  // any non-empty value disables colour
  EXPECT_FALSE(ShouldColour(false, nullptr));
  EXPECT_FALSE(ShouldColour(false, ""));
}

TEST(TableTest, PaintIsPlainWithoutColourOrStyle) {
  EXPECT_EQ(Paint("RED", Style::kRed, false), "RED");
  EXPECT_EQ(Paint("text", Style::kPlain, true), "text");
  EXPECT_EQ(Paint("AMBER", Style::kAmber, true), "\x1b[1;33mAMBER\x1b[0m");
}

TEST(TableTest, RatingWordsAndTheirColours) {
  EXPECT_EQ(RagText(v1::RAG_GREEN), "GREEN");
  EXPECT_EQ(RagText(v1::RAG_UNSPECIFIED), "");
  EXPECT_EQ(RagStyle(v1::RAG_AMBER), Style::kAmber);
  EXPECT_EQ(ConfidenceText(v1::DELIVERY_CONFIDENCE_AMBER_GREEN), "AMBER/GREEN");
  EXPECT_EQ(ConfidenceText(v1::DELIVERY_CONFIDENCE_AMBER_RED), "AMBER/RED");
  EXPECT_EQ(ConfidenceStyle(v1::DELIVERY_CONFIDENCE_AMBER_RED), Style::kAmber);
  EXPECT_EQ(ConfidenceStyle(v1::DELIVERY_CONFIDENCE_RED), Style::kRed);
  EXPECT_EQ(ConfidenceStyle(v1::DELIVERY_CONFIDENCE_UNSPECIFIED), Style::kPlain);
  EXPECT_EQ(ConfidenceCell(v1::DELIVERY_CONFIDENCE_GREEN).style, Style::kGreen);
  EXPECT_EQ(RatingTextStyle("RED"), Style::kRed);
  EXPECT_EQ(RatingTextStyle("open"), Style::kPlain);
  EXPECT_EQ(RatingTextStyle("red"), Style::kPlain);  // only the rating words as the CLI prints them
}

TEST(TableTest, MarkdownPadsRightAlignsAndEscapes) {
  Table t({"ITEM", "AMOUNT"});
  t.AlignRight(1);
  t.AddRow({"a|b", "£5.00"});
  t.AddRow({"two\nlines", ""});
  EXPECT_EQ(t.RenderMarkdown(),
            "| ITEM      | AMOUNT |\n"
            "| --------- | -----: |\n"
            "| a\\|b      |  £5.00 |\n"
            "| two lines |      - |\n");
}

TEST(TableTest, MarkdownTextRendersAsTheTextItself) {
  EXPECT_EQ(MarkdownText("LPP week 86: AMBER (\xC2\xA3" "730,000.00)"),
            "LPP week 86: AMBER (\xC2\xA3" "730,000.00)");
  EXPECT_EQ(MarkdownText("<!-- x --> [a](b) ![i](j) **b** _i_ `c` ~~s~~ a|b R&D #1 \\"),
            "\\<!-- x --\\> \\[a\\](b) !\\[i\\](j) \\*\\*b\\*\\* \\_i\\_ \\`c\\` "
            "\\~\\~s\\~\\~ a\\|b R\\&D \\#1 \\\\");
  EXPECT_EQ(MarkdownText("one\ntwo\r\nthree\tfour"), "one two three four");
}

TEST(TableTest, MarkdownIsNeverColoured) {
  Table t({"RAG"});
  t.AddRow({RagCell(v1::RAG_RED)});
  EXPECT_EQ(t.RenderMarkdown(), "| RAG |\n| --- |\n| RED |\n");
}

// A scope change's approval cell: the board, or the decision, marked when its approval has
// lapsed since (a later correction took it away).
TEST(QueryTextTest, AnApprovalShowsTheBoardOrTheDecisionAndWhetherItHasLapsed) {
  v1::ScopeChange change;
  change.mutable_approval()->set_board("LPP Programme Board");
  EXPECT_EQ(ApprovalText(change), "LPP Programme Board");
  change.mutable_approval()->set_decision_stream("decision/MOPAC/PCD-72");
  EXPECT_EQ(ApprovalText(change), "decision/MOPAC/PCD-72");
  change.set_approval_lapsed("it was rejected");
  EXPECT_EQ(ApprovalText(change), "decision/MOPAC/PCD-72 (LAPSED: it was rejected)");
}

// The CHANGE cell of a history row: each differing aspect; for an as-recorded late fact that
// changed nothing now, what it changed at its effective time.
TEST(QueryTextTest, AHistoryChangeCellSaysWhatALateFactChangedAtItsEffectiveTime) {
  v1::EntityChange change;
  auto set = [](google::protobuf::RepeatedPtrField<v1::Aspect>* aspects, const char* rating) {
    v1::Aspect* a = aspects->Add();
    a->set_name("rating");
    a->set_value(rating);
  };
  set(change.mutable_before(), "RED");
  set(change.mutable_after(), "GREEN");
  EXPECT_EQ(AspectChanges(change), "rating: RED -> GREEN");
  change.mutable_before(0)->set_value("GREEN");
  EXPECT_EQ(AspectChanges(change), "");
  set(change.mutable_before_at_effective_time(), "RED");
  set(change.mutable_after_at_effective_time(), "AMBER");
  EXPECT_EQ(AspectChanges(change),
            "none now (a later-effective event stands); at its effective time: "
            "rating: RED -> AMBER");
}

// The events behind a difference, as runs, at most 20 of them (a reviewer's busy risk, re-rated
// 8,000 times, made a compare line of 47,000 characters).
TEST(QueryTextTest, PositionsAreShownAsAtMostTwentyRuns) {
  google::protobuf::RepeatedPtrField<v1::EventRef> events;
  for (uint64_t p : {52, 110, 111, 112, 200}) events.Add()->set_position(p);
  EXPECT_EQ(PositionsText(events), "52, 110-112, 200");
  events.Clear();
  for (uint64_t p = 148; p < 8148; ++p) events.Add()->set_position(p);
  EXPECT_EQ(PositionsText(events), "148-8147");
  std::vector<uint64_t> scattered;
  for (uint64_t p = 1; p <= 60; p += 2) scattered.push_back(p);  // 30 runs of one
  EXPECT_EQ(FirstRuns(scattered),
            "1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39, ... (the "
            "first 20 runs of 30 events; --json lists them all)");
}

// Under the register's table, a rejection says by whom, when and why; a withdrawal when and why;
// a viewer's answer (no reason) says who and when only.
TEST(QueryTextTest, ARejectionOrWithdrawalSaysWhoWhenAndWhy) {
  v1::DecisionEntry d;
  d.set_status(v1::DECISION_STATUS_REJECTED);
  d.set_rejected_by("Police and Crime Panel");
  d.mutable_outcome_time()->set_seconds(1488369600);  // 2017-03-01T12:00:00Z
  d.set_outcome_reason("not affordable");
  EXPECT_THAT(DecisionNotes(d), ElementsAre("Rejected by Police and Crime Panel effective "
                                            "2017-03-01T12:00:00Z: not affordable"));
  d.clear_outcome_reason();
  EXPECT_THAT(DecisionNotes(d), ElementsAre("Rejected by Police and Crime Panel effective "
                                            "2017-03-01T12:00:00Z"));
  d.set_status(v1::DECISION_STATUS_WITHDRAWN);
  d.clear_rejected_by();
  d.set_outcome_reason("superseded by PCD 93");
  EXPECT_THAT(DecisionNotes(d),
              ElementsAre("Withdrawn effective 2017-03-01T12:00:00Z: superseded by PCD 93"));
  d.set_status(v1::DECISION_STATUS_PENDING);
  EXPECT_THAT(DecisionNotes(d), ::testing::IsEmpty());
}

// A decision register's sources: one line per paper; a decision whose events name different
// papers is listed by part; the organisation is named when the register spans two; what names
// no source comes last, said so.
TEST(QueryTextTest, DecisionSourcesAreListedByPaperAndByPartWhereTheyDiffer) {
  v1::GetDecisionRegisterResponse r;
  v1::DecisionEntry* pcd72 = r.add_decisions();
  pcd72->set_organisation_id("MOPAC");
  pcd72->set_reference("PCD 72");
  pcd72->set_proposed_source("PCD 72 as signed");
  v1::DecisionSignature* s = pcd72->add_signatures();
  s->set_role("Deputy Mayor");
  s->set_source("PCD 72 as signed");
  v1::DecisionEntry* pcd73 = r.add_decisions();
  pcd73->set_organisation_id("MOPAC");
  pcd73->set_reference("PCD 73");
  pcd73->set_status(v1::DECISION_STATUS_REJECTED);
  pcd73->set_proposed_source("PCD 73 form");
  pcd73->add_signatures()->set_role("Chief Finance Officer");  // names no source
  pcd73->set_outcome_source("PCD 72 as signed");
  v1::DecisionEntry* unsourced = r.add_decisions();
  unsourced->set_organisation_id("MOPAC");
  unsourced->set_reference("PCD 74");
  EXPECT_EQ(DecisionSourcesText(r),
            "  PCD 72, PCD 73 (rejection): PCD 72 as signed\n"
            "  PCD 73 (proposal): PCD 73 form\n"
            "  no source named: PCD 73 (signed by Chief Finance Officer), PCD 74\n");
  unsourced->set_organisation_id("WWA");
  unsourced->set_proposed_source("PCC/D/2017/05");
  pcd73->set_status(v1::DECISION_STATUS_WITHDRAWN);
  EXPECT_EQ(DecisionSourcesText(r),
            "  MOPAC PCD 72, MOPAC PCD 73 (withdrawal): PCD 72 as signed\n"
            "  MOPAC PCD 73 (proposal): PCD 73 form\n"
            "  WWA PCD 74: PCC/D/2017/05\n"
            "  no source named: MOPAC PCD 73 (signed by Chief Finance Officer)\n");
  // None names a source: no list at all.
  v1::GetDecisionRegisterResponse none;
  none.add_decisions()->set_reference("PCD 75");
  EXPECT_EQ(DecisionSourcesText(none), "");
}

}  // namespace
}  // namespace govledger::cli
