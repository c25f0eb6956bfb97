// The Ledger over a MemoryEventStore and a FakeClock: positions, versions, recorded times, the
// hash chain, idempotency, expected versions, atomicity, reads, concurrency, waiting for the
// head, reopening, tamper detection and storage failure.
#include "ledger/ledger.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ledger/common/clock.h"
#include "ledger/common/errors.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/sha256.h"
#include "ledger/stored_event.h"
#include "tests/damaged_index_store.h"
#include "tests/memory_event_store.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::FakeClock;
using ::govledger::testing::IsOk;
using ::govledger::testing::IsOkAndHolds;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::SizeIs;

// 2023-11-14T22:13:20.123456Z
constexpr int64_t kT0 = 1700000000123456;
constexpr absl::string_view kActor = "alice@example.gov";

std::vector<uint64_t> Iota(uint64_t first, uint64_t count) {
  std::vector<uint64_t> v(count);
  std::iota(v.begin(), v.end(), first);
  return v;
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

v1::Event NewEvent(absl::string_view stream, absl::string_view payload = "payload",
                   absl::string_view type = "govledger.v1.TestHappened") {
  v1::Event e;
  e.set_event_id(NewUuid());
  e.set_stream_id(std::string(stream));
  e.set_event_type(std::string(type));
  e.set_payload(std::string(payload));
  return e;
}

v1::AppendRequest Request(std::initializer_list<v1::Event> events) {
  v1::AppendRequest r;
  for (const v1::Event& e : events) *r.add_events() = e;
  return r;
}

void Expect(v1::AppendRequest& r, absl::string_view stream, v1::ExpectedVersion::Kind kind,
            uint64_t version = 0) {
  v1::ExpectedVersion* ev = r.add_expected_versions();
  ev->set_stream_id(std::string(stream));
  ev->set_kind(kind);
  ev->set_version(version);
}

std::vector<uint64_t> Positions(const v1::AppendResponse& response) {
  std::vector<uint64_t> out;
  for (const v1::AppendedEvent& e : response.events()) out.push_back(e.position());
  return out;
}

std::vector<uint64_t> Positions(const v1::ReadResponse& response) {
  std::vector<uint64_t> out;
  for (const v1::Event& e : response.events()) out.push_back(e.position());
  return out;
}

std::vector<uint64_t> Versions(const v1::ReadResponse& response) {
  std::vector<uint64_t> out;
  for (const v1::Event& e : response.events()) out.push_back(e.stream_version());
  return out;
}

// Every stored event in position order, straight from the store.
std::vector<v1::Event> AllStored(EventStore& store) {
  std::vector<v1::Event> out;
  EXPECT_OK(store.ScanLog(1, true, [&](uint64_t p, absl::string_view bytes) {
    absl::StatusOr<v1::Event> e = DecodeStoredEvent(p, bytes);
    EXPECT_OK(e);
    if (e.ok()) out.push_back(*e);
    return true;
  }));
  return out;
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Reopen()); }

  void Reopen(const LedgerOptions& options = {}) {
    ledger_.reset();
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store_, &clock_, options);
    ASSERT_OK(ledger);
    ledger_ = std::move(*ledger);
  }

  absl::StatusOr<v1::AppendResponse> Append(v1::AppendRequest r) {
    return ledger_->Append(std::move(r), std::string(kActor));
  }

  // Appends `count` single-event requests to `stream`.
  void AppendMany(absl::string_view stream, int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_OK(Append(Request({NewEvent(stream, absl::StrCat("payload-", i))})));
    }
  }

  absl::StatusOr<v1::ReadResponse> Read(absl::string_view stream, uint64_t from,
                                        v1::Direction direction, uint32_t limit = 0) {
    v1::ReadRequest r;
    r.set_stream_id(std::string(stream));
    r.set_from(from);
    r.set_direction(direction);
    r.set_limit(limit);
    return ledger_->Read(r);
  }

  // Follows `next` from `from` until it is 0; returns every position seen, checking each page
  // holds at most `limit` events.
  std::vector<uint64_t> ReadAllPositions(absl::string_view stream, uint64_t from,
                                         v1::Direction direction, uint32_t limit) {
    std::vector<uint64_t> out;
    for (int pages = 0; pages < 10000; ++pages) {
      absl::StatusOr<v1::ReadResponse> page = Read(stream, from, direction, limit);
      EXPECT_OK(page);
      if (!page.ok()) break;
      EXPECT_LE(page->events_size(), static_cast<int>(limit));
      for (const v1::Event& e : page->events()) out.push_back(e.position());
      if (page->next() == 0) break;
      from = page->next();
    }
    return out;
  }

  FakeClock clock_{kT0};
  MemoryEventStore store_;
  std::unique_ptr<Ledger> ledger_;
};

// ---- Positions, versions, times. ----

TEST_F(LedgerTest, PositionsAreDenseFromOne) {
  EXPECT_EQ(ledger_->Head(), ChainPoint{});
  for (uint64_t p = 1; p <= 3; ++p) {
    absl::StatusOr<v1::AppendResponse> r = Append(Request({NewEvent("a")}));
    ASSERT_OK(r);
    EXPECT_THAT(Positions(*r), ElementsAre(p));
    EXPECT_EQ(r->head_position(), p);
    EXPECT_FALSE(r->events(0).duplicate());
  }
  absl::StatusOr<v1::AppendResponse> r =
      Append(Request({NewEvent("a"), NewEvent("b"), NewEvent("c")}));
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(4, 5, 6));
  EXPECT_EQ(r->head_position(), 6u);
  EXPECT_EQ(ledger_->Head().position, 6u);
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(ledger_->Head()));
  std::vector<uint64_t> stored;
  for (const v1::Event& e : AllStored(store_)) stored.push_back(e.position());
  EXPECT_THAT(stored, ElementsAreArray(Iota(1, 6)));
}

TEST_F(LedgerTest, ResponseEchoesEventIdsInLowerCase) {
  v1::Event e = NewEvent("a");
  e.set_event_id("3F2B8C1E-4D6A-4F7B-9C0D-1E2F3A4B5C6D");
  absl::StatusOr<v1::AppendResponse> r = Append(Request({e}));
  ASSERT_OK(r);
  EXPECT_EQ(r->events(0).event_id(), "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
  EXPECT_EQ(AllStored(store_).at(0).event_id(), "3f2b8c1e-4d6a-4f7b-9c0d-1e2f3a4b5c6d");
}

TEST_F(LedgerTest, StreamVersionsCountPerStream) {
  absl::StatusOr<v1::AppendResponse> r =
      Append(Request({NewEvent("a"), NewEvent("b"), NewEvent("a")}));
  ASSERT_OK(r);
  EXPECT_EQ(r->events(0).stream_version(), 1u);
  EXPECT_EQ(r->events(1).stream_version(), 1u);
  EXPECT_EQ(r->events(2).stream_version(), 2u);
  r = Append(Request({NewEvent("a"), NewEvent("c")}));
  ASSERT_OK(r);
  EXPECT_EQ(r->events(0).stream_version(), 3u);
  EXPECT_EQ(r->events(1).stream_version(), 1u);
  EXPECT_THAT(store_.StreamVersion("a"), IsOkAndHolds(3u));
  EXPECT_THAT(store_.StreamVersion("b"), IsOkAndHolds(1u));
  EXPECT_THAT(store_.StreamVersion("c"), IsOkAndHolds(1u));
  // The stored records carry the same versions and the actor.
  std::vector<v1::Event> stored = AllStored(store_);
  ASSERT_THAT(stored, SizeIs(5));
  std::vector<uint64_t> versions;
  for (const v1::Event& e : stored) {
    versions.push_back(e.stream_version());
    EXPECT_EQ(e.actor(), kActor);
  }
  EXPECT_THAT(versions, ElementsAre(1, 1, 2, 3, 1));
}

TEST_F(LedgerTest, RecordedTimeComesFromTheClock) {
  ASSERT_OK(Append(Request({NewEvent("a")})));
  clock_.Advance(1500);
  ASSERT_OK(Append(Request({NewEvent("a")})));
  std::vector<v1::Event> stored = AllStored(store_);
  ASSERT_THAT(stored, SizeIs(2));
  EXPECT_EQ(stored[0].recorded_time().seconds(), 1700000000);
  EXPECT_EQ(stored[0].recorded_time().nanos(), 123456000);
  EXPECT_EQ(Micros(stored[1].recorded_time()), kT0 + 1500);
}

TEST_F(LedgerTest, RecordedTimeNeverGoesBackwards) {
  ASSERT_OK(Append(Request({NewEvent("a")})));
  clock_.Set(kT0 - 10'000'000);  // the wall clock steps back 10 s
  ASSERT_OK(Append(Request({NewEvent("a")})));
  clock_.Set(kT0 + 7);
  ASSERT_OK(Append(Request({NewEvent("a")})));
  std::vector<v1::Event> stored = AllStored(store_);
  ASSERT_THAT(stored, SizeIs(3));
  EXPECT_EQ(Micros(stored[0].recorded_time()), kT0);
  EXPECT_EQ(Micros(stored[1].recorded_time()), kT0);
  EXPECT_EQ(Micros(stored[2].recorded_time()), kT0 + 7);
  // Nor does the effective time an event without one is given: when it was received, never
  // before the last recorded time (an operator's drill: dated early by the clock's step).
  EXPECT_EQ(Micros(stored[1].effective_time()), kT0);
  EXPECT_EQ(Micros(stored[2].effective_time()), kT0 + 7);
}

TEST_F(LedgerTest, RecordedTimeNeverGoesBackwardsAcrossReopen) {
  ASSERT_OK(Append(Request({NewEvent("a")})));
  clock_.Set(kT0 - 3'600'000'000);
  LedgerOptions options;
  options.max_clock_behind_seconds = 3600;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  ASSERT_OK(Append(Request({NewEvent("a")})));
  std::vector<v1::Event> stored = AllStored(store_);
  ASSERT_THAT(stored, SizeIs(2));
  EXPECT_EQ(Micros(stored[1].recorded_time()), kT0);
  EXPECT_EQ(ledger_->last_recorded_micros(), kT0);
}

// A clock set back more than max_clock_behind_seconds (default 300) before the last recorded
// time would misdate every event appended: the open is refused, saying both times and how to
// go on, and changes nothing. Within the bound, or an empty log, it opens.
TEST_F(LedgerTest, AnOpenWithTheClockFarBehindTheLastRecordedTimeIsRefused) {
  ledger_.reset();
  clock_.Set(kT0 - 3'600'000'000);
  ASSERT_OK(Ledger::Open(&store_, &clock_));  // nothing recorded yet
  clock_.Set(kT0);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->last_recorded_micros(), std::nullopt);
  ASSERT_OK(Append(Request({NewEvent("a")})));
  ledger_.reset();
  clock_.Set(kT0 - 301'000'000);
  absl::StatusOr<std::unique_ptr<Ledger>> refused = Ledger::Open(&store_, &clock_);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                AllOf(HasSubstr("the clock reads 2023-11-14T22:08:19.123456Z, 301 s "
                                                "before the last event's recorded time, "
                                                "2023-11-14T22:13:20.123456Z (position 1)"),
                                      HasSubstr("set it (NTP) and start again"),
                                      HasSubstr("--max-clock-behind-seconds 302 or more"))));
  EXPECT_THAT(AllStored(store_), SizeIs(1));
  clock_.Set(kT0 - 299'000'000);
  ASSERT_NO_FATAL_FAILURE(Reopen());
}

TEST_F(LedgerTest, EffectiveTimeDefaultsToRecordedTime) {
  clock_.Set(kT0 + 42);
  v1::Event with_time = NewEvent("a");
  with_time.mutable_effective_time()->set_seconds(-2208988800);  // 1900-01-01
  with_time.mutable_effective_time()->set_nanos(5000);
  ASSERT_OK(Append(Request({NewEvent("a"), with_time})));
  std::vector<v1::Event> stored = AllStored(store_);
  ASSERT_THAT(stored, SizeIs(2));
  EXPECT_EQ(Micros(stored[0].effective_time()), kT0 + 42);
  EXPECT_EQ(stored[0].effective_time().nanos(), stored[0].recorded_time().nanos());
  EXPECT_EQ(stored[1].effective_time().seconds(), -2208988800);
  EXPECT_EQ(stored[1].effective_time().nanos(), 5000);
  EXPECT_EQ(Micros(stored[1].recorded_time()), kT0 + 42);
}

TEST_F(LedgerTest, MalformedRequestOrActorIsRejectedAndNothingStored) {
  EXPECT_THAT(Append(v1::AppendRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no events")));
  EXPECT_THAT(ledger_->Append(Request({NewEvent("a")}), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor")));
  // Latin-1, as an HTTP/2 client may send it in text metadata: a record holding it would never
  // parse again.
  EXPECT_THAT(ledger_->Append(Request({NewEvent("a")}), "j.smith\xe9"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor is not UTF-8")));
  EXPECT_THAT(Append(Request({NewEvent("/a")})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stream_id")));
  EXPECT_EQ(ledger_->Head().position, 0u);
  EXPECT_THAT(AllStored(store_), IsEmpty());
}

// ---- The hash chain. ----

TEST_F(LedgerTest, HashChainLinksEveryEvent) {
  ASSERT_OK(Append(Request({NewEvent("a", "one")})));
  ASSERT_OK(Append(Request({NewEvent("b", "two"), NewEvent("a", "three")})));
  clock_.Advance(1);
  ASSERT_OK(Append(Request({NewEvent("c", std::string(5000, '\0'))})));

  crypto::Hash prev = crypto::kGenesisHash;
  for (uint64_t p = 1; p <= 4; ++p) {
    absl::StatusOr<std::optional<std::string>> stored = store_.Get(p);
    ASSERT_OK(stored);
    ASSERT_TRUE(stored->has_value());
    const std::string& bytes = **stored;
    ASSERT_GT(bytes.size(), kHashTrailerSize);
    absl::string_view record(bytes.data(), bytes.size() - kHashTrailerSize);
    absl::string_view trailer(bytes.data() + record.size(), kHashTrailerSize);
    crypto::Hash expected = crypto::Sha256(crypto::AsBytes(prev), record);

    EXPECT_EQ(trailer.substr(0, 2), absl::string_view("\x7a\x20", 2)) << p;
    EXPECT_EQ(trailer.substr(2), crypto::AsBytes(expected)) << p;
    absl::StatusOr<v1::Event> event = DecodeStoredEvent(p, bytes);
    ASSERT_OK(event);
    EXPECT_EQ(event->position(), p);
    EXPECT_EQ(event->prev_hash(), crypto::AsBytes(prev)) << p;
    EXPECT_EQ(event->hash(), crypto::AsBytes(expected)) << p;
    if (p == 1) {
      EXPECT_EQ(event->prev_hash(), std::string(32, '\0'));
    }
    EXPECT_THAT(VerifyStoredEvent(p, bytes, prev), IsOkAndHolds(expected)) << p;
    // What a subscription's filters read, without parsing the rest.
    absl::StatusOr<StoredEventKeys> keys = ReadStoredEventKeys(bytes);
    ASSERT_OK(keys);
    EXPECT_EQ(keys->position, p);
    EXPECT_EQ(keys->stream_id, event->stream_id());
    EXPECT_EQ(keys->event_type, event->event_type());
    EXPECT_THAT(ReadStoredEventKeys(absl::string_view(bytes).substr(0, bytes.size() - 1)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not parse")));
    // Chained to anything else, it does not verify.
    EXPECT_THAT(VerifyStoredEvent(p, bytes, crypto::Sha256("other")),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr(absl::StrCat("hash chain broken at position ", p, ": ",
                                                p == 1 ? "its previous hash is not the genesis hash"
                                                       : "the previous hash it holds is not the "
                                                         "hash of position "))));
    // Where it is not, it says so.
    EXPECT_THAT(VerifyStoredEvent(p + 1, bytes, prev),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr(absl::StrCat("the event stored there names position ", p))));
    prev = expected;
  }
  EXPECT_EQ(ledger_->Head(), (ChainPoint{4, prev}));
  std::vector<uint64_t> progress;
  EXPECT_THAT(VerifyChain(store_, ChainPoint{}, 4, [&](uint64_t p) { progress.push_back(p); }),
              IsOkAndHolds(ChainPoint{4, prev}));
  EXPECT_THAT(progress, ElementsAre(1, 2, 3, 4));
  // The events Read returns carry the same hashes.
  absl::StatusOr<v1::ReadResponse> read = Read("", 0, v1::DIRECTION_BACKWARD, 1);
  ASSERT_OK(read);
  ASSERT_THAT(read->events(), SizeIs(1));
  EXPECT_EQ(read->events(0).hash(), crypto::AsBytes(prev));
}

TEST_F(LedgerTest, VerifyChainReportsAMissingTail) {
  AppendMany("a", 3);
  EXPECT_THAT(VerifyChain(store_, ChainPoint{}, 5),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("event at position 4: missing; the log should reach 5")));
  // With the reason every damaged event's refusal has, for a client that acts on it.
  EXPECT_EQ(errors::ErrorInfoOf(VerifyChain(store_, ChainPoint{}, 5).status())->reason(),
            errors::reason::kEventCorrupt);
}

// ---- Idempotency. ----

TEST_F(LedgerTest, RetryReturnsOriginalPositionsAndStoresNothing) {
  v1::AppendRequest request = Request({NewEvent("a"), NewEvent("b")});
  absl::StatusOr<v1::AppendResponse> first = Append(request);
  ASSERT_OK(first);
  AppendMany("c", 2);
  const ChainPoint head = ledger_->Head();

  absl::StatusOr<v1::AppendResponse> retry = Append(request);
  ASSERT_OK(retry);
  ASSERT_THAT(retry->events(), SizeIs(2));
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(retry->events(i).duplicate()) << i;
    EXPECT_EQ(retry->events(i).position(), first->events(i).position()) << i;
    EXPECT_EQ(retry->events(i).stream_version(), first->events(i).stream_version()) << i;
    EXPECT_EQ(retry->events(i).event_id(), first->events(i).event_id()) << i;
  }
  EXPECT_EQ(retry->head_position(), head.position);
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(head));
  EXPECT_THAT(AllStored(store_), SizeIs(4));
}

TEST_F(LedgerTest, RetryIgnoresExpectedVersionsOnceCommitted) {
  v1::AppendRequest request = Request({NewEvent("a")});
  Expect(request, "a", v1::ExpectedVersion::KIND_NO_STREAM);
  absl::StatusOr<v1::AppendResponse> first = Append(request);
  ASSERT_OK(first);
  // The stream exists now, but a retry of the committed append is still a success.
  absl::StatusOr<v1::AppendResponse> retry = Append(request);
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());
  EXPECT_EQ(retry->events(0).position(), 1u);
  EXPECT_EQ(ledger_->Head().position, 1u);
}

TEST_F(LedgerTest, RetryWithUpperCaseIdIsTheSameEvent) {
  v1::Event e = NewEvent("a");
  ASSERT_OK(Append(Request({e})));
  std::string upper = e.event_id();
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  e.set_event_id(upper);
  absl::StatusOr<v1::AppendResponse> retry = Append(Request({e}));
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());
  EXPECT_EQ(ledger_->Head().position, 1u);
}

TEST_F(LedgerTest, RetryWithoutEffectiveTimeMatches) {
  // Appended without an effective time (so it defaults to the recorded time), retried
  // without one later, when the clock has moved on.
  v1::Event e = NewEvent("a");
  ASSERT_OK(Append(Request({e})));
  clock_.Advance(5'000'000);
  absl::StatusOr<v1::AppendResponse> retry = Append(Request({e}));
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());

  // Appended with an effective time, retried without it: still the same event.
  v1::Event timed = NewEvent("a");
  timed.mutable_effective_time()->set_seconds(1600000000);
  ASSERT_OK(Append(Request({timed})));
  v1::Event untimed = timed;
  untimed.clear_effective_time();
  retry = Append(Request({untimed}));
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());
  EXPECT_EQ(retry->events(0).position(), 2u);
  EXPECT_EQ(ledger_->Head().position, 2u);
}

TEST_F(LedgerTest, MixedRetryStoresOnlyTheNewEvents) {
  v1::Event old_event = NewEvent("a");
  ASSERT_OK(Append(Request({old_event})));
  absl::StatusOr<v1::AppendResponse> r = Append(Request({old_event, NewEvent("a")}));
  ASSERT_OK(r);
  EXPECT_TRUE(r->events(0).duplicate());
  EXPECT_EQ(r->events(0).position(), 1u);
  EXPECT_FALSE(r->events(1).duplicate());
  EXPECT_EQ(r->events(1).position(), 2u);
  EXPECT_EQ(r->events(1).stream_version(), 2u);
  EXPECT_THAT(AllStored(store_), SizeIs(2));
}

TEST_F(LedgerTest, SameIdWithOtherContentIsAlreadyExistsAndStoresNothing) {
  v1::Event original = NewEvent("a", "payload", "govledger.v1.RiskOpened");
  original.mutable_effective_time()->set_seconds(1600000000);
  ASSERT_OK(Append(Request({original})));
  AppendMany("b", 1);
  const ChainPoint head = ledger_->Head();

  std::vector<std::pair<std::string, v1::Event>> variants;
  v1::Event e = original;
  e.set_payload("other payload");
  variants.emplace_back("payload", e);
  e = original;
  e.set_stream_id("b");
  variants.emplace_back("stream", e);
  e = original;
  e.set_event_type("govledger.v1.RiskClosed");
  variants.emplace_back("type", e);
  e = original;
  e.mutable_effective_time()->set_seconds(1600000001);
  variants.emplace_back("effective time", e);
  e = original;
  e.set_source("JAC programme update report, week 86");
  variants.emplace_back("source", e);
  for (const auto& [what, variant] : variants) {
    // Alone, and alongside a new event that must not be stored either.
    EXPECT_THAT(Append(Request({variant})),
                StatusIs(absl::StatusCode::kAlreadyExists,
                         AllOf(HasSubstr(original.event_id()), HasSubstr("position 1"),
                               HasSubstr("a new fact needs a new event id"))))
        << what;
    EXPECT_THAT(Append(Request({NewEvent("a"), variant})),
                StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("position 1")))
        << what;
  }
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(AllStored(store_), SizeIs(2));
  EXPECT_THAT(store_.StreamVersion("a"), IsOkAndHolds(1u));
}

// ---- Expected versions. ----

TEST_F(LedgerTest, ExpectNoStream) {
  v1::AppendRequest r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_NO_STREAM);
  ASSERT_OK(Append(r));
  r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_NO_STREAM);
  EXPECT_THAT(Append(r), StatusIs(absl::StatusCode::kAborted,
                                  AllOf(HasSubstr("stream 'a' expected no stream"),
                                        HasSubstr("current version is 1"),
                                        HasSubstr("re-read the stream and retry"))));
  EXPECT_EQ(ledger_->Head().position, 1u);
}

TEST_F(LedgerTest, ExpectExactVersion) {
  v1::AppendRequest r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_EXACT, 0);  // 0: no stream yet
  ASSERT_OK(Append(r));
  AppendMany("a", 2);  // version 3

  r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_EXACT, 2);
  EXPECT_THAT(Append(r), StatusIs(absl::StatusCode::kAborted,
                                  AllOf(HasSubstr("expected version 2"),
                                        HasSubstr("current version is 3"))));
  r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_EXACT, 4);
  EXPECT_THAT(Append(r),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("current version is 3")));
  EXPECT_EQ(ledger_->Head().position, 3u);

  r = Request({NewEvent("a"), NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_EXACT, 3);
  absl::StatusOr<v1::AppendResponse> ok = Append(r);
  ASSERT_OK(ok);
  EXPECT_EQ(ok->events(1).stream_version(), 5u);
}

TEST_F(LedgerTest, ExpectAnyVersion) {
  v1::AppendRequest r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_ANY);
  ASSERT_OK(Append(r));  // no stream yet
  r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_ANY, 17);  // a version says more than "any"
  EXPECT_THAT(Append(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("a version goes with KIND_EXACT only")));
  r = Request({NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_ANY);
  absl::StatusOr<v1::AppendResponse> ok = Append(r);
  ASSERT_OK(ok);
  EXPECT_EQ(ok->events(0).stream_version(), 2u);
}

TEST_F(LedgerTest, MultiStreamAppendIsAtomicWhenASecondExpectationFails) {
  AppendMany("b", 2);
  const ChainPoint head = ledger_->Head();
  v1::AppendRequest r = Request({NewEvent("a"), NewEvent("b"), NewEvent("a")});
  Expect(r, "a", v1::ExpectedVersion::KIND_NO_STREAM);  // holds
  Expect(r, "b", v1::ExpectedVersion::KIND_EXACT, 5);   // fails: b is at 2
  EXPECT_THAT(Append(r), StatusIs(absl::StatusCode::kAborted,
                                  AllOf(HasSubstr("stream 'b'"),
                                        HasSubstr("current version is 2"))));
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(store_.StreamVersion("a"), IsOkAndHolds(0u));
  EXPECT_THAT(store_.StreamVersion("b"), IsOkAndHolds(2u));
  EXPECT_THAT(AllStored(store_), SizeIs(2));
  for (const v1::Event& e : r.events()) {
    EXPECT_THAT(store_.FindEventId(*ParseUuid(e.event_id())), IsOkAndHolds(std::nullopt));
  }
  // The failed request's ids are still free.
  r.clear_expected_versions();
  absl::StatusOr<v1::AppendResponse> ok = Append(r);
  ASSERT_OK(ok);
  EXPECT_THAT(Positions(*ok), ElementsAre(3, 4, 5));

  // Every expectation that fails is named, so that one re-read can fix them all.
  AppendMany("e", 2);
  AppendMany("f", 1);
  v1::AppendRequest two = Request({NewEvent("d"), NewEvent("e"), NewEvent("f")});
  Expect(two, "d", v1::ExpectedVersion::KIND_NO_STREAM);  // holds
  Expect(two, "e", v1::ExpectedVersion::KIND_EXACT, 5);   // e is at 2
  Expect(two, "f", v1::ExpectedVersion::KIND_NO_STREAM);  // f is at 1
  EXPECT_THAT(Append(two),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("stream 'e' expected version 5 but its current version is 2; "
                                 "stream 'f' expected no stream but its current version is 1; "
                                 "re-read the streams and retry")));
}

TEST_F(LedgerTest, QueuedAppendsSeeEachOther) {
  // Several appends queued at once (likely one group commit) must behave as if run one after
  // another: the second NO_STREAM on the same stream fails, and a retry queued behind the
  // original is a duplicate of it.
  v1::AppendRequest first = Request({NewEvent("x")});
  Expect(first, "x", v1::ExpectedVersion::KIND_NO_STREAM);
  v1::AppendRequest second = Request({NewEvent("x")});
  Expect(second, "x", v1::ExpectedVersion::KIND_NO_STREAM);
  v1::AppendRequest third = first;  // a retry of `first`

  std::mutex mu;
  std::vector<absl::StatusOr<v1::AppendResponse>> results(3, absl::UnknownError("not run"));
  std::atomic<int> done = 0;
  auto record = [&](int i) {
    return [&, i](absl::StatusOr<v1::AppendResponse> r) {
      std::lock_guard lock(mu);
      results[i] = std::move(r);
      ++done;
    };
  };
  ledger_->AppendAsync(first, std::string(kActor), /*admin=*/true, record(0));
  ledger_->AppendAsync(second, std::string(kActor), /*admin=*/true, record(1));
  ledger_->AppendAsync(third, std::string(kActor), /*admin=*/true, record(2));
  ASSERT_EQ(ledger_->WaitForHead(1, std::chrono::steady_clock::now() + std::chrono::seconds(30)),
            1u);
  ledger_.reset();  // drains the queue: every callback has run
  ASSERT_EQ(done.load(), 3);
  ASSERT_OK(results[0]);
  EXPECT_EQ(results[0]->events(0).position(), 1u);
  EXPECT_THAT(results[1],
              StatusIs(absl::StatusCode::kAborted, HasSubstr("current version is 1")));
  ASSERT_OK(results[2]);
  EXPECT_TRUE(results[2]->events(0).duplicate());
  EXPECT_EQ(results[2]->events(0).position(), 1u);
  EXPECT_THAT(AllStored(store_), SizeIs(1));
}

// ---- Reads. ----

TEST_F(LedgerTest, ReadGlobalForwardAndBackward) {
  AppendMany("a", 5);
  absl::StatusOr<v1::ReadResponse> r = Read("", 0, v1::DIRECTION_FORWARD);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(r->next(), 0u);
  EXPECT_EQ(r->head_position(), 5u);
  EXPECT_EQ(r->events(2).payload(), "payload-2");
  EXPECT_EQ(r->events(2).actor(), kActor);
  EXPECT_EQ(r->events(2).hash().size(), 32u);

  r = Read("", 0, v1::DIRECTION_BACKWARD);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(5, 4, 3, 2, 1));
  EXPECT_EQ(r->next(), 0u);

  r = Read("", 3, v1::DIRECTION_FORWARD);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(3, 4, 5));
  r = Read("", 3, v1::DIRECTION_BACKWARD);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(3, 2, 1));
  r = Read("", 5, v1::DIRECTION_BACKWARD);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(5, 4, 3, 2, 1));
}

TEST_F(LedgerTest, ReadGlobalPagesWithNext) {
  AppendMany("a", 7);
  absl::StatusOr<v1::ReadResponse> r = Read("", 1, v1::DIRECTION_FORWARD, 3);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(1, 2, 3));
  EXPECT_EQ(r->next(), 4u);
  r = Read("", 7, v1::DIRECTION_FORWARD, 1);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(7));
  EXPECT_EQ(r->next(), 0u) << "the last page has no next";
  r = Read("", 0, v1::DIRECTION_BACKWARD, 3);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(7, 6, 5));
  EXPECT_EQ(r->next(), 4u);
  r = Read("", 1, v1::DIRECTION_BACKWARD, 3);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(1));
  EXPECT_EQ(r->next(), 0u);

  EXPECT_THAT(ReadAllPositions("", 0, v1::DIRECTION_FORWARD, 3), ElementsAreArray(Iota(1, 7)));
  std::vector<uint64_t> backward = ReadAllPositions("", 0, v1::DIRECTION_BACKWARD, 2);
  std::vector<uint64_t> expected = Iota(1, 7);
  std::reverse(expected.begin(), expected.end());
  EXPECT_THAT(backward, ElementsAreArray(expected));
  // Page size equal to the log: one page, no next.
  r = Read("", 1, v1::DIRECTION_FORWARD, 7);
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), SizeIs(7));
  EXPECT_EQ(r->next(), 0u);
}

TEST_F(LedgerTest, ReadLimitDefaultAndMaximum) {
  v1::AppendRequest big;
  for (int i = 0; i < 1001; ++i) *big.add_events() = NewEvent("a");
  ASSERT_OK(Append(big));
  absl::StatusOr<v1::ReadResponse> r = Read("", 0, v1::DIRECTION_FORWARD, 0);
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), SizeIs(kDefaultReadLimit));
  EXPECT_EQ(r->next(), 1001u);
  r = Read("a", 0, v1::DIRECTION_FORWARD, 0);
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), SizeIs(kDefaultReadLimit));
  EXPECT_EQ(r->next(), 1001u);

  EXPECT_OK(Read("", 0, v1::DIRECTION_FORWARD, kMaxReadLimit));
  EXPECT_THAT(Read("", 0, v1::DIRECTION_FORWARD, kMaxReadLimit + 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("limit 10001"), HasSubstr("at most 10000"))));
  EXPECT_THAT(Read("a", 0, v1::DIRECTION_FORWARD, kMaxReadLimit + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 10000")));
}

TEST_F(LedgerTest, ReadPageEndsAtSixteenMebibytes) {
  v1::AppendRequest big;
  for (int i = 0; i < 20; ++i) *big.add_events() = NewEvent("a", std::string(1000000, 'x'));
  ASSERT_OK(Append(big));
  absl::StatusOr<v1::ReadResponse> r = Read("", 0, v1::DIRECTION_FORWARD, 100);
  ASSERT_OK(r);
  // 16 events hold just under 16 MiB; the 17th takes the page over and ends it.
  EXPECT_THAT(r->events(), SizeIs(17));
  EXPECT_EQ(r->next(), 18u);
  r = Read("", r->next(), v1::DIRECTION_FORWARD, 100);
  ASSERT_OK(r);
  EXPECT_THAT(Positions(*r), ElementsAre(18, 19, 20));
  EXPECT_EQ(r->next(), 0u);
}

TEST_F(LedgerTest, ReadPastTheHead) {
  // Empty ledger: nothing to read, position 1 is the next to come.
  absl::StatusOr<v1::ReadResponse> r = Read("", 0, v1::DIRECTION_FORWARD);
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), IsEmpty());
  r = Read("", 0, v1::DIRECTION_BACKWARD);
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), IsEmpty());
  EXPECT_OK(Read("", 1, v1::DIRECTION_FORWARD));
  EXPECT_THAT(Read("", 2, v1::DIRECTION_FORWARD),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("past the head (0)"),
                             HasSubstr("read forwards from 1 to 1 (the ledger is empty)"))));
  EXPECT_THAT(Read("", 1, v1::DIRECTION_BACKWARD),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("the ledger is empty: nothing to read")));

  AppendMany("a", 3);
  r = Read("", 4, v1::DIRECTION_FORWARD);  // head + 1: an empty page, not an error
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), IsEmpty());
  EXPECT_EQ(r->next(), 0u);
  EXPECT_EQ(r->head_position(), 3u);
  EXPECT_THAT(Read("", 5, v1::DIRECTION_FORWARD),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("position 5 is past the head (3)"),
                             HasSubstr("read forwards from 1 to 4"))));
  EXPECT_THAT(Read("", 4, v1::DIRECTION_BACKWARD),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("position 4"), HasSubstr("read backwards from 3 down to 1"))));
  EXPECT_THAT(Read("", UINT64_MAX, v1::DIRECTION_FORWARD),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("past the head")));
}

TEST_F(LedgerTest, ReadStreamForwardAndBackwardWithNext) {
  // a: versions 1..5 at positions 1, 3, 5, 7, 9; b in between.
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(Append(Request({NewEvent("a"), NewEvent("b")})));
  }
  absl::StatusOr<v1::ReadResponse> r = Read("a", 0, v1::DIRECTION_FORWARD);
  ASSERT_OK(r);
  EXPECT_THAT(Versions(*r), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Positions(*r), ElementsAre(1, 3, 5, 7, 9));
  EXPECT_EQ(r->next(), 0u);
  EXPECT_EQ(r->head_position(), 10u);
  for (const v1::Event& e : r->events()) EXPECT_EQ(e.stream_id(), "a");

  r = Read("a", 2, v1::DIRECTION_FORWARD, 2);
  ASSERT_OK(r);
  EXPECT_THAT(Versions(*r), ElementsAre(2, 3));
  EXPECT_EQ(r->next(), 4u);
  r = Read("a", 4, v1::DIRECTION_FORWARD, 2);
  ASSERT_OK(r);
  EXPECT_THAT(Versions(*r), ElementsAre(4, 5));
  EXPECT_EQ(r->next(), 0u) << "the stream ends with this page";

  r = Read("a", 0, v1::DIRECTION_BACKWARD, 2);
  ASSERT_OK(r);
  EXPECT_THAT(Versions(*r), ElementsAre(5, 4));
  EXPECT_THAT(Positions(*r), ElementsAre(9, 7));
  EXPECT_EQ(r->next(), 3u);
  r = Read("a", 2, v1::DIRECTION_BACKWARD, 5);
  ASSERT_OK(r);
  EXPECT_THAT(Versions(*r), ElementsAre(2, 1));
  EXPECT_EQ(r->next(), 0u);

  EXPECT_THAT(ReadAllPositions("b", 0, v1::DIRECTION_FORWARD, 2),
              ElementsAre(2, 4, 6, 8, 10));
  EXPECT_THAT(ReadAllPositions("b", 0, v1::DIRECTION_BACKWARD, 3),
              ElementsAre(10, 8, 6, 4, 2));
}

TEST_F(LedgerTest, ReadUnknownStreamIsNotFound) {
  AppendMany("a", 1);
  EXPECT_THAT(Read("programme/NONE", 0, v1::DIRECTION_FORWARD),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("'programme/NONE'"), HasSubstr("no events"))));
  EXPECT_THAT(Read("programme/NONE", 0, v1::DIRECTION_BACKWARD),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'programme/NONE'")));
}

TEST_F(LedgerTest, ReadStreamPastItsEndIsOutOfRange) {
  AppendMany("a", 3);
  absl::StatusOr<v1::ReadResponse> r = Read("a", 4, v1::DIRECTION_FORWARD);  // version + 1
  ASSERT_OK(r);
  EXPECT_THAT(r->events(), IsEmpty());
  EXPECT_THAT(Read("a", 5, v1::DIRECTION_FORWARD),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("version 5 is past the end of stream 'a'"),
                             HasSubstr("(version 3); read it forwards from 1 to 4 (4: its next "
                                       "event, once there is one) or backwards from 1 to 3"))));
  EXPECT_THAT(Read("a", 4, v1::DIRECTION_BACKWARD),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("version 4")));
}

TEST_F(LedgerTest, ReadRejectsMalformedRequests) {
  AppendMany("a", 1);
  EXPECT_THAT(Read("/a", 0, v1::DIRECTION_FORWARD),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stream_id")));
  EXPECT_THAT(Read("", 0, static_cast<v1::Direction>(9)),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("direction 9"),
                                                               HasSubstr("DIRECTION_BACKWARD"))));
}

// ---- Concurrency. ----

TEST_F(LedgerTest, ConcurrentAppendsGetDensePositionsAndVersions) {
  constexpr int kThreads = 16;
  constexpr int kAppendsPerThread = 40;
  constexpr int kStreams = 5;
  std::mutex mu;
  std::vector<uint64_t> positions;
  std::map<std::string, std::vector<uint64_t>> versions;  // as acknowledged
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        // 1 or 2 events, to shared streams.
        v1::AppendRequest r = Request({NewEvent(absl::StrCat("s", (t + i) % kStreams))});
        if (i % 3 == 0) *r.add_events() = NewEvent(absl::StrCat("s", (t * 7 + i) % kStreams));
        absl::StatusOr<v1::AppendResponse> response =
            ledger_->Append(r, absl::StrCat("thread-", t));
        if (!response.ok()) {
          ADD_FAILURE() << response.status();
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        for (int k = 0; k < response->events_size(); ++k) {
          EXPECT_FALSE(response->events(k).duplicate());
          positions.push_back(response->events(k).position());
          versions[r.events(k).stream_id()].push_back(response->events(k).stream_version());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  std::sort(positions.begin(), positions.end());
  const uint64_t n = positions.size();
  EXPECT_THAT(positions, ElementsAreArray(Iota(1, n)));
  EXPECT_EQ(ledger_->Head().position, n);
  uint64_t total = 0;
  for (auto& [stream, acknowledged] : versions) {
    std::sort(acknowledged.begin(), acknowledged.end());
    EXPECT_THAT(acknowledged, ElementsAreArray(Iota(1, acknowledged.size()))) << stream;
    EXPECT_THAT(store_.StreamVersion(stream), IsOkAndHolds(acknowledged.size()));
    // And a stream read gives versions 1..k at increasing positions.
    absl::StatusOr<v1::ReadResponse> read = Read(stream, 0, v1::DIRECTION_FORWARD, kMaxReadLimit);
    ASSERT_OK(read);
    EXPECT_THAT(Versions(*read), ElementsAreArray(Iota(1, acknowledged.size()))) << stream;
    std::vector<uint64_t> at = Positions(*read);
    EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << stream;
    total += acknowledged.size();
  }
  EXPECT_EQ(total, n);
  EXPECT_THAT(VerifyChain(store_, ChainPoint{}, n), IsOkAndHolds(ledger_->Head()));
}

// ---- Waiting for the head. ----

TEST_F(LedgerTest, WaitForHeadReturnsWhenTheHeadReachesThePosition) {
  const auto far = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  EXPECT_EQ(ledger_->WaitForHead(0, far), 0u);  // already there
  // A deadline in the past returns the current head at once.
  EXPECT_EQ(ledger_->WaitForHead(5, std::chrono::steady_clock::now()), 0u);

  std::atomic<uint64_t> seen = 0;
  std::thread waiter([&] { seen = ledger_->WaitForHead(3, far); });
  AppendMany("a", 3);
  waiter.join();
  // Had it returned early, it would have reported a head below 3.
  EXPECT_EQ(seen.load(), 3u);
  EXPECT_EQ(ledger_->WaitForHead(2, far), 3u);
}

TEST_F(LedgerTest, WaitForHeadGivesUpAtTheDeadline) {
  AppendMany("a", 1);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ledger_->WaitForHead(2, start + std::chrono::milliseconds(20)), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
}

TEST_F(LedgerTest, CloseSubscriptionsWakesWaiters) {
  EXPECT_FALSE(ledger_->subscriptions_closed());
  const auto far = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::atomic<int> woken = 0;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      EXPECT_EQ(ledger_->WaitForHead(100, far), 0u);
      ++woken;
    });
  }
  ledger_->CloseSubscriptions();
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(woken.load(), 3);
  EXPECT_LT(std::chrono::steady_clock::now(), far);
  EXPECT_TRUE(ledger_->subscriptions_closed());
  EXPECT_EQ(ledger_->WaitForHead(100, far), 0u) << "closed: returns at once";
  // Appends continue.
  EXPECT_OK(Append(Request({NewEvent("a")})));
  EXPECT_EQ(ledger_->Head().position, 1u);
}

// ---- Lifetime. ----

TEST_F(LedgerTest, DestructionCommitsWhatIsQueued) {
  constexpr int kCount = 50;
  std::atomic<int> ok = 0;
  std::atomic<int> called = 0;
  for (int i = 0; i < kCount; ++i) {
    ledger_->AppendAsync(Request({NewEvent("a")}), std::string(kActor), /*admin=*/true,
                         [&](absl::StatusOr<v1::AppendResponse> r) {
                           if (r.ok()) ++ok;
                           ++called;
                         });
  }
  ledger_.reset();
  EXPECT_EQ(called.load(), kCount);
  EXPECT_EQ(ok.load(), kCount);
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(::testing::Field(&ChainPoint::position,
                                                               static_cast<uint64_t>(kCount))));
}

TEST_F(LedgerTest, ReopenedLedgerContinuesTheChain) {
  v1::Event first = NewEvent("a");
  ASSERT_OK(Append(Request({first, NewEvent("b")})));
  AppendMany("a", 2);
  const ChainPoint head = ledger_->Head();
  ASSERT_EQ(head.position, 4u);

  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(store_.LoadVerified(), IsOkAndHolds(head)) << "Open records the verified point";

  absl::StatusOr<v1::AppendResponse> r = Append(Request({NewEvent("a")}));
  ASSERT_OK(r);
  EXPECT_EQ(r->events(0).position(), 5u);
  EXPECT_EQ(r->events(0).stream_version(), 4u);
  EXPECT_EQ(AllStored(store_).at(4).prev_hash(), crypto::AsBytes(head.hash));
  EXPECT_THAT(VerifyChain(store_, ChainPoint{}, 5), IsOkAndHolds(ledger_->Head()));

  // Idempotency survives the reopen.
  absl::StatusOr<v1::AppendResponse> retry = Append(Request({first}));
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->events(0).duplicate());
  EXPECT_EQ(retry->events(0).position(), 1u);

  // And again, now from a verified point above zero.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->Head().position, 5u);
  ASSERT_OK(Append(Request({NewEvent("c")})));
  EXPECT_THAT(VerifyChain(store_, ChainPoint{}, 6), IsOkAndHolds(ledger_->Head()));
}

// ---- Tampering. ----

// Copies `source` into a fresh MemoryEventStore (verified point 0, so Open checks everything),
// passing each event's bytes through `tamper` first.
std::unique_ptr<MemoryEventStore> CopyStore(
    EventStore& source, const std::function<void(uint64_t, std::string&)>& tamper) {
  auto copy = std::make_unique<MemoryEventStore>();
  absl::StatusOr<ChainPoint> head = source.LoadHead();
  EXPECT_OK(head);
  std::vector<EventWrite> writes;
  EXPECT_OK(source.ScanLog(1, true, [&](uint64_t p, absl::string_view bytes) {
    absl::StatusOr<v1::Event> e = DecodeStoredEvent(p, bytes);
    EXPECT_OK(e);
    EventWrite& w = writes.emplace_back();
    w.position = p;
    w.stream_id = e->stream_id();
    w.stream_version = e->stream_version();
    w.event_id = *ParseUuid(e->event_id());
    w.stored_bytes = std::string(bytes);
    tamper(p, w.stored_bytes);
    return true;
  }));
  EXPECT_OK(copy->Commit(writes, *head));
  return copy;
}

class LedgerTamperTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    for (int i = 1; i <= 5; ++i) {
      ASSERT_OK(Append(Request({NewEvent("a", absl::StrCat("payload-", i))})));
    }
    ledger_.reset();
  }

  absl::Status OpenCopy(const std::function<void(uint64_t, std::string&)>& tamper) {
    std::unique_ptr<MemoryEventStore> copy = CopyStore(store_, tamper);
    return Ledger::Open(copy.get(), &clock_).status();
  }
};

TEST_F(LedgerTamperTest, UntouchedCopyOpens) {
  EXPECT_OK(OpenCopy([](uint64_t, std::string&) {}));
}

TEST_F(LedgerTamperTest, FlippedPayloadByteIsDataLossNamingThePosition) {
  absl::Status s = OpenCopy([](uint64_t p, std::string& bytes) {
    if (p != 3) return;
    size_t at = bytes.find("payload-3");
    ASSERT_NE(at, std::string::npos);
    bytes[at + 8] = '9';
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr("hash chain broken at position 3: its content does not give "
                                    "the hash stored with it (the event was changed after it was "
                                    "written)")));
}

TEST_F(LedgerTamperTest, ForgedHashIsCaughtByTheNextEvent) {
  // The forger fixes event 3's own hash; event 4 still names the old one as its prev_hash.
  absl::Status s = OpenCopy([](uint64_t p, std::string& bytes) {
    if (p != 3) return;
    // FORMAT.md by hand: record (the event without its hash) || 0x7A 0x20 || hash.
    v1::Event e = *DecodeStoredEvent(p, bytes);
    e.set_payload("forged");
    e.clear_hash();
    crypto::Hash prev;
    ASSERT_EQ(e.prev_hash().size(), prev.size());
    std::copy(e.prev_hash().begin(), e.prev_hash().end(), prev.begin());
    std::string record = e.SerializeAsString();
    crypto::Hash hash = crypto::ChainHash(prev, record);
    bytes = record + "\x7a\x20" + std::string(crypto::AsBytes(hash));
    ASSERT_OK(VerifyStoredEvent(p, bytes, prev)) << "the forgery is self-consistent";
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr("hash chain broken at position 4: the previous hash it holds "
                                    "is not the hash of position 3 (that event was replaced, or "
                                    "this one was, after this one was written)")));
}

TEST_F(LedgerTamperTest, TamperedHeadEventIsDataLoss) {
  absl::Status s = OpenCopy([](uint64_t p, std::string& bytes) {
    if (p == 5) bytes[bytes.size() - 1] ^= 0x01;  // the last hash byte
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 5")));
}

TEST_F(LedgerTamperTest, TruncatedEventIsDataLoss) {
  absl::Status s = OpenCopy([](uint64_t p, std::string& bytes) {
    if (p == 2) bytes.resize(bytes.size() - 10);
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 2")));
}

TEST_F(LedgerTamperTest, TamperedVerifiedPointIsDataLoss) {
  // The store's own verified point (5) is trusted only while event 5 still has its hash.
  ASSERT_NO_FATAL_FAILURE(Reopen());  // Open records the verified point
  ledger_.reset();
  ASSERT_THAT(store_.LoadVerified(), IsOkAndHolds(::testing::Field(&ChainPoint::position, 5u)));
  ChainPoint verified = *store_.LoadVerified();
  verified.hash[0] ^= 0xFF;
  ASSERT_OK(store_.SaveVerified(verified));
  EXPECT_THAT(Ledger::Open(&store_, &clock_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 5")));
}

// ---- Storage failure. ----

// Holds the calls that pass through it from Hold() until Release().
class Gate {
 public:
  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  // Waits until a call is held.
  void AwaitHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_ > 0; });
  }
  void Pass() {
    std::unique_lock lock(mu_);
    ++held_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    --held_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;  // guarded by mu_
  int held_ = 0;       // calls waiting; guarded by mu_
};

// Fails Write, Sync or StreamVersion on demand, and holds writes or syncs in flight on demand.
class FaultyEventStore final : public ::govledger::testing::DamagedIndexStore {
 public:
  std::atomic<bool> fail_write = false;
  std::atomic<int> fail_write_number = 0;  // the write (counting from 1) that fails; 0: none
  std::atomic<bool> fail_sync = false;
  std::atomic<int> writes = 0;
  std::atomic<int> syncs = 0;
  std::string fail_stream_version_of;  // set before use; read by the writer
  std::atomic<bool> damaged_id_index = false;  // FindEventIds is DATA_LOSS
  std::atomic<uint64_t> lost = 0;      // a position the store has lost (0: none)
  Gate write_gate;                     // a Write waits here before writing anything
  Gate sync_gate;                      // a Sync waits here before syncing

  absl::Status Write(const std::vector<EventWrite>& events, const ChainPoint& head) override {
    const int number = ++writes;
    write_gate.Pass();
    if (fail_write || number == fail_write_number) {
      return absl::InternalError("storage write failed: disk on fire");
    }
    return ForwardingEventStore::Write(events, head);
  }
  absl::Status Sync() override {
    ++syncs;
    sync_gate.Pass();
    if (fail_sync) return absl::InternalError("storage sync failed: fdatasync EIO");
    return ForwardingEventStore::Sync();
  }
  absl::StatusOr<uint64_t> StreamVersion(absl::string_view stream_id) override {
    if (stream_id == fail_stream_version_of) {
      return absl::InternalError("storage read stream version failed: bad sector");
    }
    return ForwardingEventStore::StreamVersion(stream_id);
  }
  absl::StatusOr<std::vector<std::optional<uint64_t>>> FindEventIds(
      const std::vector<UuidBytes>& ids) override {
    if (damaged_id_index) {
      return absl::DataLossError(
          "storage read event id found the database corrupt: block "
          "checksum mismatch");
    }
    return DamagedIndexStore::FindEventIds(ids);
  }
  // A lost event ends a scan, as a gap in RocksDB's dense keys does.
  absl::Status ScanLog(uint64_t from, bool forward, const LogVisitor& fn) override {
    return DamagedIndexStore::ScanLog(
        from, forward, [&](uint64_t p, absl::string_view s) { return p != lost && fn(p, s); });
  }
};

// A lost event below the head is reported where a page would have held it, never passed off
// as a short page; the events either side of it are still read.
TEST(LedgerLostEventTest, AReadThatMeetsALostEventIsDataLossNamingIt) {
  FakeClock clock(kT0);
  FaultyEventStore store;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, {});
  ASSERT_OK(ledger);
  for (int i = 0; i < 5; ++i) ASSERT_OK((*ledger)->Append(Request({NewEvent("s")}), "alice"));
  store.lost = 3;
  auto read = [&](uint64_t from, v1::Direction direction, uint32_t limit) {
    v1::ReadRequest request;
    request.set_from(from);
    request.set_direction(direction);
    request.set_limit(limit);
    return (*ledger)->Read(request);
  };
  EXPECT_THAT(read(1, v1::DIRECTION_FORWARD, 10),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 3")));
  EXPECT_THAT(read(5, v1::DIRECTION_BACKWARD, 10),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 3")));
  EXPECT_THAT(read(3, v1::DIRECTION_FORWARD, 10),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("position 3")));
  // A page that fills before the loss is whole, and says where the next one starts.
  absl::StatusOr<v1::ReadResponse> before = read(1, v1::DIRECTION_FORWARD, 2);
  ASSERT_OK(before);
  EXPECT_THAT(before->events(), SizeIs(2));
  EXPECT_EQ(before->next(), 3u);
  absl::StatusOr<v1::ReadResponse> after = read(4, v1::DIRECTION_FORWARD, 10);
  ASSERT_OK(after);
  ASSERT_THAT(after->events(), SizeIs(2));
  EXPECT_EQ(after->events(1).position(), 5u);
  EXPECT_EQ(after->next(), 0u);
  absl::StatusOr<v1::ReadResponse> back = read(2, v1::DIRECTION_BACKWARD, 10);
  ASSERT_OK(back);
  EXPECT_THAT(back->events(), SizeIs(2));
  EXPECT_EQ(back->next(), 0u);
}

// An event id index entry that names an event of another id is DATA_LOSS naming it, noted for
// monitoring, and nothing is stored: it had answered a new append as a retry ("duplicate"),
// storing nothing (a reviewer's planted entry).
TEST(LedgerLostEventTest, AnEventIdIndexEntryNamingAnotherEventIsDataLoss) {
  FakeClock clock(kT0);
  FaultyEventStore store;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, {});
  ASSERT_OK(ledger);
  ASSERT_OK((*ledger)->Append(Request({NewEvent("notes/a")}), "alice"));
  store.every_id_at = 1;
  v1::AppendRequest fresh = Request({NewEvent("notes/b")});
  const std::string id = fresh.events(0).event_id();
  EXPECT_THAT(
      (*ledger)->Append(fresh, "alice"),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr(absl::StrCat("event at position 1: the event id index gives it "
                                      "for event id ",
                                      absl::AsciiStrToLower(id), ", but its event id is "))));
  EXPECT_EQ((*ledger)->Head().position, 1u);
  EXPECT_EQ((*ledger)->integrity_failure().code(), absl::StatusCode::kDataLoss);
}

// A stream index entry that names another stream's event, or another version of its own, is
// DATA_LOSS naming the position and both: never that event served as the stream's (a
// reviewer's rewritten entry had notes/a read back notes/b's event).
TEST(LedgerLostEventTest, AStreamIndexEntryNamingAnotherEventIsDataLoss) {
  FakeClock clock(kT0);
  FaultyEventStore store;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, {});
  ASSERT_OK(ledger);
  for (const char* stream : {"notes/a", "notes/b", "notes/a", "notes/a"}) {
    ASSERT_OK((*ledger)->Append(Request({NewEvent(stream)}), "alice"));
  }
  v1::ReadRequest request;
  request.set_stream_id("notes/a");
  store.misindexed_stream = "notes/a";
  store.misindexed_to = 2;  // notes/b's
  absl::StatusOr<v1::ReadResponse> damaged = (*ledger)->Read(request);
  EXPECT_THAT(damaged, StatusIs(absl::StatusCode::kDataLoss,
                                AllOf(HasSubstr("position 2: the stream index gives it as version "
                                                "1 of stream 'notes/a', but it is version 1 of "
                                                "stream 'notes/b'"),
                                      HasSubstr("start it once with --rebuild-indexes"))));
  EXPECT_EQ(errors::ErrorInfoOf(damaged.status())->reason(), errors::reason::kIndexDamaged);
  store.misindexed_to = 3;  // notes/a's version 2
  EXPECT_THAT(
      (*ledger)->Read(request),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("but it is version 2 of stream 'notes/a'")));
  store.misindexed_to = 1;  // as it should be
  absl::StatusOr<v1::ReadResponse> read = (*ledger)->Read(request);
  ASSERT_OK(read);
  ASSERT_THAT(read->events(), SizeIs(3));
  EXPECT_EQ(read->events(1).position(), 3u);
  // An entry deleted: the read ends there and says so, forwards and backwards, rather than
  // pass the stream off as shorter (a reviewer's read of version 1 alone, exit 0).
  store.unindexed_version = 2;
  for (v1::Direction direction : {v1::DIRECTION_FORWARD, v1::DIRECTION_BACKWARD}) {
    request.set_direction(direction);
    EXPECT_THAT((*ledger)->Read(request),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("version 2 of stream 'notes/a' is missing from the stream "
                                   "index, whose last version is 3")));
  }
  // Read from past its end (forwards): an empty page, as before.
  request.set_direction(v1::DIRECTION_FORWARD);
  request.set_from(4);
  store.unindexed_version = 0;
  absl::StatusOr<v1::ReadResponse> past = (*ledger)->Read(request);
  ASSERT_OK(past);
  EXPECT_THAT(past->events(), SizeIs(0));
}

// An append's ids are looked up before it is queued; one committed after that look-up (here,
// while the look-up's append waited behind it) is still found, through the writer's memory of
// recent commits or, past that, through the store again.
class LedgerRecentIdsTest : public ::testing::TestWithParam<size_t> {
 protected:
  // Appends `first` and holds its commit, then queues `second` (looked up while `first` is
  // not yet stored), releases the commit, and returns both outcomes.
  std::pair<absl::StatusOr<v1::AppendResponse>, absl::StatusOr<v1::AppendResponse>> Race(
      const v1::AppendRequest& first, const v1::AppendRequest& second) {
    LedgerOptions options;
    options.recent_ids = GetParam();
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store_, &clock_, options);
    EXPECT_OK(ledger);
    // Something committed first, so a window of 0 has moved past the race.
    EXPECT_OK((*ledger)->Append(Request({NewEvent("before")}), "alice"));
    store_.write_gate.Hold();
    std::promise<absl::StatusOr<v1::AppendResponse>> a, b;
    (*ledger)->AppendAsync(first, "alice", /*admin=*/true,
                           [&](auto r) { a.set_value(std::move(r)); });
    store_.write_gate.AwaitHeld();
    (*ledger)->AppendAsync(second, "alice", /*admin=*/true,
                           [&](auto r) { b.set_value(std::move(r)); });
    store_.write_gate.Release();
    auto result = std::make_pair(a.get_future().get(), b.get_future().get());
    ledger->reset();
    return result;
  }

  FakeClock clock_{kT0};
  FaultyEventStore store_;
};

TEST_P(LedgerRecentIdsTest, RetryLookedUpBeforeTheOriginalCommittedIsADuplicate) {
  const v1::AppendRequest original = Request({NewEvent("x"), NewEvent("y")});
  auto [first, retry] = Race(original, original);
  ASSERT_OK(first);
  ASSERT_OK(retry);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(retry->events(i).duplicate()) << i;
    EXPECT_EQ(retry->events(i).position(), first->events(i).position()) << i;
  }
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(::testing::Field(&ChainPoint::position, 3u)));
}

TEST_P(LedgerRecentIdsTest, SameIdWithOtherContentLookedUpBeforeTheOriginalIsAlreadyExists) {
  const v1::AppendRequest original = Request({NewEvent("x", "one")});
  v1::AppendRequest other = Request({NewEvent("x", "two")});
  other.mutable_events(0)->set_event_id(original.events(0).event_id());
  auto [first, conflict] = Race(original, other);
  ASSERT_OK(first);
  EXPECT_THAT(conflict, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("position 2")));
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(::testing::Field(&ChainPoint::position, 2u)));
}

// 65,536: the default, which remembers the race; 0: remembers nothing, so the writer looks in
// the store again.
INSTANTIATE_TEST_SUITE_P(Windows, LedgerRecentIdsTest, ::testing::Values(65536, 0));

// ---- The writer's cache of stream versions. ----

// Past its bound the cache is emptied and refilled from the store: versions and expected-version
// checks stay right for streams it has forgotten.
TEST(LedgerStreamCacheTest, StreamsForgottenByTheCacheKeepTheirVersions) {
  FakeClock clock(kT0);
  MemoryEventStore store;
  LedgerOptions options;
  options.stream_cache_entries = 2;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, options);
  ASSERT_OK(ledger);
  for (uint64_t round = 1; round <= 3; ++round) {
    for (int i = 0; i < 5; ++i) {
      const std::string stream = absl::StrCat("s", i);
      SCOPED_TRACE(absl::StrCat(stream, " round ", round));
      v1::AppendRequest stale = Request({NewEvent(stream)});
      Expect(stale, stream, v1::ExpectedVersion::KIND_EXACT, round);  // one ahead
      EXPECT_THAT((*ledger)->Append(stale, std::string(kActor)),
                  StatusIs(absl::StatusCode::kAborted,
                           HasSubstr(absl::StrCat("current version is ", round - 1))));
      v1::AppendRequest r = Request({NewEvent(stream)});
      Expect(r, stream, v1::ExpectedVersion::KIND_EXACT, round - 1);
      absl::StatusOr<v1::AppendResponse> ok = (*ledger)->Append(r, std::string(kActor));
      ASSERT_OK(ok);
      EXPECT_EQ(ok->events(0).stream_version(), round);
    }
  }
  EXPECT_EQ((*ledger)->Head().position, 15u);
}

// ---- The bound on appends waiting for the writer. ----

TEST(LedgerQueueBoundTest, AnAppendPastTheBoundIsRefusedAtOnceAndStoresNothing) {
  FakeClock clock(kT0);
  FaultyEventStore store;
  LedgerOptions options;
  options.max_queued_bytes = 1;  // any append waiting behind another is over the bound
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store, &clock, options);
  ASSERT_OK(ledger);
  store.write_gate.Hold();
  std::promise<absl::StatusOr<v1::AppendResponse>> first, second, third;
  (*ledger)->AppendAsync(Request({NewEvent("a")}), "alice", /*admin=*/true,
                         [&](auto r) { first.set_value(std::move(r)); });
  store.write_gate.AwaitHeld();  // the writer holds `first`: the queue is empty
  // Alone in the queue, an append always fits, however large.
  (*ledger)->AppendAsync(Request({NewEvent("b"), NewEvent("c")}), "alice", /*admin=*/true,
                         [&](auto r) { second.set_value(std::move(r)); });
  const v1::AppendRequest refused = Request({NewEvent("d")});
  (*ledger)->AppendAsync(refused, "alice", /*admin=*/true,
                         [&](auto r) { third.set_value(std::move(r)); });
  // Refused before any commit finishes (the store still holds the first).
  std::future<absl::StatusOr<v1::AppendResponse>> third_result = third.get_future();
  ASSERT_EQ(third_result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_THAT(third_result.get(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("waiting to be committed"), HasSubstr("retry"))));
  store.write_gate.Release();
  ASSERT_OK(first.get_future().get());
  ASSERT_OK(second.get_future().get());
  EXPECT_EQ((*ledger)->Head().position, 3u);
  std::optional<UuidBytes> refused_id = ParseUuid(refused.events(0).event_id());
  ASSERT_TRUE(refused_id.has_value());
  EXPECT_THAT(store.FindEventId(*refused_id), IsOkAndHolds(std::nullopt));
  // Once the queue has drained, the same append goes in.
  absl::StatusOr<v1::AppendResponse> retried = (*ledger)->Append(refused, "alice");
  ASSERT_OK(retried);
  EXPECT_EQ(retried->events(0).position(), 4u);
}

// A ledger on a FaultyEventStore.
class LedgerOnFaultyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }
  void Open() {
    LedgerOptions options;
    options.on_storage_failure = [this](const absl::Status& failure) {
      std::lock_guard lock(failures_mu_);
      failures_.push_back(failure);
    };
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store_, &clock_, options);
    ASSERT_OK(ledger);
    ledger_ = std::move(*ledger);
  }
  std::vector<absl::Status> failures() {
    std::lock_guard lock(failures_mu_);
    return failures_;
  }

  FakeClock clock_{kT0};
  FaultyEventStore store_;
  std::mutex failures_mu_;
  std::vector<absl::Status> failures_;  // what on_storage_failure was told; guarded
  std::unique_ptr<Ledger> ledger_;
};

class LedgerStorageFailureTest : public LedgerOnFaultyStoreTest {};
class LedgerPipelineTest : public LedgerOnFaultyStoreTest {};

TEST_F(LedgerStorageFailureTest, FailedWriteFailsTheAppendAndStopsTheWriter) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  const ChainPoint head = ledger_->Head();
  EXPECT_OK(ledger_->storage_failure());

  store_.fail_write = true;
  EXPECT_THAT(ledger_->Append(Request({NewEvent("a")}), "alice"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("storage failure"), HasSubstr("disk on fire"),
                             HasSubstr("restart govledgerd"))));
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(ledger_->storage_failure(), StatusIs(absl::StatusCode::kInternal,
                                                   HasSubstr("disk on fire")));
  ASSERT_THAT(failures(), SizeIs(1));
  EXPECT_THAT(failures()[0].message(), HasSubstr("disk on fire"));
  const int writes = store_.writes.load();

  // The store recovers, but the ledger does not trust it until restarted.
  store_.fail_write = false;
  EXPECT_THAT(ledger_->Append(Request({NewEvent("b")}), "alice"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk on fire")));
  EXPECT_EQ(store_.writes.load(), writes) << "a stopped writer must not touch the store";
  EXPECT_THAT(failures(), SizeIs(1)) << "told once";
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(head));
  // Reads still work.
  v1::ReadRequest read;
  absl::StatusOr<v1::ReadResponse> page = ledger_->Read(read);
  ASSERT_OK(page);
  EXPECT_THAT(page->events(), SizeIs(1));

  // A restart re-reads the store and carries on from the last committed event.
  ledger_.reset();
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_OK(ledger_->storage_failure());
  absl::StatusOr<v1::AppendResponse> r = ledger_->Append(Request({NewEvent("a")}), "alice");
  ASSERT_OK(r);
  EXPECT_EQ(r->events(0).position(), 2u);
}

TEST_F(LedgerStorageFailureTest, FailedReadWhileStagingStoresNoPartOfTheRequest) {
  store_.fail_stream_version_of = "b";
  // The read of b's version fails after a's event is ready to go: all or nothing.
  EXPECT_THAT(ledger_->Append(Request({NewEvent("a"), NewEvent("b")}), "alice"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("bad sector")));
  EXPECT_EQ(ledger_->Head().position, 0u);
  EXPECT_THAT(store_.LoadHead(), IsOkAndHolds(ChainPoint{}));
  EXPECT_THAT(store_.StreamVersion("a"), IsOkAndHolds(0u));
}

// Damage an append meets in the event id index is noted for monitoring, as a read's is
// (stats' integrity failure): appends failing with DATA_LOSS had left every alert green.
TEST_F(LedgerStorageFailureTest, DamageAnAppendMeetsIsNoted) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  EXPECT_OK(ledger_->integrity_failure());
  store_.damaged_id_index = true;
  EXPECT_THAT(ledger_->Append(Request({NewEvent("a")}), "alice"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("block checksum mismatch")));
  EXPECT_THAT(ledger_->integrity_failure(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("read event id")));
  EXPECT_EQ(ledger_->Head().position, 1u);
}

// A clean stop after damage was found does not move the verified point past what this start
// verified: the next start checks again what was appended since (a damaged SST had served on
// as verified after a restart).
TEST_F(LedgerStorageFailureTest, DamageFoundKeepsTheVerifiedPointWhereTheStartLeftIt) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  ledger_.reset();
  EXPECT_EQ(store_.LoadVerified()->position, 1u);  // a clean stop without damage
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  store_.damaged_id_index = true;
  EXPECT_THAT(ledger_->Append(Request({NewEvent("a")}), "alice"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("block checksum mismatch")));
  EXPECT_EQ(ledger_->Head().position, 2u);
  ledger_.reset();
  EXPECT_EQ(store_.LoadVerified()->position, 1u);
}

// ---- The pipeline: the writer runs ahead of the sync, and nothing unsynced is served. ----

// Waits (up to 10 s) until the store's own head reaches `position`.
void AwaitStoreHead(EventStore& store, uint64_t position) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<ChainPoint> head = store.LoadHead();
    if (head.ok() && head->position >= position) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ADD_FAILURE() << "the store's head did not reach " << position;
}

using AppendFuture = std::future<absl::StatusOr<v1::AppendResponse>>;

AppendFuture AppendInBackground(Ledger& ledger, const v1::AppendRequest& request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<v1::AppendResponse>>>();
  AppendFuture future = promise->get_future();
  ledger.AppendAsync(request, "alice", /*admin=*/true,
                     [promise](auto r) { promise->set_value(std::move(r)); });
  return future;
}

bool Waiting(AppendFuture& f) {
  return f.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout;
}

TEST_F(LedgerPipelineTest, WrittenButUnsyncedEventsAreNeitherAcknowledgedNorServed) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));

  store_.sync_gate.Hold();
  AppendFuture first = AppendInBackground(*ledger_, Request({NewEvent("a"), NewEvent("b")}));
  store_.sync_gate.AwaitHeld();  // `first` is written; its sync is held
  // The writer goes on: the next group is written while the last one syncs.
  AppendFuture second = AppendInBackground(*ledger_, Request({NewEvent("c")}));
  AwaitStoreHead(store_, 4);
  EXPECT_TRUE(Waiting(first));
  EXPECT_TRUE(Waiting(second));

  // Readers see only the published head.
  EXPECT_EQ(ledger_->Head().position, 1u);
  EXPECT_EQ(ledger_->WaitForHead(2, std::chrono::steady_clock::now() +
                                          std::chrono::milliseconds(50)),
            1u);
  absl::StatusOr<v1::ReadResponse> log = ledger_->Read(v1::ReadRequest());
  ASSERT_OK(log);
  EXPECT_THAT(log->events(), SizeIs(1));
  EXPECT_EQ(log->head_position(), 1u);
  v1::ReadRequest stream_a;
  stream_a.set_stream_id("a");
  absl::StatusOr<v1::ReadResponse> a = ledger_->Read(stream_a);
  ASSERT_OK(a);
  EXPECT_THAT(a->events(), SizeIs(1));
  stream_a.set_from(3);  // past the end of a as published (a's version 2 is not synced)
  EXPECT_THAT(ledger_->Read(stream_a),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("(version 1)")));
  v1::ReadRequest stream_b;
  stream_b.set_stream_id("b");
  EXPECT_THAT(ledger_->Read(stream_b), StatusIs(absl::StatusCode::kNotFound, HasSubstr("has no events")));

  store_.sync_gate.Release();
  absl::StatusOr<v1::AppendResponse> r1 = first.get();
  absl::StatusOr<v1::AppendResponse> r2 = second.get();
  ASSERT_OK(r1);
  ASSERT_OK(r2);
  EXPECT_EQ(r1->events(1).position(), 3u);
  EXPECT_EQ(r2->events(0).position(), 4u);
  EXPECT_EQ(ledger_->Head().position, 4u);
  EXPECT_OK(ledger_->Read(stream_b));
}

// A query answered during the shutdown's grace period (subscriptions closed) still waits for
// the events recorded by its "now" to be published: its cut misses none of them.
TEST_F(LedgerPipelineTest, SettledNowWaitsForWrittenEventsAfterSubscriptionsClose) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  store_.sync_gate.Hold();
  AppendFuture held = AppendInBackground(*ledger_, Request({NewEvent("a")}));
  store_.sync_gate.AwaitHeld();  // written, its sync held
  ledger_->CloseSubscriptions();
  std::future<uint64_t> settled = std::async(std::launch::async, [&] {
    ledger_->SettledNowMicros(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    return ledger_->Head().position;  // what a cut at that instant reads
  });
  EXPECT_EQ(settled.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  store_.sync_gate.Release();
  EXPECT_EQ(settled.get(), 2u);
  ASSERT_OK(held.get());
}

// A sync that fails while SettledNowMicros waits for it ends the wait: nothing more is
// published, and the query is answered then, not at its deadline (a reviewer's finding).
TEST_F(LedgerPipelineTest, SettledNowStopsWaitingWhenTheSyncItWaitsForFails) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  store_.sync_gate.Hold();
  AppendFuture held = AppendInBackground(*ledger_, Request({NewEvent("a")}));
  store_.sync_gate.AwaitHeld();
  std::future<void> settled = std::async(std::launch::async, [&] {
    ledger_->SettledNowMicros(std::chrono::steady_clock::now() + std::chrono::seconds(60));
  });
  EXPECT_EQ(settled.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  store_.fail_sync = true;
  store_.sync_gate.Release();
  EXPECT_EQ(settled.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(held.get().ok());
  EXPECT_EQ(ledger_->Head().position, 1u);
}

// Appends stopped otherwise (the data directory's watch), a group written before is still
// synced and published: SettledNowMicros waits for it (a reviewer's finding).
TEST_F(LedgerPipelineTest, SettledNowWaitsForAGroupWrittenBeforeAppendsStopped) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  store_.sync_gate.Hold();
  AppendFuture held = AppendInBackground(*ledger_, Request({NewEvent("a")}));
  store_.sync_gate.AwaitHeld();
  ledger_->StopAppends(absl::NotFoundError("the data directory was removed"));
  std::future<uint64_t> settled = std::async(std::launch::async, [&] {
    ledger_->SettledNowMicros(std::chrono::steady_clock::now() + std::chrono::seconds(60));
    return ledger_->Head().position;
  });
  EXPECT_EQ(settled.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  store_.sync_gate.Release();
  EXPECT_EQ(settled.get(), 2u);
  EXPECT_OK(held.get());
}

TEST_F(LedgerPipelineTest, RetryOfAnUnsyncedEventIsAnsweredOnlyAfterItsSync) {
  const v1::AppendRequest original = Request({NewEvent("x")});
  store_.sync_gate.Hold();
  AppendFuture first = AppendInBackground(*ledger_, original);
  store_.sync_gate.AwaitHeld();
  // The retry finds the original in the store, written but not on disk yet: its answer
  // names the original's position, so it must wait for the same sync.
  AppendFuture retry = AppendInBackground(*ledger_, original);
  EXPECT_TRUE(Waiting(retry));
  store_.sync_gate.Release();
  absl::StatusOr<v1::AppendResponse> r1 = first.get();
  absl::StatusOr<v1::AppendResponse> r2 = retry.get();
  ASSERT_OK(r1);
  ASSERT_OK(r2);
  EXPECT_TRUE(r2->events(0).duplicate());
  EXPECT_EQ(r2->events(0).position(), r1->events(0).position());
  EXPECT_EQ(store_.writes.load(), 1);
}

// The appends of a group whose write fails are all UNAVAILABLE, also those refused against an
// event of that group (its id, a stream version it took), which is not stored: a client told
// ALREADY_EXISTS or ABORTED would give up on, or re-decide, a fact whose retry succeeds.
TEST_F(LedgerStorageFailureTest, NoAppendIsRefusedAgainstAGroupWhoseWriteFailed) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  const ChainPoint head = ledger_->Head();
  store_.write_gate.Hold();
  AppendFuture blocker = AppendInBackground(*ledger_, Request({NewEvent("b")}));
  store_.write_gate.AwaitHeld();  // the writer holds `blocker`: the next three are one group
  const v1::Event first = NewEvent("s", "first");
  v1::Event other = first;
  other.set_payload("other content, same id");
  v1::AppendRequest no_stream = Request({NewEvent("s")});
  Expect(no_stream, "s", v1::ExpectedVersion::KIND_NO_STREAM);
  AppendFuture taken = AppendInBackground(*ledger_, Request({first}));
  AppendFuture conflicting = AppendInBackground(*ledger_, Request({other}));
  AppendFuture expecting = AppendInBackground(*ledger_, no_stream);
  store_.fail_write_number = store_.writes.load() + 1;
  store_.write_gate.Release();
  ASSERT_OK(blocker.get());
  for (AppendFuture* f : {&taken, &conflicting, &expecting}) {
    EXPECT_THAT(f->get(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk on fire")));
  }
  EXPECT_EQ(ledger_->Head().position, head.position + 1);
}

// So too after a failed sync: an append refused against a written event the sync did not put
// on disk.
TEST_F(LedgerStorageFailureTest, NoAppendIsRefusedAgainstAnEventASyncFailedFor) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  const ChainPoint head = ledger_->Head();
  store_.fail_sync = true;
  store_.sync_gate.Hold();
  const v1::Event first = NewEvent("s", "first");
  AppendFuture taken = AppendInBackground(*ledger_, Request({first}));
  store_.sync_gate.AwaitHeld();  // `first` is written; its sync is held
  v1::Event other = first;
  other.set_payload("other content, same id");
  v1::AppendRequest expect_new = Request({NewEvent("s")});
  Expect(expect_new, "s", v1::ExpectedVersion::KIND_NO_STREAM);
  AppendFuture conflicting = AppendInBackground(*ledger_, Request({other}));
  AppendFuture expecting = AppendInBackground(*ledger_, expect_new);
  AppendFuture after = AppendInBackground(*ledger_, Request({NewEvent("t")}));
  AwaitStoreHead(store_, head.position + 2);  // `after` is written: the two before it staged
  store_.sync_gate.Release();
  for (AppendFuture* f : {&taken, &conflicting, &expecting, &after}) {
    EXPECT_THAT(f->get(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("fdatasync EIO")));
  }
  EXPECT_EQ(ledger_->Head(), head);
}

TEST_F(LedgerStorageFailureTest, FailedSyncFailsWhatItCoveredPublishesNothingAndStopsTheWriter) {
  ASSERT_OK(ledger_->Append(Request({NewEvent("a")}), "alice"));
  const ChainPoint head = ledger_->Head();

  store_.fail_sync = true;
  store_.sync_gate.Hold();
  AppendFuture written = AppendInBackground(*ledger_, Request({NewEvent("b")}));
  store_.sync_gate.AwaitHeld();
  // An append written behind it is not on disk either, and fails with it.
  AppendFuture behind = AppendInBackground(*ledger_, Request({NewEvent("c")}));
  AwaitStoreHead(store_, 3);
  store_.sync_gate.Release();
  EXPECT_THAT(written.get(), StatusIs(absl::StatusCode::kUnavailable,
                                      AllOf(HasSubstr("fdatasync EIO"),
                                            HasSubstr("restart govledgerd"))));
  EXPECT_THAT(behind.get(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("fdatasync EIO")));
  EXPECT_EQ(ledger_->Head(), head);
  EXPECT_THAT(ledger_->storage_failure(), StatusIs(absl::StatusCode::kInternal,
                                                   HasSubstr("fdatasync EIO")));
  ASSERT_THAT(failures(), SizeIs(1));
  EXPECT_THAT(failures()[0].message(), HasSubstr("fdatasync EIO"));
  absl::StatusOr<v1::ReadResponse> page = ledger_->Read(v1::ReadRequest());
  ASSERT_OK(page);
  EXPECT_THAT(page->events(), SizeIs(1));

  // The writer stopped: nothing more reaches the store_.
  store_.fail_sync = false;
  const int writes = store_.writes.load();
  EXPECT_THAT(ledger_->Append(Request({NewEvent("d")}), "alice"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("fdatasync EIO")));
  EXPECT_EQ(store_.writes.load(), writes);
  EXPECT_EQ(ledger_->Head(), head);
}

}  // namespace
}  // namespace govledger
