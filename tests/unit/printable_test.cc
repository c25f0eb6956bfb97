// PrintableText and MakePrintable (cli/printable.h): what a terminal would act on is shown as an
// escape, everything else is left as it is.
#include "cli/printable.h"

#include <string>

#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "govledger/v1/query.pb.h"
#include "gtest/gtest.h"

namespace govledger::cli {
namespace {

TEST(PrintableTextTest, TextIsLeftAsItIs) {
  for (const std::string text :
       {"", "LPP week 86: AMBER", "\xC2\xA3" "730,000", "caf\xC3\xA9", "\xE2\x82\xAC",
        "\xF0\x9F\x9A\x93", "a\\x1b is not an escape", "\xE2\x80\x8B zero width space"}) {
    EXPECT_EQ(PrintableText(text), text);
  }
}

TEST(PrintableTextTest, ControlCharactersAreEscaped) {
  EXPECT_EQ(PrintableText("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(PrintableText("\x1b[2K\x07\x7f"), "\\x1b[2K\\x07\\x7f");
  EXPECT_EQ(PrintableText(std::string("a\0b", 3)), "a\\x00b");
  // C1 controls (U+0080 to U+009F), U+009B among them.
  EXPECT_EQ(PrintableText("\xC2\x80 \xC2\x9B" "31m \xC2\x9F"), "\\u0080 \\u009b31m \\u009f");
  // Bidirectional embeddings, overrides and isolates.
  EXPECT_EQ(PrintableText("\xE2\x80\xAA\xE2\x80\xAE\xE2\x81\xA6\xE2\x81\xA9"),
            "\\u202a\\u202e\\u2066\\u2069");
  // And the bidirectional marks, with which "000,730" shows as "730,000".
  EXPECT_EQ(PrintableText("\xE2\x80\x8F" "000\xE2\x80\x8F,\xD8\x9C" "730\xE2\x80\x8E"),
            "\\u200f000\\u200f,\\u061c730\\u200e");
  // Their neighbours are text.
  EXPECT_EQ(PrintableText("\xC2\xA0\xE2\x80\xA9\xE2\x81\xAA"), "\xC2\xA0\xE2\x80\xA9\xE2\x81\xAA");
}

TEST(PrintableTextTest, LineBreaksAndTabsCanBeKept) {
  EXPECT_EQ(PrintableText("a\nb\r\nc\td", LineBreaks::kKeep), "a\nb\r\nc\td");
  // A carriage return that is not before a line feed, and the rest, are escaped all the same.
  EXPECT_EQ(PrintableText("a\rb\x1b\r", LineBreaks::kKeep), "a\\rb\\x1b\\r");
  v1::ProjectClosed closed;
  closed.add_lessons("one\ntwo\x07");
  MakePrintable(&closed, LineBreaks::kKeep);
  EXPECT_EQ(closed.lessons(0), "one\ntwo\\x07");
}

TEST(PrintableTextTest, BytesThatAreNotUtf8AreEscapedOneByOne) {
  EXPECT_EQ(PrintableText("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(PrintableText("\xC0\xAF"), "\\xc0\\xaf");                  // overlong '/'
  EXPECT_EQ(PrintableText("\xED\xA0\x80"), "\\xed\\xa0\\x80");         // a surrogate
  EXPECT_EQ(PrintableText("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(PrintableText("ok\xE2\x82"), "ok\\xe2\\x82");              // cut short
  EXPECT_EQ(PrintableText("\xE2\x82\xAC\x80"), "\xE2\x82\xAC\\x80");    // a stray continuation
}

TEST(PrintableTextTest, EscapingTwiceChangesNothingMore) {
  const std::string once = PrintableText("x\r\x1b[31m\xC2\x9B\xff\xE2\x80\xAE");
  EXPECT_EQ(PrintableText(once), once);
}

TEST(MakePrintableTest, EveryStringFieldAtAnyDepthButNotBytes) {
  v1::GetRiskRegisterResponse response;
  v1::RiskEntry* risk = response.add_risks();
  risk->set_risk_id("R1");
  risk->set_title("Title\r\x1b[2K");
  risk->mutable_subject()->set_id("LPP\x07");
  response.add_risks()->set_closed_reason("fine");

  MakePrintable(&response);
  EXPECT_EQ(response.risks(0).risk_id(), "R1");
  EXPECT_EQ(response.risks(0).title(), "Title\\r\\x1b[2K");
  EXPECT_EQ(response.risks(0).subject().id(), "LPP\\x07");
  EXPECT_EQ(response.risks(1).closed_reason(), "fine");
  EXPECT_FALSE(response.risks(1).has_subject());  // unset messages stay unset

  v1::ProjectClosed closed;
  closed.add_lessons("one");
  closed.add_lessons("two\x1b");
  MakePrintable(&closed);
  EXPECT_EQ(closed.lessons(0), "one");
  EXPECT_EQ(closed.lessons(1), "two\\x1b");

  v1::Event event;
  event.set_actor("clerk\x1b");
  event.set_payload("\x1b[2K");  // bytes: never shown as text
  MakePrintable(&event);
  EXPECT_EQ(event.actor(), "clerk\\x1b");
  EXPECT_EQ(event.payload(), "\x1b[2K");
}

}  // namespace
}  // namespace govledger::cli
