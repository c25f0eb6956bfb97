#include "ledger/server/admin_service.h"

#include <memory>

#include "absl/status/statusor.h"
#include "ledger/server/grpc_status.h"
#include "ledger/store/backup.h"

namespace govledger {

grpc::Status AdminServiceImpl::Backup(
    grpc::ServerContext* context, const v1::BackupRequest* /*request*/,
    grpc::ServerWriter<v1::BackupChunk>* writer) {
  uint64_t admitted_at = access_.generation();
  if (absl::StatusOr<AccessControl::Admitted> admitted = access_.Admit(*context, Role::kAdmin);
      !admitted.ok()) {
    return ToGrpcStatus(admitted.status());
  }
  if (backup_running_.exchange(true)) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "a backup of this server is already in progress; retry when it has "
        "finished");
  }
  struct Release {
    std::atomic<bool>& running;
    ~Release() { running.store(false); }
  } release{backup_running_};

  // The reader (and with it the checkpoint directory) is destroyed on every
  // return below.
  absl::StatusOr<std::unique_ptr<backup::CheckpointReader>> reader =
      backup::CheckpointReader::Take(*store_, data_dir_, clock_->NowMicros());
  if (!reader.ok()) return ToGrpcStatus(reader.status());
  v1::BackupChunk chunk;
  for (;;) {
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    // A token revoked meanwhile gets no more of the store.
    if (absl::Status s = access_.Recheck(*context, Role::kAdmin, &admitted_at); !s.ok()) {
      return ToGrpcStatus(s);
    }
    absl::StatusOr<bool> more = (*reader)->Next(chunk.mutable_file());
    if (!more.ok()) return ToGrpcStatus(more.status());
    if (!*more) break;
    // Blocks under flow control; false once the client has gone or the server
    // has cancelled the call at shutdown.
    if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
  }
  *chunk.mutable_manifest() = (*reader)->manifest();
  if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetStats(grpc::ServerContext* context,
                                        const v1::GetStatsRequest* /*request*/,
                                        v1::GetStatsResponse* response) {
  if (absl::StatusOr<AccessControl::Admitted> admitted = access_.Admit(*context, Role::kViewer);
      !admitted.ok()) {
    return ToGrpcStatus(admitted.status());
  }
  *response = stats_();
  return grpc::Status::OK;
}

}  // namespace govledger
