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

class DiscoveryTest : public DaemonTest {};

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
                              "govledger.v1.AdminService"}) {
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
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(5));
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

}  // namespace
}  // namespace govledger::testing
