// DaemonHarness: runs the real govledgerd binary as a child process for integration tests.
//
// Each harness owns a fresh temporary directory holding the data directory, the port file and
// one stderr capture file per run. Start() forks and execs govledgerd with
// `--data-dir DIR --listen 127.0.0.1:0 --port-file FILE` and waits until the port file appears
// (or the process exits, which Start reports with its stderr). The daemon listens on an
// ephemeral port of 127.0.0.1 only. Every restart binds a new port, so callers must take a new
// channel (or stub) from the harness after Restart().
//
// Not thread-safe: one test thread drives the harness, and it must outlive the daemons it
// starts (the daemon gets SIGKILL when the thread that forked it ends, so that no daemon
// outlives a crashed test). Channels and stubs it hands out may be used from any thread. The
// destructor kills a daemon still running.
#ifndef GOVLEDGER_TESTS_INTEGRATION_DAEMON_HARNESS_H_
#define GOVLEDGER_TESTS_INTEGRATION_DAEMON_HARNESS_H_

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "tests/testutil.h"

namespace govledger::testing {

// How a daemon process ended.
struct ExitStatus {
  bool exited = false;  // exited by itself; `code` is its exit code
  int code = -1;
  bool signaled = false;  // killed by a signal; `signal` is its number
  int signal = 0;

  bool Success() const { return exited && code == 0; }
  std::string ToString() const;
};

class DaemonHarness {
 public:
  // Longest wait for the daemon to write its port file, and for it to exit after SIGTERM.
  static constexpr std::chrono::seconds kStartTimeout{15};
  static constexpr std::chrono::seconds kStopTimeout{20};

  // `extra_args` are appended to every command line (e.g. {"--max-append-events", "10"}).
  explicit DaemonHarness(std::vector<std::string> extra_args = {});
  ~DaemonHarness();

  DaemonHarness(const DaemonHarness&) = delete;
  DaemonHarness& operator=(const DaemonHarness&) = delete;

  // Starts the daemon on data_dir() and waits until it serves. REQUIRES: not running.
  // FAILED_PRECONDITION with the exit status and stderr if the daemon exits before serving
  // (see last_exit()), DEADLINE_EXCEEDED (the daemon is then killed) if it does not serve
  // within kStartTimeout.
  absl::Status Start();

  // Sends SIGTERM and waits for the process to end. If it has not ended after kStopTimeout it
  // is killed with SIGKILL and the returned status says so (signaled, SIGKILL).
  // REQUIRES: running.
  ExitStatus Stop();

  // Sends SIGKILL and reaps the process. REQUIRES: running.
  ExitStatus Kill();

  // Stop() if running, then Start() on the same data directory. OK only if the stop (if any)
  // exited 0 and the start serves.
  absl::Status Restart();

  // Replaces the arguments appended to later command lines.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }

  // Later starts run the daemon with RLIMIT_FSIZE at `bytes` (0: no limit, the default): a
  // write that would take a file past it fails with EFBIG, a real storage failure from the
  // kernel, as a full disk's ENOSPC is (govledgerd ignores SIGXFSZ).
  void set_file_size_limit(uint64_t bytes) { file_size_limit_ = bytes; }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // The number of threads the daemon has now (/proc). REQUIRES: running.
  int Threads() const;
  // The port of the running daemon (0 when not running).
  int port() const { return port_; }
  // "127.0.0.1:PORT" of the running daemon.
  std::string address() const;

  const std::string& data_dir() const { return data_dir_; }
  // How the last run ended (after Stop, Kill or a failed Start).
  const ExitStatus& last_exit() const { return last_exit_; }

  // What the current (or, when stopped, the last) run wrote to stderr.
  std::string Stderr() const;
  // Waits up to 10 s for the current run's stderr to say `text`; false if it has not by then.
  bool WaitForStderr(const std::string& text) const;

  // A new channel to the running daemon (large message limits, no proxy, a connection of its
  // own), connected unless the daemon is not running or no connection came within 10 s.
  std::shared_ptr<grpc::Channel> NewChannel() const;
  // The same, as a client that has stopped reading: a flow-control window of 64 KiB that never
  // grows (no BDP probing), so that what the daemon sends past it waits for the client.
  std::shared_ptr<grpc::Channel> NewSmallWindowChannel() const;
  std::unique_ptr<v1::LedgerService::Stub> NewStub() const;

 private:
  // Waits up to `timeout` for the child to end; nullopt on timeout.
  std::optional<ExitStatus> WaitForExit(std::chrono::milliseconds timeout);

  std::vector<std::string> extra_args_;
  uint64_t file_size_limit_ = 0;
  TempDir root_;
  std::string data_dir_;
  std::string port_file_;
  int runs_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
  ExitStatus last_exit_;
};

// The whole of the file at `path`; empty if it cannot be read.
std::string ReadFile(const std::string& path);

// Waits up to 10 s for `channel` to connect, retrying with gRPC's backoff: a call made while a
// first connect attempt has failed fails at once (UNAVAILABLE), which under CI's load happened
// to one of eight channels opened together. False if no connection came.
bool AwaitConnection(grpc::Channel& channel);

// Unary call of `method` ("/package.Service/Method") with raw request bytes through a
// grpc::GenericStub, so tests can send bytes no generated stub would produce. Waits at most
// `timeout`.
grpc::Status GenericUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& method, const std::string& request_bytes,
                              std::string* response_bytes,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Bidi-streaming call of `method`: sends `requests` (raw bytes), half-closes, and collects every
// response until the server ends the call. Waits at most `timeout` in all.
grpc::Status GenericBidiCall(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& method, const std::vector<std::string>& requests,
                             std::vector<std::string>* responses,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_INTEGRATION_DAEMON_HARNESS_H_
