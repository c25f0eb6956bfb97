// Subscribe against the real daemon: catch up, then follow live appends from concurrent
// clients with no gap and no duplicate at the switch; a slow consumer receives everything.
#include <grpcpp/client_context.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

// Longest a subscription in these tests may last.
constexpr std::chrono::seconds kSubscribeTimeout{30};

// A subscriber on its own channel, reading on its own thread from `from` until stopped.
class Subscriber {
 public:
  Subscriber(const DaemonHarness& daemon, uint64_t from,
             std::chrono::microseconds pause_between_reads = {})
      : Subscriber(daemon, From(from), pause_between_reads) {}
  // With the filters `request` gives.
  Subscriber(const DaemonHarness& daemon, const v1::SubscribeRequest& request,
             std::chrono::microseconds pause_between_reads = {})
      : stub_(daemon.NewStub()), pause_(pause_between_reads) {
    context_.set_deadline(std::chrono::system_clock::now() + kSubscribeTimeout);
    reader_ = stub_->Subscribe(&context_, request);
    thread_ = std::thread([this] { Run(); });
  }

  static v1::SubscribeRequest From(uint64_t from) {
    v1::SubscribeRequest request;
    request.set_from_position(from);
    return request;
  }

  ~Subscriber() {
    if (thread_.joinable()) Stop();
  }

  // Waits (bounded) until `count` events arrived; false if the stream ended or time ran out.
  bool WaitFor(size_t count, std::chrono::seconds timeout = kSubscribeTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.load() < count) {
      if (ended_.load() || std::chrono::steady_clock::now() >= deadline) {
        return received_.load() >= count;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  // Cancels the call, joins the reader thread and returns everything received.
  std::vector<v1::Event> Stop() {
    context_.TryCancel();
    thread_.join();
    return std::move(events_);
  }

  const grpc::Status& status() const { return status_; }
  size_t received() const { return received_.load(); }
  // The position of the last event (or checkpoint) received; 0 before the first.
  uint64_t last_position() const { return last_position_.load(); }

 private:
  void Run() {
    v1::Event event;
    while (reader_->Read(&event)) {
      events_.push_back(event);
      last_position_.store(event.position());
      received_.fetch_add(1);
      if (pause_.count() > 0) std::this_thread::sleep_for(pause_);  // a slow consumer
    }
    status_ = reader_->Finish();
    ended_.store(true);
  }

  std::unique_ptr<v1::LedgerService::Stub> stub_;
  const std::chrono::microseconds pause_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader_;
  std::vector<v1::Event> events_;  // reader thread only until Stop()
  std::atomic<size_t> received_{0};
  std::atomic<uint64_t> last_position_{0};
  std::atomic<bool> ended_{false};
  grpc::Status status_;
  std::thread thread_;
};

class SubscribeTest : public DaemonTest {
 protected:
  // Appends `calls` batches of 1 to 3 events from each of `threads` concurrent clients (each on
  // its own channel); returns event id -> acknowledged position.
  std::map<std::string, uint64_t> AppendConcurrently(int threads, int calls,
                                                     size_t payload_bytes = 100) {
    std::mutex mu;
    std::map<std::string, uint64_t> acked;
    std::atomic<int> failures{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
      clients.emplace_back([&, t] {
        auto stub = daemon_.NewStub();
        std::mt19937 rng(t);
        for (int c = 0; c < calls; ++c) {
          std::vector<v1::Event> events;
          const int n = 1 + static_cast<int>(rng() % 3);
          for (int i = 0; i < n; ++i) {
            events.push_back(MakeEvent(absl::StrCat("live/client-", t, "/", rng() % 4),
                                       std::string(payload_bytes, static_cast<char>('a' + t))));
          }
          v1::AppendResponse response;
          grpc::Status s = Append(*stub, MakeAppend(events), &response);
          if (!s.ok()) {
            failures.fetch_add(1);
            continue;
          }
          std::lock_guard lock(mu);
          for (const v1::AppendedEvent& e : response.events()) acked[e.event_id()] = e.position();
        }
      });
    }
    for (std::thread& c : clients) c.join();
    EXPECT_EQ(failures.load(), 0);
    return acked;
  }

  void ExpectExactly(const std::vector<v1::Event>& events, uint64_t first, uint64_t last,
                     const std::map<std::string, uint64_t>& acked) {
    ASSERT_EQ(events.size(), last - first + 1);
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ(events[i].position(), first + i) << "gap or duplicate at index " << i;
      if (auto it = acked.find(events[i].event_id()); it != acked.end()) {
        EXPECT_EQ(it->second, events[i].position()) << events[i].event_id();
      }
      if (i > 0) {
        EXPECT_EQ(events[i].prev_hash(), events[i - 1].hash());
      }
    }
  }
};

TEST_F(SubscribeTest, CatchUpThenLiveWithConcurrentAppenders) {
  // 300 events before anyone subscribes.
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 10; ++i) events.push_back(MakeEvent("history/x", absl::StrCat(i)));
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
  }
  // One subscriber from the start (the switch from catch-up to live happens while the
  // appenders run), one from the middle of the history, one from head + 1 (live only).
  Subscriber from_start(daemon_, 1);
  Subscriber from_middle(daemon_, 150);
  Subscriber live_only(daemon_, 301);
  ASSERT_TRUE(from_start.WaitFor(1)) << from_start.status().error_message();

  std::map<std::string, uint64_t> acked = AppendConcurrently(/*threads=*/4, /*calls=*/100);
  ASSERT_GE(acked.size(), 400u);
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  const uint64_t n = head->position();
  ASSERT_EQ(n, 300 + acked.size());

  ASSERT_TRUE(from_start.WaitFor(n)) << from_start.received() << " of " << n;
  ASSERT_TRUE(from_middle.WaitFor(n - 149)) << from_middle.received();
  ASSERT_TRUE(live_only.WaitFor(n - 300)) << live_only.received();
  // Nothing more is appended, so nothing more may arrive.
  std::vector<v1::Event> all = from_start.Stop();
  std::vector<v1::Event> middle = from_middle.Stop();
  std::vector<v1::Event> live = live_only.Stop();
  EXPECT_THAT(from_start.status(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
  ExpectExactly(all, 1, n, acked);
  ExpectExactly(middle, 150, n, acked);
  ExpectExactly(live, 301, n, acked);
  EXPECT_TRUE(ChainVerifies(all, *head));
}

// Filters: the server sends only the events whose stream starts with one of the prefixes and
// whose type is one of the types, in position order, catching up (across pages with no match
// at all) and then live, with no gap among the matches and no duplicate; a subscription from
// a later position gets the rest.
TEST_F(SubscribeTest, AFilteredSubscriptionSendsExactlyTheMatchingEvents) {
  auto append = [&](int n, int seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < n; i += 10) {
      std::vector<v1::Event> events;
      for (int j = 0; j < 10; ++j) {
        const char* streams[] = {"decision/MOPAC/PCD-72", "decision/WWA/D-1", "risk/R1",
                                 "notes/decision/x"};
        const char* types[] = {"t.v1.Signed", "t.v1.Proposed"};
        events.push_back(MakeEvent(streams[rng() % 4], "x", types[rng() % 2]));
      }
      v1::AppendResponse response;
      ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
    }
  };
  append(300, 1);
  // 300 events that no filter below matches: a page and more without a match.
  for (int i = 0; i < 30; ++i) {
    std::vector<v1::Event> events;
    for (int j = 0; j < 10; ++j) events.push_back(MakeEvent("filler/x", "x", "t.v1.Filler"));
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
  }
  v1::SubscribeRequest signed_decisions = Subscriber::From(1);
  signed_decisions.add_stream_prefixes("decision/");
  signed_decisions.add_event_types("t.v1.Signed");
  v1::SubscribeRequest two_prefixes = Subscriber::From(1);
  two_prefixes.add_stream_prefixes("decision/WWA/");
  two_prefixes.add_stream_prefixes("risk/");
  v1::SubscribeRequest from_later = signed_decisions;
  from_later.set_from_position(450);
  Subscriber a(daemon_, signed_decisions), b(daemon_, two_prefixes), c(daemon_, from_later);
  append(300, 2);  // live, for the two that have caught up by now (or are still catching up)

  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), 900u);
  auto matching = [&](const v1::SubscribeRequest& r) {
    std::vector<uint64_t> positions;
    for (const v1::Event& e : *log) {
      if (e.position() < r.from_position()) continue;
      const bool type = r.event_types().empty() ||
                        absl::c_linear_search(r.event_types(), e.event_type());
      const bool stream = r.stream_prefixes().empty() ||
                          absl::c_any_of(r.stream_prefixes(), [&](const std::string& p) {
                            return absl::StartsWith(e.stream_id(), p);
                          });
      if (type && stream) positions.push_back(e.position());
    }
    return positions;
  };
  for (auto [subscriber, request] :
       {std::pair{&a, &signed_decisions}, std::pair{&b, &two_prefixes},
        std::pair{&c, &from_later}}) {
    const std::vector<uint64_t> expected = matching(*request);
    ASSERT_GT(expected.size(), 20u);
    ASSERT_TRUE(subscriber->WaitFor(expected.size())) << subscriber->received();
    // Give a wrongly sent extra event the time to arrive.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<uint64_t> received;
    for (const v1::Event& e : subscriber->Stop()) received.push_back(e.position());
    EXPECT_EQ(received, expected) << request->ShortDebugString();
  }
}

// With checkpoint_interval, a filtered subscription also receives checkpoints (an Event with
// only a position and the hash of the event there) once that many events in a row have been
// skipped, at the end of a page: while catching up and live. Resubscribing after a checkpoint skips
// nothing twice and misses nothing; without filters, or without the interval, none is sent.
TEST_F(SubscribeTest, CheckpointsSayHowFarAFilteredSubscriptionHasRead) {
  constexpr uint32_t kInterval = 300;
  auto append = [&](uint64_t first, uint64_t last, const std::set<uint64_t>& decisions) {
    for (uint64_t p = first; p <= last; p += 100) {
      std::vector<v1::Event> events;
      for (uint64_t q = p; q < p + 100 && q <= last; ++q) {
        events.push_back(decisions.contains(q) ? MakeEvent("decision/A", "x")
                                               : MakeEvent("filler/x", "x"));
      }
      v1::AppendResponse response;
      ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
      ASSERT_EQ(response.events(0).position(), p);
    }
  };
  append(1, 1000, {100, 700});
  v1::SubscribeRequest decisions = Subscriber::From(1);
  decisions.add_stream_prefixes("decision/");
  decisions.set_checkpoint_interval(kInterval);
  v1::SubscribeRequest no_checkpoints = Subscriber::From(1);
  no_checkpoints.add_stream_prefixes("decision/");
  v1::SubscribeRequest unfiltered = Subscriber::From(1);
  unfiltered.set_checkpoint_interval(1);
  Subscriber a(daemon_, decisions), b(daemon_, no_checkpoints), c(daemon_, unfiltered);
  ASSERT_TRUE(a.WaitFor(3));  // 100, 700 and at least one checkpoint
  append(1001, 1600, {});     // live: nothing matches
  // The checkpoints go on while nothing matches: by now one past 1600 - kInterval.
  const auto deadline = std::chrono::steady_clock::now() + kSubscribeTimeout;
  while (a.last_position() <= 1600 - kInterval && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(c.WaitFor(1600));
  ASSERT_TRUE(b.WaitFor(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // time for a wrong extra one

  const std::vector<v1::Event> received = a.Stop();
  std::vector<uint64_t> events, checkpoints;
  uint64_t previous = 0;
  for (const v1::Event& e : received) {
    ASSERT_GT(e.position(), previous) << "out of order";
    if (e.event_id().empty()) {
      // Only a position and the hash of the event there (for a client to check that a server
      // it resubscribes to holds the same log); at least kInterval skipped since the message
      // before, and no more than a page (256) beyond that.
      v1::ReadRequest at;
      at.set_from(e.position());
      at.set_limit(1);
      v1::ReadResponse there;
      ASSERT_THAT(Read(*stub_, at, &there), GrpcOk());
      ASSERT_EQ(there.events_size(), 1);
      v1::Event only;
      only.set_position(e.position());
      only.set_hash(there.events(0).hash());
      EXPECT_EQ(e.SerializeAsString(), only.SerializeAsString());
      EXPECT_GE(e.position() - previous, kInterval) << e.position();
      EXPECT_LT(e.position() - previous, kInterval + 256) << e.position();
      checkpoints.push_back(e.position());
    } else {
      EXPECT_EQ(e.stream_id(), "decision/A");
      events.push_back(e.position());
    }
    previous = e.position();
  }
  EXPECT_EQ(events, (std::vector<uint64_t>{100, 700}));
  ASSERT_GE(checkpoints.size(), 3u);  // two or more while catching up, one or more live
  EXPECT_GT(checkpoints.back(), 1600 - kInterval);
  EXPECT_LE(checkpoints.back(), 1600u);

  std::vector<uint64_t> plain;
  for (const v1::Event& e : b.Stop()) plain.push_back(e.position());
  EXPECT_EQ(plain, (std::vector<uint64_t>{100, 700}));
  const std::vector<v1::Event> all = c.Stop();
  EXPECT_EQ(all.size(), 1600u);
  EXPECT_TRUE(absl::c_none_of(all, [](const v1::Event& e) { return e.event_id().empty(); }));

  // Resuming after the last checkpoint: the next match, and nothing before it.
  decisions.set_from_position(checkpoints.back() + 1);
  Subscriber resumed(daemon_, decisions);
  append(1601, 1700, {1650});
  ASSERT_TRUE(resumed.WaitFor(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::vector<v1::Event> after = resumed.Stop();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].position(), 1650u);
}

// Filters out of their limits are INVALID_ARGUMENT naming the filter; the daemon serves on.
TEST_F(SubscribeTest, AFilterOutOfItsLimitsIsRefused) {
  ASSERT_OK(AppendOne(*stub_, "decision/A", "x"));
  auto refused = [&](const std::function<void(v1::SubscribeRequest*)>& edit,
                     const std::string& message) {
    SCOPED_TRACE(message);
    v1::SubscribeRequest request = Subscriber::From(1);
    edit(&request);
    Subscriber s(daemon_, request);
    EXPECT_FALSE(s.WaitFor(1, std::chrono::seconds(10)));
    EXPECT_THAT(s.status(), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                         ::testing::HasSubstr(message)));
    EXPECT_EQ(s.received(), 0u);
  };
  refused([](v1::SubscribeRequest* r) { r->add_stream_prefixes(""); },
          "stream_prefixes[0] '' is not the start of a stream id");
  refused([](v1::SubscribeRequest* r) {
            r->add_stream_prefixes("decision/");
            r->add_stream_prefixes("/decision");
          },
          "stream_prefixes[1] '/decision' is not the start of a stream id");
  refused([](v1::SubscribeRequest* r) { r->add_stream_prefixes("risk R1"); },
          "stream_prefixes[0] 'risk R1'");
  refused([](v1::SubscribeRequest* r) { r->add_stream_prefixes(std::string(201, 'a')); },
          "stream_prefixes[0] has 201 bytes; at most 200, the longest a stream id may be");
  refused([](v1::SubscribeRequest* r) { r->add_event_types("not a type"); },
          "event_types[0]: event_type 'not a type' contains an illegal character");
  // A type no append would hold, so that no event would ever match: refused as Append refuses
  // it (found by an integrator's trial: a mistyped filter waited for ever, idle).
  refused(
      [](v1::SubscribeRequest* r) {
        r->add_event_types("govledger.v1.RiskOpened");
        r->add_event_types("RiskClosed");
      },
      "event_types[1]: this govledgerd appends no event of type RiskClosed (event type RiskClosed "
      "names the governance event "
      "govledger.v1.RiskClosed without its exact package: give the full name");
  refused([](v1::SubscribeRequest* r) { r->add_event_types("govledger.v1.riskopened"); },
          "event_types[0]: this govledgerd appends no event of type govledger.v1.riskopened "
          "(event type govledger.v1.riskopened is not a "
          "governance event type this govledgerd knows");
  refused([](v1::SubscribeRequest* r) { r->add_event_types("govledger.v2.RiskOpened"); },
          "a type events are appended with, or by a stream prefix");
  refused([](v1::SubscribeRequest* r) {
            for (int i = 0; i < 101; ++i) r->add_event_types(absl::StrCat("t.v1.T", i));
          },
          "event_types has 101 entries; at most 100: give fewer, or subscribe more than once");
  refused([](v1::SubscribeRequest* r) {
            for (int i = 0; i < 101; ++i) r->add_stream_prefixes(absl::StrCat("s", i, "/"));
          },
          "stream_prefixes has 101 entries; at most 100: give fewer (a shorter stream prefix "
          "matches more streams), or subscribe more than once");
  // A prefix of 200 bytes, and a filter that matches nothing yet, are fine: it waits.
  v1::SubscribeRequest fine = Subscriber::From(1);
  fine.add_stream_prefixes(std::string(200, 'a'));
  Subscriber waiting(daemon_, fine);
  EXPECT_FALSE(waiting.WaitFor(1, std::chrono::seconds(1)));
  waiting.Stop();
  EXPECT_THAT(waiting.status(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
  Subscriber all(daemon_, 1);
  EXPECT_TRUE(all.WaitFor(1));
}

TEST_F(SubscribeTest, SlowConsumerReceivesEverything) {
  // 200 events of 32 KiB (6.25 MiB), well beyond what flow-control windows buffer, so the
  // server must wait for the consumer rather than drop or buffer without bound.
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 20; ++i) {
      events.push_back(MakeEvent("slow/x", std::string(32 << 10, static_cast<char>('a' + i))));
    }
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
  }
  // A consumer that pauses 2 ms after each event (about 0.6 s in all), while two clients keep
  // appending.
  Subscriber slow(daemon_, 1, std::chrono::milliseconds(2));
  std::map<std::string, uint64_t> acked =
      AppendConcurrently(/*threads=*/2, /*calls=*/25, /*payload_bytes=*/32 << 10);
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  ASSERT_TRUE(slow.WaitFor(head->position())) << slow.received() << " of " << head->position();
  std::vector<v1::Event> events = slow.Stop();
  ExpectExactly(events, 1, head->position(), acked);
  for (const v1::Event& e : events) EXPECT_EQ(e.payload().size(), 32u << 10);
}

// Subscriptions' pages have their own threads: with 600 live subscriptions, each append
// wakes them all, and a client's Reads, one at a time, are neither refused as backlogged
// (the limit counts Read calls only) nor left behind the pages.
TEST(SubscribeLoadTest, ManyLiveSubscriptionsDoNotCrowdOutReads) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  ASSERT_OK(AppendOne(*stub, "load/a", "first"));
  std::vector<std::unique_ptr<v1::LedgerService::Stub>> channels;
  for (int i = 0; i < 8; ++i) channels.push_back(daemon.NewStub());
  struct Open {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader;
  };
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 600; ++i) {
    auto o = std::make_unique<Open>();
    o->context.set_deadline(std::chrono::system_clock::now() + kSubscribeTimeout);
    v1::SubscribeRequest request;
    request.set_from_position(2);  // the head's next: parked until an append
    o->reader = channels[i % channels.size()]->Subscribe(&o->context, request);
    open.push_back(std::move(o));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them park
  int refused = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_OK(AppendOne(*stub, "load/a", absl::StrCat("round ", round)));
    for (int i = 0; i < 5; ++i) {
      v1::ReadRequest request;
      request.set_limit(1);
      v1::ReadResponse page;
      const grpc::Status status = Read(*stub, request, &page);
      if (!status.ok()) {
        ++refused;
        ADD_FAILURE() << "round " << round << " read " << i << ": " << status.error_message();
      }
    }
  }
  EXPECT_EQ(refused, 0);
  // Every subscription got every append.
  for (auto& o : open) {
    v1::Event event;
    ASSERT_TRUE(o->reader->Read(&event));
    EXPECT_EQ(event.position(), 2u);
  }
  for (auto& o : open) o->context.TryCancel();
  for (auto& o : open) (void)o->reader->Finish();
}

// Subscriptions catching up do not hold back other calls. Their writes complete on a queue
// of their own, so the serving thread's queue empties and it goes on reading new calls from
// the sockets; with one queue for everything it read none while the subscriptions' writes kept
// completing (40 catching up on the project's machine: health Check and GetHead 5 to 25 s).
TEST(SubscribeLoadTest, CatchingUpSubscriptionsDoNotHoldBackOtherCalls) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  constexpr uint64_t kEvents = 50000;
  for (uint64_t appended = 0; appended < kEvents; appended += 1000) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 1000; ++i) {
      events.push_back(MakeEvent("load/catch-up", std::string(200, 'x')));
    }
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub, MakeAppend(std::move(events)), &response), GrpcOk());
  }
  constexpr int kSubscribers = 16;
  std::atomic<uint64_t> delivered{0};
  std::vector<std::thread> subscribers;
  for (int i = 0; i < kSubscribers; ++i) {
    subscribers.emplace_back([&] {
      auto own = daemon.NewStub();  // a connection each
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + 4 * kSubscribeTimeout);
      auto reader = own->Subscribe(&context, Subscriber::From(1));
      v1::Event event;
      for (uint64_t n = 0; n < kEvents && reader->Read(&event); ++n) delivered.fetch_add(1);
      context.TryCancel();
      (void)reader->Finish();
    });
  }
  const auto started = std::chrono::steady_clock::now();
  while (delivered.load() < kSubscribers * 100 &&
         std::chrono::steady_clock::now() - started < kSubscribeTimeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Each call on a connection of its own, as a monitor's, is answered while they catch up.
  for (int call = 0; call < 10; ++call) {
    auto probe = daemon.NewStub();
    absl::StatusOr<v1::GetHeadResponse> head = GetHead(*probe);
    ASSERT_OK(head);
    EXPECT_EQ(head->position(), kEvents);
    EXPECT_LT(delivered.load(), kSubscribers * kEvents)
        << "GetHead " << call << " was answered only once every subscription had caught up";
    std::string health;
    EXPECT_THAT(GenericUnaryCall(daemon.NewChannel(), "/grpc.health.v1.Health/Check", "", &health),
                GrpcOk());
    EXPECT_LT(delivered.load(), kSubscribers * kEvents)
        << "health Check " << call << " was answered only once every subscription had caught up";
  }
  for (std::thread& s : subscribers) s.join();
  EXPECT_EQ(delivered.load(), kSubscribers * kEvents);
}

// At most --max-subscriptions are open at once: another is refused with RESOURCE_EXHAUSTED
// naming the flag, and once one has ended a new one is taken again.
TEST(SubscribeLimitTest, SubscriptionsPastTheLimitAreRefusedUntilOneEnds) {
  DaemonHarness daemon({"--max-subscriptions", "3"});
  ASSERT_OK(daemon.Start());
  auto stub = daemon.NewStub();
  ASSERT_OK(AppendOne(*stub, "limit/a", "first"));
  struct Open {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader;
  };
  auto subscribe = [&] {
    auto open = std::make_unique<Open>();
    open->context.set_deadline(std::chrono::system_clock::now() + kSubscribeTimeout);
    v1::SubscribeRequest request;
    request.set_from_position(1);
    open->reader = stub->Subscribe(&open->context, request);
    return open;
  };
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(subscribe());
    v1::Event event;
    ASSERT_TRUE(open.back()->reader->Read(&event)) << i;
  }
  std::unique_ptr<Open> refused = subscribe();
  v1::Event event;
  EXPECT_FALSE(refused->reader->Read(&event));
  const grpc::Status refusal = refused->reader->Finish();
  EXPECT_THAT(refusal, GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    ::testing::HasSubstr("3 subscriptions are open, the most this "
                                                         "server allows (govledgerd "
                                                         "--max-subscriptions)")));
  EXPECT_THAT(refusal, HasErrorInfo("SUBSCRIPTIONS_FULL",
                                    ::testing::ElementsAre(::testing::Pair("max_subscriptions",
                                                                           "3"))));
  // A request that could never succeed is refused for what is wrong with it, not as a retry
  // for later (a reviewer's bad filter was told RESOURCE_EXHAUSTED).
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kSubscribeTimeout);
    v1::SubscribeRequest bad;
    bad.add_stream_prefixes("/leading-slash");
    auto reader = stub->Subscribe(&context, bad);
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_THAT(reader->Finish(), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::_));
  }
  // So is a start past the head: the head only moves on (it had been told RESOURCE_EXHAUSTED).
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kSubscribeTimeout);
    v1::SubscribeRequest past;
    past.set_from_position(3);
    auto reader = stub->Subscribe(&context, past);
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_THAT(reader->Finish(), GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                                               ::testing::HasSubstr("subscribe from 1 to 2")));
  }
  // The three still follow the log.
  ASSERT_OK(AppendOne(*stub, "limit/a", "second"));
  for (auto& o : open) {
    ASSERT_TRUE(o->reader->Read(&event));
    EXPECT_EQ(event.position(), 2u);
  }
  // One ends; a new subscription is taken once the server has seen it go: when gRPC tells it
  // the call ended, not when the thread that waits for the head next looks at the calls parked
  // there, up to 200 ms later (a client that resubscribed at once to change its filters was
  // refused). Five rounds, each given 100 ms: each passed about half the time before.
  for (int round = 0; round < 5; ++round) {
    open.front()->context.TryCancel();
    EXPECT_THAT(open.front()->reader->Finish(),
                GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
    open.erase(open.begin());
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    bool taken = false;
    while (!taken && std::chrono::steady_clock::now() < give_up) {
      std::unique_ptr<Open> again = subscribe();
      if (again->reader->Read(&event)) {
        taken = true;
        EXPECT_EQ(event.position(), 1u);
        open.push_back(std::move(again));
      } else {
        (void)again->reader->Finish();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    ASSERT_TRUE(taken) << "round " << round << ": no slot 100 ms after a subscription ended";
  }
  for (auto& o : open) o->context.TryCancel();
}

// A waiting subscription holds no thread of the daemon (subscriptions.h): 300 subscribers
// that have caught up leave its thread count where it was, and each gets the next event.
TEST_F(SubscribeTest, ManyWaitingSubscribersHoldNoThreads) {
  ASSERT_OK(AppendOne(*stub_, "many/a", "first"));
  const int threads_before = daemon_.Threads();
  constexpr int kSubscribers = 300;
  std::shared_ptr<grpc::Channel> channel = daemon_.NewChannel();
  auto stub = v1::LedgerService::NewStub(channel);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Event>>> readers;
  for (int i = 0; i < kSubscribers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + kSubscribeTimeout);
    v1::SubscribeRequest request;
    request.set_from_position(1);
    readers.push_back(stub->Subscribe(contexts.back().get(), request));
    v1::Event event;
    ASSERT_TRUE(readers.back()->Read(&event)) << i;
    ASSERT_EQ(event.position(), 1u);
  }
  // Every subscriber has caught up and waits for position 2.
  EXPECT_LT(daemon_.Threads(), threads_before + 10)
      << "threads before the subscriptions: " << threads_before;
  ASSERT_OK(AppendOne(*stub_, "many/a", "second"));
  for (int i = 0; i < kSubscribers; ++i) {
    v1::Event event;
    ASSERT_TRUE(readers[i]->Read(&event)) << i;
    EXPECT_EQ(event.position(), 2u) << i;
  }
  for (int i = 0; i < kSubscribers; ++i) {
    contexts[i]->TryCancel();
    EXPECT_THAT(readers[i]->Finish(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
  }
  // The daemon still serves, and new subscribers.
  ASSERT_OK(AppendOne(*stub_, "many/a", "third"));
  Subscriber late(daemon_, 3);
  EXPECT_TRUE(late.WaitFor(1));
  EXPECT_EQ(late.Stop().at(0).position(), 3u);
}

// Times the daemon's `subscriptions` thread has slept and been woken
// (voluntary_ctxt_switches in /proc), or -1 if there is no such thread.
int64_t SubscriptionsThreadWakeUps(const DaemonHarness& daemon) {
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", daemon.pid(), "/task"))) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "subscriptions") continue;
    std::ifstream status(entry.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (absl::StartsWith(line, "voluntary_ctxt_switches:")) {
        return std::stoll(line.substr(line.find(':') + 1));
      }
    }
  }
  return -1;
}

// With no subscription parked, appends do not wake the thread that waits for the head on
// the subscriptions' behalf; once one parks, it follows the head again.
TEST_F(SubscribeTest, AppendsWakeNoWaitingThreadWhileNoSubscriptionWaits) {
  const int64_t before = SubscriptionsThreadWakeUps(daemon_);
  ASSERT_GE(before, 0);
  constexpr int kAppends = 200;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kAppends; ++i) ASSERT_OK(AppendOne(*stub_, "quiet/a", "event"));
  const int64_t after = SubscriptionsThreadWakeUps(daemon_);
  const int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
  // It wakes only to look for the subscriptions' closing, every 200 ms (a loaded machine
  // makes the appends slower, not that more frequent); following the head would wake it
  // once per sync, about once per append here.
  EXPECT_LE(after - before, elapsed_ms / 200 + 10)
      << "woken " << after - before << " times in " << elapsed_ms << " ms";
  ASSERT_LT(elapsed_ms / 200 + 10, kAppends) << "too slow to tell the two apart";

  Subscriber live(daemon_, kAppends + 1);
  ASSERT_OK(AppendOne(*stub_, "quiet/a", "followed"));
  ASSERT_TRUE(live.WaitFor(1));
  EXPECT_EQ(live.Stop().at(0).position(), static_cast<uint64_t>(kAppends + 1));
}

}  // namespace
}  // namespace govledger::testing
