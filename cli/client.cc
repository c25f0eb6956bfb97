#include "cli/client.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace govledger::cli {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "OK";
  }
}

}  // namespace

std::string ResolveServer(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("GOVLEDGER_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  return "127.0.0.1:50051";
}

std::shared_ptr<grpc::Channel> Connect(const std::string& server, int connection_id) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  args.SetInt("govledger.connection_id", connection_id);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
}

bool WaitConnected(grpc::Channel& channel, int seconds) {
  return channel.WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::seconds(seconds));
}

std::string DescribeError(const std::string& server, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("failed to connect") != std::string::npos) {
    return absl::StrCat("cannot reach govledgerd at ", server,
                        " (is it running? set --server or GOVLEDGER_SERVER)");
  }
  return absl::StrCat("server ", server, ": ", CodeName(status.error_code()), ": ",
                      status.error_message());
}

int Fail(int code, const std::string& message) {
  std::cerr << "govledger: " << message << "\n";
  return code;
}

int FailCall(const std::string& server, const grpc::Status& status) {
  return Fail(status.error_code() == grpc::StatusCode::UNAVAILABLE ? kExitUnreachable
                                                                    : kExitRefused,
              DescribeError(server, status));
}

}  // namespace govledger::cli
