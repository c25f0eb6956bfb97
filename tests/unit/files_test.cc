// Durable whole-file writing and bounded reading (ledger/common/files.h): keys, kept tree heads
// and the port file.
#include "ledger/common/files.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace govledger::testing {
namespace {

using ::testing::HasSubstr;

// The names in `dir`, sorted, separated by spaces.
std::string Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return absl::StrJoin(names, " ");
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 0777 : 0;
}

// A file larger than the limit is refused without being read to its end: /dev/zero, given for a
// key file, had the CLI read gigabytes (found by a fuzzer). A file of exactly the limit is read.
TEST(ReadWholeFileTest, AFileLargerThanTheLimitIsRefused) {
  TempDir dir;
  const std::string path = dir.path() + "/pem";
  ASSERT_TRUE(WriteFileAtomically(path, std::string(100000, 'k'), 0600, IfExists::kRefuse).ok());
  EXPECT_EQ(ReadWholeFile(path, 100000).value_or("").size(), 100000u);
  const absl::StatusOr<std::string> over = ReadWholeFile(path, 99999);
  EXPECT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(),
            absl::StrCat("cannot read ", path,
                         ": it holds more than 99999 bytes, more than such a file can; is it the "
                         "right file?"));
  const absl::StatusOr<std::string> zero = ReadWholeFile("/dev/zero", kSmallFileBytes);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadWholeFile(dir.path() + "/empty-not-there", 10).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Lines as std::getline gives them (a last line without its newline included, an empty line
// kept), but one longer than the limit stops the reading, said so.
TEST(GetBoundedLineTest, ReadsLinesAsGetlineDoesButStopsAtOneTooLong) {
  std::istringstream in("one\n\nthree\nfour");
  std::vector<std::string> lines;
  std::string line;
  bool too_long = true;
  while (GetBoundedLine(in, 5, &line, &too_long)) lines.push_back(line);
  EXPECT_FALSE(too_long);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "", "three", "four"}));
  std::istringstream longer("12345\n123456\nnever\n");
  ASSERT_TRUE(GetBoundedLine(longer, 5, &line, &too_long));
  EXPECT_EQ(line, "12345");
  EXPECT_FALSE(GetBoundedLine(longer, 5, &line, &too_long));
  EXPECT_TRUE(too_long);
  std::istringstream empty("");
  EXPECT_FALSE(GetBoundedLine(empty, 5, &line, &too_long));
  EXPECT_FALSE(too_long);
  // Lines longer than the chunks it reads in, one of exactly a chunk (65,535 bytes and its
  // newline), bytes of every value but the newline, a last line without its newline.
  const std::string wide(70000, '\0'), exact(65535, 'e'), last(65535, 'l');
  std::istringstream chunks(wide + "\n" + exact + "\n\r\n" + last);
  std::vector<std::string> read;
  while (GetBoundedLine(chunks, 100000, &line, &too_long)) read.push_back(line);
  EXPECT_FALSE(too_long);
  ASSERT_EQ(read.size(), 4u);
  EXPECT_EQ(read[0], wide);
  EXPECT_EQ(read[1], exact);
  EXPECT_EQ(read[2], "\r");
  EXPECT_EQ(read[3], last);
  std::istringstream over(std::string(70000, 'o') + "\n");
  EXPECT_FALSE(GetBoundedLine(over, 69999, &line, &too_long));
  EXPECT_TRUE(too_long);
}

TEST(WriteFileAtomicallyTest, CreatesTheFileWithExactlyItsModeAndLeavesNoPartialFile) {
  TempDir dir;
  const std::string path = dir.path() + "/key";
  const mode_t umask_was = ::umask(077);  // the mode given wins over the umask
  const absl::Status written = WriteFileAtomically(path, "secret\n", 0644, IfExists::kRefuse);
  ::umask(umask_was);
  ASSERT_TRUE(written.ok()) << written;
  EXPECT_EQ(ReadWholeFile(path, kSmallFileBytes).value_or(""), "secret\n");
  EXPECT_EQ(ModeOf(path), 0644u);
  EXPECT_EQ(Names(dir.path()), "key");
}

TEST(WriteFileAtomicallyTest, RefusesAnExistingFileAndLeavesItAsItWas) {
  TempDir dir;
  const std::string path = dir.path() + "/key";
  ASSERT_TRUE(WriteFileAtomically(path, "first", 0600, IfExists::kRefuse).ok());
  const absl::Status again = WriteFileAtomically(path, "second", 0644, IfExists::kRefuse);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "cannot create " + path + ": it exists");
  EXPECT_EQ(ReadWholeFile(path, kSmallFileBytes).value_or(""), "first");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(Names(dir.path()), "key");
}

TEST(WriteFileAtomicallyTest, ReplacesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.path() + "/port";
  ASSERT_TRUE(WriteFileAtomically(path, "1234\n", 0644, IfExists::kReplace).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "56789\n", 0600, IfExists::kReplace).ok());
  EXPECT_EQ(ReadWholeFile(path, kSmallFileBytes).value_or(""), "56789\n");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(Names(dir.path()), "port");
}

// Writers of one path at once each write a file of their own: every version read is whole,
// and exactly one kRefuse writer creates the file.
TEST(WriteFileAtomicallyTest, ConcurrentWritersNeverMixTheirBytes) {
  TempDir dir;
  const std::string path = dir.path() + "/head";
  std::atomic<int> created = 0;
  std::vector<std::thread> writers;
  for (char c : std::string("abcdefgh")) {
    writers.emplace_back([&, c] {
      const std::string contents(1 << 20, c);
      for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(WriteFileAtomically(path, contents, 0644, IfExists::kReplace).ok());
        const std::string read = ReadWholeFile(path, kSmallFileBytes).value_or("");
        EXPECT_EQ(read.size(), contents.size());
        EXPECT_EQ(read.find_first_not_of(read.empty() ? 'x' : read[0]), std::string::npos);
      }
      const absl::Status s =
          WriteFileAtomically(path + ".once", contents, 0644, IfExists::kRefuse);
      if (s.ok()) ++created;
      else EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(Names(dir.path()), "head head.once");
}

// A full file system, or a file size limit, is RESOURCE_EXHAUSTED (freeing space mends it), and
// leaves nothing behind. The limit stands in for a full disk: the write fails with EFBIG (SIGXFSZ
// ignored), where a full disk gives ENOSPC, which FileError treats alike.
TEST(WriteFileAtomicallyTest, AWriteOverASizeLimitIsResourceExhausted) {
  TempDir dir;
  const std::string path = dir.path() + "/big";
  struct rlimit before;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  const sighandler_t handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = before;
  limited.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  const absl::Status s = WriteFileAtomically(path, std::string(4096, 'x'), 0600,
                                             IfExists::kRefuse);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &before), 0);
  std::signal(SIGXFSZ, handler);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("File too large"));
  EXPECT_EQ(Names(dir.path()), "");
  // Other refusals stay INTERNAL.
  EXPECT_EQ(FileError("write", path, EIO).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(FileError("write", path, ENOSPC).code(), absl::StatusCode::kResourceExhausted);
}

TEST(WriteFileAtomicallyTest, AFileTheSystemRefusesIsAnErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.path() + "/missing/key";
  const absl::Status s = WriteFileAtomically(path, "x", 0600, IfExists::kReplace);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot create " + path + ": No such file or directory"));
  // A directory in the way of a rename.
  std::filesystem::create_directory(dir.path() + "/taken");
  const absl::Status taken =
      WriteFileAtomically(dir.path() + "/taken", "x", 0600, IfExists::kReplace);
  EXPECT_EQ(taken.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(taken.message()), HasSubstr("cannot replace " + dir.path() + "/taken"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() + "/taken"));
  EXPECT_EQ(Names(dir.path()), "taken");
}

}  // namespace
}  // namespace govledger::testing
