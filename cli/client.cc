#include "cli/client.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/printable.h"
#include "cli/progress.h"
#include "google/protobuf/util/json_util.h"
#include "ledger/common/address.h"
#include "ledger/common/errors.h"
#include "ledger/common/files.h"
#include "ledger/common/names.h"
#include "ledger/common/numbers.h"
#include "ledger/common/text.h"
#include "projections/streams.h"

namespace govledger::cli {
namespace {

// "FAILED_PRECONDITION": gRPC's codes are absl's, number for number.
std::string CodeName(grpc::StatusCode code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  absl::AsciiStrToUpper(&name);
  return name;
}

// What ConfigureConnections set: the process's one client configuration.
struct ConnectionSettings {
  // Why the settings cannot be used (an unreadable CA file, a bad $GOVLEDGER_KEEPALIVE), or
  // empty. Reported by Connect, so commands that never connect are not stopped by it.
  std::string error;
  std::string authorization;  // "Bearer <token>", or empty
  bool tls = false;
  std::string tls_roots_pem;  // empty with tls: gRPC's default roots (the system's)
  std::string tls_server_name;  // empty: the host dialled
  int keepalive_ms = 30000;
};
ConnectionSettings& Settings() {
  static ConnectionSettings settings;
  return settings;
}

std::string FlagOrEnv(const std::string& flag, const char* variable) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv(variable);
  return env == nullptr ? std::string() : std::string(env);
}

bool IsPrintableAscii(absl::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) {
      return false;
    }
  }
  return true;
}

// On every call of the channel: adds the bearer token, if any, and moves a govledger-actor
// that is not printable ASCII to govledger-actor-bin (client.h).
class CallMetadata final : public grpc::experimental::Interceptor {
 public:
  explicit CallMetadata(const std::string* authorization) : authorization_(authorization) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* metadata = methods->GetSendInitialMetadata();
      if (!authorization_->empty()) metadata->emplace(kAuthorizationMetadataKey, *authorization_);
      if (auto actor = metadata->find(kActorMetadataKey);
          actor != metadata->end() && !IsPrintableAscii(actor->second)) {
        std::string value = std::move(actor->second);
        metadata->erase(actor);
        metadata->emplace(kActorBinMetadataKey, std::move(value));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string* const authorization_;
};

class CallMetadataFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new CallMetadata(&Settings().authorization);
  }
};

}  // namespace

void ConfigureConnections(std::string option_error, const std::string& token_flag, bool tls,
                          const std::string& tls_ca_flag, const std::string& tls_server_name_flag) {
  ConnectionSettings settings;
  settings.error = std::move(option_error);
  auto set_error = [&settings](std::string error) {  // the first reported
    if (settings.error.empty()) settings.error = std::move(error);
  };
  if (std::string token = FlagOrEnv(token_flag, "GOVLEDGER_TOKEN"); !token.empty()) {
    if (IsPrintableAscii(token)) {
      settings.authorization = absl::StrCat(kBearerPrefix, token);
    } else {
      // Not shown: it is a secret.
      set_error(
          "the access token (--token or GOVLEDGER_TOKEN) holds a character other "
          "than printable ASCII (a line break, a control character, a letter "
          "such as é); a token is glt_ and 64 hex digits");
    }
  }
  settings.tls = tls;
  // --tls asks for the system's CA certificates: GOVLEDGER_TLS_CA, a default, gives way to it.
  if (std::string ca = tls ? tls_ca_flag : FlagOrEnv(tls_ca_flag, "GOVLEDGER_TLS_CA");
      !ca.empty()) {
    absl::StatusOr<std::string> pem = ReadWholeFile(ca, kSmallFileBytes);
    if (!pem.ok()) {
      set_error(absl::StrCat("the TLS CA file: ", pem.status().message()));
    } else if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      set_error(absl::StrCat("the TLS CA file ", ca, " holds no PEM certificate"));
    } else {
      settings.tls_roots_pem = *std::move(pem);
    }
    settings.tls = true;
  }
  if (std::string name = FlagOrEnv(tls_server_name_flag, "GOVLEDGER_TLS_SERVER_NAME");
      !name.empty()) {
    // gRPC aborts on a server name of 256 characters or more.
    if (name.size() > 253) {
      set_error(absl::StrCat("--tls-server-name (or GOVLEDGER_TLS_SERVER_NAME) is ", name.size(),
                             " characters long; a host name has at most 253"));
    }
    settings.tls_server_name = std::move(name);
    settings.tls = true;
  }
  // Set but empty is a mistake too (an unset variable), as for GOVLEDGER_SERVER.
  if (const char* env = std::getenv("GOVLEDGER_KEEPALIVE"); env != nullptr) {
    int seconds = 0;
    if (*env == '\0') {
      set_error(
          "GOVLEDGER_KEEPALIVE is set but empty: set it to seconds from 1 to 3600, or "
          "unset it (for 30)");
    } else if (!ParseWholeNumber(std::string_view(env), 3600, &seconds) || seconds < 1) {
      set_error(
          absl::StrCat("GOVLEDGER_KEEPALIVE must be a whole number of seconds from "
                       "1 to 3600, not '",
                       env, "'"));
    } else {
      settings.keepalive_ms = seconds * 1000;
    }
  }
  Settings() = std::move(settings);
}

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
  const ConnectionSettings& settings = Settings();
  if (!settings.error.empty()) std::exit(Fail(kExitBadArgs, settings.error));
  if (absl::Status address = CheckAddress(server, /*port_zero_allowed=*/false); !address.ok()) {
    std::exit(Fail(kExitBadArgs, absl::StrCat("--server (or GOVLEDGER_SERVER): ",
                                              address.message())));
  }
  // Pings while calls are open (as many as it takes: gRPC stops at two without data in between
  // unless told otherwise); govledgerd accepts them as often as every 10 s or its own
  // --keepalive-seconds.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, settings.keepalive_ms);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, settings.keepalive_ms);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A lost server is tried again at most 16 s apart (gRPC's default grows to 120 s), as
  // `tail --retry` does.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 16000);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!settings.tls && !settings.authorization.empty() && !IsLocalAddress(server)) {
    // Once per process: the CLI holds the secret the daemon's own warning is about.
    static const bool warned = [&server] {
      std::cerr << "govledger: warning: sending the access token to " << server
                << " in plaintext (no --tls-ca or --tls): anyone on the network path can read "
                   "it and use it; connect with TLS\n";
      return true;
    }();
    (void)warned;
  }
  if (settings.tls) {
    grpc::SslCredentialsOptions trust;
    trust.pem_root_certs = settings.tls_roots_pem;
    credentials = grpc::SslCredentials(trust);
    if (!settings.tls_server_name.empty()) {
      // Checked against the certificate's names instead of the host dialled, and sent as SNI.
      args.SetSslTargetNameOverride(settings.tls_server_name);
    }
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> metadata;
  metadata.push_back(std::make_unique<CallMetadataFactory>());
  return grpc::experimental::CreateCustomChannelWithInterceptors(server, credentials, args,
                                                                 std::move(metadata));
}

bool WaitConnected(grpc::Channel& channel, int seconds) {
  return channel.WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::seconds(seconds));
}

namespace {

// gRPC's (c-ares's) words for a host name that does not resolve.
bool NameNotResolved(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("DNS resolution failed") != std::string::npos;
}

// gRPC's words for a channel that never connected (refused, or a failed TLS handshake).
bool ConnectFailed(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("failed to connect") != std::string::npos;
}

}  // namespace

std::string DescribeError(const std::string& server, const grpc::Status& status) {
  const std::string& message = status.error_message();
  if (NameNotResolved(status)) {
    return absl::StrCat("cannot reach govledgerd at ", PrintableText(server),
                        " (its host name is not known: check --server or GOVLEDGER_SERVER)");
  }
  if (ConnectFailed(status)) {
    const std::string prefix = absl::StrCat("cannot reach govledgerd at ", server, " (");
    // gRPC's words for a certificate that does not carry the name checked.
    constexpr std::string_view kPeerName = "Peer name ";
    constexpr std::string_view kNotInCertificate = " is not in peer certificate";
    if (const size_t end = message.find(kNotInCertificate); end != std::string::npos) {
      const size_t start = message.rfind(kPeerName, end);
      const std::string name =
          start == std::string::npos
              ? std::string()
              : message.substr(start + kPeerName.size(), end - start - kPeerName.size());
      return absl::StrCat(prefix, "its TLS certificate does not name ",
                          name.empty() ? "the host dialled" : PrintableText(name),
                          ": dial a name the certificate carries, or give one with "
                          "--tls-server-name or GOVLEDGER_TLS_SERVER_NAME)");
    }
    if (message.find("certificate verify failed") != std::string::npos) {
      // The handshake says no more: a certificate expired (or not yet valid) fails alike.
      return absl::StrCat(prefix, "its TLS certificate is not signed by a CA this call "
                          "trusts, or is out of date: ",
                          Settings().tls_roots_pem.empty()
                              ? "give its CA with --tls-ca FILE; without it, TLS trusts only "
                                "the system's CAs"
                              : "check that --tls-ca names the CA of its certificate",
                          "; govledgerd's log says at start if its certificate has expired)");
    }
    // gRPC's words for a connection accepted that nothing answered on: a process stopped or
    // stuck (the kernel accepts for it), or a program that does not speak gRPC.
    if (message.find("before receiving SETTINGS frame") != std::string::npos) {
      return absl::StrCat(prefix,
                          "it took the connection but did not answer on it in time: is "
                          "govledgerd stopped (SIGSTOP) or stuck, or is another program "
                          "listening there? check --server or GOVLEDGER_SERVER)");
    }
    // A Unix socket this user may not open (its mode or directory's): said, not "is it running?"
    // (an operator's trial with a socket of mode 0700).
    if (absl::string_view path = server; absl::ConsumePrefix(&path, "unix:")) {
      if (absl::StartsWith(path, "///")) path.remove_prefix(2);
      if (message.find("Permission denied") != std::string::npos ||
          (::access(std::string(path).c_str(), W_OK) != 0 && errno == EACCES)) {
        return absl::StrCat(prefix,
                            "this user may not open its socket, permission denied: run as "
                            "govledgerd's user or one its socket's mode and directory let in)");
      }
    }
    return absl::StrCat(prefix, "is it running? set --server or GOVLEDGER_SERVER; ",
                        Settings().tls ? "this call used TLS: check that --tls-ca names the CA "
                                         "of its certificate, or, if it serves plaintext, drop "
                                         "--tls, --tls-ca, --tls-server-name, "
                                         "GOVLEDGER_TLS_CA and GOVLEDGER_TLS_SERVER_NAME)"
                                       : "if it serves TLS, add --tls-ca or --tls)");
  }
  // A tokens file's digest given as the token (an operator's trial): the server cannot tell.
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    absl::string_view token = Settings().authorization;
    if (absl::ConsumePrefix(&token, kBearerPrefix) && token.size() == 64 &&
        absl::c_all_of(token, [](char c) { return absl::ascii_isxdigit(c); })) {
      return absl::StrCat("server ", server, ": ", CodeName(status.error_code()), ": ",
                          PrintableText(message),
                          "; the token given is 64 hex digits: a tokens file's digest, or a "
                          "token without its glt_? give the token itself, glt_ and 64 hex "
                          "digits, as `govledger admin token` printed it");
    }
  }
  if (status.error_code() == grpc::StatusCode::CANCELLED &&
      (message.empty() || message == "CANCELLED" || message == "Cancelled")) {
    return absl::StrCat("server ", server, ": CANCELLED: the server ended the call (shutting "
                        "down?); retry once it serves again");
  }
  // The message may quote what was sent or stored, as it was.
  return absl::StrCat("server ", server, ": ", CodeName(status.error_code()), ": ",
                      PrintableText(message));
}

int Fail(int code, const std::string& message) {
  Progress::FinishShown();
  // Escaped here, whatever the message quotes (a file name, a flag's value, the server's words):
  // a terminal acts on an escape sequence rather than show it (PrintableText is idempotent,
  // so what a caller escaped already is shown the same).
  std::cerr << "govledger: " << PrintableText(message, LineBreaks::kKeep) << "\n";
  return code;
}

absl::Status CheckStreamFlag(absl::string_view flag, const std::string& stream) {
  absl::Status bad = ValidateStreamId(stream);
  if (bad.ok()) return bad;
  // The likely mistake: a decision's reference as written, where its stream has the slug.
  const std::string slug = projections::ReferenceSlug(stream);
  const bool spaced_decision =
      absl::StartsWith(stream, "decision/") && slug != stream && ValidateStreamId(slug).ok();
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": ", PrintableText(bad.message()),
      spaced_decision ? absl::StrCat("; a decision's stream has its reference with '-' for each "
                                     "space: ",
                                     PrintableText(slug))
                      : ""));
}

int ExitCodeOf(const grpc::Status& status) {
  std::optional<google::rpc::ErrorInfo> info;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    info = errors::ErrorInfoOfDetails(status.error_details());
  }
  const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                           !(info && info->reason() == errors::reason::kWriterStopped);
  // The CLI cancels none of its calls: a CANCELLED is the server's (a call that arrived as it
  // shut down), worth retrying as UNAVAILABLE is.
  const bool cancelled = status.error_code() == grpc::StatusCode::CANCELLED;
  // The server found its stored log damaged: integrity, whichever command met it (a cron
  // `witness` alerting on 4 heard exit 1, found by an operator's trial).
  if (status.error_code() == grpc::StatusCode::DATA_LOSS) return kExitChainBroken;
  return unreachable || cancelled ? kExitUnreachable : kExitRefused;
}

std::string DamageAdvice(absl::string_view message) {
  if (absl::StrContains(message, "backup") || absl::StrContains(message, "--rebuild-indexes")) {
    return "";
  }
  return "; run govledger verify, and restore from a backup";
}

std::unique_ptr<grpc::ClientContext> NewCallContext(const std::string& actor) {
  constexpr std::chrono::seconds kCallTimeout{60};
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (!actor.empty()) context->AddMetadata(kActorMetadataKey, actor);
  return context;
}

bool OutcomeUnknown(const grpc::Status& status) {
  // A channel that never connected never sent the request.
  if (NameNotResolved(status) || ConnectFailed(status)) return false;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
      return true;
    default:
      return false;
  }
}

int FailCall(const std::string& server, const grpc::Status& status) {
  return Fail(ExitCodeOf(status), DescribeError(server, status));
}

int PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return Fail(kExitRefused, "cannot print the server's answer as JSON");
  }
  std::cout << json << "\n";
  return kExitOk;
}

}  // namespace govledger::cli
