#include "cli/admin_commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/client.h"
#include "cli/printable.h"
#include "govledger/v1/admin.grpc.pb.h"
#include "govledger/v1/audit.grpc.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/access_tokens.h"
#include "ledger/common/errors.h"
#include "ledger/common/files.h"
#include "ledger/common/flags.h"
#include "ledger/common/time.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"
#include "ledger/store/backup.h"

namespace govledger::cli {
namespace {

// The exit code of a failed local operation: bad arguments (kExitBadArgs) for
// INVALID_ARGUMENT, otherwise kExitRefused.
int FailLocal(const absl::Status& status) {
  return Fail(status.code() == absl::StatusCode::kInvalidArgument
                  ? kExitBadArgs
                  : kExitRefused,
              std::string(status.message()));
}

// OK when the newest of `backups` is of the ledger `channel` serves (`head` its head): its head
// hash is the ledger's event at its head position, shown by an inclusion proof (which a viewer's
// token may ask for); FAILED_PRECONDITION when it is another ledger's, whose age would stand for
// this one's (an operator's drill found a copy of another ledger counted as the newest), and
// when it holds more events than the daemon's head (an empty ledger on a data volume not
// mounted, an older copy restored in place: its age said all was well); OK when the daemon
// gives no proof.
absl::Status CheckBackupIsOfLedger(const std::shared_ptr<grpc::Channel>& channel,
                                   const BackupsSeen& backups, uint64_t head) {
  const uint64_t held = backups.manifest.head_position();
  if (held > head) {
    // A backup finished since the daemon's figures were read may hold a later head: read it
    // again before calling the backup ahead (a reviewer's race on a busy ledger).
    auto ledger = v1::LedgerService::NewStub(channel);
    auto again = NewCallContext();
    v1::GetHeadResponse now;
    if (ledger->GetHead(again.get(), v1::GetHeadRequest(), &now).ok()) {
      head = std::max(head, now.position());
    }
  }
  if (held > head) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the newest backup, ", backups.newest, ", holds positions 1 to ", held,
        ", more than the daemon's head, ", head,
        ": the daemon serves another ledger, or an older or empty copy of this one (a data "
        "volume not mounted?); check its --data-dir, and restore the newest backup if the "
        "ledger was lost"));
  }
  if (held == 0) return absl::OkStatus();
  auto audit = v1::AuditService::NewStub(channel);
  v1::GetInclusionProofRequest request;
  request.set_position(held);
  request.set_tree_size(head);
  v1::GetInclusionProofResponse proof;
  auto context = NewCallContext();
  if (!audit->GetInclusionProof(context.get(), request, &proof).ok()) return absl::OkStatus();
  const std::string& hex = backups.manifest.head_hash();
  const absl::StatusOr<std::string> hash = crypto::FromHex(hex);
  const std::vector<std::string> path(proof.hashes().begin(), proof.hashes().end());
  if (hash.ok() && hash->size() == crypto::kHashSize &&
      crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(*hash), held - 1, proof.tree_size(),
                                    path, proof.root_hash())) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the newest backup, ", backups.newest,
                   ", is not of the ledger the daemon serves: its head "
                   "hash at position ",
                   held, " (", hex,
                   ") is not the hash of the ledger's event there; move "
                   "other ledgers' backups out of this directory, and take a backup of this one"));
}

}  // namespace

BackupsSeen SeeBackups(const std::string& parent) {
  BackupsSeen seen;
  absl::StatusOr<std::vector<std::string>> names = backup::ListTimedBackups(parent);
  if (!names.ok()) {
    seen.read = names.status();
    return seen;
  }
  seen.count = names->size();
  // The newest by the time each was taken (its manifest's), not by its name: a name given by a
  // clock that was ahead would otherwise stand for the newest after every later backup.
  for (const std::string& name : *names) {
    absl::StatusOr<v1::BackupManifest> manifest =
        backup::ReadManifest((std::filesystem::path(parent) / name).string());
    if (!manifest.ok()) {
      seen.read = absl::Status(
          manifest.status().code(),
          absl::StrCat("the backup ", name, " in ", parent, ": ", manifest.status().message()));
      seen.newest.clear();
      return seen;
    }
    if (seen.newest.empty() ||
        ToMicros(manifest->created_time()) >= ToMicros(seen.manifest.created_time())) {
      seen.newest = name;
      seen.manifest = *std::move(manifest);
    }
  }
  // The newest is one a restore takes, but for its files' bytes (checked against their SHA-256
  // by a restore, which reads them all: too long for a metrics job): each file its manifest
  // lists is there, a regular file (not a link to one elsewhere) of the size it gives, and it
  // holds no other file.
  if (seen.newest.empty()) return seen;
  const std::filesystem::path newest = std::filesystem::path(parent) / seen.newest;
  const auto unrestorable = [&](const std::string& why) {
    seen.read = absl::DataLossError(absl::StrCat("the newest backup, ", seen.newest, " in ", parent,
                                                 ", would not restore: ", why));
    seen.unrestorable = true;
    seen.newest.clear();
    return seen;
  };
  const std::string take_another =
      absl::StrCat("; take a new backup (govledger admin backup --into ", parent, ")");
  std::set<std::string> listed;
  for (const v1::BackupFile& file : seen.manifest.files()) {
    listed.insert(file.name());
    const std::string name = PrintableText(file.name());
    struct stat found;
    if (::lstat((newest / file.name()).c_str(), &found) != 0) {
      return unrestorable(absl::StrCat("its file ", name, " cannot be read (", std::strerror(errno),
                                       ")", take_another));
    }
    if (!S_ISREG(found.st_mode)) {
      return unrestorable(absl::StrCat("its file ", name, " is not a regular file", take_another));
    }
    if (static_cast<uint64_t>(found.st_size) != file.size()) {
      return unrestorable(absl::StrCat("its file ", name, " holds ", found.st_size,
                                       " bytes, where its manifest gives ", file.size(),
                                       take_another));
    }
  }
  std::error_code error;
  for (std::filesystem::directory_iterator it(newest, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name == backup::kManifestFile || listed.contains(name)) continue;
    return unrestorable(absl::StrCat("it holds ", PrintableText(name),
                                     ", which its manifest does not list; move it out"));
  }
  if (error) {  // as a restore, which lists it, would refuse it
    return unrestorable(absl::StrCat("its files cannot be listed (", error.message(), ")"));
  }
  return seen;
}

std::string PrometheusText(const v1::GetStatsResponse* s, const BackupsSeen* backups) {
  std::string out;
  auto metric = [&](absl::string_view name, absl::string_view type, absl::string_view help,
                    absl::string_view value, absl::string_view labels = "") {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name,
                    labels, " ", value, "\n");
  };
  metric("govledger_up", "gauge", "Whether govledgerd answered GetStats (1) or not (0).",
         s == nullptr ? "0" : "1");
  // Local files, known whether or not govledgerd answers: a backup's age is watched also
  // while the daemon is down.
  if (backups != nullptr) {
    metric("govledger_backups_readable", "gauge",
           "Whether the backups directory (--backups), its backups and their manifests could be "
           "read, and the newest's files are as its manifest lists them, at their sizes (1), or "
           "not (0).",
           backups->read.ok() ? "1" : "0");
    if (backups->read.ok()) {
      metric("govledger_backups", "gauge",
             "Backups in the backups directory, their manifests read (the newest's files "
             "as its manifest lists them, at their sizes).",
             absl::StrCat(backups->count));
    }
    if (backups->read.ok() && !backups->newest.empty()) {
      metric("govledger_backup_newest_time_seconds", "gauge",
             "When the newest backup's checkpoint was taken (Unix time).",
             absl::StrFormat("%.3f", ToMicros(backups->manifest.created_time()) / 1e6));
      metric("govledger_backup_newest_head_position", "gauge",
             "The last position the newest backup holds.",
             absl::StrCat(backups->manifest.head_position()));
      if (backups->of_ledger_checked) {
        metric("govledger_backup_newest_of_ledger", "gauge",
               "Whether the newest backup is of the ledger the daemon serves (1) or not (0): "
               "its head is not the daemon's event at that position, or is past the daemon's "
               "head.",
               backups->of_ledger.ok() ? "1" : "0");
      }
    }
  }
  if (s == nullptr) return out;
  // Escaped as the text format requires: what the server says is not trusted to hold no
  // newline (one would add lines of its choosing to the file the metrics job writes).
  auto label = [](absl::string_view value) {
    return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
  };
  metric("govledger_info", "gauge", "The release and storage format, as labels.", "1",
         absl::StrCat("{version=\"", label(s->version()), "\",storage_format=\"",
                      label(s->storage_format()), "\"}"));
  auto number = [](auto v) { return absl::StrCat(v); };
  metric("govledger_start_time_seconds", "gauge", "When govledgerd started serving (Unix time).",
         number(s->started_time().seconds()));
  metric("govledger_uptime_seconds", "gauge", "Seconds since govledgerd started serving.",
         absl::StrFormat("%.3f", s->uptime_seconds()));
  metric("govledger_head_position", "gauge", "The last position: events in the log.",
         number(s->head_position()));
  metric("govledger_events_appended_total", "counter", "Events appended since the start.",
         number(s->events_appended()));
  metric("govledger_appends_accepted_total", "counter",
         "Append calls answered OK since the start.", number(s->appends_accepted()));
  metric("govledger_appends_refused_total", "counter",
         "Append calls refused since the start (the wrong token, bad input, a rule, a "
         "conflict, shutting down).",
         number(s->appends_refused()));
  metric("govledger_syncs_total", "counter",
         "Store syncs (group commits) since the start.", number(s->syncs()));
  metric("govledger_subscriptions_open", "gauge", "Subscriptions open now.",
         number(s->subscriptions_open()));
  metric("govledger_data_dir_bytes", "gauge",
         "Bytes the files of the data directory take on disk (their blocks, as du counts them).",
         number(s->data_dir_bytes()));
  if (s->has_data_dir_free_bytes()) {  // unknown: left out, not 0 (a full disk's figure)
    metric("govledger_data_dir_free_bytes", "gauge",
           "Bytes free to govledgerd on the data directory's file system.",
           number(s->data_dir_free_bytes()));
  }
  metric("govledger_min_free_bytes", "gauge",
         "govledgerd's --min-free-bytes: appends pause below it (0: never).",
         number(s->min_free_bytes()));
  if (s->has_head_recorded_time()) {
    metric("govledger_head_recorded_time_seconds", "gauge",
           "The recorded time of the head event (Unix time): later than now, the clock was "
           "ahead at an earlier start.",
           absl::StrFormat("%.6f", ToMicros(s->head_recorded_time()) / 1e6));
  }
  metric("govledger_recovery_positions", "gauge",
         "Positions the governance state replayed at start.", number(s->recovery_positions()));
  metric("govledger_recovery_seconds", "gauge", "Seconds the recovery at start took.",
         absl::StrFormat("%.3f", s->recovery_seconds()));
  metric("govledger_storage_failed", "gauge",
         "1 once a store write or sync has failed: appends stopped until a restart.",
         s->storage_failure().empty() ? "0" : "1");
  metric("govledger_appends_paused", "gauge",
         "1 while appends are paused for want of free space (--min-free-bytes).",
         s->appends_paused().empty() ? "0" : "1");
  metric("govledger_integrity_failed", "gauge",
         "1 once a read found the stored log damaged (DATA_LOSS): run govledger verify.",
         s->integrity_failure().empty() ? "0" : "1");
  return out;
}

namespace {

// "1 append", "2 appends".
std::string Counted(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// "3 h ago" of an instant `micros`: minutes below two hours, hours below two days, then days.
std::string AgoText(int64_t micros) {
  const int64_t minutes = (absl::ToUnixMicros(absl::Now()) - micros) / 60'000'000;
  if (minutes < 0) return "in the future: check the clock";
  if (minutes < 120) return absl::StrCat(minutes, " min ago");
  if (minutes < 48 * 60) return absl::StrCat(minutes / 60, " h ago");
  return absl::StrCat(minutes / (24 * 60), " days ago");
}

// The `backups` line of `admin stats --backups`: how many, and the newest's age and head against
// the daemon's head.
std::string BackupsText(const BackupsSeen& b, const v1::GetStatsResponse* s) {
  if (!b.read.ok()) {
    return absl::StrCat(b.unrestorable ? "NOT RESTORABLE: " : "UNREADABLE: ", b.read.message());
  }
  if (!b.of_ledger.ok()) {
    const bool ahead = s != nullptr && s->head_position() < b.manifest.head_position();
    return absl::StrCat(ahead ? "AHEAD OF THE LEDGER: " : "ANOTHER LEDGER'S: ",
                        b.of_ledger.message());
  }
  if (b.newest.empty()) return "none (no complete backup-* directory there)";
  const uint64_t held = b.manifest.head_position();
  const int64_t taken = ToMicros(b.manifest.created_time());
  std::string against;  // the daemon's head, when it answered
  if (s != nullptr) {
    const uint64_t head = s->head_position();
    // A backup ahead of the head is refused above (CheckBackupIsOfLedger).
    against = head > held ? absl::StrCat(" (", head - held,
                                         head - held == 1 ? " later event" : " later events",
                                         " not in a backup)")
                          : std::string(" (the daemon's head)");
  }
  return absl::StrCat(b.count, b.count == 1 ? "; it, " : "; the newest, ", b.newest, ", taken ",
                      FormatRfc3339(taken), " (", AgoText(taken), "), holds ",
                      held == 0 ? std::string("no event") : absl::StrCat("positions 1 to ", held),
                      against);
}

void PrintHead(const v1::BackupManifest& manifest, uint64_t bytes) {
  std::cout << "position " << manifest.head_position() << "\nevents   "
            << manifest.event_count() << "\nhash     " << manifest.head_hash()
            << "\nfiles    " << manifest.files_size() << " (" << bytes
            << " bytes)\n";
}

}  // namespace

AdminCommands::AdminCommands(CLI::App& app, std::string& server_flag) {
  CLI::App* admin =
      app.add_subcommand("admin",
                         "Backups of the store (backup, restore), access tokens (token) and the "
                         "daemon's figures (stats)");
  admin->require_subcommand(1);
  stats_ = admin->add_subcommand(
      "stats",
      "Print a running govledgerd's figures: release, uptime, head, appends accepted and "
      "refused and events appended since it started, syncs (group commits), subscriptions "
      "open, the data directory's size and the space free on its file system, its recovery at "
      "start, whether appends are paused on a nearly full disk or stopped after a storage "
      "failure, and whether its own reads have found the stored log damaged. For monitoring: a "
      "viewer token suffices.\n\n"
      "Examples:\n"
      "  govledger --server 127.0.0.1:50051 admin stats --json\n"
      "  govledger admin stats --prometheus --backups /var/backups/govledger --out "
      "/var/lib/prometheus/node-exporter/govledger.prom");
  CLI::Option* json =
      stats_->add_flag("--json", json_, "Print GetStatsResponse as one JSON object");
  CLI::Option* prometheus =
      stats_->add_flag("--prometheus", prometheus_,
                       "Print the figures in Prometheus's text exposition format (metrics "
                       "named govledger_*; README); when govledgerd cannot be asked, "
                       "govledger_up 0, and exit 3")
          ->excludes(json);
  stats_
      ->add_option("--out", metrics_file_,
                   "With --prometheus: write them to this file instead, atomically (a new file "
                   "renamed over it), for node_exporter's textfile collector")
      ->needs(prometheus);
  stats_
      ->add_option("--backups", backups_parent_,
                   "Also the timed backups in this directory (admin backup --into it): how "
                   "many, and the newest's time and head (with --prometheus, "
                   "govledger_backup_newest_time_seconds and others); exit 1 after the figures "
                   "if they cannot be read, or the newest would not restore (a file missing, "
                   "not a regular file, not of its manifest's size, or not in its manifest), "
                   "is another ledger's, or holds more events than the ledger")
      ->check(CLI::Validator(
          [](const std::string& dir) {
            return dir.empty() ? std::string("give the directory admin backup --into fills")
                               : std::string();
          },
          "PARENT", "non-empty"))
      ->excludes(json);
  stats_->add_option("--server", server_flag, "govledgerd address");
  backup_ = admin->add_subcommand(
      "backup",
      "Copy a running govledgerd's store, consistently and while appends "
      "continue, into DIR (a new or empty directory; or one --into names by "
      "the time), with its manifest "
      "DIR/govledger-backup.json (every file's size and SHA-256; the head "
      "position, event count and hash the copy holds: what scripts should "
      "read). Every file is checked as it is written; DIR appears only once "
      "the backup is complete. One backup runs at a time.\n\n"
      "Example:\n"
      "  govledger --server 127.0.0.1:50051 admin backup /srv/backups/gl-1126");
  CLI::Option* backup_dir =
      backup_->add_option("DIR", backup_dir_, "Directory to create (must not exist or be empty)");
  CLI::Option* into =
      backup_
          ->add_option("--into", into_,
                       "Instead of DIR: a new directory in this one (which must exist), named "
                       "by the time, backup-YYYYMMDDTHHMMSS.mmmZ (UTC), as a scheduled job wants")
          ->excludes(backup_dir);
  backup_
      ->add_option("--keep", keep_,
                   "With --into: once the backup is written and checked, remove all but the N "
                   "newest backups there (those named as --into names them that hold a "
                   "manifest; nothing else is touched)")
      ->check(WholeNumberIn(1, 100000))
      ->needs(into);
  // Its own footer replaces the one every command shows: both, then.
  backup_->footer(
      absl::StrCat("Scheduled (deploy/govledger-backup.timer, daily):\n"
                   "  govledger admin backup --into /var/backups/govledger --keep 14\n\n",
                   app.get_footer()));
  backup_->add_option("--server", server_flag, "govledgerd address");

  restore_ = admin->add_subcommand(
      "restore",
      "Restore a backup as a new data directory, offline (no govledgerd may "
      "run on TARGET). Checks first that every file matches the manifest "
      "(none missing, none unlisted, each size and SHA-256), that the "
      "database opens and its whole hash chain verifies from position 1 to "
      "the head, and that the head is the manifest's; only then creates "
      "TARGET (its files mode 0600, owned by whoever runs this). Then start "
      "govledgerd --data-dir TARGET.\n\n"
      "Example (the system service's database, README \"As a system service\"):\n"
      "  systemctl stop govledgerd; mv /var/lib/govledger /var/lib/govledger.lost\n"
      "  govledger admin restore /srv/backups/gl-1126 "
      "--data-dir /var/lib/govledger.restored\n"
      "  chown -R govledger: /var/lib/govledger.restored\n"
      "  mv /var/lib/govledger.restored /var/lib/govledger; systemctl start govledgerd");
  restore_
      ->add_option("BACKUP_DIR", backup_dir_,
                   "A directory written by admin backup")
      ->required();
  restore_
      ->add_option("--data-dir", data_dir_,
                   "The data directory to create (must not exist or be empty)")
      ->required();

  token_ = admin->add_subcommand(
      "token",
      "Make a new access token for a govledgerd started with --tokens FILE. "
      "Prints the token (give it to the caller, who passes it as --token or "
      "GOVLEDGER_TOKEN; it is not stored anywhere) and the line to add to "
      "FILE, which holds only the token's SHA-256. Send govledgerd SIGHUP "
      "(systemctl reload govledgerd) to apply a changed file; delete a "
      "token's line to revoke it. Roles: "
      "viewer (queries, the head, tree heads and proofs of them, and the daemon's "
      "figures: no payloads, so no decision's confidential Part 2), reader (and "
      "reads, subscriptions), writer (and appends), admin (and backups).\n\n"
      "Example:\n"
      "  govledger admin token --role writer --actor \"PMO (Mayor's office)\"");
  token_->add_option("--role", role_, "viewer, reader, writer or admin")
      ->required()
      ->check(CLI::IsMember({"viewer", "reader", "writer", "admin"}));
  token_->add_option("--actor", actor_,
                     "The actor the token's appends record (1 to 200 bytes of UTF-8)")
      ->required();
}

std::optional<int> AdminCommands::Run(const std::string& server) {
  if (stats_->parsed()) return Stats(server);
  if (backup_->parsed()) return Backup(server);
  if (restore_->parsed()) return Restore();
  if (token_->parsed()) return Token();
  return std::nullopt;
}

int AdminCommands::Stats(const std::string& server) {
  const std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto stub = v1::AdminService::NewStub(channel);
  auto context = NewCallContext();
  v1::GetStatsResponse s;
  grpc::Status status = stub->GetStats(context.get(), v1::GetStatsRequest(), &s);
  std::optional<BackupsSeen> backups;
  if (!backups_parent_.empty()) backups = SeeBackups(backups_parent_);
  if (backups.has_value() && backups->read.ok() && !backups->newest.empty() && status.ok()) {
    backups->of_ledger = CheckBackupIsOfLedger(channel, *backups, s.head_position());
    backups->of_ledger_checked = true;
  }
  // Backups that cannot be read are said after the figures, which are printed (written) first.
  const auto backups_result = [&] {
    if (!backups.has_value() || (backups->read.ok() && backups->of_ledger.ok())) return kExitOk;
    return Fail(kExitRefused, absl::StrCat("admin stats --backups: ",
                                           !backups->read.ok() ? backups->read.message()
                                                               : backups->of_ledger.message()));
  };
  if (prometheus_) {
    // Written whether or not the call succeeded: a scrape then sees govledger_up 0.
    const std::string metrics =
        PrometheusText(status.ok() ? &s : nullptr, backups.has_value() ? &*backups : nullptr);
    if (metrics_file_.empty()) {
      std::cout << metrics << std::flush;
    } else if (absl::Status written =
                   WriteFileAtomically(metrics_file_, metrics, 0644, IfExists::kReplace);
               !written.ok()) {
      // As for every file the CLI cannot write (export --out): the command's input is unusable.
      return Fail(kExitBadArgs, absl::StrCat("admin stats: --out: ", written.message()));
    }
  }
  if (!status.ok()) {
    // The backups are local files: said also when the daemon does not answer.
    if (backups.has_value() && !prometheus_) {
      std::cout << "backups        " << BackupsText(*backups, nullptr) << "\n";
    }
    return FailCall(server, status);
  }
  if (prometheus_) return backups_result();
  if (json_) return PrintJson(s);
  // The server's words (its version, a failure's message) reach a terminal.
  MakePrintable(&s);
  const double per_sync =
      s.syncs() == 0 ? 0 : static_cast<double>(s.events_appended()) / static_cast<double>(s.syncs());
  std::cout << "version        govledgerd " << s.version() << " (storage format "
            << s.storage_format() << ")\n"
            << "started        " << FormatRfc3339(ToMicros(s.started_time()))
            << absl::StrFormat(" (up %.0f s)\n", s.uptime_seconds()) << "head           position "
            << s.head_position() << ", hash " << crypto::ToHex(s.head_hash())
            << (s.has_head_recorded_time()
                    ? absl::StrCat(", recorded ", FormatRfc3339(ToMicros(s.head_recorded_time())))
                    : std::string())
            << "\n"
            << "since start    " << Counted(s.events_appended(), "event", "events") << " appended; "
            << Counted(s.appends_accepted(), "append", "appends") << " accepted, "
            << s.appends_refused() << " refused; " << Counted(s.syncs(), "sync", "syncs")
            << absl::StrFormat(" (%.1f events a sync)\n", per_sync) << "subscriptions  "
            << s.subscriptions_open() << " open\n"
            << "data directory " << s.data_dir_bytes() << " bytes; "
            << (s.has_data_dir_free_bytes()
                    ? absl::StrCat(s.data_dir_free_bytes(), " bytes free on its file system")
                    : std::string("the space free on its file system cannot be read"))
            << (s.min_free_bytes() > 0
                    ? absl::StrCat(" (appends pause below ", s.min_free_bytes(), ")")
                    : std::string(" (no floor: --min-free-bytes 0)"))
            << "\n"
            << "recovery       " << s.recovery_positions()
            << absl::StrFormat(" positions replayed at start, in %.2f s\n", s.recovery_seconds())
            << "appends        "
            << (!s.storage_failure().empty()
                    ? absl::StrCat("STOPPED after a storage failure (", s.storage_failure(),
                                   errors::CarriesItsOwnAdvice(s.storage_failure())
                                       ? "); reads go on"
                                       : "); reads go on; restart govledgerd")
                : !s.appends_paused().empty() ? absl::StrCat("PAUSED: ", s.appends_paused())
                                              : std::string("accepted"))
            << "\n"
            << "log            "
            << (s.integrity_failure().empty()
                    ? std::string("no damage found by reads since the start")
                    : absl::StrCat("DAMAGED: ", s.integrity_failure(),
                                   DamageAdvice(s.integrity_failure())))
            << "\n";
  if (backups.has_value()) std::cout << "backups        " << BackupsText(*backups, &s) << "\n";
  return backups_result();
}

absl::Status AdminCommands::NotWritten(const absl::Status& why) const {
  return absl::Status(why.code(), absl::StrCat("backup not written, ", backup_dir_,
                                               " left as it was: ", why.message()));
}

int AdminCommands::Prune(const std::string& written) const {
  namespace fs = std::filesystem;
  absl::StatusOr<std::vector<std::string>> listed = backup::ListTimedBackups(into_);
  if (!listed.ok()) {
    return Fail(kExitRefused, absl::StrCat("the backup was written to ", written,
                                           ", but no older backup was removed to keep ", keep_,
                                           ": ", listed.status().message()));
  }
  const std::vector<std::string>& backups = *listed;  // oldest first
  std::error_code ec;
  const std::string kept = fs::path(written).filename().string();
  // Every other backup there is checked, not only those --keep would remove: a backup the new
  // one does not hold (of an empty or another ledger, or a restore from an older backup that
  // lost the events after it) is said at every run, not first when it falls out of --keep.
  std::vector<std::string> others;  // paths, oldest first
  size_t surplus = 0;               // the first `surplus` of `others` are beyond --keep
  for (size_t i = 0; i < backups.size(); ++i) {
    if (backups[i] == kept) continue;
    others.push_back((fs::path(into_) / backups[i]).string());
    if (i + keep_ < backups.size()) surplus = others.size();
  }
  if (others.empty()) return kExitOk;
  // A backup is removed only when the new one holds its events: one of an empty or another
  // ledger (a data volume not mounted, a daemon started on a new directory) must not rotate
  // out the copies of the real one.
  absl::StatusOr<std::vector<std::string>> uncontained =
      backup::UncontainedBackups(written, others);
  if (!uncontained.ok()) {
    return Fail(kExitRefused, absl::StrCat("the backup was written to ", written,
                                           ", but no older backup was removed: ",
                                           uncontained.status().message()));
  }
  std::vector<std::string> refused;
  for (size_t i = 0; i < others.size(); ++i) {
    if (!(*uncontained)[i].empty()) {
      refused.push_back(absl::StrCat(others[i], " (", (*uncontained)[i], ")"));
      continue;
    }
    if (i >= surplus) continue;
    fs::remove_all(others[i], ec);
    if (ec) {
      return Fail(kExitRefused,
                  absl::StrCat("the backup was written to ", written, ", but the older backup ",
                               others[i], " could not be removed: ", ec.message()));
    }
    std::cout << "removed the older backup " << others[i] << " (--keep " << keep_ << ")\n";
  }
  if (!refused.empty()) {
    return Fail(
        kExitRefused,
        absl::StrCat("the backup was written to ", written,
                     ", but it does not hold "
                     "the events of ",
                     refused.size() == 1 ? "an older backup"
                                         : absl::StrCat(refused.size(), " older backups"),
                     ", kept whatever --keep ", keep_, " says: ", absl::StrJoin(refused, "; "),
                     ". The server backed up is not the ledger those were taken of, or "
                     "has lost events (a data directory not mounted, or moved?): check "
                     "it; remove the older backups by hand only if that is intended"));
  }
  return kExitOk;
}

int AdminCommands::Backup(const std::string& server) {
  if (backup_dir_.empty() == into_.empty()) {
    return Fail(kExitBadArgs, backup_dir_.empty()
                                  ? "admin backup: give DIR, the directory to create, or --into "
                                    "PARENT (and optionally --keep N)"
                                  : "admin backup: give DIR or --into, not both");
  }
  if (!into_.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(into_, ec)) {
      return Fail(kExitBadArgs, absl::StrCat("admin backup: --into ", into_,
                                             " is not a directory; make it first (it holds the "
                                             "timed backups)"));
    }
    backup_dir_ =
        (std::filesystem::path(into_) / backup::TimedBackupName(absl::ToUnixMicros(absl::Now())))
            .string();
  }
  // Connected first: Connect exits on bad settings (an unreadable --tls-ca, say), which would
  // leave the writer's hidden directory behind.
  auto stub = v1::AdminService::NewStub(Connect(server));
  absl::StatusOr<std::unique_ptr<backup::BackupWriter>> writer =
      backup::BackupWriter::Create(backup_dir_);
  if (!writer.ok()) return FailLocal(writer.status());

  grpc::ClientContext
      context;  // no deadline: a large store takes as long as it takes
  std::unique_ptr<grpc::ClientReader<v1::BackupChunk>> reader =
      stub->Backup(&context, v1::BackupRequest());
  v1::BackupChunk chunk;
  std::optional<v1::BackupManifest> manifest;
  absl::Status failed;
  while (failed.ok() && reader->Read(&chunk)) {
    if (manifest.has_value()) {
      failed = absl::DataLossError(
          "the server sent data after the backup's manifest");
    } else if (chunk.has_manifest()) {
      manifest = std::move(*chunk.mutable_manifest());
    } else {
      failed = (*writer)->Add(chunk.file());
    }
  }
  if (!failed.ok()) {
    context.TryCancel();
    reader->Finish();
    return FailLocal(NotWritten(failed));
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    // The call's end said as for any call, then what became of the backup (a daemon stopped
    // mid-stream gave gRPC's words alone: an operator's trial).
    return Fail(ExitCodeOf(status),
                absl::StrCat(DescribeError(server, status), "\ngovledger: backup not written, ",
                             backup_dir_, " left as it was"));
  }
  if (!manifest.has_value()) {
    return Fail(kExitRefused, absl::StrCat("server ", server,
                                           ": the backup ended without its "
                                           "manifest"));
  }
  absl::StatusOr<uint64_t> bytes = (*writer)->Finish(*manifest);
  if (!bytes.ok()) return FailLocal(NotWritten(bytes.status()));
  std::cout << "backup of " << server << " written to " << backup_dir_
            << " (every file and the hash chain from position 1 to the head checked)\n";
  PrintHead(*manifest, *bytes);
  return keep_ == 0 ? kExitOk : Prune(backup_dir_);
}

int AdminCommands::Restore() {
  absl::StatusOr<backup::RestoreResult> result =
      backup::Restore(backup_dir_, data_dir_);
  if (!result.ok()) {
    return FailLocal(absl::Status(
        result.status().code(),
        absl::StrCat("restore refused, ", data_dir_,
                     " left untouched: ", result.status().message())));
  }
  std::cout << "restored " << backup_dir_ << " to " << data_dir_
            << " (every file and the hash chain from position 1 to the head "
               "checked)\n";
  PrintHead(result->manifest, result->bytes);
  return kExitOk;
}

int AdminCommands::Token() {
  Role role = Role::kReader;
  ParseRole(role_, &role);  // CLI11 checked the name
  absl::StatusOr<std::string> token = NewAccessToken();
  if (!token.ok()) return Fail(kExitRefused, std::string(token.status().message()));
  absl::StatusOr<std::string> line = TokensFileLine(*token, role, actor_);
  if (!line.ok()) {
    return Fail(kExitBadArgs, absl::StrCat("--actor: ", line.status().message()));
  }
  std::cout << "token " << *token << "\n"
            << "tokens-file-line " << *line << "\n";
  return kExitOk;
}

}  // namespace govledger::cli
