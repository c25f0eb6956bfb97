// The govledger CLI's commands that check the record proves itself (README, "CLI"):
//
//   govledger verify            walks the whole hash chain, re-verifies decision signatures
//   govledger verify --file FILE [--head-hash HEX] [--allow-gaps | --tree-head FILE]
//                               checks an export, offline
//   govledger tree-head [--public-key PEM]        the log's signed tree head, as JSON
//   govledger prove event POSITION --tree-head FILE [--public-key PEM]
//   govledger prove extends OLD_FILE [--tree-head NEW_FILE] [--public-key PEM]
//       check, on this machine, an event against a tree head and a later log (or tree head)
//       against an earlier tree head, from the server's proofs (AuditService)
//   govledger witness DIR [--public-key PEM]      keeps tree heads, each checked against the last
//
// Everything is checked on this machine from the events' stored bytes and the server's proofs,
// never taken on the server's word. Exit codes as the rest of the CLI (cli/client.h), plus
// kExitChainBroken (4): the chain, a signature or a proof does not verify. Not thread-safe
// (one command per process).
#ifndef GOVLEDGER_CLI_AUDIT_COMMANDS_H_
#define GOVLEDGER_CLI_AUDIT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace govledger::cli {

class AuditCommands {
 public:
  // Adds the subcommands to `app`. `server_flag` is the shared --server option's variable.
  // REQUIRES: both outlive this object.
  AuditCommands(CLI::App& app, std::string& server_flag);

  // After app.parse(): the exit code if one of these commands was given, else nullopt.
  std::optional<int> Run(const std::string& server);

 private:
  int Verify(const std::string& server);
  int VerifyFile();
  int TreeHead(const std::string& server);
  int ProveEvent(const std::string& server);
  int ProveExtends(const std::string& server);
  int Witness(const std::string& server);
  // --public-key of `command`, into public_key_files_: one file each time it is given.
  void AddPublicKeyOption(CLI::App* command, const std::string& help);

  CLI::App* verify_ = nullptr;
  CLI::App* tree_head_ = nullptr;
  CLI::App* prove_event_ = nullptr;
  CLI::App* prove_extends_ = nullptr;
  CLI::App* witness_ = nullptr;

  // verify --file
  std::string verify_file_, head_hash_;
  bool allow_gaps_ = false;
  // verify --file, tree-head, prove, witness
  std::vector<std::string> public_key_files_;  // --public-key, repeatable
  std::string tree_head_file_, old_tree_head_file_, witness_dir_;
  uint64_t position_ = 0;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_AUDIT_COMMANDS_H_
