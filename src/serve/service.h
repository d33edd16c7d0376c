// The translation service behind `attn serve` (after Marian's
// TranslateService): HTTP threads never touch a model; they queue jobs here,
// and one inference thread takes whatever has arrived, groups the jobs whose
// decoding options agree and decodes each group as one batch.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/translator.h"

namespace attn::serve {

using Clock = std::chrono::steady_clock;

// What one request asks of the inference side, and what it gets back.
struct Job {
  enum class Kind { translate, score };
  Kind kind = Kind::translate;
  size_t model = 0;  // index into the service's models
  TranslateOptions options;
  bool attention = false;  // keep attention (translate: of every hypothesis; score: forced)
  std::vector<std::string> src, tgt;  // lines; tgt only for score
  Clock::time_point deadline;

  // Filled by the inference side before `done` is set.
  std::vector<TranslatedLine> translated;
  std::vector<ScoredPair> scored;
  int status = 200;   // 4xx/5xx with `error` when the job could not be done
  std::string error;
  size_t tokens_out = 0;  // target tokens decoded or scored

  std::promise<void> done;
  std::atomic<bool> abandoned{false};  // the client stopped waiting: skip it

  // Jobs with equal keys decode in one batch.
  std::string batch_key() const;
};

struct ServiceLimits {
  int max_batch = 64;        // sentences decoded together at most
  double max_wait_ms = 5;    // wait this long for the last batch's clients when fewer are queued
  int queue_limit = 1024;    // sentences waiting at most
  int max_src_tokens = 200;  // per source line
};

// What the service reports as it works (serve/metrics.h counts it).
struct ServiceObserver {
  virtual ~ServiceObserver() = default;
  virtual void batch_decoded(size_t sentences, size_t tokens) = 0;
};

class TranslationService {
 public:
  TranslationService(std::vector<TranslationModel> models, ServiceLimits limits, ServiceObserver* observer = nullptr);
  ~TranslationService();
  TranslationService(const TranslationService&) = delete;
  TranslationService& operator=(const TranslationService&) = delete;

  const std::vector<TranslationModel>& models() const { return models_; }
  // Index of the model called `name`, or -1.
  int find_model(const std::string& name) const;
  const ServiceLimits& limits() const { return limits_; }

  // Queues a job; false (nothing queued) when the queue is full.
  bool submit(const std::shared_ptr<Job>& job);
  // Sentences waiting.
  size_t queue_depth() const;
  // Finishes what is queued, then stops the inference thread.
  void stop();

 private:
  void run();
  void process(std::vector<std::shared_ptr<Job>>& group);
  void translate_group(std::vector<std::shared_ptr<Job>>& group);
  void score_group(std::vector<std::shared_ptr<Job>>& group);

  std::vector<TranslationModel> models_;
  ServiceLimits limits_;
  ServiceObserver* observer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  size_t queued_sentences_ = 0;
  size_t expected_;  // sentences of the last batch + those queued when it ended (at first: a full batch)
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace attn::serve
