#include "cli/audit_commands.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/client.h"
#include "cli/event_json.h"
#include "cli/export_chain.h"
#include "cli/log_identities.h"
#include "cli/log_pages.h"
#include "cli/printable.h"
#include "cli/progress.h"
#include "google/protobuf/util/json_util.h"
#include "govledger/v1/audit.grpc.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/common/files.h"
#include "ledger/common/flags.h"
#include "ledger/common/time.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"
#include "ledger/ledger.h"
#include "ledger/stored_event.h"
#include "ledger/tree_head.h"
#include "projections/signature_audit.h"

namespace govledger::cli {
namespace {

namespace pb = ::google::protobuf;

// A tree head from a file `tree-head` wrote.
absl::StatusOr<v1::TreeHead> ReadTreeHeadFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path, kSmallFileBytes);
  if (!text.ok()) return text.status();
  v1::TreeHead head;
  if (!pb::util::JsonStringToMessage(*text, &head).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " does not hold a tree head (the JSON `govledger tree-head` prints)"));
  }
  if (absl::Status s = VerifyTreeHead(head, {}); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return head;
}

// The tree head in `path`, its signature checked with one of `public_keys` (none: not
// checked): kExitOk with it in `*out`, else Fail's code (kExitBadArgs for a file that cannot be
// read, and, unless `kept`, for one that is not a tree head; kExitChainBroken for a signature
// that does not verify). `kept`: a file the witness wrote itself, whose damage is an
// integrity finding like a bad signature.
int LoadTreeHead(const std::string& path, const std::vector<std::string>& public_keys,
                 v1::TreeHead* out, bool kept = false) {
  absl::StatusOr<v1::TreeHead> read = ReadTreeHeadFile(path);
  if (!read.ok()) {
    if (kept && absl::IsInvalidArgument(read.status())) {
      return Fail(kExitChainBroken,
                  absl::StrCat("witness: ", read.status().message(),
                               ": the tree head it kept last is damaged, so nothing is compared "
                               "or kept; find out what changed it, and restore it from a copy"));
    }
    return Fail(kExitBadArgs, std::string(read.status().message()));
  }
  if (absl::Status s = VerifyTreeHead(*read, public_keys); !s.ok()) {
    return Fail(kExitChainBroken, absl::StrCat(path, ": ", s.message()));
  }
  *out = *std::move(read);
  return kExitOk;
}

// The 32 bytes of the Ed25519 public key in each PEM file of `paths` (--public-key, given once
// for each tree head key the ledger has had).
absl::StatusOr<std::vector<std::string>> ReadPublicKeyFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> keys;
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> pem = ReadWholeFile(path, kSmallFileBytes);
    if (!pem.ok()) return pem.status();
    absl::StatusOr<std::string> key = crypto::Ed25519PublicKeyFromPem(*pem);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--public-key ", path, " holds no Ed25519 public key (PEM)",
                       absl::StartsWith(key.status().message(), "the PEM holds an")
                           ? absl::StrCat(": ", key.status().message())
                           : ""));
    }
    keys.push_back(*std::move(key));
  }
  return keys;
}

// "tree head of 109 events, root 1f0c...e2a9, made 2026-12-01T04:41:58Z".
std::string DescribeTreeHead(const v1::TreeHead& head) {
  return absl::StrCat("tree head of ", head.size(), head.size() == 1 ? " event" : " events",
                      ", root ", crypto::ToHex(head.root_hash()), ", made ",
                      FormatRfc3339(ToMicros(head.time())));
}

// What the signature check of `heads` came to, one line: `checked` when they were checked with
// the keys of --public-key.
std::string SignatureLine(bool checked, std::initializer_list<const v1::TreeHead*> heads) {
  if (!checked) return "signature not checked: give --public-key with the ledger's tree head key\n";
  std::vector<std::string> keys;
  for (const v1::TreeHead* head : heads) {
    const std::string key = crypto::ToHex(head->public_key());
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  return keys.size() == 1
             ? absl::StrCat("signed by the tree head key ", keys[0], ": verified\n")
             : absl::StrCat("signed by the tree head keys ", absl::StrJoin(keys, " and then "),
                            " (the ledger's key was replaced between them): verified\n");
}

// What verify adds about decisions' signatures: nothing when the events hold none.
std::string SignatureSummary(const projections::SignatureAudit& audit, absl::string_view where) {
  if (audit.verified() == 0 && audit.unchecked() == 0 && audit.verified_after_void() == 0) {
    return "";
  }
  std::string out = absl::StrCat(
      "decision signatures: ", audit.verified(), " verified (", audit.decisions_signed(),
      audit.decisions_signed() == 1 ? " decision" : " decisions",
      "), each over its decision's digest (canonical, or with a declaration of interests the "
      "signature digest) with its key's registered public key");
  if (const int voided = audit.voided(); voided > 0) {
    absl::StrAppend(&out, "; ", voided, voided == 1 ? " of them is" : " of them are",
                    " since voided by a correction, and no longer counted towards approval");
  }
  if (const int after_void = audit.verified_after_void(); after_void > 0) {
    absl::StrAppend(&out, "; ", after_void,
                    after_void == 1 ? " more, verified" : " more, each verified",
                    " with a proposal or key a correction had voided before it (a log written "
                    "before 2026-11-30 may hold such), which no answer counts");
  }
  if (audit.unchecked() > 0) {
    absl::StrAppend(&out, "; ", audit.unchecked(),
                    " not checked: their decision or key is not in the ", where,
                    ", or a correction in it voided them (a part of the log cannot show which "
                    "counts)");
  }
  absl::StrAppend(&out, "\n");
  if (const auto& refused = audit.refused_by_rules(); !refused.empty()) {
    absl::StrAppend(
        &out, "decision signatures the rules now refuse (", refused.size(),
        "; a log written under an earlier version's rules may hold such, and so may a log "
        "rewritten with real signatures, a stolen key's or one person's second, which a tree "
        "head kept from before tells apart):\n");
    for (const std::string& why : refused) absl::StrAppend(&out, "  ", PrintableText(why), "\n");
  }
  const auto keys = audit.keys_used();
  if (!keys.empty()) {
    absl::StrAppend(&out, "signing keys used (compare them with the keys their holders hold):\n");
  }
  for (const projections::SignatureAudit::KeyUse& use : keys) {
    absl::StrAppend(
        &out, "  ", PrintableText(use.key_id), "  ", PrintableText(use.registration.holder()), ", ",
        PrintableText(use.registration.role()),
        use.registration.organisation_id().empty()
            ? ""
            : absl::StrCat(", for organisation ",
                           PrintableText(use.registration.organisation_id())),
        "  public key ", crypto::ToHex(use.registration.public_key()), " (registered at position ",
        use.registered_at,
        use.registered_by.empty() ? "" : absl::StrCat(" by ", PrintableText(use.registered_by)),
        ")  ", use.signatures, use.signatures == 1 ? " signature" : " signatures");
    if (use.revoked_at != 0) {
      absl::StrAppend(&out, "; revoked from ", FormatRfc3339(use.revoked_from_micros),
                      " (position ", use.revoked_at, ")");
    }
    if (use.voided) {
      absl::StrAppend(&out, "; its registration since voided by a correction (no answer counts "
                            "its signatures)");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace

void AuditCommands::AddPublicKeyOption(CLI::App* command, const std::string& help) {
  // One file a --public-key: `--public-key a.pub OLD` leaves OLD to the positional.
  command->add_option("--public-key", public_key_files_, help)->allow_extra_args(false);
}

AuditCommands::AuditCommands(CLI::App& app, std::string& server_flag) {
  verify_ = app.add_subcommand(
      "verify",
      "Check the whole hash chain, position 1 to the head, and every decision signature "
      "(listing the keys that signed); or an export file, offline");
  verify_->add_option("--file", verify_file_,
                      "Check this file written by `export` (- for stdin) instead of the server: "
                      "offline, no server needed");
  verify_->add_option("--head-hash", head_hash_,
                      "With --file: the hash its last event must have, e.g. a head hash "
                      "recorded when the export was made (hex as `head` prints it, or base64 "
                      "as `head --json` does)");
  verify_->add_flag("--allow-gaps", allow_gaps_,
                    "With --file: the file may skip positions (an export of one stream); events "
                    "across a gap are checked on their own");
  verify_
      ->add_option("--tree-head", tree_head_file_,
                   "With --file: a tree head `tree-head` wrote; the export's first events (from "
                   "position 1) must give its Merkle root")
      ->excludes("--allow-gaps");
  AddPublicKeyOption(verify_,
                     "With --tree-head: also check its signature with this public key "
                     "(PEM; repeat for each tree head key the ledger has had)");
  verify_->footer(
      "Reads every event's stored bytes and checks its hash and its link to the one before on\n"
      "this machine; exit 4 names the first position that does not verify. With --file, the\n"
      "same for the events of an export: each event's hash against its content, and each\n"
      "against the one before.\n\n"
      "Examples:\n"
      "  govledger verify\n"
      "  govledger verify --file ledger.jsonl --head-hash 0090a036...\n"
      "  govledger verify --file ledger.jsonl --tree-head tree-head.json --public-key ledger.pub");

  tree_head_ =
      app.add_subcommand("tree-head",
                         "The log's tree head (AuditService): its size, Merkle root and head hash, "
                         "signed with the ledger's tree head key; save it to prove against later");
  AddPublicKeyOption(tree_head_,
                     "Check the signature with this public key (PEM): the ledger's "
                     "tree head key's, as `govledger keys generate` wrote it");
  tree_head_->footer(
      "Prints the tree head as one JSON object. Exit 4 when --public-key is given and the\n"
      "signature does not verify (or there is none).\n\n"
      "Example:\n"
      "  govledger tree-head --public-key ledger.pub > tree-head-2026-12-01.json");
  CLI::App* prove = app.add_subcommand(
      "prove",
      "Check on this machine, from the server's proofs, that an event is in the log "
      "of a tree head, or that the log extends an earlier tree head's");
  prove->require_subcommand(1);
  prove_event_ = prove->add_subcommand(
      "event",
      "That the event at POSITION, as the server stores it, is in the log of the "
      "tree head in --tree-head (AuditService.GetInclusionProof)");
  prove_event_->add_option("POSITION", position_, "The event's position")
      ->required()
      ->check(WholeNumberIn(uint64_t{1}, uint64_t{1} << 62));
  prove_event_
      ->add_option("--tree-head", tree_head_file_,
                   "A tree head `tree-head` wrote (its log must hold POSITION)")
      ->required();
  prove_extends_ = prove->add_subcommand(
      "extends",
      "That the log the server holds now (or the tree head in --tree-head) extends "
      "the log of the tree head in OLD: its first events unchanged "
      "(AuditService.GetConsistencyProof)");
  prove_extends_->add_option("OLD", old_tree_head_file_, "An earlier tree head `tree-head` wrote")
      ->required();
  prove_extends_->add_option("--tree-head", tree_head_file_,
                             "The later tree head (default: the server's now)");
  for (CLI::App* sub : {prove_event_, prove_extends_}) {
    AddPublicKeyOption(sub,
                       "Also check each tree head's signature with this public key (PEM; "
                       "repeat for each tree head key the ledger has had)");
  }
  prove->footer(
      "Exit 0: verified; 4: a signature or a proof does not verify, and the message says which;\n"
      "2: a file that is not a tree head, a position past its size, two files the wrong way "
      "round.\n\n"
      "Examples:\n"
      "  govledger prove event 42 --tree-head tree-head-2026-12-01.json --public-key ledger.pub\n"
      "  govledger prove extends tree-head-2026-12-01.json --public-key ledger.pub");

  witness_ = app.add_subcommand(
      "witness",
      "Keep the server's tree head in DIR after checking that its log extends the one "
      "kept there last (a monitor to run from cron)");
  witness_->add_option("DIR", witness_dir_, "Where tree heads are kept (created if missing)")
      ->required();
  AddPublicKeyOption(witness_,
                     "Check every tree head's signature with this public key (PEM; "
                     "repeat for each tree head key the ledger has had)");
  witness_->footer(
      "Each run fetches the server's tree head, checks its signature (with --public-key), proves\n"
      "that its log extends the tree head kept last in DIR, and keeps it there as\n"
      "tree-head-<size, 20 digits>.json. Exit 4 when a signature or the proof does not verify: the "
      "log was\n"
      "rewritten, or the server shows another log than before.\n\n"
      "Example (crontab):\n"
      "  0 * * * * govledger witness /var/lib/govledger-witness --public-key tree-head.pub "
      ">/dev/null\n(cron mails what a run prints: on success nothing reaches it; failures are on "
      "stderr)");

  for (CLI::App* sub : {verify_, tree_head_, prove_event_, prove_extends_, witness_}) {
    sub->add_option("--server", server_flag, "govledgerd address");
  }
}

std::optional<int> AuditCommands::Run(const std::string& server) {
  if (verify_->parsed()) return verify_file_.empty() ? Verify(server) : VerifyFile();
  if (tree_head_->parsed()) return TreeHead(server);
  if (prove_event_->parsed()) return ProveEvent(server);
  if (prove_extends_->parsed()) return ProveExtends(server);
  if (witness_->parsed()) return Witness(server);
  return std::nullopt;
}

int AuditCommands::Verify(const std::string& server) {
  if (!tree_head_file_.empty() || !public_key_files_.empty()) {
    return Fail(kExitBadArgs,
                "verify: --tree-head and --public-key go with --file; to check the "
                "server's log against a tree head, use `prove extends`");
  }
  if (!head_hash_.empty() || allow_gaps_) {
    return Fail(kExitBadArgs,
                "verify: --head-hash and --allow-gaps go with --file (an export); to check the "
                "server's log against a head hash recorded earlier, export it up to that "
                "position (`export --to N`) and verify the file with --head-hash");
  }
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto stub = v1::LedgerService::NewStub(channel);
  v1::GetHeadResponse head;
  if (grpc::Status s = GetHead(*stub, &head); !s.ok()) return FailCall(server, s);
  if (head.position() == 0) {
    std::cout << "the ledger is empty: nothing to verify\n";
    return kExitOk;
  }

  grpc::GenericStub raw(channel);
  Progress progress("verifying", head.position());
  projections::SignatureAudit signatures;
  LogIdentities identities;
  crypto::Hash prev = crypto::kGenesisHash;
  uint64_t position = 1;
  std::string wire;
  // Once a page cannot be read, events are read one at a time from its start, verified as
  // before, so that the first that cannot be read is named, not the page's start.
  bool one_by_one = false;
  while (position <= head.position()) {
    v1::ReadRequest request;
    request.set_from(position);
    request.set_limit(one_by_one ? 1 : kMaxReadLimit);
    grpc::Status status = RawRead(raw, request, &wire);
    if (status.error_code() == grpc::StatusCode::DATA_LOSS && !one_by_one) {
      one_by_one = true;
      continue;
    }
    if (status.error_code() == grpc::StatusCode::DATA_LOSS) {
      return Fail(kExitChainBroken,
                  absl::StrCat("the chain does not verify: the server cannot read the event at "
                               "position ",
                               position, ": ", PrintableText(status.error_message())));
    }
    if (!status.ok()) return FailCall(server, status);
    absl::StatusOr<RawPage> page = ParseRawPage(wire);
    if (!page.ok() || page->events.empty()) {
      return Fail(
          kExitChainBroken,
          absl::StrCat("the chain does not verify: no readable event at position ", position));
    }
    for (const std::string& stored : page->events) {
      if (position > head.position()) break;
      absl::StatusOr<crypto::Hash> hash = VerifyStoredEvent(position, stored, prev);
      absl::Status audited = hash.status();
      if (hash.ok()) {
        absl::StatusOr<v1::Event> event = DecodeStoredEvent(position, stored);
        audited = event.ok() ? signatures.Add(*event) : event.status();
        if (audited.ok()) {
          if (absl::Status s = identities.Add(*event); !s.ok()) {
            return Fail(kExitChainBroken, absl::StrCat("the log does not verify at position ",
                                                       position, ": ", s.message()));
          }
        }
      }
      if (!hash.ok()) {
        return Fail(kExitChainBroken, absl::StrCat("the chain does not verify at position ",
                                                   position, ": ", hash.status().message()));
      }
      if (!audited.ok()) {
        return Fail(kExitChainBroken, absl::StrCat("the log does not verify: ", audited.message()));
      }
      prev = *hash;
      ++position;
    }
    progress.Update(position - 1);
  }
  progress.Finish();
  if (crypto::AsBytes(prev) != head.hash()) {
    return Fail(kExitChainBroken,
                absl::StrCat("the chain does not verify: the hash of position ", head.position(),
                             " is ", crypto::ToHex(crypto::AsBytes(prev)),
                             " but the server's head hash is ", crypto::ToHex(head.hash())));
  }
  std::cout << "verified positions 1 to " << head.position() << ": " << head.position()
            << " events, every hash chains to the one before, each event id appears once and "
               "each stream's versions run 1, 2, 3, ...\nhead hash "
            << crypto::ToHex(head.hash()) << "\n"
            << "(the log holds together; that it is the ledger's own log is shown by this head "
               "hash matching one kept elsewhere, or by `govledger prove extends` with a tree "
               "head kept earlier)\n"
            << SignatureSummary(signatures, "log");
  return kExitOk;
}

int AuditCommands::VerifyFile() {
  if (!head_hash_.empty()) {
    // In hex as `head` prints it, or in base64 as `head --json` does (protobuf's JSON of bytes).
    std::string raw;
    if (head_hash_.size() == 2 * crypto::kHashSize && crypto::FromHex(head_hash_).ok()) {
      head_hash_ = absl::AsciiStrToLower(head_hash_);
    } else if (absl::Base64Unescape(head_hash_, &raw) && raw.size() == crypto::kHashSize &&
               absl::Base64Escape(raw) == head_hash_) {  // exactly as printed: no typo passes
      head_hash_ = crypto::ToHex(raw);
    } else {
      return Fail(kExitBadArgs,
                  "--head-hash must be a SHA-256 in hex (64 digits), as `govledger head` prints "
                  "it, or in base64 (44 characters), as `govledger head --json` does");
    }
  }
  if (tree_head_file_.empty() && !public_key_files_.empty()) {
    return Fail(kExitBadArgs, "verify: --public-key checks a --tree-head; give both");
  }
  absl::StatusOr<std::vector<std::string>> public_keys = ReadPublicKeyFiles(public_key_files_);
  if (!public_keys.ok()) return Fail(kExitBadArgs, std::string(public_keys.status().message()));
  // The tree head the export's first events must give the root of, and their leaves so far.
  std::optional<v1::TreeHead> tree_head;
  std::vector<std::string> leaves;
  bool root_checked = false;
  if (!tree_head_file_.empty()) {
    tree_head.emplace();
    if (int code = LoadTreeHead(tree_head_file_, *public_keys, &*tree_head); code != kExitOk) {
      return code;
    }
  }
  std::ifstream file;
  if (verify_file_ != "-") {
    if (absl::Status s = OpenForReading(verify_file_, &file); !s.ok()) {
      return Fail(kExitBadArgs, std::string(s.message()));
    }
  }
  std::istream& in = verify_file_ == "-" ? std::cin : file;
  const std::string name = verify_file_ == "-" ? "stdin" : verify_file_;

  // Each event is checked against its own content and the previous hash it states, and, when it
  // follows the event before it in the file (or is position 1), against that event's hash.
  ExportChain chain(allow_gaps_);
  LogIdentities identities;
  projections::SignatureAudit signatures;
  std::string line;
  bool too_long = false;
  bool ended_line = true;  // whether the last event's line ended with a newline
  int line_number = 1;
  for (; GetBoundedLine(in, kMaxEventDocumentBytes, &line, &too_long); ++line_number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    ended_line = !in.eof();  // a line that ends the input without a newline sets eof
    absl::StatusOr<ExportedEvent> exported = ParseExportedEvent(line);
    if (!exported.ok() || exported->event.position() == 0) {
      const std::string why =
          exported.ok() ? " (it has no position)" : absl::StrCat(": ", exported.status().message());
      // A line cut short, or one with an export's position and hashes that no longer parses
      // (a type, a time or a hash edited into what no export writes), is damage, as an edit
      // that parses is: exit 4, which a monitor alerts on, not the exit 2 of a wrong file.
      const int export_fields = CountExportFields(line);
      if (!ended_line && (chain.events() > 0 || export_fields > 0)) {
        return Fail(kExitChainBroken,
                    absl::StrCat("the export does not verify: ", name, " ends inside its line ",
                                 line_number,
                                 " with no newline after it: the file was cut "
                                 "short (an export that was stopped, or a copy in part); export "
                                 "again"));
      }
      // Among an export's lines, or naming its fields, a line that is no exported event is an
      // edited export too (a reviewer's trial: a position taken out of line 5, exit 2).
      if (export_fields == 3 || chain.events() > 0 || export_fields > 0) {
        return Fail(kExitChainBroken,
                    absl::StrCat("the export does not verify at ", name, " line ", line_number,
                                 export_fields == 3
                                     ? ": it carries an export's position and hashes but is "
                                       "not an event `export` wrote"
                                     : ": it is not an event `export` wrote, among an export's "
                                       "lines",
                                 why, ": an edited export"));
      }
      return Fail(kExitBadArgs,
                  absl::StrCat(name, " line ", line_number, " is not an event `export` wrote",
                               exported.ok() ? " (it has no position)"
                                             : absl::StrCat(": ", exported.status().message())));
    }
    const v1::Event* event = &exported->event;
    const uint64_t position = event->position();
    auto broken = [&](absl::string_view why) {
      return Fail(kExitChainBroken,
                  absl::StrCat("the export does not verify at position ", position, " (", name,
                               " line ", line_number, "): ", why));
    };
    absl::StatusOr<crypto::Hash> hash = chain.Add(*exported);
    if (absl::IsInvalidArgument(hash.status())) {
      return Fail(kExitBadArgs, absl::StrCat(name, ": ", hash.status().message()));
    }
    if (!hash.ok()) return broken(hash.status().message());
    if (absl::Status s = identities.Add(*event); !s.ok()) return broken(s.message());
    if (absl::Status audited = signatures.Add(*event); !audited.ok()) {
      return broken(audited.message());
    }
    if (tree_head && position <= tree_head->size()) {
      if (position != leaves.size() + 1) {
        return Fail(kExitBadArgs, absl::StrCat("--tree-head needs the export from position 1; ",
                                               name, " starts at position ", position));
      }
      leaves.push_back(crypto::MerkleLeafHash(crypto::AsBytes(*hash)));
      if (position == tree_head->size()) {
        if (crypto::MerkleRootOfLeaves(leaves) != tree_head->root_hash()) {
          return Fail(kExitChainBroken,
                      absl::StrCat("the export does not verify: its events 1 to ", position,
                                   " do not give the Merkle root of ", tree_head_file_, " (",
                                   DescribeTreeHead(*tree_head), ")"));
        }
        leaves = {};
        root_checked = true;
      }
    }
  }
  if (too_long) {
    return Fail(kExitBadArgs, absl::StrCat(name, " line ", line_number, " is longer than ",
                                           kMaxEventDocumentBytes,
                                           " bytes, more than any exported event"));
  }
  if (in.bad()) return Fail(kExitBadArgs, absl::StrCat("cannot read ", name, " (a read error)"));
  if (chain.events() == 0) return Fail(kExitBadArgs, absl::StrCat(name, " holds no event"));
  if (!ended_line) {
    // `export` ends every line with a newline: a last line without one was cut short (an
    // export stopped part of the way, a file copied in part), however whole it parses.
    return Fail(kExitChainBroken,
                absl::StrCat("the export does not verify: ", name, " ends inside its line ",
                             line_number - 1, " (position ", chain.last(),
                             ") with no newline after it: the file was cut short (an export "
                             "that was stopped, or a copy in part); export again"));
  }
  const uint64_t events = chain.events(), first = chain.first(), last = chain.last(),
                 gaps = chain.gaps();
  const crypto::Hash& last_hash = chain.last_hash();
  if (tree_head && !root_checked && tree_head->size() > 0 && first != 1) {
    return Fail(kExitBadArgs, absl::StrCat("--tree-head needs the export from position 1; ", name,
                                           " starts at position ", first));
  }
  if (tree_head && !root_checked && tree_head->size() > 0) {
    // Events the tree head commits to are missing: a log cut short is what the check is for.
    return Fail(kExitChainBroken,
                absl::StrCat("the export does not verify: ", name, " ends at position ", last,
                             ", before the ", tree_head->size(), " events of ", tree_head_file_,
                             " (", DescribeTreeHead(*tree_head), "): ",
                             last + 1 == tree_head->size()
                                 ? absl::StrCat("position ", last + 1, " is")
                                 : absl::StrCat("positions ", last + 1, " to ",
                                                tree_head->size(), " are"),
                             " missing (an export made before that tree head: export again, or "
                             "verify it against an earlier tree head)"));
  }
  const std::string last_hex = crypto::ToHex(crypto::AsBytes(last_hash));
  if (!head_hash_.empty() && head_hash_ != last_hex) {
    return Fail(kExitChainBroken,
                absl::StrCat("the export does not verify: its last event (position ", last,
                             ") has the hash ", last_hex, ", not the --head-hash ", head_hash_));
  }
  std::cout << "verified " << events << " events of " << name << ", positions " << first << " to "
            << last << ": every hash matches its event's content";
  if (gaps == 0) {
    std::cout << (first == 1 ? ", and every event chains to the one before it from the genesis"
                             : ", and every event after the first chains to the one before it");
  } else {
    std::cout << "; " << gaps << (gaps == 1 ? " gap" : " gaps")
              << " in the positions, across which events were checked on their own";
  }
  std::cout << "; each event id appears once, and each stream's versions follow on"
            << "\nlast hash " << last_hex << (head_hash_.empty() ? "" : " (the --head-hash given)")
            << "\n";
  if (head_hash_.empty() && !tree_head) {
    std::cout << "(the file holds together; that it is the ledger's own log is shown by "
                 "--head-hash with a head hash kept elsewhere, or --tree-head with a tree head "
                 "kept earlier)\n";
  }
  if (tree_head) {
    std::cout << "events 1 to " << tree_head->size() << " give the Merkle root of "
              << tree_head_file_ << " (" << DescribeTreeHead(*tree_head) << ")\n"
              << SignatureLine(!public_keys->empty(), {&*tree_head});
  }
  std::cout << SignatureSummary(signatures, "file");
  return kExitOk;
}

namespace {

// The server's tree head now, into `*out`: kExitOk, or FailCall's code.
int FetchTreeHead(const std::string& server, v1::AuditService::Stub& audit, v1::TreeHead* out) {
  auto context = NewCallContext();
  if (grpc::Status s = audit.GetTreeHead(context.get(), v1::GetTreeHeadRequest(), out); !s.ok()) {
    return FailCall(server, s);
  }
  return kExitOk;
}

// kExitOk when the server's log holds at least the events of `head` (kept as `name`): a log
// that holds fewer than a tree head its server signed was cut back, and no proof of it is worth
// asking for (the server would refuse it as OUT_OF_RANGE).
int CheckServerHolds(const std::string& server, v1::AuditService::Stub& audit,
                     const v1::TreeHead& head, const std::string& name) {
  v1::TreeHead now;
  if (int code = FetchTreeHead(server, audit, &now); code != kExitOk) return code;
  if (now.size() < head.size()) {
    return Fail(kExitChainBroken,
                absl::StrCat("the server's log holds ", now.size(), " events, fewer than the ",
                             head.size(), " of ", name,
                             ": a log only grows (it was cut back, or replaced)"));
  }
  return kExitOk;
}

}  // namespace

int AuditCommands::TreeHead(const std::string& server) {
  absl::StatusOr<std::vector<std::string>> keys = ReadPublicKeyFiles(public_key_files_);
  if (!keys.ok()) return Fail(kExitBadArgs, std::string(keys.status().message()));
  auto stub = v1::AuditService::NewStub(Connect(server));
  v1::TreeHead head;
  if (int code = FetchTreeHead(server, *stub, &head); code != kExitOk) return code;
  if (!keys->empty()) {
    if (absl::Status s = VerifyTreeHead(head, *keys); !s.ok()) {
      return Fail(kExitChainBroken,
                  absl::StrCat("the server's tree head does not verify: ", s.message()));
    }
  }
  return PrintJson(head);
}

int AuditCommands::ProveEvent(const std::string& server) {
  absl::StatusOr<std::vector<std::string>> keys = ReadPublicKeyFiles(public_key_files_);
  if (!keys.ok()) return Fail(kExitBadArgs, std::string(keys.status().message()));
  v1::TreeHead loaded;
  if (int code = LoadTreeHead(tree_head_file_, *keys, &loaded); code != kExitOk) return code;
  const v1::TreeHead* head = &loaded;
  if (position_ > head->size()) {
    return Fail(
        kExitBadArgs,
        absl::StrCat("position ", position_, " is not in the log of ", tree_head_file_,
                     head->size() == 0 ? ", which holds no events (take a tree head of a later log)"
                                       : absl::StrCat(", which holds events 1 to ", head->size())));
  }
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto audit = v1::AuditService::NewStub(channel);
  if (int code = CheckServerHolds(server, *audit, *head, tree_head_file_); code != kExitOk) {
    return code;
  }
  // The event's stored bytes, and its predecessor's hash, which its own hash covers: a wrong
  // predecessor gives a hash the tree does not hold, so it needs no trust.
  grpc::GenericStub raw(channel);
  v1::ReadRequest request;
  request.set_from(position_ == 1 ? 1 : position_ - 1);
  request.set_limit(position_ == 1 ? 1 : 2);
  std::string wire;
  if (grpc::Status s = RawRead(raw, request, &wire); !s.ok()) return FailCall(server, s);
  absl::StatusOr<RawPage> page = ParseRawPage(wire);
  if (!page.ok() || page->events.size() != request.limit()) {
    return Fail(kExitRefused, absl::StrCat("the server gave no event at position ", position_));
  }
  crypto::Hash prev = crypto::kGenesisHash;
  if (position_ > 1) {
    const absl::string_view before = StoredEventHash(page->events.front());
    if (before.size() != prev.size()) {
      return Fail(kExitChainBroken,
                  absl::StrCat("the event at position ", position_ - 1, " holds no hash"));
    }
    std::copy(before.begin(), before.end(), prev.begin());
  }
  const std::string& stored = page->events.back();
  absl::StatusOr<crypto::Hash> hash = VerifyStoredEvent(position_, stored, prev);
  if (!hash.ok()) {
    return Fail(kExitChainBroken, absl::StrCat("the event at position ", position_,
                                               " does not verify: ", hash.status().message()));
  }
  v1::GetInclusionProofRequest proof_request;
  proof_request.set_position(position_);
  proof_request.set_tree_size(head->size());
  v1::GetInclusionProofResponse proof;
  auto context = NewCallContext();
  if (grpc::Status s = audit->GetInclusionProof(context.get(), proof_request, &proof); !s.ok()) {
    return FailCall(server, s);
  }
  const std::vector<std::string> path(proof.hashes().begin(), proof.hashes().end());
  if (!crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(crypto::AsBytes(*hash)), position_ - 1,
                                     head->size(), path, head->root_hash())) {
    return Fail(kExitChainBroken,
                absl::StrCat("the event at position ", position_, " is not in the log of the ",
                             DescribeTreeHead(*head),
                             ": the server's audit path does not lead from the event's hash "
                             "to that root (",
                             keys->empty()
                                 ? "the event or the log before it changed, or the tree head "
                                   "was altered: its signature was not checked; give "
                                   "--public-key to check it"
                                 : "the event, or the log before it, changed: the tree head's "
                                   "signature verifies",
                             ")"));
  }
  absl::StatusOr<v1::Event> event = DecodeStoredEvent(position_, stored);
  std::cout << "event " << position_;
  if (event.ok()) {
    std::cout << " (" << PrintableText(event->event_type()) << " on "
              << PrintableText(event->stream_id()) << ", recorded "
              << FormatRfc3339(ToMicros(event->recorded_time())) << ")";
  }
  std::cout << ", hash " << crypto::ToHex(crypto::AsBytes(*hash)) << ", is in the log of the "
            << DescribeTreeHead(*head) << ": verified by an audit path of " << path.size()
            << (path.size() == 1 ? " hash\n" : " hashes\n")
            << SignatureLine(!keys->empty(), {head});
  return kExitOk;
}

namespace {

// That the log of `new_head` extends the log of `old_head`, from the server's consistency
// proof: kExitOk, printing how it was verified after "the log of NEW_NAME (...) extends the
// log of OLD_NAME (...)"; otherwise Fail's code. REQUIRES: both tree heads well formed and
// their signatures checked as the caller wants.
int CheckExtends(const std::string& server, v1::AuditService::Stub& audit,
                 const v1::TreeHead& old_head, const std::string& old_name,
                 const v1::TreeHead& new_head, const std::string& new_name) {
  const uint64_t from = old_head.size(), to = new_head.size();
  if (to < from) {
    return Fail(kExitChainBroken, absl::StrCat(new_name, " holds ", to, " events, fewer than the ",
                                               from, " of ", old_name, ": a log only grows"));
  }
  std::vector<std::string> path;
  if (from > 0) {
    v1::GetConsistencyProofRequest request;
    request.set_from_size(from);
    request.set_to_size(to);
    v1::GetConsistencyProofResponse proof;
    auto context = NewCallContext();
    if (grpc::Status s = audit.GetConsistencyProof(context.get(), request, &proof); !s.ok()) {
      return FailCall(server, s);
    }
    path.assign(proof.hashes().begin(), proof.hashes().end());
  }
  // Equal sizes need equal heads too (the roots are compared by the proof's check).
  const bool heads_agree = from != to || old_head.head_hash() == new_head.head_hash();
  if (!heads_agree || !crypto::VerifyMerkleConsistency(from, to, old_head.root_hash(),
                                                       new_head.root_hash(), path)) {
    return Fail(kExitChainBroken,
                absl::StrCat("the log of ", new_name, " (", DescribeTreeHead(new_head),
                             ") does not extend the log of ", old_name, " (",
                             DescribeTreeHead(old_head), "): some of its first ", from,
                             " events have changed, or a tree head was altered"));
  }
  std::cout << "the log of " << new_name << " (" << DescribeTreeHead(new_head)
            << ") extends the log of " << old_name << " (" << DescribeTreeHead(old_head)
            << "): its first " << from
            << " events are unchanged, verified by a consistency proof of " << path.size()
            << (path.size() == 1 ? " hash\n" : " hashes\n");
  return kExitOk;
}

// The name `witness` keeps a tree head under: the size zero-padded, so that names sort as sizes.
std::string KeptName(uint64_t size) { return absl::StrFormat("tree-head-%020d.json", size); }

}  // namespace

int AuditCommands::ProveExtends(const std::string& server) {
  absl::StatusOr<std::vector<std::string>> keys = ReadPublicKeyFiles(public_key_files_);
  if (!keys.ok()) return Fail(kExitBadArgs, std::string(keys.status().message()));
  absl::StatusOr<v1::TreeHead> old_head = ReadTreeHeadFile(old_tree_head_file_);
  if (!old_head.ok()) return Fail(kExitBadArgs, std::string(old_head.status().message()));
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto audit = v1::AuditService::NewStub(channel);
  v1::TreeHead new_head;
  std::string new_name = "the server's tree head";
  if (!tree_head_file_.empty()) {
    absl::StatusOr<v1::TreeHead> read = ReadTreeHeadFile(tree_head_file_);
    if (!read.ok()) return Fail(kExitBadArgs, std::string(read.status().message()));
    new_head = *std::move(read);
    new_name = tree_head_file_;
  } else if (int code = FetchTreeHead(server, *audit, &new_head); code != kExitOk) {
    return code;
  }
  for (const auto& [head, name] :
       {std::pair<const v1::TreeHead*, std::string>{&*old_head, old_tree_head_file_},
        {&new_head, new_name}}) {
    if (absl::Status s = VerifyTreeHead(*head, *keys); !s.ok()) {
      return Fail(kExitChainBroken, absl::StrCat(name, ": ", s.message()));
    }
  }
  // Two files, the smaller made first (both signed, so the times are the ledger's own): given
  // the wrong way round, a mistake rather than evidence against the log. (The server's own
  // tree head smaller than a kept one is evidence, whatever its time: CheckExtends says so.)
  if (!tree_head_file_.empty() && new_head.size() < old_head->size() &&
      ToMicros(new_head.time()) < ToMicros(old_head->time())) {
    return Fail(kExitBadArgs,
                absl::StrCat(tree_head_file_, " (", new_head.size(), " events, made ",
                             FormatRfc3339(ToMicros(new_head.time())), ") is older than ",
                             old_tree_head_file_, " (", old_head->size(), " events, made ",
                             FormatRfc3339(ToMicros(old_head->time())),
                             "): give the older tree head as OLD and the newer as --tree-head"));
  }
  if (!tree_head_file_.empty()) {  // the server's own tree head is checked by CheckExtends
    const bool new_larger = new_head.size() >= old_head->size();
    if (int code = CheckServerHolds(server, *audit, new_larger ? new_head : *old_head,
                                    new_larger ? tree_head_file_ : old_tree_head_file_);
        code != kExitOk) {
      return code;
    }
  }
  const int code = CheckExtends(server, *audit, *old_head, old_tree_head_file_, new_head, new_name);
  if (code == kExitOk) std::cout << SignatureLine(!keys->empty(), {&*old_head, &new_head});
  return code;
}

int AuditCommands::Witness(const std::string& server) {
  namespace fs = std::filesystem;
  absl::StatusOr<std::vector<std::string>> keys = ReadPublicKeyFiles(public_key_files_);
  if (!keys.ok()) return Fail(kExitBadArgs, std::string(keys.status().message()));
  std::error_code ec;
  if (!fs::is_directory(witness_dir_, ec)) {
    if (fs::exists(witness_dir_, ec) || !fs::create_directory(witness_dir_, ec)) {
      return Fail(kExitBadArgs, absl::StrCat("witness: ", witness_dir_,
                                             " is not a directory it can create or use",
                                             ec ? absl::StrCat(" (", ec.message(), ")") : ""));
    }
  }
  // The tree head kept last: the largest of the names KeptName gives.
  std::string last_name;
  for (fs::directory_iterator it(witness_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == KeptName(0).size() && absl::StartsWith(name, "tree-head-") &&
        absl::EndsWith(name, ".json") && name > last_name) {
      last_name = name;
    }
  }
  if (ec) return Fail(kExitBadArgs, absl::StrCat("witness: cannot list ", witness_dir_));
  std::optional<v1::TreeHead> last;
  const std::string last_path = (fs::path(witness_dir_) / last_name).string();
  if (!last_name.empty()) {
    last.emplace();
    if (int code = LoadTreeHead(last_path, *keys, &*last, /*kept=*/true); code != kExitOk) {
      return code;
    }
  }

  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto audit = v1::AuditService::NewStub(channel);
  v1::TreeHead now;
  if (int code = FetchTreeHead(server, *audit, &now); code != kExitOk) return code;
  if (absl::Status s = VerifyTreeHead(now, *keys); !s.ok()) {
    return Fail(kExitChainBroken,
                absl::StrCat("the server's tree head does not verify: ", s.message()));
  }
  if (last) {
    const int code = CheckExtends(server, *audit, *last, last_path, now, "the server's tree head");
    if (code != kExitOk) return code;
  }
  if (!last || now.size() != last->size()) {
    // Written whole under another name, then renamed: a kept tree head is never half written,
    // and is on disk before this says it is kept.
    const std::string path = (fs::path(witness_dir_) / KeptName(now.size())).string();
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    std::string json;
    if (auto s = google::protobuf::util::MessageToJsonString(now, &json, options); !s.ok()) {
      return Fail(kExitRefused, absl::StrCat("witness: the server's tree head cannot be written "
                                             "as JSON, nothing kept: ", s.ToString()));
    }
    if (absl::Status s =
            WriteFileAtomically(path, absl::StrCat(json, "\n"), 0644, IfExists::kReplace);
        !s.ok()) {
      return Fail(kExitRefused, absl::StrCat("witness: ", s.message()));
    }
    std::cout << "kept the " << DescribeTreeHead(now) << " as " << path << "\n";
    if (!last) {
      // A first run, or a typo in a cron line or a volume not mounted: a new history starts
      // here either way, and the one who reads the mail should know.
      std::cerr << "govledger: witness: " << witness_dir_
                << " held no tree head, so this one is its first and nothing was proved "
                   "against an earlier one; if it should hold earlier ones, check the "
                   "directory\n";
    } else if (last->size() == 0) {
      // Every log extends the empty one: a first run against an empty ledger (a volume not yet
      // mounted) proves nothing of the log that follows, whichever it is.
      std::cerr << "govledger: witness: " << witness_dir_
                << " held only the tree head of an empty log (" << last_path
                << "), which every log extends, so nothing was proved against an earlier one; "
                   "if it should hold earlier ones, or the server should be the one it was, "
                   "check the directory and the server\n";
    }
  } else {
    std::cout << "the log has not grown since " << last_path << "; nothing new kept\n";
  }
  if (last) {
    std::cout << SignatureLine(!keys->empty(), {&*last, &now});
  } else {
    std::cout << SignatureLine(!keys->empty(), {&now});
  }
  return kExitOk;
}

}  // namespace govledger::cli
