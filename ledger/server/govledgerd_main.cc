// govledgerd: the ledger daemon. Parses flags, starts the Daemon, reloads its tokens file on
// SIGHUP, and shuts it down cleanly on SIGTERM or SIGINT.
#include <grpc/support/log.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "ledger/common/address.h"
#include "ledger/common/files.h"
#include "ledger/common/flags.h"
#include "ledger/common/parse_errors.h"
#include "ledger/server/daemon.h"

namespace {

// Tells systemd `state` ("READY=1", "STOPPING=1") when it started govledgerd as a Type=notify
// service, which sets NOTIFY_SOCKET (sd_notify(3)'s protocol: one datagram to that socket, a
// leading '@' naming an abstract one); nothing otherwise, nor when the socket does not answer.
void NotifySystemd(absl::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const size_t length = std::strlen(path);
  if (length >= sizeof(address.sun_path)) return;
  std::memcpy(address.sun_path, path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
  ::close(fd);
}

// A line on stderr, in one write, so that lines from different threads (the tree-head
// publisher, the query index, the main thread, gRPC's) never interleave and a reader of the log
// never sees half a line.
void WriteLine(absl::string_view line) {
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to say it
    done += static_cast<size_t>(n);
  }
}

// One line "govledgerd: <text>".
void Say(absl::string_view text) { WriteLine(absl::StrCat("govledgerd: ", text, "\n")); }

// gRPC's own log lines, as gRPC writes them ("E1205 ... file:line] message" becomes "[grpc
// ERROR file:line] message"), its errors at most LogLimiter::kLinesPerMinute a minute: a
// compressed request, refused, logs one per call, from any caller that can connect, token or
// not (found by an integrator's trial), as a request that is not UTF-8 did (parse_errors.h).
void GrpcLog(gpr_log_func_args* args) {
  static absl::Mutex mu;
  static govledger::LogLimiter* limiter = new govledger::LogLimiter();  // never destroyed
  uint64_t dropped = 0;
  // Never a failed assertion: the last words of a daemon about to abort.
  const bool assertion = args->message != nullptr &&
                         absl::StartsWith(args->message, "assertion failed");
  if (args->severity == GPR_LOG_SEVERITY_ERROR && !assertion) {
    const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    absl::MutexLock lock(&mu);
    if (!limiter->Admit(now, &dropped)) return;
  }
  const absl::string_view file = args->file != nullptr ? args->file : "";
  const std::string line = absl::StrCat(
      "[grpc ",
      args->severity == GPR_LOG_SEVERITY_ERROR  ? "ERROR"
      : args->severity == GPR_LOG_SEVERITY_INFO ? "INFO"
                                                : "DEBUG",
      " ",
      file.substr(file.rfind('/') == absl::string_view::npos ? 0 : file.rfind('/') + 1), ":",
      args->line, "] ", args->message != nullptr ? args->message : "",
      dropped == 0 ? ""
                   : absl::StrCat(" (", dropped, " more such errors were not logged before it)"),
      "\n");
  WriteLine(line);
}

// The command line into `*out` and `*port_file_out`. Returns the exit code when govledgerd is
// to stop at once: 0 after --help or --version, 2 for a bad command line (one line on stderr,
// "govledgerd: ...", as for the CLI).
std::optional<int> ParseFlags(int argc, char** argv, govledger::DaemonOptions* out,
                              std::string* port_file_out) {
  govledger::DaemonOptions& options = *out;
  std::string& port_file = *port_file_out;
  CLI::App app{"govledgerd: the governance ledger daemon (gRPC over an embedded RocksDB)"};
  app.set_version_flag("--version",
                       std::string("govledgerd " GOVLEDGER_VERSION " (storage format ") +
                           govledger::RocksDbEventStore::kFormatVersion + ")");
  app.add_option("--data-dir", options.data_dir,
                 "Database directory, created if missing (unless --no-create)")
      ->capture_default_str();
  bool no_create = false;
  app.add_flag("--no-create", no_create,
               "Refuse a data directory that holds no ledger (missing or empty) rather than "
               "start a new one there: for a ledger that exists, so that a data volume not "
               "mounted, or a restore out of order, never starts a second history");
  app.add_option("--listen", options.listen,
                 "Address to serve gRPC on, HOST:PORT (IPv6 in brackets; port 0 picks a free "
                 "port), unix:PATH or unix-abstract:NAME")
      ->capture_default_str()
      ->check([](const std::string& address) -> std::string {
        const absl::Status status = govledger::CheckAddress(address, /*port_zero_allowed=*/true);
        return status.ok() ? "" : std::string(status.message());
      });
  app.add_option("--port-file", port_file,
                 "Write the bound port to this file once serving (for scripts and tests; for a "
                 "unix: address, the address)");
  app.add_option(
         "--tokens", options.tokens_file,
         "Require access tokens: a file of \"<sha256 of token> <viewer|reader|writer|admin> "
         "<actor>\" lines (`govledger admin token` makes them); without it every caller "
         "may call everything under the actor it names")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", options.tls_cert_file,
                 "Serve TLS with this certificate chain (PEM); needs --tls-key")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_file, "The private key (PEM) of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tree-head-key", options.tree_head_key_file,
                 "Sign tree heads (AuditService) with this Ed25519 private key (PEM, from "
                 "`govledger keys generate`; others may not read it); without it they are "
                 "unsigned")
      ->check(CLI::ExistingFile);
  app.add_option("--tree-head-seconds", options.tree_head_seconds,
                 "Write a tree head to the log (stderr, one JSON line) every this many seconds "
                 "when the ledger has grown, and one at shutdown if it has grown since the last; "
                 "0: only when asked")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(0, 86400));
  app.add_option("--shutdown-grace", options.shutdown_grace_seconds,
                 "Seconds in-flight calls may take to finish at shutdown")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(0, 3600));
  app.add_option("--max-sync-threads", options.max_sync_threads,
                 "Most threads for health and reflection calls, one per open call; calls "
                 "past it are refused with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(4, 4096));
  app.add_option("--max-subscriptions", options.max_subscriptions,
                 "Most subscriptions open at once; more are refused with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 1000000));
  app.add_option("--max-subscriptions-per-token", options.max_subscriptions_per_token,
                 "With --tokens, most subscriptions one actor's tokens may hold open (tokens of "
                 "the same actor share them); more are refused with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 1000000));
  app.add_option("--keepalive-seconds", options.keepalive_seconds,
                 "Ping a connection with calls open after this many seconds, and close it "
                 "(ending its calls) if its client does not answer within as many again")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 3600));
  app.add_option(
         "--backup-stall-seconds", options.backup_stall_seconds,
         "Cancel a backup whose client has taken none of its 1 MiB chunks for this many seconds")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 86400));
  app.add_option("--max-event-bytes", options.ledger.limits.max_event_bytes,
                 "Largest event accepted, bytes")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(size_t{1024}, size_t{16} << 20));
  app.add_option("--max-append-events", options.ledger.limits.max_events_per_append,
                 "Most events in one Append call")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 100000));
  app.add_option("--max-queued-bytes", options.ledger.max_queued_bytes,
                 "Most bytes of appends waiting to be committed; past it appends are refused "
                 "with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(size_t{1} << 20, size_t{1} << 40));
  app.add_option("--max-clock-behind-seconds", options.ledger.max_clock_behind_seconds,
                 "Refuse to start while the clock reads more than this many seconds before the "
                 "last event's recorded time (recorded times never go backwards)")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(int64_t{0}, int64_t{1} << 32));
  app.add_option(
         "--min-free-bytes", options.min_free_bytes,
         "Pause appends (RESOURCE_EXHAUSTED) while the data directory's file system has "
         "fewer free bytes than this (or fewer than 256 free inodes), checked every second; they "
         "resume by themselves "
         "once it has been free for 10 s (0: never; the data directory is still watched, and "
         "appends stop if it is removed or moved)")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(uint64_t{0}, uint64_t{1} << 60));
  // Every unsigned option takes a range: CLI11 alone reads "-5" into an
  // unsigned integer as 2^64 - 5.
  app.add_option("--block-cache-bytes", options.rocksdb.block_cache_bytes,
                 "RocksDB block cache, bytes")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(size_t{0}, size_t{1} << 40));
  app.add_option("--snapshot-every", options.snapshot_every,
                 "Snapshot the governance state every N committed positions (0: only at "
                 "clean shutdown)")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(uint64_t{0}, uint64_t{1} << 40));
  app.add_option("--checkpoint-seconds", options.checkpoint_seconds,
                 "A replay at start (a rebuild, or a state refolded from the log) checkpoints "
                 "every --snapshot-every positions but at most every this many seconds (0: "
                 "positions alone)")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(0, 86400));
  app.add_flag("--rebuild-projections", options.rebuild_projections,
               "Drop the projections and refold the whole log before serving; an interrupted "
               "rebuild resumes from its last checkpoint (the log is only read)");
  app.add_flag("--rebuild-indexes", options.rebuild_indexes,
               "Rebuild the streams and event_ids indexes from the log before serving, checking "
               "its chain (the log is only read); for an index a read reports damaged "
               "(INDEX_DAMAGED)");
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("govledgerd: ") + e.what() + " (see --help)\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  options.rocksdb.create = !no_create;
  return std::nullopt;
}

// What an operator reading the journal needs once govledgerd serves: how it recovered, where it
// listens (the port a port 0 picked in place), the data directory as an absolute path, whatever
// the working directory was, and what the command line put in force, so that the journal shows
// an edited unit's effect. `bound` is the port, or a unix socket's address.
void SayServing(const govledger::DaemonOptions& options, govledger::Daemon& daemon,
                bool unix_socket, const std::string& bound) {
  Say(daemon.RecoverySummary());
  std::string listening = options.listen;
  if (!unix_socket) {
    listening = absl::StrCat(listening.substr(0, listening.rfind(':') + 1), bound);
  }
  std::error_code no_absolute;
  std::string data_dir = std::filesystem::absolute(options.data_dir, no_absolute).string();
  if (no_absolute) data_dir = options.data_dir;
  // A mistyped --data-dir makes a new ledger rather than fail: say so where it is seen.
  Say(absl::StrCat("serving on ", listening, unix_socket ? "" : absl::StrCat(" (port ", bound, ")"),
                   " with data in ", data_dir,
                   daemon.created_ledger()
                       ? " (a new, empty ledger: the directory held no database; if you meant "
                         "an existing ledger, stop govledgerd and check --data-dir)"
                       : ""));
  Say(absl::StrCat(options.tls_cert_file.empty() ? "plaintext"
                                                 : absl::StrCat("TLS with ", options.tls_cert_file),
                   "; ",
                   options.tokens_file.empty()
                       ? "open to every caller (no --tokens)"
                       : absl::StrCat("access tokens of ", options.tokens_file),
                   "; ",
                   options.tree_head_key_file.empty()
                       ? "tree heads unsigned (no --tree-head-key)"
                       : absl::StrCat("tree heads signed with ", options.tree_head_key_file)));
  if (std::string warning = govledger::Daemon::ExposureWarning(options); !warning.empty()) {
    Say(warning);
  }
  if (std::string warning = govledger::Daemon::CertificateWarning(
          options, std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count());
      !warning.empty()) {
    Say(warning);
  }
  if (std::string warning = govledger::Daemon::ClockBehindWarning(
          daemon.last_recorded_micros(), daemon.head_position(),
          std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count());
      !warning.empty()) {
    Say(warning);
  }
  if (std::string warning = govledger::Daemon::DataDirWarning(options.data_dir); !warning.empty()) {
    Say(warning);
  }
  if (std::string warning = govledger::Daemon::NestedLedgerWarning(options.data_dir);
      !warning.empty()) {
    Say(warning);
  }
  if (std::string warning = govledger::Daemon::FreeSpaceFloorWarning(options); !warning.empty()) {
    Say(warning);
  }
}

// "SIGTERM" and the like, for the signals govledgerd takes.
const char* SignalName(int signal_number) {
  switch (signal_number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "a signal";
  }
}

// Takes `signals` (blocked in every thread) until one asks govledgerd to stop, and returns it:
// SIGTERM or SIGINT. SIGHUP reloads the tokens file; SIGUSR1 and SIGUSR2, whose default action
// would kill the daemon without a clean stop, are said to be ignored.
int WaitForStop(const sigset_t& signals, const govledger::DaemonOptions& options,
                govledger::Daemon& daemon) {
  int signal_number = 0;
  for (;;) {
    // sigwait fails only for a set of invalid signals, which this one is not; a failure must
    // not pass for a signal all the same.
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGTERM || signal_number == SIGINT) return signal_number;
    if (signal_number != SIGHUP) {
      Say(absl::StrCat(SignalName(signal_number),
                       " ignored: govledgerd stops on SIGTERM or SIGINT and reloads its tokens "
                       "file on SIGHUP"));
      continue;
    }
    if (options.tokens_file.empty()) {
      Say("SIGHUP ignored: govledgerd was started without --tokens, so there is no tokens file "
          "to reload");
      continue;
    }
    absl::StatusOr<size_t> tokens = daemon.ReloadTokens();
    if (tokens.ok()) {
      Say(absl::StrCat("SIGHUP, tokens file reloaded: ", *tokens,
                       *tokens == 1 ? " token" : " tokens",
                       *tokens == 0 ? " (every token revoked: only health checks are answered "
                                      "until a token is added)"
                                    : ""));
    } else {
      Say(absl::StrCat("SIGHUP, tokens file not reloaded, the tokens stay as they were: ",
                       tokens.status().message()));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Every file govledgerd makes (the database's, snapshots, tree heads, backups' checkpoints)
  // holds events, Part 2 text included: its owner's alone, whatever the caller's umask.
  umask(077);
  // Debian's abseil is built with its debug checks on, so every absl::Mutex lock (gRPC takes
  // several a call) would also update a global lock-order graph to detect deadlocks: about 1%
  // of the daemon's time under load, for a check meant for tests.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // A request that does not parse is answered with protobuf's reason, not logged.
  govledger::InstallParseErrorCapture();
  gpr_set_log_function(&GrpcLog);
  govledger::DaemonOptions options;
  std::string port_file;
  if (std::optional<int> exit_code = ParseFlags(argc, argv, &options, &port_file)) {
    return *exit_code;
  }
  options.on_rebuild_checkpoint = [](uint64_t position) {
    Say(absl::StrCat("rebuilding projections: checkpoint at position ", position));
  };
  options.log = [](const std::string& what) { Say(what); };
  options.on_tree_head = [](absl::StatusOr<govledger::v1::TreeHead> tree_head) {
    std::string json;
    if (tree_head.ok() && google::protobuf::util::MessageToJsonString(*tree_head, &json).ok()) {
      Say(absl::StrCat("tree head ", json));
    } else {
      // The code and message, not ToString(): its payloads are serialized protos.
      Say(absl::StrCat("no tree head: ", absl::StatusCodeToString(tree_head.status().code()), ": ",
                       tree_head.status().message()));
    }
  };

  options.ledger.on_storage_failure = [](const absl::Status& failure) {
    if (absl::IsNotFound(failure)) {
      // The data directory gone (FreeSpaceWatch): its own advice, as the events are not on disk.
      Say(absl::StrCat("appends stopped: ", failure.message(),
                       " (README, \"When storage fails\")"));
      return;
    }
    Say(absl::StrCat("appends stopped after a storage failure: ", failure.message(),
                     ". Every acknowledged append is on disk and reads go on; free space or "
                     "repair the disk, then restart govledgerd (README, \"When storage fails\")"));
  };

  options.ledger.on_damage = [](const absl::Status& damage) {
    Say(absl::StrCat("the log is damaged: ", damage.message(),
                     ". Reads of the damage fail and stats say DAMAGED; appends go on. Save what "
                     "it still holds and restore a backup (README, \"Saving what a damaged "
                     "ledger still holds\")"));
  };

  // A write past a file size limit (ulimit -f, systemd's LimitFSIZE) then fails with EFBIG,
  // a storage failure like any other, instead of killing the daemon with SIGXFSZ.
  signal(SIGXFSZ, SIG_IGN);
  // A closed pipe behind stderr (`govledgerd ... | tee log` whose reader died) fails the log
  // line's write with EPIPE, instead of killing the daemon mid-append with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  // Every client connection holds a file descriptor, and gRPC's listener stops accepting for
  // good once accept() fails for want of one (grpc/grpc#20418): the soft limit, often 1,024,
  // is raised to the hard one (systemd's LimitNOFILE=, 65,536 in the unit we ship).
  if (struct rlimit files;
      ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  // Signals are taken by sigwait below, so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (!port_file.empty()) {
    // Before the store is opened (or a new one made): a port file that cannot be written
    // stops the daemon once it serves.
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(port_file).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      Say(absl::StrCat("--port-file: there is no directory ", dir.string(), " for ", port_file,
                       "; create it or name a file in one"));
      return 2;
    }
  }
  govledger::SystemClock clock;
  auto daemon = govledger::Daemon::Start(options, &clock);
  if (!daemon.ok()) {
    Say(daemon.status().message());
    // 2: fix the command line or a file it names; 3: the data directory is damaged (a restart
    // would fail alike, so the unit does not restart either); 1: anything else.
    if (govledger::Daemon::IsConfigurationError(daemon.status())) return 2;
    return absl::IsDataLoss(daemon.status()) ? 3 : 1;
  }
  // A unix socket has no port: the address itself is what a client dials.
  const bool unix_socket = absl::StartsWith(options.listen, "unix:") ||
                           absl::StartsWith(options.listen, "unix-abstract:");
  const std::string bound = unix_socket ? options.listen : absl::StrCat((*daemon)->port());
  SayServing(options, **daemon, unix_socket, bound);
  // Last, so that whoever waits for the port file finds the lines above already written.
  // Whoever waits for it reads the whole port or nothing; a daemon that cannot tell them its
  // port stops rather than serve unseen.
  if (!port_file.empty()) {
    if (absl::Status s = govledger::WriteFileAtomically(port_file, absl::StrCat(bound, "\n"), 0644,
                                                        govledger::IfExists::kReplace);
        !s.ok()) {
      Say(absl::StrCat("--port-file: ", s.message(), "; shutting down"));
      (*daemon)->Shutdown();
      Say("stopped");
      std::_Exit(2);  // a file a flag names, as below, without gRPC's global shutdown
    }
  }
  NotifySystemd("READY=1");  // serving: a Type=notify unit counts as started from here

  const int signal_number = WaitForStop(signals, options, **daemon);
  Say(absl::StrCat(SignalName(signal_number), ", shutting down"));
  // A signal during the stop is said, not acted on: the stop finishes as it would (a second
  // SIGTERM cannot make it safer or faster). The thread ends with the process.
  std::thread([signals, grace = options.shutdown_grace_seconds] {
    for (int again = 0;;) {
      if (sigwait(&signals, &again) != 0) continue;
      Say(absl::StrCat(SignalName(again),
                       " while stopping: already stopping; calls still open "
                       "get up to ",
                       grace,
                       " s (--shutdown-grace) and a few more, then the "
                       "database closes"));
    }
  }).detach();
  NotifySystemd("STOPPING=1");
  // The port is no longer served: a script must not read it as a running daemon's.
  if (!port_file.empty()) unlink(port_file.c_str());
  (*daemon)->Shutdown();
  Say("stopped");
  // Everything is on disk and the database is closed. Exit now: destroying the gRPC server
  // runs gRPC's global shutdown, which joins an executor thread that can sit for up to 10 s
  // in a poll on behalf of a client that has stopped reading (seen with a backup stream).
  std::_Exit(0);
}
