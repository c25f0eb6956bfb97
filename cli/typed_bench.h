// `govledger bench typed`: appends typed governance events
// (govledger.v1.StatusReported, checked against the rules by govledgerd) and
// prints events/s and call latency, to compare with `bench append`'s opaque
// events. Not a test.
#ifndef GOVLEDGER_CLI_TYPED_BENCH_H_
#define GOVLEDGER_CLI_TYPED_BENCH_H_

#include <cstdint>
#include <string>

namespace govledger::cli {

struct TypedBenchOptions {
  std::string server;
  int clients = 1;          // concurrent clients, each on its own connection
  uint64_t events = 10000;  // events in all
  int batch = 1;            // events per call
  int size = 500;           // payload bytes per event (padded with commentary)
  bool opaque =
      false;  // same payloads under an opaque type: measures the rules' cost
  bool json = false;
};

// Registers a fresh organisation, programme and one project per client, then
// appends `events` status reports (each client to its project). Returns the
// process exit code.
int BenchTyped(const TypedBenchOptions& options);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_TYPED_BENCH_H_
