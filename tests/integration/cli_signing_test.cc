// The signatory's CLI commands against the real daemon: generate a key pair,
// register it, print a stored decision's digest, sign it offline, submit the
// signature; and their exit codes.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ledger/common/files.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/sha256.h"
#include "projections/decision_digest.h"
#include "projections/governance_state.h"
#include "tests/governance_events.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

class CliSigningTest : public DaemonTest {
 protected:
  std::string Server() const {
    return absl::StrCat("--server ", daemon_.address());
  }
  // MOPAC registered, and a key pair generated (PREFIX.key, PREFIX.pub) and registered as
  // mopac-dmpc, Sophie Linden's, for kDmpcRole; sets `*prefix`.
  void RegisterDmpcKey(std::string* prefix) {
    *prefix = keys_dir_.path() + "/dmpc";
    ASSERT_EQ(Cli(absl::StrCat("keys generate --out ", *prefix)).code, 0);
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend({Ev(Organisation("MOPAC"))}), &response), GrpcOk());
    CliRun registered = Cli(absl::StrCat(Server(), " keys register --key-id mopac-dmpc",
                                         " --holder 'Sophie Linden' --role '", kDmpcRole,
                                         "' --pub ", *prefix, ".pub"));
    ASSERT_EQ(registered.code, 0) << registered.err;
    // Without --organisation, the key signs for any: said on stderr.
    EXPECT_THAT(registered.err,
                HasSubstr(absl::StrCat("key mopac-dmpc signs for any organisation (no "
                                       "--organisation): every organisation's decisions that "
                                       "require the role '",
                                       kDmpcRole, "' take its signature")));
  }

  static constexpr char kDmpcRole[] = "Deputy Mayor for Policing and Crime";
  TempDir keys_dir_;
};

TEST_F(CliSigningTest, GenerateRegisterDigestSignSubmit) {
  const std::string prefix = keys_dir_.path() + "/dmpc";
  CliRun gen = Cli(absl::StrCat("keys generate --out ", prefix));
  ASSERT_EQ(gen.code, 0) << gen.err;
  EXPECT_THAT(gen.out, HasSubstr("public (hex) "));
  struct stat st;
  ASSERT_EQ(::stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((prefix + ".pub").c_str(), &st), 0);
  // Never overwrites a key by accident; --force replaces both, and leaves no partial file.
  const absl::StatusOr<std::string> first_pub = ReadWholeFile(prefix + ".pub", kSmallFileBytes);
  ASSERT_TRUE(first_pub.ok());
  CliRun again = Cli(absl::StrCat("keys generate --out ", prefix));
  EXPECT_EQ(again.code, 2);
  EXPECT_THAT(again.err, HasSubstr(prefix + ".key: it exists (use --force)"));
  EXPECT_EQ(ReadWholeFile(prefix + ".pub", kSmallFileBytes).value_or(""), *first_pub);
  ASSERT_EQ(Cli(absl::StrCat("keys generate --force --out ", prefix)).code, 0);
  EXPECT_NE(ReadWholeFile(prefix + ".pub", kSmallFileBytes).value_or(*first_pub), *first_pub);
  ASSERT_EQ(::stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((prefix + ".pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  for (const auto& entry : std::filesystem::directory_iterator(keys_dir_.path())) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr(".partial")));
  }
  // The public key again from the private key: the same PEM, and its hex.
  CliRun pub_again = Cli(absl::StrCat("keys public --key ", prefix, ".key"));
  ASSERT_EQ(pub_again.code, 0) << pub_again.err;
  EXPECT_EQ(pub_again.out, ReadWholeFile(prefix + ".pub", kSmallFileBytes).value_or("?"));
  CliRun pub_hex = Cli(absl::StrCat("keys public --hex --key ", prefix, ".key"));
  ASSERT_EQ(pub_hex.code, 0) << pub_hex.err;
  ASSERT_EQ(pub_hex.out.size(), 65u) << pub_hex.out;
  CliRun regenerated = Cli(absl::StrCat("keys generate --force --out ", prefix));
  ASSERT_EQ(regenerated.code, 0);
  CliRun pub_hex_now = Cli(absl::StrCat("keys public --hex --key ", prefix, ".key"));
  EXPECT_THAT(regenerated.out, HasSubstr(absl::StrCat("public (hex) ", pub_hex_now.out)));
  // A --force that cannot write one of the files leaves the pair there as it was (a .pub that
  // could not be replaced had cost the private key: a code reader's find).
  const std::string key_before = ReadWholeFile(prefix + ".key", kSmallFileBytes).value_or("?");
  const std::string pub_before = ReadWholeFile(prefix + ".pub", kSmallFileBytes).value_or("?");
  for (const std::string& blocked : {prefix + ".pub", prefix + ".key"}) {
    const std::string aside = blocked + ".aside";
    ASSERT_EQ(::rename(blocked.c_str(), aside.c_str()), 0);
    ASSERT_EQ(::mkdir(blocked.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((blocked + "/x").c_str(), 0700), 0);  // a directory rename cannot replace
    CliRun refused = Cli(absl::StrCat("keys generate --force --out ", prefix));
    EXPECT_EQ(refused.code, 2) << blocked;
    EXPECT_THAT(refused.err, HasSubstr(blocked)) << blocked;
    ASSERT_EQ(::rmdir((blocked + "/x").c_str()), 0);
    ASSERT_EQ(::rmdir(blocked.c_str()), 0);
    ASSERT_EQ(::rename(aside.c_str(), blocked.c_str()), 0);
    EXPECT_EQ(ReadWholeFile(prefix + ".key", kSmallFileBytes).value_or(""), key_before) << blocked;
    EXPECT_EQ(ReadWholeFile(prefix + ".pub", kSmallFileBytes).value_or(""), pub_before) << blocked;
  }
  CliRun not_private = Cli(absl::StrCat("keys public --key ", prefix, ".pub"));
  EXPECT_EQ(not_private.code, 2);
  EXPECT_THAT(not_private.err, HasSubstr("not a PEM Ed25519 private key"));

  const std::string role = "Deputy Mayor for Policing and Crime";
  v1::AppendResponse response;
  // Effective on the papers' dates, so that the signature's date (2016-10-05) follows them.
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(Organisation("MOPAC")), MakeDate(2016, 1, 1))}),
                     &response),
              GrpcOk());
  CliRun reg = Cli(absl::StrCat(
      Server(), " keys register --key-id mopac-dmpc --holder 'Sophie Linden'",
      " --role '", role, "' --pub ", prefix, ".pub --effective 2016-06-01"));
  ASSERT_EQ(reg.code, 0) << reg.err;
  v1::DecisionProposed pcd72 = Decision(
      "MOPAC", "PCD 72", {role},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(pcd72), MakeDate(2016, 10, 4))}), &response),
              GrpcOk());

  CliRun digest = Cli(absl::StrCat(
      Server(), " decision digest --organisation MOPAC --reference 'PCD 72'"));
  ASSERT_EQ(digest.code, 0) << digest.err;
  const std::string digest_hex(absl::StripAsciiWhitespace(digest.out));
  EXPECT_EQ(digest_hex, crypto::ToHex(projections::DecisionDigest(pcd72)));
  // What it is the digest of, for the signatory to check, apart from it on stderr.
  EXPECT_THAT(digest.err, HasSubstr(absl::StrCat("govledger: the digest of decision PCD 72 of "
                                                 "MOPAC is of:\n"
                                                 "  title                PCD 72 title\n"
                                                 "  amount               \u00a3730,000.00 revenue\n"
                                                 "    funded from        Major Change Reserve\n"
                                                 "  recommendations      1\n"
                                                 "  to be signed by      ",
                                                 role, "\n")));
  // And where it stands (found by a signatory's trial: a withdrawn or approved decision's
  // digest was printed without a word).
  EXPECT_THAT(digest.err, HasSubstr(absl::StrCat("govledger: decision PCD 72 is pending, signed "
                                                 "by nobody yet:\n  awaiting             ",
                                                 role, "\n")));
  CliRun unknown = Cli(absl::StrCat(
      Server(), " decision digest --organisation MOPAC --reference 'PCD 99'"));
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("decision MOPAC/PCD 99 is not in the ledger (stream "
                                     "decision/MOPAC/PCD-99 has no events): check "
                                     "--organisation and --reference"));
  CliRun by_stream = Cli(absl::StrCat(
      Server(), " decision digest --decision-stream decision/MOPAC/PCD-72"));
  EXPECT_EQ(absl::StripAsciiWhitespace(by_stream.out), digest_hex);
  // A reference the rules count as the same: the decision as registered, said so.
  for (const char* alike : {"pcd 72", "PCD  72", "pcd-72", "PCD72"}) {
    CliRun spelt = Cli(absl::StrCat(Server(), " decision digest --organisation MOPAC --reference '",
                                    alike, "'"));
    EXPECT_EQ(spelt.code, 0) << alike << ": " << spelt.err;
    EXPECT_EQ(absl::StripAsciiWhitespace(spelt.out), digest_hex) << alike;
    EXPECT_THAT(spelt.err, HasSubstr(absl::StrCat("'", alike,
                                                  "' is MOPAC's decision 'PCD 72' "
                                                  "(references are compared without letter case")));
  }

  // A key file other users may read signs nothing (it may already sign in their name).
  const std::string key_file = prefix + ".key";
  std::filesystem::permissions(key_file, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  CliRun exposed = Cli(absl::StrCat("decision sign --key ", key_file, " --digest ", digest_hex));
  EXPECT_EQ(exposed.code, 2);
  EXPECT_THAT(exposed.err, HasSubstr(absl::StrCat("the private key file ", key_file,
                                                  " may be read by every user; restrict it "
                                                  "(chmod o-rwx ")));
  EXPECT_THAT(exposed.err, HasSubstr("treat the key as lost"));
  EXPECT_EQ(exposed.out, "");
  std::filesystem::permissions(key_file, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::remove);
  // Writable by others, not readable: refused, without telling the signatory the key was lost.
  std::filesystem::permissions(key_file, std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  CliRun writable = Cli(absl::StrCat("decision sign --key ", key_file, " --digest ", digest_hex));
  EXPECT_EQ(writable.code, 2);
  EXPECT_THAT(writable.err, HasSubstr(" may be written or run by every user; restrict it"));
  EXPECT_THAT(writable.err, Not(HasSubstr("treat the key as lost")));
  std::filesystem::permissions(key_file, std::filesystem::perms::others_write,
                               std::filesystem::perm_options::remove);
  CliRun sig = Cli(absl::StrCat("decision sign --key ", prefix,
                                ".key --digest ", digest_hex));
  ASSERT_EQ(sig.code, 0) << sig.err;
  const std::string sig_hex(absl::StripAsciiWhitespace(sig.out));
  EXPECT_EQ(sig_hex.size(), 128u);

  // A signature of something else is refused by the ledger: exit 1.
  CliRun other = Cli(absl::StrCat("decision sign --key ", prefix,
                                  ".key --digest ", std::string(64, '0')));
  ASSERT_EQ(other.code, 0);
  CliRun refused = Cli(
      absl::StrCat(Server(), " decision submit-signature --organisation MOPAC",
                   " --reference 'PCD 72' --key-id mopac-dmpc --signature ",
                   absl::StripAsciiWhitespace(other.out)));
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("FAILED_PRECONDITION"));

  // A paper's date beside the signature without --effective: refused before anything is
  // sent, since the decision would be approved today (a clerk's trial).
  const std::string submit_command =
      absl::StrCat(Server(), " decision submit-signature --decision-stream decision/MOPAC/PCD-72",
                   " --key-id mopac-dmpc --signed-on 2016-10-05 --signature ", sig_hex);
  CliRun undated = Cli(submit_command);
  EXPECT_EQ(undated.code, 2) << undated.err;
  EXPECT_THAT(undated.err,
              HasSubstr("--signed-on 2016-10-05 is before today, but without --effective the "
                        "signature takes effect when the ledger receives it, and the decision "
                        "is approved today, not on 2016-10-05: give --effective"));
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->event_count(), 3u);  // the organisation, the key and the decision
  CliRun submit = Cli(submit_command + " --effective 2016-10-05T17:00:00Z");
  ASSERT_EQ(submit.code, 0) << submit.err;
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_);
  ASSERT_TRUE(events.ok());
  projections::GovernanceState state;
  for (const v1::Event& e : *events) {
    ASSERT_TRUE(
        state.Apply(e, projections::GovernanceState::Mode::kReplay).ok());
  }
  EXPECT_TRUE(state.FindDecision("MOPAC", "PCD 72")->approved());
  CliRun approved = Cli(absl::StrCat(
      Server(), " decision digest --organisation MOPAC --reference 'PCD 72'"));
  EXPECT_EQ(absl::StripAsciiWhitespace(approved.out), digest_hex);
  EXPECT_THAT(approved.err, HasSubstr("govledger: decision PCD 72 is approved: it takes no more "
                                      "signatures"));
}

// The summary beside a digest gives each text the proposer wrote alone on its line, after a
// label of ours: a title cannot close its quotes and state figures of its own (a security
// reviewer's trial), nor can a funding source, Part 2's reason or a role, whatever characters
// they hold (a quote, a backslash, a character read as a quote, a line break).
TEST_F(CliSigningTest, TheDigestsSummaryGivesEachTextOnALineOfItsOwn) {
  const std::string role = "Deputy Mayor; \"Mayor\"";
  v1::AppendResponse response;
  ASSERT_THAT(
      Append(*stub_, MakeAppend({At(Ev(Organisation("MOPAC")), MakeDate(2016, 1, 1))}), &response),
      GrpcOk());
  v1::DecisionProposed forged =
      Decision("MOPAC", "PCD 908", {role}, {Amount(v1::AMOUNT_KIND_ONE_OFF, 900000000, "F\"; x")});
  forged.set_title(absl::StrCat("Stationery\"; \u00a310.00 one-off from Petty Cash\namount  ",
                                "\u00a31.00", std::string(50, ' '), "  amount            \u00a35"));
  forged.mutable_part2()->set_text("withheld");
  forged.mutable_part2()->set_reason("commercial\u02ba; \u00a31.00");
  ASSERT_THAT(Append(*stub_, MakeAppend({At(Ev(forged), MakeDate(2016, 10, 4))}), &response),
              GrpcOk());
  CliRun shown =
      Cli(absl::StrCat(Server(), " decision digest --organisation MOPAC --reference 'PCD 908'"));
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(shown.err,
            "govledger: the digest of decision PCD 908 of MOPAC is of:\n"
            "  title                Stationery\"; \u00a310.00 one-off from Petty Cash\\namount [2 "
            "spaces] \u00a31.00 [52 spaces] amount [12 spaces] \u00a35\n"
            "  amount               \u00a39,000,000.00 one-off\n"
            "    funded from        F\"; x\n"
            "  recommendations      1\n"
            "  Part 2 reason        commercial\u02ba; \u00a31.00\n"
            "  to be signed by      Deputy Mayor; \"Mayor\"\n"
            "govledger: decision PCD 908 is pending, signed by nobody yet:\n"
            "  awaiting             Deputy Mayor; \"Mayor\"\n");
}

// A signature made before the decision was corrected and proposed again, submitted with the
// digest that was signed (--digest), is refused before anything is sent, saying so: the
// ledger, sent the digest as stored now, could only call it a signature that does not verify
// with the key (found by a signatory's trial). The digest signed now goes in.
TEST_F(CliSigningTest, SubmitSignatureChecksTheDigestSigned) {
  std::string prefix;
  ASSERT_NO_FATAL_FAILURE(RegisterDmpcKey(&prefix));
  v1::DecisionProposed first = Decision(
      "MOPAC", "PCD 72", {kDmpcRole}, {Amount(v1::AMOUNT_KIND_REVENUE, 7300000, "Reserve")});
  const v1::Event proposed = Ev(first);
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_, MakeAppend({proposed}), &response), GrpcOk());
  const std::string decision = " --organisation MOPAC --reference 'PCD 72'";
  auto digest_now = [&] {
    return std::string(absl::StripAsciiWhitespace(
        Cli(absl::StrCat(Server(), " decision digest", decision)).out));
  };
  auto sign = [&](const std::string& digest) {
    return std::string(absl::StripAsciiWhitespace(
        Cli(absl::StrCat("decision sign --key ", prefix, ".key --digest ", digest)).out));
  };
  const std::string old_digest = digest_now();
  const std::string old_signature = sign(old_digest);
  v1::DecisionProposed second = first;
  second.mutable_amounts(0)->set_pence(73000000);
  ASSERT_THAT(Append(*stub_, MakeAppend({Correction(proposed, "the amount was keyed wrong"),
                                         Ev(second)}),
                     &response),
              GrpcOk());
  const uint64_t head = response.events(1).position();
  const std::string new_digest = digest_now();
  ASSERT_NE(new_digest, old_digest);

  const std::string submit = absl::StrCat(Server(), " decision submit-signature", decision,
                                          " --key-id mopac-dmpc --signature ");
  CliRun stale = Cli(absl::StrCat(submit, old_signature, " --digest ", old_digest));
  EXPECT_EQ(stale.code, 1) << stale.err;
  EXPECT_THAT(stale.err,
              AllOf(HasSubstr(absl::StrCat("decision MOPAC/PCD 72 as stored now has the digest ",
                                           new_digest, ", not the ", old_digest, " signed: ")),
                    HasSubstr("that is the digest of a proposal of it that a correction has "
                              "voided since (govledger history decision/MOPAC/PCD-72)"),
                    HasSubstr("Nothing was sent")));
  // With a declaration, the voided proposal's own digest is still its (a tester's finding: it
  // was called no proposal's).
  CliRun stale_declared =
      Cli(absl::StrCat(submit, old_signature, " --digest ", old_digest,
                       " --declaration 'I have no interest to declare' --interests none"));
  EXPECT_EQ(stale_declared.code, 1) << stale_declared.err;
  EXPECT_THAT(stale_declared.err, HasSubstr("that is the digest of a proposal of it that a "
                                            "correction has voided since"));
  // A digest of no proposal of it (another decision's, say) is not called a correction's doing
  // (an integrator's trial).
  const std::string other_digest(64, 'a');
  CliRun other = Cli(absl::StrCat(submit, old_signature, " --digest ", other_digest));
  EXPECT_EQ(other.code, 1) << other.err;
  EXPECT_THAT(other.err, AllOf(HasSubstr(absl::StrCat("not the ", other_digest,
                                                      " signed: it is "
                                                      "the digest of no proposal of this "
                                                      "decision on record: of another decision "
                                                      "(check --organisation and --reference)")),
                               Not(HasSubstr("voided since")), HasSubstr("Nothing was sent")));
  CliRun bad = Cli(absl::StrCat(submit, old_signature, " --digest 12ab"));
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("--digest must be 64 hex digits"));
  absl::StatusOr<v1::GetHeadResponse> unchanged = GetHead(*stub_);
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->position(), head);

  CliRun fresh = Cli(absl::StrCat(submit, sign(new_digest), " --digest ", new_digest));
  EXPECT_EQ(fresh.code, 0) << fresh.err;
  EXPECT_THAT(fresh.out, HasSubstr(absl::StrCat("recorded at position ", head + 1)));
}

// A proposal voided by a correction and proposed again: the digest printed, signed and
// submitted is the live proposal's, and `verify` checks the signature against it.
TEST_F(CliSigningTest, TheDecisionProposedAgainAfterACorrectionIsTheOneSigned) {
  const std::string role = kDmpcRole;
  std::string prefix;
  ASSERT_NO_FATAL_FAILURE(RegisterDmpcKey(&prefix));
  v1::AppendResponse response;
  v1::DecisionProposed first = Decision(
      "MOPAC", "PCD 72", {role}, {Amount(v1::AMOUNT_KIND_REVENUE, 7300000, "Reserve")});
  const v1::Event proposed = Ev(first);
  v1::DecisionProposed second = first;
  second.mutable_amounts(0)->set_pence(73000000);
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({proposed, Correction(proposed, "the amount was keyed wrong"),
                                 Ev(second)}),
                     &response),
              GrpcOk());

  const std::string decision = " --organisation MOPAC --reference 'PCD 72'";
  CliRun digest = Cli(absl::StrCat(Server(), " decision digest", decision));
  ASSERT_EQ(digest.code, 0) << digest.err;
  const std::string digest_hex(absl::StripAsciiWhitespace(digest.out));
  EXPECT_EQ(digest_hex, crypto::ToHex(projections::DecisionDigest(second)));
  EXPECT_NE(digest_hex, crypto::ToHex(projections::DecisionDigest(first)));
  CliRun sig = Cli(absl::StrCat("decision sign --key ", prefix, ".key --digest ", digest_hex));
  ASSERT_EQ(sig.code, 0) << sig.err;
  CliRun submit = Cli(absl::StrCat(Server(), " decision submit-signature", decision,
                                   " --key-id mopac-dmpc --signature ",
                                   absl::StripAsciiWhitespace(sig.out)));
  ASSERT_EQ(submit.code, 0) << submit.err;
  CliRun verify = Cli(absl::StrCat(Server(), " verify"));
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("decision signatures: 1 verified (1 decision)"));

  // With the re-proposal voided too (after its signature, which builds on it), nothing is left
  // to sign.
  v1::Event again, signed_again;
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_TRUE(log.ok());
  for (const v1::Event& e : *log) {
    if (e.event_type() == "govledger.v1.DecisionProposed") again = e;
    if (e.event_type() == "govledger.v1.DecisionSigned") signed_again = e;
  }
  EXPECT_THAT(Append(*stub_, MakeAppend({Correction(again, "proposed in error")}), &response),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("which has since been signed")));
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({Correction(signed_again, "proposed in error"),
                                 Correction(again, "proposed in error")}),
                     &response),
              GrpcOk());
  CliRun none = Cli(absl::StrCat(Server(), " decision digest", decision));
  EXPECT_NE(none.code, 0);
  EXPECT_THAT(none.err, HasSubstr("holds no DecisionProposed that a correction has not voided"));

  // Proposed again spelt otherwise ("pcd-72": the same reference to the rules, another stream):
  // 'PCD 72', whose stream holds only voided proposals, finds it and says so.
  v1::DecisionProposed respelt = second;
  respelt.set_reference("pcd-72");
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(respelt)}), &response), GrpcOk());
  CliRun found = Cli(absl::StrCat(Server(), " decision digest", decision));
  ASSERT_EQ(found.code, 0) << found.err;
  EXPECT_EQ(absl::StripAsciiWhitespace(found.out),
            crypto::ToHex(projections::DecisionDigest(respelt)));
  EXPECT_THAT(found.err, HasSubstr("'PCD 72' is MOPAC's decision 'pcd-72' (references are "
                                   "compared without letter case"));
  // The digest signed before, of 'PCD 72' voided since, submitted for it: said to be a voided
  // proposal's, not another decision's (a reviewer's finding), and nothing is sent.
  CliRun stale = Cli(absl::StrCat(Server(), " decision submit-signature", decision,
                                  " --key-id mopac-dmpc --signature ",
                                  absl::StripAsciiWhitespace(sig.out), " --digest ", digest_hex));
  EXPECT_EQ(stale.code, 1) << stale.err;
  EXPECT_THAT(stale.err, HasSubstr("that is the digest of a proposal of it that a correction has "
                                   "voided since (govledger history decision/MOPAC/PCD-72)"));
  // Asked for as spelt otherwise again ('pcd72', a stream with no events): no stream without
  // events is named (a reviewer's finding).
  CliRun respelt_stale = Cli(
      absl::StrCat(Server(), " decision submit-signature --organisation MOPAC --reference pcd72",
                   " --key-id mopac-dmpc --signature ", absl::StripAsciiWhitespace(sig.out),
                   " --digest ", digest_hex));
  EXPECT_EQ(respelt_stale.code, 1) << respelt_stale.err;
  EXPECT_THAT(respelt_stale.err, Not(HasSubstr("decision/MOPAC/pcd72")));
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), response.events(0).position());
}

// A signatory declares interests as they sign: the CLI prints the signature digest for the
// declaration, the ledger verifies the signature over it, and the register shows the officers'
// statements, the holder and the interests declared.
TEST_F(CliSigningTest, ADeclarationOfInterestsIsSignedAndShownInTheRegister) {
  const std::string role = kDmpcRole;
  std::string prefix;
  ASSERT_NO_FATAL_FAILURE(RegisterDmpcKey(&prefix));
  v1::AppendResponse response;
  v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {role});
  v1::OfficerStatement* approval = pcd72.add_officer_approvals();
  approval->set_role("(Acting) Chief Executive Officer");
  approval->set_name("R. Lowrence");
  approval->set_statement("I have been consulted about the proposal.");
  *approval->mutable_dated() = MakeDate(2016, 10, 5);
  v1::OfficerStatement* legal = pcd72.add_originating_officer_declarations();
  legal->set_role("Legal Advice");
  legal->set_statement("The MPS legal team has been consulted on the proposal.");
  ASSERT_THAT(Append(*stub_, MakeAppend({Ev(pcd72)}), &response), GrpcOk());

  const std::string decision = " --organisation MOPAC --reference 'PCD 72'";
  const std::string declared =
      " --declaration 'I confirm I have considered whether or not I have any personal or "
      "prejudicial interest in this matter.' --interests 'Trustee of a youth charity'";
  CliRun digest = Cli(absl::StrCat(Server(), " decision digest", decision, declared));
  ASSERT_EQ(digest.code, 0) << digest.err;
  const std::string digest_hex(absl::StripAsciiWhitespace(digest.out));
  v1::InterestsDeclaration declaration;
  declaration.set_statement(
      "I confirm I have considered whether or not I have any personal or prejudicial interest "
      "in this matter.");
  declaration.set_interests("Trustee of a youth charity");
  EXPECT_EQ(digest_hex, crypto::ToHex(projections::SignatureDigest(
                            projections::DecisionDigest(pcd72), declaration)));
  // --interests needs --declaration; an empty declaration is refused.
  EXPECT_EQ(Cli(absl::StrCat(Server(), " decision digest", decision, " --interests x")).code, 2);
  CliRun empty = Cli(absl::StrCat(Server(), " decision digest", decision, " --declaration ''"));
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("--declaration: is empty"));
  // Text not UTF-8 is refused naming its flag, before anything is sent (it had reached
  // protobuf's serializer, which logged errors, and the server).
  CliRun latin1 = Cli(absl::StrCat(Server(), " decision digest", decision,
                                   " --declaration \"$(printf 'I \\243 declare')\""));
  EXPECT_EQ(latin1.code, 2);
  EXPECT_THAT(latin1.err, HasSubstr("--declaration: is not UTF-8 text (byte 3); give it as UTF-8"));
  EXPECT_THAT(latin1.err, Not(HasSubstr("libprotobuf")));

  CliRun sig = Cli(absl::StrCat("decision sign --key ", prefix, ".key --digest ", digest_hex));
  ASSERT_EQ(sig.code, 0) << sig.err;
  const std::string sig_hex(absl::StripAsciiWhitespace(sig.out));
  // Submitted without the declaration it signed, or with other interests: refused.
  CliRun bare = Cli(absl::StrCat(Server(), " decision submit-signature", decision,
                                 " --key-id mopac-dmpc --signature ", sig_hex));
  EXPECT_EQ(bare.code, 1);
  EXPECT_THAT(bare.err, HasSubstr("over its canonical digest"));
  CliRun other = Cli(absl::StrCat(Server(), " decision submit-signature", decision,
                                  " --key-id mopac-dmpc --signature ", sig_hex,
                                  " --declaration 'I confirm I have considered whether or not I "
                                  "have any personal or prejudicial interest in this matter.'"));
  EXPECT_EQ(other.code, 1);
  EXPECT_THAT(other.err, HasSubstr("this declaration of interests"));
  // With --digest the decision's own digest (what a stored DecisionSigned's digest holds), not
  // the signature digest signed: told which to give, nothing sent.
  const std::string own = crypto::ToHex(projections::DecisionDigest(pcd72));
  CliRun own_digest =
      Cli(absl::StrCat(Server(), " decision submit-signature", decision,
                       " --key-id mopac-dmpc --signature ", sig_hex, declared, " --digest ", own));
  EXPECT_EQ(own_digest.code, 2) << own_digest.err;
  EXPECT_THAT(own_digest.err,
              HasSubstr(absl::StrCat("--digest is decision MOPAC/PCD 72's own digest, but with "
                                     "--declaration the signature is over the signature "
                                     "digest, ",
                                     digest_hex)));
  EXPECT_THAT(own_digest.err, Not(HasSubstr("corrected")));
  CliRun submit = Cli(absl::StrCat(Server(), " decision submit-signature", decision,
                                   " --key-id mopac-dmpc --signature ", sig_hex, declared));
  ASSERT_EQ(submit.code, 0) << submit.err;

  CliRun view = Cli(absl::StrCat(Server(), " decisions --organisation MOPAC"));
  ASSERT_EQ(view.code, 0) << view.err;
  EXPECT_THAT(view.out, HasSubstr("approved"));
  EXPECT_THAT(view.out, HasSubstr(role + " (Sophie Linden)"));
  // Proposed, and approved by its one signature, now (the events' effective times).
  EXPECT_THAT(view.out, ContainsRegex("MOPAC PCD 72:\n  Proposed effective 20[-0-9T:.]+Z; approved "
                                      "effective 20[-0-9T:.]+Z \\(its last required signature\\)\n"));
  EXPECT_THAT(view.out, HasSubstr("Z (its last required signature)\n"
                                  "  Recommendation 1: approve it\n"
                                  "  Originating officer (Legal Advice): The MPS legal team has "
                                  "been consulted on the proposal.\n"
                                  "  Officer approval ((Acting) Chief Executive Officer, R. "
                                  "Lowrence, 2016-10-05): I have been consulted about the "
                                  "proposal.\n"
                                  "  Signed by Deputy Mayor for Policing and Crime (Sophie "
                                  "Linden) (no date written beside the signature)\n"
                                  "  Interests declared by " +
                                  role + " (Sophie Linden): Trustee of a youth charity\n"));
  // The decision's history shows the declaration from the signature on.
  CliRun history = Cli(absl::StrCat(Server(), " history decision/MOPAC/PCD-72 --json"));
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_THAT(history.out, HasSubstr("{\"name\":\"interests declared\",\"value\":\"" + role +
                                     ": Trustee of a youth charity\"}"));
}

// A key registered today signs a decision of 2016 only with an effective time:
// a signature takes effect no earlier than its key's registration.
TEST_F(CliSigningTest, AHistoricDecisionIsSignedWithEffectiveTimes) {
  const std::string prefix = keys_dir_.path() + "/dmpc";
  ASSERT_EQ(Cli(absl::StrCat("keys generate --out ", prefix)).code, 0);
  const std::string role = "Deputy Mayor for Policing and Crime";
  v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {role});
  v1::AppendResponse response;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({At(Ev(Organisation("MOPAC")), MakeDate(2016, 10, 1)),
                                 At(Ev(pcd72), MakeDate(2016, 10, 3))}),
                     &response),
              GrpcOk());
  const std::string reg = absl::StrCat(
      Server(), " keys register --key-id mopac-dmpc --holder 'Sophie Linden' --role '", role,
      "' --pub ", prefix, ".pub --organisation MOPAC");
  EXPECT_EQ(Cli(reg + " --effective 2016-13-01").code, 2);
  // A source of more than one line: exit 2, before anything is sent.
  CliRun two_lines = Cli(reg + " --effective 2016-10-04 --source \"$(printf 'a\\nb')\"");
  EXPECT_EQ(two_lines.code, 2) << two_lines.err;
  EXPECT_THAT(two_lines.err, HasSubstr("--source: "));
  CliRun registered = Cli(reg + " --effective 2016-10-04T09:30:00Z --source 'PCD 72 form'");
  ASSERT_EQ(registered.code, 0) << registered.err;
  EXPECT_EQ(registered.err, "");  // signs for MOPAC alone: nothing to say
  const std::string sig_hex(absl::StripAsciiWhitespace(
      Cli(absl::StrCat("decision sign --key ", prefix, ".key --digest ",
                       crypto::ToHex(projections::DecisionDigest(pcd72))))
          .out));
  const std::string submit = absl::StrCat(
      Server(), " decision submit-signature --organisation MOPAC --reference 'PCD 72'",
      " --key-id mopac-dmpc --signed-on 2016-10-05 --signature ", sig_hex);
  // Effective before the key's registration: refused, naming the key.
  CliRun early = Cli(submit + " --effective 2016-10-04");
  EXPECT_EQ(early.code, 1) << early.err;
  EXPECT_THAT(early.err, HasSubstr("signing key mopac-dmpc was registered effective "
                                   "2016-10-04T09:30:00Z"));
  // At the paper's date, after the registration: accepted.
  CliRun on_time = Cli(submit + " --effective 2016-10-05 --source 'PCD 72, signed form'");
  ASSERT_EQ(on_time.code, 0) << on_time.err;
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 4u);
  // Each says which event it stored, with the source given.
  EXPECT_THAT(registered.out, HasSubstr(absl::StrCat("registered key mopac-dmpc at position 3 "
                                                     "(event ", (*events)[2].event_id(), ")")));
  EXPECT_THAT(on_time.out, HasSubstr(absl::StrCat("recorded at position 4 (event ",
                                                  (*events)[3].event_id(), ")")));
  EXPECT_EQ((*events)[2].source(), "PCD 72 form");
  EXPECT_EQ((*events)[3].source(), "PCD 72, signed form");
  v1::SigningKeyRegistered key;
  ASSERT_TRUE(key.ParseFromString((*events)[2].payload()));
  EXPECT_EQ(key.organisation_id(), "MOPAC");
  EXPECT_EQ((*events)[2].effective_time().seconds(), (*events)[3].effective_time().seconds() -
                                                         (14 * 3600 + 30 * 60));
}

TEST_F(CliSigningTest, ExitCodes) {
  // 2: bad arguments.
  EXPECT_EQ(Cli("decision sign --key /nonexistent.key --digest 00").code, 2);
  const std::string prefix = keys_dir_.path() + "/k";
  ASSERT_EQ(Cli(absl::StrCat("keys generate --out ", prefix)).code, 0);
  EXPECT_EQ(
      Cli(absl::StrCat("decision sign --key ", prefix, ".key --digest xyz"))
          .code,
      2);
  EXPECT_EQ(Cli(absl::StrCat("decision sign --key ", prefix, ".pub --digest ",
                             std::string(64, 'a')))
                .code,
            2);
  EXPECT_EQ(
      Cli(absl::StrCat(Server(), " decision digest --organisation MOPAC")).code,
      2);
  EXPECT_EQ(
      Cli(absl::StrCat(
              Server(),
              " decision submit-signature --organisation MOPAC --reference X",
              " --key-id k --signature abcd"))
          .code,
      2);
  // A signing date that is not a date of the calendar, or not written YYYY-MM-DD, before
  // anything is sent.
  for (const char* date : {"2016-13-45", "2016-02-30", "2016-1-5", "16-01-05"}) {
    CliRun bad_date = Cli(absl::StrCat(
        Server(), " decision submit-signature --organisation MOPAC --reference X",
        " --key-id k --signed-on ", date, " --signature ", std::string(128, 'a')));
    EXPECT_EQ(bad_date.code, 2) << date << ": " << bad_date.err;
    EXPECT_THAT(bad_date.err, HasSubstr(absl::StrCat("--signed-on '", date, "' is not a")));
  }
  // A key pair is written whole or not at all: an existing public key leaves no new private
  // key behind, and an empty prefix names no file.
  const std::string half = keys_dir_.path() + "/half";
  ASSERT_EQ(Cli(absl::StrCat("keys generate --out ", prefix)).code, 2);  // both exist
  {
    std::ofstream pub(half + ".pub");
    pub << "an earlier public key\n";
  }
  CliRun exists = Cli(absl::StrCat("keys generate --out ", half));
  EXPECT_EQ(exists.code, 2);
  EXPECT_THAT(exists.err, HasSubstr(half + ".pub: it exists (use --force)"));
  struct stat st;
  EXPECT_NE(::stat((half + ".key").c_str(), &st), 0);
  for (const std::string& out : {std::string("''"), keys_dir_.path() + "/"}) {
    CliRun nameless = Cli(absl::StrCat("keys generate --out ", out));
    EXPECT_EQ(nameless.code, 2) << out;
    EXPECT_THAT(nameless.err, HasSubstr(out == "''" ? "--out: is empty" : "names no file")) << out;
  }
  EXPECT_NE(::stat((keys_dir_.path() + "/.key").c_str(), &st), 0);
  // A directory without the slash: the keys would have landed beside it.
  CliRun directory = Cli(absl::StrCat("keys generate --out ", keys_dir_.path()));
  EXPECT_EQ(directory.code, 2);
  EXPECT_THAT(directory.err, HasSubstr(absl::StrCat("--out '", keys_dir_.path(),
                                                    "' is a directory: give a prefix inside it")));
  EXPECT_NE(::stat((keys_dir_.path() + ".key").c_str(), &st), 0);
  // A file's name for the prefix (dmpc.key.key and dmpc.key.pub): its prefix is named.
  CliRun suffixed = Cli(absl::StrCat("keys generate --out ", keys_dir_.path(), "/dmpc.key"));
  EXPECT_EQ(suffixed.code, 2);
  EXPECT_THAT(suffixed.err, HasSubstr(absl::StrCat("ends in .key: it is the prefix of both files, "
                                                   "which the command ends with .key and .pub; "
                                                   "give --out ",
                                                   keys_dir_.path(), "/dmpc")));
  EXPECT_NE(::stat((keys_dir_.path() + "/dmpc.key.key").c_str(), &st), 0);
  // In any letter case; and a suffix alone is given a name that works.
  CliRun bare = Cli(absl::StrCat("keys generate --out ", keys_dir_.path(), "/.KEY"));
  EXPECT_EQ(bare.code, 2);
  EXPECT_THAT(bare.err, HasSubstr(absl::StrCat("ends in .KEY: it is the prefix of both files, "
                                               "which the command ends with .key and .pub; "
                                               "give --out ",
                                               keys_dir_.path(), "/dmpc-2016")));
  // With stdout closed nothing is done: no key pair is left behind by a run that exits 2.
  CliRun closed = Cli(absl::StrCat("keys generate --out ", keys_dir_.path(), "/closed >&-"));
  EXPECT_EQ(closed.code, 2);
  EXPECT_THAT(closed.err, HasSubstr("stdout is closed, so nothing could be written"));
  EXPECT_NE(::stat((keys_dir_.path() + "/closed.key").c_str(), &st), 0);
  // A decision's reference as written, where its stream has the slug: exit 2 before any call.
  CliRun spaced = Cli("--server 127.0.0.1:1 decision digest --decision-stream "
                      "'decision/MOPAC/PCD 72'");
  EXPECT_EQ(spaced.code, 2) << spaced.err;
  EXPECT_THAT(spaced.err, HasSubstr("--decision-stream: "));
  EXPECT_THAT(spaced.err, HasSubstr("a decision's stream has its reference with '-' for each "
                                    "space: decision/MOPAC/PCD-72"));
  // A key's registration the server would refuse as malformed: exit 2 before any call.
  CliRun holderless =
      Cli(absl::StrCat("--server 127.0.0.1:1 keys register --key-id k-empty "
                       "--holder ' ' --role 'Chief Executive' --pub ",
                       prefix, ".pub"));
  EXPECT_EQ(holderless.code, 2) << holderless.err;
  EXPECT_THAT(holderless.err, HasSubstr("holder is required (it holds only white space)"));
  // A registration that got no answer may be stored: where to look is said.
  AnswerLost lost;
  CliRun unanswered = Cli(absl::StrCat("--server ", lost.address(),
                                       " keys register --key-id k-lost "
                                       "--holder 'Sophie Linden' --role 'Chief Executive' --pub ",
                                       prefix, ".pub"));
  EXPECT_EQ(unanswered.code, 3) << unanswered.err;
  EXPECT_THAT(unanswered.err, HasSubstr("may have been stored all the same: `govledger history "
                                        "key/k-lost` shows whether it was"));
  // A public key no private key makes (all zeros: anyone could sign for it).
  {
    std::ofstream pub(keys_dir_.path() + "/zero.pub");
    pub << *crypto::Ed25519PublicKeyToPem(std::string(32, '\0'));
  }
  CliRun zero = Cli(absl::StrCat("--server 127.0.0.1:1 keys register --key-id k-zero --holder "
                                 "Mallory --role 'Chief Executive' --pub ",
                                 keys_dir_.path(), "/zero.pub"));
  EXPECT_EQ(zero.code, 2) << zero.err;
  EXPECT_THAT(zero.err, HasSubstr("zero.pub: the PEM holds an Ed25519 key, but the public key "
                                  "is not one a private key makes"));
  // 1: the server has no such decision.
  CliRun missing = Cli(absl::StrCat(
      Server(), " decision digest --organisation MOPAC --reference 'PCD 1'"));
  EXPECT_EQ(missing.code, 1) << missing.err;
  // 3: no server.
  EXPECT_EQ(Cli("--server 127.0.0.1:1 decision digest --organisation MOPAC "
                "--reference X")
                .code,
            3);
}

}  // namespace
}  // namespace govledger::testing
