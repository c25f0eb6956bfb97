// AccessControl: who a caller is, and whether it may make a call (README, "Access control").
//
// Open (no tokens file): every caller may make every call, and the actor recorded on its
// appends is whatever it names in the govledger-actor metadata, or else its peer address.
//
// With a tokens file (govledgerd --tokens FILE, format in ledger/access_tokens.h): every call
// of LedgerService, QueryService, AdminService and AuditService must carry `authorization: Bearer <token>`
// for a token in the file; the actor is the one the file gives the token, and the token's
// role bounds what it may call. The health service and server reflection stay open, for
// probes and tools. Reload() re-reads the file (govledgerd does on SIGHUP), so tokens are
// added and revoked without a restart.
//
// Thread-safe: Admit may run on any thread while Reload swaps the tokens.
#ifndef GOVLEDGER_LEDGER_SERVER_ACCESS_CONTROL_H_
#define GOVLEDGER_LEDGER_SERVER_ACCESS_CONTROL_H_

#include <grpcpp/server_context.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger/access_tokens.h"
#include "ledger/common/parse_errors.h"

namespace govledger {

class AccessControl {
 public:
  // Open: no tokens.
  AccessControl() = default;

  // Tokens required: those of the tokens file at `path` (ParseTokensFile's errors, or
  // FAILED_PRECONDITION if it cannot be read or names no token: no call could be made).
  static absl::StatusOr<std::unique_ptr<AccessControl>> FromTokensFile(const std::string& path);

  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  // Whether tokens are required.
  bool enforced() const { return !path_.empty(); }

  // Tells `log` (from any call's thread) a line for each call Admit refuses, with the peer and
  // why ("refused a call from ipv4:127.0.0.1:5000: UNAUTHENTICATED: ..."), at most
  // LogLimiter::kLinesPerMinute a minute (a client retrying in a loop, a scan), the lines
  // dropped counted in the next. REQUIRES: called before any call is admitted.
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }

  // Reads the tokens file again and, if it is good, makes its tokens the ones accepted from
  // the next call on; returns how many there are. A file that names no token is good here:
  // it revokes every token (an operator's way to shut every caller out at once). Otherwise
  // the error (as FromTokensFile's) and the tokens stay as they were. FAILED_PRECONDITION when access is open (there is no
  // file to read).
  absl::StatusOr<size_t> Reload();

  // Who a caller admitted to a call is.
  struct Admitted {
    // Recorded on its appends. Open: the govledger-actor (or govledger-actor-bin) metadata,
    // else "peer:" and the peer address; empty for a call that needs no more than a reader,
    // which records no actor. Enforced: the token's actor.
    std::string actor;
    // What it may see: the token's role; kAdmin when access is open.
    Role role = Role::kAdmin;
  };

  // The caller of a call that needs `needed`, if it is allowed the call. INVALID_ARGUMENT when
  // the call sends both keys (an append then checks the actor itself: envelope.h,
  // ValidateActor). Enforced: UNAUTHENTICATED when the call
  // carries no bearer token or one not in the file; PERMISSION_DENIED when the token's role
  // is below `needed`, or the call's govledger-actor names anyone but the token's actor.
  absl::StatusOr<Admitted> Admit(const grpc::ServerContextBase& context, Role needed) const;

  // How many reloads have taken effect. A long call (Subscribe, Backup) records it before it is
  // admitted, and calls Recheck as it goes.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // For a call still open that was admitted (or last rechecked) when generation() was
  // *admitted_at: OK at once if no reload has taken effect since; else Admit again, and on
  // success record the generation now. A token revoked or demoted by a reload thus ends the
  // calls it holds open: Admit's refusal, saying that access was withdrawn while the call was
  // open.
  absl::Status Recheck(const grpc::ServerContextBase& context, Role needed,
                       uint64_t* admitted_at) const;

 private:
  using Grants = absl::flat_hash_map<std::string, TokenGrant>;  // by TokenDigest

  static absl::StatusOr<Grants> ReadTokensFile(const std::string& path);
  std::shared_ptr<const Grants> grants() const;
  absl::StatusOr<Admitted> Check(const grpc::ServerContextBase& context, Role needed) const;

  std::string path_;  // of the tokens file; empty: open
  mutable std::mutex mu_;
  std::shared_ptr<const Grants> grants_;  // guarded by mu_; null when open
  std::atomic<uint64_t> generation_{0};   // raised after each new grants_
  std::function<void(const std::string&)> log_;
  mutable std::mutex log_mu_;
  mutable LogLimiter log_limiter_;  // guarded by log_mu_
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_ACCESS_CONTROL_H_
