#include "cli/signing_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/client.h"
#include "cli/printable.h"
#include "cli/query_text.h"
#include "cli/time_flags.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "govledger/v1/query.grpc.pb.h"
#include "ledger/common/files.h"
#include "ledger/common/names.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/text.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/sha256.h"
#include "projections/as_at.h"
#include "projections/corrections.h"
#include "projections/decision_digest.h"
#include "projections/governance_state.h"
#include "projections/streams.h"

namespace govledger::cli {
namespace {

// The stream named by --decision-stream, or by --organisation and --reference.
absl::StatusOr<std::string> DecisionStreamOf(const std::string& stream,
                                             const std::string& org,
                                             const std::string& reference) {
  if (!stream.empty()) {
    if (!org.empty() || !reference.empty()) {
      return absl::InvalidArgumentError(
          "give --decision-stream, or --organisation and --reference, not "
          "both");
    }
    RETURN_IF_ERROR(CheckStreamFlag("--decision-stream", stream));
    return stream;
  }
  if (org.empty() || reference.empty()) {
    return absl::InvalidArgumentError(
        "give --decision-stream, or both --organisation and --reference");
  }
  if (absl::Status s = projections::CheckId("--organisation", org); !s.ok())
    return s;
  if (absl::Status s = projections::CheckReference(reference); !s.ok())
    return s;
  return projections::DecisionStream(org, reference);
}

// The digest of a proposal that a correction voided, and the stream it is on.
struct VoidedDigest {
  std::string stream;
  std::string digest;
};

// Reads the decision's stream and returns the DecisionProposed the ledger's
// rules and answers use: the latest one that no correction voids (a proposal
// voided by a correction can be proposed again under its reference). NOT_FOUND
// when the stream has none; FAILED_PRECONDITION when it holds what this version
// does not know (UnknownDecisionContent: recorded by a newer govledgerd), whose
// digest here would not cover all it says; other codes from the server.
// `voided_digests`, when given, gets the digests of the stream's proposals that
// corrections voided (what a signatory may have been given before a correction), each with
// the stream.
absl::StatusOr<v1::DecisionProposed> FetchDecision(
    v1::LedgerService::Stub& stub, const std::string& stream, grpc::Status* rpc,
    std::vector<VoidedDigest>* voided_digests = nullptr) {
  // The stream's proposals (lower-case event id, payload) and corrections
  // (correcting, corrected), which go on the corrected event's stream.
  std::vector<std::pair<std::string, v1::Event>> proposals;
  std::vector<std::pair<std::string, std::string>> corrections;
  uint64_t from = 0;
  for (;;) {
    auto context = NewCallContext();
    v1::ReadRequest request;
    request.set_stream_id(stream);
    request.set_from(from);
    v1::ReadResponse response;
    *rpc = stub.Read(context.get(), request, &response);
    if (!rpc->ok()) return absl::UnknownError("read failed");
    for (v1::Event& e : *response.mutable_events()) {
      const std::string id = absl::AsciiStrToLower(e.event_id());
      if (e.event_type() == v1::DecisionProposed::descriptor()->full_name()) {
        proposals.emplace_back(id, std::move(e));
      } else if (e.event_type() ==
                 v1::CorrectionRecorded::descriptor()->full_name()) {
        v1::CorrectionRecorded c;
        if (c.ParseFromString(e.payload())) {
          corrections.emplace_back(id, absl::AsciiStrToLower(c.corrected_event_id()));
        }
      }
    }
    if (response.next() == 0) break;
    from = response.next();
  }
  const absl::flat_hash_set<std::string> left_out =
      projections::LeftOutEvents(corrections);
  for (const auto& [id, event] : proposals) {
    v1::DecisionProposed voided;
    if (voided_digests != nullptr && left_out.contains(id) &&
        voided.ParseFromString(event.payload())) {
      voided_digests->push_back({stream, projections::DecisionDigest(voided)});
    }
  }
  for (auto it = proposals.rbegin(); it != proposals.rend(); ++it) {
    if (left_out.contains(it->first)) continue;
    v1::DecisionProposed d;
    if (!d.ParseFromString(it->second.payload())) {
      return absl::DataLossError(
          absl::StrCat("the DecisionProposed at position ",
                       it->second.position(), " does not parse"));
    }
    if (std::string unknown = projections::UnknownDecisionContent(d); !unknown.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "decision ", d.organisation_id(), "/", d.reference(), " was proposed (position ",
          it->second.position(), ") with ", unknown,
          ", which this version of govledger does not know: its digest here would not cover "
          "all the decision says, so it is not signed with this version; use a govledger at "
          "least as new as the one that recorded it"));
    }
    return d;
  }
  return absl::NotFoundError(absl::StrCat(
      "stream ", stream,
      proposals.empty() ? " holds no DecisionProposed"
                        : " holds no DecisionProposed that a correction has not voided"));
}

// The decision register of `organisation` as recorded at the head; none when it cannot be read.
std::optional<v1::GetDecisionRegisterResponse> RegisterAtHead(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& organisation) {
  v1::GetHeadResponse head;
  if (!v1::LedgerService::NewStub(channel)
           ->GetHead(NewCallContext().get(), v1::GetHeadRequest(), &head)
           .ok()) {
    return std::nullopt;
  }
  auto context = NewCallContext();
  v1::GetDecisionRegisterRequest request;
  request.set_organisation_id(organisation);
  request.mutable_as_at()->set_position(head.position());
  request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  v1::GetDecisionRegisterResponse response;
  if (!v1::QueryService::NewStub(channel)->GetDecisionRegister(context.get(), request, &response).ok()) {
    return std::nullopt;
  }
  return response;
}

// FetchDecision of `*stream`. When the stream holds no proposal that stands (no events, or only
// proposals a correction voided) and the decision was named by --organisation and --reference
// (`reference` not empty), once more with the reference of the organisation's decision that the
// rules count as the same ("pcd 72" or "PCD72" for "PCD 72": projections::SpellingKey), found
// in its decision register and said on stderr. "PCD 72" voided and then proposed
// again as "pcd-72" (another stream) is found so.
absl::StatusOr<v1::DecisionProposed> FetchNamedDecision(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& organisation,
    const std::string& reference, std::string* stream, grpc::Status* rpc,
    std::vector<VoidedDigest>* voided_digests = nullptr) {
  auto stub = v1::LedgerService::NewStub(channel);
  absl::StatusOr<v1::DecisionProposed> decision =
      FetchDecision(*stub, *stream, rpc, voided_digests);
  const bool none_stands = rpc->error_code() == grpc::StatusCode::NOT_FOUND ||
                           (rpc->ok() && absl::IsNotFound(decision.status()));
  if (!none_stands || reference.empty()) return decision;
  const std::optional<v1::GetDecisionRegisterResponse> response =
      RegisterAtHead(channel, organisation);
  for (int i = 0; response.has_value() && i < response->decisions_size(); ++i) {
    const v1::DecisionEntry& entry = response->decisions(i);
    if (entry.reference() == reference ||
        projections::SpellingKey(entry.reference()) != projections::SpellingKey(reference)) {
      continue;
    }
    std::cerr << "govledger: '" << PrintableText(reference) << "' is " << organisation
              << "'s decision '" << PrintableText(entry.reference())
              << "' (references are compared without letter case, punctuation, spacing or a "
                 "number's leading zeros)\n";
    *stream = projections::DecisionStream(organisation, entry.reference());
    // (The voided proposals of the reference as given stay among `voided_digests`.)
    return FetchDecision(*stub, *stream, rpc, voided_digests);
  }
  if (rpc->error_code() == grpc::StatusCode::NOT_FOUND) {
    *rpc = grpc::Status::OK;
    return absl::NotFoundError(absl::StrCat(
        "decision ", PrintableText(organisation), "/", PrintableText(reference),
        " is not in the ledger (stream ", PrintableText(*stream), " has no events): check "
        "--organisation and --reference (govledger decisions --organisation ",
        PrintableText(organisation), " lists its decisions)"));
  }
  return decision;
}

// Refuses a value that is not well-formed UTF-8, which a payload's text fields hold only: said
// naming the flag, before anything is built or sent (Latin-1 from a spreadsheet, say).
const CLI::Validator kUtf8Text(
    [](std::string& value) {
      for (size_t i = 0; i < value.size();) {
        uint32_t code_point = 0;
        const size_t n = Utf8Length(absl::string_view(value).substr(i), &code_point);
        if (n == 0) {
          return absl::StrCat("is not UTF-8 text (byte ", i + 1,
                              "); give it as UTF-8 (any other encoding, Latin-1 say, is refused)");
        }
        i += n;
      }
      return std::string();
    },
    "");

}  // namespace

SigningCommands::SigningCommands(CLI::App& app,
                                       std::string& server_flag) {
  CLI::App* keys = app.add_subcommand("keys", "Signing keys (Ed25519)");
  keys->require_subcommand(1);
  keys_generate_ = keys->add_subcommand(
      "generate",
      "Generate an Ed25519 key pair: PREFIX.key (private, PKCS #8 PEM, mode "
      "0600) "
      "and PREFIX.pub (public PEM); prints the public key in hex. Offline.\n\n"
      "Example:\n  mkdir -p ~/keys && chmod 700 ~/keys\n"
      "  govledger keys generate --out ~/keys/dmpc-2016");
  keys_generate_
      ->add_option("--out", out_prefix_, "Path prefix of the two files")
      ->required();
  keys_generate_->add_flag("--force", force_,
                           "Replace existing files (a symbolic link is replaced, not written "
                           "through)");

  keys_public_ = keys->add_subcommand(
      "public",
      "Print the public key of a private key file, as the PEM `keys register --pub` takes (or "
      "in hex): for a PREFIX.pub lost or in doubt. Offline.\n\n"
      "Example:\n  govledger keys public --key ~/keys/dmpc-2016.key > dmpc-2016.pub");
  keys_public_->add_option("--key", key_file_, "Private key PEM file (PREFIX.key)")->required();
  keys_public_->add_flag("--hex", public_hex_, "Print the key's 32 bytes in hex instead");

  keys_register_ = keys->add_subcommand(
      "register",
      "Append a SigningKeyRegistered event for a public key\n\n"
      "Example:\n  govledger keys register --key-id mopac-dmpc-2016 "
      "--holder 'Sophie Linden' \\\n    --role 'Deputy Mayor for Policing and "
      "Crime' --organisation MOPAC "
      "--pub ~/keys/dmpc-2016.pub");
  keys_register_
      ->add_option("--key-id", key_id_, "Key id (its stream is key/ID)")
      ->required();
  keys_register_->add_option("--holder", holder_, "The person holding the key")
      ->required()
      ->check(kUtf8Text);
  keys_register_->add_option("--role", role_, "The role the holder signs as")
      ->required()
      ->check(kUtf8Text);
  keys_register_
      ->add_option("--pub", pub_file_, "Public key PEM file (PREFIX.pub)")
      ->required();
  keys_register_->add_option(
      "--organisation", key_organisation_,
      "The organisation the key signs for (registered); the key then signs only its "
      "decisions. Default: none, any organisation's");

  CLI::App* decision =
      app.add_subcommand("decision", "Decisions: digests and signatures");
  decision->require_subcommand(1);
  decision_digest_ =
      decision->add_subcommand("digest",
                               "Print the canonical digest (hex) of a stored "
                               "decision: what signatories sign\n\n"
                               "Example:\n  govledger decision digest "
                               "--organisation MOPAC --reference 'PCD 72'");
  decision_sign_ =
      decision->add_subcommand("sign",
                               "Sign a decision digest with a private key; "
                               "prints the signature (hex). Offline.\n\n"
                               "Example:\n  govledger decision sign --key "
                               "~/keys/dmpc-2016.key --digest 1adb48eb...");
  decision_sign_
      ->add_option("--key", key_file_, "Private key PEM file (PREFIX.key)")
      ->required();
  decision_sign_
      ->add_option("--digest", digest_hex_, "The digest, 64 hex digits")
      ->required();
  decision_submit_ = decision->add_subcommand(
      "submit-signature",
      "Append a DecisionSigned event; the ledger verifies the signature\n\n"
      "Example:\n  govledger decision submit-signature --organisation MOPAC "
      "--reference 'PCD 72' \\\n    --key-id mopac-dmpc-2016 --signature "
      "5f2c...");
  for (CLI::App* sub : {decision_digest_, decision_submit_}) {
    sub->add_option("--decision-stream", decision_stream_,
                    "The decision's stream, e.g. decision/MOPAC/PCD-72");
    sub->add_option("--organisation", organisation_,
                    "The deciding organisation's id");
    sub->add_option("--reference", reference_,
                    "The decision's reference, e.g. 'PCD 72'");
  }
  decision_submit_
      ->add_option("--key-id", key_id_, "The registered key that signed")
      ->required();
  decision_submit_
      ->add_option("--signature", signature_hex_,
                   "The signature, 128 hex digits")
      ->required();
  decision_submit_->add_option("--signed-on", signed_on_,
                               "The date beside the signature, YYYY-MM-DD");
  decision_submit_->add_option(
      "--digest", digest_hex_,
      "The digest that was signed, as `decision digest` printed it (with the same "
      "--declaration): checked against the decision as stored now before anything is sent, so "
      "a decision corrected and proposed again since is refused as such. Default: not checked "
      "here (the ledger refuses a signature over another digest as not verifying)");
  for (CLI::App* sub : {decision_digest_, decision_submit_}) {
    CLI::Option* declaration = sub->add_option(
        "--declaration", declaration_,
        "The signatory's declaration of interests as worded on the form; the "
        "signature then covers it: digest prints the signature digest to sign, "
        "over the decision's digest and the declaration");
    declaration->check(kUtf8Text);
    sub->add_option("--interests", interests_,
                    "The interests recorded below the declaration (default: none)")
        ->needs(declaration)
        ->check(kUtf8Text);
  }
  for (CLI::App* sub : {keys_register_, decision_submit_}) {
    sub->add_option(
        "--effective", effective_,
        "Effective time, RFC 3339 or YYYY-MM-DD (midnight UTC); default: when the "
        "ledger receives it. A key signs only from its registration's effective time, "
        "so a key registered to sign a historic decision needs an earlier one");
    sub->add_option("--source", source_,
                    "Where the fact comes from: the paper, meeting or system, one line of at "
                    "most 500 bytes (stored with the event, listed by `govledger sources`)");
    sub->add_option(
        "--actor", actor_,
        "Recorded actor (govledger-actor), default the peer address; with an access token, "
        "the token's actor");
  }
  for (CLI::App* sub : {keys_register_, decision_digest_, decision_submit_}) {
    sub->add_option("--server", server_flag, "govledgerd address");
  }

}

std::optional<int> SigningCommands::Run(const std::string& server) {
  if (keys_generate_->parsed()) return Generate();
  if (keys_public_->parsed()) return Public();
  if (keys_register_->parsed()) return Register(server);
  if (decision_digest_->parsed()) return Digest(server);
  if (decision_sign_->parsed()) return Sign();
  if (decision_submit_->parsed()) return Submit(server);
  return std::nullopt;
}

int SigningCommands::Generate() {
  absl::StatusOr<crypto::Ed25519KeyPair> pair =
      crypto::GenerateEd25519KeyPair();
  if (!pair.ok())
    return Fail(kExitRefused, std::string(pair.status().message()));
  absl::StatusOr<std::string> priv =
      crypto::Ed25519PrivateKeyToPem(pair->private_key);
  absl::StatusOr<std::string> pub =
      crypto::Ed25519PublicKeyToPem(pair->public_key);
  if (!priv.ok() || !pub.ok())
    return Fail(kExitRefused, "cannot encode the key pair as PEM");
  if (out_prefix_.empty() || out_prefix_.back() == '/') {
    return Fail(kExitBadArgs, absl::StrCat("--out '", out_prefix_,
                                           "' names no file: give a prefix such as "
                                           "~/keys/dmpc-2016, for PREFIX.key and PREFIX.pub"));
  }
  // A file's name given for the prefix would make dmpc.key.key and dmpc.key.pub.
  for (absl::string_view suffix : {".key", ".pub"}) {
    if (absl::EndsWithIgnoreCase(out_prefix_, suffix)) {
      std::string prefix = out_prefix_.substr(0, out_prefix_.size() - suffix.size());
      if (prefix.empty() || prefix.back() == '/') prefix += "dmpc-2016";
      return Fail(kExitBadArgs,
                  absl::StrCat("--out '", out_prefix_, "' ends in ",
                               out_prefix_.substr(out_prefix_.size() - suffix.size()),
                               ": it is the prefix of both files, which the command ends with "
                               ".key and .pub; give --out ",
                               prefix));
    }
  }
  // Otherwise the keys would land beside the directory (`--out /tmp`: /tmp.key and /tmp.pub).
  if (std::error_code ec; std::filesystem::is_directory(out_prefix_, ec)) {
    return Fail(kExitBadArgs,
                absl::StrCat("--out '", out_prefix_, "' is a directory: give a prefix inside it, "
                             "such as ", out_prefix_, "/dmpc-2016, for PREFIX.key and PREFIX.pub"));
  }
  const std::string key_path = out_prefix_ + ".key",
                    pub_path = out_prefix_ + ".pub";
  // Neither file is written unless both can be: no private key is left without its public one.
  if (!force_) {
    for (const std::string& path : {key_path, pub_path}) {
      if (struct stat st; ::lstat(path.c_str(), &st) == 0) {
        return Fail(kExitBadArgs,
                    absl::StrCat("cannot create ", path, ": it exists (use --force)"));
      }
    }
  }
  const IfExists if_exists = force_ ? IfExists::kReplace : IfExists::kRefuse;
  auto failed = [](const absl::Status& s) {
    return Fail(kExitBadArgs, absl::StrCat(s.message(), absl::IsAlreadyExists(s) ? " (use --force)"
                                                                                 : ""));
  };
  // The public key first: if it cannot be written, nothing has changed. If the private key
  // then cannot be, the public key file is put back as it was (--force), or the new one
  // removed: a private key is never lost, nor left beside another's public key.
  const absl::StatusOr<std::string> old_pub = ReadWholeFile(pub_path, kSmallFileBytes);
  if (absl::Status s = WriteFileAtomically(pub_path, *pub, 0644, if_exists); !s.ok()) {
    return failed(s);
  }
  if (absl::Status s = WriteFileAtomically(key_path, *priv, 0600, if_exists); !s.ok()) {
    if (!old_pub.ok() || !WriteFileAtomically(pub_path, *old_pub, 0644, IfExists::kReplace).ok()) {
      ::unlink(pub_path.c_str());
    }
    return failed(s);
  }
  std::cout << "private key  " << key_path << " (keep it secret)\npublic key   "
            << pub_path << "\npublic (hex) " << crypto::ToHex(pair->public_key)
            << "\n";
  return 0;
}

int SigningCommands::Public() {
  absl::StatusOr<std::string> pem = ReadWholeFile(key_file_, kSmallFileBytes);
  if (!pem.ok()) return Fail(kExitBadArgs, std::string(pem.status().message()));
  absl::StatusOr<std::string> key = crypto::Ed25519PrivateKeyFromPem(*pem);
  if (!key.ok()) return Fail(kExitBadArgs, absl::StrCat(key_file_, ": ", key.status().message()));
  absl::StatusOr<std::string> pub = crypto::Ed25519PublicKey(*key);
  if (!pub.ok()) return Fail(kExitRefused, std::string(pub.status().message()));
  if (public_hex_) {
    std::cout << crypto::ToHex(*pub) << "\n";
    return 0;
  }
  absl::StatusOr<std::string> pub_pem = crypto::Ed25519PublicKeyToPem(*pub);
  if (!pub_pem.ok()) return Fail(kExitRefused, "cannot encode the public key as PEM");
  std::cout << *pub_pem;
  return 0;
}

int SigningCommands::Register(const std::string& server) {
  absl::StatusOr<std::string> pem = ReadWholeFile(pub_file_, kSmallFileBytes);
  if (!pem.ok()) return Fail(kExitBadArgs, std::string(pem.status().message()));
  absl::StatusOr<std::string> pub = crypto::Ed25519PublicKeyFromPem(*pem);
  if (!pub.ok())
    return Fail(kExitBadArgs,
                absl::StrCat(pub_file_, ": ", pub.status().message()));
  if (absl::Status s = projections::CheckId("--key-id", key_id_); !s.ok()) {
    return Fail(kExitBadArgs, std::string(s.message()));
  }
  if (std::optional<int> bad = CheckEventFlags()) return *bad;
  v1::SigningKeyRegistered m;
  m.set_key_id(key_id_);
  m.set_holder(holder_);
  m.set_role(role_);
  m.set_public_key(*pub);
  if (!key_organisation_.empty()) {
    if (absl::Status s = projections::CheckId("--organisation", key_organisation_); !s.ok()) {
      return Fail(kExitBadArgs, std::string(s.message()));
    }
    m.set_organisation_id(key_organisation_);
  }
  // What the server would refuse as malformed (an empty --holder or --role), said before any
  // call.
  if (absl::StatusOr<std::string> shape = projections::EntityStreamOf(
          v1::SigningKeyRegistered::descriptor()->full_name(), m.SerializeAsString());
      !shape.ok()) {
    return Fail(kExitBadArgs, PrintableText(shape.status().message()));
  }
  v1::Event stored;
  if (int code = AppendOne(Connect(server), server, projections::KeyStream(key_id_),
                           v1::SigningKeyRegistered::descriptor()->full_name(),
                           m.SerializeAsString(), &stored);
      code != 0) {
    return code;
  }
  std::cout << "registered key " << key_id_ << " at position " << stored.position()
            << " (event " << stored.event_id() << ")\n";
  // The default is the wider one: said, so that a left-out flag does not pass unseen.
  if (key_organisation_.empty()) {
    std::cerr << "govledger: key " << key_id_ << " signs for any organisation (no "
              << "--organisation): every organisation's decisions that require the role '"
              << PrintableText(role_) << "' take its signature. To limit it to one, correct "
              << "this registration (event " << stored.event_id() << ") before the key "
              << "signs, and register it again with --organisation\n";
  }
  return 0;
}

std::optional<int> SigningCommands::CheckEventFlags() {
  if (!effective_.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseEffectiveFlag("--effective", effective_);
    if (!t.ok()) return Fail(kExitBadArgs, std::string(t.status().message()));
  }
  if (absl::Status s = ValidateSource(source_); !s.ok()) {
    return Fail(kExitBadArgs, PrintableText(absl::StrCat("--source: ", s.message())));
  }
  return std::nullopt;
}

int SigningCommands::AppendOne(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& server, const std::string& stream,
                               const std::string& type, const std::string& payload,
                               v1::Event* appended) const {
  v1::AppendRequest request;
  v1::Event* e = request.add_events();
  e->set_event_id(NewUuid());
  e->set_stream_id(stream);
  e->set_event_type(type);
  e->set_payload(payload);
  if (!effective_.empty()) {
    *e->mutable_effective_time() = *ParseEffectiveFlag("--effective", effective_);  // checked
  }
  e->set_source(source_);
  auto context = NewCallContext(actor_);
  v1::AppendResponse response;
  grpc::Status status =
      v1::LedgerService::NewStub(channel)->Append(context.get(), request, &response);
  if (!status.ok()) {
    const int code = FailCall(server, status);
    // A second submission of a stored key or signature is refused ("already registered",
    // "already signed"), so the way to know is to look.
    if (OutcomeUnknown(status)) {
      std::cerr << "govledger: the event (id " << e->event_id()
                << ") may have been stored all the same: `govledger history " << stream
                << "` shows whether it was, before anything is submitted again\n";
    }
    return code;
  }
  appended->set_event_id(e->event_id());
  appended->set_position(response.events(0).position());
  return 0;
}

int SigningCommands::Digest(const std::string& server) {
  absl::StatusOr<std::string> stream =
      DecisionStreamOf(decision_stream_, organisation_, reference_);
  if (!stream.ok())
    return Fail(kExitBadArgs, std::string(stream.status().message()));
  const std::optional<v1::InterestsDeclaration> declaration = Declaration(decision_digest_);
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  grpc::Status rpc;
  absl::StatusOr<v1::DecisionProposed> decision =
      FetchNamedDecision(channel, organisation_, reference_, &*stream, &rpc);
  if (!rpc.ok()) return FailCall(server, rpc);
  if (!decision.ok())
    return Fail(kExitRefused, std::string(decision.status().message()));
  // What the digest is of, on stderr (stdout stays the digest alone, for scripts): the
  // signatory who signs it offline sees only the hex, so this is what to check it against. Each
  // text the proposer wrote stands alone on its line, after a label of ours (its line breaks
  // and bidirectional controls escaped): no title, source or role can pass for the summary's own
  // words, as one closing its quotes and stating a false amount had (a security reviewer's
  // trial), whatever characters it holds.
  std::ostringstream out;
  // A run of spaces is shown counted: padded out to the terminal's width, a text would wrap
  // into what looks like a labelled line of its own (a reviewer's trial).
  const auto line = [&out](absl::string_view label, absl::string_view value) {
    std::string shown;
    for (size_t i = 0; i < value.size();) {
      size_t run = 0;
      while (i + run < value.size() && value[i + run] == ' ') ++run;
      if (run >= 2) {
        absl::StrAppend(&shown, " [", run, " spaces] ");
      } else {
        shown.push_back(value[i]);
        run = 1;
      }
      i += run;
    }
    out << "  " << absl::StrFormat("%-20s", label) << " " << shown << "\n";
  };
  out << "govledger: the digest of decision " << PrintableText(decision->reference()) << " of "
      << PrintableText(decision->organisation_id()) << " is of:\n";
  line("title", PrintableText(decision->title()));
  for (const v1::DecisionAmount& a : decision->amounts()) {
    line("amount", absl::StrCat(projections::FormatPence(a.pence()), " ", AmountKindText(a.kind()),
                                a.noted_only() ? " (noted only)" : ""));
    if (!a.funding_source().empty()) line("  funded from", PrintableText(a.funding_source()));
  }
  line("recommendations", absl::StrCat(decision->recommendations_size()));
  if (!decision->programme_id().empty()) {
    line("programme", PrintableText(decision->programme_id()));
  }
  const int statements =
      decision->originating_officer_declarations_size() + decision->officer_approvals_size();
  if (statements > 0) line("officers' statements", absl::StrCat(statements));
  if (decision->delegated_authorities_size() > 0) {
    line("delegates authority", absl::StrCat(decision->delegated_authorities_size()));
  }
  if (decision->has_part1_deferred_until()) {
    line("Part 1 deferred",
         absl::StrCat("until ", projections::FormatDate(decision->part1_deferred_until())));
  }
  if (decision->has_part2()) line("Part 2 reason", PrintableText(decision->part2().reason()));
  for (const std::string& role : decision->required_signatory_roles()) {
    line("to be signed by", PrintableText(role));
  }
  if (declaration.has_value()) line("interests", "declared (--declaration)");
  // Where it stands, so that a signatory does not sign what takes no more signatures.
  const std::optional<v1::GetDecisionRegisterResponse> response =
      RegisterAtHead(channel, decision->organisation_id());
  const v1::DecisionEntry* entry = nullptr;
  for (int i = 0; response.has_value() && i < response->decisions_size(); ++i) {
    if (response->decisions(i).reference() == decision->reference()) {
      entry = &response->decisions(i);
    }
  }
  if (entry != nullptr) {
    if (entry->status() != v1::DECISION_STATUS_PENDING) {
      out << "govledger: decision " << PrintableText(decision->reference()) << " is "
          << absl::AsciiStrToLower(
                 v1::DecisionStatus_Name(entry->status()).substr(strlen("DECISION_STATUS_")))
          << ": it takes no more signatures (the digest serves to check those it has)\n";
    } else {
      out << "govledger: decision " << PrintableText(decision->reference()) << " is pending"
          << (entry->signatures().empty() ? ", signed by nobody yet" : "") << ":\n";
      for (const v1::DecisionSignature& sig : entry->signatures()) {
        line("signed as", PrintableText(sig.role()));
        line("  by", PrintableText(sig.holder()));
      }
      for (const std::string& role : entry->unsigned_roles()) {
        line("awaiting", PrintableText(role));
      }
    }
  }
  std::cerr << out.str();
  const std::string digest = projections::DecisionDigest(*decision);
  std::cout << crypto::ToHex(declaration.has_value()
                                 ? projections::SignatureDigest(digest, *declaration)
                                 : digest)
            << "\n";
  return 0;
}

std::optional<v1::InterestsDeclaration> SigningCommands::Declaration(const CLI::App* sub) const {
  if (sub->count("--declaration") == 0) return std::nullopt;
  v1::InterestsDeclaration d;
  d.set_statement(declaration_);
  d.set_interests(interests_);
  return d;
}

int SigningCommands::Sign() {
  absl::StatusOr<std::string> pem = ReadWholeFile(key_file_, kSmallFileBytes);
  if (!pem.ok()) return Fail(kExitBadArgs, std::string(pem.status().message()));
  absl::StatusOr<std::string> key = crypto::Ed25519PrivateKeyFromPem(*pem);
  if (!key.ok())
    return Fail(kExitBadArgs,
                absl::StrCat(key_file_, ": ", key.status().message()));
  // A signatory's key others may read may already sign in their name: refused, as ssh refuses
  // such a key, before it signs anything.
  if (absl::Status s = CheckKeyIsPrivate("the private key file", key_file_); !s.ok()) {
    const bool readable = absl::StrContains(s.message(), " may be read by");
    return Fail(kExitBadArgs,
                absl::StrCat(s.message(), readable ? ", and if others could read it, treat the "
                                                     "key as lost: revoke it and register a new "
                                                     "one"
                                                   : ""));
  }
  absl::StatusOr<std::string> digest = crypto::FromHex(digest_hex_);
  if (!digest.ok() || digest->size() != 32) {
    return Fail(kExitBadArgs,
                "--digest must be 64 hex digits (a SHA-256 digest)");
  }
  absl::StatusOr<std::string> signature = crypto::Ed25519Sign(*key, *digest);
  if (!signature.ok())
    return Fail(kExitRefused, std::string(signature.status().message()));
  std::cout << crypto::ToHex(*signature) << "\n";
  return 0;
}

int SigningCommands::Submit(const std::string& server) {
  absl::StatusOr<std::string> stream =
      DecisionStreamOf(decision_stream_, organisation_, reference_);
  if (!stream.ok())
    return Fail(kExitBadArgs, std::string(stream.status().message()));
  absl::StatusOr<std::string> signature = crypto::FromHex(signature_hex_);
  if (!signature.ok() || signature->size() != crypto::kEd25519SignatureSize) {
    return Fail(kExitBadArgs,
                "--signature must be 128 hex digits (an Ed25519 signature)");
  }
  const std::optional<v1::InterestsDeclaration> declaration = Declaration(decision_submit_);
  std::optional<std::string> signed_digest;
  if (decision_submit_->count("--digest") > 0) {
    absl::StatusOr<std::string> digest = crypto::FromHex(digest_hex_);
    if (!digest.ok() || digest->size() != 32) {
      return Fail(kExitBadArgs,
                  "--digest must be 64 hex digits (the digest signed, as `decision digest` "
                  "printed it)");
    }
    signed_digest = *digest;
  }
  if (std::optional<int> bad = CheckEventFlags()) return *bad;
  v1::DecisionSigned m;
  if (!signed_on_.empty()) {
    absl::StatusOr<v1::Date> date = ParseDateFlag("--signed-on", signed_on_);
    if (!date.ok())
      return Fail(kExitBadArgs, std::string(date.status().message()));
    *m.mutable_signed_on() = *date;
    // Without --effective the signature takes effect when the ledger receives it, and the
    // decision is approved then: a paper's earlier date beside it would not date the approval
    // (a clerk had typed the date and read "approved" today).
    // Today by this machine's time zone and in UTC, the earlier of the two: a date that is
    // today in either is not refused (a reviewer's trial in New York at 20:00, 01:00 UTC).
    const absl::Time now = absl::Now();
    const absl::CivilDay today = std::min(absl::ToCivilDay(now, absl::UTCTimeZone()),
                                          absl::ToCivilDay(now, absl::LocalTimeZone()));
    if (effective_.empty() && absl::CivilDay(date->year(), date->month(), date->day()) < today) {
      return Fail(kExitBadArgs,
                  absl::StrCat("--signed-on ", signed_on_,
                               " is before today, but without "
                               "--effective the signature takes effect when the ledger receives "
                               "it, and the decision is approved today, not on ",
                               signed_on_,
                               ": give --effective with the time it was signed (RFC 3339, e.g. "
                               "--effective ",
                               signed_on_,
                               "T17:00:00Z; not before the "
                               "decision's proposal or the key's registration). Nothing was "
                               "sent"));
    }
  }
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  grpc::Status rpc;
  std::vector<VoidedDigest> voided_digests;
  absl::StatusOr<v1::DecisionProposed> decision =
      FetchNamedDecision(channel, organisation_, reference_, &*stream, &rpc, &voided_digests);
  if (!rpc.ok()) return FailCall(server, rpc);
  if (!decision.ok())
    return Fail(kExitRefused, std::string(decision.status().message()));
  m.set_organisation_id(decision->organisation_id());
  m.set_reference(decision->reference());
  m.set_key_id(key_id_);
  m.set_signature(*signature);
  m.set_digest(projections::DecisionDigest(*decision));
  if (signed_digest.has_value()) {
    const std::string now = declaration.has_value()
                                ? projections::SignatureDigest(m.digest(), *declaration)
                                : m.digest();
    if (now != *signed_digest && *signed_digest == m.digest()) {
      // The stored event's digest field holds this one; with a declaration, it is not signed.
      return Fail(kExitBadArgs,
                  absl::StrCat("--digest is decision ", PrintableText(decision->organisation_id()),
                               "/", PrintableText(decision->reference()),
                               "'s own digest, but with --declaration the signature is over the "
                               "signature digest, ",
                               crypto::ToHex(now),
                               " (`govledger decision digest` with the same --declaration and "
                               "--interests prints it): give that, the digest signed. Nothing "
                               "was sent"));
    }
    if (now != *signed_digest) {
      // Of a proposal of this decision that a correction voided since (with the same
      // declaration, when one is given), or of none on record.
      // (With a declaration, its own digest too: the one printed without the declaration.)
      const auto voided = absl::c_find_if(voided_digests, [&](const VoidedDigest& v) {
        return *signed_digest == v.digest ||
               (declaration.has_value() &&
                *signed_digest == projections::SignatureDigest(v.digest, *declaration));
      });
      const std::string what = absl::StrCat(
          "decision ", PrintableText(decision->organisation_id()), "/",
          PrintableText(decision->reference()), " as stored now has the ",
          declaration.has_value() ? "signature digest " : "digest ", crypto::ToHex(now),
          ", not the ", crypto::ToHex(*signed_digest), " signed: ");
      return Fail(
          kExitRefused,
          voided != voided_digests.end()
              ? absl::StrCat(what,
                             "that is the digest of a proposal of it that a correction has "
                             "voided since (govledger history ",
                             PrintableText(voided->stream),
                             "). Nothing was sent: print its digest again, check what it "
                             "says now, and sign that")
              : absl::StrCat(
                    what,
                    "it is the digest of no proposal of this decision on record: of "
                    "another decision (check --organisation and --reference), or printed with "
                    "other --declaration or --interests. Nothing was sent: print this "
                    "decision's digest (govledger decision digest with the same flags), check "
                    "what it says, and sign that"));
    }
  }
  if (declaration.has_value()) *m.mutable_declaration() = *declaration;
  v1::Event stored;
  if (int code = AppendOne(channel, server, *stream,
                           v1::DecisionSigned::descriptor()->full_name(), m.SerializeAsString(),
                           &stored);
      code != 0) {
    return code;
  }
  std::cout << "signature of " << decision->organisation_id() << "/" << decision->reference()
            << " by key " << key_id_ << " recorded at position " << stored.position()
            << " (event " << stored.event_id() << ")\n";
  return 0;
}

}  // namespace govledger::cli
