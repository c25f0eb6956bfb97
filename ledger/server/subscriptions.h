// Subscriptions: LedgerService.Subscribe served as a gRPC asynchronous method, so that a
// subscription holds no thread while it waits for new events or for a slow client.
//
// The life of a subscription (SubscribeCall in subscriptions.cc):
//   - it arrives on the serving thread's completion queue (async_calls.h), is admitted as a
//     reader, and its request is parsed and checked; its operations from then on (writes,
//     the end) complete on a queue of their own, with its own thread (Daemon's streams_), so
//     that subscriptions catching up do not keep the serving thread from reading new calls;
//   - a reader thread (the service's WorkQueue) reads the next page of stored events from
//     its next position up to the published head, never past it;
//   - events that do not pass the request's filters (stream prefixes, event types) are left
//     out of the page, read from their stored bytes' stream id and type alone; when enough
//     have been skipped in a row, a checkpoint (an Event with only a position) ends the page;
//   - the events are written to the client one at a time, as their stored bytes (each is a
//     serialized Event), each write started when the one before has been taken by the
//     transport: a client that stops reading holds its subscription back by flow control,
//     and nothing is dropped;
//   - when it has caught up it parks until the head moves (one thread, `subscriptions`,
//     waits for the head on behalf of every parked subscription, and sleeps while none is
//     parked), then reads on.
// Every event is read back from the store in position order, so the switch from catching up
// to following live can neither skip nor repeat one. A client that goes away ends its
// subscription (gRPC reports it); a reload of the tokens that withdraws its access ends it
// before its next event (AccessControl::Recheck), and a parked one within the waiting thread's
// poll; Close() ends every subscription with UNAVAILABLE, naming the position to resubscribe
// from.
#ifndef GOVLEDGER_LEDGER_SERVER_SUBSCRIPTIONS_H_
#define GOVLEDGER_LEDGER_SERVER_SUBSCRIPTIONS_H_

#include <grpcpp/completion_queue.h>
#include <grpcpp/support/async_stream.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ledger/ledger.h"
#include "ledger/server/access_control.h"
#include "ledger/server/work_queue.h"

namespace govledger {

class SubscribeCall;

// Starts waiting for one Subscribe call: the generated WithRawMethod_Subscribe::RequestSubscribe,
// its arrival reported on `arrivals` and its operations on `operations`.
using RequestSubscribeCall = std::function<void(
    grpc::ServerContext* context, grpc::ByteBuffer* request,
    grpc::ServerAsyncWriter<grpc::ByteBuffer>* writer, grpc::CompletionQueue* operations,
    grpc::ServerCompletionQueue* arrivals, void* tag)>;

class Subscriptions {
 public:
  // At most `max_open` subscriptions are open at once, and, when access tokens are enforced,
  // `max_open_per_token` of them by one actor's tokens; another is refused with RESOURCE_EXHAUSTED
  // (each holds up to a page of events while it catches up).
  // REQUIRES: `ledger`, `access` and `readers` outlive this object, and the ledger stays open
  // until the server has shut down.
  Subscriptions(RequestSubscribeCall request_call, const Ledger* ledger,
                const AccessControl& access, WorkQueue* readers, int max_open,
                int max_open_per_token);
  ~Subscriptions();  // Stop()s

  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  // Waits for subscriptions arriving on `arrivals`, `slots` at a time; their writes complete
  // on `operations`. REQUIRES: the method is registered raw with the server that owns
  // `arrivals`, which has started; both queues outlive every subscription.
  void Listen(grpc::ServerCompletionQueue* arrivals, grpc::CompletionQueue* operations,
              int slots = 8);

  // Ends the thread that waits for the head. Call after the gRPC server has shut down (every
  // subscription has ended by then: the ledger's CloseSubscriptions ends them). Idempotent.
  void Stop();

  // Subscriptions admitted and not yet ended.
  int open() const { return open_.load(); }

 private:
  friend class SubscribeCall;

  // Counts a subscription of the token whose actor is `actor`: false when it holds
  // max_open_per_token_ already. ReleaseTokenSlot undoes it.
  bool TakeTokenSlot(const std::string& actor);
  void ReleaseTokenSlot(const std::string& actor);

  // Puts a call in place for the next subscription.
  void Await();
  enum Parking {
    kParked,   // the waiting thread reads on for it once the head passes its next position,
               // the subscriptions are closed, its client goes, or the tokens are reloaded
    kReadNow,  // the head is already past its next position
    kEnded,    // the waiting has ended (subscriptions closed): the call must end
  };
  Parking Park(SubscribeCall* call);
  void WaitForHead();

  const RequestSubscribeCall request_call_;
  grpc::ServerCompletionQueue* arrivals_ = nullptr;  // set by Listen
  grpc::CompletionQueue* operations_ = nullptr;      // set by Listen
  const Ledger* const ledger_;
  const AccessControl& access_;
  WorkQueue* const readers_;
  const int max_open_;
  std::atomic<int> open_{0};  // subscriptions admitted and not yet ended
  // With tokens: subscriptions admitted and not yet ended, by the token's actor.
  const int max_open_per_token_;
  std::mutex per_token_mu_;
  absl::flat_hash_map<std::string, int> open_per_token_;  // guarded by per_token_mu_

  std::mutex mu_;
  // Wakes the waiting thread: a call parked where none was (while none is, it does not wait
  // for the head, so an append wakes no one but the ledger's own threads), or Stop().
  std::condition_variable waiter_cv_;
  std::vector<SubscribeCall*> parked_;  // guarded by mu_
  bool waiting_ended_ = false;          // guarded by mu_; no more parking
  bool stopping_ = false;               // guarded by mu_
  // Set once the subscriptions are closed (seen by the waiting thread) or Stop() has run:
  // every subscription then ends at its next step.
  std::atomic<bool> ending_{false};
  std::thread waiter_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_SERVER_SUBSCRIPTIONS_H_
