// Relay: a TCP relay on 127.0.0.1 in front of a daemon, for tests of lost connections. It
// relays one connection at a time, and the next once that one has ended; it can turn into a
// black hole (reading and dropping what either side sends while both sockets stay open, as a
// network that lost the connection does) or freeze (as a frozen client process does), and be
// pointed at another port (a daemon restarted).
// Header-only.
#ifndef GOVLEDGER_TESTS_INTEGRATION_RELAY_H_
#define GOVLEDGER_TESTS_INTEGRATION_RELAY_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace govledger::testing {

// Not thread-safe, except that its accessors, BlackHole, FreezeAfter and set_upstream may be called while
// its thread relays.
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
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // 0 if the relay could not listen.
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // From now on, everything either side sends is read and dropped, and a side that closes is
  // not told to the other.
  void BlackHole() { black_hole_ = true; }
  // Once `bytes` of the daemon's have been passed to the client, nothing more is read from either
  // side, whose sockets stay open until the relay is destroyed: a client process frozen (say,
  // SIGSTOPped) as its subscription began, whose socket buffers then fill.
  void FreezeAfter(uint64_t bytes) { freeze_after_ = bytes; }
  // Connections accepted from now on go to `port`.
  void set_upstream(int port) { upstream_port_ = port; }
  // Bytes passed from the daemon to the client so far.
  uint64_t bytes_to_client() const { return to_client_; }
  // Whether the daemon has closed its side of a connection.
  bool upstream_closed() const { return upstream_closed_; }
  // Connections accepted so far.
  int connections() const { return connections_; }

 private:
  void Run() {
    while (!stop_) {
      pollfd accept_poll{listen_fd_, POLLIN, 0};
      if (::poll(&accept_poll, 1, 50) <= 0) continue;
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      ++connections_;
      const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in daemon{};
      daemon.sin_family = AF_INET;
      daemon.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      daemon.sin_port = htons(static_cast<uint16_t>(upstream_port_.load()));
      if (::connect(upstream, reinterpret_cast<sockaddr*>(&daemon), sizeof(daemon)) == 0) {
        Relay1(client, upstream);
      }
      ::close(upstream);
      ::close(client);
    }
  }

  // Relays one connection until either side closes it; in a black hole, until the relay stops
  // (a side that closes is not told to the other).
  void Relay1(int client, int upstream) {
    char buffer[16384];
    bool upstream_open = true;
    while (!stop_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {upstream_open ? upstream : -1, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      for (int side = 0; side < 2; ++side) {
        if ((fds[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::read(fds[side].fd, buffer, sizeof(buffer));
        if (n <= 0) {
          if (!black_hole_) {
            if (side == 1) upstream_closed_ = true;
            return;  // closing both tells the other side
          }
          if (side == 1) {
            upstream_closed_ = true;
            upstream_open = false;
          } else {
            while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            return;
          }
          continue;
        }
        if (black_hole_) continue;
        if (side == 1) to_client_ += static_cast<uint64_t>(n);
        const int to = side == 0 ? upstream : client;
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w = ::write(to, buffer + sent, static_cast<size_t>(n - sent));
          if (w <= 0) return;
          sent += w;
        }
        if (side == 1 && to_client_ >= freeze_after_) {
          while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return;
        }
      }
    }
  }

  std::atomic<int> upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false}, black_hole_{false}, upstream_closed_{false};
  std::atomic<uint64_t> to_client_{0}, freeze_after_{UINT64_MAX};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_INTEGRATION_RELAY_H_
