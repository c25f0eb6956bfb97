// The signatory's commands of the govledger CLI: key pairs, decision digests,
// offline signing and submitting signatures (README, "Signing decisions").
//
//   govledger keys generate --out PREFIX
//   govledger keys register --key-id ID --holder NAME --role ROLE --pub PREFIX.pub
//                           [--organisation ORG] [--effective TIME] [--source TEXT]
//   govledger decision digest (--decision-stream S | --organisation O --reference R)
//                             [--declaration TEXT [--interests TEXT]]
//   govledger decision sign --key PREFIX.key --digest HEX
//   govledger decision submit-signature (--decision-stream S | --organisation O --reference R)
//                             --key-id ID --signature HEX [--digest HEX] [--signed-on DATE]
//                             [--declaration TEXT [--interests TEXT]] [--effective TIME]
//                             [--source TEXT]
//
// Exit codes as the rest of the CLI: 0 success; 1 the server refused or failed
// the request (or has no such decision); 2 bad arguments or unusable input
// files; 3 the server could not be reached. Not thread-safe (one command per
// process).
#ifndef GOVLEDGER_CLI_SIGNING_COMMANDS_H_
#define GOVLEDGER_CLI_SIGNING_COMMANDS_H_

#include <grpcpp/channel.h>

#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"

namespace govledger::cli {

class SigningCommands {
 public:
  // Adds the `keys` and `decision` subcommands to `app`. `server_flag` is the
  // shared --server option's variable.
  // REQUIRES: both outlive this object.
  SigningCommands(CLI::App& app, std::string& server_flag);

  // After app.parse(): the exit code if one of these commands was given, else
  // nullopt.
  std::optional<int> Run(const std::string& server);

 private:
  int Generate();
  int Public();
  int Register(const std::string& server);
  int Digest(const std::string& server);
  int Sign();
  int Submit(const std::string& server);

  CLI::App* keys_generate_ = nullptr;
  CLI::App* keys_public_ = nullptr;
  CLI::App* keys_register_ = nullptr;
  CLI::App* decision_digest_ = nullptr;
  CLI::App* decision_sign_ = nullptr;
  CLI::App* decision_submit_ = nullptr;

  std::string out_prefix_;
  bool force_ = false;
  bool public_hex_ = false;
  std::string key_id_, holder_, role_, pub_file_;
  std::string decision_stream_, organisation_, reference_;
  std::string key_file_, digest_hex_, signature_hex_, signed_on_, actor_,
      effective_, source_, key_organisation_, declaration_, interests_;

  // --effective and --source of `keys register` and `submit-signature`, checked before any
  // call: the exit code of a bad one.
  std::optional<int> CheckEventFlags();
  // Appends one event (`type` with `payload` on `stream`, a new id) with the effective time,
  // source and actor the flags give. 0 with `*appended` the stored event, or the exit code of
  // a failed call (reported on stderr).
  int AppendOne(const std::shared_ptr<grpc::Channel>& channel, const std::string& server,
                const std::string& stream, const std::string& type, const std::string& payload,
                v1::Event* appended) const;

  // --declaration and --interests of `sub` (digest or submit-signature): none when
  // --declaration was not given (given, it is not empty: cli/main.cc refuses an empty value).
  std::optional<v1::InterestsDeclaration> Declaration(const CLI::App* sub) const;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_SIGNING_COMMANDS_H_
