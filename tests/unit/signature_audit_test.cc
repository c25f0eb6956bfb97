// SignatureAudit (projections/signature_audit.h): every decision signature of a log re-verified
// from the log alone; a decision, a key or a signature rewritten after signing is found.
#include "projections/signature_audit.h"

#include <string>
#include <vector>

#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders
using ::govledger::testing::IsOk;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

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

TEST_F(SignatureAuditTest, EverySignatureOfAnHonestLogVerifies) {
  SignatureAudit audit;
  ASSERT_OK(Audit(Log(), &audit));
  EXPECT_EQ(audit.verified(), 2);
  EXPECT_EQ(audit.unchecked(), 0);
  EXPECT_EQ(audit.decisions_signed(), 1u);
  const auto keys = audit.keys_used();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.at("mopac-dmpc").registration.holder(), "Sophie Linden");
  EXPECT_EQ(keys.at("mopac-dmpc").registration.public_key(), dmpc_.keys.public_key);
  EXPECT_EQ(keys.at("mopac-cfo").signatures, 1);
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
    EXPECT_THAT(Audit(log, &audit),
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
  // Other events are passed over.
  SignatureAudit opaque;
  ASSERT_OK(opaque.Add(Ev(Status(ProgrammeRef("LPP"), v1::RAG_RED, 3))));
  EXPECT_EQ(opaque.verified() + opaque.unchecked(), 0);
}

}  // namespace
}  // namespace govledger::projections
