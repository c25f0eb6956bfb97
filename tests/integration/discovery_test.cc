// Generic gRPC tools can find and probe the daemon: the standard health service answers
// SERVING, and server reflection lists and describes govledger.v1.LedgerService.
//
// Check and reflection are called through grpc::GenericStub with hand-encoded requests, and
// the responses decoded with protobuf's UnknownFieldSet (field numbers from the gRPC
// project's grpc/health/v1/health.proto and grpc/reflection/v1alpha/reflection.proto), so the
// wire format is checked independently of our own copy of health.proto; Watch, a stream, uses
// the stub generated from that copy.
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";
constexpr char kReflectionInfo[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// The length-delimited values of field `number` in `bytes` (nullopt if they do not parse).
std::optional<std::vector<std::string>> BytesFields(const std::string& bytes, int number) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return std::nullopt;
  std::vector<std::string> out;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      out.push_back(f.length_delimited());
    }
  }
  return out;
}

std::optional<uint64_t> VarintField(const std::string& bytes, int number) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return std::nullopt;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      return f.varint();
    }
  }
  return std::nullopt;
}

// A length-delimited field: tag (number << 3 | 2), length (< 128 here), value.
std::string LengthDelimited(int number, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>(number << 3 | 2));
  out.push_back(static_cast<char>(value.size()));
  return out + value;
}

// A grace period far beyond the bound the watch test puts on a stop (see RestartTest).
class DiscoveryTest : public DaemonTest {
 protected:
  DiscoveryTest() : DaemonTest({"--shutdown-grace", "600"}) {}
};

TEST_F(DiscoveryTest, HealthCheckServing) {
  // HealthCheckRequest{service: ""} is zero bytes; HealthCheckResponse.status is field 1,
  // SERVING = 1.
  std::string response;
  ASSERT_THAT(GenericUnaryCall(daemon_.NewChannel(), kHealthCheck, "", &response), GrpcOk());
  EXPECT_EQ(VarintField(response, 1), std::optional<uint64_t>(1)) << "status is not SERVING";

  // An unknown service is NOT_FOUND, as the health protocol specifies.
  EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kHealthCheck,
                               LengthDelimited(1, "no.such.Service"), &response),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, ::testing::_));
}

TEST_F(DiscoveryTest, HealthCheckKnowsEachServiceByName) {
  std::string response;
  for (const char* service : {"govledger.v1.LedgerService", "govledger.v1.QueryService",
                              "govledger.v1.AdminService", "govledger.v1.AuditService"}) {
    ASSERT_THAT(GenericUnaryCall(daemon_.NewChannel(), kHealthCheck,
                                 LengthDelimited(1, service), &response),
                GrpcOk())
        << service;
    EXPECT_EQ(VarintField(response, 1), std::optional<uint64_t>(1)) << service;
  }
  EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kHealthCheck,
                               LengthDelimited(1, "govledger.v1.NoSuchService"), &response),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("govledger.v1.LedgerService")));
}

// A method the daemon does not have is UNIMPLEMENTED with a message naming it and what there
// is (gRPC's own answer has none), and the daemon serves on.
TEST_F(DiscoveryTest, AnUnknownMethodOrServiceIsUnimplementedSayingWhatThereIs) {
  std::shared_ptr<grpc::Channel> channel = daemon_.NewChannel();
  std::string response;
  EXPECT_THAT(GenericUnaryCall(channel, "/govledger.v1.LedgerService/AppendAll", "", &response),
              GrpcStatusIs(grpc::StatusCode::UNIMPLEMENTED,
                           HasSubstr("govledger.v1.LedgerService has no method AppendAll; it has "
                                     "Append, Read, Subscribe, GetHead")));
  EXPECT_THAT(GenericUnaryCall(channel, "/grpc.health.v1.Health/List", "", &response),
              GrpcStatusIs(grpc::StatusCode::UNIMPLEMENTED,
                           HasSubstr("grpc.health.v1.Health has no method List; it has Check, "
                                     "Watch")));
  for (int i = 0; i < 5; ++i) {  // more calls than the slots waiting for them
    EXPECT_THAT(GenericUnaryCall(channel, "/govledger.v2.LedgerService/Append", "", &response),
                GrpcStatusIs(grpc::StatusCode::UNIMPLEMENTED,
                             HasSubstr("govledgerd has no service govledger.v2.LedgerService; "
                                       "it serves govledger.v1.LedgerService, "
                                       "govledger.v1.QueryService")));
  }
  auto stub = v1::LedgerService::NewStub(channel);
  ASSERT_OK(AppendOne(*stub, "unknown/after", "still serving"));
}

TEST_F(DiscoveryTest, HealthWatchSendsServingThenNotServingAtShutdown) {
  auto health = grpc::health::v1::Health::NewStub(daemon_.NewChannel());
  grpc::health::v1::HealthCheckResponse response;

  // A name the daemon does not serve: SERVICE_UNKNOWN, and the stream stays open.
  grpc::ClientContext unknown_context;
  grpc::health::v1::HealthCheckRequest unknown;
  unknown.set_service("no.such.Service");
  auto unknown_watch = health->Watch(&unknown_context, unknown);
  ASSERT_TRUE(unknown_watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN);
  unknown_context.TryCancel();
  EXPECT_THAT(unknown_watch->Finish(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));

  grpc::ClientContext context;
  auto watch = health->Watch(&context, grpc::health::v1::HealthCheckRequest());
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // Stopping the daemon ends the watch at once, after NOT_SERVING, rather than holding the
  // shutdown for its grace period.
  const auto stop_started = std::chrono::steady_clock::now();
  std::thread stop([&] { daemon_.Stop(); });
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&response));
  EXPECT_THAT(watch->Finish(), GrpcStatusIs(grpc::StatusCode::UNAVAILABLE,
                                            HasSubstr("shutting down")));
  stop.join();
  // By itself, before the harness would have killed it, far below the 600 s grace period a
  // held watch would take (not a speed target).
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, DaemonHarness::kStopTimeout);
}

TEST_F(DiscoveryTest, ReflectionListsAndDescribesLedgerService) {
  // ServerReflectionRequest: list_services = "*" is field 7; file_containing_symbol field 4.
  std::vector<std::string> responses;
  ASSERT_THAT(
      GenericBidiCall(daemon_.NewChannel(), kReflectionInfo,
                      {LengthDelimited(7, "*"), LengthDelimited(4, "govledger.v1.LedgerService")},
                      &responses),
      GrpcOk());
  ASSERT_EQ(responses.size(), 2u);

  // ServerReflectionResponse.list_services_response (6) -> ListServiceResponse.service (1)
  // -> ServiceResponse.name (1).
  std::vector<std::string> services;
  auto list = BytesFields(responses[0], 6);
  ASSERT_TRUE(list.has_value() && list->size() == 1) << "no list_services_response";
  std::optional<std::vector<std::string>> entries = BytesFields((*list)[0], 1);
  ASSERT_TRUE(entries.has_value());
  for (const std::string& service : *entries) {
    auto name = BytesFields(service, 1);
    ASSERT_TRUE(name.has_value() && name->size() == 1)
        << "unexpected ServiceResponse " << ::testing::PrintToString(service);
    services.push_back((*name)[0]);
  }
  EXPECT_THAT(services, Contains("govledger.v1.LedgerService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));

  // ServerReflectionResponse.file_descriptor_response (4) -> file_descriptor_proto (1), each a
  // serialized FileDescriptorProto; one is ledger.proto with the four methods.
  auto files = BytesFields(responses[1], 4);
  ASSERT_TRUE(files.has_value() && files->size() == 1) << "no file_descriptor_response";
  bool found = false;
  std::optional<std::vector<std::string>> descriptors = BytesFields((*files)[0], 1);
  ASSERT_TRUE(descriptors.has_value());
  for (const std::string& bytes : *descriptors) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    if (file.name() != "govledger/v1/ledger.proto") continue;
    found = true;
    EXPECT_EQ(file.package(), "govledger.v1");
    ASSERT_EQ(file.service_size(), 1);
    std::vector<std::string> methods;
    for (const auto& m : file.service(0).method()) methods.push_back(m.name());
    EXPECT_THAT(methods, ::testing::UnorderedElementsAre("Append", "Read", "Subscribe", "GetHead"));
  }
  EXPECT_TRUE(found) << "reflection did not return govledger/v1/ledger.proto";
}

// Calls that hold a thread while open (health Watch, reflection) come from a pool of at most
// --max-sync-threads, and all but 4 of them at most serve Watch streams: past that a Watch is
// refused at once with RESOURCE_EXHAUSTED, the daemon starts no more threads, and health
// Check (what probes call), Append and Read still serve; once the watches end, new ones are
// served again.
TEST(SyncThreadsTest, OpenStreamsAreBoundedAndTheRestStillServes) {
  constexpr int kMaxThreads = 8;
  constexpr int kWatches = 12;
  DaemonHarness daemon({"--max-sync-threads", absl::StrCat(kMaxThreads)});
  ASSERT_OK(daemon.Start());
  std::shared_ptr<grpc::Channel> channel = daemon.NewChannel();
  auto health = grpc::health::v1::Health::NewStub(channel);
  const int threads_before = daemon.Threads();

  struct Watch {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader;
  };
  std::vector<std::unique_ptr<Watch>> open;
  int refused = 0;
  for (int i = 0; i < kWatches; ++i) {
    auto watch = std::make_unique<Watch>();
    watch->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    watch->reader = health->Watch(&watch->context, grpc::health::v1::HealthCheckRequest());
    grpc::health::v1::HealthCheckResponse response;
    if (watch->reader->Read(&response)) {
      EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
      open.push_back(std::move(watch));
    } else {
      EXPECT_THAT(watch->reader->Finish(),
                  GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               HasSubstr("4 health Watch streams are open, the most this "
                                         "server allows (govledgerd --max-sync-threads less "
                                         "the threads kept for reflection)")));
      ++refused;
    }
  }
  EXPECT_EQ(open.size(), static_cast<size_t>(kMaxThreads - 4));
  EXPECT_EQ(static_cast<int>(open.size()) + refused, kWatches);
  EXPECT_LE(daemon.Threads(), threads_before + kMaxThreads)
      << "threads before the watches: " << threads_before;
  // Check has a thread while the watches hold theirs.
  for (int i = 0; i < 20; ++i) {
    std::string check_response;
    ASSERT_THAT(GenericUnaryCall(channel, kHealthCheck, "", &check_response), GrpcOk()) << i;
    EXPECT_EQ(VarintField(check_response, 1), std::optional<uint64_t>(1));
  }

  // The asynchronous services hold no thread of that pool.
  auto stub = v1::LedgerService::NewStub(channel);
  ASSERT_OK(AppendOne(*stub, "threads/busy", "appended while every thread is held"));
  absl::StatusOr<std::vector<v1::Event>> events = ReadAll(*stub);
  ASSERT_OK(events);
  EXPECT_EQ(events->size(), 1u);

  for (auto& watch : open) {
    watch->context.TryCancel();
    EXPECT_THAT(watch->reader->Finish(), GrpcStatusIs(grpc::StatusCode::CANCELLED, ::testing::_));
  }
  open.clear();
  // A cancelled Watch notices within its poll interval (200 ms) and gives its thread back.
  std::string response;
  grpc::Status check;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    check = GenericUnaryCall(channel, kHealthCheck, "", &response);
  } while (!check.ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_THAT(check, GrpcOk());
  EXPECT_EQ(VarintField(response, 1), std::optional<uint64_t>(1));
}

// Reflection streams, open to every caller and not bounded as Watch is, can hold every thread
// of the pool; health Check, answered on the daemon's completion queue, still answers (a
// probe that failed then would have a service manager restart a healthy daemon).
TEST(SyncThreadsTest, ReflectionStreamsHoldingEveryThreadLeaveCheckAnswering) {
  constexpr int kMaxThreads = 4;
  DaemonHarness daemon({"--max-sync-threads", absl::StrCat(kMaxThreads)});
  ASSERT_OK(daemon.Start());
  std::shared_ptr<grpc::Channel> channel = daemon.NewChannel();
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
  };
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kMaxThreads + 4; ++i) {
    auto stream = std::make_unique<Stream>();
    stream->call = generic.PrepareCall(
        &stream->context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    stream->call->StartCall(stream.get());
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    streams.push_back(std::move(stream));
  }
  // Let the server take them up (each holds a thread while open).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 10; ++i) {
    std::string check_response;
    ASSERT_THAT(GenericUnaryCall(channel, kHealthCheck, "", &check_response), GrpcOk()) << i;
    EXPECT_EQ(VarintField(check_response, 1), std::optional<uint64_t>(1));
  }
  for (auto& stream : streams) stream->context.TryCancel();
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace govledger::testing
