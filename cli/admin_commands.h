// The administrators' commands of the govledger CLI (README, "admin backup /
// restore"):
//
//   govledger [--server ADDR] admin backup DIR
//       an online, consistent copy of a running govledgerd's store
//       (AdminService.Backup), written to DIR (new or empty) with its manifest,
//       every file checked as it is written and the copy checked as a restore
//       checks it (head, whole hash chain) before DIR appears;
//   govledger admin restore BACKUP_DIR --data-dir TARGET
//       offline and local: checks the backup completely (files, hash chain,
//       head) and only then puts it in place as TARGET (new or empty), the data
//       directory of a govledgerd to start.
//   govledger admin token --role ROLE --actor NAME
//       offline: a new access token and its line for govledgerd's --tokens
//       file (ledger/access_tokens.h).
//   govledger [--server ADDR] admin stats [--json | --prometheus [--out FILE]]
//       a running govledgerd's figures (AdminService.GetStats), for monitoring.
//
// Exit codes as the rest of the CLI: 0 success; 1 the server refused or failed
// the backup, or a backup failed its checks (the message names the file or the
// position); 2 bad arguments: a DIR or TARGET that exists and is not empty (or
// whose parent does not exist), a BACKUP_DIR that is missing or has no
// manifest; 3 the server could not be reached. Not thread-safe (one command per
// process).
#ifndef GOVLEDGER_CLI_ADMIN_COMMANDS_H_
#define GOVLEDGER_CLI_ADMIN_COMMANDS_H_

#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "govledger/v1/admin.pb.h"

namespace govledger::cli {

// What `admin stats --backups PARENT` found of the timed backups in PARENT (`admin backup
// --into PARENT`): how many, and the newest's manifest; or why they could not be read.
struct BackupsSeen {
  // Not OK: PARENT could not be listed, a manifest read, or the newest would not restore.
  absl::Status read;
  // The newest would not restore: a file its manifest lists missing, not a regular file or not
  // of its size, or one it does not list there.
  bool unrestorable = false;
  size_t count = 0;
  std::string newest;           // its name; empty when there is none
  v1::BackupManifest manifest;  // the newest's
  // Not OK when the newest is another ledger's (its head is not the daemon's event there);
  // OK when it is this ledger's, or was not checked (the daemon did not answer).
  absl::Status of_ledger;
  bool of_ledger_checked = false;
};
// The timed backups in `parent`, as BackupsSeen says.
BackupsSeen SeeBackups(const std::string& parent);

// `stats` in Prometheus's text exposition format (version 0.0.4): govledger_up, and with the
// figures (null: govledgerd could not be asked) a gauge or counter for each; then, given
// `backups` (null: --backups not given), whether they could be read, how many there are and
// the newest's time and head, whether or not govledgerd answered. Label values are escaped
// (backslash, double quote, newline): the server's text cannot add lines.
std::string PrometheusText(const v1::GetStatsResponse* stats, const BackupsSeen* backups);

class AdminCommands {
 public:
  // Adds the `admin` subcommand and its `stats`, `backup`, `restore` and
  // `token` to `app`.
  // `server_flag` is the shared --server option's variable. REQUIRES: both
  // outlive this object.
  AdminCommands(CLI::App& app, std::string& server_flag);

  // After app.parse(): the exit code if one of these commands was given, else
  // nullopt.
  std::optional<int> Run(const std::string& server);

 private:
  int Stats(const std::string& server);
  int Backup(const std::string& server);
  int Restore();
  int Token();
  // `why` with its code, said as a backup not written: the directory is left as it was.
  absl::Status NotWritten(const absl::Status& why) const;
  // After a backup into into_: removes all but the keep_ newest backups there (by their names),
  // never `written`, and says what it removed.
  int Prune(const std::string& written) const;

  CLI::App* stats_ = nullptr;
  CLI::App* backup_ = nullptr;
  CLI::App* restore_ = nullptr;
  CLI::App* token_ = nullptr;
  std::string role_;
  std::string actor_;
  std::string backup_dir_;
  std::string data_dir_;
  // backup --into PARENT [--keep N]: a new directory in PARENT named by the time, and the N
  // newest such backups kept (0: --keep not given).
  std::string into_;
  uint32_t keep_ = 0;
  bool json_ = false;
  // stats --prometheus [--out FILE]: the figures in Prometheus's text format, to stdout or
  // written atomically to FILE (for node_exporter's textfile collector).
  bool prometheus_ = false;
  std::string metrics_file_;
  // stats --backups PARENT: also the timed backups in PARENT (their number, the newest's age).
  std::string backups_parent_;
};

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_ADMIN_COMMANDS_H_
