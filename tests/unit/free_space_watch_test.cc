// FreeSpaceWatch over a Ledger on a MemoryEventStore, with the free space supplied by the test:
// appends pause below the floor, from the first check, and resume above it; the log lines.
#include "ledger/server/free_space_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/common/clock.h"
#include "ledger/common/uuid.h"
#include "ledger/ledger.h"
#include "tests/memory_event_store.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::FakeClock;
using ::govledger::testing::IsOk;
using ::govledger::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr std::chrono::milliseconds kInterval(5);

v1::AppendRequest OneEvent() {
  v1::AppendRequest r;
  v1::Event* e = r.add_events();
  e->set_event_id(NewUuid());
  e->set_stream_id("free/space");
  e->set_event_type("govledger.test.Happened");
  e->set_payload("payload");
  return r;
}

// Waits up to 5 s for the ledger's pause to become `paused`.
bool AwaitPaused(const Ledger& ledger, bool paused) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ledger.appends_paused().empty() == paused) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class FreeSpaceWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(&store_, &clock_);
    ASSERT_THAT(ledger, IsOk());
    ledger_ = std::move(*ledger);
  }

  std::unique_ptr<FreeSpaceWatch> Watch(uint64_t min_free_bytes) {
    return std::make_unique<FreeSpaceWatch>(
        ledger_.get(), "/srv/ledger", min_free_bytes,
        [this]() -> absl::StatusOr<uint64_t> {
          const int check = ++checks_;
          if (flap_) return static_cast<uint64_t>(check % 2 == 0 ? 500 : 499);
          const int64_t free = free_.load();
          if (free == kUnreadable) return absl::UnavailableError("statvfs: EIO");
          if (free == kNoFiles) return absl::ResourceExhaustedError("3 files (inodes) free");
          if (free == kGone) return absl::NotFoundError("the data directory was removed");
          return static_cast<uint64_t>(free);
        },
        kInterval,
        [this](const std::string& line) {
          std::lock_guard lock(mu_);
          lines_.push_back(line);
        });
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

  MemoryEventStore store_;
  FakeClock clock_{1700000000000000};
  std::unique_ptr<Ledger> ledger_;
  // The free bytes the watch reads next, or kUnreadable: one variable, so that a check never
  // sees half of a change.
  static constexpr int64_t kUnreadable = -1;
  static constexpr int64_t kNoFiles = -2;  // FreeBytes's RESOURCE_EXHAUSTED: no inodes free
  static constexpr int64_t kGone = -3;     // FreeBytes's NOT_FOUND: the directory removed
  std::atomic<int64_t> free_{1000};
  std::atomic<int> checks_{0};  // the watch's reads of the free space
  std::atomic<bool> flap_{false};  // free_ aside: 500 and 499 bytes by turns
  std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
};

TEST_F(FreeSpaceWatchTest, PausesBelowTheFloorAndResumesAboveIt) {
  std::unique_ptr<FreeSpaceWatch> watch = Watch(500);
  const v1::AppendRequest first = OneEvent();
  EXPECT_THAT(ledger_->Append(first, "alice"), IsOk());

  free_ = 499;
  ASSERT_TRUE(AwaitPaused(*ledger_, true));
  EXPECT_THAT(ledger_->appends_paused(),
              AllOf(HasSubstr("499 bytes free on the file system of /srv/ledger"),
                    HasSubstr("--min-free-bytes (500)"), HasSubstr("nothing was stored"),
                    HasSubstr("resume by themselves")));
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("499 bytes free")));
  EXPECT_EQ(ledger_->Head().position, 1u) << "a paused append stores nothing";
  // A retry of stored events writes nothing, and is answered: a client whose call timed out
  // learns it was stored.
  absl::StatusOr<v1::AppendResponse> retry = ledger_->Append(first, "alice");
  ASSERT_THAT(retry, IsOk());
  EXPECT_TRUE(retry->events(0).duplicate());
  EXPECT_EQ(retry->events(0).position(), 1u);
  // A malformed append still says what is wrong with it.
  v1::AppendRequest bad = OneEvent();
  bad.mutable_events(0)->set_event_id("not-a-uuid");
  EXPECT_THAT(ledger_->Append(bad, "alice"), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));

  // The message follows the figure while paused.
  free_ = 123;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ledger_->appends_paused().find("123 bytes") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_THAT(ledger_->appends_paused(), HasSubstr("123 bytes free"));

  // A check that cannot read the free space changes nothing (two checks made, bounded wait).
  free_ = kUnreadable;
  const int checks = checks_.load() + 2;
  const auto read = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (checks_.load() < checks && std::chrono::steady_clock::now() < read) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(checks_.load(), checks) << "the watch stopped checking";
  EXPECT_THAT(ledger_->appends_paused(), HasSubstr("123 bytes free"));

  // Paused appends wait for the floor to be free at 10 checks in a row, so that a disk about
  // the floor does not flap: free at every other check, they stay paused, saying so.
  // At a check that finds the floor free, the message says so, and when appends resume: not
  // to free space already free (an operator's trial).
  flap_ = true;  // 500 and 499 by turns
  const int flapped = checks_.load() + 4 * FreeSpaceWatch::kResumeChecks;
  const auto flapping = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::set<std::string> said;
  while (checks_.load() < flapped && std::chrono::steady_clock::now() < flapping) {
    said.insert(ledger_->appends_paused());
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  EXPECT_GE(checks_.load(), flapped) << "the watch stopped checking";
  EXPECT_THAT(said, Contains(AllOf(HasSubstr("is nearly full: 499 bytes free"),
                                   HasSubstr("appends resume by themselves once "
                                             "--min-free-bytes has been free for 10 checks in "
                                             "a row"))));
  EXPECT_THAT(said, Contains(AllOf(HasSubstr("500 bytes are free again on the file system of "
                                             "/srv/ledger"),
                                   HasSubstr("at 1 of the 10 checks; nothing was stored"),
                                   HasSubstr("resume by themselves in about"),
                                   Not(HasSubstr("nearly full")))));
  // The floor free from now on: exactly the floor is enough, at 10 checks in a row (counted from
  // a check below it; one check may be in flight as the figure changes).
  free_ = 499;
  flap_ = false;
  const int below = checks_.load() + 2;
  while (checks_.load() < below) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int steady_from = checks_.load();
  free_ = 500;
  ASSERT_TRUE(AwaitPaused(*ledger_, false));
  EXPECT_GE(checks_.load() - steady_from, FreeSpaceWatch::kResumeChecks - 1);
  absl::StatusOr<v1::AppendResponse> appended = ledger_->Append(OneEvent(), "alice");
  ASSERT_THAT(appended, IsOk());
  EXPECT_EQ(appended->events(0).position(), 2u);

  watch.reset();
  EXPECT_THAT(lines(),
              ElementsAre(StartsWith("appends paused: the disk holding the ledger is nearly "
                                     "full: 499 bytes free"),
                          "appends resumed: 500 bytes free on the file system of /srv/ledger "
                          "(--min-free-bytes 500, free at 10 checks in a row)"));
  const Ledger::Stats stats = ledger_->stats();
  EXPECT_EQ(stats.appends_accepted, 3u);
  EXPECT_EQ(stats.appends_refused, 2u);
}

TEST_F(FreeSpaceWatchTest, ADiskAlreadyBelowTheFloorPausesBeforeTheFirstAppend) {
  free_ = 0;
  std::unique_ptr<FreeSpaceWatch> watch = Watch(1);
  // No wait: the constructor checked.
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("0 bytes free")));
  EXPECT_EQ(ledger_->Head().position, 0u);
}

// A file system out of files (inodes) pauses appends as one out of bytes does, whatever the
// bytes free, and they resume once files are freed.
TEST_F(FreeSpaceWatchTest, NoFilesFreePausesAppendsToo) {
  free_ = kNoFiles;
  std::unique_ptr<FreeSpaceWatch> watch = Watch(100);
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("nearly full: 3 files (inodes) free"),
                             HasSubstr("nothing was stored"),
                             // Files, not bytes, are what to free.
                             HasSubstr("Free files there (delete some, or give the file system "
                                       "more inodes)"))));
  free_ = 1000;
  ASSERT_TRUE(AwaitPaused(*ledger_, false));
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"), IsOk());
}

// The directory gone: appends stop for good (a storage failure), not pause.
TEST_F(FreeSpaceWatchTest, ADirectoryGoneStopsAppends) {
  std::unique_ptr<FreeSpaceWatch> watch = Watch(100);
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"), IsOk());
  free_ = kGone;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ledger_->storage_failure().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_THAT(ledger_->storage_failure(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("was removed")));
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("was removed")));
  free_ = 1000;  // nothing brings them back but a restart
  std::this_thread::sleep_for(kInterval * 4);
  EXPECT_FALSE(ledger_->storage_failure().ok());
  EXPECT_EQ(ledger_->Head().position, 1u);
}

// With no floor (--min-free-bytes 0), no pause ever, for bytes or files, but the directory is
// still watched: gone, appends stop (an operator's trial: acknowledged appends were lost with a
// directory removed under a daemon started with no floor).
TEST_F(FreeSpaceWatchTest, NoFloorNeverPausesButADirectoryGoneStillStopsAppends) {
  free_ = 0;
  std::unique_ptr<FreeSpaceWatch> watch = Watch(0);
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"), IsOk());
  free_ = kNoFiles;
  const int seen = checks_.load();
  while (checks_.load() < seen + 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"), IsOk());
  EXPECT_THAT(ledger_->appends_paused(), IsEmpty());
  free_ = kGone;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ledger_->storage_failure().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("was removed")));
  EXPECT_EQ(ledger_->Head().position, 2u);
}

// The directory gone while appends were paused: stopped, and no longer paused (stats and
// Backup had gone on saying that space would bring appends back: a reviewer's find).
TEST_F(FreeSpaceWatchTest, ADirectoryGoneWhilePausedStopsAppendsAndLiftsThePause) {
  free_ = 10;
  std::unique_ptr<FreeSpaceWatch> watch = Watch(100);
  ASSERT_TRUE(AwaitPaused(*ledger_, true));
  free_ = kGone;
  ASSERT_TRUE(AwaitPaused(*ledger_, false));
  EXPECT_THAT(ledger_->storage_failure(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("was removed")));
}

// A storage failure while paused (a write-ahead log that could not grow on the full disk):
// appends are told to restart govledgerd, not that they resume by themselves, and freeing
// space logs no "appends resumed" (the log's last line had said so while appends stayed
// stopped: an operations reviewer's find).
TEST_F(FreeSpaceWatchTest, AStorageFailureWhilePausedIsNotToldAsResumed) {
  std::unique_ptr<FreeSpaceWatch> watch = Watch(100);
  free_ = 10;
  ASSERT_TRUE(AwaitPaused(*ledger_, true));
  ledger_->StopAppends(absl::InternalError("storage write failed: No space left on device"));
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("No space left on device")));
  free_ = 1000;
  const int checks = checks_.load() + 3;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (checks_.load() < checks && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(ledger_->appends_paused().empty()) << "stopped, not paused: stats and Backup "
                                                    "would say space brings appends back";
  watch.reset();
  EXPECT_THAT(lines(), ElementsAre(AllOf(StartsWith("appends paused: the disk holding the ledger "
                                                    "is nearly full: 10 bytes free"),
                                         ::testing::EndsWith(". Free space there: appends "
                                                             "resume by themselves once "
                                                             "--min-free-bytes has been free "
                                                             "for 10 checks in a row (1 s)"),
                                         ::testing::Not(HasSubstr("nothing was stored")))));
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("restart govledgerd")));
}

TEST_F(FreeSpaceWatchTest, TheLedgerStaysAsTheLastCheckLeftIt) {
  free_ = 10;
  std::unique_ptr<FreeSpaceWatch> watch = Watch(100);
  watch.reset();
  free_ = 1000;
  std::this_thread::sleep_for(kInterval * 10);
  EXPECT_THAT(ledger_->appends_paused(), HasSubstr("10 bytes free"));
  // And the ledger's own resume clears it.
  ledger_->ResumeAppends();
  EXPECT_THAT(ledger_->appends_paused(), IsEmpty());
  EXPECT_THAT(ledger_->Append(OneEvent(), "alice"), IsOk());
}

}  // namespace
}  // namespace govledger
