// DIR/ACKNOWLEDGED_HEAD's record (ledger/store/FORMAT.md, "Acknowledged head"): its encoding,
// what a damaged one is refused as, and AcknowledgedHead's writes. The store's use of it (what
// an open refuses) is in event_store_test.
#include "ledger/store/acknowledged_head.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ledger/crypto/sha256.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::IsOkAndHolds;
using ::govledger::testing::StatusIs;
using ::govledger::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Optional;

ChainPoint Point(uint64_t position) {
  return {position, crypto::Sha256(absl::StrCat("event ", position))};
}

std::string FileBytes(const std::string& dir) {
  std::ifstream in(std::filesystem::path(dir) / kAcknowledgedHeadFile, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST(AcknowledgedHeadTest, EncodesFourFixedLengthLinesAndDecodesThemBack) {
  const ChainPoint head = Point(1234);
  const std::string record = EncodeAcknowledgedHead(head);
  EXPECT_EQ(record.substr(0, record.rfind("crc32c ")),
            absl::StrCat("govledger acknowledged head v1\nposition 00000000000000001234\nhash ",
                         crypto::ToHex(crypto::AsBytes(head.hash)), "\n"));
  EXPECT_EQ(record.size(), 147u);
  for (const ChainPoint& p :
       {ChainPoint{}, head, Point(std::numeric_limits<uint64_t>::max())}) {
    EXPECT_EQ(EncodeAcknowledgedHead(p).size(), record.size()) << p.position;
    EXPECT_THAT(DecodeAcknowledgedHead(EncodeAcknowledgedHead(p)), IsOkAndHolds(p));
  }
}

TEST(AcknowledgedHeadTest, ADamagedOrForeignRecordIsDataLossSayingWhat) {
  const std::string record = EncodeAcknowledgedHead(Point(7));
  std::string digit = record;
  digit[digit.find("position ") + 28] = '8';  // the position's last digit: 7 -> 8
  EXPECT_THAT(DecodeAcknowledgedHead(digit),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum does not match")));
  EXPECT_THAT(DecodeAcknowledgedHead(record.substr(0, 60)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("not a record this govledgerd writes (60 bytes")));
  std::string newer = record;
  newer.replace(newer.find("v1"), 2, "v2");
  EXPECT_THAT(DecodeAcknowledgedHead(newer),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a record this govledgerd")));
  EXPECT_THAT(DecodeAcknowledgedHead(""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("(0 bytes; a record is 147")));
}

TEST(AcknowledgedHeadTest, ReadsNoneFromADirectoryWithoutTheFile) {
  TempDir dir;
  EXPECT_THAT(ReadAcknowledgedHead(dir.path()), IsOkAndHolds(std::nullopt));
}

// Something else under the file's name (a directory made by hand, say) is damage, as a bad
// record is (govledgerd exits 3, not restarted), not a read failure to retry.
TEST(AcknowledgedHeadTest, ADirectoryInItsPlaceIsDataLoss) {
  TempDir dir;
  std::filesystem::create_directory(std::filesystem::path(dir.path()) / kAcknowledgedHeadFile);
  EXPECT_THAT(ReadAcknowledgedHead(dir.path()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("ACKNOWLEDGED_HEAD is damaged: it is not a file (a directory")));
  EXPECT_THAT(ReadAcknowledgedHead(dir.path()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("(a directory: `rm -r`)")));
}

// Each record replaces the last in place, at once (no sync is waited for), and only a head past
// it is recorded; the file stays a whole record of the last head after the close.
TEST(AcknowledgedHeadTest, RecordsOnlyHeadsPastTheLastInPlace) {
  TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<AcknowledgedHead>> file =
        AcknowledgedHead::Create(dir.path(), Point(5));
    ASSERT_OK(file);
    EXPECT_EQ(FileBytes(dir.path()), EncodeAcknowledgedHead(Point(5)));
    ASSERT_OK((*file)->Record(Point(9)));
    EXPECT_THAT(ReadAcknowledgedHead(dir.path()), IsOkAndHolds(Optional(Point(9))));
    ASSERT_OK((*file)->Record(Point(8)));  // behind: ignored
    ASSERT_OK((*file)->Record(Point(9)));
    EXPECT_THAT(ReadAcknowledgedHead(dir.path()), IsOkAndHolds(Optional(Point(9))));
    ASSERT_OK((*file)->Record(Point(10000000000)));  // more digits, the same length
    EXPECT_EQ(FileBytes(dir.path()), EncodeAcknowledgedHead(Point(10000000000)));
  }
  EXPECT_THAT(ReadAcknowledgedHead(dir.path()), IsOkAndHolds(Optional(Point(10000000000))));
  // Made again, it replaces whatever is there.
  ASSERT_OK(AcknowledgedHead::Create(dir.path(), Point(3)));
  EXPECT_THAT(ReadAcknowledgedHead(dir.path()), IsOkAndHolds(Optional(Point(3))));
  std::error_code ec;
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path(), ec)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), kAcknowledgedHeadFile) << "a temporary file was left";
  }
  EXPECT_EQ(files, 1u);
}

// What `run` returns, run in a child process under a file size limit of 64 bytes, below a
// record's length, with SIGXFSZ ignored (the limit and the signal stay there): a write is cut
// short. The child ends with _exit, not destructors (a syncing thread is the parent's).
std::string InChildWithASmallFileSizeLimit(const std::function<std::string()>& run) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(pipe_fds[0]);
    const rlimit limit{64, 64};
    ::signal(SIGXFSZ, SIG_IGN);
    const std::string report =
        ::setrlimit(RLIMIT_FSIZE, &limit) != 0 ? "setrlimit failed" : run();
    ssize_t unused = ::write(pipe_fds[1], report.data(), report.size());
    (void)unused;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buffer[1024];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) report.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::StrCat(report, " (the child failed: ", status, ")");
  }
  return report;
}

// A record the file system does not take is an error naming the file, returned again for every
// later record (the store stops on the first). Made to fail with a file size limit.
TEST(AcknowledgedHeadTest, AFailedWriteIsAnErrorNamingTheFileFromThenOn) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<AcknowledgedHead>> file =
      AcknowledgedHead::Create(dir.path(), Point(5));
  ASSERT_OK(file);
  const std::string report = InChildWithASmallFileSizeLimit([&] {
    const absl::Status first = (*file)->Record(Point(9));
    const absl::Status again = (*file)->Record(Point(10));
    return absl::StrCat(first.ToString(), "\n", again.ToString());
  });
  const std::string path = (std::filesystem::path(dir.path()) / kAcknowledgedHeadFile).string();
  const std::vector<std::string> lines = absl::StrSplit(report, '\n');
  ASSERT_EQ(lines.size(), 2u) << report;
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("cannot write ", path, ": ")));
  EXPECT_EQ(lines[1], lines[0]);
  // The parent, without the limit, still records.
  ASSERT_OK((*file)->Record(Point(11)));
  EXPECT_THAT(ReadAcknowledgedHead(dir.path()), IsOkAndHolds(Optional(Point(11))));
}

// A start that cannot write the file (a full disk, or here a file size limit) says what to do,
// not only what failed.
TEST(AcknowledgedHeadTest, ACreateTheFileSystemRefusesSaysWhatToDo) {
  TempDir dir;
  const std::string report = InChildWithASmallFileSizeLimit(
      [&] { return AcknowledgedHead::Create(dir.path(), Point(5)).status().ToString(); });
  EXPECT_THAT(report, HasSubstr("RESOURCE_EXHAUSTED: record the acknowledged head: cannot write"));
  EXPECT_THAT(report, HasSubstr("raise or remove the limit (ulimit -f, systemd's LimitFSIZE=) "
                                "and start again; the database is as it was"));
}

}  // namespace
}  // namespace govledger
