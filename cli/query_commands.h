// The auditors' read commands of the govledger CLI, each one or more QueryService calls
// (README, "The govledger CLI" and "QueryService"):
//
//   govledger status    --programme P [POINT] [MODE] [--json]
//   govledger risks     --programme P [POINT] [MODE] [--json]
//   govledger scope     --programme P [POINT] [MODE] [--json]
//   govledger benefits  --programme P [POINT] [MODE] [--json]
//   govledger decisions (--organisation O | --programme P | both) [POINT] [MODE] [--json]
//   govledger history   ENTITY [--programme P] [POINT] [MODE] [--json]
//   govledger compare   --programme P SINCE [POINT] [MODE] [--json]
//   govledger report    --programme P SINCE [POINT] [MODE] [--json]
//
// POINT is at most one of --position N, --at TIME (RFC 3339, or YYYY-MM-DD for the end of that
// day UTC) and --week N (of --programme's plan); none means the head of the log. SINCE, the
// earlier point of compare and report, is one of --since-position N, --since TIME and
// --since-week N. MODE is --as-recorded or --as-known; without one, a week or time point is
// asked as known and a position or the head as recorded (each point on its own).
//
// Exit codes as the rest of the CLI (cli/client.h): 0 success; 1 the server refused or failed
// the request (its message is printed); 2 bad arguments; 3 the server could not be reached.
// Not thread-safe (one command per process).
#ifndef GOVLEDGER_CLI_QUERY_COMMANDS_H_
#define GOVLEDGER_CLI_QUERY_COMMANDS_H_

#include <optional>
#include <string>

#include "CLI/CLI.hpp"

namespace govledger::cli {

class QueryCommands {
 public:
  // Adds programmes, status, risks, scope, benefits, decisions, history, compare and report to
  // `app`.
  // `server_flag` is the shared --server option's variable. REQUIRES: both outlive this object.
  QueryCommands(CLI::App& app, std::string& server_flag);

  // After app.parse(): the exit code if one of these commands was given, else nullopt.
  std::optional<int> Run(const std::string& server);

 private:
  CLI::App* status_ = nullptr;
  CLI::App* risks_ = nullptr;
  CLI::App* scope_ = nullptr;
  CLI::App* benefits_ = nullptr;
  CLI::App* decisions_ = nullptr;
  CLI::App* history_ = nullptr;
  CLI::App* compare_ = nullptr;
  CLI::App* report_ = nullptr;
  CLI::App* programmes_ = nullptr;

  std::string programme_, organisation_, entity_;
  int split_window_days_ = 0;  // decisions --split-window; 0: the server's default
  bool published_only_ = false;  // decisions --published-only
  // The points' flags as given; parsed in Run() so that every mistake gets its own message.
  std::string position_, at_, week_;
  std::string since_position_, since_, since_week_, known_through_, since_known_through_;
  bool as_recorded_ = false, as_known_ = false, json_ = false;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_QUERY_COMMANDS_H_
