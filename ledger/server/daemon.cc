#include "ledger/server/daemon.h"

#include <gperftools/malloc_extension.h>
#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "ledger/common/address.h"
#include "ledger/common/errors.h"
#include "ledger/common/files.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/sha256.h"
#include "ledger/server/admin_service.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/audit_service.h"
#include "ledger/server/free_space_watch.h"
#include "ledger/server/health_service.h"
#include "ledger/server/ledger_service.h"
#include "ledger/server/query_service.h"
#include "ledger/server/unknown_methods.h"
#include "ledger/store/backup.h"
#include "ledger/store/index_rebuild.h"
#include "projections/governance_validator.h"

namespace govledger {

namespace {

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> text = ReadWholeFile(path, kSmallFileBytes);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the TLS ", what, ": ", text.status().message()));
  }
  if (text->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the TLS ", what, " file ", path, " holds no PEM block"));
  }
  return text;
}

// OK when the first certificate of `cert_pem` (the server's own) is for the private key of
// `key_pem`: gRPC would otherwise find out only when it starts listening, once the store is
// open, and say no more than that it could not.
absl::Status CheckKeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem,
                                        const DaemonOptions& options) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the TLS certificate file ", options.tls_cert_file,
        " does not begin with a PEM certificate (BEGIN CERTIFICATE)"));
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the TLS private key file ", options.tls_key_file,
                     " holds no private key that can be read without a passphrase"));
  }
  const bool matches = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();  // OpenSSL's reasons are said here, not left for the next caller
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the TLS certificate ", options.tls_cert_file, " is not for the private key ",
        options.tls_key_file, "; give the key the certificate was made for"));
  }
  return absl::OkStatus();
}

// Plaintext, or TLS with the options' certificate chain and key.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const DaemonOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key (or neither, for plaintext)");
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile(options.tls_cert_file, "certificate"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPemFile(options.tls_key_file, "private key"));
  RETURN_IF_ERROR(CheckKeyIsPrivate("the TLS private key file", options.tls_key_file));
  RETURN_IF_ERROR(CheckKeyMatchesCertificate(pair.cert_chain, pair.private_key, options));
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

// The 32-byte Ed25519 seed of the tree head key file (PEM, as `govledger keys generate`
// writes it); "" when there is none.
absl::StatusOr<std::string> ReadTreeHeadKey(const std::string& path) {
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> pem = ReadWholeFile(path, kSmallFileBytes);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the tree head key: ", pem.status().message()));
  }
  // What the file holds first: a public key given by mistake is readable by all, and the fix
  // is the other file, not its mode.
  absl::StatusOr<std::string> seed = crypto::Ed25519PrivateKeyFromPem(*pem);
  if (!seed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the tree head key file ", path, " holds no Ed25519 private key",
        absl::StrContains(*pem, "PUBLIC KEY")
            ? " but a public key: give the private key, PREFIX.key of `govledger keys generate "
              "--out PREFIX`, not PREFIX.pub"
            : " (make one with `govledger keys generate`)",
        ": ", seed.status().message()));
  }
  RETURN_IF_ERROR(CheckKeyIsPrivate("the tree head key file", path));
  return seed;
}

// Marks a status as Start's configuration error (IsConfigurationError).
constexpr char kConfigurationPayload[] = "type.googleapis.com/govledger.ConfigurationError";

absl::Status ConfigurationError(absl::Status status) {
  status.SetPayload(kConfigurationPayload, absl::Cord());
  return status;
}

// Refuses a listen address ("HOST:PORT", an IPv6 host in brackets) that another process already
// listens on, or that none of whose addresses can be bound (with the reason: no interface has
// it, a port that needs privilege), by binding a socket to each of its addresses and closing
// it, as gRPC binds them (SO_REUSEADDR, no SO_REUSEPORT); and a unix:PATH whose directory is
// not there. So these stop the start before the store is opened or its directory made. Port 0,
// a host that does not resolve and anything else gRPC accepts (unix-abstract:, ...) are left to
// gRPC, whose failure to bind is reported after the store is open; so is a port taken between
// this check and gRPC's bind.
absl::Status CheckListenAddressFree(const std::string& listen) {
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(listen, scheme)) {
      // Lists of addresses to call, which gRPC's server does not take (it would fail to bind,
      // after the store is open and its directory made).
      const std::string first = listen.substr(scheme.size(), listen.find(',') - scheme.size());
      return ConfigurationError(absl::InvalidArgumentError(absl::StrCat(
          "cannot listen on ", listen, ": ", scheme,
          " names addresses to call, not one to serve on; give HOST:PORT, e.g. ", first)));
    }
  }
  for (absl::string_view scheme : {"unix-abstract:", "dns:"}) {
    if (absl::StartsWith(listen, scheme)) return absl::OkStatus();  // gRPC's to judge
  }
  if (absl::string_view path = listen; absl::ConsumePrefix(&path, "unix:")) {
    const std::filesystem::path dir = std::filesystem::path(std::string(path)).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      return ConfigurationError(absl::FailedPreconditionError(absl::StrCat(
          "cannot listen on ", listen, ": there is no directory ", dir.string(),
          " for the socket; create it (under systemd, RuntimeDirectory= makes one in /run)")));
    }
    // gRPC replaces a socket file already there: with another daemon still listening on it,
    // that one would go on running, unreachable. A socket nobody answers on is left by a
    // daemon that was killed, and is replaced.
    const std::string socket_path(path);
    struct stat st {};
    if (lstat(socket_path.c_str(), &st) != 0) return absl::OkStatus();
    if (!S_ISSOCK(st.st_mode)) {
      return ConfigurationError(absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", listen, ": ", socket_path,
                       " exists and is not a socket; give another path, or remove it")));
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(address.sun_path)) return absl::OkStatus();  // gRPC's to say
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return absl::OkStatus();
    const bool answered =
        connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 ||
        errno == EAGAIN || errno == EINPROGRESS;  // a listener with its backlog full
    close(fd);
    if (answered) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", listen, ": another process is listening on that socket (another "
          "govledgerd?); stop it or choose another --listen"));
    }
    return absl::OkStatus();
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return absl::OkStatus();
  absl::string_view host = absl::string_view(listen).substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port == "0") return absl::OkStatus();
  if (absl::ConsumePrefix(&host, "[")) {
    if (!absl::ConsumeSuffix(&host, "]")) return absl::OkStatus();
  } else if (absl::StrContains(host, ':')) {
    return absl::OkStatus();  // an unbracketed IPv6 address: gRPC's to judge
  }
  const std::string host_name(host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int failed = getaddrinfo(host_name.empty() ? nullptr : host_name.c_str(),
                                     port.c_str(), &hints, &found);
      failed != 0) {
    if (failed == EAI_NONAME || failed == EAI_FAIL || failed == EAI_NODATA ||
        failed == EAI_AGAIN) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", listen, ": host ", host_name, " does not resolve (",
          gai_strerror(failed), "); give an address of this machine, e.g. 127.0.0.1:", port));
    }
    return absl::OkStatus();  // gRPC's to say
  }
  // gRPC listens on every address the host resolves to, and fails if none can be bound.
  bool taken = false;
  bool bound = false;
  int first_errno = 0;
  for (addrinfo* a = found; a != nullptr && !taken; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
      bound = true;
    } else {
      taken = errno == EADDRINUSE;
      if (first_errno == 0) first_errno = errno;
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (taken) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", listen, ": another process is listening on that address (another "
        "govledgerd?); stop it or choose another --listen"));
  }
  if (!bound && first_errno != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", listen, ": ", std::strerror(first_errno),
        first_errno == EADDRNOTAVAIL ? " (no interface of this machine has that address)"
        : first_errno == EACCES      ? " (a port below 1024 needs CAP_NET_BIND_SERVICE)"
                                     : ""));
  }
  return absl::OkStatus();
}

}  // namespace

bool Daemon::IsConfigurationError(const absl::Status& status) {
  return status.GetPayload(kConfigurationPayload).has_value();
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options,
                                                      const Clock* clock) {
  std::unique_ptr<Daemon> daemon(new Daemon());
  daemon->options_ = options;
  daemon->clock_ = clock;
  daemon->started_micros_ = clock->NowMicros();
  // Bad access, TLS or key files, or a listen address taken, stop the start before the store
  // is opened.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::string tree_head_key;
  if (absl::Status files = [&]() -> absl::Status {
        if (!options.tokens_file.empty()) {
          ASSIGN_OR_RETURN(daemon->access_, AccessControl::FromTokensFile(options.tokens_file));
        }
        if (options.log) daemon->access_->set_log(options.log);
        ASSIGN_OR_RETURN(credentials, ServerCredentials(options));
        ASSIGN_OR_RETURN(tree_head_key, ReadTreeHeadKey(options.tree_head_key_file));
        return absl::OkStatus();
      }();
      !files.ok()) {
    return ConfigurationError(std::move(files));
  }
  RETURN_IF_ERROR(CheckListenAddressFree(options.listen));
  {
    auto store = RocksDbEventStore::Open(options.data_dir, options.rocksdb);
    if (!store.ok()) {
      // A newer govledger's database, or a path that is no data directory: every start of this
      // build would fail alike.
      if (RocksDbEventStore::IsOtherFormat(store.status()) ||
          RocksDbEventStore::IsWrongDirectory(store.status())) {
        return ConfigurationError(store.status());
      }
      return store.status();
    }
    daemon->store_ = *std::move(store);
  }
  // A backup cut short by a crash left its checkpoint (hard links that hold the space of files
  // the database has since dropped); the store is open, so no other process is backing it up.
  RETURN_IF_ERROR(backup::CheckpointReader::RemoveStaleCheckpoint(options.data_dir));
  // The indexes before anything reads them: the rules' replay looks corrections' targets up.
  ASSIGN_OR_RETURN(const bool interrupted, daemon->store_->IndexRebuildUnfinished());
  if (options.rebuild_indexes || interrupted) {
    if (options.log) {
      options.log(interrupted ? "an index rebuild was cut short: rebuilding the streams and "
                                "event_ids indexes from the log again"
                              : "rebuilding the streams and event_ids indexes from the log");
    }
    absl::StatusOr<IndexRebuildResult> result = RebuildIndexes(*daemon->store_);
    if (!result.ok() && result.status().code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError(absl::StrCat(
          result.status().message(),
          interrupted ? "; the log does not verify, so the indexes, which a rebuild cut short "
                        "left incomplete, were not rebuilt: restore the ledger from a backup"
                      : "; the log does not verify, so the indexes were not rebuilt (nothing "
                        "was changed): start without --rebuild-indexes to save what can still be "
                        "read (README, \"Saving what a damaged ledger still holds\"), and "
                        "restore the ledger from a backup"));
    }
    RETURN_IF_ERROR(result.status());
    const IndexRebuildResult& rebuilt = *result;
    if (options.log) {
      options.log(absl::StrFormat("indexes rebuilt: %d events, %d streams, in %.2f s",
                                  rebuilt.events, rebuilt.streams, rebuilt.seconds));
      for (const std::string& a : rebuilt.anomalies) options.log("index rebuild: " + a);
      if (rebuilt.anomaly_count > rebuilt.anomalies.size()) {
        options.log(absl::StrCat("index rebuild: and ",
                                 rebuilt.anomaly_count - rebuilt.anomalies.size(),
                                 " more such (govledger verify lists them)"));
      }
    }
  }
  projections::ValidatorOptions validator_options;
  validator_options.snapshot_every = options.snapshot_every;
  validator_options.checkpoint_seconds = options.checkpoint_seconds;
  validator_options.rebuild = options.rebuild_projections;
  validator_options.on_rebuild_checkpoint = options.on_rebuild_checkpoint;
  validator_options.log = options.log;
  daemon->validator_ = std::make_unique<projections::GovernanceValidator>(validator_options);
  absl::StatusOr<std::unique_ptr<Ledger>> ledger =
      Ledger::Open(daemon->store_.get(), clock, options.ledger, daemon->validator_.get());
  if (!ledger.ok()) {
    // The next start must still say the acknowledged head was missing (a clock refused, say).
    daemon->store_->RemoveAcknowledgedHeadMadeAtOpen();
    // A broken chain or a corrupt event found at start: say what to do (an index's damage says
    // so itself: the log may be whole).
    const std::optional<google::rpc::ErrorInfo> info = errors::ErrorInfoOf(ledger.status());
    if (ledger.status().code() == absl::StatusCode::kDataLoss &&
        !absl::StrContains(ledger.status().message(), "from a backup") &&
        !(info && info->reason() == errors::reason::kIndexDamaged)) {
      return absl::DataLossError(absl::StrCat(
          ledger.status().message(), "; the data directory is damaged or was altered: keep it "
          "for inspection, and restore the ledger from a backup (govledger admin restore)"));
    }
    return ledger.status();
  }
  daemon->ledger_ = std::move(*ledger);
  daemon->ledger_opened_ = true;
  // With no floor too: it also stops appends once the data directory is removed or moved.
  daemon->free_space_watch_ = std::make_unique<FreeSpaceWatch>(
      daemon->ledger_.get(), options.data_dir, options.min_free_bytes,
      FreeSpaceWatch::Of(options.data_dir), std::chrono::seconds(1), options.log);
  // Recovery parsed a large snapshot (or replayed the log): give the freed memory back to the
  // system (tcmalloc keeps it otherwise).
  MallocExtension::instance()->ReleaseFreeMemory();
  daemon->ledger_service_ =
      std::make_unique<LedgerServiceImpl>(daemon->ledger_.get(), *daemon->access_,
                                          options.max_subscriptions,
                                          options.max_subscriptions_per_token);
  daemon->query_service_ = std::make_unique<QueryServiceImpl>(
      daemon->ledger_.get(), clock, *daemon->access_, projections::SnapshotOptions(),
      options.log);
  daemon->admin_service_ = std::make_unique<AdminServiceImpl>(
      daemon->store_.get(), options.data_dir, clock, *daemon->access_,
      [d = daemon.get()] { return d->Stats(); },
      [ledger = daemon->ledger_.get()](const absl::Status& cause) { ledger->StopAppends(cause); },
      std::chrono::seconds(options.backup_stall_seconds), options.log);
  daemon->audit_service_ = std::make_unique<AuditServiceImpl>(
      daemon->ledger_.get(), clock, *daemon->access_, std::move(tree_head_key));
  if (options.tree_head_seconds > 0 && options.on_tree_head) {
    daemon->audit_service_->StartPublishing(options.tree_head_seconds, options.on_tree_head);
  }

  daemon->health_service_ = std::make_unique<HealthServiceImpl>(
      std::vector<std::string>{
          v1::LedgerService::service_full_name(), v1::QueryService::service_full_name(),
          v1::AdminService::service_full_name(), v1::AuditService::service_full_name()},
      v1::LedgerService::service_full_name(),
      [ledger = daemon->ledger_.get()] {
        return !ledger->storage_failure().ok() || !ledger->appends_paused().empty();
      },
      std::max(1, options.max_sync_threads - kSyncThreadsNotForWatches));
  // gRPC's own health service would bring the callback API's threads (see async_calls.h).
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &daemon->port_);
  builder.RegisterService(daemon->ledger_service_.get());
  builder.RegisterService(daemon->query_service_.get());
  builder.RegisterService(daemon->admin_service_.get());
  builder.RegisterService(daemon->audit_service_.get());
  builder.RegisterService(daemon->health_service_.get());
  daemon->unknown_methods_ = std::make_unique<UnknownMethods>(std::vector<std::string>{
      v1::LedgerService::service_full_name(), v1::QueryService::service_full_name(),
      v1::AdminService::service_full_name(), v1::AuditService::service_full_name(),
      grpc::health::v1::Health::service_full_name()});
  builder.RegisterAsyncGenericService(daemon->unknown_methods_->service());
  // The synchronous services' threads (gRPC's pool, pollers included) come from this quota.
  grpc::ResourceQuota threads("govledgerd-sync-threads");
  threads.SetMaxThreads(options.max_sync_threads);
  builder.SetResourceQuota(threads);
  // No compressed requests: gRPC would inflate one before its size limit applies, so a 2 MB
  // gzip "bomb", sent by anyone who can connect, token or not, grew the daemon by gigabytes.
  // A client asking for compression is refused (UNIMPLEMENTED) before its message is read.
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // Keepalive (DaemonOptions::keepalive_seconds). gRPC sends at most two pings without data in
  // between unless told otherwise, which would stop the pings of a subscription that is
  // waiting for events; and refuses client pings more often than every 5 minutes.
  const int keepalive_ms = options.keepalive_seconds * 1000;
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             std::min(keepalive_ms, 10000));
  // A connection with no call open for 5 minutes is closed (the client reconnects when it next
  // calls), and one that has not finished its handshake in 20 s (gRPC's default: 120 s):
  // each holds a file descriptor, and connections that hold them for nothing, however opened,
  // would otherwise run the daemon out of them (see govledgerd_main.cc on the listener).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 20 * 1000);
  // Refuse a port another process already serves on (gRPC allows sharing by default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  daemon->calls_ = builder.AddCompletionQueue();
  daemon->server_ = builder.BuildAndStart();
  if (daemon->server_ == nullptr || daemon->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen, "; is the address valid and the port free?",
        options.tls_cert_file.empty() ? "" : " Are the TLS certificate and key a matching pair?"));
  }
  // Subscriptions' operations complete on a queue of their own, which polls nothing: the
  // serving thread still does all the polling (daemon.h, streams_).
  grpc_completion_queue_attributes non_polling{GRPC_CQ_CURRENT_VERSION, GRPC_CQ_NEXT,
                                               GRPC_CQ_NON_POLLING, nullptr};
  daemon->streams_ = std::make_unique<grpc::CompletionQueue>(grpc_completion_queue_create(
      grpc_completion_queue_factory_lookup(&non_polling), &non_polling, nullptr));
  daemon->ledger_service_->Listen(daemon->calls_.get(), daemon->streams_.get());
  daemon->query_service_->Listen(daemon->calls_.get());
  daemon->admin_service_->Listen(daemon->calls_.get());
  daemon->audit_service_->Listen(daemon->calls_.get());
  daemon->unknown_methods_->Listen(daemon->calls_.get());
  daemon->health_service_->Listen(daemon->calls_.get());
  daemon->calls_thread_ = std::thread([cq = daemon->calls_.get()] {
    pthread_setname_np(pthread_self(), "grpc-calls");
    ServeCalls(cq);
  });
  daemon->streams_thread_ = std::thread([cq = daemon->streams_.get()] {
    pthread_setname_np(pthread_self(), "grpc-streams");
    ServeCalls(cq);
  });
  return daemon;
}

// How long past the grace period Shutdown still waits for gRPC's calls to end: a graceful goodbye
// to an idle client takes up to about 5 s (README, "govledgerd").
constexpr std::chrono::seconds kCallsEndMargin{5};

void Daemon::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (health_service_ != nullptr) health_service_->Shutdown();  // ends health Watch streams
  if (ledger_ != nullptr) ledger_->CloseSubscriptions();
  // The query index's build at start, and the warming, stop at their next step: the calls the
  // grace period lets finish do not wait behind them.
  if (query_service_ != nullptr) query_service_->BeginStop();
  bool calls_abandoned = false;
  if (server_ != nullptr) {
    // gRPC cancels the calls still open at the deadline, but a call blocked sending to a client
    // that has stopped answering (a frozen process, a machine switched off) ends only when
    // keepalive closes its connection, up to --keepalive-seconds later. So the wait for gRPC is
    // bounded: past it, the stop goes on without those calls, leaving what they use (the
    // server, its completion queue) alive, and the process exits when it is done.
    const auto grace = std::chrono::seconds(options_.shutdown_grace_seconds);
    auto ended = std::make_shared<std::promise<void>>();
    std::future<void> calls_ended = ended->get_future();
    std::thread([server = server_.get(), deadline = std::chrono::system_clock::now() + grace,
                 ended] {
      server->Shutdown(deadline);
      server->Wait();
      ended->set_value();
    }).detach();
    if (calls_ended.wait_for(grace + kCallsEndMargin) != std::future_status::ready) {
      calls_abandoned = true;
      (void)server_.release();
      if (options_.log) {
        options_.log(absl::StrCat(
            "calls still open ", kCallsEndMargin.count(),
            " s after the grace period (blocked on clients that stopped answering, or not "
            "finished) are left unanswered; stopping without them"));
      }
    }
  }
  // They read the ledger.
  if (ledger_service_ != nullptr) ledger_service_->Stop();
  if (query_service_ != nullptr) query_service_->Stop();
  if (audit_service_ != nullptr) audit_service_->Stop();  // publishes the last tree head
  if (admin_service_ != nullptr) admin_service_->Stop();  // ends a backup the server cancelled
  free_space_watch_.reset();
  ledger_.reset();  // commits what is queued (finishing those calls), then stops the writer
  // Every call has finished (or, a stalled backup or subscription, been abandoned) now; each
  // queue's thread deletes the last of its calls as their operations drain, and returns.
  const auto drain = [calls_abandoned](auto& queue, std::thread& thread) {
    if (queue == nullptr) return;
    queue->Shutdown();
    if (calls_abandoned) {  // it would wait for them: left to the process's exit
      if (thread.joinable()) thread.detach();
      (void)queue.release();
    } else if (thread.joinable()) {
      thread.join();
    } else {  // the server never started: nothing was requested, but the queue must drain
      void* tag = nullptr;
      bool ok = false;
      while (queue->Next(&tag, &ok)) {
      }
    }
  };
  drain(calls_, calls_thread_);
  drain(streams_, streams_thread_);
  // The next start loads this instead of replaying the log (a failure only costs a replay).
  if (validator_ != nullptr && ledger_opened_) {
    if (absl::Status saved = validator_->SaveSnapshot(); !saved.ok() && options_.log) {
      options_.log(absl::StrCat("governance rules' snapshot not saved (", saved.message(),
                                "): the next start replays the log from its last snapshot"));
    }
  }
  validator_.reset();
  store_.reset();   // closes the database
  if (calls_abandoned) {  // what the abandoned calls' handlers hold
    (void)ledger_service_.release();
    (void)admin_service_.release();
    (void)query_service_.release();
    (void)audit_service_.release();
    (void)health_service_.release();
    (void)unknown_methods_.release();
    (void)access_.release();
  }
}

Daemon::~Daemon() { Shutdown(); }

std::string Daemon::ExposureWarning(const DaemonOptions& options) {
  if (IsLocalAddress(options.listen)) return "";
  if (options.tokens_file.empty()) {
    return absl::StrCat("warning: ", options.listen,
                        " may be reachable from other machines, and without --tokens anyone "
                        "who reaches it may append under any actor (README, \"Access "
                        "control\")");
  }
  if (options.tls_cert_file.empty()) {
    return absl::StrCat("warning: ", options.listen,
                        " may be reachable from other machines, and without --tls-cert and "
                        "--tls-key the access tokens cross the network in plaintext");
  }
  return "";
}

std::string Daemon::CertificateWarning(const DaemonOptions& options, int64_t now_micros) {
  if (options.tls_cert_file.empty()) return "";
  absl::StatusOr<std::string> pem = ReadPemFile(options.tls_cert_file, "certificate");
  if (!pem.ok()) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  ERR_clear_error();
  if (cert == nullptr) return "";
  time_t now = static_cast<time_t>(now_micros / 1000000);
  // The date of an ASN1_TIME, for the message.
  auto date = [](const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return std::string("an unreadable date");
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &tm);
    return std::string(text);
  };
  const ASN1_TIME* not_before = X509_get0_notBefore(cert.get());
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> at(ASN1_TIME_set(nullptr, now),
                                                           &ASN1_TIME_free);
  int days = 0, seconds = 0;
  if (at == nullptr || ASN1_TIME_diff(&days, &seconds, at.get(), not_after) != 1) return "";
  const std::string renew = "renew it, then restart govledgerd (it reads the certificate only at "
                            "start)";
  if (days < 0 || (days == 0 && seconds <= 0)) {
    return absl::StrCat("warning: the TLS certificate ", options.tls_cert_file, " expired on ",
                        date(not_after), ": clients refuse every connection; ", renew);
  }
  if (X509_cmp_time(not_before, &now) > 0) {
    return absl::StrCat("warning: the TLS certificate ", options.tls_cert_file,
                        " is not valid until ", date(not_before),
                        ": clients refuse every connection until then (is the clock right?)");
  }
  if (days < 30) {
    return absl::StrCat("warning: the TLS certificate ", options.tls_cert_file, " expires on ",
                        date(not_after),
                        days == 0   ? std::string(", within a day")
                        : days == 1 ? std::string(", in 1 day")
                                    : absl::StrCat(", in ", days, " days"),
                        "; ", renew);
  }
  return "";
}

std::string Daemon::DataDirWarning(const std::string& data_dir) {
  std::error_code ec;
  using std::filesystem::perms;
  const perms mode = std::filesystem::status(data_dir, ec).permissions();
  if (ec || (mode & (perms::group_all | perms::others_all)) == perms::none) return "";
  return absl::StrFormat(
      "warning: other users may enter the data directory %s (mode %04o), whose files hold every "
      "event, confidential Part 2 text included; restrict it (chmod 700 %s)",
      data_dir, static_cast<unsigned>(mode & perms::mask), data_dir);
}

std::string Daemon::NestedLedgerWarning(const std::string& data_dir) {
  std::vector<std::string> nested;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(data_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // A backup's checkpoint, or the hidden copy a killed backup or restore left, is no ledger.
    if (name == backup::kCheckpointDir || backup::IsPartialCopyName(name)) continue;
    std::error_code not_there;
    if (std::filesystem::exists(it->path() / "CURRENT", not_there)) {
      nested.push_back(it->path().string());
    }
  }
  if (nested.empty()) return "";
  std::sort(nested.begin(), nested.end());
  return absl::StrCat(
      "warning: ", absl::StrJoin(nested, ", "), nested.size() == 1 ? " holds" : " hold",
      " a database too, inside the data directory, which govledgerd does not serve: it serves ",
      data_dir,
      "'s own. A restored copy moved into the data directory rather than in its place? Then "
      "stop govledgerd, move ",
      data_dir, " aside, move the copy to ", data_dir, ", and start again");
}

std::string Daemon::FreeSpaceFloorWarning(const DaemonOptions& options) {
  if (options.min_free_bytes == 0) return "";
  // On a first start the directory is yet to be made: its nearest existing ancestor's file
  // system is where it will be.
  std::error_code no_absolute;  // the working directory removed: the path as given
  std::filesystem::path at = std::filesystem::absolute(options.data_dir, no_absolute);
  if (no_absolute) at = options.data_dir;
  struct statvfs fs;
  while (::statvfs(at.c_str(), &fs) != 0) {
    if (!at.has_relative_path()) return "";
    at = at.parent_path();
  }
  return FreeSpaceFloorWarning(options.min_free_bytes, options.data_dir, fs);
}

std::string Daemon::FreeSpaceFloorWarning(uint64_t min_free_bytes, const std::string& data_dir,
                                          const struct statvfs& fs) {
  if (min_free_bytes == 0) return "";
  // The watch reads the space free to a process without root's privilege (f_bavail): at most
  // the file system's size less the blocks only root may use.
  const uint64_t reserved = fs.f_bfree > fs.f_bavail ? fs.f_bfree - fs.f_bavail : 0;
  const uint64_t usable =
      (fs.f_blocks > reserved ? fs.f_blocks - reserved : 0) * static_cast<uint64_t>(fs.f_frsize);
  if (min_free_bytes < usable) return "";
  return absl::StrCat("warning: --min-free-bytes ", min_free_bytes,
                      " is at least all the file system holding ", data_dir,
                      " can ever have free (", usable,
                      " bytes: its size less the blocks only root may use): every append will be "
                      "refused as if the disk were full; give a smaller floor (1 GiB, say) and "
                      "restart");
}

v1::GetStatsResponse Daemon::Stats() const {
  v1::GetStatsResponse out;
  out.set_version(GOVLEDGER_VERSION);
  out.set_storage_format(RocksDbEventStore::kFormatVersion);
  const int64_t now = clock_->NowMicros();
  SetMicros(started_micros_, out.mutable_started_time());
  out.set_uptime_seconds(static_cast<double>(now - started_micros_) / 1e6);
  const ChainPoint head = ledger_->Head();
  out.set_head_position(head.position);
  out.set_head_hash(std::string(crypto::AsBytes(head.hash)));
  const Ledger::Stats stats = ledger_->stats();
  out.set_events_appended(head.position - stats.opened_position);
  out.set_appends_accepted(stats.appends_accepted);
  out.set_appends_refused(stats.appends_refused);
  out.set_syncs(stats.syncs);
  out.set_subscriptions_open(static_cast<uint32_t>(ledger_service_->subscriptions_open()));
  // Files may come and go meanwhile (RocksDB's compactions, a backup's checkpoint): a file
  // gone before its size is read counts for nothing.
  uint64_t bytes = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(options_.data_dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it.depth() == 0 && it->path().filename() == backup::kCheckpointDir) {
      it.disable_recursion_pending();  // hard links to the files counted here
      continue;
    }
    // The blocks each file takes, as du counts them, not its length: RocksDB reserves a
    // write-ahead log's space (tens of MB) and a MANIFEST's ahead of use.
    struct stat file;
    if (::lstat(it->path().c_str(), &file) == 0 && S_ISREG(file.st_mode)) {
      bytes += static_cast<uint64_t>(file.st_blocks) * 512;
    }
  }
  out.set_data_dir_bytes(bytes);
  // The bytes free, whatever else is short: appends pause when files (inodes) run out too, with
  // bytes to spare, and `appends_paused` says which.
  if (struct statvfs fs; ::statvfs(options_.data_dir.c_str(), &fs) == 0) {
    out.set_data_dir_free_bytes(static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize);
  }
  out.set_min_free_bytes(options_.min_free_bytes);
  if (const std::optional<int64_t> recorded = ledger_->last_recorded_micros()) {
    SetMicros(*recorded, out.mutable_head_recorded_time());
  }
  const projections::RecoveryReport& recovery = validator_->recovery();
  out.set_recovery_positions(recovery.tail_positions);
  out.set_recovery_seconds(recovery.seconds);
  if (absl::Status failure = ledger_->storage_failure(); !failure.ok()) {
    out.set_storage_failure(std::string(failure.message()));
  }
  out.set_appends_paused(ledger_->appends_paused());
  if (absl::Status damage = ledger_->integrity_failure(); !damage.ok()) {
    out.set_integrity_failure(std::string(damage.message()));
  }
  return out;
}

bool Daemon::created_ledger() const { return store_->created(); }

std::optional<int64_t> Daemon::last_recorded_micros() const {
  return ledger_->last_recorded_micros();
}

uint64_t Daemon::head_position() const { return ledger_->Head().position; }

std::string Daemon::ClockBehindWarning(std::optional<int64_t> last_recorded_micros,
                                       uint64_t head_position, int64_t now_micros) {
  if (!last_recorded_micros || now_micros >= *last_recorded_micros) return "";
  const int64_t behind = *last_recorded_micros - now_micros;
  return absl::StrCat("the clock reads ", FormatRfc3339(now_micros), ", ",
                      (behind + 999999) / 1000000, " s before the last event's recorded time, ",
                      FormatRfc3339(*last_recorded_micros), " (position ", head_position,
                      "; --max-clock-behind-seconds let govledgerd start): every event appended "
                      "is recorded at that time until the clock catches up; if the clock is "
                      "wrong, set it (NTP)");
}

std::string Daemon::RecoverySummary() const {
  const projections::RecoveryReport& r = validator_->recovery();
  std::string out =
      r.snapshot_position > 0
          ? absl::StrCat("governance state from the snapshot at position ", r.snapshot_position)
          : absl::StrCat("governance state folded from position 1",
                         r.snapshot_ignored.empty() ? ""
                                                    : absl::StrCat(" (", r.snapshot_ignored, ")"));
  if (!store_->upgraded_from().empty()) {
    absl::StrAppend(&out, "; data directory upgraded from storage format ",
                    store_->upgraded_from(), " to ", RocksDbEventStore::kFormatVersion,
                    " (one way: an older govledgerd can no longer open it)");
  }
  if (const uint64_t at = store_->acknowledged_head_missing_at(); at > 0) {
    absl::StrAppend(&out, "; ", kAcknowledgedHeadFile, " was missing beside a log of ", at,
                    at == 1 ? " event" : " events",
                    " and is made anew from its head: a log cut short before this start "
                    "could not be found, so compare position ", at, " with the last head you "
                    "know (a tree head, a backup's manifest)");
  }
  absl::StrAppend(&out, "; replayed ", r.tail_positions, " positions (", r.replayed_events,
                  " governance events, ", r.skipped_events, " skipped) in ",
                  absl::StrFormat("%.2f", r.seconds), " s");
  if (r.saving_seconds > 0) {
    absl::StrAppend(&out, absl::StrFormat(", of which %.2f s saving snapshots", r.saving_seconds));
  }
  if (r.refold_seconds > 0) {
    absl::StrAppend(&out, absl::StrFormat("; corrections replayed, the log refolded without the "
                                          "events they void in %.2f s",
                                          r.refold_seconds));
  }
  if (r.rebuilt) {
    const double folding = r.seconds - r.saving_seconds;
    absl::StrAppend(
        &out, r.resumed ? "; rebuild resumed and finished" : "; rebuild finished",
        absl::StrFormat(" (%.0f positions/s in all, %.0f positions/s folding)",
                        r.seconds > 0 ? r.tail_positions / r.seconds : 0.0,
                        folding > 0 ? r.tail_positions / folding : 0.0));
  }
  return out;
}

}  // namespace govledger
