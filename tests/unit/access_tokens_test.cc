// The tokens file of govledgerd --tokens and the tokens `govledger admin token` makes
// (ledger/access_tokens.h).
#include "ledger/access_tokens.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string HexDigest(absl::string_view token) {
  return absl::BytesToHexString(TokenDigest(token));
}

TEST(AccessTokensTest, ANewTokenIsPrefixedHexAndNeverRepeats) {
  absl::StatusOr<std::string> a = NewAccessToken();
  absl::StatusOr<std::string> b = NewAccessToken();
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_TRUE(absl::StartsWith(*a, "glt_"));
  EXPECT_EQ(a->size(), 4u + 64u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST(AccessTokensTest, TheLineForATokenParsesBackToItsRoleAndActor) {
  const std::string token = "glt_example";
  absl::StatusOr<std::string> line = TokensFileLine(token, Role::kWriter, "PMO (Mayor's office)");
  ASSERT_OK(line);
  EXPECT_EQ(*line, absl::StrCat(HexDigest(token), " writer PMO (Mayor's office)"));
  // The token itself is not in the line, only its digest.
  EXPECT_EQ(line->find(token), std::string::npos);
  auto grants = ParseTokensFile(*line, "tokens");
  ASSERT_OK(grants);
  ASSERT_EQ(grants->size(), 1u);
  const TokenGrant& grant = grants->at(TokenDigest(token));
  EXPECT_EQ(grant.role, Role::kWriter);
  EXPECT_EQ(grant.actor, "PMO (Mayor's office)");
}

TEST(AccessTokensTest, ALineForAnIllegalActorIsRefused) {
  EXPECT_THAT(TokensFileLine("t", Role::kReader, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor")));
  EXPECT_THAT(TokensFileLine("t", Role::kReader, "tab\there"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor")));
  EXPECT_THAT(TokensFileLine("t", Role::kReader, " padded"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("white space")));
  EXPECT_THAT(TokensFileLine("t", Role::kReader, std::string(201, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor")));
}

TEST(AccessTokensTest, CommentsBlankLinesTabsAndUpperCaseHexAreAccepted) {
  const std::string text = absl::StrCat(
      "# govledgerd tokens\n\n", HexDigest("r"), "\treader\tAuditor (internal audit)\r\n",
      "  ", absl::AsciiStrToUpper(HexDigest("a")), "  admin   Ops  \n",
      HexDigest("v"), " viewer Scrutiny panel\n");
  auto grants = ParseTokensFile(text, "tokens");
  ASSERT_OK(grants);
  ASSERT_EQ(grants->size(), 3u);
  EXPECT_EQ(grants->at(TokenDigest("v")).role, Role::kViewer);
  EXPECT_EQ(grants->at(TokenDigest("r")).actor, "Auditor (internal audit)");
  EXPECT_EQ(grants->at(TokenDigest("r")).role, Role::kReader);
  EXPECT_EQ(grants->at(TokenDigest("a")).actor, "Ops");
  EXPECT_EQ(grants->at(TokenDigest("a")).role, Role::kAdmin);
}

TEST(AccessTokensTest, EachMalformedLineIsRefusedNamingTheFileAndLine) {
  const std::string good = absl::StrCat(HexDigest("g"), " writer Good\n");
  struct Case {
    std::string line;
    std::string says;
  };
  for (const Case& c : {
           Case{"abc writer Someone", "the first field (3 characters) is not a SHA-256"},
           // A token pasted for its digest is not echoed (it would reach the journal).
           Case{absl::StrCat("glt_", std::string(64, 'b'), " writer Someone"),
                "looks like a token itself, not its SHA-256"},
           Case{absl::StrCat(std::string(63, 'a'), "g writer Someone"), "is not a SHA-256"},
           // The line `admin token` printed, pasted with its label (an operator's trial).
           Case{absl::StrCat("tokens-file-line ", HexDigest("x"), " writer Someone"),
                "copy what follows the label"},
           Case{absl::StrCat(HexDigest("x"), " owner Someone"), "unknown role 'owner'"},
           Case{absl::StrCat(HexDigest("x"), " writer"), "expected three fields"},
           Case{absl::StrCat(HexDigest("x"), " writer bad\x01name"), "actor"},
           Case{absl::StrCat(HexDigest("x"), " writer Jos\xe9"), "actor is not UTF-8"},
           Case{absl::StrCat(HexDigest("g"), " reader Again"), "earlier line"},
       }) {
    SCOPED_TRACE(c.line);
    const absl::Status status =
        ParseTokensFile(absl::StrCat(good, c.line, "\n"), "/etc/govledger/tokens").status();
    EXPECT_THAT(status,
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("/etc/govledger/tokens line 2"), HasSubstr(c.says))));
    EXPECT_THAT(status.message(), Not(HasSubstr("glt_")));
  }
}

// A file of comments only grants nothing (govledgerd refuses to start on one; on a reload it
// revokes every token).
TEST(AccessTokensTest, AFileWithNoTokenGrantsNothing) {
  auto grants = ParseTokensFile("# only a comment\n\n", "tokens");
  ASSERT_TRUE(grants.ok()) << grants.status();
  EXPECT_TRUE(grants->empty());
}

TEST(AccessTokensTest, RolesIncludeTheOnesBelowThem) {
  EXPECT_LT(Role::kReader, Role::kWriter);
  EXPECT_LT(Role::kWriter, Role::kAdmin);
  for (Role r : {Role::kReader, Role::kWriter, Role::kAdmin}) {
    Role parsed = Role::kReader;
    EXPECT_TRUE(ParseRole(RoleName(r), &parsed));
    EXPECT_EQ(parsed, r);
  }
  Role unchanged = Role::kWriter;
  EXPECT_FALSE(ParseRole("Admin", &unchanged));
  EXPECT_EQ(unchanged, Role::kWriter);
}

}  // namespace
}  // namespace govledger
