// Keepalive: a connection whose other end has vanished without closing it (a machine switched
// off, a firewall that dropped the connection) is found and closed, on both sides. A relay
// between client and daemon turns into a black hole, reading and dropping what either side
// sends while both sockets stay open, as such a network does. govledgerd (--keepalive-seconds)
// then closes the connection, ending the subscription it carried; `govledger tail`
// ($GOVLEDGER_KEEPALIVE) stops with UNAVAILABLE instead of waiting for ever.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/integration/relay.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;

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

// A subscription from position 1 through `relay` (no HTTP proxy), open for up to `seconds`.
struct RelayedSubscription {
  RelayedSubscription(const Relay& relay, int seconds) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(relay.address(), grpc::InsecureChannelCredentials(), args);
    AwaitConnection(*channel);  // a failed wait shows as the subscription's first Read failing
    stub = v1::LedgerService::NewStub(channel);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    v1::SubscribeRequest request;
    request.set_from_position(1);
    reader = stub->Subscribe(&context, request);
  }
  std::unique_ptr<v1::LedgerService::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader;
};

TEST(KeepaliveTest, TheDaemonClosesTheConnectionOfAClientThatVanished) {
  DaemonHarness daemon({"--keepalive-seconds", "1"});
  ASSERT_OK(daemon.Start());
  auto direct = daemon.NewStub();
  ASSERT_OK(AppendOne(*direct, "keepalive/1", "first"));

  Relay relay(daemon.port());
  ASSERT_NE(relay.port(), 0);
  RelayedSubscription subscription(relay, 60);
  v1::Event event;
  ASSERT_TRUE(subscription.reader->Read(&event));  // caught up; waiting for position 2

  relay.BlackHole();
  // Pinged after 1 s, no answer within 1 s more: closed.
  EXPECT_TRUE(WaitFor([&] { return relay.upstream_closed(); }, std::chrono::seconds(15)))
      << "govledgerd kept the connection of a client that no longer answers";
  ASSERT_OK(AppendOne(*direct, "keepalive/1", "still serving"));
  subscription.context.TryCancel();
}

TEST(KeepaliveTest, TailStopsWhenTheServerNoLongerAnswers) {
  DaemonHarness daemon({"--keepalive-seconds", "1"});  // accepts pings every second
  ASSERT_OK(daemon.Start());
  auto direct = daemon.NewStub();
  // 4 KiB: more than a connection's set-up, so a relay that passed that much passed the event.
  ASSERT_OK(AppendOne(*direct, "keepalive/2", std::string(4096, 'x')));
  Relay relay(daemon.port());
  ASSERT_NE(relay.port(), 0);

  const auto started = std::chrono::steady_clock::now();
  std::future<CliRun> tail = std::async(std::launch::async, [&] {
    return Cli(absl::StrCat("--server ", relay.address(), " tail --from 1"),
               "GOVLEDGER_KEEPALIVE=1 timeout 60");
  });
  // The event has reached the client: tail is following the log.
  ASSERT_TRUE(WaitFor([&] { return relay.bytes_to_client() > 4096; }, std::chrono::seconds(15)));
  relay.BlackHole();
  const CliRun run = tail.get();
  EXPECT_EQ(run.code, 3) << run.err;  // the server could not be reached
  EXPECT_THAT(run.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(run.out, HasSubstr("keepalive/2"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

// A subscriber that vanished while the daemon was sending to it (its next event held back by
// flow control) cannot hold up a stop until keepalive finds it gone: the stop takes the grace
// period and a few seconds, and is clean (exit 0; the next start needs no replay of the log).
TEST(KeepaliveTest, AVanishedSubscriberDoesNotHoldUpTheStop) {
  DaemonHarness daemon({"--shutdown-grace", "1", "--keepalive-seconds", "60"});
  ASSERT_OK(daemon.Start());
  auto direct = daemon.NewStub();
  for (int batch = 0; batch < 40; ++batch) {  // 40,000 events of 500 bytes
    std::vector<v1::Event> events;
    for (int i = 0; i < 1000; ++i) {
      events.push_back(MakeEvent("keepalive/many", std::string(500, 'a' + i % 26)));
    }
    v1::AppendResponse appended;
    ASSERT_THAT(Append(*direct, MakeAppend(std::move(events)), &appended), GrpcOk());
  }
  Relay relay(daemon.port());
  ASSERT_NE(relay.port(), 0);
  relay.FreezeAfter(20000);  // the subscription's first events
  RelayedSubscription subscription(relay, 120);
  // The daemon's first bytes reached the client, which then answers nothing more, as a frozen
  // process would; the subscription has more to send than flow control lets it.
  ASSERT_TRUE(
      WaitFor([&] { return relay.bytes_to_client() >= 20000; }, std::chrono::seconds(15)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const auto stopping = std::chrono::steady_clock::now();
  const ExitStatus stopped = daemon.Stop();
  const auto took = std::chrono::steady_clock::now() - stopping;
  EXPECT_TRUE(stopped.Success()) << stopped.ToString() << daemon.Stderr();
  // Not a speed check: without the bound the stop took the keepalive's 60 s and more.
  EXPECT_LT(took, std::chrono::seconds(20)) << daemon.Stderr();
  // Whether the stop had to leave the call ("... stopping without them" on stderr) depends on
  // where the frozen connection stood: in most runs it must, under load it may not.
  subscription.context.TryCancel();

  ASSERT_OK(daemon.Start());
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*daemon.NewStub());
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 40000u);
  EXPECT_THAT(daemon.Stderr(), HasSubstr("replayed 0 positions"));
}

TEST(KeepaliveTest, ABadKeepaliveSettingIsNamed) {
  // Digits alone, as every number the CLI takes.
  for (const char* setting : {"often", "+30", "' 30'", "0", "3601"}) {
    const CliRun run = Cli("--server 127.0.0.1:1 head",
                           absl::StrCat("GOVLEDGER_KEEPALIVE=", setting));
    EXPECT_EQ(run.code, 2) << setting;
    EXPECT_THAT(run.err, HasSubstr("GOVLEDGER_KEEPALIVE must be a whole number of seconds"))
        << setting;
  }
  // Set but empty (an unset variable in a script) is not the default either.
  const CliRun empty = Cli("--server 127.0.0.1:1 head", "GOVLEDGER_KEEPALIVE=");
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("GOVLEDGER_KEEPALIVE is set but empty"));
}

}  // namespace
}  // namespace govledger::testing
