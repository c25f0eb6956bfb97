// `govledger bench`: load generators that print figures. They measure a running govledgerd;
// they are not tests.
#ifndef GOVLEDGER_CLI_BENCH_H_
#define GOVLEDGER_CLI_BENCH_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace govledger::cli {

// The q-quantile (q from 0 to 1) of `values` by nearest rank (the value at index q * (n - 1),
// rounded, in sorted order); 0 when there are none. Every benchmark's p50 and p99 (bench and
// govledger-as-at-bench) is this.
inline double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t k =
      std::min(values.size() - 1, static_cast<size_t>(q * (values.size() - 1) + 0.5));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

struct BenchOptions {
  std::string server;
  int clients = 1;          // concurrent clients, each with one call in flight at a time
  int connections = 1;      // connections the clients share, round robin
  uint64_t events = 10000;  // events in all (read, subscribe: 0, their default, is the whole log;
                            // ping: calls)
  int batch = 1;            // events per call (read: events per page, by default 10,000)
  int size = 500;           // payload bytes per event
  // bench append: what is appended. "filler": opaque events (no rules apply); "status":
  // typed StatusReported events, checked by the governance rules; "status-opaque": the same
  // bytes as "status" under an opaque type, to isolate the rules' cost.
  std::string events_of = "filler";
  bool json = false;        // one JSON object instead of a line of text
  // bench read: decode every event into a message (as most consumers would) instead of
  // walking the page's framing and checking each event's position.
  bool decode = false;
};

// Appends `events` events of `size` payload bytes, `batch` per call, from `clients` clients.
// For typed events it first registers a fresh organisation, programme and one project per
// client; each client then reports its project's status. Prints events/s and call latency
// p50/p99. Returns the process exit code.
int BenchAppend(const BenchOptions& options);

// `events` GetHead calls from `clients` clients, each with one call in flight: the round trip
// of a call that does no work, to read the append figures against. Prints calls/s and call
// latency p50/p99. Returns the exit code.
int BenchPing(const BenchOptions& options);

// Reads the log from position 1, `batch` events per page, with `clients` readers on
// successive pages. Each page is walked as sent, checking that every event's position follows
// the last, unless `decode`. Prints events/s and page latency p50/p99. Returns the exit code.
int BenchRead(const BenchOptions& options);

// `clients` subscribers, each subscribing from position 1 (sharing `connections`) and reading
// `events` events (0: the log as it stands) as the server sends them, checking that every
// event's position follows the last without decoding it. Prints events/s over all subscribers
// and each subscriber's time to catch up (p50/p99). Returns the exit code.
int BenchSubscribe(const BenchOptions& options);

// The `bench` command and its subcommands append, read, ping and subscribe.
class BenchCommands {
 public:
  // Adds them to `app`. `server_flag` is the shared --server option's variable. REQUIRES: both
  // outlive this object.
  BenchCommands(CLI::App& app, std::string& server_flag);

  // After app.parse(): the exit code if one of these commands was given, else nullopt.
  std::optional<int> Run(const std::string& server);

 private:
  BenchOptions options_;  // as the flags set them (Run applies read's and subscribe's defaults)
  CLI::App* append_ = nullptr;
  CLI::App* read_ = nullptr;
  CLI::App* ping_ = nullptr;
  CLI::App* subscribe_ = nullptr;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_BENCH_H_
