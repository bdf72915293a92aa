#include "common/thread_pool.h"

#include <algorithm>

namespace tagscape {

namespace {
// Chunk `index` of `chunks` equal parts of [0, count).
std::pair<int64_t, int64_t> chunk_range(int64_t count, int chunks, int index) {
  return {count * index / chunks, count * (index + 1) / chunks};
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (int worker = 1; worker < threads; ++worker)
    workers_.emplace_back([this, worker] { worker_loop(worker); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (auto& thread : workers_) thread.join();
}

void ThreadPool::parallel_for(int64_t count, const ChunkFn& fn, int64_t min_chunk) {
  if (count <= 0) return;
  const int chunks = static_cast<int>(std::clamp<int64_t>(count / std::max<int64_t>(min_chunk, 1), 1, size()));
  if (chunks == 1) {
    fn(0, count, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_count_ = count;
    job_chunks_ = chunks;
    pending_ = chunks - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  auto [begin, end] = chunk_range(count, chunks, 0);
  fn(begin, end, 0);
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::worker_loop(int worker) {
  uint64_t seen_generation = 0;
  while (true) {
    std::unique_lock lock(mutex_);
    start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
    if (stopping_) return;
    seen_generation = generation_;
    if (worker >= job_chunks_) continue;
    const ChunkFn* fn = job_;
    auto [begin, end] = chunk_range(job_count_, job_chunks_, worker);
    lock.unlock();
    (*fn)(begin, end, worker);
    lock.lock();
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

}  // namespace tagscape
