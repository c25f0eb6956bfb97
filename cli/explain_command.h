// `govledger explain`: what each governance event's payload holds, offline, from events.proto's
// own comments (compiled into the CLI as a descriptor set with source info), so that whoever
// writes events as JSON (README, "Events as JSON") has the field names, types, enum values and
// rules at hand:
//
//   govledger explain                   the governance event types, a line each
//   govledger explain TYPE              TYPE's payload fields (JSON names), nested ones indented,
//                                       each with its comment, and a document to fill in
//   govledger explain TYPE --template   only that document, one JSON line (for `import`)
//
// TYPE is `RiskOpened` or `govledger.v1.RiskOpened`. Exit codes: 0 success; 2 a TYPE that is no
// governance event type (naming the nearest by letter case, if any). Not thread-safe (one
// command per process).
#ifndef GOVLEDGER_CLI_EXPLAIN_COMMAND_H_
#define GOVLEDGER_CLI_EXPLAIN_COMMAND_H_

#include <optional>
#include <string>

#include "CLI/CLI.hpp"

namespace govledger::cli {

// A payload of `type` (a governance event type's full name) as JSON with every field present,
// for a clerk to fill in: "" for text and bytes, 0, an enum's first value that is not its unset
// one, one element for a list. nullopt for any other type.
std::optional<std::string> PayloadTemplate(const std::string& type);

class ExplainCommand {
 public:
  // Adds the `explain` subcommand to `app`. REQUIRES: `app` outlives this object.
  explicit ExplainCommand(CLI::App& app);

  // After app.parse(): the exit code if `explain` was given, else nullopt.
  std::optional<int> Run();

 private:
  CLI::App* explain_ = nullptr;
  std::string type_;
  bool template_ = false;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_EXPLAIN_COMMAND_H_
