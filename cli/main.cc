// govledger: the administrators' and auditors' command-line tool. Most commands talk to a
// running govledgerd over gRPC (--server or GOVLEDGER_SERVER); verify --file, keys generate,
// decision sign, admin token and admin restore work offline.
//
// Exit codes (cli/client.h): 0 success; 1 the server refused or failed the request; 2 bad
// command-line arguments; 3 the server could not be reached; 4 a verification failed.
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpc/support/log.h"
#include "absl/synchronization/mutex.h"
#include "cli/admin_commands.h"
#include "cli/bench.h"
#include "cli/client.h"
#include "cli/event_commands.h"
#include "cli/printable.h"
#include "cli/query_commands.h"
#include "cli/signing_commands.h"
#include "google/protobuf/util/json_util.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/crypto/sha256.h"
#include "ledger/envelope.h"

namespace {

int Head(const std::string& server, bool json) {
  auto channel = govledger::cli::Connect(server);
  auto stub = govledger::v1::LedgerService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  govledger::v1::GetHeadResponse response;
  grpc::Status status = stub->GetHead(&context, govledger::v1::GetHeadRequest(), &response);
  if (!status.ok()) return govledger::cli::FailCall(server, status);
  if (json) return govledger::cli::PrintJson(response);  // an empty ledger's zeros too
  std::cout << "position " << response.position() << "\nevents   " << response.event_count()
            << "\nhash     " << govledger::crypto::ToHex(response.hash()) << "\n";
  return govledger::cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // As in govledgerd: no debug-build deadlock detection on gRPC's locks (it slows `bench`).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
      return "govledger: '" + govledger::cli::PrintableText(left.front()) +
             "' is not a command here (see --help)\n";
    }
    return std::string("govledger: ") + e.what() + " (see --help)\n";
  });
  std::string server_flag;
  app.add_option("--server", server_flag,
                 "govledgerd address (default $GOVLEDGER_SERVER, else 127.0.0.1:50051)");
  std::string token_flag;
  std::string tls_ca_flag;
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

  CLI::App* head = app.add_subcommand("head", "Print the head position, event count and hash");
  bool head_json = false;
  head->add_flag("--json", head_json, "Print GetHeadResponse as JSON (the hash in base64)");
  head->add_option("--server", server_flag, "govledgerd address");
  head->footer("Examples:\n  govledger head\n  govledger --server 10.0.0.5:50051 head --json");

  govledger::cli::BenchOptions bench;
  CLI::App* bench_cmd = app.add_subcommand("bench", "Measure a running govledgerd");
  bench_cmd->require_subcommand(1);
  CLI::App* bench_append = bench_cmd->add_subcommand(
      "append", "Append events and report events/s and call latency\n\n"
                "Examples:\n  govledger bench append --clients 32 --events 100000\n"
                "  govledger bench append --clients 8 --batch 100 --events 1000000 --json");
  CLI::App* bench_read = bench_cmd->add_subcommand(
      "read", "Read the log from position 1 and report events/s and page latency\n\n"
              "Example:\n  govledger bench read --events 1000000 --clients 2");
  CLI::App* bench_ping = bench_cmd->add_subcommand(
      "ping", "GetHead round trips, which do no work: the transport's own cost, to read the "
              "append figures against\n\n"
              "Example:\n  govledger bench ping --clients 32 --calls 200000");
  CLI::App* bench_subscribe = bench_cmd->add_subcommand(
      "subscribe", "Subscribe from position 1 and report events/s and the time to catch up\n\n"
                   "Example:\n  govledger bench subscribe --clients 4 --events 1000000");
  for (CLI::App* sub : {bench_append, bench_read, bench_ping, bench_subscribe}) {
    sub->add_option("--server", server_flag, "govledgerd address");
    sub->add_option("--clients", bench.clients, "Concurrent clients")->capture_default_str();
    sub->add_option("--connections", bench.connections,
                    "Connections the clients share, up to one per client (append default 1, "
                    "read default one per client)")
        ->check(CLI::Range(1, 10000));
    sub->add_flag("--json", bench.json, "Print one JSON object");
  }
  // CLI11 alone reads "-5" into an unsigned integer as 2^64 - 5.
  const CLI::Range count_range(uint64_t{0}, uint64_t{INT64_MAX});
  bench_append->add_option("--events", bench.events, "Events in all")
      ->capture_default_str()
      ->check(count_range);
  bench_append->add_option("--batch", bench.batch, "Events per call")->capture_default_str();
  bench_append->add_option("--size", bench.size, "Payload bytes per event")->capture_default_str();
  bench_append->add_option("--events-of", bench.events_of,
                           "filler (opaque events), status (typed StatusReported events, checked "
                           "by the rules) or status-opaque (the same bytes, unchecked)")
      ->capture_default_str()
      ->check(CLI::IsMember({"filler", "status", "status-opaque"}));
  bench_ping->add_option("--calls", bench.events, "Calls in all")
      ->capture_default_str()
      ->check(count_range);
  bench_read->add_option("--events", bench.events, "Events to read (0: the whole log)")
      ->check(count_range);
  bench_read->add_option("--batch", bench.batch, "Events per page, at most 10000 (default 10000)")
      ->check(CLI::Range(1, 10000));
  bench_subscribe->add_option("--events", bench.events,
                              "Events each subscriber reads (0: the log as it stands)")
      ->check(count_range);
  bench_read->add_flag("--decode", bench.decode,
                       "Decode every event into a message, not only check its position");

  // keys generate|register, decision digest|sign|submit-signature (cli/signing_commands.cc).
  govledger::cli::SigningCommands signing(app, server_flag);
  // admin stats|backup|restore|token (cli/admin_commands.cc).
  govledger::cli::AdminCommands admin(app, server_flag);
  // append, import, export, tail, verify, tree-head, prove, witness (cli/event_commands.cc).
  govledger::cli::EventCommands events(app, server_flag);
  // status, risks, scope, benefits, decisions, history, compare, report (cli/query_commands.cc).
  govledger::cli::QueryCommands queries(app, server_flag);

  // Every command's --actor (the signing commands' too) is checked before anything runs, as
  // govledgerd checks it.
  const CLI::Validator actor_check(
      [](std::string& actor) {
        absl::Status s = govledger::ValidateActor(actor);
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  std::string server = govledger::cli::ResolveServer(server_flag);
  govledger::cli::ConfigureConnections(token_flag, tls, tls_ca_flag);
  if (head->parsed()) return Head(server, head_json);
  if (std::optional<int> code = signing.Run(server)) return *code;
  if (std::optional<int> code = admin.Run(server)) return *code;
  if (std::optional<int> code = events.Run(server)) return *code;
  if (std::optional<int> code = queries.Run(server)) return *code;
  bench.server = server;
  if (bench_append->parsed()) return govledger::cli::BenchAppend(bench);
  if (bench_ping->parsed()) return govledger::cli::BenchPing(bench);
  if (bench_subscribe->parsed()) {
    if (bench_subscribe->count("--events") == 0) bench.events = 0;
    if (bench_subscribe->count("--connections") == 0) bench.connections = bench.clients;
    return govledger::cli::BenchSubscribe(bench);
  }
  if (bench_read->parsed()) {
    if (bench_read->count("--batch") == 0) bench.batch = 10000;
    if (bench_read->count("--events") == 0) bench.events = 0;
    if (bench_read->count("--connections") == 0) bench.connections = bench.clients;
    return govledger::cli::BenchRead(bench);
  }
  return 2;
}
