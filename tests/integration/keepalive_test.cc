// Keepalive: a connection whose other end has vanished without closing it (a machine switched
// off, a firewall that dropped the connection) is found and closed, on both sides. A relay
// between client and daemon turns into a black hole, reading and dropping what either side
// sends while both sockets stay open, as such a network does. govledgerd (--keepalive-seconds)
// then closes the connection, ending the subscription it carried; `govledger tail`
// ($GOVLEDGER_KEEPALIVE) stops with UNAVAILABLE instead of waiting for ever.
#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;

// A TCP relay on 127.0.0.1 for one connection, to `upstream_port`. Not thread-safe, except
// that its accessors may be called while its thread relays.
class Relay {
 public:
  explicit Relay(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
        ::listen(listen_fd_, 4) == 0 &&
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    for (int fd : {listen_fd_, client_fd_, upstream_fd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  // 0 if the relay could not listen.
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // From now on, everything either side sends is read and dropped.
  void BlackHole() { black_hole_ = true; }
  // Bytes passed from the daemon to the client so far.
  uint64_t bytes_to_client() const { return to_client_; }
  // Whether the daemon has closed its side of the connection.
  bool upstream_closed() const { return upstream_closed_; }

 private:
  void Run() {
    pollfd accept_poll{listen_fd_, POLLIN, 0};
    while (!stop_ && ::poll(&accept_poll, 1, 50) <= 0) {
    }
    if (stop_) return;
    client_fd_ = ::accept(listen_fd_, nullptr, nullptr);
    upstream_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in daemon{};
    daemon.sin_family = AF_INET;
    daemon.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (client_fd_ < 0 ||
        ::connect(upstream_fd_, reinterpret_cast<sockaddr*>(&daemon), sizeof(daemon)) != 0) {
      return;
    }
    bool client_open = true;
    char buffer[16384];
    while (!stop_ && !upstream_closed_) {
      pollfd fds[2] = {{client_fd_, static_cast<short>(client_open ? POLLIN : 0), 0},
                       {upstream_fd_, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      for (int side = 0; side < 2; ++side) {
        if ((fds[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::read(fds[side].fd, buffer, sizeof(buffer));
        if (n <= 0) {
          if (side == 1) {
            upstream_closed_ = true;
          } else {
            client_open = false;
            ::shutdown(upstream_fd_, SHUT_WR);
          }
          continue;
        }
        if (black_hole_) continue;
        if (side == 1) to_client_ += static_cast<uint64_t>(n);
        const int to = side == 0 ? upstream_fd_ : client_fd_;
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w = ::write(to, buffer + sent, static_cast<size_t>(n - sent));
          if (w <= 0) break;
          sent += w;
        }
      }
    }
  }

  const int upstream_port_;
  int listen_fd_ = -1, client_fd_ = -1, upstream_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false}, black_hole_{false}, upstream_closed_{false};
  std::atomic<uint64_t> to_client_{0};
  std::thread thread_;
};

// Waits up to `limit` for `done`; whether it became true.
template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(KeepaliveTest, TheDaemonClosesTheConnectionOfAClientThatVanished) {
  DaemonHarness daemon({"--keepalive-seconds", "1"});
  ASSERT_OK(daemon.Start());
  auto direct = daemon.NewStub();
  ASSERT_OK(AppendOne(*direct, "keepalive/1", "first"));

  Relay relay(daemon.port());
  ASSERT_NE(relay.port(), 0);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  auto stub = v1::LedgerService::NewStub(
      grpc::CreateCustomChannel(relay.address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::SubscribeRequest request;
  request.set_from_position(1);
  auto subscription = stub->Subscribe(&context, request);
  v1::Event event;
  ASSERT_TRUE(subscription->Read(&event));  // caught up; waiting for position 2

  relay.BlackHole();
  // Pinged after 1 s, no answer within 1 s more: closed.
  EXPECT_TRUE(WaitFor([&] { return relay.upstream_closed(); }, std::chrono::seconds(15)))
      << "govledgerd kept the connection of a client that no longer answers";
  ASSERT_OK(AppendOne(*direct, "keepalive/1", "still serving"));
  context.TryCancel();
}

TEST(KeepaliveTest, TailStopsWhenTheServerNoLongerAnswers) {
  DaemonHarness daemon({"--keepalive-seconds", "1"});  // accepts pings every second
  ASSERT_OK(daemon.Start());
  auto direct = daemon.NewStub();
  ASSERT_OK(AppendOne(*direct, "keepalive/2", "first"));
  Relay relay(daemon.port());
  ASSERT_NE(relay.port(), 0);

  const auto started = std::chrono::steady_clock::now();
  std::future<CliRun> tail = std::async(std::launch::async, [&] {
    return Cli(absl::StrCat("--server ", relay.address(), " tail --from 1"),
               "GOVLEDGER_KEEPALIVE=1 timeout 60");
  });
  // The event has reached the client: tail is following the log.
  ASSERT_TRUE(WaitFor([&] { return relay.bytes_to_client() > 100; }, std::chrono::seconds(15)));
  relay.BlackHole();
  const CliRun run = tail.get();
  EXPECT_EQ(run.code, 3) << run.err;  // the server could not be reached
  EXPECT_THAT(run.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(run.out, HasSubstr("keepalive/2"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

TEST(KeepaliveTest, ABadKeepaliveSettingIsNamed) {
  const CliRun run = Cli("--server 127.0.0.1:1 head", "GOVLEDGER_KEEPALIVE=often");
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("GOVLEDGER_KEEPALIVE must be a whole number of seconds"));
}

}  // namespace
}  // namespace govledger::testing
