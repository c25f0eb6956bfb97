#include "tests/integration/daemon_harness.h"

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

#ifndef GOVLEDGERD_PATH
#error "GOVLEDGERD_PATH must name the govledgerd binary (set by tests/integration/CMakeLists.txt)"
#endif

namespace govledger::testing {
namespace {

// How often Start() looks for the port file and WaitForExit() for the child's end.
constexpr std::chrono::milliseconds kPollInterval(5);
// How long AwaitConnection() waits; past it the first call reports.
constexpr std::chrono::seconds kConnectTimeout(10);

ExitStatus FromWaitStatus(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) {
    out.exited = true;
    out.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signaled = true;
    out.signal = WTERMSIG(status);
  }
  return out;
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// gRPC's C++ client reads an idle connection only when its backup poller runs, every 5 s by
// default. A daemon shutting down waits (within its grace period) for each connected client to
// answer the GOAWAY ping, so a test that stops the daemon while it still holds an idle channel
// would wait up to 5 s. Poll every 50 ms instead; set once, before gRPC initialises.
void SpeedUpIdleChannels() {
  static std::once_flag once;
  std::call_once(
      once, [] { ::setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "50", /*overwrite=*/0); });
}

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string ExitStatus::ToString() const {
  if (exited) return absl::StrCat("exited with code ", code);
  if (signaled) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return "still running or unknown";
}

DaemonHarness::DaemonHarness(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)),
      data_dir_(root_.path() + "/data"),
      port_file_(root_.path() + "/port") {
  SpeedUpIdleChannels();
}

DaemonHarness::~DaemonHarness() {
  if (running()) Kill();
}

std::string DaemonHarness::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string DaemonHarness::Stderr() const {
  if (runs_ == 0) return "";
  return ReadFile(absl::StrCat(root_.path(), "/stderr.", runs_));
}

bool DaemonHarness::WaitForStderr(const std::string& text) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (absl::StrContains(Stderr(), text)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

absl::Status DaemonHarness::Start() {
  if (running()) return absl::FailedPreconditionError("govledgerd is already running");
  ::unlink(port_file_.c_str());
  ++runs_;
  const std::string stderr_path = absl::StrCat(root_.path(), "/stderr.", runs_);

  // Everything the child needs is prepared before fork(): between fork and exec a child of a
  // multi-threaded process may only make async-signal-safe calls.
  std::vector<std::string> args = {GOVLEDGERD_PATH, "--data-dir",  data_dir_, "--listen",
                                   "127.0.0.1:0",   "--port-file", port_file_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int err_fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (err_fd < 0 || null_fd < 0) {
    if (err_fd >= 0) ::close(err_fd);
    if (null_fd >= 0) ::close(null_fd);
    return absl::InternalError(absl::StrCat("cannot open ", stderr_path, ": ", strerror(errno)));
  }
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(err_fd);
    ::close(null_fd);
    return absl::InternalError(absl::StrCat("fork failed: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: never outlive the test process, default signal handling, stdio redirected.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (file_size_limit_ > 0) {
      const struct rlimit limit = {file_size_limit_, file_size_limit_};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(125);
    }
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(err_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static const char kExecFailed[] = "daemon_harness: execv of govledgerd failed\n";
    ssize_t ignored = ::write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::close(err_fd);
  ::close(null_fd);
  pid_ = pid;
  port_ = 0;

  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      last_exit_ = FromWaitStatus(status);
      return absl::FailedPreconditionError(absl::StrCat("govledgerd ", last_exit_.ToString(),
                                                        " before serving; stderr:\n", Stderr()));
    }
    std::ifstream in(port_file_);
    int port = 0;
    if (in >> port && port > 0) {
      port_ = port;
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat("govledgerd did not write its port file within ",
                                                  kStartTimeout.count(), " s; stderr:\n",
                                                  Stderr()));
}

std::optional<ExitStatus> DaemonHarness::WaitForExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      port_ = 0;
      last_exit_ = FromWaitStatus(status);
      return last_exit_;
    }
    if (r < 0 && errno != EINTR) {
      // Not our child any more (should not happen): report it rather than loop.
      pid_ = -1;
      port_ = 0;
      last_exit_ = ExitStatus{};
      return last_exit_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

ExitStatus DaemonHarness::Stop() {
  if (!running()) return last_exit_;
  ::kill(pid_, SIGTERM);
  if (std::optional<ExitStatus> exit = WaitForExit(kStopTimeout)) return *exit;
  return Kill();
}

int DaemonHarness::Threads() const {
  int threads = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid_, "/task"))) {
    (void)entry;
    ++threads;
  }
  return threads;
}

ExitStatus DaemonHarness::Kill() {
  if (!running()) return last_exit_;
  ::kill(pid_, SIGKILL);
  // SIGKILL cannot be caught; the wait is bounded only to keep a broken test from hanging.
  if (std::optional<ExitStatus> exit = WaitForExit(kStopTimeout)) return *exit;
  return last_exit_;
}

absl::Status DaemonHarness::Restart() {
  if (running()) {
    ExitStatus exit = Stop();
    if (!exit.Success()) {
      return absl::InternalError(absl::StrCat("govledgerd did not stop cleanly: ", exit.ToString(),
                                              "; stderr:\n", Stderr()));
    }
  }
  return Start();
}

namespace {

std::shared_ptr<grpc::Channel> Channel(const DaemonHarness& daemon, grpc::ChannelArguments args) {
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);  // all traffic stays on 127.0.0.1
  // Each channel gets its own connection, so "another client" really is another connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(daemon.address(), grpc::InsecureChannelCredentials(), args);
  if (daemon.running()) AwaitConnection(*channel);
  return channel;
}

}  // namespace

bool AwaitConnection(grpc::Channel& channel) {
  return channel.WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout);
}

std::shared_ptr<grpc::Channel> DaemonHarness::NewChannel() const {
  return Channel(*this, grpc::ChannelArguments());
}

std::shared_ptr<grpc::Channel> DaemonHarness::NewSmallWindowChannel() const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  return Channel(*this, std::move(args));
}

std::unique_ptr<v1::LedgerService::Stub> DaemonHarness::NewStub() const {
  return v1::LedgerService::NewStub(NewChannel());
}

grpc::Status GenericUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& method, const std::string& request_bytes,
                              std::string* response_bytes, std::chrono::milliseconds timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::ByteBuffer request = ToByteBuffer(request_bytes);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  // The deadline guarantees the callback runs.
  grpc::Status status = done.get_future().get();
  if (status.ok() && response_bytes != nullptr) *response_bytes = ToString(response);
  return status;
}

grpc::Status GenericBidiCall(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& method, const std::vector<std::string>& requests,
                             std::vector<std::string>* responses,
                             std::chrono::milliseconds timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::CompletionQueue cq;
  // Runs one operation and waits for it; the deadline bounds every wait.
  auto await = [&cq](intptr_t expected) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) return false;
    return ok && reinterpret_cast<intptr_t>(tag) == expected;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  bool ok = await(1);
  for (size_t i = 0; ok && i < requests.size(); ++i) {
    call->Write(ToByteBuffer(requests[i]), reinterpret_cast<void*>(2));
    ok = await(2);
  }
  if (ok) {
    call->WritesDone(reinterpret_cast<void*>(3));
    ok = await(3);
  }
  while (ok) {
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(4));
    if (!await(4)) break;
    responses->push_back(ToString(response));
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  await(5);
  cq.Shutdown();
  void* tag = nullptr;
  bool ignored = false;
  while (cq.Next(&tag, &ignored)) {
  }
  return status;
}

}  // namespace govledger::testing
