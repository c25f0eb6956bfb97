// Connecting the CLI to govledgerd.
#ifndef GOVLEDGER_CLI_CLIENT_H_
#define GOVLEDGER_CLI_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace govledger::cli {

// The server address: --server if given, else $GOVLEDGER_SERVER, else "127.0.0.1:50051".
std::string ResolveServer(const std::string& flag);

// A channel to `server`. Channels with different `connection_id`s use separate connections,
// so concurrent benchmark clients do not share one HTTP/2 connection.
std::shared_ptr<grpc::Channel> Connect(const std::string& server, int connection_id = 0);

// Waits up to `seconds` for the channel to connect; false if it does not.
bool WaitConnected(grpc::Channel& channel, int seconds);

// One line for a failed call: "server ADDR: CODE: message".
std::string DescribeError(const std::string& server, const grpc::Status& status);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_CLIENT_H_
