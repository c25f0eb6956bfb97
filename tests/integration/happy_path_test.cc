// The happy path through the real daemon: appends (single, multi-event multi-stream), reads
// (global forward, backward, paged; one stream), GetHead, and the recorded actor.
#include <grpcpp/client_context.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/client_util.h"
#include "tests/testutil.h"

namespace govledger::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<uint64_t> Positions(const std::vector<v1::Event>& events) {
  std::vector<uint64_t> out;
  for (const v1::Event& e : events) out.push_back(e.position());
  return out;
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

std::vector<uint64_t> PagePositions(const v1::ReadResponse& page) {
  return Positions({page.events().begin(), page.events().end()});
}

using ::govledger::testing::Range;

class HappyPathTest : public DaemonTest {};

TEST_F(HappyPathTest, EmptyLedgerHead) {
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 0u);
  EXPECT_EQ(head->event_count(), 0u);
  EXPECT_EQ(head->hash(), std::string(32, '\0'));
}

TEST_F(HappyPathTest, AppendSingleThenMultiStreamAtomic) {
  // One event; the id is given in upper case and stored in lower case.
  v1::Event first = MakeEvent("programme/LPP", "opened");
  std::string upper_id = first.event_id();
  std::transform(upper_id.begin(), upper_id.end(), upper_id.begin(), ::toupper);
  first.set_event_id(upper_id);
  first.mutable_effective_time()->set_seconds(1700000000);  // 2023-11-14
  v1::AppendResponse r1;
  ASSERT_THAT(Append(*stub_, MakeAppend({first}), &r1), GrpcOk());
  ASSERT_EQ(r1.events_size(), 1);
  EXPECT_EQ(r1.events(0).position(), 1u);
  EXPECT_EQ(r1.events(0).stream_version(), 1u);
  EXPECT_FALSE(r1.events(0).duplicate());
  EXPECT_EQ(r1.events(0).event_id(), absl::AsciiStrToLower(upper_id));
  EXPECT_EQ(r1.head_position(), 1u);

  // Three events over two streams with expectations, in one atomic append.
  v1::AppendRequest multi =
      MakeAppend({MakeEvent("programme/LPP", "a2"), MakeEvent("risk/LPP-R07", "b1"),
                  MakeEvent("programme/LPP", "a3")});
  v1::ExpectedVersion* ev = multi.add_expected_versions();
  ev->set_stream_id("programme/LPP");
  ev->set_kind(v1::ExpectedVersion::KIND_EXACT);
  ev->set_version(1);
  ev = multi.add_expected_versions();
  ev->set_stream_id("risk/LPP-R07");
  ev->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
  v1::AppendResponse r2;
  ASSERT_THAT(Append(*stub_, multi, &r2), GrpcOk());
  ASSERT_EQ(r2.events_size(), 3);
  EXPECT_EQ(r2.events(0).position(), 2u);
  EXPECT_EQ(r2.events(0).stream_version(), 2u);
  EXPECT_EQ(r2.events(1).position(), 3u);
  EXPECT_EQ(r2.events(1).stream_version(), 1u);
  EXPECT_EQ(r2.events(2).position(), 4u);
  EXPECT_EQ(r2.events(2).stream_version(), 3u);
  EXPECT_EQ(r2.head_position(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r2.events(i).event_id(), multi.events(i).event_id());

  // Everything stored as sent, with the server's fields set.
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), 4u);
  const v1::Event& e1 = (*log)[0];
  EXPECT_EQ(e1.event_id(), absl::AsciiStrToLower(upper_id));
  EXPECT_EQ(e1.stream_id(), "programme/LPP");
  EXPECT_EQ(e1.event_type(), "govledger.test.Happened");
  EXPECT_EQ(e1.payload(), "opened");
  EXPECT_EQ(e1.effective_time().seconds(), 1700000000);
  EXPECT_GT(e1.recorded_time().seconds(), 1700000000);
  EXPECT_EQ(e1.prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(e1.hash().size(), 32u);
  for (int i = 0; i < 3; ++i) {
    const v1::Event& e = (*log)[i + 1];
    EXPECT_EQ(e.event_id(), multi.events(i).event_id());
    EXPECT_EQ(e.stream_id(), multi.events(i).stream_id());
    EXPECT_EQ(e.payload(), multi.events(i).payload());
    // One commit: one recorded time. No effective time given: the time the server received
    // the append, the same for the whole request and not after the recorded time.
    EXPECT_EQ(e.recorded_time().seconds(), (*log)[1].recorded_time().seconds());
    EXPECT_EQ(e.recorded_time().nanos(), (*log)[1].recorded_time().nanos());
    EXPECT_EQ(e.effective_time().seconds(), (*log)[1].effective_time().seconds());
    EXPECT_EQ(e.effective_time().nanos(), (*log)[1].effective_time().nanos());
    EXPECT_LE(Micros(e.effective_time()), Micros(e.recorded_time()));
    EXPECT_GT(Micros(e.effective_time()), Micros(e.recorded_time()) - 10'000'000);
  }
  EXPECT_EQ((*log)[1].stream_version(), 2u);
  EXPECT_EQ((*log)[2].stream_version(), 1u);
  EXPECT_EQ((*log)[3].stream_version(), 3u);

  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_TRUE(ChainVerifies(*log, *head));
}

TEST_F(HappyPathTest, ReadForwardBackwardPagedAndOneStream) {
  // 25 events over three streams: stream s<k> gets positions with position % 3 == k.
  constexpr int kEvents = 25;
  for (int i = 1; i <= kEvents; ++i) {
    absl::StatusOr<v1::AppendResponse> r =
        AppendOne(*stub_, absl::StrCat("stream/s", i % 3), absl::StrCat("payload ", i));
    ASSERT_OK(r);
    ASSERT_EQ(r->events(0).position(), static_cast<uint64_t>(i));
  }

  // One page forward holds everything (default limit 1000).
  v1::ReadResponse page;
  ASSERT_THAT(Read(*stub_, v1::ReadRequest(), &page), GrpcOk());
  EXPECT_EQ(page.events_size(), kEvents);
  EXPECT_EQ(page.next(), 0u);
  EXPECT_EQ(page.head_position(), static_cast<uint64_t>(kEvents));

  // Forward, paged by 10 from the start: 1-10 (next 11), 11-20 (next 21), 21-25 (next 0).
  v1::ReadRequest request;
  request.set_limit(10);
  ASSERT_THAT(Read(*stub_, request, &page), GrpcOk());
  EXPECT_THAT(PagePositions(page), ElementsAreArray(Range(1, 10)));
  EXPECT_EQ(page.next(), 11u);
  request.set_from(21);
  ASSERT_THAT(Read(*stub_, request, &page), GrpcOk());
  EXPECT_THAT(PagePositions(page), ElementsAreArray(Range(21, 25)));
  EXPECT_EQ(page.next(), 0u);

  absl::StatusOr<std::vector<v1::Event>> forward = ReadAll(*stub_, "", v1::DIRECTION_FORWARD, 7);
  ASSERT_OK(forward);
  EXPECT_THAT(Positions(*forward), ElementsAreArray(Range(1, kEvents)));
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ((*forward)[i].payload(), absl::StrCat("payload ", i + 1));
  }

  // Backward from the head (from 0) and from a given position.
  request = v1::ReadRequest();
  request.set_direction(v1::DIRECTION_BACKWARD);
  request.set_limit(4);
  ASSERT_THAT(Read(*stub_, request, &page), GrpcOk());
  EXPECT_THAT(PagePositions(page), ElementsAre(25, 24, 23, 22));
  EXPECT_EQ(page.next(), 21u);
  request.set_from(3);
  ASSERT_THAT(Read(*stub_, request, &page), GrpcOk());
  EXPECT_THAT(PagePositions(page), ElementsAre(3, 2, 1));
  EXPECT_EQ(page.next(), 0u);

  absl::StatusOr<std::vector<v1::Event>> backward = ReadAll(*stub_, "", v1::DIRECTION_BACKWARD, 6);
  ASSERT_OK(backward);
  EXPECT_THAT(Positions(*backward), ElementsAreArray(Range(kEvents, 1)));

  // One stream: s1 holds positions 1, 4, 7, ..., 25 as versions 1..9.
  std::vector<uint64_t> s1_positions;
  for (int p = 1; p <= kEvents; p += 3) s1_positions.push_back(p);
  absl::StatusOr<std::vector<v1::Event>> s1 =
      ReadAll(*stub_, "stream/s1", v1::DIRECTION_FORWARD, 2);
  ASSERT_OK(s1);
  EXPECT_THAT(Positions(*s1), ElementsAreArray(s1_positions));
  for (size_t i = 0; i < s1->size(); ++i) {
    EXPECT_EQ((*s1)[i].stream_version(), i + 1);
    EXPECT_EQ((*s1)[i].stream_id(), "stream/s1");
  }
  // Backward, from the last version, paged by 4: versions 9..1.
  absl::StatusOr<std::vector<v1::Event>> s1_back =
      ReadAll(*stub_, "stream/s1", v1::DIRECTION_BACKWARD, 4);
  ASSERT_OK(s1_back);
  std::reverse(s1_positions.begin(), s1_positions.end());
  EXPECT_THAT(Positions(*s1_back), ElementsAreArray(s1_positions));
  // From a given version forwards.
  request = v1::ReadRequest();
  request.set_stream_id("stream/s1");
  request.set_from(8);
  ASSERT_THAT(Read(*stub_, request, &page), GrpcOk());
  EXPECT_THAT(PagePositions(page), ElementsAre(22, 25));
  EXPECT_EQ(page.next(), 0u);

  // A stream never written: NOT_FOUND.
  request.set_stream_id("stream/none");
  request.set_from(0);
  EXPECT_THAT(Read(*stub_, request, &page),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("stream/none")));
}

TEST_F(HappyPathTest, GetHeadNamesTheLastEvent) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(AppendOne(*stub_, "head/test", absl::StrCat(i)));
  absl::StatusOr<v1::GetHeadResponse> head = GetHead(*stub_);
  ASSERT_OK(head);
  EXPECT_EQ(head->position(), 5u);
  EXPECT_EQ(head->event_count(), 5u);
  v1::ReadRequest last;
  last.set_direction(v1::DIRECTION_BACKWARD);
  last.set_limit(1);
  v1::ReadResponse page;
  ASSERT_THAT(Read(*stub_, last, &page), GrpcOk());
  ASSERT_EQ(page.events_size(), 1);
  EXPECT_EQ(page.events(0).position(), 5u);
  EXPECT_EQ(head->hash(), page.events(0).hash());
  EXPECT_EQ(RecomputeHash(page.events(0)), head->hash());

  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(*stub_);
  ASSERT_OK(log);
  EXPECT_TRUE(ChainVerifies(*log, *head));
}

TEST_F(HappyPathTest, ActorFromMetadataElseThePeer) {
  v1::AppendResponse named;
  ASSERT_THAT(Append(*stub_, MakeAppend({MakeEvent("actor/test", "x")}), &named,
                     "alice@finance.example.gov"),
              GrpcOk());
  v1::AppendResponse anonymous;
  ASSERT_THAT(Append(*stub_, MakeAppend({MakeEvent("actor/test", "y")}), &anonymous), GrpcOk());

  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub_, "actor/test");
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].actor(), "alice@finance.example.gov");
  // No metadata: the caller's peer address, e.g. "peer:ipv4:127.0.0.1:43512".
  EXPECT_THAT((*events)[1].actor(), StartsWith("peer:ipv4:127.0.0.1:"));
}

}  // namespace
}  // namespace govledger::testing
