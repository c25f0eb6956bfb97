// Ed25519 through OpenSSL: RFC 8032 known answers, round trips, tampering, PEM.
#include "ledger/crypto/ed25519.h"

#include <string>

#include "ledger/crypto/sha256.h"
#include "tests/testutil.h"

namespace govledger::crypto {
namespace {

using ::govledger::testing::StatusIs;
using ::testing::HasSubstr;

std::string Hex(const std::string& hex) { return *FromHex(hex); }

// RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
TEST(Ed25519Test, Rfc8032Test1) {
  const std::string sk =
      Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const std::string pk =
      Hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string sig =
      Hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8"
          "821590a33bacc61e39701cf9b46"
          "bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_EQ(*Ed25519PublicKey(sk), pk);
  EXPECT_EQ(*Ed25519Sign(sk, ""), sig);
  EXPECT_TRUE(Ed25519Verify(pk, "", sig));
}

TEST(Ed25519Test, Rfc8032Test2) {
  const std::string sk =
      Hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const std::string pk =
      Hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const std::string sig =
      Hex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085a"
          "c1e43e15996e458f3613d0f11"
          "d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_EQ(*Ed25519PublicKey(sk), pk);
  EXPECT_EQ(*Ed25519Sign(sk, "\x72"), sig);
  EXPECT_TRUE(Ed25519Verify(pk, "\x72", sig));
  EXPECT_FALSE(Ed25519Verify(pk, "\x73", sig));
}

TEST(Ed25519Test, GeneratedKeysSignAndVerifyAndTamperingFails) {
  absl::StatusOr<Ed25519KeyPair> pair = GenerateEd25519KeyPair();
  ASSERT_OK(pair);
  EXPECT_EQ(pair->private_key.size(), 32u);
  EXPECT_EQ(pair->public_key.size(), 32u);
  EXPECT_EQ(*Ed25519PublicKey(pair->private_key), pair->public_key);
  const std::string message(AsBytes(Sha256("a decision digest")));
  absl::StatusOr<std::string> sig = Ed25519Sign(pair->private_key, message);
  ASSERT_OK(sig);
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(Ed25519Verify(pair->public_key, message, *sig));
  std::string bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(Ed25519Verify(pair->public_key, message, bad));
  std::string other_message = message;
  other_message[0] ^= 1;
  EXPECT_FALSE(Ed25519Verify(pair->public_key, other_message, *sig));
  EXPECT_FALSE(
      Ed25519Verify(GenerateEd25519KeyPair()->public_key, message, *sig));
  EXPECT_FALSE(Ed25519Verify(pair->public_key.substr(1), message, *sig));
  EXPECT_FALSE(Ed25519Verify(pair->public_key, message, sig->substr(1)));
  EXPECT_NE(GenerateEd25519KeyPair()->private_key, pair->private_key);
}

// Points of small order (and encodings of no point) verify signatures no private key made:
// OpenSSL accepts the identity's "signature" (R the identity, S zero) of any message.
TEST(Ed25519Test, KeysOfSmallOrderAreRefusedAndVerifyNothing) {
  const std::string identity = std::string("\x01", 1) + std::string(31, '\0');
  const std::string forged = identity + std::string(32, '\0');
  std::string p_minus_1(32, '\xff');  // y = p - 1: the point of order 2
  p_minus_1[0] = '\xec';
  p_minus_1[31] = '\x7f';
  for (const std::string& key : {identity, std::string(32, '\0'), p_minus_1}) {
    SCOPED_TRACE(ToHex(key));
    EXPECT_THAT(CheckEd25519PublicKey(key),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("small order")));
    EXPECT_FALSE(Ed25519Verify(key, "approve 730,000 pounds", forged));
    absl::StatusOr<std::string> pem = Ed25519PublicKeyToPem(key);
    ASSERT_OK(pem);
    EXPECT_THAT(Ed25519PublicKeyFromPem(*pem),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("the PEM holds an Ed25519 key, but the public key is not one")));
  }
  EXPECT_THAT(CheckEd25519PublicKey("short"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes, not 5")));
  for (int i = 0; i < 20; ++i) EXPECT_OK(CheckEd25519PublicKey(GenerateEd25519KeyPair()->public_key));
}

TEST(Ed25519Test, PemRoundTrips) {
  Ed25519KeyPair pair = *GenerateEd25519KeyPair();
  absl::StatusOr<std::string> priv_pem =
      Ed25519PrivateKeyToPem(pair.private_key);
  ASSERT_OK(priv_pem);
  EXPECT_THAT(*priv_pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_EQ(*Ed25519PrivateKeyFromPem(*priv_pem), pair.private_key);
  absl::StatusOr<std::string> pub_pem = Ed25519PublicKeyToPem(pair.public_key);
  ASSERT_OK(pub_pem);
  EXPECT_THAT(*pub_pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  EXPECT_EQ(*Ed25519PublicKeyFromPem(*pub_pem), pair.public_key);
  EXPECT_THAT(
      Ed25519PrivateKeyFromPem(*pub_pem),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("private")));
  EXPECT_THAT(
      Ed25519PublicKeyFromPem("junk"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("public")));
  EXPECT_THAT(
      Ed25519Sign("short", "m"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
}

TEST(HexTest, RoundTripsAndRefusesJunk) {
  EXPECT_EQ(ToHex(*FromHex("00ff10AB")), "00ff10ab");
  EXPECT_FALSE(FromHex("abc").ok());
  EXPECT_FALSE(FromHex("zz").ok());
}

}  // namespace
}  // namespace govledger::crypto
