// AdminServiceImpl: the gRPC adapter of backups and the daemon's figures
// (proto/govledger/v1/admin.proto; the checkpoint and its manifest are
// ledger/store/backup.h's). Thread-safe.
//
// Both methods are asynchronous and raw (async_calls.h parses the requests):
// the serving thread admits the caller and hands the call to one of two admin
// threads. GetStats is answered there. A Backup holds one of them while it
// streams, each chunk's write waited for, so flow control holds a slow client's
// backup back (the checkpoint costs hard links, little space) and the store is
// never buffered in memory; the other thread still answers GetStats. One backup
// runs at a time: another Backup meanwhile is RESOURCE_EXHAUSTED (BACKUP_IN_PROGRESS). A backup
// whose chunk (1 MiB) gRPC has not taken `stall_limit` after it was sent (the
// client stopped reading, though its connection still answers pings, or its
// process or machine stopped) is cancelled, so that it does not hold the one
// backup for ever. A reload of the tokens that withdraws the
// caller's access ends it before its next chunk (AccessControl::Recheck).
#ifndef GOVLEDGER_LEDGER_SERVER_ADMIN_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_ADMIN_SERVICE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "govledger/v1/admin.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/server/access_control.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/work_queue.h"
#include "ledger/store/rocksdb_event_store.h"

namespace govledger {

using AdminServiceBase = v1::AdminService::WithRawMethod_Backup<
    v1::AdminService::WithRawMethod_GetStats<v1::AdminService::Service>>;

class AdminServiceImpl final : public AdminServiceBase {
 public:
  // The daemon's figures, as GetStats answers them.
  using StatsSource = std::function<v1::GetStatsResponse()>;

  // Callers are admitted by `access`: Backup needs an admin, GetStats a viewer. A backup
  // whose chunk is not taken `stall_limit` after it was sent is cancelled. `log` (if set) is
  // told, from an admin thread, a line for the log as each backup starts and ends: who took
  // it, from where, and its head, or why it ended (a stall among them). A backup whose checkpoint
  // failed and left the store refusing writes (its flush met a full disk) tells `stop_appends` so
  // (Ledger::StopAppends: appends stop until a restart, as after a failed append). REQUIRES:
  // `store` (the database in `data_dir`), `clock` and `access` outlive the service, and
  // `stats` and `stop_appends` may be called until Stop.
  AdminServiceImpl(RocksDbEventStore* store, std::string data_dir, const Clock* clock,
                   const AccessControl& access, StatsSource stats,
                   std::function<void(const absl::Status&)> stop_appends,
                   std::chrono::seconds stall_limit,
                   std::function<void(const std::string&)> log = {});
  ~AdminServiceImpl() override;  // Stop()s

  // Serves both methods from `cq` (see UnaryMethod::Listen).
  void Listen(grpc::ServerCompletionQueue* cq);

  // Waits for the admin threads' calls (a backup in progress ends at its next write, or at
  // once if a write of it is stuck) and ends the threads; calls still queued, and any later, are refused with
  // UNAVAILABLE. Call after the gRPC server has shut down, while the store is open, before the
  // completion queue is shut down. Idempotent.
  void Stop();

 private:
  class BackupCall;

  // Starts waiting for the next Backup call on `cq`.
  void AwaitBackup(grpc::ServerCompletionQueue* cq);
  // A Backup call has arrived (serving thread): admits the caller, parses the request, and
  // queues the backup unless one is running.
  void Arrived(BackupCall* call);
  // Streams a backup to `call`, on an admin thread: the status to finish it with. The caller
  // was admitted at AccessControl::generation() `admitted_at`. `*head`: the head position of
  // the copy, once its manifest is sent.
  grpc::Status Backup(BackupCall* call, uint64_t admitted_at, uint64_t* head);
  // Writes `chunk` to `call` (BackupCall::Write), telling on_stalled_ of a stall: whether the
  // backup goes on.
  bool Send(BackupCall* call, const v1::BackupChunk& chunk);

  RocksDbEventStore* const store_;
  const std::string data_dir_;
  const Clock* const clock_;
  const AccessControl& access_;
  const StatsSource stats_;
  const std::function<void(const absl::Status&)> stop_appends_;
  const std::chrono::seconds stall_limit_;
  const std::function<void(const std::string&)> log_;
  std::atomic<bool> backup_running_{false};
  std::mutex running_mu_;
  BackupCall* running_ = nullptr;  // the backup an admin thread streams; guarded by running_mu_
  bool stopping_ = false;          // Stop has begun; guarded by running_mu_
  WorkQueue work_{2, "admin"};
  const UnaryMethod<v1::GetStatsRequest> get_stats_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_ADMIN_SERVICE_H_
