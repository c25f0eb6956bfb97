// The govledger CLI's commands on the log itself (README, "CLI"):
//
//   govledger append (--stream S --type T [--payload JSON] [--id UUID] [--effective TIME]
//                     | --document JSON | --file FILE) [--expect any|no-stream|N] [--actor NAME]
//   govledger import FILE... [--batch N] [--actor NAME]        JSON Lines, idempotent
//   govledger export [--from P] [--to P] [--stream S] [--out FILE]
//   govledger tail [--from P | -n N] [--limit N] [--json] [--stream-prefix P]... [--type T]...
//   govledger verify                                 walks the whole hash chain, re-verifies signatures
//   govledger verify --file FILE [--head-hash HEX] [--allow-gaps]   checks an export, offline
//   govledger tree-head [--public-key PEM]           the log's signed tree head, as JSON
//   govledger prove event POSITION --tree-head FILE [--public-key PEM]
//   govledger prove extends OLD_FILE [--tree-head NEW_FILE] [--public-key PEM]
//       check, on this machine, an event against a tree head and a later log (or tree head)
//       against an earlier tree head, from the server's proofs (AuditService)
//   govledger witness DIR [--public-key PEM]         keeps tree heads, each checked against the last
//   govledger head [--json]                          the head position, event count and hash
//   govledger sources [--source TEXT] [--json]       the sources events name (Event.source), each
//       with its events' count, positions and effective dates; or the events naming one
//
// Events are read and written as JSON documents (cli/event_json.h). Exit codes as the rest of
// the CLI (cli/client.h), plus 4 from `verify`, `tree-head`, `prove` and `witness`: the chain,
// a signature or a proof does not verify. Not thread-safe (one command per process).
#ifndef GOVLEDGER_CLI_EVENT_COMMANDS_H_
#define GOVLEDGER_CLI_EVENT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace govledger::cli {

class EventCommands {
 public:
  // Adds the subcommands to `app`. `server_flag` is the shared --server option's variable.
  // REQUIRES: both outlive this object.
  EventCommands(CLI::App& app, std::string& server_flag);

  // After app.parse(): the exit code if one of these commands was given, else nullopt.
  std::optional<int> Run(const std::string& server);

 private:
  int Head(const std::string& server);
  int Append(const std::string& server);
  int Import(const std::string& server);
  int Export(const std::string& server);
  int Tail(const std::string& server);
  int Verify(const std::string& server);
  int VerifyFile();
  int TreeHead(const std::string& server);
  int ProveEvent(const std::string& server);
  int ProveExtends(const std::string& server);
  int Witness(const std::string& server);
  int Sources(const std::string& server);
  // --public-key of `command`, into public_key_files_: one file each time it is given.
  void AddPublicKeyOption(CLI::App* command, const std::string& help);

  CLI::App* head_ = nullptr;
  CLI::App* append_ = nullptr;
  CLI::App* import_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* tail_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* tree_head_ = nullptr;
  CLI::App* prove_event_ = nullptr;
  CLI::App* prove_extends_ = nullptr;
  CLI::App* witness_ = nullptr;
  CLI::App* sources_ = nullptr;

  // append
  std::string stream_, type_, payload_, id_, effective_, source_, document_, file_, expect_ = "any";
  std::string actor_;
  bool json_ = false;  // --json of head, append and tail
  // import
  std::vector<std::string> files_;
  uint32_t batch_ = 500;
  // export / tail
  uint64_t from_ = 0, to_ = 0, limit_ = 0;
  uint64_t last_ = 10;
  bool retry_ = false;  // tail: resubscribe after a lost connection
  std::vector<std::string> stream_prefixes_, event_types_;  // tail: the server's filters
  std::string out_;
  // verify --file
  std::string verify_file_, head_hash_;
  bool allow_gaps_ = false;
  // tree-head, prove, witness
  std::vector<std::string> public_key_files_;  // --public-key, repeatable
  std::string tree_head_file_, old_tree_head_file_, witness_dir_;
  uint64_t position_ = 0;
  // sources
  std::string source_filter_;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_EVENT_COMMANDS_H_
