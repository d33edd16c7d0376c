#include "serve/service.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cstdio>

namespace attn::serve {

std::string Job::batch_key() const {
  const SearchOptions& s = options.search;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d|%zu|%d|%d|%.17g|%.17g|%d|%.17g|%d", static_cast<int>(kind), model, s.beam,
                s.nbest, s.length_penalty, s.max_len_ratio, s.max_len_add, options.temperature,
                kind == Kind::score && attention);
  return buf;
}

TranslationService::TranslationService(std::vector<TranslationModel> models, ServiceLimits limits,
                                       ServiceObserver* observer)
    : models_(std::move(models)), limits_(limits), observer_(observer),
      expected_(static_cast<size_t>(limits.max_batch)) {
  worker_ = std::thread([this] { run(); });
}

TranslationService::~TranslationService() { stop(); }

int TranslationService::find_model(const std::string& name) const {
  for (size_t i = 0; i < models_.size(); ++i)
    if (models_[i].name == name) return static_cast<int>(i);
  return -1;
}

bool TranslationService::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A job larger than the whole queue is still taken when nothing waits.
    if (stopping_ || (queued_sentences_ > 0 && queued_sentences_ + job->src.size() >
                                                    static_cast<size_t>(limits_.queue_limit)))
      return false;
    queue_.push_back(job);
    queued_sentences_ += job->src.size();
  }
  cv_.notify_one();
  return true;
}

size_t TranslationService::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_sentences_;
}

void TranslationService::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void TranslationService::run() {
  // Inference runs on this thread only; libtorch's intra-op threads are the
  // process's setting (--threads).
  torch::NoGradGuard no_grad;
  for (;;) {
    std::vector<std::shared_ptr<Job>> group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      // The clients the last batch answered come back within a moment, and
      // those that queued meanwhile are waiting: when fewer sentences than
      // both are queued, wait (at most max_wait_ms) for the rest, or the
      // batches split into halves that alternate. One client alone never
      // waits: its last batch was its own one sentence, and nobody queued.
      const size_t target = std::min(expected_, static_cast<size_t>(limits_.max_batch));
      if (limits_.max_wait_ms > 0 && queued_sentences_ < target && !stopping_) {
        auto until = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(limits_.max_wait_ms * 1000));
        cv_.wait_until(lock, until, [&] { return stopping_ || queued_sentences_ >= target; });
      }
      // The oldest job, and every queued job that decodes the same way, up
      // to max_batch sentences; the others keep their places.
      const std::string key = queue_.front()->batch_key();
      size_t sentences = 0;
      for (auto it = queue_.begin(); it != queue_.end();) {
        const size_t n = (*it)->src.size();
        if ((*it)->batch_key() == key &&
            (group.empty() || sentences + n <= static_cast<size_t>(limits_.max_batch))) {
          sentences += n;
          group.push_back(*it);
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      queued_sentences_ -= sentences;
    }
    process(group);
    size_t decoded = 0;
    for (const auto& j : group) decoded += j->src.size();
    std::lock_guard<std::mutex> lock(mu_);
    expected_ = decoded + queued_sentences_;
  }
}

void TranslationService::process(std::vector<std::shared_ptr<Job>>& group) {
  // Jobs nobody waits for any more cost nothing.
  std::vector<std::shared_ptr<Job>> live;
  const auto now = Clock::now();
  for (auto& j : group) {
    if (j->abandoned) {
      j->done.set_value();
    } else if (now >= j->deadline) {
      j->status = 504;
      j->error = "the request waited longer than its time limit (serve.request_timeout)";
      j->done.set_value();
    } else {
      live.push_back(j);
    }
  }
  if (live.empty()) return;
  try {
    if (live.front()->kind == Job::Kind::translate)
      translate_group(live);
    else
      score_group(live);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    spdlog::error("serve: a batch of {} requests failed: {}", live.size(), what);
    for (auto& j : live) {
      j->status = 500;
      j->error = "the model failed on this request: " + what;
    }
  }
  for (auto& j : live) j->done.set_value();
}

namespace {
// Tokens of every source line of a job, or an error naming the line.
bool tokenize_sources(Job& j, const TranslationModel& m, size_t max_tokens,
                      std::vector<std::vector<std::string>>& out) {
  const size_t limit = m.max_source_tokens ? std::min(max_tokens, m.max_source_tokens) : max_tokens;
  for (size_t i = 0; i < j.src.size(); ++i) {
    auto toks = m.text().src_tok->encode(j.src[i]);
    if (toks.size() > limit) {
      j.status = 400;
      j.error = "src" + (j.src.size() > 1 ? "[" + std::to_string(i) + "]" : std::string()) + ": " +
                std::to_string(toks.size()) + " tokens; at most " + std::to_string(limit) +
                (limit == max_tokens ? " (serve.max_src_tokens)" : " (this model's attention.max_src_len)");
      return false;
    }
    out.push_back(std::move(toks));
  }
  return true;
}
}  // namespace

namespace {
// Every job's source lines tokenised into `sources` (and its targets into
// `targets`, when given); per job that could be read, where its lines start.
// A job with a line over the limit gets its 400 and is left out.
std::vector<std::pair<Job*, size_t>> gather(std::vector<std::shared_ptr<Job>>& group, const TranslationModel& m,
                                            size_t max_tokens, std::vector<std::vector<std::string>>& sources,
                                            std::vector<std::string>* targets) {
  std::vector<std::pair<Job*, size_t>> spans;
  for (auto& j : group) {
    std::vector<std::vector<std::string>> mine;
    if (!tokenize_sources(*j, m, max_tokens, mine)) continue;
    spans.emplace_back(j.get(), sources.size());
    for (size_t i = 0; i < mine.size(); ++i) {
      sources.push_back(std::move(mine[i]));
      if (targets) targets->push_back(j->tgt[i]);
    }
  }
  return spans;
}
}  // namespace

void TranslationService::translate_group(std::vector<std::shared_ptr<Job>>& group) {
  TranslationModel& m = models_[group.front()->model];
  std::vector<std::vector<std::string>> sources;
  auto spans = gather(group, m, static_cast<size_t>(limits_.max_src_tokens), sources, nullptr);
  if (sources.empty()) return;
  TranslateOptions o = group.front()->options;
  o.batch_size = limits_.max_batch;
  // Jobs that differ only in "attention" share a batch; it is kept when one asks.
  for (const auto& j : group) o.search.keep_attention = o.search.keep_attention || j->attention;
  auto done = translate_tokens(m, std::move(sources), o);
  size_t tokens = 0;
  for (auto& [j, start] : spans) {
    j->translated.assign(std::make_move_iterator(done.begin() + static_cast<long>(start)),
                         std::make_move_iterator(done.begin() + static_cast<long>(start + j->src.size())));
    for (const auto& line : j->translated)
      for (const auto& h : line.hyps) j->tokens_out += h.tokens.size();
    tokens += j->tokens_out;
  }
  if (observer_) observer_->batch_decoded(done.size(), tokens);
}

void TranslationService::score_group(std::vector<std::shared_ptr<Job>>& group) {
  TranslationModel& m = models_[group.front()->model];
  std::vector<std::vector<std::string>> sources;
  std::vector<std::string> targets;
  auto spans = gather(group, m, static_cast<size_t>(limits_.max_src_tokens), sources, &targets);
  if (sources.empty()) return;
  auto scored = score_pairs(m, sources, targets, limits_.max_batch, group.front()->attention,
                            group.front()->options.temperature);
  size_t tokens = 0;
  for (auto& [j, start] : spans) {
    j->scored.assign(std::make_move_iterator(scored.begin() + static_cast<long>(start)),
                     std::make_move_iterator(scored.begin() + static_cast<long>(start + j->src.size())));
    for (const auto& p : j->scored) j->tokens_out += static_cast<size_t>(p.score.tokens);
    tokens += j->tokens_out;
  }
  if (observer_) observer_->batch_decoded(scored.size(), tokens);
}

}  // namespace attn::serve
