// SignatureAudit (projections/signature_audit.h): every decision signature of a log re-verified
// from the log alone; a decision, a key or a signature rewritten after signing is found.
#include "projections/signature_audit.h"

#include <string>
#include <vector>

#include "projections/governance_state.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::IsOk;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kRole[] = "Deputy Mayor for Policing and Crime";

class SignatureAuditTest : public ::testing::Test {
 protected:
  // MOPAC, two keys, PCD 72 signed by both (the second with a declaration of interests).
  std::vector<v1::Event> Log() const {
    std::vector<v1::Event> log = {Ev(Organisation("MOPAC")),
                                  Ev(dmpc_.Registration("Sophie Linden")),
                                  Ev(cfo_.Registration("Chief Finance Officer")),
                                  Ev(pcd72_),
                                  Ev(dmpc_.Sign(pcd72_)),
                                  Ev(cfo_.SignDeclaring(pcd72_, "None"))};
    for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
    return log;
  }
  // Feeds `log` to a fresh audit; the first failure, or OK.
  absl::Status Audit(const std::vector<v1::Event>& log, SignatureAudit* audit) const {
    for (const v1::Event& e : log) {
      if (absl::Status s = audit->Add(e); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  Signer dmpc_ = NewSigner("mopac-dmpc", kRole);
  Signer cfo_ = NewSigner("mopac-cfo", "Chief Finance Officer");
  v1::DecisionProposed pcd72_ = Decision(
      "MOPAC", "PCD 72", {kRole, "Chief Finance Officer"},
      {Amount(v1::AMOUNT_KIND_REVENUE, 73000000, "Major Change Reserve")});
};

// A signature a later correction voids was verified as recorded, and is now counted apart: the
// folds of the log as it stands no longer count it towards approval.
TEST_F(SignatureAuditTest, ASignatureVoidedLaterIsCountedAsVoided) {
  std::vector<v1::Event> log = Log();
  SignatureAudit before;
  ASSERT_OK(Audit(log, &before));
  EXPECT_EQ(before.voided(), 0);
  log.push_back(Correction(log[log.size() - 2], "signed by the wrong office"));
  log.back().set_position(log.size());
  SignatureAudit audit;
  ASSERT_OK(Audit(log, &audit));
  EXPECT_EQ(audit.verified(), 2);
  EXPECT_EQ(audit.voided(), 1);
  // Correcting the correction restores it.
  log.push_back(Correction(log.back(), "the office was right after all"));
  log.back().set_position(log.size());
  SignatureAudit restored;
  ASSERT_OK(Audit(log, &restored));
  EXPECT_EQ(restored.voided(), 0);
}

TEST_F(SignatureAuditTest, EverySignatureOfAnHonestLogVerifies) {
  SignatureAudit audit;
  ASSERT_OK(Audit(Log(), &audit));
  EXPECT_EQ(audit.verified(), 2);
  EXPECT_EQ(audit.unchecked(), 0);
  EXPECT_EQ(audit.decisions_signed(), 1u);
  const auto keys = audit.keys_used();  // by key id
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key_id, "mopac-cfo");
  EXPECT_EQ(keys[0].signatures, 1);
  EXPECT_EQ(keys[1].key_id, "mopac-dmpc");
  EXPECT_EQ(keys[1].registration.holder(), "Sophie Linden");
  EXPECT_EQ(keys[1].registration.public_key(), dmpc_.keys.public_key);
  EXPECT_EQ(keys[1].registered_at, 2u);
}

// Each key that signed is listed with the revocation in force as the log now stands: the
// earliest effective of those no correction voids.
TEST_F(SignatureAuditTest, KeysUsedCarryTheirRevocationInForce) {
  std::vector<v1::Event> log = Log();
  log.push_back(At(Ev(Revoke("mopac-dmpc")), MakeDate(2030, 1, 1)));
  log.push_back(At(Ev(Revoke("mopac-dmpc")), MakeDate(2029, 6, 1)));
  log.push_back(Correction(log.back(), "the term was not cut short"));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit voided;
  ASSERT_OK(Audit(log, &voided));
  ASSERT_EQ(voided.keys_used().size(), 2u);
  EXPECT_EQ(voided.keys_used()[0].revoked_at, 0u);  // mopac-cfo
  EXPECT_EQ(voided.keys_used()[1].revoked_at, 7u);
  EXPECT_EQ(voided.keys_used()[1].revoked_from_micros,
            ToMicros(log[6].effective_time()));
  log.pop_back();  // without the correction, the earlier one
  SignatureAudit audit;
  ASSERT_OK(Audit(log, &audit));
  EXPECT_EQ(audit.keys_used()[1].revoked_at, 8u);
  EXPECT_EQ(audit.keys_used()[1].revoked_from_micros, ToMicros(log[7].effective_time()));
  EXPECT_FALSE(audit.keys_used()[1].voided);
}

// Signatures the rules now refuse, each real: one by a key already revoked (its private key
// stolen, say), and one person's second with a key for another role. They are listed, naming
// their positions, not failed: a log written under an earlier version's rules may hold them (a
// security review passed both through `verify --file` without a word).
TEST_F(SignatureAuditTest, SignaturesTheRulesNowRefuseAreListed) {
  auto recorded_at = [](v1::Event e, int year, int month, int day) {
    *e.mutable_recorded_time() = *At(e, MakeDate(year, month, day)).mutable_effective_time();
    return e;
  };
  // Signed after the key's revocation took effect, and effective (backdated) before it.
  std::vector<v1::Event> log = Log();
  log.pop_back();  // the CFO signs below
  log.push_back(recorded_at(At(Ev(Revoke("mopac-cfo")), MakeDate(2016, 11, 1)), 2016, 11, 1));
  log.push_back(recorded_at(At(Ev(cfo_.Sign(pcd72_)), MakeDate(2016, 10, 5)), 2016, 12, 1));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit revoked;
  ASSERT_OK(Audit(log, &revoked));
  EXPECT_EQ(revoked.verified(), 2);
  EXPECT_THAT(revoked.refused_by_rules(),
              ElementsAre(AllOf(HasSubstr("position 7: the signature of decision MOPAC/PCD 72 "
                                          "with key mopac-cfo (Chief Finance Officer) was "
                                          "recorded after the key's revocation at position 6 "
                                          "took effect (2016-11-01T"),
                                HasSubstr("a revoked key signs nothing after its revocation "
                                          "takes effect"))));
  // A revocation dated ahead (a term's end) lets it sign until then.
  log[5] = recorded_at(At(Ev(Revoke("mopac-cfo")), MakeDate(2017, 5, 1)), 2016, 11, 1);
  log[5].set_position(6);
  SignatureAudit ahead;
  ASSERT_OK(Audit(log, &ahead));
  EXPECT_THAT(ahead.refused_by_rules(), IsEmpty());
  // One person, two keys for the two roles.
  Signer linden_as_cfo = NewSigner("mopac-linden-cfo", "Chief Finance Officer");
  log = Log();
  log.pop_back();
  log.insert(log.begin() + 3, Ev(linden_as_cfo.Registration("Sophie Linden.")));
  log.push_back(Ev(linden_as_cfo.Sign(pcd72_)));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit twice;
  ASSERT_OK(Audit(log, &twice));
  EXPECT_THAT(twice.refused_by_rules(),
              ElementsAre(AllOf(HasSubstr("position 7: the signature of decision MOPAC/PCD 72 "
                                          "with key mopac-linden-cfo (Sophie Linden.) follows "
                                          "the signature at position 6 with key mopac-dmpc "
                                          "(Sophie Linden, role 'Deputy Mayor for Policing and "
                                          "Crime')"),
                                HasSubstr("once per key, per holder and per role"))));
  // Voided, the first no longer counts: the second is the holder's one signature.
  log.insert(log.end() - 1, Correction(log[5], "signed in error"));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit after_void;
  ASSERT_OK(Audit(log, &after_void));
  EXPECT_THAT(after_void.refused_by_rules(), IsEmpty());
  // Another organisation's key (a reviewer's: listed by nothing, and counted by the fold).
  Signer outsider = NewSigner("other-cfo", "Chief Finance Officer");
  v1::SigningKeyRegistered outsider_key = outsider.Registration("Someone Else");
  outsider_key.set_organisation_id("OTHER");
  log = Log();
  log.pop_back();
  log.insert(log.begin() + 3, Ev(outsider_key));
  log.push_back(Ev(outsider.Sign(pcd72_)));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit other_org;
  ASSERT_OK(Audit(log, &other_org));
  EXPECT_THAT(other_org.refused_by_rules(),
              ElementsAre(HasSubstr("position 7: the signature of decision MOPAC/PCD 72 with key "
                                    "other-cfo (Someone Else) is by a key registered for "
                                    "organisation OTHER")));
  GovernanceState folded;
  for (const v1::Event& e : log) ASSERT_OK(folded.Apply(e, GovernanceState::Mode::kReplay));
  EXPECT_THAT(folded.FindDecision("MOPAC", "PCD 72")->signing_keys, ElementsAre("mopac-dmpc"));
}

// More signatures the rules refuse, each verifying (a reviewer planted them in a log rewritten
// with a fresh chain, and verify listed none): one key pair registered under two key ids, so
// that one signature counts for two roles; a signature dated before its decision's proposal;
// one recorded after the decision's withdrawal.
TEST_F(SignatureAuditTest, AKeyPairUnderTwoIdsAnEarlySignatureAndOneAfterAWithdrawalAreListed) {
  v1::SigningKeyRegistered twin = cfo_.Registration("Zed Other");
  twin.set_key_id("twin");
  twin.set_role(kRole);
  v1::DecisionSigned by_twin = cfo_.Sign(pcd72_);  // the very signature bytes
  by_twin.set_key_id("twin");
  std::vector<v1::Event> log = {Ev(Organisation("MOPAC")),
                                Ev(cfo_.Registration("Chief Finance Officer")),
                                Ev(twin),
                                Ev(pcd72_),
                                Ev(cfo_.Sign(pcd72_)),
                                Ev(by_twin)};
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit twice;
  ASSERT_OK(Audit(log, &twice));
  EXPECT_EQ(twice.verified(), 2);
  EXPECT_THAT(twice.refused_by_rules(),
              ElementsAre(HasSubstr("position 5: the signature of decision MOPAC/PCD 72 with key "
                                    "mopac-cfo (Chief Finance Officer) is by a key pair also "
                                    "registered as key twin at position 3"),
                          AllOf(HasSubstr("position 6: the signature of decision MOPAC/PCD 72 "
                                          "with key twin (Zed Other) is by a key pair also "
                                          "registered as key mopac-cfo at position 2"),
                                HasSubstr("(a key pair is registered once, to one holder and "
                                          "role)"))));
  // Voided, the twin's registration no longer stands in the first's way.
  log.insert(log.begin() + 3, Correction(log[2], "registered with the wrong key pair"));
  log.pop_back();
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit voided;
  ASSERT_OK(Audit(log, &voided));
  EXPECT_THAT(voided.refused_by_rules(), IsEmpty());

  // Dated before the proposal.
  log = Log();
  log[3] = At(Ev(pcd72_), MakeDate(2016, 6, 1));
  log[4] = At(Ev(dmpc_.Sign(pcd72_)), MakeDate(2016, 5, 1));
  log[5] = At(Ev(cfo_.Sign(pcd72_)), MakeDate(2016, 6, 1));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit early;
  ASSERT_OK(Audit(log, &early));
  EXPECT_THAT(early.refused_by_rules(),
              ElementsAre(AllOf(HasSubstr("position 5: the signature of decision MOPAC/PCD 72 "
                                          "with key mopac-dmpc (Sophie Linden) takes effect "
                                          "(2016-05-01T12:00:00Z) before its decision's proposal "
                                          "(2016-06-01T12:00:00Z)"),
                                HasSubstr("no earlier than its decision's proposal and its key's "
                                          "registration"))));
  // Dated before its key's registration.
  log = Log();
  log[2] = At(Ev(cfo_.Registration("Chief Finance Officer")), MakeDate(2016, 6, 1));
  log[5] = At(Ev(cfo_.Sign(pcd72_)), MakeDate(2016, 5, 1));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit before_key;
  ASSERT_OK(Audit(log, &before_key));
  EXPECT_THAT(before_key.refused_by_rules(),
              ElementsAre(HasSubstr("position 6: the signature of decision MOPAC/PCD 72 with key "
                                    "mopac-cfo (Chief Finance Officer) takes effect "
                                    "(2016-05-01T12:00:00Z) before its key's registration "
                                    "(2016-06-01T12:00:00Z)")));

  // Recorded after the decision's withdrawal.
  v1::DecisionWithdrawn withdrawn;
  withdrawn.set_organisation_id("MOPAC");
  withdrawn.set_reference("PCD 72");
  withdrawn.set_reason("overtaken");
  log = Log();
  log.insert(log.end() - 1, Ev(withdrawn));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit after;
  ASSERT_OK(Audit(log, &after));
  EXPECT_THAT(after.refused_by_rules(),
              ElementsAre(AllOf(HasSubstr("position 7: the signature of decision MOPAC/PCD 72 "
                                          "with key mopac-cfo (Chief Finance Officer) follows "
                                          "the decision's withdrawal at position 6"),
                                HasSubstr("(only a pending decision is signed)"))));
  // After a rejection alike.
  v1::DecisionRejected rejected;
  rejected.set_organisation_id("MOPAC");
  rejected.set_reference("PCD 72");
  rejected.set_rejected_by("Police and Crime Panel");
  log[5] = Ev(rejected);
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit after_rejection;
  ASSERT_OK(Audit(log, &after_rejection));
  EXPECT_THAT(after_rejection.refused_by_rules(),
              ElementsAre(HasSubstr("follows the decision's rejection at position 6")));
  // The first proposal voided and the decision proposed again (as the rules let it be): the
  // rejection was of the voided proposal, and the signature counts with the new one.
  log.insert(log.end() - 1, Correction(log[3], "proposed with the wrong amount"));
  log.insert(log.end() - 1, Ev(pcd72_));
  for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
  SignatureAudit again;
  ASSERT_OK(Audit(log, &again));
  EXPECT_EQ(again.verified(), 2);
  EXPECT_THAT(again.refused_by_rules(), IsEmpty());
}

// A key whose registration a correction voids after it signed is still listed (it signed), and
// marked: the folds count none of its signatures now.
TEST_F(SignatureAuditTest, AKeyWhoseRegistrationIsVoidedLaterIsMarked) {
  std::vector<v1::Event> log = Log();
  log.push_back(Correction(log[1], "registered under the wrong holder"));
  log.back().set_position(log.size());
  SignatureAudit audit;
  ASSERT_OK(Audit(log, &audit));
  ASSERT_EQ(audit.keys_used().size(), 2u);
  EXPECT_FALSE(audit.keys_used()[0].voided);  // mopac-cfo
  EXPECT_TRUE(audit.keys_used()[1].voided);   // mopac-dmpc
}

// What a rewritten log would hold: the decision changed after it was signed, another public key
// registered for the signatory, a declaration changed, or a signature by someone else.
TEST_F(SignatureAuditTest, ALogRewrittenAfterSigningIsFoundAtTheSignature) {
  {
    std::vector<v1::Event> log = Log();
    v1::DecisionProposed changed = pcd72_;
    changed.mutable_amounts(0)->set_pence(73000100);
    log[3].set_payload(changed.SerializeAsString());
    SignatureAudit audit;
    // The signature names the digest it signed, which is not the decision's now.
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 5: the signature of decision MOPAC/PCD 72 "
                                         "with key mopac-dmpc names the digest"),
                               HasSubstr("canonical digest"))));
    // Without it, the signature does not verify over the decision's digest.
    v1::DecisionSigned unnamed = dmpc_.Sign(pcd72_);
    unnamed.clear_digest();
    log[4].set_payload(unnamed.SerializeAsString());
    SignatureAudit again;
    EXPECT_THAT(Audit(log, &again),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 5: the signature of decision MOPAC/PCD 72 "
                                         "with key mopac-dmpc (Sophie Linden) does not verify"),
                               HasSubstr("canonical digest"))));
  }
  {
    std::vector<v1::Event> log = Log();
    v1::SigningKeyRegistered other = dmpc_.Registration("Sophie Linden");
    other.set_public_key(NewSigner("x", kRole).keys.public_key);
    log[1].set_payload(other.SerializeAsString());
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 5:")));
  }
  {
    std::vector<v1::Event> log = Log();
    v1::DecisionSigned declared = cfo_.SignDeclaring(pcd72_, "None");
    declared.mutable_declaration()->set_interests("Director of a supplier");
    log[5].set_payload(declared.SerializeAsString());
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 6:"), HasSubstr("signature digest"))));
    EXPECT_EQ(audit.verified(), 1);
  }
  {
    std::vector<v1::Event> log = Log();
    const Signer impostor{dmpc_.key_id, kRole, NewSigner("y", kRole).keys};
    log[4].set_payload(impostor.Sign(pcd72_).SerializeAsString());
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 5:")));
  }
  {
    std::vector<v1::Event> log = Log();
    log[4].set_payload("\xff\xff");
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("position 5: the govledger.v1.DecisionSigned payload does "
                                   "not parse")));
  }
}

// In the whole log from position 1, a signature without its key's registration or its
// decision's proposal before it is a failure naming its position: the ledger accepts none, so
// it was forged into a rewritten log (found by an auditor's independent verifier: `verify`
// passed such a log, counting the signature "not checked").
TEST_F(SignatureAuditTest, InTheWholeLogASignatureWithoutItsKeyOrDecisionFails) {
  const Signer stranger = NewSigner("never-registered", kRole);
  {
    std::vector<v1::Event> log = Log();
    log.push_back(Ev(stranger.Sign(pcd72_)));
    log.back().set_position(log.size());
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 7: the signature of decision MOPAC/PCD 72 "
                                         "with key never-registered has no key never-registered "
                                         "registered before it"),
                               HasSubstr("the log was changed after it was written"))));
  }
  {
    v1::DecisionProposed never = pcd72_;
    never.set_reference("PCD 99");
    std::vector<v1::Event> log = Log();
    log.push_back(Ev(dmpc_.Sign(never)));
    log.back().set_position(log.size());
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("position 7: the signature of decision MOPAC/PCD 99 with key "
                                   "mopac-dmpc has no decision MOPAC/PCD 99 proposed before it")));
  }
  {
    // A key registered only after the signature does not count for it.
    std::vector<v1::Event> log = Log();
    log.insert(log.begin() + 4, Ev(stranger.Sign(pcd72_)));
    log.push_back(Ev(stranger.Registration("Someone")));
    for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 5: ")));
  }
}

// A proposal holding a field this version does not know is checked with this version's
// digest, which leaves the field out. Signed over that digest (an older log's, which stored
// such fields unchecked), the signature verifies. Signed over a newer version's digest, or
// changed after signing with a field added to hide it (a reviewer's bypass: the signature was
// counted "not checked" and verify passed), it fails, naming what this version does not know.
TEST_F(SignatureAuditTest, AProposalHoldingWhatThisVersionDoesNotKnowIsCheckedWithItsDigest) {
  v1::DecisionProposed with_field = pcd72_;
  with_field.GetReflection()->MutableUnknownFields(&with_field)->AddLengthDelimited(16, "x");
  {
    std::vector<v1::Event> log = Log();
    log[3] = Ev(with_field);
    log[3].set_position(4);
    SignatureAudit audit;
    ASSERT_OK(Audit(log, &audit));
    EXPECT_EQ(audit.verified(), 2);
  }
  {
    // £730,000 made £73m, with the field added: the signatures named the old digest.
    v1::DecisionProposed changed = with_field;
    changed.mutable_amounts(0)->set_pence(7300000000);
    std::vector<v1::Event> log = Log();
    log[3] = Ev(changed);
    log[3].set_position(4);
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 5: the signature of decision MOPAC/PCD 72"),
                               HasSubstr("the proposal (position 4) holds field number 16, "
                                         "which this version of govledger does not know: if a "
                                         "newer govledger recorded it, verify with one at "
                                         "least as new"))));
  }
  {
    // Signed over a digest that is not this version's, naming none.
    v1::DecisionSigned over_more = dmpc_.Sign(pcd72_);
    over_more.set_signature(std::string(64, '\x42'));
    over_more.clear_digest();
    std::vector<v1::Event> log = Log();
    log[3] = Ev(with_field);
    log[3].set_position(4);
    log[4] = Ev(over_more);
    log[4].set_position(5);
    SignatureAudit audit;
    EXPECT_THAT(Audit(log, &audit),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 5: "), HasSubstr("does not verify"),
                               HasSubstr("holds field number 16"))));
  }
}

// A log written before 2026-11-30 may hold a signature whose key registration (or proposal) a
// correction had voided before it (the rules of the time did not look at corrections): in the
// whole log it is verified with the key and proposal before it, voided or not, as those rules
// checked it, and counted apart, since no fold counts it; neither taken for a forgery (a
// reviewer's find) nor passed over unchecked, where a forged one would hide. In a part of the
// log it is unchecked: the proposal a fold counts may come before the part.
TEST_F(SignatureAuditTest, ASignatureAfterItsKeyOrProposalWasVoidedIsVerifiedWithThem) {
  for (size_t voided : {size_t{1}, size_t{3}}) {  // the signer's key, the proposal
    std::vector<v1::Event> log = Log();
    log.insert(log.begin() + 4, Correction(log[voided], "recorded in error"));
    for (size_t i = 0; i < log.size(); ++i) log[i].set_position(i + 1);
    SignatureAudit audit;
    ASSERT_OK(Audit(log, &audit)) << voided;
    EXPECT_EQ(audit.unchecked(), 0) << voided;
    EXPECT_EQ(audit.verified_after_void(), voided == 1 ? 1 : 2) << voided;
    EXPECT_EQ(audit.verified(), voided == 1 ? 1 : 0) << voided;
    EXPECT_EQ(audit.keys_used().size(), voided == 1 ? 1u : 0u) << voided;
    SignatureAudit part;
    ASSERT_OK(Audit({log.begin() + 1, log.end()}, &part)) << voided;
    EXPECT_EQ(part.unchecked(), voided == 1 ? 1 : 2) << voided;
    EXPECT_EQ(part.verified_after_void(), 0) << voided;
    // Forged: another key's signature bytes in its place.
    v1::DecisionSigned forged;
    ASSERT_TRUE(forged.ParseFromString(log[5].payload()));
    forged.set_signature(cfo_.Sign(pcd72_).signature());
    log[5].set_payload(forged.SerializeAsString());
    SignatureAudit found;
    EXPECT_THAT(Audit(log, &found),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("position 6: the signature of decision MOPAC/PCD 72 "
                                         "with key mopac-dmpc"),
                               HasSubstr("does not verify"),
                               HasSubstr(absl::StrCat(
                                   "(checked with the proposal at position 4 and the key "
                                   "registered at position 2, as the rules of the time did, "
                                   "though a correction had voided ",
                                   voided == 1 ? "the key's registration" : "the proposal",
                                   " before the signature)")))))
        << voided;
  }
}

// An export of one stream holds a decision's signatures without its keys' registrations: they
// are counted as unchecked, not as failures.
TEST_F(SignatureAuditTest, ASignatureWithoutItsKeyOrDecisionIsUnchecked) {
  std::vector<v1::Event> log = Log();
  std::vector<v1::Event> decision_stream = {log[3], log[4], log[5]};
  SignatureAudit audit;
  ASSERT_OK(Audit(decision_stream, &audit));
  EXPECT_EQ(audit.verified(), 0);
  EXPECT_EQ(audit.unchecked(), 2);
  EXPECT_TRUE(audit.keys_used().empty());
  // Nor when the log given has a position missing before the signature.
  std::vector<v1::Event> gapped = {log[0], log[3], log[4]};  // no key registration
  SignatureAudit with_gap;
  ASSERT_OK(Audit(gapped, &with_gap));
  EXPECT_EQ(with_gap.unchecked(), 1);
  // Other events are passed over.
  SignatureAudit opaque;
  ASSERT_OK(opaque.Add(Ev(Status(ProgrammeRef("LPP"), v1::RAG_RED, 3))));
  EXPECT_EQ(opaque.verified() + opaque.unchecked(), 0);
}

// A decision found as the rules find it, by its stream: "PCD-72" names "PCD 72".
TEST_F(SignatureAuditTest, ASignatureNamingTheReferenceSlugIsChecked) {
  std::vector<v1::Event> log = Log();
  v1::DecisionSigned slug = dmpc_.Sign(pcd72_);
  slug.set_reference("PCD-72");
  log[4].set_payload(slug.SerializeAsString());
  SignatureAudit audit;
  ASSERT_OK(Audit(log, &audit));
  EXPECT_EQ(audit.verified(), 2);
  EXPECT_EQ(audit.decisions_signed(), 1u);
  // Junk bytes in its place are found, not passed over as unchecked.
  slug.set_signature(std::string(64, 'x'));
  log[4].set_payload(slug.SerializeAsString());
  SignatureAudit forged;
  EXPECT_THAT(Audit(log, &forged),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 5: the signature of "
                                                              "decision MOPAC/PCD-72")));
}

// With corrections: the proposal and key a signature counts for are the latest not voided.
class SignatureAuditCorrectionsTest : public SignatureAuditTest {
 protected:
  // Appends `e` at the next position.
  const v1::Event& Push(v1::Event e) {
    e.set_position(log_.size() + 1);
    return log_.emplace_back(std::move(e));
  }
  // The first proposal, voided, and PCD 72 proposed again with another amount.
  void ProposeTwice() {
    Push(Ev(Organisation("MOPAC")));
    Push(Ev(dmpc_.Registration("Sophie Linden")));
    first_ = Push(Ev(pcd72_));
    first_correction_ = Push(Correction(first_, "the amount was wrong"));
    second_ = pcd72_;
    second_.mutable_amounts(0)->set_pence(1000000000);
    Push(Ev(second_));
  }

  std::vector<v1::Event> log_;
  v1::Event first_, first_correction_;
  v1::DecisionProposed second_;
};

TEST_F(SignatureAuditCorrectionsTest, ASignatureOfTheDecisionProposedAgainVerifies) {
  ProposeTwice();
  Push(Ev(dmpc_.Sign(second_)));
  // A key registered again, with another public key, after its registration was voided.
  const Signer renewed{cfo_.key_id, cfo_.role, NewSigner("z", cfo_.role).keys};
  const v1::Event old_key = Push(Ev(cfo_.Registration("Chief Finance Officer")));
  Push(Correction(old_key, "the wrong public key"));
  Push(Ev(renewed.Registration("Chief Finance Officer")));
  Push(Ev(renewed.Sign(second_)));
  SignatureAudit audit;
  ASSERT_OK(Audit(log_, &audit));
  EXPECT_EQ(audit.verified(), 2);
  EXPECT_EQ(audit.unchecked(), 0);
  ASSERT_EQ(audit.keys_used().size(), 2u);
  EXPECT_EQ(audit.keys_used()[0].registration.public_key(), renewed.keys.public_key);
}

// The forgery a rewritten log could try: the signed proposal voided, another proposed under its
// reference, and the old signature copied after it.
TEST_F(SignatureAuditCorrectionsTest, AnOldSignatureCopiedToTheDecisionProposedAgainIsFound) {
  Push(Ev(Organisation("MOPAC")));
  Push(Ev(dmpc_.Registration("Sophie Linden")));
  const v1::Event signed_proposal = Push(Ev(pcd72_));
  const v1::DecisionSigned honest = dmpc_.Sign(pcd72_);
  Push(Ev(honest));
  Push(Correction(signed_proposal, "rewritten"));
  v1::DecisionProposed bigger = pcd72_;
  bigger.mutable_amounts(0)->set_pence(1000000000);
  Push(Ev(bigger));
  // The copy without the digest it names counts for the new proposal, and does not verify.
  v1::DecisionSigned copy = honest;
  copy.clear_digest();
  Push(Ev(copy));
  SignatureAudit audit;
  EXPECT_THAT(Audit(log_, &audit),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("position 7: the signature of decision MOPAC/PCD 72")));
  // As it was signed, naming the old digest: the ledger would have refused it, and a fold does
  // not count it.
  log_.back().set_payload(honest.SerializeAsString());
  SignatureAudit named;
  EXPECT_THAT(Audit(log_, &named),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("position 7: the signature of decision MOPAC/PCD 72 with "
                                       "key mopac-dmpc names the digest"),
                             HasSubstr("but the decision's canonical digest is"))));
  EXPECT_EQ(named.verified(), 1);
  GovernanceState folded;
  for (const v1::Event& e : log_) {
    if (e.event_id() != signed_proposal.event_id()) {
      folded.Apply(e, GovernanceState::Mode::kReplay).IgnoreError();
    }
  }
  ASSERT_NE(folded.FindDecision("MOPAC", "PCD 72"), nullptr);
  EXPECT_FALSE(folded.FindDecision("MOPAC", "PCD 72")->approved());
  EXPECT_TRUE(folded.FindDecision("MOPAC", "PCD 72")->signing_keys.empty());
}

// A correction after a signature can make a fold count it for another proposal: the view after
// that correction is checked too.
TEST_F(SignatureAuditCorrectionsTest, ALaterCorrectionThatMovesASignatureIsFound) {
  ProposeTwice();
  const v1::Event second = log_.back();
  v1::DecisionSigned signature = dmpc_.Sign(second_);
  signature.clear_digest();
  Push(Ev(signature));                           // 6: counts for the second proposal
  Push(Correction(second, "proposed in error"));  // 7: counts for nothing
  Push(Correction(first_correction_, "the first amount was right"));  // 8: for the first
  SignatureAudit audit;
  EXPECT_THAT(Audit(log_, &audit),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("position 8: after the correction there, the signature "
                                       "at position 6 counts for the decision proposed at "
                                       "position 3"),
                             HasSubstr("does not verify"))));
  EXPECT_EQ(audit.verified(), 1);
  // Naming the digest it signed, it counts for nothing after position 7.
  log_[5].set_payload(dmpc_.Sign(second_).SerializeAsString());
  SignatureAudit named;
  ASSERT_OK(Audit(log_, &named));
  EXPECT_EQ(named.verified(), 1);
}

}  // namespace
}  // namespace govledger::projections
