// The govledger CLI's commands on the log itself (README, "CLI"):
//
//   govledger append (--stream S --type T [--payload JSON] [--id UUID] [--effective TIME]
//                     | --document JSON | --file FILE) [--expect any|no-stream|N] [--actor NAME]
//   govledger import FILE... [--batch N] [--actor NAME]        JSON Lines, idempotent
//   govledger export [--from P] [--to P] [--stream S] [--out FILE]
//   govledger tail [--from P | -n N] [--limit N] [--json] [--stream-prefix P]... [--type T]...
//   govledger head [--json]                          the head position, event count and hash
//   govledger sources [--source TEXT] [--json]       the sources events name (Event.source), each
//       with its events' count, positions and effective dates; or the events naming one
//
// Checking that the log proves itself (verify, tree-head, prove, witness) is
// cli/audit_commands.h. Events are read and written as JSON documents (cli/event_json.h). Exit
// codes as the rest of the CLI (cli/client.h). Not thread-safe (one command per process).
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
  int Sources(const std::string& server);

  CLI::App* head_ = nullptr;
  CLI::App* append_ = nullptr;
  CLI::App* import_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* tail_ = nullptr;
  CLI::App* sources_ = nullptr;

  // append
  std::string stream_, type_, payload_, id_, effective_, source_, document_, file_, expect_ = "any";
  std::string actor_;
  bool json_ = false;  // --json of head, append and tail
  // import
  std::vector<std::string> files_;
  uint32_t batch_ = 500;
  bool allow_gaps_ = false;  // an export of one stream (ExportChain)
  // export / tail
  uint64_t from_ = 0, to_ = 0, limit_ = 0;
  uint64_t last_ = 10;
  bool retry_ = false;  // tail: resubscribe after a lost connection
  std::vector<std::string> stream_prefixes_, event_types_;  // tail: the server's filters
  std::string out_;
  // sources
  std::string source_filter_;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_EVENT_COMMANDS_H_
