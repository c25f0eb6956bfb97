// The canonical encoding and digest of a decision (FORMAT.md, "Decision
// digest"): a known answer computed independently (Python, hashlib, from the
// documented encoding), set semantics of the sorted lists, and every field of
// the message covered.
#include "projections/decision_digest.h"

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/sha256.h"
#include "tests/governance_events.h"
#include "tests/testutil.h"

namespace govledger::projections {
namespace {

using namespace ::govledger::testing::gov;  // NOLINT: builders

v1::DecisionProposed KnownDecision() {
  v1::DecisionProposed d;
  d.set_organisation_id("MOPAC");
  d.set_reference("PCD 72");
  d.set_title("Strengthening Local Policing");
  d.add_recommendations(
      "endorse the approach being proposed by the SLP Programme");
  d.add_recommendations(
      "approve a spend of £730,000 to undertake Tranche 1 of the programme");
  v1::DecisionAmount* a = d.add_amounts();
  a->set_kind(v1::AMOUNT_KIND_REVENUE);
  a->set_pence(73000000);
  a->set_funding_source("Major Change Reserve");
  a->set_description("Tranche 1");
  v1::DecisionAmount* b = d.add_amounts();
  b->set_kind(v1::AMOUNT_KIND_CAPITAL);
  b->set_pence(195000000);
  b->set_funding_source("additional savings");
  b->set_noted_only(true);
  d.add_required_signatory_roles("Deputy Mayor for Policing and Crime");
  d.add_required_signatory_roles("Chief Executive Officer");
  d.add_related_decisions("2015/30");
  d.add_related_decisions("2014/01");
  d.set_part1_text("Part 1 facts");
  *d.mutable_part1_deferred_until() = MakeDate(2016, 10, 5);
  d.mutable_part2()->set_text("Part 2 facts");
  d.mutable_part2()->set_reason("Commercial Sensitivity");
  *d.mutable_part2()->mutable_publication_deferred_until() =
      MakeDate(2018, 3, 31);
  d.set_programme_id("SLP");
  return d;
}

v1::OfficerStatement Statement(const std::string& role, const std::string& name,
                               const std::string& statement) {
  v1::OfficerStatement s;
  s.set_role(role);
  s.set_name(name);
  s.set_statement(statement);
  return s;
}

// The known decision with the officers' statements of PCD 72's form (abridged).
v1::DecisionProposed KnownDecisionWithOfficers() {
  v1::DecisionProposed d = KnownDecision();
  *d.add_originating_officer_declarations() = Statement(
      "Legal Advice", "", "The MPS legal team has been consulted on the proposal.");
  *d.add_originating_officer_declarations() =
      Statement("Financial Advice", "",
                "The Strategic Finance and Resource Management Team has been "
                "consulted on this proposal.");
  v1::OfficerStatement approval =
      Statement("(Acting) Chief Executive Officer", "R. Lowrence",
                "I have been consulted about the proposal.");
  *approval.mutable_dated() = MakeDate(2016, 10, 5);
  *d.add_officer_approvals() = approval;
  return d;
}

v1::DelegatedAuthority Authority(const std::string& id, std::vector<std::string> delegates,
                                const std::string& scope, const std::string& condition,
                                std::vector<std::string> referral_roles) {
  v1::DelegatedAuthority a;
  a.set_delegation_id(id);
  for (const std::string& role : delegates) a.add_delegate_roles(role);
  a.set_scope(scope);
  a.set_referral_condition(condition);
  for (const std::string& role : referral_roles) a.add_referral_roles(role);
  return a;
}

// The known decision with officers' statements, two delegated authorities (after
// PCC/D/2017/05's recommendations 4 and 5) and a referral under another's.
v1::DecisionProposed KnownDecisionWithDelegation() {
  v1::DecisionProposed d = KnownDecisionWithOfficers();
  *d.add_delegated_authorities() = Authority(
      "chief-constables", {"West Mercia Chief Constable", "Warwickshire Chief Constable"},
      "use the approved investments and develop savings as described",
      "spend proposals considered novel, contentious or repercussive",
      {"West Mercia Police and Crime Commissioner", "Warwickshire Police and Crime Commissioner"});
  *d.add_delegated_authorities() =
      Authority("cfo", {"Chief Finance Officer"},
                "fund redundancy costs in year one from year one savings", "", {});
  d.mutable_referred_under()->set_reference("PCC/D/2016/30");
  d.mutable_referred_under()->set_delegation_id("treasurer");
  return d;
}

v1::InterestsDeclaration KnownDeclaration(const std::string& interests = "") {
  v1::InterestsDeclaration d;
  d.set_statement(
      "I confirm I have considered whether or not I have any personal or "
      "prejudicial interest in this matter.");
  d.set_interests(interests);
  return d;
}

TEST(DecisionDigestTest, KnownAnswer) {
  // From an independent implementation of the encoding in FORMAT.md (Python 3,
  // hashlib).
  EXPECT_EQ(CanonicalDecisionEncoding(KnownDecision()).size(), 548u);
  EXPECT_EQ(crypto::ToHex(DecisionDigest(KnownDecision())),
            "1adb48ebcdafa0fb5d6341438af5cb97dd1126406834d1988a133fecdf5d405c");
  EXPECT_EQ(CanonicalDecisionEncoding(v1::DecisionProposed()).size(), 81u);  // FORMAT.md
  EXPECT_EQ(crypto::ToHex(DecisionDigest(v1::DecisionProposed())),
            "3adea5cce6f71829b4826344128d1f859223cd8f307932da8317624f12e9b143");
}

// The digest covers the fields this version knows: what else a proposal holds (recorded by a
// newer govledgerd) is named, at any depth, fields and enum values alike.
TEST(DecisionDigestTest, WhatTheDigestLeavesOutIsNamed) {
  v1::DecisionProposed d = KnownDecision();
  EXPECT_EQ(UnknownDecisionContent(d), "");
  v1::DecisionProposed top = d;
  top.GetReflection()->MutableUnknownFields(&top)->AddVarint(16, 1);
  EXPECT_EQ(UnknownDecisionContent(top), "field number 16");
  EXPECT_EQ(DecisionDigest(top), DecisionDigest(d));  // what the newer one's would not be
  v1::DecisionProposed nested = d;
  v1::DecisionAmount* amount = nested.mutable_amounts(1);
  amount->GetReflection()->MutableUnknownFields(amount)->AddFixed32(9, 5);
  EXPECT_EQ(UnknownDecisionContent(nested), "field number 9 in amounts[1]");
  v1::DecisionProposed value = d;
  value.mutable_amounts(0)->set_kind(static_cast<v1::AmountKind>(42));
  EXPECT_EQ(UnknownDecisionContent(value), "amounts[0].kind value 42");
}

// The officers' section and the signature digest, against the same independent
// implementation (Python 3, hashlib, from the encoding in FORMAT.md).
// A decision without officers' statements keeps the digest it had before the
// section existed (KnownAnswer above).
TEST(DecisionDigestTest, KnownAnswersWithOfficersAndADeclaration) {
  const v1::DecisionProposed d = KnownDecisionWithOfficers();
  EXPECT_EQ(CanonicalDecisionEncoding(d).size(), 893u);
  EXPECT_EQ(crypto::ToHex(DecisionDigest(d)),
            "a3e2c34c427dc7a6f0ee70e067408876689890cf21fc0899011987764dfbba92");
  EXPECT_EQ(crypto::ToHex(SignatureDigest(DecisionDigest(d), KnownDeclaration())),
            "8861d216ba179d17179b344eef2a1f0c0e3b22abbbf98c7e9b1f058ffde527b1");
  EXPECT_EQ(crypto::ToHex(SignatureDigest(DecisionDigest(d),
                                          KnownDeclaration("Trustee of a local charity"))),
            "dc384b6c288399f79ae5f07a5287a0cae7bf77ea5056c661a888d1867d43a3d2");
  // What a signature is over: the decision digest alone without a declaration.
  v1::DecisionSigned signature;
  EXPECT_EQ(SignedDigest(DecisionDigest(d), signature), DecisionDigest(d));
  *signature.mutable_declaration() = KnownDeclaration();
  EXPECT_EQ(SignedDigest(DecisionDigest(d), signature),
            SignatureDigest(DecisionDigest(d), KnownDeclaration()));
}

// The delegation section, against the same independent implementation. A
// decision without delegated authority or a referral keeps the digest it had
// before the section existed (the two tests above).
TEST(DecisionDigestTest, KnownAnswerWithDelegatedAuthorityAndAReferral) {
  const v1::DecisionProposed d = KnownDecisionWithDelegation();
  EXPECT_EQ(CanonicalDecisionEncoding(d).size(), 1369u);
  EXPECT_EQ(crypto::ToHex(DecisionDigest(d)),
            "82cba44562cd14695201c9debb8d6f0400afb3d09a47c37d2f02162f0fbb1d7e");
  // A referral alone opens the section too.
  v1::DecisionProposed referral = KnownDecision();
  referral.mutable_referred_under()->set_reference("PCC/D/2016/30");
  EXPECT_NE(DecisionDigest(referral), DecisionDigest(KnownDecision()));
}

TEST(DecisionDigestTest, DelegatedAuthoritiesAndTheirRolesAreSets) {
  const v1::DecisionProposed d = KnownDecisionWithDelegation();
  v1::DecisionProposed reordered = d;
  reordered.mutable_delegated_authorities()->SwapElements(0, 1);
  reordered.mutable_delegated_authorities(1)->mutable_delegate_roles()->SwapElements(0, 1);
  reordered.mutable_delegated_authorities(1)->mutable_referral_roles()->SwapElements(0, 1);
  EXPECT_EQ(DecisionDigest(reordered), DecisionDigest(d));
  // A role moved from delegate to referral is another decision.
  v1::DecisionProposed moved = d;
  moved.mutable_delegated_authorities(1)->clear_delegate_roles();
  moved.mutable_delegated_authorities(1)->add_referral_roles("Chief Finance Officer");
  EXPECT_NE(DecisionDigest(moved), DecisionDigest(d));
}

TEST(DecisionDigestTest, OfficersStatementsKeepTheirOrderAndTheirList) {
  const v1::DecisionProposed d = KnownDecisionWithOfficers();
  v1::DecisionProposed reordered = d;
  reordered.mutable_originating_officer_declarations()->SwapElements(0, 1);
  EXPECT_NE(DecisionDigest(reordered), DecisionDigest(d));
  // The same statement as a declaration or as an approval is not the same decision.
  v1::DecisionProposed moved = KnownDecision();
  *moved.add_officer_approvals() = d.originating_officer_declarations(0);
  v1::DecisionProposed declared = KnownDecision();
  *declared.add_originating_officer_declarations() = d.originating_officer_declarations(0);
  EXPECT_NE(DecisionDigest(moved), DecisionDigest(declared));
}

TEST(DecisionDigestTest, KnownSignature) {
  // RFC 8032 TEST 1's key signing the known digest (Python's cryptography
  // package agrees).
  const std::string sk = *crypto::FromHex(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  EXPECT_EQ(
      crypto::ToHex(*crypto::Ed25519Sign(sk, DecisionDigest(KnownDecision()))),
      "14081efc5a4e6ecdd546af0f8858bae5d5f0cb610b4566425d2bb20465cd339bd1cff9a1"
      "d66a3ccde955"
      "0ef3a25b666f550c04ce33d96b5b5db53bf018859f0a");
}

TEST(DecisionDigestTest, EncodingStartsWithTheTagAndIsLengthPrefixed) {
  std::string enc = CanonicalDecisionEncoding(KnownDecision());
  EXPECT_EQ(enc.substr(0, 4), std::string("\0\0\0\x15", 4));
  EXPECT_EQ(enc.substr(4, 21), "govledger.decision.v1");
  EXPECT_EQ(enc.substr(25, 9), std::string("\0\0\0\x05MOPAC", 9));
}

TEST(DecisionDigestTest, SetsAreOrderFreeButRecommendationsAreNot) {
  v1::DecisionProposed d = KnownDecision();
  v1::DecisionProposed reordered = d;
  reordered.mutable_amounts()->SwapElements(0, 1);
  reordered.mutable_required_signatory_roles()->SwapElements(0, 1);
  reordered.mutable_related_decisions()->SwapElements(0, 1);
  EXPECT_EQ(DecisionDigest(reordered), DecisionDigest(d));
  v1::DecisionProposed swapped = d;
  swapped.mutable_recommendations()->SwapElements(0, 1);
  EXPECT_NE(DecisionDigest(swapped), DecisionDigest(d));
}

TEST(DecisionDigestTest, NotProtobufSerialization) {
  // Unknown fields (a newer writer's) do not change the digest; the digest is
  // not a hash of the serialized bytes.
  v1::DecisionProposed d = KnownDecision();
  std::string bytes = d.SerializeAsString();
  bytes.append("\xa0\x06\x01", 3);  // field 100, varint 1
  v1::DecisionProposed with_unknown;
  ASSERT_TRUE(with_unknown.ParseFromString(bytes));
  EXPECT_EQ(DecisionDigest(with_unknown), DecisionDigest(d));
  EXPECT_NE(
      DecisionDigest(d),
      std::string(crypto::AsBytes(crypto::Sha256(d.SerializeAsString()))));
}

TEST(DecisionDigestTest, LengthPrefixesKeepFieldBoundaries) {
  v1::DecisionProposed a = KnownDecision(), b = KnownDecision();
  a.set_title("AB");
  a.set_part1_text("C");
  b.set_title("A");
  b.set_part1_text("BC");
  EXPECT_NE(DecisionDigest(a), DecisionDigest(b));
}

// Every field of the decision (and of its nested messages) changes the digest
// when changed. If this fails after a field was added to events.proto, add the
// field to the canonical encoding (decision_digest.cc) and to FORMAT.md, and
// update the field counts below.
TEST(DecisionDigestTest, EveryFieldIsCovered) {
  EXPECT_EQ(v1::DecisionProposed::descriptor()->field_count(), 15);
  EXPECT_EQ(v1::DelegatedAuthority::descriptor()->field_count(), 5);
  EXPECT_EQ(v1::DelegationReference::descriptor()->field_count(), 2);
  EXPECT_EQ(v1::OfficerStatement::descriptor()->field_count(), 4);
  EXPECT_EQ(v1::InterestsDeclaration::descriptor()->field_count(), 2);
  EXPECT_EQ(v1::DecisionAmount::descriptor()->field_count(), 5);
  EXPECT_EQ(v1::ConfidentialPart::descriptor()->field_count(), 3);
  EXPECT_EQ(v1::Date::descriptor()->field_count(), 3);
  const v1::DecisionProposed base = KnownDecisionWithDelegation();
  const std::string digest = DecisionDigest(base);
  std::vector<
      std::pair<std::string, std::function<void(v1::DecisionProposed&)>>>
      changes = {
          {"organisation_id", [](auto& d) { d.set_organisation_id("X"); }},
          {"reference", [](auto& d) { d.set_reference("PCD 73"); }},
          {"title", [](auto& d) { d.set_title("x"); }},
          {"recommendations", [](auto& d) { d.add_recommendations("x"); }},
          {"amounts.kind",
           [](auto& d) {
             d.mutable_amounts(0)->set_kind(v1::AMOUNT_KIND_ONE_OFF);
           }},
          {"amounts.pence",
           [](auto& d) { d.mutable_amounts(0)->set_pence(73000001); }},
          {"amounts.funding_source",
           [](auto& d) { d.mutable_amounts(0)->set_funding_source("x"); }},
          {"amounts.description",
           [](auto& d) { d.mutable_amounts(0)->set_description("x"); }},
          {"amounts.noted_only",
           [](auto& d) { d.mutable_amounts(0)->set_noted_only(true); }},
          {"required_signatory_roles",
           [](auto& d) { d.add_required_signatory_roles("x"); }},
          {"related_decisions", [](auto& d) { d.add_related_decisions("x"); }},
          {"part1_text", [](auto& d) { d.set_part1_text("x"); }},
          {"part1_deferred_until.year",
           [](auto& d) { d.mutable_part1_deferred_until()->set_year(2017); }},
          {"part1_deferred_until.month",
           [](auto& d) { d.mutable_part1_deferred_until()->set_month(11); }},
          {"part1_deferred_until.day",
           [](auto& d) { d.mutable_part1_deferred_until()->set_day(6); }},
          {"part2.text", [](auto& d) { d.mutable_part2()->set_text("x"); }},
          {"part2.reason", [](auto& d) { d.mutable_part2()->set_reason("x"); }},
          {"part2.publication_deferred_until",
           [](auto& d) {
             d.mutable_part2()->mutable_publication_deferred_until()->set_day(
                 1);
           }},
          {"programme_id", [](auto& d) { d.set_programme_id("x"); }},
          {"originating_officer_declarations.role",
           [](auto& d) { d.mutable_originating_officer_declarations(0)->set_role("x"); }},
          {"originating_officer_declarations.name",
           [](auto& d) { d.mutable_originating_officer_declarations(0)->set_name("x"); }},
          {"originating_officer_declarations.statement",
           [](auto& d) { d.mutable_originating_officer_declarations(0)->set_statement("x"); }},
          {"originating_officer_declarations.dated",
           [](auto& d) {
             d.mutable_originating_officer_declarations(0)->mutable_dated()->set_year(2016);
           }},
          {"officer_approvals", [](auto& d) { d.add_officer_approvals()->set_role("x"); }},
          {"officer_approvals.dated",
           [](auto& d) { d.mutable_officer_approvals(0)->mutable_dated()->set_day(6); }},
          {"delegated_authorities",
           [](auto& d) { d.add_delegated_authorities()->set_delegation_id("x"); }},
          {"delegated_authorities.delegation_id",
           [](auto& d) { d.mutable_delegated_authorities(0)->set_delegation_id("x"); }},
          {"delegated_authorities.delegate_roles",
           [](auto& d) { d.mutable_delegated_authorities(0)->add_delegate_roles("x"); }},
          {"delegated_authorities.scope",
           [](auto& d) { d.mutable_delegated_authorities(0)->set_scope("x"); }},
          {"delegated_authorities.referral_condition",
           [](auto& d) { d.mutable_delegated_authorities(0)->set_referral_condition("x"); }},
          {"delegated_authorities.referral_roles",
           [](auto& d) { d.mutable_delegated_authorities(0)->add_referral_roles("x"); }},
          {"referred_under.reference",
           [](auto& d) { d.mutable_referred_under()->set_reference("x"); }},
          {"referred_under.delegation_id",
           [](auto& d) { d.mutable_referred_under()->set_delegation_id("x"); }},
      };
  // Each field of a declaration of interests changes the signature digest.
  const std::string signed_digest = SignatureDigest(digest, KnownDeclaration());
  EXPECT_NE(SignatureDigest(digest, KnownDeclaration("x")), signed_digest);
  v1::InterestsDeclaration other = KnownDeclaration();
  other.set_statement("x");
  EXPECT_NE(SignatureDigest(digest, other), signed_digest);
  EXPECT_NE(SignatureDigest(DecisionDigest(KnownDecision()), KnownDeclaration()), signed_digest);
  for (auto& [name, change] : changes) {
    v1::DecisionProposed d = base;
    change(d);
    EXPECT_NE(DecisionDigest(d), digest)
        << name << " is not covered by the digest";
  }
}

}  // namespace
}  // namespace govledger::projections
