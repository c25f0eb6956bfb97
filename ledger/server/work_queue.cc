#include "ledger/server/work_queue.h"

#include <pthread.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace govledger {

WorkQueue::WorkQueue(int threads, const std::string& name) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this, name] {
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      Run();
    });
  }
}

WorkQueue::~WorkQueue() { Stop(); }

void WorkQueue::Add(Task task) {
  TryAdd(std::move(task), std::numeric_limits<size_t>::max());
}

bool WorkQueue::TryAdd(Task task, size_t max_waiting) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) {
      if (tasks_.size() >= max_waiting) return false;
      tasks_.push_back(std::move(task));
      ready_.notify_one();
      return true;
    }
  }
  task(/*stopped=*/true);
  return true;
}

void WorkQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::deque<Task> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(tasks_);
  }
  for (Task& task : left) task(/*stopped=*/true);
}

void WorkQueue::Run() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stopped_ || !tasks_.empty(); });
      if (stopped_) return;  // Stop() runs what is left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task(/*stopped=*/false);
  }
}

}  // namespace govledger
