// `govledger bench`: load generators that print figures. They measure a running govledgerd;
// they are not tests.
#ifndef GOVLEDGER_CLI_BENCH_H_
#define GOVLEDGER_CLI_BENCH_H_

#include <cstdint>
#include <string>

namespace govledger::cli {

struct BenchOptions {
  std::string server;
  int clients = 1;          // concurrent clients, each with one call in flight at a time
  int connections = 1;      // connections the clients share, round robin
  uint64_t events = 10000;  // events in all (bench read: 0 means the whole log; ping: calls)
  int batch = 1;            // events per call (bench read: events per page)
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

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_BENCH_H_
