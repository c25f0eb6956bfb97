// `govledger bench` against the real daemon through the real binary: each mode runs, prints
// the figures its --json promises, leaves what it appended in the ledger, and refuses what it
// cannot do with the documented exit codes. And `govledger-as-at-bench` runs every part once on
// a small ledger. (The figures themselves are not asserted: these machines are shared; README
// "Benchmarks" has measured ones.)
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/testutil.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;

class CliBenchTest : public DaemonTest {
 protected:
  std::string Server() const { return absl::StrCat("--server ", daemon_.address()); }

  // The one JSON object a --json run prints.
  static google::protobuf::Struct Json(const std::string& out) {
    google::protobuf::Struct s;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(out, &s).ok()) << out;
    return s;
  }
  static double Number(const google::protobuf::Struct& s, const std::string& key) {
    auto it = s.fields().find(key);
    EXPECT_NE(it, s.fields().end()) << key;
    return it == s.fields().end() ? -1 : it->second.number_value();
  }

  uint64_t Head() {
    grpc::ClientContext context;
    v1::GetHeadResponse head;
    EXPECT_TRUE(stub_->GetHead(&context, v1::GetHeadRequest(), &head).ok());
    return head.position();
  }
};

TEST_F(CliBenchTest, AppendReadAndPingPrintTheirFigures) {
  CliRun append = Cli(absl::StrCat("bench append ", Server(),
                                   " --clients 4 --batch 5 --events 200 --size 64 --json"));
  ASSERT_EQ(append.code, 0) << append.err;
  google::protobuf::Struct a = Json(append.out);
  EXPECT_EQ(a.fields().at("mode").string_value(), "append");
  EXPECT_EQ(Number(a, "events"), 200);
  EXPECT_EQ(Number(a, "size"), 64);
  EXPECT_GT(Number(a, "events_per_sec"), 0);
  EXPECT_GT(Number(a, "p99_us"), 0);
  EXPECT_GE(Number(a, "p99_us"), Number(a, "p50_us"));
  EXPECT_EQ(Head(), 200u);  // benchmark events stay in the ledger

  // Pages of 30 over 3 readers: the last page is short, every position is checked.
  CliRun read =
      Cli(absl::StrCat("bench read ", Server(), " --clients 3 --batch 30 --json"));
  ASSERT_EQ(read.code, 0) << read.err;
  google::protobuf::Struct r = Json(read.out);
  EXPECT_EQ(r.fields().at("mode").string_value(), "read");
  EXPECT_EQ(Number(r, "events"), 200);
  EXPECT_EQ(Number(r, "connections"), 3);

  CliRun decoded = Cli(absl::StrCat("bench read ", Server(), " --events 150 --decode --json"));
  ASSERT_EQ(decoded.code, 0) << decoded.err;
  google::protobuf::Struct d = Json(decoded.out);
  EXPECT_EQ(d.fields().at("mode").string_value(), "read decoded");
  EXPECT_EQ(Number(d, "events"), 150);
  EXPECT_EQ(Number(d, "batch"), 150);  // what ran: one page of 150, not the default 10,000

  // Events that do not fill the last batch: exactly those are appended.
  CliRun partial = Cli(absl::StrCat("bench append ", Server(),
                                    " --clients 2 --batch 100 --events 3 --json"));
  ASSERT_EQ(partial.code, 0) << partial.err;
  EXPECT_EQ(Number(Json(partial.out), "events"), 3);
  EXPECT_EQ(Number(Json(partial.out), "batch"), 3);  // what ran: one call of 3, one client
  EXPECT_EQ(Number(Json(partial.out), "clients"), 1);
  EXPECT_EQ(Head(), 203u);

  CliRun ping = Cli(absl::StrCat("bench ping ", Server(), " --clients 8 --calls 400 --json"));
  ASSERT_EQ(ping.code, 0) << ping.err;
  google::protobuf::Struct p = Json(ping.out);
  EXPECT_EQ(Number(p, "calls"), 400);
  EXPECT_GT(Number(p, "calls_per_sec"), 0);
  EXPECT_EQ(Head(), 203u);  // pinging writes nothing

  CliRun text = Cli(absl::StrCat("bench ping ", Server(), " --calls 10"));
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("ping: 10 GetHead calls, 1 client on 1 connection:"));

  // Three subscribers read the whole log, each checking every position.
  CliRun subscribe = Cli(absl::StrCat("bench subscribe ", Server(), " --clients 3 --json"));
  ASSERT_EQ(subscribe.code, 0) << subscribe.err;
  google::protobuf::Struct sub = Json(subscribe.out);
  EXPECT_EQ(sub.fields().at("mode").string_value(), "subscribe");
  EXPECT_EQ(Number(sub, "events"), 3 * 203);
  EXPECT_GT(Number(sub, "events_per_sec"), 0);
  EXPECT_GE(Number(sub, "catch_up_p99_s"), Number(sub, "catch_up_p50_s"));
  CliRun part = Cli(absl::StrCat("bench subscribe ", Server(), " --events 50"));
  ASSERT_EQ(part.code, 0) << part.err;
  EXPECT_THAT(part.out, HasSubstr("subscribe: 1 subscriber from position 1, 50 events each"));
  CliRun beyond = Cli(absl::StrCat("bench subscribe ", Server(), " --events 204"));
  EXPECT_EQ(beyond.code, 2);
  EXPECT_THAT(beyond.err, HasSubstr("the ledger holds 203 events"));
}

TEST_F(CliBenchTest, TypedAppendsAreCheckedAndCounted) {
  CliRun run = Cli(absl::StrCat("bench append ", Server(),
                                " --clients 2 --events 20 --events-of status --json"));
  ASSERT_EQ(run.code, 0) << run.err;
  google::protobuf::Struct s = Json(run.out);
  EXPECT_EQ(s.fields().at("mode").string_value(), "append status");
  EXPECT_EQ(Number(s, "events"), 20);
  // An organisation, a programme and one project per client come first.
  EXPECT_EQ(Head(), 20u + 4u);
}

TEST_F(CliBenchTest, RefusesWhatItCannotDo) {
  CliRun too_many = Cli(absl::StrCat("bench read ", Server(), " --events 10"));
  EXPECT_EQ(too_many.code, 2);  // the command line asks for more than there is, as export's
  EXPECT_THAT(too_many.err, HasSubstr("fewer than --events 10"));

  // Counts and sizes out of their range, not numbers, or in another notation (0x10, 1e3: CLI11
  // alone took them) are named with the range.
  for (const auto& [args, range] : std::vector<std::pair<std::string, std::string>>{
           {"append --clients 0", "from 1 to 10000"},
           {"append --size 99999999999", "from 0 to 1048576"},
           {"append --size -1", "from 0 to 1048576"},
           {"append --size 0x10", "from 0 to 1048576"},
           {"append --batch 0", "from 1 to 10000"},
           {"append --batch 1e3", "from 1 to 10000"},
           {"read --clients 10001", "from 1 to 10000"}}) {
    CliRun bad = Cli(absl::StrCat("bench ", args, " ", Server()));
    EXPECT_EQ(bad.code, 2) << args;
    EXPECT_THAT(bad.err, HasSubstr(absl::StrCat("is not a whole number ", range))) << args;
  }
  // Negative counts are refused, not read as 2^64 minus a little.
  for (const char* args : {"append --events -5", "read --events -3", "ping --calls -1",
                           "append --connections -1", "read --connections 0"}) {
    CliRun negative = Cli(absl::StrCat("bench ", args, " ", Server()));
    EXPECT_EQ(negative.code, 2) << args;
    EXPECT_THAT(negative.err, HasSubstr("is not a whole number from")) << args;
  }

  // A read page holds at most 10,000 events: refused before anything is sent (a server that
  // cannot be reached would be exit 3).
  for (const char* batch : {"10001", "0"}) {
    CliRun page = Cli(absl::StrCat("bench read --server 127.0.0.1:1 --batch ", batch));
    EXPECT_EQ(page.code, 2) << batch << ": " << page.err;
    EXPECT_THAT(page.err, HasSubstr("--batch")) << batch;
    EXPECT_THAT(page.err, HasSubstr("10000")) << batch;
  }

  CliRun nobody = Cli("bench ping --server 127.0.0.1:1 --calls 5");
  EXPECT_EQ(nobody.code, 3);
  EXPECT_THAT(nobody.err, HasSubstr("no connection to govledgerd at 127.0.0.1:1 within 5 s"));

  // An empty ledger: every event is an append the run made, none is left by a failed run.
  EXPECT_EQ(Head(), 0u);
}

// Every part of the as-at benchmark, in memory and through govledgerd (which it starts,
// restarts and rebuilds itself), on 20,000 events.
TEST(AsAtBenchTest, RunsEveryPartOnASmallLedger) {
  TempDir dir;
  CliRun run = RunProgram(
      GOVLEDGER_AS_AT_BENCH_PATH,
      absl::StrCat("--events 20000 --programmes 4 --weeks 52 --queries 5 --replay-queries 1 "
                   "--govledgerd ",
                   GOVLEDGERD_PATH, " --data-dir ", dir.path(), "/ledger"));
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  for (const char* line :
       {"generated 20000 events", "full fold:", "whole log from position 1",
        "as known, programme index and snapshots", "appended 20000 events",
        "restart to serving", "index and snapshots ready", "as recorded, through govledgerd",
        "RSS after the queries", "query index loaded at position 20000 (",
        "then 0 events read", "start with --rebuild-projections to serving",
        "rebuild finished"}) {
    EXPECT_THAT(run.out, HasSubstr(line));
  }
  // A data directory that exists is refused, touching nothing.
  CliRun again = RunProgram(GOVLEDGER_AS_AT_BENCH_PATH,
                            absl::StrCat("--events 100 --govledgerd ", GOVLEDGERD_PATH,
                                         " --data-dir ", dir.path(), "/ledger"));
  EXPECT_EQ(again.code, 2);
  EXPECT_THAT(again.err, HasSubstr("exists; give a directory the benchmark may create"));
}

}  // namespace
}  // namespace govledger::testing
