#include "store/sqlite.h"

#include <cassert>

#include "common/error.h"

namespace tagscape::sqlite {
namespace {

const char* cause_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB: return "not a tagscape collection file";
    case SQLITE_CORRUPT: return "database is corrupt";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "collection is locked by another process";
    case SQLITE_FULL: return "disk full";
    case SQLITE_READONLY: return "collection is read-only";
    case SQLITE_CANTOPEN: return "cannot open collection file";
    case SQLITE_IOERR: return "I/O error";
    case SQLITE_NOMEM: return "out of memory";
    case SQLITE_PERM: return "permission denied";
    default: return "SQLite error";
  }
}

}  // namespace

void fail(const Store& store, int rc) {
  const char* detail = store.db ? sqlite3_errmsg(store.db.get()) : sqlite3_errstr(rc);
  throw Error(store.path + ": " + cause_of(rc) + " (" + detail + ")");
}

void exec(Store& store, const char* sql) {
  const int rc = sqlite3_exec(store.db.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(store, rc);
}

Statement::Statement(Store& store_, const char* sql) : store(store_) {
  const int rc = sqlite3_prepare_v2(store.db.get(), sql, -1, &handle, nullptr);
  if (rc != SQLITE_OK) fail(store, rc);
}

Statement::~Statement() { sqlite3_finalize(handle); }

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(handle, index, value);
  if (rc != SQLITE_OK) fail(store, rc);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(handle, index, value);
  if (rc != SQLITE_OK) fail(store, rc);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  const int rc = sqlite3_bind_text64(handle, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(store, rc);
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, int64_t size_bytes) {
  assert(size_bytes >= 0);
  // A zero-length blob with a null pointer would bind NULL; "" keeps it a blob.
  const int rc = sqlite3_bind_blob64(handle, index, size_bytes > 0 ? data : "", static_cast<sqlite3_uint64>(size_bytes),
                                     SQLITE_STATIC);
  if (rc != SQLITE_OK) fail(store, rc);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(handle);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(store, rc);
}

void Statement::reset() { sqlite3_reset(handle); }

int64_t Statement::int64(int column) const { return sqlite3_column_int64(handle, column); }
double Statement::real(int column) const { return sqlite3_column_double(handle, column); }
bool Statement::is_null(int column) const { return sqlite3_column_type(handle, column) == SQLITE_NULL; }

std::string Statement::text(int column) const {
  const auto* chars = reinterpret_cast<const char*>(sqlite3_column_text(handle, column));
  const int size = sqlite3_column_bytes(handle, column);
  return chars ? std::string(chars, static_cast<size_t>(size)) : std::string();
}

Transaction::Transaction(Store& store_, Kind kind) : store(store_) {
  exec(store, kind == write ? "BEGIN IMMEDIATE" : "BEGIN");
  open = true;
}

Transaction::~Transaction() {
  // Never throws: a failed rollback leaves SQLite's own recovery (the WAL) to restore
  // the last committed state on the next open.
  if (open) sqlite3_exec(store.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  assert(open);
  exec(store, "COMMIT");
  open = false;
}

int64_t pragma_int(Store& store, const char* name) {
  Statement statement(store, (std::string("PRAGMA ") + name).c_str());
  return statement.step() ? statement.int64(0) : 0;
}

}  // namespace tagscape::sqlite
