#include "ledger/store/backup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <map>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "ledger/common/errors.h"
#include "ledger/common/files.h"
#include "ledger/common/numbers.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/time.h"
#include "ledger/crypto/sha256.h"
#include "ledger/stored_event.h"

namespace govledger::backup {

namespace fs = std::filesystem;

namespace {

constexpr mode_t kFileMode =
    0600;  // backups hold the whole ledger, confidential parts included
constexpr mode_t kDirMode = 0700;

// `path` without a trailing separator, so that it has a file name and a parent.
fs::path Normalized(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();
  return p;
}

// Checks that a directory can be created at `path`: absent (with an existing
// parent directory) or an empty directory.
// The directory is built beside it and renamed into place, which cannot
// replace a mount point: one is refused (before anything is copied), as are an
// empty path and ".", "..", "/".
absl::Status CheckNewDirectory(const fs::path& path, absl::string_view what) {
  if (path.empty() || path.filename() == "." || path.filename() == ".." ||
      !path.has_filename()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", path.string(), "' names no new directory; give one, e.g. /var/backups/gl-1"));
  }
  std::error_code ec;
  fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::file_status status = fs::symlink_status(path, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", path.string(), " exists and is not a directory"));
    }
    if (!fs::is_empty(path, ec) || ec) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", path.string(),
                       " is not empty; give a new or empty directory"));
    }
    struct stat own, above;
    if (::stat(path.c_str(), &own) == 0 && ::stat(parent.c_str(), &above) == 0 &&
        own.st_dev != above.st_dev) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", path.string(),
          " is a mount point, which the directory built beside it cannot replace; give a new "
          "directory inside it, e.g. ",
          (path / "govledger").string()));
    }
    return absl::OkStatus();
  }
  if (!fs::is_directory(parent, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the parent directory of ", what, " ", path.string(),
                     " does not exist; create it first"));
  }
  return absl::OkStatus();
}

// Whether `inner` is `outer` or lies inside it (both resolved as far as they exist).
bool Within(const fs::path& inner, const fs::path& outer) {
  auto resolved = [](const fs::path& p) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec).lexically_normal();
    return r.has_filename() || !r.has_parent_path() ? r : r.parent_path();
  };
  const fs::path relative = resolved(inner).lexically_relative(resolved(outer));
  return !relative.empty() && *relative.begin() != "..";
}

// A plain file name: no separator, not "." or "..", not the manifest's.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name != kManifestFile;
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Checks the manifest's own fields: version, head, and each file entry (a
// plain, unique name and a SHA-256 in hex).
absl::Status CheckManifest(const v1::BackupManifest& manifest) {
  if (manifest.manifest_version() != kManifestVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the manifest has version ", manifest.manifest_version(),
                     "; this govledger reads version ", kManifestVersion));
  }
  if (!IsHex64(manifest.head_hash())) {
    return absl::DataLossError(
        "the manifest's head_hash is not 64 lower-case hex digits");
  }
  if (manifest.event_count() != manifest.head_position()) {
    return absl::DataLossError(
        absl::StrCat("the manifest's event_count (", manifest.event_count(),
                     ") differs from its ", "head_position (",
                     manifest.head_position(), ")"));
  }
  std::set<std::string> names;
  for (const v1::BackupFile& file : manifest.files()) {
    if (!IsPlainFileName(file.name())) {
      return absl::DataLossError(
          absl::StrCat("the manifest lists '", file.name(),
                       "', which is not a plain file name"));
    }
    if (!names.insert(file.name()).second) {
      return absl::DataLossError(
          absl::StrCat("the manifest lists ", file.name(), " twice"));
    }
    if (!IsHex64(file.sha256())) {
      return absl::DataLossError(
          absl::StrCat("the manifest's sha256 of ", file.name(),
                       " is not 64 lower-case hex digits"));
    }
  }
  if (names.count("CURRENT") == 0) {
    return absl::DataLossError(
        "the manifest lists no CURRENT file; it is not a database");
  }
  return absl::OkStatus();
}

// DATA_LOSS when a file's size or hash differs from its manifest entry.
absl::Status CheckFile(const std::string& path, const v1::BackupFile& expected,
                       uint64_t size, const std::string& sha256) {
  if (size != expected.size()) {
    return absl::DataLossError(absl::StrCat("backup file ", path, " has ", size,
                                            " bytes; the manifest says ",
                                            expected.size()));
  }
  if (sha256 != expected.sha256()) {
    return absl::DataLossError(
        absl::StrCat("backup file ", path, " has SHA-256 ", sha256,
                     "; the manifest says ", expected.sha256()));
  }
  return absl::OkStatus();
}

// The manifest as written beside the files; DATA_LOSS for one JSON cannot hold (a server's
// created_time out of range).
absl::StatusOr<std::string> ManifestJson(const v1::BackupManifest& manifest) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (auto s = google::protobuf::util::MessageToJsonString(manifest, &json, options); !s.ok()) {
    return absl::DataLossError(
        absl::StrCat("the server's manifest cannot be written as JSON: ", s.ToString()));
  }
  return json;
}

// Copies `from` to a new file `to` (kFileMode), fsynced; returns its size and
// SHA-256.
absl::Status CopyHashed(const std::string& from, const std::string& to,
                        uint64_t* size, std::string* sha256) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return FileError("read", from, errno);
  int out =
      ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (out < 0) {
    int error = errno;
    ::close(in);
    return FileError("create", to, error);
  }
  crypto::Sha256Stream hash;
  std::string buffer(kChunkBytes, '\0');
  *size = 0;
  absl::Status status;
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = FileError("read", from, errno);
      break;
    }
    if (n == 0) break;
    hash.Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
    *size += static_cast<uint64_t>(n);
    status = WriteAll(out, absl::string_view(buffer.data(), static_cast<size_t>(n)), to);
    if (!status.ok()) break;
  }
  ::close(in);
  absl::Status closed = FsyncAndClose(out, to);
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(closed);
  *sha256 = hash.FinishHex();
  return absl::OkStatus();
}

// Opens the database in `dir` read-only, checks its head against the
// manifest's, every table file's block checksums, and the chain from position 1 to the head. Errors
// start with `what`, the database's name for the reader ("backup /b", "the copy"); `files_of`, when
// not empty, is the directory whose files `dir` holds copies of, named in their place (a
// restore checks its copy in a hidden directory it then removes).
absl::Status VerifyDatabase(const std::string& dir, const std::string& what,
                            const v1::BackupManifest& manifest, const std::string& files_of = "") {
  // The storage engine's words, naming the files the reader has, without the advice for a
  // ledger's own data directory (the callers say what to do about a backup).
  const auto said = [&](const absl::Status& status) {
    std::string message(status.message());
    if (!files_of.empty()) message = absl::StrReplaceAll(message, {{dir, files_of}});
    return absl::StrReplaceAll(message, {{errors::kCorruptDataDirAdvice, ""}});
  };
  RocksDbOptions options;
  options.block_cache_bytes = 8 << 20;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
      RocksDbEventStore::Open(dir, options);
  if (!store.ok() && RocksDbEventStore::IsOtherFormat(store.status())) {
    // A newer govledger's: not damage. Named as `what`, not as the directory it is being
    // checked in (a hidden one of the restore's).
    return absl::FailedPreconditionError(absl::StrCat(
        absl::StrReplaceAll(store.status().message(),
                            {{absl::StrCat("data directory ", dir), what}}),
        " (use a govledger at least as new as the one that made it)"));
  }
  if (!store.ok()) {
    return absl::DataLossError(absl::StrCat(what, " does not open: ", said(store.status())));
  }
  absl::StatusOr<ChainPoint> head = (*store)->LoadHead();
  if (!head.ok()) {
    return absl::DataLossError(absl::StrCat(what, ": ", said(head.status())));
  }
  std::string head_hash = crypto::ToHex(crypto::AsBytes(head->hash));
  if (head->position != manifest.head_position() ||
      head_hash != manifest.head_hash()) {
    return absl::DataLossError(absl::StrCat(
        what, " has its head at position ", head->position, " with hash ", head_hash,
        "; the manifest says position ", manifest.head_position(), " with hash ",
        manifest.head_hash()));
  }
  // Every table's blocks first: the chain check below reads the events, but neither index
  // (stream versions, event ids) nor the projections whole.
  if (absl::Status checked = (*store)->VerifyChecksums(); !checked.ok()) {
    return absl::Status(checked.code(), absl::StrCat(what, ": ", said(checked)));
  }
  absl::StatusOr<ChainPoint> end =
      VerifyChain(**store, ChainPoint{}, head->position);
  if (!end.ok()) {
    return absl::Status(end.status().code(), absl::StrCat(what, ": ", said(end.status())));
  }
  if (end->hash != head->hash) {
    return absl::DataLossError(absl::StrCat(
        what, ": the chain ends at position ", end->position, " with hash ",
        crypto::ToHex(crypto::AsBytes(end->hash)), ", not the head's hash ", head_hash));
  }
  absl::StatusOr<uint64_t> last = (*store)->LastPosition();
  if (!last.ok()) return last.status();
  if (*last > head->position) {
    return absl::DataLossError(absl::StrCat(
        what, ": the database holds events up to position ", *last,
        ", past its head (position ", head->position, ")"));
  }
  return absl::OkStatus();
}

// This host's name as it goes into a hidden sibling's name: letters, digits, '.' and '_' kept,
// anything else (a '-' included, which separates it from the pid) as '_'.
std::string HostForName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  std::string out(host);
  for (char& c : out) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.') c = '_';
  }
  return out;
}

// True for the name of a hidden sibling that a backup or restore on this host left and whose
// process has died: ".<target>.partial-<host>-<pid>" with this host's name, or the
// ".<target>.partial-<pid>" of versions before 2026-12-07, and no process runs <pid>. Another
// host's (a backup directory on shared storage) is never taken for dead: its pid means nothing
// here.
bool LeftByADeadProcess(absl::string_view name, absl::string_view host) {
  absl::string_view suffix;
  if (!IsPartialCopyName(name, &suffix)) return false;
  const size_t dash = suffix.rfind('-');
  if (dash != absl::string_view::npos) {
    if (suffix.substr(0, dash) != host) return false;
    suffix.remove_prefix(dash + 1);
  }
  int pid = 0;
  return ParseWholeNumber(std::string_view(suffix.data(), suffix.size()), INT_MAX, &pid) &&
         pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

bool IsPartialCopyName(absl::string_view name, absl::string_view* suffix) {
  constexpr absl::string_view kPartial = ".partial-";
  const size_t at = name.rfind(kPartial);
  if (!absl::StartsWith(name, ".") || at == absl::string_view::npos || at <= 1) return false;
  if (suffix != nullptr) *suffix = name.substr(at + kPartial.size());
  return true;
}

// A hidden sibling of `path` to build it in ("<parent>/.<name>.partial-<host>-<pid>"),
// removed on destruction unless MoveTo() put it in place.
class TempSibling {
 public:
  static absl::StatusOr<std::unique_ptr<TempSibling>> Create(
      const fs::path& path) {
    fs::path parent =
        path.has_parent_path() ? path.parent_path() : fs::path(".");
    const std::string host = HostForName();
    fs::path temp =
        parent / absl::StrCat(".", path.filename().string(), ".partial-", host, "-", ::getpid());
    // Left by earlier processes on this host that died (killed, or the machine stopped),
    // whatever their target (a nightly backup killed leaves its copy, and the next night's has
    // another name), and this pid's.
    std::error_code ec;
    // Best effort, without exceptions: a listing that fails partway leaves the rest.
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code ignored;
      if (LeftByADeadProcess(it->path().filename().string(), host) && it->is_directory(ignored)) {
        fs::remove_all(it->path(), ignored);
      }
    }
    fs::remove_all(temp, ec);
    if (::mkdir(temp.c_str(), kDirMode) != 0)
      return FileError("create", temp.string(), errno);
    return std::unique_ptr<TempSibling>(new TempSibling(temp.string()));
  }
  ~TempSibling() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

  // fsyncs the directory, renames it to `target` (an absent path or an empty
  // directory) and fsyncs target's parent.
  absl::Status MoveTo(const fs::path& target) {
    RETURN_IF_ERROR(FsyncDirectory(path_));
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      return FileError(absl::StrCat("rename ", path_, " to"), target.string(),
                       errno);
    }
    path_.clear();
    return FsyncDirectory(target.has_parent_path() ? target.parent_path().string()
                                              : ".");
  }

 private:
  explicit TempSibling(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// ---- CheckpointReader ----

absl::Status CheckpointReader::RemoveStaleCheckpoint(const std::string& data_dir) {
  const std::string dir = (fs::path(data_dir) / kCheckpointDir).string();
  // RocksDB builds a checkpoint in "<dir>.tmp" and renames it; a crash leaves
  // either.
  for (const std::string& stale : {dir, dir + ".tmp"}) {
    std::error_code ec;
    fs::remove_all(stale, ec);
    if (ec) return FileError("remove the stale checkpoint", stale, ec.value());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CheckpointReader>> CheckpointReader::Take(
    RocksDbEventStore& store, const std::string& data_dir,
    int64_t created_micros) {
  std::unique_ptr<CheckpointReader> reader(new CheckpointReader());
  std::string dir = (fs::path(data_dir) / kCheckpointDir).string();
  std::error_code ec;
  RETURN_IF_ERROR(RemoveStaleCheckpoint(data_dir));
  // From here on the destructor removes it, also when CreateCheckpoint fails
  // after making it (its sync of the store's log, say).
  reader->dir_ = dir;
  RETURN_IF_ERROR(store.CreateCheckpoint(dir));

  // Stepped with increment(ec), and the file's type read with an error code: a disk error
  // fails this backup, not the daemon.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code unreadable;
    if (!it->is_regular_file(unreadable)) {
      if (unreadable) return FileError("examine", it->path().string(), unreadable.value());
      return absl::InternalError(absl::StrCat("checkpoint ", dir, " holds ", it->path().string(),
                                              ", which is not a regular file"));
    }
    reader->names_.push_back(it->path().filename().string());
  }
  if (ec) return FileError("list", dir, ec.value());
  std::sort(reader->names_.begin(), reader->names_.end());

  RocksDbOptions options;
  options.block_cache_bytes = 1 << 20;
  options.read_only = true;
  ASSIGN_OR_RETURN(std::unique_ptr<RocksDbEventStore> copy,
                   RocksDbEventStore::Open(dir, options));
  ASSIGN_OR_RETURN(ChainPoint head, copy->LoadHead());
  copy.reset();

  reader->manifest_.set_manifest_version(kManifestVersion);
  SetMicros(created_micros, reader->manifest_.mutable_created_time());
  reader->manifest_.set_head_position(head.position);
  reader->manifest_.set_event_count(head.position);
  reader->manifest_.set_head_hash(crypto::ToHex(crypto::AsBytes(head.hash)));
  return reader;
}

CheckpointReader::~CheckpointReader() {
  if (fd_ >= 0) ::close(fd_);
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
  fs::remove_all(dir_ + ".tmp", ec);  // RocksDB's, if the checkpoint failed half-way
}

absl::Status CheckpointReader::OpenNextFile() {
  const std::string& name = names_[next_name_];
  std::string path = (fs::path(dir_) / name).string();
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return FileError("read", path, errno);
  offset_ = 0;
  hash_ = std::make_unique<crypto::Sha256Stream>();
  // The size is fixed here: nothing writes to a checkpoint.
  struct stat st;
  if (::fstat(fd_, &st) != 0) return FileError("stat", path, errno);
  size_ = static_cast<uint64_t>(st.st_size);
  return absl::OkStatus();
}

absl::StatusOr<bool> CheckpointReader::Next(v1::BackupFileChunk* chunk) {
  if (fd_ < 0) {
    if (next_name_ == names_.size()) return false;
    RETURN_IF_ERROR(OpenNextFile());
  }
  const std::string& name = names_[next_name_];
  std::string* data = chunk->mutable_data();
  data->resize(static_cast<size_t>(std::min<uint64_t>(kChunkBytes, size_ - offset_)));
  ssize_t n = 0;
  if (!data->empty()) {
    do {
      n = ::read(fd_, data->data(), data->size());
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) return FileError("read", (fs::path(dir_) / name).string(), errno);
  data->resize(static_cast<size_t>(n));
  chunk->set_name(name);
  chunk->set_offset(offset_);
  hash_->Update(*data);
  offset_ += static_cast<uint64_t>(n);
  // A short read need not be the end; the file is complete when a read returns
  // nothing, or (to send an empty file as one empty chunk, and no empty chunk
  // after a non-empty file) when the size to send is reached.
  if (n == 0 || offset_ >= size_) {
    ::close(fd_);
    fd_ = -1;
    v1::BackupFile* file = manifest_.add_files();
    file->set_name(name);
    file->set_size(offset_);
    file->set_sha256(hash_->FinishHex());
    ++next_name_;
  }
  return true;
}

std::optional<std::string> EnclosingDatabase(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return std::nullopt;
  for (fs::path dir = absolute.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_regular_file(dir / "CURRENT", ec) || fs::is_regular_file(dir / kManifestFile, ec)) {
      return dir.string();
    }
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

// ---- BackupWriter ----

absl::StatusOr<std::unique_ptr<BackupWriter>> BackupWriter::Create(
    const std::string& dir) {
  fs::path path = Normalized(dir);
  RETURN_IF_ERROR(CheckNewDirectory(path, "backup directory"));
  // In a data directory it would share the disk it is to outlive, and the daemon removes what it
  // finds at the names it uses for its own checkpoints; in a backup, a file its manifest does not
  // list makes that backup unrestorable.
  if (std::optional<std::string> database = EnclosingDatabase(path.string())) {
    return absl::InvalidArgumentError(
        absl::StrCat("backup directory ", path.string(), " is inside ", *database,
                     ", a ledger's data directory or a backup; give a directory outside it"));
  }
  std::unique_ptr<BackupWriter> writer(new BackupWriter());
  writer->dir_ = path.string();
  ASSIGN_OR_RETURN(writer->temp_, TempSibling::Create(path));
  return writer;
}

BackupWriter::~BackupWriter() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status BackupWriter::CloseCurrent() {
  if (fd_ < 0) return absl::OkStatus();
  Received& current = files_.back();
  int fd = fd_;
  fd_ = -1;
  RETURN_IF_ERROR(
      FsyncAndClose(fd, (fs::path(temp_->path()) / current.name).string()));
  current.sha256 = hash_->FinishHex();
  return absl::OkStatus();
}

absl::Status BackupWriter::Add(const v1::BackupFileChunk& chunk) {
  const std::string& name = chunk.name();
  if (!IsPlainFileName(name)) {
    return absl::DataLossError(
        absl::StrCat("the server sent a file named '", name,
                     "', which is not a plain file name"));
  }
  bool continues = !files_.empty() && files_.back().name == name && fd_ >= 0;
  if (!continues) {
    if (names_.count(name) != 0) {
      return absl::DataLossError(
          absl::StrCat("the server sent file ", name, " twice"));
    }
    RETURN_IF_ERROR(CloseCurrent());
    std::string path = (fs::path(temp_->path()) / name).string();
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                 kFileMode);
    if (fd_ < 0) return FileError("create", path, errno);
    files_.push_back({name, 0, ""});
    names_.insert(name);
    hash_ = std::make_unique<crypto::Sha256Stream>();
  }
  Received& file = files_.back();
  if (chunk.offset() != file.size) {
    return absl::DataLossError(absl::StrCat("the server sent ", name,
                                            " at offset ", chunk.offset(),
                                            " after ", file.size, " bytes"));
  }
  RETURN_IF_ERROR(WriteAll(fd_, chunk.data(), (fs::path(temp_->path()) / name).string()));
  hash_->Update(chunk.data());
  file.size += chunk.data().size();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> BackupWriter::Finish(
    const v1::BackupManifest& manifest) {
  RETURN_IF_ERROR(CloseCurrent());
  RETURN_IF_ERROR(CheckManifest(manifest));
  std::map<std::string, const Received*> received;
  for (const Received& r : files_) received[r.name] = &r;
  uint64_t bytes = 0;
  for (const v1::BackupFile& expected : manifest.files()) {
    auto it = received.find(expected.name());
    if (it == received.end()) {
      return absl::DataLossError(absl::StrCat("the server's manifest lists ",
                                              expected.name(),
                                              ", which it did not send"));
    }
    RETURN_IF_ERROR(CheckFile(expected.name(), expected, it->second->size,
                              it->second->sha256));
    bytes += it->second->size;
    received.erase(it);
  }
  if (!received.empty()) {
    return absl::DataLossError(
        absl::StrCat("the server sent ", received.begin()->first,
                     ", which its manifest does not list"));
  }
  ASSIGN_OR_RETURN(const std::string json, ManifestJson(manifest));
  std::string manifest_path =
      (fs::path(temp_->path()) / kManifestFile).string();
  int fd = ::open(manifest_path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) return FileError("create", manifest_path, errno);
  absl::Status written = WriteAll(fd, json, manifest_path);
  absl::Status closed = FsyncAndClose(fd, manifest_path);
  RETURN_IF_ERROR(written);
  RETURN_IF_ERROR(closed);

  // As a restore would check it: a ledger damaged on disk (an event that no longer hashes to
  // its chain) is found now, not on the day the backup is needed.
  if (absl::Status checked = VerifyDatabase(temp_->path(), "the copy", manifest);
      !checked.ok()) {
    return absl::Status(checked.code(),
                        absl::StrCat(checked.message(),
                                     "; its files are those the server sent, so the ledger "
                                     "it serves is damaged too: keep the earlier backups"));
  }
  RETURN_IF_ERROR(temp_->MoveTo(dir_));
  return bytes;
}

// ---- Restore ----

absl::StatusOr<v1::BackupManifest> ReadManifest(const std::string& backup_dir) {
  const fs::path backup(backup_dir);
  // A manifest lists a few hundred files at most; a larger one is no manifest of ours.
  constexpr size_t kMaxManifestBytes = size_t{16} << 20;
  const std::string manifest_path = (backup / kManifestFile).string();
  ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(manifest_path, kMaxManifestBytes));
  v1::BackupManifest manifest;
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  if (google::protobuf::util::Status parsed =
          google::protobuf::util::JsonStringToMessage(text, &manifest, parse);
      !parsed.ok()) {
    // protobuf's message may add the offending text on further lines: keep the
    // first.
    std::string why = parsed.message().as_string();
    why = why.substr(0, why.find('\n'));
    return absl::DataLossError(absl::StrCat("manifest ", manifest_path,
                                            " does not parse as JSON: ", why));
  }
  if (absl::Status checked = CheckManifest(manifest); !checked.ok()) {
    return absl::Status(checked.code(), absl::StrCat("manifest ", manifest_path,
                                                     ": ", checked.message()));
  }
  return manifest;
}

absl::StatusOr<std::vector<std::string>> UncontainedBackups(
    const std::string& newer, const std::vector<std::string>& older) {
  ASSIGN_OR_RETURN(const v1::BackupManifest newest, ReadManifest(Normalized(newer)));
  RocksDbOptions options;
  options.block_cache_bytes = 8 << 20;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
      RocksDbEventStore::Open(Normalized(newer).string(), options);
  if (!store.ok()) {
    return absl::DataLossError(
        absl::StrCat("backup ", newer, " does not open: ", store.status().message()));
  }
  std::vector<std::string> why(older.size());
  for (size_t i = 0; i < older.size(); ++i) {
    // One whose manifest cannot be read is said, and kept, on its own: the others are still
    // compared (one damaged backup must not stop every rotation, and fill the disk).
    absl::StatusOr<v1::BackupManifest> manifest = ReadManifest(Normalized(older[i]));
    if (!manifest.ok()) {
      why[i] = absl::StrCat("its manifest cannot be read: ", manifest.status().message());
      continue;
    }
    const v1::BackupManifest& old = *manifest;
    const uint64_t at = old.head_position();
    if (at == 0) continue;  // an empty ledger's backup: every log extends it
    if (at > newest.head_position()) {
      why[i] = absl::StrCat("it holds ", at, " events, the new backup ",
                            newest.head_position());
      continue;
    }
    ASSIGN_OR_RETURN(const std::optional<std::string> stored, (*store)->Get(at));
    if (!stored.has_value()) {
      return absl::DataLossError(
          absl::StrCat("backup ", newer, " has no event at position ", at));
    }
    ASSIGN_OR_RETURN(const v1::Event event, DecodeStoredEvent(at, *stored));
    const std::string hash = crypto::ToHex(event.hash());
    if (hash != old.head_hash()) {
      why[i] = absl::StrCat("its event at position ", at, " has the hash ", old.head_hash(),
                            ", the new backup's ", hash, ": another ledger's log");
    }
  }
  return why;
}

absl::StatusOr<RestoreResult> Restore(const std::string& backup_dir,
                                      const std::string& target) {
  fs::path backup = Normalized(backup_dir);
  fs::path target_path = Normalized(target);
  std::error_code ec;
  if (!fs::is_directory(backup, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("backup directory ", backup.string(),
                     " does not exist or is not a directory"));
  }
  std::string manifest_path = (backup / kManifestFile).string();
  if (!fs::exists(manifest_path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(backup.string(), " holds no ", kManifestFile,
                     "; give a directory written by govledger admin backup"));
  }
  RETURN_IF_ERROR(CheckNewDirectory(target_path, "target data directory"));
  // A target inside the backup would add to it a directory its manifest does not list, and so
  // make it unrestorable; a backup inside the target would be copied into itself.
  if (Within(target_path, backup) || Within(backup, target_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target data directory ", target_path.string(), " and backup directory ",
        backup.string(), " lie one inside the other; give a target outside the backup"));
  }
  // Nor inside another backup, which it would make unrestorable alike, or a data directory,
  // whose daemon removes what it finds at the names of its own checkpoints (a ledger restored
  // to DIR/backup-checkpoint was deleted by the next backup, without a word).
  if (std::optional<std::string> database = EnclosingDatabase(target_path.string())) {
    return absl::InvalidArgumentError(
        absl::StrCat("target data directory ", target_path.string(), " is inside ", *database,
                     ", a ledger's data directory or a backup; give a directory outside it"));
  }

  // What a restore refuses for damage to the backup itself says what to do instead.
  const auto damaged = [](const absl::Status& status) {
    if (status.code() != absl::StatusCode::kDataLoss) return status;
    return absl::DataLossError(
        absl::StrCat(status.message(),
                     "; this backup is damaged and cannot be restored: restore an older "
                     "one"));
  };
  RestoreResult result;
  absl::StatusOr<v1::BackupManifest> manifest = ReadManifest(backup);
  if (!manifest.ok()) return damaged(manifest.status());
  result.manifest = *std::move(manifest);
  // Every file of the directory must be in the manifest: RocksDB would read a
  // stray WAL or table file that nothing has checked.
  std::set<std::string> listed;
  for (const v1::BackupFile& file : result.manifest.files())
    listed.insert(file.name());
  for (fs::directory_iterator it(backup, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name != kManifestFile && listed.count(name) == 0) {
      // Not damage: a file put beside the backup's own (notes, a copy's stray).
      return absl::DataLossError(absl::StrCat(
          "backup file ", it->path().string(),
          " is not listed in the manifest, and RocksDB would read it unchecked: move it out of "
          "the backup and restore again"));
    }
  }
  if (ec) return FileError("list", backup.string(), ec.value());

  ASSIGN_OR_RETURN(std::unique_ptr<TempSibling> temp,
                   TempSibling::Create(target_path));
  for (const v1::BackupFile& file : result.manifest.files()) {
    std::string from = (backup / file.name()).string();
    fs::file_status status = fs::symlink_status(from, ec);
    if (!fs::exists(status)) {
      return damaged(absl::DataLossError(
          absl::StrCat("backup file ", from, " is missing; the manifest lists it")));
    }
    if (!fs::is_regular_file(status)) {
      return damaged(
          absl::DataLossError(absl::StrCat("backup file ", from, " is not a regular file")));
    }
    uint64_t size = 0;
    std::string sha256;
    RETURN_IF_ERROR(CopyHashed(
        from, (fs::path(temp->path()) / file.name()).string(), &size, &sha256));
    RETURN_IF_ERROR(damaged(CheckFile(from, file, size, sha256)));
    result.bytes += size;
  }
  RETURN_IF_ERROR(damaged(VerifyDatabase(temp->path(), absl::StrCat("backup ", backup.string()),
                                         result.manifest, backup.string())));
  {
    // The projections (the rules' state, the query index, its snapshots) are derived from the
    // log, and neither the chain nor a tree head covers them: a backup changed there would have
    // the restored ledger's answers lie (a signature left out, an approved decision shown
    // pending) while every check of the log passes. They are dropped, and the first start
    // rebuilds them from the verified log. The files this writable open makes (RocksDB's
    // manifest, options and log, ACKNOWLEDGED_HEAD) are its owner's alone, as the copies are:
    // the restore runs on one thread, so the process's umask is narrowed for it alone.
    const mode_t umask_before = ::umask(077);
    absl::Cleanup restore_umask = [umask_before] { ::umask(umask_before); };
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
        RocksDbEventStore::Open(temp->path(), RocksDbOptions{});
    if (!store.ok()) return store.status();
    RETURN_IF_ERROR((*store)->DropProjections(""));
  }
  RETURN_IF_ERROR(temp->MoveTo(target_path));
  return result;
}

// ---- Timed backups ----

namespace {

constexpr absl::string_view kTimedPrefix = "backup-";

// Whether `name` is one that TimedBackupName gives.
bool IsTimedBackupName(absl::string_view name) {
  constexpr absl::string_view kShape = "00000000T000000.000Z";
  if (!absl::ConsumePrefix(&name, kTimedPrefix) || name.size() != kShape.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const bool digit = kShape[i] == '0';
    if (digit ? !absl::ascii_isdigit(name[i]) : name[i] != kShape[i]) return false;
  }
  return true;
}

}  // namespace

std::string TimedBackupName(int64_t micros) {
  return absl::StrCat(
      kTimedPrefix,
      absl::FormatTime("%Y%m%dT%H%M%S", absl::FromUnixMicros(micros), absl::UTCTimeZone()),
      absl::StrFormat(".%03dZ", (micros / 1000) % 1000));
}

absl::StatusOr<std::vector<std::string>> ListTimedBackups(const std::string& parent) {
  std::vector<std::string> backups;
  std::error_code ec;  // of the listing itself
  for (fs::directory_iterator it(parent, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!IsTimedBackupName(name)) continue;
    // A backup's name that cannot be examined is said: left out, a backup this user may not
    // enter would read as no backup at all.
    std::error_code unknown;
    const fs::file_status entry = fs::symlink_status(it->path(), unknown);
    fs::file_status manifest;
    if (!unknown && fs::is_directory(entry)) {
      manifest = fs::status(it->path() / kManifestFile, unknown);
      if (unknown == std::errc::no_such_file_or_directory) unknown.clear();  // not a backup
    }
    const bool backup = fs::is_directory(entry) && fs::is_regular_file(manifest);
    if (unknown) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the backups in ", parent, " cannot be listed: ", (it->path() / kManifestFile).string(),
          " cannot be examined: ", unknown.message()));
    }
    if (backup) backups.push_back(name);
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("the backups in ", parent, " cannot be listed: ", ec.message()));
  }
  std::sort(backups.begin(), backups.end());  // oldest first: the names sort by time
  return backups;
}

}  // namespace govledger::backup
