#include "ledger/server/admin_service.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/text.h"
#include "ledger/server/free_space_watch.h"
#include "ledger/server/grpc_status.h"
#include "ledger/store/backup.h"

namespace govledger {

// One Backup call. It arrives on the serving thread and is streamed from an admin thread, which
// waits for each write in turn (Write); every operation's completion comes back to Proceed on
// the serving thread. It is deleted when its finish has completed, or, for a call abandoned
// after the stall limit, once both its cancelled write has completed and Finish has been called:
// that write may complete long after (only when the connection ends, if the client's process or
// machine stopped), so neither the admin thread nor the backup slot waits for it, and no finish
// is issued then (gRPC takes none while a write is in flight, nor once the completion queue is
// shut down; the client has had CANCELLED already).
class AdminServiceImpl::BackupCall final : public CallStep {
 public:
  BackupCall(AdminServiceImpl* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq) {}

  void Listen() { service_->RequestBackup(&context_, &raw_request_, &writer_, cq_, cq_, this); }

  const grpc::ServerContext& context() const { return context_; }
  // The client's address, as gRPC names it when the call arrived (a cancelled call forgets it).
  const std::string& peer() const { return peer_; }

  enum class Written { kYes, kCallEnded, kStalled };

  // Sends `chunk` and waits until gRPC has taken it (flow control holds it while the client is
  // behind). kCallEnded once the call has ended: the client has gone, or the server has
  // cancelled the call at shutdown; kStalled when gRPC had not taken the chunk after
  // `stall_limit`, and this cancelled the call and abandoned the write. On an admin thread.
  Written Write(const v1::BackupChunk& chunk, std::chrono::seconds stall_limit) {
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    if (!grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::BackupChunk>(chunk, &bytes,
                                                                          &own_buffer)
             .ok()) {
      return Written::kCallEnded;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (given_up_) return Written::kCallEnded;
    written_ = false;
    writer_.Write(bytes, this);
    if (!written_cv_.wait_for(lock, stall_limit, [this] { return written_ || given_up_; }) ||
        !written_) {
      context_.TryCancel();  // the write completes, not ok, whenever gRPC lets it go
      abandoned_ = true;
      return given_up_ ? Written::kCallEnded : Written::kStalled;
    }
    return write_ok_ ? Written::kYes : Written::kCallEnded;
  }

  // Makes a Write waiting now, and any later, give up as at a stall (at shutdown: the server
  // has cancelled the call, but a write stuck in a connection whose client stopped completes
  // only when the connection ends). From any thread.
  void GiveUp() {
    std::lock_guard<std::mutex> lock(mu_);
    given_up_ = true;
    written_cv_.notify_one();
  }

  // Ends the call with `status` (an abandoned one without a finish), from any thread, once; the
  // call must not be touched after.
  void Finish(const grpc::Status& status) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (abandoned_) {
        finish_called_ = true;
        if (!written_) return;  // Proceed deletes it when the write completes
        lock.unlock();
        delete this;
        return;
      }
      finishing_ = true;
    }
    writer_.Finish(status, this);
  }

 private:
  ~BackupCall() = default;

  void Proceed(bool ok) override {
    if (!arrived_) {
      if (!ok) {  // no call will come: the server is shutting down
        delete this;
        return;
      }
      arrived_ = true;
      peer_ = context_.peer();
      service_->AwaitBackup(cq_);  // the next Backup finds a slot
      service_->Arrived(this);
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (finishing_) {
      lock.unlock();
      delete this;
      return;
    }
    write_ok_ = ok;
    written_ = true;
    if (abandoned_) {
      if (finish_called_) {
        lock.unlock();
        delete this;
      }  // else Finish deletes it
      return;
    }
    written_cv_.notify_one();
  }

  friend class AdminServiceImpl;

  AdminServiceImpl* const service_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::ByteBuffer raw_request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> writer_{&context_};
  bool arrived_ = false;  // serving thread only
  std::string peer_;      // set on arrival, before any other thread sees the call
  std::mutex mu_;
  std::condition_variable written_cv_;
  bool written_ = true;     // no write in flight; guarded by mu_
  bool write_ok_ = false;   // guarded by mu_
  bool finishing_ = false;  // guarded by mu_
  bool given_up_ = false;      // GiveUp was called; guarded by mu_
  bool abandoned_ = false;      // Write gave up on a stalled write; guarded by mu_
  bool finish_called_ = false;  // Finish has been called on an abandoned call; guarded by mu_
};

AdminServiceImpl::AdminServiceImpl(RocksDbEventStore* store, std::string data_dir,
                                   const Clock* clock, const AccessControl& access,
                                   StatsSource stats,
                                   std::function<void(const absl::Status&)> stop_appends,
                                   std::chrono::seconds stall_limit,
                                   std::function<void(const std::string&)> log)
    : store_(store),
      data_dir_(std::move(data_dir)),
      clock_(clock),
      access_(access),
      stats_(std::move(stats)),
      stop_appends_(std::move(stop_appends)),
      stall_limit_(stall_limit),
      log_(std::move(log)),
      get_stats_(BindRequest(this, &AdminServiceImpl::RequestGetStats), access, Role::kViewer,
                 [this](UnaryCall<v1::GetStatsRequest>* call) {
                   QueueCall<v1::GetStatsRequest>(
                       work_, kMaxWaitingCalls, call,
                       [this](UnaryCall<v1::GetStatsRequest>* call) { call->Finish(stats_()); });
                 }) {}

AdminServiceImpl::~AdminServiceImpl() { Stop(); }

void AdminServiceImpl::Listen(grpc::ServerCompletionQueue* cq) {
  get_stats_.Listen(cq);
  // One backup runs at a time: a second slot is enough to refuse another at once.
  AwaitBackup(cq);
  AwaitBackup(cq);
}

void AdminServiceImpl::Stop() {
  {
    std::lock_guard<std::mutex> lock(running_mu_);
    stopping_ = true;
    if (running_ != nullptr) running_->GiveUp();
  }
  work_.Stop();
}

void AdminServiceImpl::AwaitBackup(grpc::ServerCompletionQueue* cq) {
  (new BackupCall(this, cq))->Listen();
}

void AdminServiceImpl::Arrived(BackupCall* call) {
  uint64_t admitted_at = access_.generation();
  absl::StatusOr<AccessControl::Admitted> admitted = access_.Admit(call->context(), Role::kAdmin);
  if (!admitted.ok()) {
    call->Finish(ToGrpcStatus(admitted.status()));
    return;
  }
  v1::BackupRequest request;
  if (grpc::Status parsed = ParseRequest(&call->raw_request_, &request); !parsed.ok()) {
    call->Finish(parsed);
    return;
  }
  if (backup_running_.exchange(true)) {
    if (log_) {
      log_(absl::StrCat("backup for ", call->peer(),
                        " refused: another backup of this server is in progress"));
    }
    call->Finish(ToGrpcStatus(errors::WithReason(
        absl::ResourceExhaustedError(
            "a backup of this server is already in progress; retry when it has finished"),
        errors::reason::kBackupInProgress)));
    return;
  }
  // A backup is a copy of everything, Part 2 included: the log says who took each.
  const std::string who =
      absl::StrCat(admitted->actor.empty() || absl::StartsWith(admitted->actor, "peer:")
                       ? ""
                       : absl::StrCat("'", PrintableText(admitted->actor), "' at "),
                   call->peer());
  work_.Add([this, call, admitted_at, who](bool stopped) {
    {
      std::lock_guard<std::mutex> lock(running_mu_);
      running_ = call;
      if (stopping_) call->GiveUp();
    }
    if (log_ && !stopped) log_(absl::StrCat("backup for ", who, " started"));
    uint64_t head = 0;
    grpc::Status status =
        stopped ? ToGrpcStatus(errors::ShuttingDown()) : Backup(call, admitted_at, &head);
    if (log_ && !stopped) {
      log_(status.ok() ? absl::StrCat("backup for ", who, " sent, to head position ", head)
                       : absl::StrCat("backup for ", who, " ended: ",
                                      absl::StatusCodeToString(
                                          static_cast<absl::StatusCode>(status.error_code())),
                                      status.error_message().empty()
                                          ? " (the client went away, or the call was cancelled)"
                                          : absl::StrCat(": ", status.error_message())));
    }
    {
      std::lock_guard<std::mutex> lock(running_mu_);
      running_ = nullptr;
    }
    backup_running_.store(false);  // before the client hears: it may start the next at once
    call->Finish(status);
  });
}

grpc::Status AdminServiceImpl::Backup(BackupCall* call, uint64_t admitted_at, uint64_t* head) {
  // A checkpoint writes in the data directory (it flushes the memtables to a table file and
  // copies the write-ahead log): on a disk already nearly full it could fill it, and a full disk
  // stops appends until a restart. The pause's own words say why (bytes or files below the
  // floor, or room again but not yet for long enough).
  if (const v1::GetStatsResponse stats = stats_(); !stats.appends_paused().empty()) {
    return ToGrpcStatus(errors::WithReason(
        absl::ResourceExhaustedError(absl::StrCat(
            "no backup while appends are paused (", stats.appends_paused(),
            "): a backup's checkpoint is written in the data directory and could fill it; "
            "back up once appends have resumed")),
        errors::reason::kAppendsPaused));
  }
  // The reader (and with it the checkpoint directory) is destroyed on every return below.
  absl::StatusOr<std::unique_ptr<backup::CheckpointReader>> reader =
      backup::CheckpointReader::Take(*store_, data_dir_, clock_->NowMicros());
  if (!reader.ok()) {
    // A checkpoint flushes and syncs the store, which a failed disk refuses as it refused the
    // append: say so, and what to do, rather than pass on the storage engine's words alone.
    if (const std::string failure = stats_().storage_failure();
        errors::CarriesItsOwnAdvice(failure)) {
      return ToGrpcStatus(absl::FailedPreconditionError(
          absl::StrCat("no backup: appends are stopped, as ", failure)));
    } else if (!failure.empty()) {
      return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
          "no backup while appends are stopped after a storage failure (", failure,
          "): the checkpoint failed too (", reader.status().message(),
          "); every acknowledged append is on disk: free space or repair the disk, restart "
          "govledgerd, then back up")));
    }
    // A flush that failed (a full disk) can leave RocksDB refusing every write until it is
    // reopened: then appends stop here, said in the health and figures, not at the next append.
    if (absl::Status writes = store_->CheckWrites(); !writes.ok()) {
      const std::string failure = absl::StrCat(
          "a backup's checkpoint failed (", reader.status().message(),
          ") and left the store refusing writes (", writes.message(), ")");
      stop_appends_(absl::UnavailableError(failure));
      return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
          failure, ": appends are stopped too; every acknowledged append is on disk: free space "
          "or repair the disk, restart govledgerd, then back up")));
    }
    return ToGrpcStatus(reader.status());
  }
  v1::BackupChunk chunk;
  for (;;) {
    // A token revoked meanwhile gets no more of the store.
    if (absl::Status s = access_.Recheck(call->context(), Role::kAdmin, &admitted_at); !s.ok()) {
      return ToGrpcStatus(s);
    }
    absl::StatusOr<bool> more = (*reader)->Next(chunk.mutable_file());
    if (!more.ok()) return ToGrpcStatus(more.status());
    if (!*more) break;
    if (!Send(call, chunk)) return grpc::Status::CANCELLED;
  }
  *chunk.mutable_manifest() = (*reader)->manifest();
  *head = chunk.manifest().head_position();
  if (!Send(call, chunk)) return grpc::Status::CANCELLED;
  return grpc::Status::OK;
}

bool AdminServiceImpl::Send(BackupCall* call, const v1::BackupChunk& chunk) {
  switch (call->Write(chunk, stall_limit_)) {
    case BackupCall::Written::kYes:
      return true;
    case BackupCall::Written::kStalled:
      if (log_) {
        log_(absl::StrCat("backup for ", call->peer(), " cancelled: its client took no chunk for ",
                          stall_limit_.count(), " s (--backup-stall-seconds)"));
      }
      return false;
    case BackupCall::Written::kCallEnded:
      return false;
  }
  return false;
}

}  // namespace govledger
