#include "batch/thread_pool.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tokenomix::batch {

namespace {

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void run(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& body) {
    std::lock_guard<std::mutex> one_loop_at_a_time(run_mutex_);
    const std::size_t helpers = std::min(threads, n) - 1;
    while (workers_.size() < helpers) workers_.emplace_back([this] { work(); });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      next_.store(0);
      error_ = nullptr;
      helpers_wanted_ = helpers;
      helpers_active_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    helpers_wanted_ = 0;  // every index is taken: helpers still asleep need not come
    done_.wait(lock, [this] { return helpers_active_ == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Take indices until none are left.
  void drain() {
    for (std::size_t i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) {
      try {
        (*body_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_);
      }
    }
  }

  void work() {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && helpers_wanted_ > 0); });
      if (stopping_) return;
      seen = generation_;
      --helpers_wanted_;
      ++helpers_active_;
      lock.unlock();
      drain();
      lock.lock();
      --helpers_active_;
      if (helpers_active_ == 0) done_.notify_all();
    }
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::size_t n_ = 0;
  std::atomic<std::size_t> next_{0};
  std::exception_ptr error_;
  std::size_t helpers_wanted_ = 0;
  std::size_t helpers_active_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

Pool* g_pool = nullptr;
std::mutex g_pool_mutex;
std::once_flag g_atfork_once;

// Hold the pool's mutex across fork() so the child never inherits it locked. In the child the
// parent's workers do not exist: forget the pool without destroying it (its destructor would
// join threads that are not there).
void before_fork() { g_pool_mutex.lock(); }
void after_fork_in_parent() { g_pool_mutex.unlock(); }
void after_fork_in_child() {
  g_pool = nullptr;
  g_pool_mutex.unlock();
}

Pool& pool() {
  std::call_once(g_atfork_once,
                 [] { pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); });
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool == nullptr) g_pool = new Pool();  // never destroyed: workers may outlive main
  return *g_pool;
}

}  // namespace

std::size_t hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

void parallel_for(std::size_t n, std::size_t threads,
                  const std::function<void(std::size_t)>& body) {
  if (n == 0) return;
  if (threads <= 1 || n == 1) {
    for (std::size_t i = 0; i < n; ++i) body(i);
    return;
  }
  pool().run(n, threads, body);
}

}  // namespace tokenomix::batch
