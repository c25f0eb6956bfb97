// Append's semantics checked against a model of the log, through the real
// govledgerd: 800 random appends of 1 to 4 opaque events over 1 to 3 of 6
// streams, with expected versions (any, no stream, exactly the right version or
// one off), retries of earlier events (the same content: duplicates; other
// content: a conflict) and the odd malformed request. The model predicts each
// outcome (code, positions, stream versions, duplicate flags, head); afterwards
// the whole log, every stream and the chain match the model, across a restart
// too.
#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;

// What the log should hold.
struct Model {
  struct Stored {
    v1::Event event;  // client fields as sent
    uint64_t position = 0;
    uint64_t version = 0;
  };
  std::vector<Stored> log;                   // position - 1
  std::map<std::string, size_t> by_id;       // event id -> index in log
  std::map<std::string, uint64_t> versions;  // stream -> version

  uint64_t Version(const std::string& stream) const {
    auto it = versions.find(stream);
    return it == versions.end() ? 0 : it->second;
  }
};

// As the server compares a retry: the effective times only if both give one
// (the server sets an unset effective time to the time it recorded the event).
bool SameContent(const v1::Event& a, const v1::Event& b) {
  return a.stream_id() == b.stream_id() && a.event_type() == b.event_type() &&
         a.payload() == b.payload() &&
         (!a.has_effective_time() || !b.has_effective_time() ||
          a.effective_time().SerializeAsString() ==
              b.effective_time().SerializeAsString());
}

// The outcome the model predicts for `request`, applying it to `model` when it
// succeeds.
struct Expected {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;  // a substring of the error message
  std::string actual;   // another (ABORTED: the stream's actual version)
  v1::AppendResponse response;
};

Expected Predict(const v1::AppendRequest& request, bool malformed,
                 Model& model) {
  Expected out;
  if (malformed) {
    out.code = grpc::StatusCode::INVALID_ARGUMENT;
    return out;
  }
  std::vector<std::optional<size_t>> seen(request.events_size());
  int duplicates = 0;
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::Event& e = request.events(i);
    auto it = model.by_id.find(e.event_id());
    if (it == model.by_id.end()) continue;
    const Model::Stored& earlier = model.log[it->second];
    if (!SameContent(e, earlier.event)) {
      out.code = grpc::StatusCode::ALREADY_EXISTS;
      out.message = absl::StrCat("event id ", e.event_id(),
                                 " is already stored at position ",
                                 earlier.position, " with different content");
      return out;
    }
    seen[i] = it->second;
    ++duplicates;
  }
  if (duplicates < request.events_size()) {
    for (const v1::ExpectedVersion& ev : request.expected_versions()) {
      const uint64_t actual = model.Version(ev.stream_id());
      const bool ok =
          ev.kind() == v1::ExpectedVersion::KIND_ANY ||
          (ev.kind() == v1::ExpectedVersion::KIND_NO_STREAM && actual == 0) ||
          (ev.kind() == v1::ExpectedVersion::KIND_EXACT &&
           actual == ev.version());
      if (!ok) {
        out.code = grpc::StatusCode::ABORTED;
        out.message = absl::StrCat("stream '", ev.stream_id(), "' expected ");
        out.actual = absl::StrCat("but its current version is ", actual, ";");
        return out;
      }
    }
  }
  for (int i = 0; i < request.events_size(); ++i) {
    v1::AppendedEvent* a = out.response.add_events();
    a->set_event_id(request.events(i).event_id());
    if (seen[i]) {
      a->set_position(model.log[*seen[i]].position);
      a->set_stream_version(model.log[*seen[i]].version);
      a->set_duplicate(true);
      continue;
    }
    Model::Stored stored;
    stored.event = request.events(i);
    stored.position = model.log.size() + 1;
    stored.version = ++model.versions[stored.event.stream_id()];
    model.by_id[stored.event.event_id()] = model.log.size();
    model.log.push_back(stored);
    a->set_position(stored.position);
    a->set_stream_version(stored.version);
  }
  out.response.set_head_position(model.log.size());
  return out;
}

// The log as read back equals the model: ids, streams, types, payloads,
// effective times, positions and versions, and the chain verifies.
void ExpectLogIsTheModel(v1::LedgerService::Stub& stub, const Model& model) {
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(stub);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), model.log.size());
  for (size_t i = 0; i < log->size(); ++i) {
    const v1::Event& got = (*log)[i];
    const Model::Stored& want = model.log[i];
    SCOPED_TRACE(absl::StrCat("position ", i + 1));
    EXPECT_EQ(got.event_id(), want.event.event_id());
    EXPECT_TRUE(SameContent(got, want.event));
    EXPECT_EQ(got.position(), want.position);
    EXPECT_EQ(got.stream_version(), want.version);
  }
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(stub);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->event_count(), model.log.size());
  EXPECT_TRUE(ChainVerifies(*log, *head));
  for (const auto& [stream, version] : model.versions) {
    absl::StatusOr<std::vector<v1::Event>> events = ReadAll(stub, stream);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), version) << stream;
    for (size_t v = 0; v < events->size(); ++v) {
      EXPECT_EQ((*events)[v].stream_version(), v + 1) << stream;
    }
  }
}

using AppendModelTest = DaemonTest;

TEST_F(AppendModelTest, RandomAppendsMatchAModelOfTheLogAcrossARestart) {
  std::mt19937_64 rng(11);
  const std::vector<std::string> streams = {"a/1", "a/2", "b/1",
                                            "b/2", "c/1", "c/2"};
  Model model;
  std::vector<v1::Event> sent;  // every event of a well-formed request
  std::map<grpc::StatusCode, int> outcomes;
  int duplicates = 0;

  for (int round = 0; round < 800; ++round) {
    v1::AppendRequest request;
    std::vector<std::string> chosen;
    for (int n = 1 + rng() % 3; n > 0; --n)
      chosen.push_back(streams[rng() % streams.size()]);
    for (int n = 1 + rng() % 4; n > 0; --n) {
      v1::Event e;
      const unsigned kind = rng() % 10;
      if (kind < 2 && !sent.empty()) {
        e = sent[rng() % sent.size()];  // a retry, as it was
      } else if (kind == 2 && !sent.empty()) {
        e = sent[rng() % sent.size()];  // the same id, other content
        e.set_payload(e.payload() + "!");
      } else {
        e = MakeEvent(chosen[rng() % chosen.size()],
                      absl::StrCat("round ", round));
        e.mutable_effective_time()->set_seconds(1700000000 + round);
      }
      // The same id twice in one request is malformed; leave such a pick out.
      bool repeated = false;
      for (const v1::Event& other : request.events()) {
        repeated |= other.event_id() == e.event_id();
      }
      if (!repeated) *request.add_events() = e;
    }
    // Expected versions for some of the streams appended to.
    std::map<std::string, bool> named;
    for (const v1::Event& e : request.events()) {
      if (named[e.stream_id()] || rng() % 3 != 0) continue;
      named[e.stream_id()] = true;
      v1::ExpectedVersion* ev = request.add_expected_versions();
      ev->set_stream_id(e.stream_id());
      const uint64_t actual = model.Version(e.stream_id());
      switch (rng() % 4) {
        case 0:
          ev->set_kind(v1::ExpectedVersion::KIND_ANY);
          break;
        case 1:
          ev->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
          break;
        case 2:
          ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
          ev->set_version(actual);
          break;
        default:
          ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
          ev->set_version(rng() % 2 ? actual + 1
                                    : (actual > 0 ? actual - 1 : 1));
      }
    }
    // Now and then a malformed request: an id that is not a UUID.
    const bool malformed = rng() % 25 == 0;
    if (malformed) request.mutable_events(0)->set_event_id("not-a-uuid");

    const Expected expected = Predict(request, malformed, model);
    v1::AppendResponse response;
    grpc::Status status = Append(*stub_, request, &response);
    SCOPED_TRACE(
        absl::StrCat("round ", round, ": ", request.ShortDebugString()));
    ASSERT_EQ(status.error_code(), expected.code) << status.error_message();
    ++outcomes[status.error_code()];
    if (!malformed) {  // refused or not, each may be sent again later
      for (const v1::Event& e : request.events()) sent.push_back(e);
    }
    if (!status.ok()) {
      EXPECT_THAT(status.error_message(),
                  ::testing::AllOf(HasSubstr(expected.message),
                                   HasSubstr(expected.actual)));
      continue;
    }
    ASSERT_EQ(response.events_size(), expected.response.events_size());
    for (int i = 0; i < response.events_size(); ++i) {
      const v1::AppendedEvent& got = response.events(i);
      const v1::AppendedEvent& want = expected.response.events(i);
      EXPECT_EQ(got.event_id(), want.event_id());
      EXPECT_EQ(got.position(), want.position()) << i;
      EXPECT_EQ(got.stream_version(), want.stream_version()) << i;
      EXPECT_EQ(got.duplicate(), want.duplicate()) << i;
      duplicates += got.duplicate();
    }
    EXPECT_EQ(response.head_position(), expected.response.head_position());
  }
  std::cout << outcomes[grpc::StatusCode::OK] << " appends OK (" << duplicates
            << " events duplicates), " << outcomes[grpc::StatusCode::ABORTED]
            << " ABORTED, " << outcomes[grpc::StatusCode::ALREADY_EXISTS]
            << " ALREADY_EXISTS, "
            << outcomes[grpc::StatusCode::INVALID_ARGUMENT]
            << " INVALID_ARGUMENT\n";
  // Every kind of outcome was met, often.
  EXPECT_GT(outcomes[grpc::StatusCode::OK], 300);
  EXPECT_GT(outcomes[grpc::StatusCode::ABORTED], 50);
  EXPECT_GT(outcomes[grpc::StatusCode::ALREADY_EXISTS], 50);
  EXPECT_GT(outcomes[grpc::StatusCode::INVALID_ARGUMENT], 10);
  EXPECT_GT(duplicates, 50);

  ASSERT_NO_FATAL_FAILURE(ExpectLogIsTheModel(*stub_, model));
  ASSERT_TRUE(daemon_.Stop().Success());
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Stderr();
  stub_ = daemon_.NewStub();
  ASSERT_NO_FATAL_FAILURE(ExpectLogIsTheModel(*stub_, model));
}

// Eight clients append at once, 1 to 3 events each over 4 shared streams, half
// of the appends expecting the version last seen by any client (so that many
// are ABORTED, inside groups that commit others). Afterwards every acknowledged
// append is in the log whole, at the positions and versions it was given, in
// request order and contiguous; nothing of a refused append is; and the log
// holds nothing else.
TEST_F(AppendModelTest, ConcurrentAppendsLandWholeOrNotAtAll) {
  constexpr int kClients = 8, kAppends = 100;
  const std::vector<std::string> streams = {"s/1", "s/2", "s/3", "s/4"};
  std::mutex mu;
  std::map<std::string, uint64_t>
      seen;  // the highest version any response gave, by stream
  struct Call {
    v1::AppendRequest request;
    grpc::Status status;
    v1::AppendResponse response;
  };
  std::vector<std::vector<Call>> calls(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      std::unique_ptr<v1::LedgerService::Stub> stub = daemon_.NewStub();
      std::mt19937_64 rng(100 + c);
      for (int n = 0; n < kAppends; ++n) {
        Call call;
        for (int k = 1 + rng() % 3; k > 0; --k) {
          *call.request.add_events() = MakeEvent(
              streams[rng() % streams.size()], absl::StrCat(c, "/", n));
        }
        if (rng() % 2) {
          v1::ExpectedVersion* ev = call.request.add_expected_versions();
          ev->set_stream_id(call.request.events(0).stream_id());
          ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
          std::lock_guard lock(mu);
          ev->set_version(seen[ev->stream_id()]);
        }
        call.status = Append(*stub, call.request, &call.response);
        if (call.status.ok()) {
          std::lock_guard lock(mu);
          for (int i = 0; i < call.response.events_size(); ++i) {
            uint64_t& v = seen[call.request.events(i).stream_id()];
            v = std::max(v, call.response.events(i).stream_version());
          }
        }
        calls[c].push_back(std::move(call));
      }
    });
  }
  for (std::thread& t : threads) t.join();

  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_TRUE(log.ok()) << log.status();
  std::map<std::string, uint64_t>
      position_of;  // event id -> position, from the log
  for (const v1::Event& e : *log) position_of[e.event_id()] = e.position();
  size_t acknowledged = 0;
  int ok = 0, aborted = 0;
  for (const std::vector<Call>& client : calls) {
    for (const Call& call : client) {
      if (!call.status.ok()) {
        ASSERT_EQ(call.status.error_code(), grpc::StatusCode::ABORTED)
            << call.status.error_message();
        ++aborted;
        for (const v1::Event& e : call.request.events()) {
          EXPECT_EQ(position_of.count(e.event_id()), 0u)
              << "a refused event was stored";
        }
        continue;
      }
      ++ok;
      ASSERT_EQ(call.response.events_size(), call.request.events_size());
      for (int i = 0; i < call.request.events_size(); ++i) {
        const v1::AppendedEvent& a = call.response.events(i);
        ASSERT_GE(a.position(), 1u);
        ASSERT_LE(a.position(), log->size());
        const v1::Event& stored = (*log)[a.position() - 1];
        EXPECT_EQ(stored.event_id(), call.request.events(i).event_id());
        EXPECT_TRUE(SameContent(stored, call.request.events(i)));
        EXPECT_EQ(stored.stream_version(), a.stream_version());
        EXPECT_FALSE(a.duplicate());
        // In request order, and contiguous: one append is one run of positions.
        if (i > 0) {
          EXPECT_EQ(a.position(), call.response.events(i - 1).position() + 1);
        }
      }
      acknowledged += call.request.events_size();
    }
  }
  std::cout << ok << " appends acknowledged, " << aborted << " ABORTED, "
            << log->size() << " events\n";
  EXPECT_EQ(log->size(), acknowledged)
      << "the log holds events no response acknowledged";
  EXPECT_GT(ok, 200);
  EXPECT_GT(aborted, 50);
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_TRUE(ChainVerifies(*log, *head));
  for (const std::string& stream : streams) {
    absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_, stream);
    ASSERT_TRUE(events.ok()) << events.status();
    for (size_t v = 0; v < events->size(); ++v) {
      EXPECT_EQ((*events)[v].stream_version(), v + 1) << stream;
    }
  }
}

}  // namespace
}  // namespace govledger::testing
