// The event_ids memtable (ledger/store/id_memtable.h) inside a real RocksDB: every read
// agrees with a std::map through inserts, overwrites, deletes, snapshots, flushes and a
// reopen, with few enough hash chains that many keys share one.

#include "ledger/store/id_memtable.h"

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "tests/testutil.h"

namespace govledger {
namespace {

using ::govledger::testing::TempDir;

std::unique_ptr<rocksdb::DB> OpenDb(const std::string& dir, size_t write_buffer) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.allow_concurrent_memtable_write = false;
  options.write_buffer_size = write_buffer;
  options.memtable_factory = std::make_shared<HashedIdMemTableFactory>(64);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

// Mostly 16-byte ids, as the ledger writes; some shorter and longer keys, and keys that
// share their first 8 bytes, to exercise the flush sort's tie-breaking.
std::string RandomKey(std::mt19937_64& rng) {
  static const char kAlphabet[] = "\x00\x01\x7f\x80\xff" "abc";
  size_t length = std::vector<size_t>{16, 16, 16, 3, 8, 9, 20}[rng() % 7];
  std::string key(length, '\0');
  for (char& c : key) c = kAlphabet[rng() % 8];
  if (rng() % 4 == 0) key.replace(0, std::min<size_t>(8, key.size()), "sameprefix", std::min<size_t>(8, key.size()));
  return key;
}

// Every key of `model` and one unknown key read with Get and MultiGet, and a full scan.
void ExpectAgrees(rocksdb::DB* db, const std::map<std::string, std::string>& model,
                  const rocksdb::Snapshot* snapshot = nullptr) {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  std::vector<std::string> keys;
  for (const auto& [k, v] : model) {
    std::string value;
    rocksdb::Status s = db->Get(read, k, &value);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(value, v);
    keys.push_back(k);
  }
  std::string unknown = "no such key here";
  std::string ignored;
  EXPECT_TRUE(db->Get(read, unknown, &ignored).IsNotFound());
  keys.push_back(unknown);

  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses = db->MultiGet(read, slices, &values);
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].ToString();
    EXPECT_EQ(values[i], model.at(keys[i]));
  }
  EXPECT_TRUE(statuses.back().IsNotFound());

  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  auto expected = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    ASSERT_NE(expected, model.end()) << "extra key " << it->key().ToString(true);
    EXPECT_EQ(it->key().ToString(), expected->first);
    EXPECT_EQ(it->value().ToString(), expected->second);
  }
  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(expected, model.end());
  // Backwards and from a key, as a total-order iterator must.
  auto back = model.rbegin();
  for (it->SeekToLast(); it->Valid() && back != model.rend(); it->Prev(), ++back) {
    EXPECT_EQ(it->key().ToString(), back->first);
  }
  EXPECT_EQ(back, model.rend());
  if (!model.empty()) {
    const std::string& middle = std::next(model.begin(), model.size() / 2)->first;
    it->Seek(middle);
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key().ToString(), middle);
  }
}

TEST(HashedIdMemTableTest, AgreesWithAMapThroughOverwritesDeletesSnapshotsFlushesAndAReopen) {
  TempDir dir;
  // 64 KiB memtables: the 3,000 writes below flush several times.
  std::unique_ptr<rocksdb::DB> db = OpenDb(dir.path(), 64 << 10);
  std::mt19937_64 rng(7);
  std::map<std::string, std::string> model;
  std::map<std::string, std::string> at_snapshot;
  const rocksdb::Snapshot* snapshot = nullptr;
  for (int i = 1; i <= 3000; ++i) {
    std::string key = RandomKey(rng);
    if (!model.empty() && rng() % 5 == 0) {
      key = std::next(model.begin(), rng() % model.size())->first;  // an existing key
    }
    if (rng() % 10 == 0) {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), key).ok());
      model.erase(key);
    } else {
      std::string value = "value " + std::to_string(i);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
      model[key] = value;
    }
    if (i == 1500) {
      snapshot = db->GetSnapshot();
      at_snapshot = model;
    }
    if (i % 500 == 0) ExpectAgrees(db.get(), model);
  }
  ExpectAgrees(db.get(), at_snapshot, snapshot);
  db->ReleaseSnapshot(snapshot);

  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
  ExpectAgrees(db.get(), model);

  // Writes left in the WAL are replayed into a new memtable of this kind.
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "after the flush", "x").ok());
  model["after the flush"] = "x";
  db.reset();
  db = OpenDb(dir.path(), 64 << 10);
  ExpectAgrees(db.get(), model);
}

TEST(HashedIdMemTableTest, ReadersBesideTheWriterFindEveryKeyWrittenBeforeTheyLook) {
  TempDir dir;
  std::unique_ptr<rocksdb::DB> db = OpenDb(dir.path(), 4 << 20);
  constexpr int kKeys = 20000;
  auto key_of = [](int i) {
    std::string key(16, '\0');
    uint64_t h = std::hash<int>()(i) * 0x9E3779B97F4A7C15ULL;
    std::memcpy(key.data(), &h, 8);
    std::memcpy(key.data() + 8, &i, sizeof(i));
    return key;
  };
  std::atomic<int> written{0};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      while (written.load() < kKeys) {
        int upto = written.load();
        if (upto == 0) continue;
        int i = static_cast<int>(rng() % upto);
        std::string value;
        if (!db->Get(rocksdb::ReadOptions(), key_of(i), &value).ok() ||
            value != std::to_string(i)) {
          misses.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key_of(i), std::to_string(i)).ok());
    written.store(i + 1);
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0);
}

}  // namespace
}  // namespace govledger
