// The words the query commands put in their tables (cli/query_text.h).
#include "cli/query_text.h"

#include <string>

#include "gtest/gtest.h"

namespace govledger::cli {
namespace {

v1::DecisionSignature Signature(const std::string& role, const std::string& holder) {
  v1::DecisionSignature s;
  s.set_role(role);
  s.set_holder(holder);
  s.set_key_id("key-1");
  return s;
}

// A holder that starts with the role, as a word, stands alone; one that merely starts with the
// role's letters does not hide which role signed (a reviewer's "Chairman J. Smith" signing as
// "Chair" showed no role).
TEST(QueryTextTest, ASignatoryShowsTheRoleUnlessTheHolderStartsWithItAsAWord) {
  EXPECT_EQ(SignatoryText(Signature("Warwickshire PCC", "Warwickshire PCC (not named)")),
            "Warwickshire PCC (not named)");
  EXPECT_EQ(SignatoryText(Signature("Chair", "Chair")), "Chair");
  EXPECT_EQ(SignatoryText(Signature("Chair", "Chair, J. Smith")), "Chair, J. Smith");
  EXPECT_EQ(SignatoryText(Signature("Chair", "Chairman J. Smith")), "Chair (Chairman J. Smith)");
  EXPECT_EQ(SignatoryText(Signature("Deputy Mayor", "Sophie Linden")),
            "Deputy Mayor (Sophie Linden)");
  EXPECT_EQ(SignatoryText(Signature("Deputy Mayor", "")), "Deputy Mayor (key-1)");
}

// A decision approving no sum says so, not "£0.00"; noted amounts are counted apart.
TEST(QueryTextTest, ADecisionsAmountIsItsCommittedTotalOrNoSum) {
  v1::DecisionEntry d;
  EXPECT_EQ(DecisionAmountText(d), "no sum");
  v1::DecisionAmount* noted = d.add_amounts();
  noted->set_pence(100);
  noted->set_noted_only(true);
  EXPECT_EQ(DecisionAmountText(d), "no sum (+1 noted)");
  v1::DecisionAmount* a = d.add_amounts();
  a->set_pence(73000000);
  EXPECT_EQ(DecisionAmountText(d), "£730,000.00 (+1 noted)");
  d.set_withheld(true);
  EXPECT_EQ(DecisionAmountText(d), "withheld");
}

}  // namespace
}  // namespace govledger::cli
