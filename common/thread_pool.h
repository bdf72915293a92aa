// common/thread_pool.h — a fixed set of worker threads for data-parallel loops.
//
//   ThreadPool pool(2);
//   pool.parallel_for(rows, [&](int64_t begin, int64_t end, int worker) { ... });
//
// parallel_for splits [0, count) into one contiguous chunk per worker (the calling
// thread is worker 0) and returns when all chunks are done. `worker` is in
// [0, size()) and indexes per-worker scratch buffers. Not reentrant: one parallel_for
// at a time per pool (the executor owns its pool).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tagscape {

class ThreadPool {
 public:
  using ChunkFn = std::function<void(int64_t begin, int64_t end, int worker)>;

  explicit ThreadPool(int threads);  // threads <= 0: hardware_concurrency()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn over [0, count) in at most size() chunks of at least min_chunk items.
  void parallel_for(int64_t count, const ChunkFn& fn, int64_t min_chunk = 1);

 private:
  void worker_loop(int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  const ChunkFn* job_ = nullptr;
  int64_t job_count_ = 0;
  int job_chunks_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace tagscape
