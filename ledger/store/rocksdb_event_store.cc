#include "ledger/store/rocksdb_event_store.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ledger/common/errors.h"
#include "ledger/common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace govledger {
namespace {

// FORMAT.md: the column families, in this order, and the meta keys. Never renumber or rename.
constexpr char kEventsCf[] = "events";
constexpr char kStreamsCf[] = "streams";
constexpr char kEventIdsCf[] = "event_ids";
constexpr char kMetaCf[] = "meta";
constexpr char kFormatVersionKey[] = "format_version";
constexpr char kHeadKey[] = "head";
constexpr char kVerifiedKey[] = "verified";
constexpr char kFormatVersion[] = "1";

void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string PositionKey(uint64_t position) {
  std::string key(8, '\0');
  PutBigEndian64(position, key.data());
  return key;
}

// stream_id 0x00 version(8, big-endian). Stream ids never contain 0x00.
std::string StreamKey(absl::string_view stream_id, uint64_t version) {
  std::string key;
  key.reserve(stream_id.size() + 9);
  key.append(stream_id.data(), stream_id.size());
  key.push_back('\0');
  key.resize(key.size() + 8);
  PutBigEndian64(version, key.data() + key.size() - 8);
  return key;
}

std::string EncodePoint(const ChainPoint& p) {
  std::string out(8 + crypto::kHashSize, '\0');
  PutBigEndian64(p.position, out.data());
  std::memcpy(out.data() + 8, p.hash.data(), crypto::kHashSize);
  return out;
}

// The stream part of a streams key ("stream_id\0"): consecutive versions of one stream are
// inserted next to each other, so the memtable can insert with a per-stream hint.
class StreamPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "govledger.StreamPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view operation) {
  if (s.ok()) return absl::OkStatus();
  return errors::Storage(operation, s.ToString());
}

rocksdb::Slice AsSlice(const UuidBytes& id) {
  return rocksdb::Slice(reinterpret_cast<const char*>(id.data()), id.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbEventStore>> RocksDbEventStore::Open(
    const std::string& dir, const RocksDbOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", dir, ": ", ec.message()));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  db_options.max_total_wal_size = 256 << 20;
  // One thread writes, and the hashed event_ids memtable does not take concurrent inserts.
  db_options.allow_concurrent_memtable_write = false;

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto table_options = [&](bool bloom) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    // Index and filter blocks stay in memory with their table (about 3 MB per million
    // events): in the block cache, scans of event blocks evict them and every new-id check
    // would read its filter from disk again.
    t.cache_index_and_filter_blocks = false;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    return t;
  };
  auto cf_options = [&](size_t write_buffer, bool bloom) {
    rocksdb::ColumnFamilyOptions cf;
    cf.write_buffer_size = write_buffer;
    cf.max_write_buffer_number = 2;
    cf.level_compaction_dynamic_level_bytes = true;
    cf.compression = rocksdb::kLZ4Compression;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options(bloom)));
    return cf;
  };
  size_t small = options.write_buffer_bytes / 4;
  rocksdb::ColumnFamilyOptions events_cf = cf_options(options.write_buffer_bytes, false);
  {
    // Events are mostly scanned in order: larger blocks mean fewer cache look-ups per event.
    rocksdb::BlockBasedTableOptions t = table_options(false);
    t.block_size = 16 << 10;
    events_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  }
  // Positions only grow: one empty prefix makes every insert start from the last one.
  events_cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
  rocksdb::ColumnFamilyOptions streams_cf = cf_options(small, false);
  // The two indexes take keys all over their key space (stream ids, random event ids), so
  // leveled compaction would rewrite most of a level for every few flushes. Size-tiered
  // (universal) compaction rewrites each entry O(log n) times instead; their reads are point
  // look-ups behind bloom filters or served from the writer's stream-version cache.
  streams_cf.compaction_style = rocksdb::kCompactionStyleUniversal;
  streams_cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamPrefix>();
  // Event ids are random and only ever looked up whole, never scanned: a hashed memtable (the
  // whole 16-byte id as its "prefix") inserts and finds them without a skiplist search, which
  // takes the writer thread's biggest cost off it (the sort moves to the background flush).
  rocksdb::ColumnFamilyOptions ids_cf = cf_options(small, true);
  ids_cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
  ids_cf.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 18));
  ids_cf.compaction_style = rocksdb::kCompactionStyleUniversal;
  ids_cf.compression = rocksdb::kNoCompression;  // random ids do not compress
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options(small, false)},
      {kEventsCf, events_cf},
      {kStreamsCf, streams_cf},
      {kEventIdsCf, ids_cf},
      {kMetaCf, cf_options(small, false)},
  };

  std::unique_ptr<RocksDbEventStore> store(new RocksDbEventStore());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &store->handles_, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", dir, " is in use by another process: ", s.ToString()));
    }
    return errors::Storage("open", s.ToString());
  }
  store->db_.reset(raw);
  store->events_ = store->handles_[1];
  store->streams_ = store->handles_[2];
  store->event_ids_ = store->handles_[3];
  store->meta_ = store->handles_[4];

  std::string version;
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_, kFormatVersionKey, &version);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    s = store->db_->Put(sync, store->meta_, kFormatVersionKey, kFormatVersion);
    if (!s.ok()) return FromRocks(s, "write format version");
  } else if (!s.ok()) {
    return FromRocks(s, "read format version");
  } else if (version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", dir, " holds storage format version ", version,
                     "; this govledgerd reads format ", kFormatVersion));
  }
  return store;
}

RocksDbEventStore::~RocksDbEventStore() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

absl::Status RocksDbEventStore::Commit(const std::vector<EventWrite>& events,
                                       const ChainPoint& head) {
  rocksdb::WriteBatch batch;
  char position[8];
  for (const EventWrite& e : events) {
    PutBigEndian64(e.position, position);
    rocksdb::Slice pos(position, 8);
    rocksdb::Status s = batch.Put(events_, pos, e.stored_bytes);
    if (s.ok()) s = batch.Put(streams_, StreamKey(e.stream_id, e.stream_version), pos);
    if (s.ok()) s = batch.Put(event_ids_, AsSlice(e.event_id), pos);
    if (!s.ok()) return FromRocks(s, "batch");
  }
  rocksdb::Status s = batch.Put(meta_, kHeadKey, EncodePoint(head));
  if (!s.ok()) return FromRocks(s, "batch");
  rocksdb::WriteOptions options;
  options.sync = true;  // an acknowledged append is on disk
  return FromRocks(db_->Write(options, &batch), "commit");
}

absl::StatusOr<ChainPoint> RocksDbEventStore::LoadPoint(absl::string_view key) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return ChainPoint{};
  if (!s.ok()) return FromRocks(s, "read meta");
  if (value.size() != 8 + crypto::kHashSize) {
    return absl::DataLossError(absl::StrCat("meta key '", key, "' has ", value.size(),
                                            " bytes; expected ", 8 + crypto::kHashSize));
  }
  ChainPoint p;
  p.position = GetBigEndian64(value.data());
  std::memcpy(p.hash.data(), value.data() + 8, crypto::kHashSize);
  return p;
}

absl::StatusOr<ChainPoint> RocksDbEventStore::LoadHead() { return LoadPoint(kHeadKey); }

absl::StatusOr<ChainPoint> RocksDbEventStore::LoadVerified() { return LoadPoint(kVerifiedKey); }

absl::Status RocksDbEventStore::SaveVerified(const ChainPoint& point) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Put(options, meta_, kVerifiedKey, EncodePoint(point)),
                   "write verified point");
}

absl::StatusOr<std::optional<std::string>> RocksDbEventStore::Get(uint64_t position) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_, PositionKey(position), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "read event");
  return value;
}

absl::Status RocksDbEventStore::ScanLog(uint64_t from, bool forward, const LogVisitor& fn) {
  rocksdb::ReadOptions options;
  options.readahead_size = 2 << 20;
  options.adaptive_readahead = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, events_));
  std::string start = PositionKey(from);
  uint64_t expected = from;
  if (forward) {
    it->Seek(start);
  } else {
    it->SeekForPrev(start);
  }
  for (; it->Valid(); forward ? it->Next() : it->Prev()) {
    rocksdb::Slice key = it->key();
    if (key.size() != 8) return errors::CorruptEvent(expected, "malformed position key");
    uint64_t position = GetBigEndian64(key.data());
    if (position != expected) break;  // the log is dense; a gap ends the scan
    rocksdb::Slice value = it->value();
    if (!fn(position, absl::string_view(value.data(), value.size()))) break;
    if (!forward && position == 1) break;
    expected = forward ? position + 1 : position - 1;
  }
  return FromRocks(it->status(), "scan log");
}

absl::StatusOr<uint64_t> RocksDbEventStore::StreamVersion(absl::string_view stream_id) {
  std::string last = StreamKey(stream_id, UINT64_MAX);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  it->SeekForPrev(last);
  if (!it->Valid()) {
    RETURN_IF_ERROR(FromRocks(it->status(), "read stream version"));
    return 0;
  }
  rocksdb::Slice key = it->key();
  if (key.size() != stream_id.size() + 9 ||
      std::memcmp(key.data(), stream_id.data(), stream_id.size()) != 0 ||
      key[stream_id.size()] != '\0') {
    return 0;
  }
  return GetBigEndian64(key.data() + stream_id.size() + 1);
}

absl::Status RocksDbEventStore::ScanStream(absl::string_view stream_id, uint64_t from,
                                           bool forward, const StreamVisitor& fn) {
  std::string prefix(stream_id);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  std::string start = StreamKey(stream_id, from);
  if (forward) {
    it->Seek(start);
  } else {
    it->SeekForPrev(start);
  }
  uint64_t expected = from;
  for (; it->Valid(); forward ? it->Next() : it->Prev()) {
    rocksdb::Slice key = it->key();
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) break;
    uint64_t version = GetBigEndian64(key.data() + prefix.size());
    // Versions are dense: the scan starts at `from` itself (a version past the end, or 0,
    // visits nothing, as in MemoryEventStore) and ends at a gap.
    if (version == 0 || version != expected) break;
    expected = forward ? version + 1 : version - 1;
    if (it->value().size() != 8) {
      return absl::DataLossError(absl::StrCat("stream index of '", stream_id, "' version ",
                                              version, " is malformed"));
    }
    if (!fn(version, GetBigEndian64(it->value().data()))) break;
  }
  return FromRocks(it->status(), "scan stream");
}

absl::StatusOr<std::optional<uint64_t>> RocksDbEventStore::FindEventId(
    const UuidBytes& event_id) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), event_ids_, AsSlice(event_id), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "read event id");
  if (value.size() != 8) return absl::DataLossError("event id index entry is malformed");
  return GetBigEndian64(value.data());
}

}  // namespace govledger
