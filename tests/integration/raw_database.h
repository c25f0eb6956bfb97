// A daemon's RocksDB database opened directly, for tests that edit the store behind the daemon's
// back (tamper detection, broken backups). Keys as ledger/store/FORMAT.md gives them. Header-only;
// not thread-safe.
#ifndef GOVLEDGER_TESTS_INTEGRATION_RAW_DATABASE_H_
#define GOVLEDGER_TESTS_INTEGRATION_RAW_DATABASE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rocksdb/db.h"

namespace govledger::testing {

// The events column family's key of a position: 8 bytes, big-endian.
inline std::string PositionKey(uint64_t position) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(position & 0xFF);
    position >>= 8;
  }
  return key;
}

// Opens `dir` with every column family it has, whatever this build's store has added.
// REQUIRES: the daemon is stopped (RocksDB's lock keeps two processes out anyway).
class RawDatabase {
 public:
  explicit RawDatabase(const std::string& dir) {
    status_ = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names_);
    if (!status_.ok()) return;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names_) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* db = nullptr;
    status_ = rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles_, &db);
    db_.reset(db);
  }
  ~RawDatabase() {
    if (db_ == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  const rocksdb::Status& status() const { return status_; }
  // The column family `name`, or null.
  rocksdb::ColumnFamilyHandle* family(const std::string& name) const {
    for (size_t i = 0; i < names_.size() && i < handles_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    return nullptr;
  }
  rocksdb::ColumnFamilyHandle* events() const { return family("events"); }
  rocksdb::ColumnFamilyHandle* meta() const { return family("meta"); }
  rocksdb::DB& db() { return *db_; }

 private:
  rocksdb::Status status_;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_INTEGRATION_RAW_DATABASE_H_
