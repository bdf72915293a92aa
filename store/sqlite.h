// store/sqlite.h — a tiny RAII layer over the SQLite C API, private to store/.
//
// Every failure becomes a tagscape::Error "<file>: <cause> (<sqlite message>)", with the
// cause taken from the primary result code (corrupt, not a database, locked, disk full).
// ref: https://sqlite.org/rescode.html
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>

#include "store/store.h"

namespace tagscape::sqlite {

// Throws the Error for result code `rc` on `store`'s connection.
[[noreturn]] void fail(const Store& store, int rc);

// Runs SQL without results (may be several statements). Throws on failure.
void exec(Store& store, const char* sql);

// A prepared statement. Bind with 1-based indices; step() until it returns false.
struct Statement {
  Statement(Store& store, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, int64_t{value}); }
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);  // bound SQLITE_STATIC: keep it alive
  Statement& bind_blob(int index, const void* data, int64_t size_bytes);  // SQLITE_STATIC too

  bool step();   // true: a row is available; false: done. Throws on error.
  void reset();  // ready to step again with the same bindings (clears nothing)

  int64_t int64(int column) const;  // 0-based columns
  double real(int column) const;
  std::string text(int column) const;
  bool is_null(int column) const;

  Store& store;
  sqlite3_stmt* handle = nullptr;
};

// BEGIN IMMEDIATE (write) or BEGIN (read snapshot); rolls back in the destructor unless
// commit() ran, so an exception anywhere inside leaves the file unchanged.
struct Transaction {
  enum Kind { read, write };
  Transaction(Store& store, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

  Store& store;
  bool open = false;
};

// Value of an integer PRAGMA, e.g. pragma_int(store, "user_version").
int64_t pragma_int(Store& store, const char* name);

}  // namespace tagscape::sqlite
