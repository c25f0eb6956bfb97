#include "ledger/server/access_control.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/files.h"
#include "ledger/common/names.h"
#include "ledger/common/status_macros.h"
#include "ledger/common/text.h"

namespace govledger {
namespace {

// The actor a call names, and the metadata key that carried it.
struct Named {
  absl::string_view actor;
  const char* key;  // kActorMetadataKey or kActorBinMetadataKey
};

// The actor the call names, if it names one.
absl::StatusOr<std::optional<Named>> NamedActor(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  const auto text = metadata.find(kActorMetadataKey);
  const auto bytes = metadata.find(kActorBinMetadataKey);
  if (text != metadata.end() && bytes != metadata.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the call sends both ", kActorMetadataKey, " and ", kActorBinMetadataKey, "; send one"));
  }
  for (const char* key : {kActorMetadataKey, kActorBinMetadataKey}) {
    if (const size_t n = metadata.count(key); n > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the call sends ", key, " ", n, " times; send one actor"));
    }
  }
  // Either is checked as every actor is (ValidateNamedActor: UTF-8, no control characters, 1
  // to 200 bytes, not passing for a caller that named none), on every call, not only on those
  // that record it: a call is refused or answered whatever it is.
  if (text == metadata.end() && bytes == metadata.end()) return std::nullopt;
  const auto& named = text != metadata.end() ? text->second : bytes->second;
  const absl::string_view actor(named.data(), named.size());
  const char* key = text != metadata.end() ? kActorMetadataKey : kActorBinMetadataKey;
  // Named by its key: a caller that never meant to send one (a proxy's, a stray header) knows
  // what to look for.
  if (absl::Status s = ValidateNamedActor(actor); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("the call's metadata ", key, ": ", s.message()));
  }
  return Named{actor, key};
}

}  // namespace

absl::StatusOr<AccessControl::Grants> AccessControl::ReadTokensFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokens file: cannot open ", path, ": ", std::strerror(errno),
        "; does it exist, and may govledgerd read it?"));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  // Whoever may write the file, or replace it, may grant themselves any role: as ssh refuses
  // an authorized_keys file others may change, the file (the one opened, checked before it is
  // read) must be root's or govledgerd's user's and writable by its owner only, in a directory
  // others may not write (unless its sticky bit stops them replacing another's file).
  struct stat file;
  if (::fstat(fd, &file) != 0 || !S_ISREG(file.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the tokens file ", path, " is not a regular file"));
  }
  if (file.st_uid != 0 && file.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokens file ", path, " belongs to user ", file.st_uid, ", who could grant "
        "themselves access: make it root's or govledgerd's user's (chown root ", path, ")"));
  }
  if ((file.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokens file ", path, " may be written by other users, who could grant themselves "
        "access; make it writable by its owner only (chmod go-w ", path, ")"));
  }
  // Every directory above it too, as ssh's StrictModes checks them, and every symbolic link on
  // the way: whoever may rename a directory on the way, or point a link elsewhere, may put
  // another file in its place. Each must be root's or govledgerd's user's (the owner of a
  // directory renames what it holds, sticky bit or not), and a directory writable by its owner
  // alone or sticky. Those of the path as given (links themselves, by lstat) and of the path it
  // leads to.
  auto refuse = [&](const std::string& what, absl::string_view why, absl::string_view fix) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokens file's ", what, " ", why,
        ", who could replace the file (or a directory on "
        "its path) and grant themselves access; keep the file where only root or govledgerd's "
        "user may change each directory above it (",
        fix, ")"));
  };
  auto check = [&](const std::filesystem::path& entry, bool follow) -> absl::Status {
    struct stat st;
    if ((follow ? ::stat(entry.c_str(), &st) : ::lstat(entry.c_str(), &st)) != 0) {
      return absl::OkStatus();  // gone meanwhile: the file opened was checked above
    }
    const bool link = S_ISLNK(st.st_mode);
    if (!link && !S_ISDIR(st.st_mode)) return absl::OkStatus();  // the file itself: above
    const std::string what = absl::StrCat(link ? "symbolic link " : "directory ", entry.string());
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
      return refuse(what, absl::StrCat("belongs to user ", st.st_uid),
                    absl::StrCat("chown -h root ", entry.string()));
    }
    if (!link && (st.st_mode & S_ISVTX) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return refuse(what, "may be written by other users",
                    absl::StrCat("chmod go-w ", entry.string()));
    }
    return absl::OkStatus();
  };
  std::error_code ec;
  const std::filesystem::path given = std::filesystem::absolute(path, ec);
  const std::filesystem::path resolved = std::filesystem::canonical(path, ec);
  for (const auto& [file_path, follow] : {std::pair{given, false}, std::pair{resolved, true}}) {
    if (file_path.empty()) continue;
    for (std::filesystem::path entry = file_path; !entry.empty(); entry = entry.parent_path()) {
      RETURN_IF_ERROR(check(entry, follow));
      if (entry == entry.root_path()) break;
    }
  }
  absl::StatusOr<std::string> text = ReadAll(fd, path);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the tokens file: ", text.status().message()));
  }
  return ParseTokensFile(*text, path);
}

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::FromTokensFile(
    const std::string& path) {
  ASSIGN_OR_RETURN(Grants grants, ReadTokensFile(path));
  if (grants.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the tokens file ", path,
                     " names no token, so no call could be made; add a line (govledger admin "
                     "token prints one)"));
  }
  auto access = std::make_unique<AccessControl>();
  access->path_ = path;
  access->grants_ = std::make_shared<const Grants>(std::move(grants));
  return access;
}

absl::StatusOr<size_t> AccessControl::Reload() {
  if (!enforced()) {
    return absl::FailedPreconditionError(
        "govledgerd was started without --tokens: there is no tokens file to reload");
  }
  ASSIGN_OR_RETURN(Grants grants, ReadTokensFile(path_));
  const size_t count = grants.size();
  auto fresh = std::make_shared<const Grants>(std::move(grants));
  {
    std::lock_guard lock(mu_);
    grants_ = std::move(fresh);
  }
  generation_.fetch_add(1, std::memory_order_release);
  return count;
}

absl::Status AccessControl::Recheck(const grpc::ServerContextBase& context, Role needed,
                                    uint64_t* admitted_at) const {
  // Read before the grants Admit reads: a reload in between is seen again next time.
  const uint64_t now = generation();
  if (now == *admitted_at) return absl::OkStatus();
  absl::StatusOr<Admitted> admitted = Admit(context, needed);
  if (!admitted.ok()) {
    return absl::Status(admitted.status().code(),
                        absl::StrCat("access withdrawn while the call was open (the tokens file "
                                     "was reloaded): ",
                                     admitted.status().message()));
  }
  *admitted_at = now;
  return absl::OkStatus();
}

std::shared_ptr<const AccessControl::Grants> AccessControl::grants() const {
  std::lock_guard lock(mu_);
  return grants_;
}

absl::StatusOr<AccessControl::Admitted> AccessControl::Admit(
    const grpc::ServerContextBase& context, Role needed) const {
  absl::StatusOr<Admitted> admitted = Check(context, needed);
  if (admitted.ok() || !log_) return admitted;
  // An operator's record of who was turned away (a scan, a revoked client still calling).
  uint64_t dropped = 0;
  {
    std::lock_guard lock(log_mu_);
    const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (!log_limiter_.Admit(now, &dropped)) return admitted;
  }
  log_(absl::StrCat(
      "refused a call from ", PrintableText(context.peer()), ": ",
      absl::StatusCodeToString(admitted.status().code()), ": ", admitted.status().message(),
      dropped == 0
          ? ""
          : absl::StrCat(" (", dropped, " more such refusals were not logged before it)")));
  return admitted;
}

absl::StatusOr<AccessControl::Admitted> AccessControl::Check(const grpc::ServerContextBase& context,
                                                             Role needed) const {
  const auto& metadata = context.client_metadata();
  ASSIGN_OR_RETURN(const std::optional<Named> named_actor, NamedActor(context));
  if (!enforced()) {
    // Only appends record an actor: a read does not pay for formatting the peer's address.
    if (needed <= Role::kReader) return Admitted{};
    return Admitted{named_actor ? std::string(named_actor->actor)
                                : absl::StrCat("peer:", context.peer())};
  }
  auto it = metadata.find(kAuthorizationMetadataKey);
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "this server requires an access token: send the metadata 'authorization: Bearer "
        "<token>' (the CLI's --token or GOVLEDGER_TOKEN)");
  }
  // Which of several tokens would count is nobody's guess (a proxy may add one): refuse.
  if (const size_t n = metadata.count(kAuthorizationMetadataKey); n > 1) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the call sends ", kAuthorizationMetadataKey, " ", n, " times; send one token"));
  }
  absl::string_view value(it->second.data(), it->second.size());
  // The scheme's name is case-insensitive (RFC 9110), and one or more spaces follow it
  // (RFC 6750: "Bearer" 1*SP b64token).
  const absl::string_view kBearer = kBearerPrefix;
  if (value.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError("the authorization metadata must be 'Bearer <token>'");
  }
  // White space around the token too (a token pasted with a trailing space was refused, one
  // with a leading space taken).
  const absl::string_view token = absl::StripAsciiWhitespace(value.substr(kBearer.size()));
  const std::shared_ptr<const Grants> grants = this->grants();
  auto grant = grants->find(TokenDigest(token));
  if (grant == grants->end()) {
    return absl::UnauthenticatedError(
        "the access token is not one this server accepts (mistyped, revoked, or for another "
        "server)");
  }
  if (grant->second.role < needed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the token of '", grant->second.actor, "' has the role ", RoleName(grant->second.role),
        "; this call needs ", RoleName(needed),
        grant->second.role == Role::kViewer && needed == Role::kReader
            ? " (a viewer has the queries, the head, tree heads and proofs of them, and the "
              "daemon's figures only: whole events carry payloads, decisions' confidential "
              "Part 2 included)"
        : needed == Role::kWriter
            // Append, whose events on these streams need more (CheckTrustStreams): a reader
            // registering a key was told only of writer.
            ? " (admin for events on organisation/, key/ and delegation/ streams)"
            : ""));
  }
  if (named_actor && named_actor->actor != grant->second.actor) {
    return absl::PermissionDeniedError(
        absl::StrCat(named_actor->key, " '", PrintableText(named_actor->actor),
                     "' is not the token's actor '", grant->second.actor, "'; leave ",
                     named_actor->key, " (the CLI's --actor) out: the token names the actor"));
  }
  return Admitted{grant->second.actor, grant->second.role};
}

}  // namespace govledger
