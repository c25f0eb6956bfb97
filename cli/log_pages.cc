#include "cli/log_pages.h"

#include <chrono>
#include <future>
#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "cli/client.h"

namespace govledger::cli {
namespace {

namespace pb = ::google::protobuf;

constexpr char kReadMethod[] = "/govledger.v1.LedgerService/Read";

}  // namespace

grpc::Status GetHead(v1::LedgerService::Stub& stub, v1::GetHeadResponse* head) {
  auto context = NewCallContext();
  return stub.GetHead(context.get(), v1::GetHeadRequest(), head);
}

absl::StatusOr<RawPage> ParseRawPage(const std::string& wire) {
  RawPage page;
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()),
                              static_cast<int>(wire.size()));
  in.SetTotalBytesLimit(static_cast<int>(wire.size()) + 1);
  while (uint32_t tag = in.ReadTag()) {
    const int field = static_cast<int>(tag >> 3);
    const int wire_type = static_cast<int>(tag & 7);
    bool ok = true;
    if (field == 1 && wire_type == 2) {
      page.events.emplace_back();
      uint32_t size = 0;
      ok = in.ReadVarint32(&size) && in.ReadString(&page.events.back(), static_cast<int>(size));
    } else if (field == 2 && wire_type == 0) {
      ok = in.ReadVarint64(&page.next);
    } else {
      ok = pb::internal::WireFormatLite::SkipField(&in, tag);
    }
    if (!ok) return absl::DataLossError("a page of the log does not parse");
  }
  return page;
}

grpc::Status RawRead(grpc::GenericStub& stub, const v1::ReadRequest& request, std::string* wire) {
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response;
  auto context = NewCallContext();
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), kReadMethod, grpc::StubOptions(), &request_buffer, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();  // the deadline bounds the wait
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the response");
  }
  wire->clear();
  for (const grpc::Slice& s : slices) {
    wire->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return grpc::Status::OK;
}

}  // namespace govledger::cli
