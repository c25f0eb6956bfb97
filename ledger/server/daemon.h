// Daemon: wires clock, store, governance rules (projections::GovernanceValidator), ledger and
// gRPC services (LedgerService, QueryService, AdminService, AuditService, health) into one
// running server. main() only parses flags and starts it; integration tests start the real
// binary. Shutdown is idempotent; it is called by one thread at a time (govledgerd's main
// thread, or a test's).
#ifndef GOVLEDGER_LEDGER_SERVER_DAEMON_H_
#define GOVLEDGER_LEDGER_SERVER_DAEMON_H_

#include <sys/statvfs.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "govledger/v1/admin.pb.h"
#include "govledger/v1/audit.pb.h"
#include "ledger/common/clock.h"
#include "ledger/ledger.h"
#include "ledger/server/access_control.h"
#include "ledger/store/rocksdb_event_store.h"

namespace grpc {
class Server;
class ServerCompletionQueue;
}

namespace govledger {

class AdminServiceImpl;
class AuditServiceImpl;
class FreeSpaceWatch;
class HealthServiceImpl;
class LedgerServiceImpl;
class QueryServiceImpl;
class UnknownMethods;
namespace projections {
class GovernanceValidator;
}

// Threads of --max-sync-threads that health Watch streams never hold (DaemonOptions).
inline constexpr int kSyncThreadsNotForWatches = 4;

struct DaemonOptions {
  // Directory of the RocksDB database; created if missing. Default "./govledger-data".
  std::string data_dir = "govledger-data";
  // Address to listen on; port 0 picks a free port (see Daemon::port()).
  // Default "127.0.0.1:50051".
  std::string listen = "127.0.0.1:50051";
  // Access tokens (access_control.h): a file of "<sha256> <role> <actor>" lines. Empty: open,
  // every caller may call everything under the actor it names. Default empty.
  std::string tokens_file;
  // TLS: the server's certificate chain and private key, PEM files; both or neither. Empty:
  // plaintext. Default empty.
  std::string tls_cert_file;
  std::string tls_key_file;
  // The key the ledger signs its tree heads with (README, "Proofs and signed tree heads"): an
  // Ed25519 private key, PEM, as `govledger keys generate` writes it; others may not read the
  // file. Empty: tree heads are unsigned. Default empty.
  std::string tree_head_key_file;
  // Publish a tree head every this many seconds when the log has grown (and one at shutdown),
  // through on_tree_head; 0: only when asked (AuditService). Default 0.
  int tree_head_seconds = 0;
  // Told each tree head published, or why there is none (an error reading the log). Default
  // none.
  std::function<void(absl::StatusOr<v1::TreeHead>)> on_tree_head;
  // Longest wait for in-flight calls at shutdown before they are cancelled, seconds. Default 10.
  int shutdown_grace_seconds = 10;
  // Most threads serving the synchronous calls: health Watch and server reflection, one thread
  // per open call (health Check, LedgerService, QueryService, AuditService and AdminService
  // hold none: async_calls.h). A call
  // past the limit is refused at once with RESOURCE_EXHAUSTED, so no client can make the daemon
  // start threads without bound. At least 4. Default 32. Health Watch streams, which anyone
  // who can connect may hold open, get all but kSyncThreadsNotForWatches of them (at least one):
  // past that a Watch is refused (RESOURCE_EXHAUSTED), and Check, which probes call, and
  // reflection still have threads (gRPC's pollers take two of them).
  int max_sync_threads = 32;
  // Most subscriptions open at once; another is refused with RESOURCE_EXHAUSTED. Each holds
  // a page of at most 256 events (and 16 MiB) while it catches up, so this bounds their
  // memory. Default 1000.
  int max_subscriptions = 1000;
  // Most of them one actor's access tokens may hold open together (with --tokens; counted by
  // the actor, so tokens being rotated share it): one reader cannot take every slot from the
  // rest.
  int max_subscriptions_per_token = 100;
  // Keepalive, seconds: a connection with calls open is pinged after this long without a ping,
  // and closed, ending its calls, when its client has not answered this long after. A client
  // that vanished without closing its connection (a machine switched off, a firewall that
  // dropped the connection) thus frees its subscriptions, and the pings keep idle streams
  // alive through firewalls. Clients may ping as often as every min(this, 10) s. Default 60.
  int keepalive_seconds = 60;
  // A backup whose client takes none of its chunks (1 MiB each) for this long, seconds, is
  // cancelled: a client that stopped reading, though its connection still answers the
  // keepalive pings, would otherwise hold the one backup slot until it went away. The default
  // keeps a backup going on a link of 4 KB/s. Default 300.
  int backup_stall_seconds = 300;
  // Appends are paused (RESOURCE_EXHAUSTED) while the data directory's file system has fewer
  // free bytes than this, checked every second, and resume by themselves once it has been
  // free for 10 checks in a row
  // (free_space_watch.h); 0: never. Default 256 MiB: a memtable's flush and a new write-ahead
  // log take about 70 MB at once (an operator's drill on a full disk, with 64 MiB, stopped 59
  // KB short of it).
  uint64_t min_free_bytes = 256 << 20;
  LedgerOptions ledger;
  RocksDbOptions rocksdb;
  // Snapshots of the governance state (projections::ValidatorOptions): every this many
  // committed positions, and at clean shutdown. Default 500,000.
  uint64_t snapshot_every = 500000;
  // A replay at start checkpoints at most this often, seconds (projections::ValidatorOptions::
  // checkpoint_seconds; 0: every snapshot_every positions). Default 10.
  int checkpoint_seconds = 10;
  // Drop the projections and refold the whole log before serving (resumable). Default false.
  bool rebuild_projections = false;
  // Rebuild the `streams` and `event_ids` indexes from the log before serving (RebuildIndexes;
  // a start that finds a rebuild cut short does so whatever this says). Default false.
  bool rebuild_indexes = false;
  // Called after each checkpoint of a rebuild with the position reached (progress). Default
  // none.
  std::function<void(uint64_t position)> on_rebuild_checkpoint;
  // Told, from any of the daemon's threads, each line for its log (one call at a time is not
  // promised): appends paused or resumed for free space; how QueryService made its index ready
  // (loaded or built, and in how long); each backup, who took it and how it ended (one
  // cancelled because its client took no chunk for backup_stall_seconds among them); calls
  // refused for their token (at most 10 lines a minute); calls still open when Shutdown stopped
  // waiting; a projection's snapshot (the governance rules' state, the query index) that could not
  // be saved. Default none.
  std::function<void(const std::string&)> log;
};

class Daemon {
 public:
  // Opens the store (verifying the chain) and starts serving. REQUIRES: `clock` outlives the
  // Daemon. Errors: the store's (DATA_LOSS for a broken chain), UNAVAILABLE if the address
  // cannot be bound; those of the tokens, TLS and tree-head key files (missing, unreadable,
  // malformed, open to others) and of TLS given half, before the store is opened, and a data
  // directory of another storage format (a newer govledger's) or a path that is none (empty, a
  // file, a backup, ...: RocksDbEventStore::IsWrongDirectory), and a unix socket's missing
  // directory, pass IsConfigurationError.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonOptions& options,
                                                       const Clock* clock);
  // Whether Start failed on its configuration (above): the operator's to fix, which a restart
  // alone would meet again (govledgerd exits 2, as for a bad flag).
  static bool IsConfigurationError(const absl::Status& status);
  ~Daemon();

  // The port actually bound.
  int port() const { return port_; }
  // Whether this start made the database: the data directory held none.
  bool created_ledger() const;

  // How the governance state was recovered at start (snapshot, events replayed, rebuild), one
  // line for the daemon's log.
  std::string RecoverySummary() const;

  // What AdminService.GetStats answers: the release, the head, the counters since the start,
  // the data directory's size and the space free beside it, the recovery, and why appends are
  // paused or stopped, if they are. Thread-safe; the directory's size is summed on each call.
  v1::GetStatsResponse Stats() const;

  // A warning for an address other machines can reach (`options.listen` is not loopback or a
  // Unix socket): without --tokens anyone there may append under any actor; with tokens but
  // without TLS the tokens cross the network in plaintext. Empty when there is nothing to say.
  static std::string ExposureWarning(const DaemonOptions& options);

  // A warning for a data directory other users may enter (its files hold every event,
  // confidential Part 2 text included); empty when only its owner may.
  static std::string DataDirWarning(const std::string& data_dir);

  // A warning for a database in a subdirectory of the data directory (a restored copy moved
  // into it, say, rather than in its place), which govledgerd does not serve; empty when there
  // is none (a backup's checkpoint, or a killed copy's hidden directory, is none).
  static std::string NestedLedgerWarning(const std::string& data_dir);

  // A warning for a --min-free-bytes at or above all the data directory's file system can ever
  // have free for govledgerd (its size less the blocks only root may use, which the watch does
  // not count): appends would stay paused for ever (until it is lowered and govledgerd
  // restarted). Empty otherwise, and when the file system cannot be read.
  static std::string FreeSpaceFloorWarning(const DaemonOptions& options);
  // The same for the file system `fs` describes.
  static std::string FreeSpaceFloorWarning(uint64_t min_free_bytes, const std::string& data_dir,
                                           const struct statvfs& fs);

  // A warning for a --tls-cert whose certificate (the first in the file) has expired, is not
  // yet valid, or expires within 30 days of `now_micros`: clients refuse it then, and it is
  // read only at start. Empty when there is nothing to say (or no certificate to read: Start
  // has said why).
  static std::string CertificateWarning(const DaemonOptions& options, int64_t now_micros);

  // A warning for a clock behind the last event's recorded time (`last_recorded_micros`, of the
  // event at `head_position`), which --max-clock-behind-seconds let govledgerd start on: every
  // event appended is recorded at that later time until the clock catches up. Empty when the
  // clock is not behind (or the log is empty).
  static std::string ClockBehindWarning(std::optional<int64_t> last_recorded_micros,
                                        uint64_t head_position, int64_t now_micros);
  // The recorded time of the last event in the log; none for an empty log. Thread-safe.
  std::optional<int64_t> last_recorded_micros() const;
  // The log's head position (0 for an empty log). Thread-safe.
  uint64_t head_position() const;

  // Re-reads the --tokens file (AccessControl::Reload): the number of tokens now accepted, or
  // why the file was not taken (the tokens then stay as they were).
  absl::StatusOr<size_t> ReloadTokens() { return access_->Reload(); }

  // Ends subscriptions, lets in-flight calls finish (up to the grace period), stops the
  // writer after queued appends commit and closes the database. Returns within the grace
  // period and a few seconds more: calls still open then (blocked sending to clients that stopped
  // answering) are abandoned, with the gRPC server and the services they use, and may wake when
  // keepalive closes their connections; the caller must then exit the process without running
  // gRPC's global shutdown (std::_Exit, as govledgerd does).
  void Shutdown();

 private:
  Daemon() = default;

  DaemonOptions options_;
  const Clock* clock_ = nullptr;
  int64_t started_micros_ = 0;  // when Start began
  // Who may call what; every service holds a reference.
  std::unique_ptr<AccessControl> access_ = std::make_unique<AccessControl>();
  std::unique_ptr<RocksDbEventStore> store_;
  // The governance rules every append is checked against; outlives ledger_.
  std::unique_ptr<projections::GovernanceValidator> validator_;
  std::unique_ptr<Ledger> ledger_;
  // The ledger opened (the validator recovered): only then is there a state to snapshot.
  bool ledger_opened_ = false;
  // Stops ledger_'s appends once the data directory is removed or moved, and pauses them while
  // its disk is nearly full (never with min_free_bytes 0).
  std::unique_ptr<FreeSpaceWatch> free_space_watch_;
  std::unique_ptr<LedgerServiceImpl> ledger_service_;
  // The read side: "as at" queries over the ledger's log.
  std::unique_ptr<QueryServiceImpl> query_service_;
  // Online backups of store_ (checkpoints inside data_dir).
  std::unique_ptr<AdminServiceImpl> admin_service_;
  // Signed tree heads and proofs of the log (its Merkle tree's chunks in memory).
  std::unique_ptr<AuditServiceImpl> audit_service_;
  // grpc.health.v1.Health for the services above.
  std::unique_ptr<HealthServiceImpl> health_service_;
  // Calls of methods none of the services above has (served from calls_).
  std::unique_ptr<UnknownMethods> unknown_methods_;
  std::unique_ptr<grpc::Server> server_;
  // The calls of LedgerService, QueryService, AuditService and AdminService (async_calls.h;
  // Backup streams from it too, and Subscribe calls arrive on it), and the one thread that
  // serves them and polls the sockets (a second was measured slower: both then poll them).
  std::unique_ptr<grpc::ServerCompletionQueue> calls_;
  std::thread calls_thread_;
  // The operations of Subscribe calls (their writes, their end), served by a thread of their
  // own. gRPC's queue polls the sockets only when it is empty, so with one queue, subscriptions
  // catching up, whose writes complete one after another, kept the serving thread from
  // reading any new call (40 of them: health Check and GetHead took 5 to 25 s). This queue
  // polls nothing (GRPC_CQ_NON_POLLING): the sockets are polled by the serving thread (and
  // gRPC's own pool threads), never by this one, and unary calls ran as fast as with one queue.
  std::unique_ptr<grpc::CompletionQueue> streams_;
  std::thread streams_thread_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_DAEMON_H_
