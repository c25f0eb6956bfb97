// WorkQueue: order, parallelism, and what Stop() does to queued and later tasks.
#include "ledger/server/work_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <mutex>
#include <vector>

namespace govledger {
namespace {

using ::testing::ElementsAre;

TEST(WorkQueueTest, OneThreadRunsTasksInArrivalOrder) {
  std::mutex mu;
  std::vector<int> ran;
  {
    WorkQueue queue(1, "test");
    for (int i = 0; i < 100; ++i) {
      queue.Add([&, i](bool stopped) {
        EXPECT_FALSE(stopped);
        std::lock_guard<std::mutex> lock(mu);
        ran.push_back(i);
      });
    }
    // Let the thread drain the queue before the destructor stops it.
    std::promise<void> done;
    queue.Add([&](bool) { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[i], i);
}

TEST(WorkQueueTest, TwoThreadsRunTwoTasksAtOnce) {
  WorkQueue queue(2, "test");
  // Each task waits for the other to start: only two threads at once can finish both.
  std::promise<void> first_started, second_started;
  std::shared_future<void> first = first_started.get_future().share();
  std::shared_future<void> second = second_started.get_future().share();
  std::promise<bool> first_saw, second_saw;
  queue.Add([&](bool) {
    first_started.set_value();
    first_saw.set_value(second.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  });
  queue.Add([&](bool) {
    second_started.set_value();
    second_saw.set_value(first.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  });
  EXPECT_TRUE(first_saw.get_future().get());
  EXPECT_TRUE(second_saw.get_future().get());
}

// TryAdd bounds the tasks waiting (not those running): past the bound a task is dropped
// unrun, and once the thread has taken tasks there is room again.
TEST(WorkQueueTest, TryAddRefusesPastTheTasksWaiting) {
  WorkQueue queue(1, "test");
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  queue.Add([&](bool) {
    started.set_value();
    released.wait();
  });
  started.get_future().wait();  // running, not waiting
  std::atomic<int> ran{0};
  EXPECT_TRUE(queue.TryAdd([&](bool) { ++ran; }, 2));
  EXPECT_TRUE(queue.TryAdd([&](bool) { ++ran; }, 2));
  EXPECT_FALSE(queue.TryAdd([&](bool) { ran += 100; }, 2));
  release.set_value();
  std::promise<void> done;
  queue.Add([&](bool) { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ran.load(), 2);
  EXPECT_TRUE(queue.TryAdd([&](bool) { ++ran; }, 1));
  queue.Stop();
  EXPECT_EQ(ran.load(), 3);
  // A stopped queue runs the task stopped, as Add does.
  bool ran_stopped = false;
  EXPECT_TRUE(queue.TryAdd([&](bool stopped) { ran_stopped = stopped; }, 0));
  EXPECT_TRUE(ran_stopped);
}

TEST(WorkQueueTest, StopRunsQueuedTasksStoppedAndLaterOnesAtOnce) {
  WorkQueue queue(1, "test");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocking_started;
  std::vector<std::string> log;  // written by one thread at a time, in order (see below)
  queue.Add([&](bool stopped) {
    blocking_started.set_value();
    released.wait();
    log.push_back(stopped ? "blocking stopped" : "blocking ran");
  });
  blocking_started.get_future().wait();
  // Queued behind the running task: Stop() must not run these as work.
  queue.Add([&](bool stopped) { log.push_back(stopped ? "queued 1 stopped" : "queued 1 ran"); });
  queue.Add([&](bool stopped) { log.push_back(stopped ? "queued 2 stopped" : "queued 2 ran"); });
  std::thread stopper([&] { queue.Stop(); });
  // Stop() waits for the running task, which finishes as work.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.set_value();
  stopper.join();
  queue.Add([&](bool stopped) { log.push_back(stopped ? "later stopped" : "later ran"); });
  queue.Stop();  // idempotent
  EXPECT_THAT(log, ElementsAre("blocking ran", "queued 1 stopped", "queued 2 stopped",
                               "later stopped"));
}

}  // namespace
}  // namespace govledger
