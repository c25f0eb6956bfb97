#include "ledger/server/subscriptions.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/names.h"
#include "ledger/common/text.h"
#include "ledger/crypto/sha256.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/grpc_status.h"
#include "ledger/stored_event.h"

namespace govledger {
namespace {

// Events a subscription reads at a time (at most kMaxReadPageBytes of them): bounds the
// memory each holds while it writes them out.
constexpr uint32_t kPageEvents = 256;
// How often the waiting thread looks for parked subscriptions whose client has gone, when the
// head does not move, and, while none is parked, for the subscriptions' closing.
constexpr std::chrono::milliseconds kCancelPoll(200);

// Most stream prefixes and event types one subscription may filter on.
constexpr int kMaxFilters = 100;

// OK, or INVALID_ARGUMENT naming the filter to fix (SubscribeRequest's limits; an event type
// `ledger` refuses to append, which no event would match).
absl::Status CheckFilters(const v1::SubscribeRequest& request, const Ledger& ledger) {
  for (const auto& [name, list, fewer] :
       {std::tuple{"stream_prefixes", &request.stream_prefixes(),
                   " (a shorter stream prefix matches more streams)"},
        std::tuple{"event_types", &request.event_types(), ""}}) {
    if (list->size() > kMaxFilters) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has ", list->size(),
                                                     " entries; at most ", kMaxFilters,
                                                     ": give fewer", fewer,
                                                     ", or subscribe more than once"));
    }
  }
  for (int i = 0; i < request.stream_prefixes_size(); ++i) {
    const std::string& prefix = request.stream_prefixes(i);
    // The start of a stream id: it may end with '/'.
    if (prefix.size() > kMaxNameLength) {
      return absl::InvalidArgumentError(absl::StrCat("stream_prefixes[", i, "] has ", prefix.size(),
                                                     " bytes; at most ", kMaxNameLength,
                                                     ", the longest a stream id may be"));
    }
    if (prefix.empty() || prefix.front() == '/' ||
        !std::all_of(prefix.begin(), prefix.end(),
                     [](char c) { return IsSegmentChar(c) || c == '/'; })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stream_prefixes[", i, "] '", PrintableText(prefix), "' is not the start of a "
          "stream id: give 1 to ", kMaxNameLength, " bytes of A-Z a-z 0-9 . _ : / -, not "
          "starting with '/' (e.g. 'decision/' or 'programme/LPP')"));
    }
  }
  for (int i = 0; i < request.event_types_size(); ++i) {
    absl::Status s = ValidateEventType(request.event_types(i));
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("event_types[", i, "]: ", s.message()));
    }
    // A type every append is refused (in words for the one who appends), so that no new event
    // would ever match. (A log may hold older events of such a type, stored before a rule
    // refused it: those are followed by stream prefix.)
    if (s = ledger.CheckEventType(request.event_types(i)); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event_types[", i, "]: this govledgerd appends no event of type ",
                       request.event_types(i), " (", s.message(),
                       "); filter by a type events are appended with, or by a stream prefix"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// One Subscribe call, from its arrival to its end. Exactly one of these drives it at a time:
// the completion of its one outstanding operation (its arrival, on the serving thread; a
// write or the finish, on the operations' thread), a task on a reader thread, or the waiting
// thread that wakes it when parked. It is deleted once its operations have ended and gRPC
// has reported the call done. That report (OnDone) comes on the operations' thread, and may
// come while the arrival is still being handled on the serving thread: it touches only
// atomics, and the chain of operations holds its own reference.
class SubscribeCall {
 public:
  explicit SubscribeCall(Subscriptions* owner) : owner_(owner) {}

  void Listen() {
    context_.AsyncNotifyWhenDone(done_);
    owner_->request_call_(&context_, &raw_request_, &writer_, owner_->operations_,
                          owner_->arrivals_, op_);
  }

  // Reads the events from next_ on and writes them, or parks; on a reader thread.
  void ReadPage(bool stopped);

  uint64_t next() const { return next_; }
  bool cancelled() const { return cancelled_.load(); }
  // Whether a reload of the tokens may have withdrawn its access since it was last checked.
  // REQUIRES: parked (read under Subscriptions::mu_, which parking took after the last change).
  bool access_may_have_changed() const { return admitted_at_ != owner_->access_.generation(); }

 private:
  // A completion-queue tag of this call.
  struct Step final : CallStep {
    Step(SubscribeCall* c, void (SubscribeCall::*f)(bool)) : call(c), fn(f) {}
    void Proceed(bool ok) override { (call->*fn)(ok); }
    SubscribeCall* const call;
    void (SubscribeCall::*const fn)(bool);
  };
  enum class State { kRequested, kWriting, kFinishing };

  ~SubscribeCall() { ReleaseSlots(); }

  // Gives back the server-wide and the token's slot the call holds, once: when gRPC reports
  // the call ended (a cancelled call still parked would hold them until the waiting thread next
  // looks, and a client that resubscribes at once was refused), or else when it is deleted.
  void ReleaseSlots() {
    if (!holds_slots_.exchange(false)) return;
    owner_->open_.fetch_sub(1);
    if (!token_actor_.empty()) owner_->ReleaseTokenSlot(token_actor_);
  }

  void OnOperation(bool ok);
  void OnDone(bool ok);
  void Arrived();
  void WriteNext();
  // Whether a stored event passes the request's filters.
  bool Passes(absl::string_view stored) const;
  void Finish(const grpc::Status& status);
  grpc::Status ShuttingDown() const {
    errors::Metadata metadata = {{"next_position", absl::StrCat(next_)}};
    // The hash of the event before it, for a client to check that the server it resubscribes
    // to holds the same log (a restore, another ledger at the address).
    if (!next_hash_.empty()) metadata.emplace_back("previous_hash", crypto::ToHex(next_hash_));
    return ToGrpcStatus(
        errors::WithReason(absl::UnavailableError(absl::StrCat(
                               "the server is shutting down; resubscribe from position ", next_)),
                           errors::reason::kShuttingDown, metadata));
  }
  // The hash a stored event (or a checkpoint, whose hash field is also its last) ends with;
  // "" for bytes without one.
  static std::string HashOf(absl::string_view stored) {
    if (!HasHashTrailer(stored)) return "";
    return std::string(stored.substr(stored.size() - crypto::kHashSize));
  }
  // Two references: the chain of operations, and gRPC's report that the call is done.
  void Release() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  Subscriptions* const owner_;
  grpc::ServerContext context_;
  grpc::ByteBuffer raw_request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> writer_{&context_};
  Step operation_step_{this, &SubscribeCall::OnOperation};
  Step done_step_{this, &SubscribeCall::OnDone};
  CallStep* const op_ = &operation_step_;
  CallStep* const done_ = &done_step_;
  std::atomic<int> refs_{2};
  std::atomic<bool> cancelled_{false};
  // Whether it holds a slot in owner_->open_ (and one of token_actor_'s, if that is set).
  // Stored true after token_actor_ is set: OnDone, which may run while Arrived does, reads
  // token_actor_ only after it has seen true.
  std::atomic<bool> holds_slots_{false};
  std::string token_actor_;  // the token's actor it is counted for (tokens enforced), or ""

  // Touched only by whoever drives the call (see above).
  State state_ = State::kRequested;
  uint64_t next_ = 1;               // the position from which nothing has been sent or skipped
  std::string next_hash_;           // the hash of the event at next_ - 1 ("": not read here)
  uint64_t admitted_at_ = 0;        // AccessControl::generation() when last admitted
  std::vector<std::string> page_;   // the stored events of a page that pass the filters
  std::vector<uint64_t> positions_;  // their positions
  size_t index_ = 0;                // the next of page_ to write
  uint64_t page_end_ = 1;           // the position after the page's last event, sent or not
  std::string page_end_hash_;       // the hash of the page's last event
  // The request's filters (empty: none).
  std::vector<std::string> stream_prefixes_;
  absl::flat_hash_set<std::string> event_types_;
  uint32_t checkpoint_interval_ = 0;  // 0: no checkpoints
  uint64_t skipped_ = 0;  // events skipped since the last event or checkpoint sent
};

void SubscribeCall::OnOperation(bool ok) {
  switch (state_) {
    case State::kRequested:
      // Not ok: no call came (the server is shutting down), and gRPC will not report one done.
      if (!ok) {
        delete this;
        return;
      }
      owner_->Await();  // the next subscription finds a slot
      Arrived();
      return;
    case State::kWriting:
      if (!ok) {  // the client has gone or the server cancelled the call
        Finish(grpc::Status::CANCELLED);
        return;
      }
      next_ = positions_[index_] + 1;
      next_hash_ = HashOf(page_[index_]);
      ++index_;
      WriteNext();
      return;
    case State::kFinishing:
      Release();
      return;
  }
}

void SubscribeCall::OnDone(bool /*ok*/) {
  // Finished, or cancelled by the client or the server: start nothing more, and free its slots
  // for the next subscription now.
  cancelled_.store(true);
  ReleaseSlots();
  Release();
}

void SubscribeCall::Arrived() {
  admitted_at_ = owner_->access_.generation();
  const absl::StatusOr<AccessControl::Admitted> admitted =
      owner_->access_.Admit(context_, Role::kReader);
  if (!admitted.ok()) {
    Finish(ToGrpcStatus(admitted.status()));
    return;
  }
  // A request that can never succeed is refused for what is wrong with it, before a slot is
  // taken: when every slot is taken, RESOURCE_EXHAUSTED would tell its client to retry.
  v1::SubscribeRequest request;
  if (grpc::Status parsed = ParseRequest(&raw_request_, &request); !parsed.ok()) {
    Finish(parsed);
    return;
  }
  if (absl::Status bad = CheckFilters(request, *owner_->ledger_); !bad.ok()) {
    Finish(ToGrpcStatus(bad));
    return;
  }
  // A start past the head is refused at once (OUT_OF_RANGE, whether slots are free or not),
  // as a Read from past it is: no subscription waits for the log to reach it.
  const uint64_t from = request.from_position() == 0 ? 1 : request.from_position();
  if (const uint64_t head = owner_->ledger_->Head().position; from > head + 1) {
    Finish(ToGrpcStatus(errors::PositionPastHead("from_position", from, head,
                                                 absl::StrCat("subscribe from 1 to ", head + 1))));
    return;
  }
  // The token's share first: a call its own limit refuses takes no server-wide slot, not even
  // for the moment until it is done (another token's subscription had been refused as if every
  // slot were taken).
  const bool per_token = owner_->access_.enforced();
  if (per_token) {
    if (!owner_->TakeTokenSlot(admitted->actor)) {
      Finish(ToGrpcStatus(errors::WithReason(
          absl::ResourceExhaustedError(absl::StrCat(
              "the tokens of '", admitted->actor, "' hold ", owner_->max_open_per_token_,
              owner_->max_open_per_token_ == 1 ? " subscription" : " subscriptions",
              " open, the most one actor's tokens may (govledgerd "
              "--max-subscriptions-per-token; tokens of the same actor share them); end one, or "
              "retry when some have ended")),
          errors::reason::kSubscriptionsFull,
          {{"max_subscriptions_per_token", absl::StrCat(owner_->max_open_per_token_)}})));
      return;
    }
  }
  if (owner_->open_.fetch_add(1) >= owner_->max_open_) {
    owner_->open_.fetch_sub(1);
    if (per_token) owner_->ReleaseTokenSlot(admitted->actor);
    Finish(ToGrpcStatus(errors::WithReason(
        absl::ResourceExhaustedError(absl::StrCat(
            owner_->max_open_, owner_->max_open_ == 1 ? " subscription is" : " subscriptions are",
            " open, the most this server allows "
            "(govledgerd --max-subscriptions); retry when some have ended")),
        errors::reason::kSubscriptionsFull,
        {{"max_subscriptions", absl::StrCat(owner_->max_open_)}})));
    return;
  }
  if (per_token) token_actor_ = admitted->actor;
  holds_slots_.store(true);
  stream_prefixes_.assign(request.stream_prefixes().begin(), request.stream_prefixes().end());
  event_types_.insert(request.event_types().begin(), request.event_types().end());
  checkpoint_interval_ = request.checkpoint_interval();
  next_ = from;
  owner_->readers_->Add([this](bool stopped) { ReadPage(stopped); });
}

void SubscribeCall::ReadPage(bool stopped) {
  if (cancelled()) {
    Finish(grpc::Status::CANCELLED);
    return;
  }
  if (stopped || owner_->ledger_->subscriptions_closed()) {
    Finish(ShuttingDown());
    return;
  }
  // A token revoked meanwhile gets no further page (and a parked call is woken to see it);
  // WriteNext checks again before each event.
  if (absl::Status s = owner_->access_.Recheck(context_, Role::kReader, &admitted_at_);
      !s.ok()) {
    Finish(ToGrpcStatus(s));
    return;
  }
  switch (owner_->Park(this)) {
    case Subscriptions::kParked:
      return;  // the waiting thread reads on when the head passes next_
    case Subscriptions::kEnded:
      Finish(ShuttingDown());
      return;
    case Subscriptions::kReadNow:
      break;
  }
  v1::ReadRequest request;
  request.set_from(next_);
  request.set_limit(kPageEvents);
  absl::StatusOr<std::string> wire = owner_->ledger_->ReadWire(request);
  if (!wire.ok()) {
    Finish(ToGrpcStatus(wire.status()));
    return;
  }
  // A ReadResponse: each event (field 1) is the stored bytes of one, sent as they are.
  namespace wfl = google::protobuf::internal;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(wire->data()),
                                            static_cast<int>(wire->size()));
  page_.clear();
  positions_.clear();
  index_ = 0;
  page_end_ = next_;
  const bool filtered = !stream_prefixes_.empty() || !event_types_.empty();
  std::string event;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag == wfl::WireFormatLite::MakeTag(
                   1, wfl::WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!wfl::WireFormatLite::ReadBytes(&in, &event)) break;
      const uint64_t position = page_end_++;  // a page holds consecutive positions
      page_end_hash_ = HashOf(event);
      if (filtered && !Passes(event)) {
        ++skipped_;
        continue;
      }
      page_.push_back(std::move(event));
      positions_.push_back(position);
      skipped_ = 0;
    } else if (!wfl::WireFormatLite::SkipField(&in, tag)) {
      break;
    }
  }
  if (checkpoint_interval_ != 0 && skipped_ >= checkpoint_interval_) {
    // The page's last event was skipped: a checkpoint at it (SubscribeRequest).
    v1::Event checkpoint;
    checkpoint.set_position(page_end_ - 1);
    checkpoint.set_hash(page_end_hash_);
    page_.push_back(checkpoint.SerializeAsString());
    positions_.push_back(page_end_ - 1);
    skipped_ = 0;
  }
  WriteNext();
}

void SubscribeCall::WriteNext() {
  if (cancelled()) {
    Finish(grpc::Status::CANCELLED);
    return;
  }
  // Not the ledger's own flag: this runs on the operations' thread too, which may still be
  // draining completions after the ledger is gone.
  if (owner_->ending_.load()) {
    Finish(ShuttingDown());
    return;
  }
  if (index_ < page_.size()) {
    // A token revoked meanwhile gets no further event (an atomic load while nothing changed).
    if (absl::Status s = owner_->access_.Recheck(context_, Role::kReader, &admitted_at_);
        !s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    state_ = State::kWriting;
    grpc::Slice event(page_[index_]);
    writer_.Write(grpc::ByteBuffer(&event, 1), op_);
    return;
  }
  page_.clear();
  next_ = page_end_;  // the page's events that did not pass the filters are skipped
  next_hash_ = page_end_hash_;
  owner_->readers_->Add([this](bool stopped) { ReadPage(stopped); });
}

bool SubscribeCall::Passes(absl::string_view stored) const {
  absl::StatusOr<StoredEventKeys> keys = ReadStoredEventKeys(stored);
  if (!keys.ok()) return true;  // sent as it is: the client's parse says what is wrong
  if (!event_types_.empty() && !event_types_.contains(keys->event_type)) return false;
  if (stream_prefixes_.empty()) return true;
  return std::any_of(stream_prefixes_.begin(), stream_prefixes_.end(),
                     [&](const std::string& p) { return absl::StartsWith(keys->stream_id, p); });
}

void SubscribeCall::Finish(const grpc::Status& status) {
  state_ = State::kFinishing;
  page_.clear();
  writer_.Finish(status, op_);
}

Subscriptions::Subscriptions(RequestSubscribeCall request_call, const Ledger* ledger,
                             const AccessControl& access, WorkQueue* readers, int max_open,
                             int max_open_per_token)
    : request_call_(std::move(request_call)),
      ledger_(ledger),
      access_(access),
      readers_(readers),
      max_open_(max_open),
      max_open_per_token_(max_open_per_token),
      waiter_([this] {
        pthread_setname_np(pthread_self(), "subscriptions");
        WaitForHead();
      }) {}

Subscriptions::~Subscriptions() { Stop(); }

void Subscriptions::Listen(grpc::ServerCompletionQueue* arrivals,
                           grpc::CompletionQueue* operations, int slots) {
  arrivals_ = arrivals;
  operations_ = operations;
  for (int i = 0; i < slots; ++i) Await();
}

bool Subscriptions::TakeTokenSlot(const std::string& actor) {
  std::lock_guard lock(per_token_mu_);
  int& open = open_per_token_[actor];
  if (open >= max_open_per_token_) return false;
  ++open;
  return true;
}

void Subscriptions::ReleaseTokenSlot(const std::string& actor) {
  std::lock_guard lock(per_token_mu_);
  auto it = open_per_token_.find(actor);
  if (it != open_per_token_.end() && --it->second == 0) open_per_token_.erase(it);
}

void Subscriptions::Await() { (new SubscribeCall(this))->Listen(); }

Subscriptions::Parking Subscriptions::Park(SubscribeCall* call) {
  std::lock_guard lock(mu_);
  if (waiting_ended_) return kEnded;
  // Checked under the lock the waiting thread takes before it wakes the parked calls, so a
  // head that moves now is either seen here or wakes this call.
  if (ledger_->Head().position >= call->next()) return kReadNow;
  parked_.push_back(call);
  if (parked_.size() == 1) waiter_cv_.notify_one();
  return kParked;
}

void Subscriptions::WaitForHead() {
  // `seen` may fall behind the head while nothing is parked; the first wait after that then
  // returns at once and wakes the calls parked since, which read on or park again. (Taking
  // the head afresh instead could miss the event that a call parked just before.)
  uint64_t seen = ledger_->Head().position;
  for (;;) {
    {
      // Looks for the subscriptions' closing now and then, so that calls still catching up
      // end at their next event (ending_) even when none is parked.
      std::unique_lock lock(mu_);
      while (!stopping_ && parked_.empty() && !ledger_->subscriptions_closed()) {
        waiter_cv_.wait_for(lock, kCancelPoll);
      }
      if (stopping_) return;
    }
    const uint64_t head =
        ledger_->WaitForHead(seen + 1, std::chrono::steady_clock::now() + kCancelPoll);
    const bool closed = ledger_->subscriptions_closed();
    std::vector<SubscribeCall*> wake;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (head > seen || closed) {
        wake.swap(parked_);
      } else {  // no new event: only the parked calls whose client has gone, or whose
                // access a reload of the tokens may have withdrawn
        std::vector<SubscribeCall*> still;
        for (SubscribeCall* call : parked_) {
          (call->cancelled() || call->access_may_have_changed() ? wake : still).push_back(call);
        }
        parked_.swap(still);
      }
      if (closed) {
        waiting_ended_ = true;
        ending_.store(true);
      }
    }
    seen = std::max(seen, head);
    for (SubscribeCall* call : wake) {
      readers_->Add([call](bool stopped) { call->ReadPage(stopped); });
    }
    if (closed) {
      std::unique_lock lock(mu_);
      waiter_cv_.wait(lock, [this] { return stopping_; });
      return;
    }
  }
}

void Subscriptions::Stop() {
  ending_.store(true);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  waiter_cv_.notify_all();
  if (waiter_.joinable()) waiter_.join();
}

}  // namespace govledger
