// Connecting the CLI to govledgerd.
#ifndef GOVLEDGER_CLI_CLIENT_H_
#define GOVLEDGER_CLI_CLIENT_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ledger/access_tokens.h"  // the metadata keys

namespace govledger::cli {

// The server address: --server if given, else $GOVLEDGER_SERVER, else "127.0.0.1:50051".
std::string ResolveServer(const std::string& flag);

// How every later Connect() authenticates and encrypts (README, "Access control"):
//   token: the access token sent as `authorization: Bearer <token>` on every call; the flag,
//     else $GOVLEDGER_TOKEN; empty: none; one with a character other than printable ASCII
//     is an error Connect reports (no token holds one);
//   tls_ca_file: TLS, trusting the CA certificates (PEM) in this file; the flag, else
//     $GOVLEDGER_TLS_CA;
//   tls: TLS, trusting the system's CA certificates (implied by a CA file or a server name);
//   tls_server_name: the name the server's certificate must carry when it is not the host in
//     the address dialled (a tunnel, an IP address the certificate does not name); the flag,
//     else $GOVLEDGER_TLS_SERVER_NAME; empty: the host dialled;
// and how often it checks that the server still answers while a call is open:
// $GOVLEDGER_KEEPALIVE seconds (default 30, at least 1): a keepalive ping then, and the call
// fails with UNAVAILABLE if the server has not answered as long again (a connection a
// firewall dropped, a server machine gone), rather than waiting for ever.
// Called once by main before any command runs. A CA file that cannot be read or holds no PEM
// block, or a bad $GOVLEDGER_KEEPALIVE, is reported by the first Connect, so commands that work
// offline (verify --file, keys, decision sign, admin token and restore) are not stopped by a
// setting they do not use; so is `option_error`, main's account of an option it found wrong
// (an empty --server, say), when not empty.
void ConfigureConnections(std::string option_error, const std::string& token_flag, bool tls,
                          const std::string& tls_ca_flag, const std::string& tls_server_name_flag);

// A channel to `server`. Channels with different `connection_id`s use separate connections,
// so concurrent benchmark clients do not share one HTTP/2 connection. Every call on it carries
// the token, and a govledger-actor its caller added that is not printable ASCII is moved to
// govledger-actor-bin (so callers add the actor under kActorMetadataKey, whatever it holds).
// If the settings of ConfigureConnections cannot be used, prints why and exits the process
// with kExitBadArgs.
std::shared_ptr<grpc::Channel> Connect(const std::string& server, int connection_id = 0);

// Waits up to `seconds` for the channel to connect; false if it does not.
bool WaitConnected(grpc::Channel& channel, int seconds);

// One line for a failed call, printable: "server ADDR: CODE: message", or for a server that
// could not be reached "cannot reach govledgerd at ADDR (why, and what to check)".
std::string DescribeError(const std::string& server, const grpc::Status& status);

// The CLI's exit codes (README, "CLI").
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the server refused or failed the request
inline constexpr int kExitBadArgs = 2;      // bad arguments or unusable input files
inline constexpr int kExitUnreachable = 3;  // the server could not be reached
// `verify` found an event that does not verify (its hash, or a decision signature it
// carries), or a gap; or a tree head's signature or a proof (`tree-head`, `prove`, `witness`)
// does not; or the server answered DATA_LOSS (its stored log damaged), to any command.
inline constexpr int kExitChainBroken = 4;

// Prints "govledger: <message>" on stderr, with what a terminal would act on escaped
// (PrintableText; line breaks kept), and returns `code`.
int Fail(int code, const std::string& message);

// OK when `stream` is a legal stream id; otherwise INVALID_ARGUMENT "FLAG: why" (made
// printable), adding, for a decision's reference as written ("decision/MOPAC/PCD 72"), the
// stream it has ("decision/MOPAC/PCD-72"). For the flags that name a stream, checked before
// any call.
absl::Status CheckStreamFlag(absl::string_view flag, const std::string& stream);

// The exit code of a failed call: kExitUnreachable for UNAVAILABLE (the server unreachable, or
// shutting down: worth retrying) and CANCELLED (a call the server cancelled as it shut down),
// kExitChainBroken for DATA_LOSS (the stored log damaged), else kExitRefused, as for a server
// that has stopped appends after a storage failure (it needs a restart).
int ExitCodeOf(const grpc::Status& status);

// What to do about the damage a DATA_LOSS `message` of the server's reports, to end a line
// with: "; run govledger verify, and restore from a backup", or nothing when the message says
// already (a backup's, or an index's damage, which --rebuild-indexes mends).
std::string DamageAdvice(absl::string_view message);

// A context for one call, with the CLI's deadline, 60 s from now (a query folds the log, which
// on a large ledger takes a while), and, if `actor` is not empty,
// the actor to record (kActorMetadataKey; Connect's channel moves one that is not printable
// ASCII to its binary key). Every unary call of the CLI takes one; streams (tail, export,
// backup) set no deadline.
std::unique_ptr<grpc::ClientContext> NewCallContext(const std::string& actor = "");

// Whether a failed Append may have stored its events all the same: no answer came (UNAVAILABLE,
// including a connection lost after the request went out and a server that stopped appends
// before their sync was known, but not a channel that never connected; DEADLINE_EXCEEDED;
// CANCELLED) or the server failed in a way it did not describe (UNKNOWN, INTERNAL). A retry
// with the same event ids finds out.
bool OutcomeUnknown(const grpc::Status& status);

// Fail() for a failed call, with ExitCodeOf's code and DescribeError's message.
int FailCall(const std::string& server, const grpc::Status& status);

// Prints `message` in protobuf's JSON mapping (lowerCamelCase names, as the CLI's event JSON;
// fields with zero values and empty lists included) as one line on stdout; kExitOk, or
// kExitRefused if it cannot be printed.
int PrintJson(const google::protobuf::Message& message);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_CLIENT_H_
