// AdminServiceImpl: the gRPC adapter of backups
// (proto/govledger/v1/admin.proto; the checkpoint and its manifest are
// ledger/store/backup.h's). Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_ADMIN_SERVICE_H_
#define GOVLEDGER_LEDGER_SERVER_ADMIN_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>

#include "govledger/v1/admin.grpc.pb.h"
#include "ledger/common/clock.h"
#include "ledger/server/access_control.h"
#include "ledger/store/rocksdb_event_store.h"

namespace govledger {

// Backup is a synchronous handler: a backup holds one server thread while it
// streams, and Write() blocks under flow control, so a slow client holds the
// checkpoint (hard links, little space) but never buffers the store in memory.
// One backup runs at a time; another Backup meanwhile is FAILED_PRECONDITION.
// A reload of the tokens that withdraws the caller's access ends it before its
// next chunk (AccessControl::Recheck).
class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  // The daemon's figures, as GetStats answers them.
  using StatsSource = std::function<v1::GetStatsResponse()>;

  // Callers are admitted by `access`: Backup needs an admin, GetStats a viewer. REQUIRES:
  // `store` (the database in `data_dir`), `clock` and `access` outlive the service, and
  // `stats` may be called until the server has shut down.
  AdminServiceImpl(RocksDbEventStore* store, std::string data_dir,
                   const Clock* clock, const AccessControl& access, StatsSource stats)
      : store_(store),
        data_dir_(std::move(data_dir)),
        clock_(clock),
        access_(access),
        stats_(std::move(stats)) {}

  grpc::Status Backup(grpc::ServerContext* context,
                      const v1::BackupRequest* request,
                      grpc::ServerWriter<v1::BackupChunk>* writer) override;

  grpc::Status GetStats(grpc::ServerContext* context, const v1::GetStatsRequest* request,
                        v1::GetStatsResponse* response) override;

 private:
  RocksDbEventStore* const store_;
  const std::string data_dir_;
  const Clock* const clock_;
  const AccessControl& access_;
  const StatsSource stats_;
  std::atomic<bool> backup_running_{false};
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_ADMIN_SERVICE_H_
