// WorkQueue: a fixed set of threads that run queued tasks in arrival order (one thread: one
// task at a time, in order). The daemon's serving thread hands slow work to one, so that it
// goes back to answering calls at once: Read calls and, apart, Subscribe's pages (two threads
// each, so two readers use both cores), queries (one thread: they share an index), AuditService's calls (one) and
// AdminService's (two: a backup holds one while it streams).
//
// Each task is told whether the queue has stopped: Stop() ends the threads after their
// current task; tasks still queued, and any added later, then run with stopped = true (on
// the thread that stops, or that adds) and must only refuse their work. Thread-safe.
#ifndef GOVLEDGER_LEDGER_SERVER_WORK_QUEUE_H_
#define GOVLEDGER_LEDGER_SERVER_WORK_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace govledger {

class WorkQueue {
 public:
  using Task = std::function<void(bool stopped)>;

  // Starts `threads` (at least 1) threads named `name` (at most 15 characters shown).
  WorkQueue(int threads, const std::string& name);
  ~WorkQueue();  // Stop()s

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(Task task);
  // Add, unless `max_waiting` tasks or more are already waiting (not counting those running):
  // then false, and `task` is dropped without running. A stopped queue runs it stopped, as Add.
  bool TryAdd(Task task, size_t max_waiting);

  // Waits for the running tasks, then runs the queued ones stopped. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Task> tasks_;  // guarded by mu_
  bool stopped_ = false;    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_WORK_QUEUE_H_
