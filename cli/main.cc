// govledger: the administrators' and auditors' command-line tool. Most commands talk to a
// running govledgerd over gRPC (--server or GOVLEDGER_SERVER); verify --file, keys generate,
// keys public, decision sign, explain, admin token and admin restore work offline.
//
// Exit codes (cli/client.h): 0 success; 1 the server refused or failed the request; 2 bad
// command-line arguments, or output that could not be written; 3 the server could not be
// reached; 4 a verification failed, or the server found its stored log damaged (DATA_LOSS).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/admin_commands.h"
#include "cli/audit_commands.h"
#include "cli/bench.h"
#include "cli/client.h"
#include "cli/event_commands.h"
#include "cli/explain_command.h"
#include "cli/printable.h"
#include "cli/query_commands.h"
#include "cli/signing_commands.h"
#include "cli/stdout_buffer.h"
#include "grpc/support/log.h"
#include "ledger/envelope.h"

namespace {

// `code`, or kExitBadArgs when a command that succeeded could not write all its output to
// stdout (a full disk, say; a pipe whose reader has gone ends the CLI by SIGPIPE, as it does
// other tools): a script must not take a lost signature or token, or a
// cut export or report, for a whole one. (A command that failed has said why already.)
int OutputWritten(int code) {
  std::cout.flush();  // the last of the output reaches the file here, or fails
  if (code != govledger::cli::kExitOk || std::cout) return code;
  const int error = govledger::cli::StdoutWriteError();
  return govledger::cli::Fail(
      govledger::cli::kExitBadArgs,
      absl::StrCat("cannot write stdout",
                   error != 0 ? absl::StrCat(": ", std::strerror(error)) : "",
                   ": the output is incomplete"));
}

// The commands below `app` that have an option `name`, as "compare, report".
std::string CommandsWithOption(const CLI::App& app, const std::string& name,
                               const std::string& prefix) {
  std::string found;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string path = prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name();
    if (sub->get_option_no_throw(name) != nullptr) {
      absl::StrAppend(&found, found.empty() ? "" : ", ", path);
    }
    const std::string deeper = CommandsWithOption(*sub, name, path);
    if (!deeper.empty()) absl::StrAppend(&found, found.empty() ? "" : ", ", deeper);
  }
  return found;
}

// What CLI11 says as "The following arguments were not expected: 1 --foo" (last first), said
// of the command given: its first unknown option, and which commands have an option of that
// name, or else its first stray argument.
std::string UnexpectedArguments(const CLI::App& app) {
  std::string command = "govledger";
  const CLI::App* last = &app;
  for (std::vector<CLI::App*> parsed = app.get_subcommands(); !parsed.empty();
       parsed = parsed.front()->get_subcommands()) {
    absl::StrAppend(&command, " ", parsed.front()->get_name());
    last = parsed.front();
  }
  const std::vector<std::string> left = app.remaining(/*recurse=*/true);  // as given
  for (const std::string& arg : left) {
    if (arg.size() < 2 || arg.front() != '-') continue;
    const std::string name = arg.substr(0, arg.find('='));
    // The command has it, so it came before the command's name ("govledger --actor X append").
    if (last != &app && last->get_option_no_throw(name) != nullptr) {
      return govledger::PrintableText(name) + " is an option of '" + command +
             "': give it after '" + command + "'";
    }
    std::string message = "'" + command + "' has no option " + govledger::PrintableText(name);
    const std::string elsewhere = CommandsWithOption(app, name, "");
    if (!elsewhere.empty()) absl::StrAppend(&message, " (it is an option of ", elsewhere, ")");
    return message + "; '" + command + " --help' lists its options";
  }
  const std::string stray = left.empty() ? "" : left.front();
  return "'" + command + "' takes no argument '" + govledger::PrintableText(stray) +
         "' (an option's value follows its option; '" + command + " --help' lists them)";
}

}  // namespace

int main(int argc, char** argv) {
  // As in govledgerd: no debug-build deadlock detection on gRPC's locks (it slows `bench`).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // A closed stdin or stderr (`<&-`, `2>&-`) would be taken by the first file gRPC or a
  // command opens, which would then be read, or receive the error messages: /dev/null takes
  // its place (an open takes the lowest free descriptor). A closed stdout would so receive
  // the output: that is refused, before anything is opened or written.
  for (int fd : {STDIN_FILENO, STDERR_FILENO}) {
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      if (open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY) != fd) return 2;
    }
  }
  if (fcntl(STDOUT_FILENO, F_GETFD) == -1 && errno == EBADF) {
    return govledger::cli::Fail(govledger::cli::kExitBadArgs,
                                "stdout is closed, so nothing could be written: nothing was "
                                "done (send it to a file, or to /dev/null)");
  }
  govledger::cli::InstallStdoutBuffer();
  // gRPC's own log lines (a failed TLS handshake, say) would come before the one line on stderr
  // that says what failed, in our words; GRPC_VERBOSITY (e.g. =DEBUG) brings them back.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  CLI::App app{"govledger: query, write, verify and benchmark a govledgerd ledger"};
  app.set_version_flag("--version", "govledger " GOVLEDGER_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  // A bad command line is one line on stderr, "govledger: ...", like every other error.
  app.failure_message([](const CLI::App* failed, const CLI::Error& e) {
    // A command that is not one reads as a missing one to CLI11 ("A subcommand is required"):
    // name it.
    const std::vector<std::string> left = failed->remaining(/*recurse=*/true);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !left.empty() &&
        !left.front().empty() && left.front().front() != '-') {
      return "govledger: '" + govledger::PrintableText(left.front()) +
             "' is not a command here (see --help)\n";
    }
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      return "govledger: " + UnexpectedArguments(*failed) + "\n";
    }
    const std::string what = e.what();
    // "--out is required" of an option given, but before the command's name: its value is
    // among the arguments left over (CLI11 says it is missing before it says they are extra).
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        absl::EndsWith(what, " is required")) {
      const std::string name = what.substr(0, what.size() - std::string(" is required").size());
      for (const std::string& arg : left) {
        if (arg == name || absl::StartsWith(arg, name + "=")) {
          return "govledger: " + UnexpectedArguments(*failed) + "\n";
        }
      }
    }
    // No command at all: name the commands there are.
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        what.find("subcommand is required") != std::string::npos) {
      // The error reaches the top: the command that lacks one is the last given.
      const CLI::App* at = failed;
      while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
      std::string names;
      for (const CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
      }
      const std::string where = at->get_parent() == nullptr ? "" : at->get_name() + ": ";
      return "govledger: " + where + "give a command: " + names + " (see --help)\n";
    }
    // "Could not convert: --size = 99999999999": a number out of the option's type's range, or
    // not a number.
    if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr &&
        absl::StartsWith(what, "Could not convert: ")) {
      const std::string rest = what.substr(std::string("Could not convert: ").size());
      const size_t equals = rest.find(" = ");
      if (equals != std::string::npos) {
        return "govledger: " + rest.substr(0, equals) + " '" +
               govledger::PrintableText(rest.substr(equals + 3)) +
               "' is not a number it takes (see --help for its range)\n";
      }
    }
    // "--week: At Most 1 required but received 2": an option given more than once.
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
      const size_t colon = what.find(": At Most 1 required but received ");
      if (colon != std::string::npos) {
        return "govledger: " + what.substr(0, colon) + " is given " +
               what.substr(colon + std::string(": At Most 1 required but received ").size()) +
               " times: give it once\n";
      }
    }
    return "govledger: " + govledger::PrintableText(what, govledger::LineBreaks::kKeep) +
           " (see --help)\n";
  });
  std::string server_flag;
  app.add_option("--server", server_flag,
                 "govledgerd address (default $GOVLEDGER_SERVER, else 127.0.0.1:50051)");
  std::string token_flag;
  std::string tls_ca_flag;
  std::string tls_server_name_flag;
  bool tls = false;
  app.add_option("--token", token_flag,
                 "Access token for a govledgerd started with --tokens (default "
                 "$GOVLEDGER_TOKEN)");
  CLI::Option* tls_option =
      app.add_flag("--tls", tls, "Connect with TLS, trusting the system's CA certificates");
  app.add_option("--tls-ca", tls_ca_flag,
                 "Connect with TLS, trusting the CA certificates in this PEM file (default "
                 "$GOVLEDGER_TLS_CA)")
      ->excludes(tls_option);
  app.add_option("--tls-server-name", tls_server_name_flag,
                 "Connect with TLS, checking that the server's certificate names this host "
                 "rather than the one in --server, e.g. through a tunnel (default "
                 "$GOVLEDGER_TLS_SERVER_NAME)");
  app.footer(
      "Environment: GOVLEDGER_SERVER, GOVLEDGER_TOKEN, GOVLEDGER_TLS_CA and\n"
      "GOVLEDGER_TLS_SERVER_NAME as the options say; GOVLEDGER_KEEPALIVE, the seconds between\n"
      "pings while a call is open (default 30, 1 to 3600; below 10, govledgerd closes the\n"
      "connection for pinging too often unless its --keepalive-seconds is as low). README,\n"
      "\"The govledger CLI\".");

  // bench append|read|ping|subscribe (cli/bench.cc).
  govledger::cli::BenchCommands bench(app, server_flag);
  // keys generate|register, decision digest|sign|submit-signature (cli/signing_commands.cc).
  govledger::cli::SigningCommands signing(app, server_flag);
  // admin stats|backup|restore|token (cli/admin_commands.cc).
  govledger::cli::AdminCommands admin(app, server_flag);
  // head, append, import, export, tail, sources (cli/event_commands.cc).
  govledger::cli::EventCommands events(app, server_flag);
  // verify, tree-head, prove, witness (cli/audit_commands.cc).
  govledger::cli::AuditCommands audit(app, server_flag);
  // programmes, status, risks, scope, benefits, decisions, history, compare, report
  // (cli/query_commands.cc).
  govledger::cli::QueryCommands queries(app, server_flag);
  // explain (cli/explain_command.cc).
  govledger::cli::ExplainCommand explain(app);

  // Every command's --actor (the signing commands' too) is checked before anything runs, as
  // govledgerd checks it.
  const CLI::Validator actor_check(
      [](std::string& actor) {
        absl::Status s = govledger::ValidateNamedActor(actor);
        return s.ok() ? std::string() : std::string(s.message());
      },
      "");
  std::function<void(CLI::App*)> check_actors = [&](CLI::App* command) {
    if (CLI::Option* actor = command->get_option_no_throw("--actor")) actor->check(actor_check);
    for (CLI::App* sub : command->get_subcommands([](CLI::App*) { return true; })) {
      check_actors(sub);
    }
  };
  check_actors(&app);
  // What every command's options refuse before anything runs: a value given empty (an unset
  // variable in a script, say) is a mistake, not the option left out (an empty `verify
  // --head-hash` would skip the check asked for, an empty --effective would date the event now;
  // --server and the TLS options are checked below, with their environment variables); and a
  // flag, like an option with a value, is given once.
  std::function<void(CLI::App*)> check_given = [&](CLI::App* command) {
    for (CLI::Option* option : command->get_options()) {
      const std::string& name = option->get_name();
      if (option->get_expected_min() == 0) {
        // A flag given twice is a mistake too (a script's options joined twice), as an
        // option with a value given twice is.
        option->multi_option_policy(CLI::MultiOptionPolicy::Throw);
        continue;
      }
      if (name == "--server" || name == "--tls-ca" || name == "--tls-server-name") continue;
      const std::string mend =
          option->get_positional() ? "give a value" : "give a value, or leave the option out";
      option->check(CLI::Validator(
          [mend](std::string& value) {
            return value.empty() ? absl::StrCat("is empty (an unset shell variable?): ", mend)
                                 : std::string();
          },
          ""));
    }
    for (CLI::App* sub : command->get_subcommands([](CLI::App*) { return true; })) {
      check_given(sub);
    }
  };
  check_given(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? OutputWritten(0) : 2;  // --help and --version write to stdout
  }
  // An empty --server, --tls-ca or --tls-server-name (an unset variable in a script, say), or
  // such an environment variable set but empty, is a mistake, not the default: the TLS ones
  // would otherwise connect in plaintext and send the token in clear. Told by the first
  // connection (commands that work offline ignore these options).
  std::string option_error;
  // Whether `name` was given, before the command or after it (the commands that connect take
  // --server after them too, into the same variable).
  std::function<size_t(CLI::App*, const char*)> given = [&given](CLI::App* at, const char* name) {
    size_t n = 0;
    if (const CLI::Option* option = at->get_option_no_throw(name)) n += option->count();
    for (CLI::App* command : at->get_subcommands()) n += given(command, name);
    return n;
  };
  constexpr char kPlaintext[] = " (without TLS settings the connection is plaintext)";
  for (const auto& [name, variable, value, what, left_out] :
       {std::tuple<const char*, const char*, const std::string*, const char*, const char*>{
            "--server", "GOVLEDGER_SERVER", &server_flag, "HOST:PORT, e.g. 127.0.0.1:50051",
            " (for 127.0.0.1:50051)"},
        {"--tls-ca", "GOVLEDGER_TLS_CA", &tls_ca_flag, "the CA certificates' PEM file", kPlaintext},
        {"--tls-server-name", "GOVLEDGER_TLS_SERVER_NAME", &tls_server_name_flag,
         "the host name the certificate names", kPlaintext}}) {
    if (!option_error.empty()) break;
    // Before the command and after it (one variable: the last had been taken without a word).
    if (const size_t n = given(&app, name); n > 1) {
      option_error = absl::StrCat(name, " is given ", n, " times: give it once");
    } else if (n > 0) {
      if (value->empty()) {
        option_error = absl::StrCat(name, " is empty: give ", what, ", or leave ", name, " out",
                                    std::string(name) == "--server"
                                        ? " (for $GOVLEDGER_SERVER or 127.0.0.1:50051)"
                                        : left_out);
      }
    } else if (const char* env = std::getenv(variable);
               env != nullptr && *env == '\0' && !(tls && std::string(name) == "--tls-ca")) {
      option_error =
          absl::StrCat(variable, " is set but empty: set it to ", what, ", or unset it", left_out);
    }
  }
  std::string server = govledger::cli::ResolveServer(server_flag);
  govledger::cli::ConfigureConnections(std::move(option_error), token_flag, tls, tls_ca_flag,
                                       tls_server_name_flag);
  std::optional<int> code = signing.Run(server);
  if (!code) code = admin.Run(server);
  if (!code) code = events.Run(server);
  if (!code) code = audit.Run(server);
  if (!code) code = queries.Run(server);
  if (!code) code = bench.Run(server);
  if (!code) code = explain.Run();
  return OutputWritten(code.value_or(govledger::cli::kExitBadArgs));
}
