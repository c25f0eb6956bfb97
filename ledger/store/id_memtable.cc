#include "ledger/store/id_memtable.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "ledger/common/big_endian.h"
#include "rocksdb/slice.h"

namespace govledger {
namespace {

using rocksdb::KeyHandle;
using rocksdb::MemTableRep;
using rocksdb::Slice;

// An entry: the link to the next entry of its chain, then the memtable key RocksDB encodes
// (varint32 length, internal key = user key + 8-byte sequence and type, value).
struct Node {
  std::atomic<Node*> next{nullptr};
  char* Key() { return reinterpret_cast<char*>(this + 1); }
  const char* Key() const { return reinterpret_cast<const char*>(this + 1); }
};

Slice UserKeyOfInternal(const Slice& internal_key) {
  return Slice(internal_key.data(), internal_key.size() - 8);
}

Slice UserKeyOfEntry(const char* memtable_key) {
  return UserKeyOfInternal(rocksdb::GetLengthPrefixedSlice(memtable_key));
}

// The first 8 bytes of the user key, big-endian, zero-padded: ordered as the bytewise
// comparator orders the keys, except that equal prefixes need the whole comparison.
uint64_t OrderPrefix(const char* memtable_key) {
  Slice user = UserKeyOfEntry(memtable_key);
  char bytes[8] = {0};
  std::memcpy(bytes, user.data(), std::min<size_t>(8, user.size()));
  return GetBigEndian<uint64_t>(bytes);
}

// The internal key a look-up seeks. RocksDB passes look-ups a LookupKey, a class outside its
// public headers (db/dbformat.h), and its default MemTableRep::Get, which takes the key from
// it, leaks the iterator it allocates for every look-up. Since LevelDB a LookupKey has begun
// with three pointers: the memtable key (varint32 length, internal key), the internal key
// within it, and their end. They are read here and checked against each other, so that a
// RocksDB laid out otherwise stops the daemon at its first look-up instead of misreading.
Slice InternalKeyOf(const rocksdb::LookupKey& k) {
  struct Layout {
    const char* start;
    const char* kstart;
    const char* end;
  };
  const auto& at = reinterpret_cast<const Layout&>(k);
  const Slice length_prefixed =
      at.start != nullptr && at.kstart > at.start && at.kstart - at.start <= 5 &&
              at.end - at.kstart >= 8
          ? rocksdb::GetLengthPrefixedSlice(at.start)
          : Slice();
  if (length_prefixed.data() != at.kstart ||
      length_prefixed.size() != static_cast<size_t>(at.end - at.kstart)) {
    std::fprintf(stderr,
                 "govledger: this RocksDB's LookupKey is not laid out as the event-id "
                 "memtable (ledger/store/id_memtable.cc) reads it\n");
    std::abort();
  }
  return Slice(at.kstart, at.end - at.kstart);
}

class HashedIdRep final : public MemTableRep {
 public:
  HashedIdRep(const KeyComparator& compare, rocksdb::Allocator* allocator, size_t bucket_count)
      : MemTableRep(allocator),
        compare_(compare),
        bucket_count_(std::max<size_t>(bucket_count, 1)),
        buckets_(new std::atomic<Node*>[bucket_count_]) {
    for (size_t i = 0; i < bucket_count_; ++i) buckets_[i].store(nullptr, std::memory_order_relaxed);
  }

  // The node header goes in front of the key, in the memtable's own arena.
  KeyHandle Allocate(const size_t len, char** buf) override {
    char* raw = nullptr;
    MemTableRep::Allocate(len + sizeof(Node) + alignof(Node) - 1, &raw);
    auto at = (reinterpret_cast<uintptr_t>(raw) + alignof(Node) - 1) & ~(alignof(Node) - 1);
    Node* node = new (reinterpret_cast<void*>(at)) Node();
    *buf = node->Key();
    return node;
  }

  void Insert(KeyHandle handle) override { InsertKey(handle); }

  // Each chain is kept in internal-key order, so a look-up reads its key's entries newest
  // first. The new node is linked in with a release store: a reader sees it whole or not.
  bool InsertKey(KeyHandle handle) override {
    Node* node = static_cast<Node*>(handle);
    std::atomic<Node*>* link = &BucketOf(UserKeyOfEntry(node->Key()));
    Node* next = link->load(std::memory_order_relaxed);  // only this thread writes
    while (next != nullptr) {
      int c = compare_(next->Key(), node->Key());
      if (c == 0) return false;  // the same key and sequence number is already here
      if (c > 0) break;
      link = &next->next;
      next = link->load(std::memory_order_relaxed);
    }
    node->next.store(next, std::memory_order_relaxed);
    link->store(node, std::memory_order_release);
    entries_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  bool Contains(const char* key) const override {
    for (const Node* n = BucketOf(UserKeyOfEntry(key)).load(std::memory_order_acquire);
         n != nullptr; n = n->next.load(std::memory_order_acquire)) {
      if (compare_(n->Key(), key) == 0) return true;
    }
    return false;
  }

  size_t ApproximateMemoryUsage() override { return bucket_count_ * sizeof(std::atomic<Node*>); }

  Iterator* GetIterator(rocksdb::Arena* arena) override {
    std::vector<SortedIterator::Entry> entries;
    entries.reserve(entries_.load(std::memory_order_relaxed));
    for (size_t i = 0; i < bucket_count_; ++i) {
      for (const Node* n = buckets_[i].load(std::memory_order_acquire); n != nullptr;
           n = n->next.load(std::memory_order_acquire)) {
        entries.push_back({OrderPrefix(n->Key()), n->Key()});
      }
    }
    if (arena == nullptr) return new SortedIterator(compare_, std::move(entries));
    // RocksDB passed its arena: it will only destroy the iterator and leave the memory to
    // the arena, whose allocator is not in RocksDB's public headers. So the iterator lives
    // in storage this memtable keeps (its size, not its entries), freed with the memtable;
    // a flush takes one per memtable.
    std::lock_guard<std::mutex> lock(storage_mu_);
    storage_.push_back(std::make_unique<std::byte[]>(sizeof(SortedIterator)));
    return new (storage_.back().get()) SortedIterator(compare_, std::move(entries));
  }

  // Walks the key's chain from the first entry at or after the key sought (so newest first),
  // until the callback declines an entry (RocksDB's callback declines the first entry of
  // another user key).
  void Get(const rocksdb::LookupKey& k, void* callback_args,
           bool (*callback_func)(void* arg, const char* entry)) override {
    const Slice internal_key = InternalKeyOf(k);
    const Node* n = BucketOf(UserKeyOfInternal(internal_key)).load(std::memory_order_acquire);
    while (n != nullptr && compare_(n->Key(), internal_key) < 0) {
      n = n->next.load(std::memory_order_acquire);
    }
    for (; n != nullptr && callback_func(callback_args, n->Key());
         n = n->next.load(std::memory_order_acquire)) {
    }
  }

 private:
  // Every entry, sorted: what a flush reads.
  class SortedIterator final : public Iterator {
   public:
    struct Entry {
      uint64_t order;
      const char* key;
    };

    SortedIterator(const KeyComparator& compare, std::vector<Entry> entries)
        : compare_(compare), entries_(std::move(entries)), at_(entries_.size()) {
      std::sort(entries_.begin(), entries_.end(), [&](const Entry& a, const Entry& b) {
        if (a.order != b.order) return a.order < b.order;
        return compare_(a.key, b.key) < 0;
      });
    }

    bool Valid() const override { return at_ < entries_.size(); }
    const char* key() const override { return entries_[at_].key; }
    void Next() override { ++at_; }
    void Prev() override { at_ = at_ == 0 ? entries_.size() : at_ - 1; }
    void Seek(const Slice& internal_key, const char* /*memtable_key*/) override {
      at_ = std::partition_point(entries_.begin(), entries_.end(),
                                 [&](const Entry& e) { return compare_(e.key, internal_key) < 0; }) -
            entries_.begin();
    }
    void SeekForPrev(const Slice& internal_key, const char* /*memtable_key*/) override {
      size_t after = std::partition_point(entries_.begin(), entries_.end(),
                                          [&](const Entry& e) {
                                            return compare_(e.key, internal_key) <= 0;
                                          }) -
                     entries_.begin();
      at_ = after == 0 ? entries_.size() : after - 1;
    }
    void SeekToFirst() override { at_ = 0; }
    void SeekToLast() override { at_ = entries_.empty() ? 0 : entries_.size() - 1; }

   private:
    const KeyComparator& compare_;
    std::vector<Entry> entries_;
    size_t at_;  // entries_.size() when not valid
  };

  std::atomic<Node*>& BucketOf(const Slice& user_key) const {
    return buckets_[absl::Hash<absl::string_view>{}(absl::string_view(user_key.data(), user_key.size())) %
                    bucket_count_];
  }

  const KeyComparator& compare_;
  const size_t bucket_count_;
  std::unique_ptr<std::atomic<Node*>[]> buckets_;
  std::atomic<size_t> entries_{0};
  std::mutex storage_mu_;
  std::vector<std::unique_ptr<std::byte[]>> storage_;
};

}  // namespace

MemTableRep* HashedIdMemTableFactory::CreateMemTableRep(const MemTableRep::KeyComparator& compare,
                                                        rocksdb::Allocator* allocator,
                                                        const rocksdb::SliceTransform* /*prefix*/,
                                                        rocksdb::Logger* /*logger*/) {
  return new HashedIdRep(compare, allocator, bucket_count_);
}

}  // namespace govledger
