// The memtable of the event_ids column family: a hash table for the writer's inserts and
// look-ups, and a sort only when the memtable is flushed.
//
// Event ids are random and only ever looked up whole. RocksDB's skiplist memtable pays a
// search of a skiplist much larger than the cache for every insert; its hashed memtables
// (hash-linklist, hash-skiplist) insert in O(1) but, to flush, insert every entry into a
// new skiplist one by one, which cost about a quarter of a core during a bulk append. This
// one inserts in O(1) as they do and, to flush, sorts an array of the entries.
//
// Contracts:
// - Only for a column family ordered by RocksDB's bytewise comparator (the default): the
//   flush sort orders entries by the first 8 bytes of their user key before it compares
//   whole internal keys.
// - One writer at a time (allow_concurrent_memtable_write = false); readers run beside it.
// - Look-ups (Get, MultiGet) walk only the chain of the key sought. An iterator (a flush,
//   or a scan of the column family) sorts a copy of every entry: fine for flushes, slow for
//   scans, which the event_ids column family never has.

#ifndef GOVLEDGER_LEDGER_STORE_ID_MEMTABLE_H_
#define GOVLEDGER_LEDGER_STORE_ID_MEMTABLE_H_

#include <cstddef>

#include "rocksdb/memtablerep.h"

namespace govledger {

class HashedIdMemTableFactory final : public rocksdb::MemTableRepFactory {
 public:
  // `bucket_count` hash chains per memtable (8 bytes each, allocated with the memtable).
  explicit HashedIdMemTableFactory(size_t bucket_count) : bucket_count_(bucket_count) {}

  using rocksdb::MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& compare,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* prefix,
                                          rocksdb::Logger* logger) override;
  const char* Name() const override { return "GovledgerHashedIdMemTableFactory"; }

 private:
  size_t bucket_count_;
};

}  // namespace govledger

#endif  // GOVLEDGER_LEDGER_STORE_ID_MEMTABLE_H_
