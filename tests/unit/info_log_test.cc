// The info log that stands in for RocksDB's: rolled at its size limit and at each open, the
// newest old files kept, and a line the disk refuses dropped without stopping anything.
#include "ledger/store/info_log.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

// Calls the logger as RocksDB does (through the level-taking Logv, which filters and formats).
void Log(rocksdb::Logger& log, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  log.Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  va_end(ap);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The old logs in `dir`, oldest first.
std::vector<std::filesystem::path> OldLogs(const std::string& dir) {
  std::vector<std::filesystem::path> old;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("LOG.old.", 0) == 0) old.push_back(entry.path());
  }
  std::sort(old.begin(), old.end());
  return old;
}

TEST(InfoLogTest, LinesAreStampedAndFormatted) {
  TempDir dir;
  {
    InfoLog log(dir.path(), 1 << 20, 5);
    log.Keep();
    Log(log, "flushed %d bytes to %s", 4096, "000012.sst");
    Log(log, "%s", std::string(3000, 'x').c_str());  // longer than the stack buffer
  }
  const std::string text = ReadFile(dir.path() + "/LOG");
  std::istringstream lines(text);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_THAT(first, MatchesRegex("[0-9]{4}/[0-9]{2}/[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} "
                                  "[0-9a-f]+ flushed 4096 bytes to 000012\\.sst"));
  EXPECT_THAT(second, HasSubstr(std::string(3000, 'x')));
  EXPECT_EQ(text.back(), '\n');
}

TEST(InfoLogTest, RolledAtItsLimitKeepingTheNewestOldOnes) {
  TempDir dir;
  InfoLog log(dir.path(), 1000, 3);
  log.Keep();
  for (int i = 0; i < 100; ++i) Log(log, "line %03d %s", i, std::string(60, '.').c_str());
  EXPECT_LE(std::filesystem::file_size(dir.path() + "/LOG"), 1000u);
  // LOG and the two newest old ones: the last lines written, in order, none lost between.
  const std::vector<std::filesystem::path> old = OldLogs(dir.path());
  ASSERT_THAT(old, SizeIs(2));
  const std::string kept = ReadFile(old[0]) + ReadFile(old[1]) + ReadFile(dir.path() + "/LOG");
  EXPECT_THAT(kept, HasSubstr("line 099"));
  const size_t first = kept.find("line ");
  ASSERT_NE(first, std::string::npos);
  int n = std::stoi(kept.substr(first + 5, 3));
  EXPECT_GT(n, 50) << "older lines were deleted with their files";
  for (; n < 100; ++n) EXPECT_THAT(kept, HasSubstr(" line 0" + std::to_string(n) + " ")) << n;
}

// A start carries on the last run's LOG, so that starts that fail again and again (each
// logging its options) do not push out the lines of the run that saw why; the size limit
// still rolls it.
TEST(InfoLogTest, AnEarlierRunsLogIsCarriedOn) {
  TempDir dir;
  {
    InfoLog log(dir.path(), 1000, 3);
    log.Keep();
    Log(log, "the run that failed");
  }
  for (int start = 0; start < 5; ++start) {
    InfoLog log(dir.path(), 1000, 3);
    log.Keep();
    Log(log, "a start that fails at once");
  }
  EXPECT_THAT(OldLogs(dir.path()), SizeIs(0));
  const std::string now = ReadFile(dir.path() + "/LOG");
  EXPECT_THAT(now, HasSubstr("the run that failed"));
  InfoLog log(dir.path(), 1000, 3);
  log.Keep();
  for (int i = 0; i < 20; ++i) Log(log, "%s", std::string(60, '.').c_str());
  EXPECT_THAT(OldLogs(dir.path()), SizeIs(2));
}

// Until Keep() or Discard() lines are held and the file is not touched (RocksDB logs before it
// takes the database's lock, and the LOG may be a running daemon's): Keep() writes them in
// order, Discard() drops them and every later one.
TEST(InfoLogTest, LinesAreHeldUntilKeptOrDiscarded) {
  TempDir dir;
  {
    InfoLog log(dir.path(), 1 << 20, 5);
    Log(log, "held one");
    Log(log, "held two");
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/LOG"));
    log.Keep();
    Log(log, "after keep");
  }
  const std::string kept = ReadFile(dir.path() + "/LOG");
  const size_t one = kept.find("held one"), two = kept.find("held two");
  ASSERT_NE(one, std::string::npos);
  ASSERT_NE(two, std::string::npos);
  EXPECT_LT(one, two);
  EXPECT_GT(kept.find("after keep"), two);
  EXPECT_NE(kept.find("after keep"), std::string::npos);
  {
    InfoLog log(dir.path(), 1000, 3);
    for (int i = 0; i < 100; ++i) Log(log, "refused start %d %s", i, std::string(60, '.').c_str());
    log.Discard();
    Log(log, "after discard");
  }
  EXPECT_EQ(ReadFile(dir.path() + "/LOG"), kept);
  EXPECT_THAT(OldLogs(dir.path()), SizeIs(0)) << "a discarded log rolled the file";
}

TEST(InfoLogTest, NothingIsWrittenOnceClosed) {
  TempDir dir;
  InfoLog log(dir.path(), 1 << 20, 5);
  log.Keep();
  Log(log, "before");
  ASSERT_TRUE(log.Close().ok());
  Log(log, "after");
  EXPECT_THAT(ReadFile(dir.path() + "/LOG"), ::testing::Not(HasSubstr("after")));
}

// A disk that refuses the log's writes (here the kernel, through RLIMIT_FSIZE, as a full disk
// would): the lines are dropped and counted, and logging goes on. RocksDB's own logger aborts
// the process on the write after a failed one. In a child process, whose limit is its own.
TEST(InfoLogTest, LinesTheDiskRefusesAreDroppedAndLoggingGoesOn) {
  TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit = {4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    InfoLog log(dir.path(), 1 << 20, 5);
    log.Keep();
    for (int i = 0; i < 200; ++i) Log(log, "line %03d %s", i, std::string(80, '.').c_str());
    // About 40 lines fit under the limit; the rest were dropped, and the process lives on.
    ::_exit(log.dropped() >= 150 && log.dropped() < 200 ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string text = ReadFile(dir.path() + "/LOG");
  EXPECT_LE(text.size(), 4096u);
  EXPECT_THAT(text, HasSubstr("line 000"));
}

}  // namespace
}  // namespace govledger
