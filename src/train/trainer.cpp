#include "train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "config/registry.h"
#include "data/batch.h"
#include "data/pipeline.h"
#include "eval/attention_record.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "eval/validation.h"
#include "model/flops.h"
#include "model/loss.h"
#include "report/training_plots.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/optimizer.h"
#include "train/run_lock.h"
#include "util/errors.h"
#include "util/run_dir.h"
#include "util/text_file.h"

namespace fs = std::filesystem;

namespace attn {

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Everything the loop needs to continue exactly where it stopped.
struct LoopState {
  int64_t step = 0;
  int epoch = 0;
  int64_t next_batch = 0;  // index in the epoch's plan
  double loss_sum = 0;     // since the last validation
  int64_t loss_tokens = 0, updates = 0;
  double update_seconds = 0, wall_seconds = 0, total_update_seconds = 0;
  int64_t total_tokens = 0;
  double total_flops = 0;  // model FLOPs of all updates (model/flops.h), all ranks
  double update_flops = 0;  // since the last validation
  json loss_curve = {{"step", json::array()}, {"train_loss", json::array()}};  // at log steps since the last validation
  double window_loss = 0;      // loss summed since the last log step (the curve's next point)
  int64_t window_tokens = 0;
  int bad_validations = 0;
  int64_t validated_step = -1;
  int world = 1;
  json best = json::array();  // kept best checkpoints: [{metric, step, path}], best first
  json best_value;             // best validation metric so far (null before the first)
  json schedule;
  json to_json() const {
    return {{"step", step},
            {"epoch", epoch},
            {"next_batch", next_batch},
            {"loss_sum", loss_sum},
            {"loss_tokens", loss_tokens},
            {"updates", updates},
            {"update_seconds", update_seconds},
            {"wall_seconds", wall_seconds},
            {"total_update_seconds", total_update_seconds},
            {"total_tokens", total_tokens},
            {"total_flops", total_flops},
            {"update_flops", update_flops},
            {"loss_curve", loss_curve},
            {"window_loss", window_loss},
            {"window_tokens", window_tokens},
            {"bad_validations", bad_validations},
            {"validated_step", validated_step},
            {"world", world},
            {"best", best},
            {"best_value", best_value},
            {"schedule", schedule}};
  }
  static LoopState from_json(const json& j) {
    LoopState s;
    s.step = j.at("step");
    s.epoch = j.at("epoch");
    s.next_batch = j.at("next_batch");
    s.loss_sum = j.at("loss_sum");
    s.loss_tokens = j.at("loss_tokens");
    s.updates = j.at("updates");
    s.update_seconds = j.at("update_seconds");
    s.wall_seconds = j.at("wall_seconds");
    s.total_update_seconds = j.at("total_update_seconds");
    s.total_tokens = j.at("total_tokens");
    s.total_flops = j.value("total_flops", 0.0);  // absent in checkpoints of earlier versions
    s.update_flops = j.value("update_flops", 0.0);
    if (j.contains("loss_curve")) s.loss_curve = j["loss_curve"];
    s.window_loss = j.value("window_loss", 0.0);
    s.window_tokens = j.value("window_tokens", int64_t{0});
    s.bad_validations = j.at("bad_validations");
    s.validated_step = j.at("validated_step");
    s.world = j.value("world", 1);
    s.best = j.at("best");
    s.best_value = j.value("best_value", json());
    s.schedule = j.at("schedule");
    return s;
  }
};

// Why a run whose state is `s` has nothing left to do under `t`, or "".
std::string finished_reason(const LoopState& s, const TrainConfig& t) {
  if (t.max_steps > 0 && s.step >= t.max_steps) return "train.max_steps = " + std::to_string(t.max_steps) + " reached";
  if (t.max_epochs > 0 && s.epoch >= t.max_epochs)
    return "train.max_epochs = " + std::to_string(t.max_epochs) + " reached";
  if (t.max_minutes > 0 && s.wall_seconds >= t.max_minutes * 60.0)
    return "train.max_minutes = " + fmt::format("{:g}", t.max_minutes) + " reached";
  if (t.patience > 0 && s.bad_validations >= t.patience)
    return "stopped early: train.patience = " + std::to_string(t.patience) + " validations without improvement";
  return "";
}

// A validation loss per token above 3 ln(V) + 10 nats has exploded: an
// untrained model that spreads its probability evenly scores ln(V), and the
// 10 nats leave room for a passing spike on a small vocabulary.
double exploded_loss(int64_t vocab) { return 3.0 * std::log(static_cast<double>(vocab)) + 10.0; }

class Loop {
 public:
  Loop(const Config& c, const TrainOptions& o) : c_(c), o_(o), dir_(o.run_dir) {}
  TrainResult run() {
    try {
      return run_loop();
    } catch (const WriteError& e) {
      // Say where training stands: the files written before are intact.
      throw WriteError(std::string(e.what()) + "; training stopped at step " + std::to_string(s_.step) + "; " +
                       saved_so_far() + (last_saved_step_ >= 0 ? " (free space, then --resume)" : ""));
    }
  }

 private:
  TrainResult run_loop();
  // Lock, data, vocabularies, model, optimiser: fresh or from last.ckpt.
  // False when a resumed run had already finished (result_ says so).
  bool setup();
  struct Step {
    bool interrupt = false, time_up = false;
  };
  // One update on the training pairs `rows`: loss, (all-reduce), backward, clip, step, counters.
  Step update(const std::vector<int>& rows, Clock::time_point wall0, double wall_before);
  void report_progress();  // the observer's status line (rank 0)
  TrainResult finish();    // validate the final model if needed, best.ckpt, summary.json
  json validate();
  bool validation_round();  // validate, log, checkpoint; true = stop early
  void save_last();
  void keep_best(double value);
  void check_diverged(double loss, const char* what) const;
  double lr_now() const { return schedule_->lr_at(s_.step, budget_used()); }
  double budget_used() const {  // share of max_steps or max_minutes spent, whichever is further
    const auto& t = c_.train;
    double by_steps = t.max_steps > 0 ? static_cast<double>(s_.step) / t.max_steps : 0.0;
    double by_time = t.max_minutes > 0 ? s_.wall_seconds / (t.max_minutes * 60.0) : 0.0;
    return std::max(by_steps, by_time);
  }
  void prepare_run_dir();  // refuse or clear earlier checkpoints (not --resume)
  std::string saved_so_far() const;  // what is on disk, for messages after a failure

  Config c_;
  TrainOptions o_;
  RunDir dir_;
  TextModel text_;
  Seq2Seq model_{nullptr};
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<Schedule> schedule_;
  Corpus train_, valid_;
  std::vector<GoldAlignment> valid_gold_;  // empty without data.valid_align
  LoopState s_;
  TrainResult result_;
  std::unique_ptr<DataParallel> dp_;
  std::unique_ptr<RunLock> lock_;
  std::unique_ptr<TrainingPlots> plots_;  // made at the first validation
  int64_t last_saved_step_ = -1;
  bool main_ = true;  // rank 0, which alone validates and writes files
  int world_ = 1, rank_ = 0;
};

json Loop::validate() {
  auto& m = *model_;
  ForcedScores fs = score_corpus(m, valid_.examples, c_.decode.batch_size, o_.device, !valid_gold_.empty());
  SearchOptions so = search_options(c_.decode);
  so.beam = 1, so.nbest = 1, so.length_penalty = 0;  // validation BLEU is greedy: cheap, and comparable over runs
  so.keep_attention = c_.train.dump_sentences > 0;     // valid_attention.jsonl
  auto hyps = decode_corpus(m, valid_.examples, so, c_.decode.batch_size, o_.device);
  std::vector<std::string> hyp_text;
  std::vector<int> src_len;
  for (size_t i = 0; i < hyps.size(); ++i) {
    hyp_text.push_back(text_.detokenize(hyps[i][0].tokens));
    src_len.push_back(static_cast<int>(valid_.examples[i].src.size()));
  }
  json tm = translation_metrics(hyp_text, valid_.tgt_text, src_len);
  json v = validation_metric_values({fs, hyp_text, valid_.tgt_text, tm});
  if (m.decoder->has_attention()) {
    json e = fs.entropy.to_json();
    v["attention_entropy"] = fs.entropy.mean();
    v["attention_entropy_normalised"] = fs.entropy.mean_normalised();
    json bands = json::object();
    for (const auto& b : e["bands"]) bands[b["band"].get<std::string>()] = b["share"];
    v["attention_entropy_bands"] = bands;
    if (!valid_gold_.empty()) {  // alignment quality from forced decoding, as evaluate reports it
      json a = forced_alignment_metrics(fs.attention, valid_gold_, 0);
      v["valid_aer"] = a["aer"];
      v["valid_aer_shift1"] = a["aer_by_shift"]["1"];
      v["valid_alignment_accuracy"] = a["alignment_accuracy"];
      v["valid_alignment_accuracy_shift1"] = a["alignment_accuracy_by_shift"]["1"];
    }
    // A fixed handful of validation sentences, so attention can be watched sharpening.
    std::vector<AttentionRecord> recs;
    for (int i = 0; i < std::min<int>(c_.train.dump_sentences, static_cast<int>(hyps.size())); ++i) {
      AttentionRecord r = attention_record(i, valid_.src_tokens[i], text_, hyps[i][0]);
      if (r.weights.defined()) recs.push_back(r);
    }
    std::string lines;
    std::vector<json> records;
    for (const auto& r : recs) {
      json j = r.to_json();
      j["step"] = s_.step;
      lines += j.dump() + "\n";
      records.push_back(std::move(j));
    }
    append_file(dir_.valid_attention(), lines);
    if (plots_)
      for (const auto& j : records) plots_->add_attention(j);
  }
  return v;
}

void Loop::save_last() {
  s_.schedule = schedule_->state();
  save_checkpoint(dir_.last(), *model_, opt_.get(), c_, text_, s_.to_json());
  result_.last_checkpoint = dir_.last();
  last_saved_step_ = s_.step;
}

void Loop::keep_best(double value) {
  int keep = c_.train.keep_best;
  if (keep <= 0) return;
  json best = s_.best;
  const ValidationMetric& metric = metric_named(c_.train.metric);
  bool enters = static_cast<int>(best.size()) < keep || metric.better(value, best.back()["metric"].get<double>());
  if (!enters) return;
  std::string path = dir_.checkpoint("best-step" + std::to_string(s_.step) + ".ckpt");
  json entry = {{"metric", value}, {"step", s_.step}, {"path", path}};
  size_t pos = 0;
  while (pos < best.size() && !metric.better(value, best[pos]["metric"].get<double>())) ++pos;
  best.insert(best.begin() + static_cast<long>(pos), entry);
  json evicted = json::array();
  while (static_cast<int>(best.size()) > keep) {
    evicted.push_back(best.back()["path"]);
    best.erase(best.size() - 1);
  }
  // The new file first: if it cannot be written, the kept ones are all still there.
  LoopState with_new = s_;
  with_new.best = best;
  with_new.schedule = schedule_->state();
  save_checkpoint(path, *model_, opt_.get(), c_, text_, with_new.to_json());
  s_.best = best;
  for (const auto& e : evicted) fs::remove(e.get<std::string>());
  if (pos == 0) {
    // best.ckpt: the top one, replaced atomically. A hard link costs no disk
    // space (copying needs as much again); where links are refused, copy.
    std::string tmp = dir_.checkpoint("best.ckpt.tmp");
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_hard_link(path, tmp, ec);
    if (ec) {
      try {
        write_file_atomic(tmp, read_file(path));
      } catch (const DataError& e) {
        throw WriteError(e.what());
      }
    }
    fs::rename(tmp, dir_.best());
  }
}

void Loop::check_diverged(double loss, const char* what) const {
  double limit = exploded_loss(text_.tgt_vocab.size());
  if (std::isfinite(loss) && loss <= limit) return;
  throw DivergedError(fmt::format(
      "training diverged at step {}: {} is {:.4g} nats per token{}; nothing from this model was saved; {}. "
      "Lower train.lr (now {:g}) or set train.clip",
      s_.step, what, loss,
      std::isfinite(loss) ? fmt::format(" (an untrained model scores {:.2f}; the limit is {:.2f})",
                                        std::log(static_cast<double>(text_.tgt_vocab.size())), limit)
                          : "",
      saved_so_far(), c_.train.lr));
}

std::string Loop::saved_so_far() const {
  std::string s = last_saved_step_ >= 0 ? "checkpoints/last.ckpt holds step " + std::to_string(last_saved_step_)
                                        : "no checkpoint of this run was written";
  if (!s_.best.empty()) s += ", checkpoints/best.ckpt step " + s_.best.front()["step"].dump();
  return s;
}

void Loop::prepare_run_dir() {
  std::vector<std::string> found;
  fs::path dir = dir_.checkpoints();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".ckpt") found.push_back(e.path().filename().string());
  std::sort(found.begin(), found.end());
  if (!found.empty() && !o_.overwrite)
    throw CheckpointError(o_.run_dir + ": holds checkpoints of an earlier run (" + join(found, ", ") +
                          "); continue it with --resume, start again with --overwrite (deletes them), or give "
                          "another --run-dir");
  if (!found.empty()) spdlog::warn("{}: --overwrite: deleting {}", o_.run_dir, join(found, ", "));
  for (const auto& f : found) fs::remove(dir / f);
  for (const auto& f : {dir_.metrics(), dir_.valid_attention(), dir_.summary()}) fs::remove(f);
}

bool Loop::validation_round() {
  const auto& t = c_.train;
  const auto started = Clock::now();
  json v = validate();
  model_->train();
  check_diverged(v.at("valid_loss").get<double>(), "the validation loss");
  const double lr_used = lr_now();  // before a plateau schedule lowers it for the next updates
  const ValidationMetric& metric = metric_named(t.metric);
  double value = v.at(metric.key);
  // Compared with the best value so far (not with the kept checkpoints:
  // keep_best may be 0).
  bool better = s_.best_value.is_null() || metric.better(value, s_.best_value.get<double>());
  if (better) s_.best_value = value;
  schedule_->on_validation(value, better);
  s_.bad_validations = better ? 0 : s_.bad_validations + 1;
  json line = {{"format", "attn.metrics/3"},  // docs/formats.md
               {"step", s_.step},
               {"epoch", s_.epoch + 1},  // 1-based, as the log counts
               {"lr", lr_used},
               {"train_loss", s_.loss_tokens ? s_.loss_sum / static_cast<double>(s_.loss_tokens) : 0.0},
               {"tokens_per_sec", s_.update_seconds > 0 ? s_.loss_tokens / s_.update_seconds : 0.0},
               {"model_gflops_per_sec", s_.update_seconds > 0 ? s_.update_flops / s_.update_seconds / 1e9 : 0.0},
               {"train_loss_curve", s_.loss_curve},  // the running train loss at each log step since the last line
               {"wall_seconds", s_.wall_seconds}};
  line.update(v);
  s_.loss_sum = 0;
  s_.loss_tokens = 0;
  s_.updates = 0;
  s_.update_seconds = 0;
  s_.update_flops = 0;
  s_.loss_curve = {{"step", json::array()}, {"train_loss", json::array()}};
  s_.validated_step = s_.step;
  // loss.svg, entropy.svg, valid_attention.html: up to date at every
  // validation. The files are read once (a resumed run's earlier lines),
  // then each validation adds only its own, so it costs the same at update
  // 100 and 100,000 (validation_seconds shows it).
  if (!plots_) plots_ = std::make_unique<TrainingPlots>(o_.run_dir, c_.output.attention_scale);
  plots_->add_metrics(line);
  plots_->write();
  line["validation_seconds"] = since(started);  // decoding, scoring and plots; checkpoints not included
  keep_best(value);
  save_last();
  append_file(dir_.metrics(), line.dump() + "\n");
  result_.last_validation = line;
  if (better) result_.best_validation = line;
  if (o_.observer) o_.observer->on_validation(line);
  if (t.patience > 0 && s_.bad_validations >= t.patience) {
    spdlog::info("early stopping: {} validations without improvement of {}", s_.bad_validations, t.metric);
    result_.early_stopped = true;
    return true;
  }
  return false;
}

bool Loop::setup() {
  // Before anything is written: one training per run directory.
  if (o_.dist.rank == 0) {
    lock_ = std::make_unique<RunLock>(o_.run_dir);
    // A process killed while writing (kill -9, power loss) leaves NAME.tmp
    // beside an intact NAME; with the lock held, nobody else is writing them.
    std::error_code ec;
    for (const auto& dir : {fs::path(dir_.root()), fs::path(dir_.checkpoints())})
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".tmp") fs::remove(e.path(), ec);
  }
  // Meet the other ranks first: a missing worker fails fast, before any work.
  if (o_.dist.world > 1) dp_ = std::make_unique<DataParallel>(o_.dist);
  main_ = !dp_ || dp_->is_main();
  world_ = dp_ ? dp_->world() : 1, rank_ = dp_ ? dp_->rank() : 0;
  // Rank 0 prepares data and vocabularies; the others wait, then read them.
  if (!main_) dp_->barrier();
  fs::create_directories(dir_.checkpoints());
  c_ = materialise_toy_data(c_, o_.run_dir);
  if (c_.data.train_src.empty() || c_.data.valid_src.empty())
    throw ConfigError({"data: training needs train_src/train_tgt and valid_src/valid_tgt (or data.toy.task)"});

  if (o_.resume) {
    if (!fs::exists(dir_.last()))
      throw CheckpointError(dir_.last() + ": nothing to resume (no last checkpoint in this run directory)");
    Checkpoint ck = load_checkpoint(dir_.last(), o_.device);
    auto diff = incompatibilities(ck.config, c_);
    if (!diff.empty())
      throw CheckpointError(ck.path + ": was trained with another setup: " + diff.front() +
                            (diff.size() > 1 ? " (and " + std::to_string(diff.size() - 1) + " more)" : ""));
    text_ = ck.text;
    model_ = ck.model;
    s_ = LoopState::from_json(ck.trainer_state);
    if (s_.world != world_)
      throw CheckpointError(ck.path + ": was trained by " + std::to_string(s_.world) +
                            " process(es); resume it with the same world size, not " + std::to_string(world_));
    last_saved_step_ = s_.step;
    // A finished run stays as it is: resuming it again and again must not
    // train more updates or rewrite its checkpoints.
    result_.already_finished = finished_reason(s_, c_.train);
    if (!result_.already_finished.empty()) {
      result_.steps = s_.step;
      result_.last_checkpoint = ck.path;
      if (!s_.best.empty()) result_.best_checkpoint = dir_.best();
      if (dp_) dp_->barrier();  // let the other ranks load it and find the same
      return false;
    }
    spdlog::info("resuming {} at step {}, epoch {}", ck.path, s_.step, s_.epoch);
  } else {
    if (main_) prepare_run_dir();
    ReadStats st;
    auto pairs = read_parallel(c_.data.train_src, c_.data.train_tgt, c_.data.skip_empty, &st);
    text_ = build_text_model(c_, pairs, o_.run_dir, /*reuse_existing=*/!main_);
    if (main_) {
      // Human-readable copies; the checkpoint holds the authoritative ones.
      write_file_atomic(dir_.vocab("src"), join(text_.src_vocab.tokens(), "\n") + "\n");
      write_file_atomic(dir_.vocab("tgt"), join(text_.tgt_vocab.tokens(), "\n") + "\n");
    }
    torch::manual_seed(static_cast<uint64_t>(c_.train.seed));
    model_ = Seq2Seq(c_.model, text_.src_vocab.size(), text_.tgt_vocab.size());
    model_->to(o_.device);
    s_.world = world_;
  }
  if (main_) write_file_atomic(dir_.config(), config_to_json(c_).dump(2) + "\n");
  if (dp_) {
    if (main_) dp_->barrier();
    dp_->broadcast(model_->parameters());  // every rank starts from rank 0's weights
  }
  ReadStats tst, vst;
  train_ = load_corpus(c_.data.train_src, c_.data.train_tgt, text_, c_.data.skip_empty, c_.data.max_src_len,
                       c_.data.max_tgt_len, &tst);
  valid_ = load_corpus(c_.data.valid_src, c_.data.valid_tgt, text_, c_.data.skip_empty, 0, 0, &vst);
  if (train_.examples.empty())
    throw DataError(c_.data.train_src + ": no usable training pairs (" +
                    describe_drops(tst, c_.data.max_src_len, c_.data.max_tgt_len) + ")");
  if (valid_.examples.empty())
    throw DataError(c_.data.valid_src + ": no usable validation pairs (" + describe_drops(vst, 0, 0) + ")");
  if (!c_.data.valid_align.empty())
    valid_gold_ = gold_for_examples(c_.data.valid_align, valid_.examples);
  if (tst.empty) spdlog::warn("{}: skipped {} pairs with an empty side", c_.data.train_src, tst.empty);
  if (vst.empty) spdlog::warn("{}: skipped {} pairs with an empty side", c_.data.valid_src, vst.empty);
  if (tst.too_long)
    spdlog::info("{}: dropped {} of {} pairs longer than {} source / {} target tokens", c_.data.train_src,
                 tst.too_long, tst.lines, c_.data.max_src_len, c_.data.max_tgt_len);

  result_.parameters = model_->parameter_count();
  spdlog::info("model {} ({} attention): {} parameters; vocab {} src / {} tgt; {} train, {} valid pairs{}",
               c_.model.type, attends(c_.model) ? c_.model.attention.score : "no", result_.parameters,
               text_.src_vocab.size(), text_.tgt_vocab.size(), train_.size(), valid_.size(),
               world_ > 1 ? fmt::format("; rank {} of {}", rank_, world_) : "");

  opt_ = make_optimizer(c_.train, model_->parameters());
  schedule_ = std::make_unique<Schedule>(c_.train);
  if (o_.resume) {
    if (main_) restore_training_state(dir_.last(), *opt_);
    else restore_optimizer_state(dir_.last(), *opt_);
    schedule_->restore(s_.schedule);
  }
  return true;
}

Loop::Step Loop::update(const std::vector<int>& rows, Clock::time_point wall0, double wall_before) {
  const auto& t = c_.train;
  auto u0 = Clock::now();
  Batch b = make_batch(train_.examples, rows).to(o_.device);
  ++s_.step;
  // Dropout masks differ between ranks. Rank 0's generator is in the
  // checkpoint; the others draw from a seed per (rank, step), so a resumed
  // run draws exactly what the uninterrupted one did.
  if (!main_) torch::manual_seed(static_cast<uint64_t>(t.seed) + 7919ULL * rank_ + static_cast<uint64_t>(s_.step));
  opt_->zero_grad();
  LossOutput l = model_->loss(b, t.label_smoothing, t.entropy_lambda);
  s_.wall_seconds = wall_before + since(wall0);
  Step st;
  st.interrupt = stop_requested().load() || (o_.stop_at_step > 0 && s_.step >= o_.stop_at_step);
  st.time_up = t.max_minutes > 0 && s_.wall_seconds >= t.max_minutes * 60.0;
  double tokens = static_cast<double>(l.tokens), nll = l.nll_sum;
  int64_t batch_tokens = b.tgt_tokens;
  double flops = train_flops(model_->config, model_->tgt_vocab, b);
  torch::Tensor loss = l.loss;
  if (dp_) {
    // One small all-reduce: global token count (so the update is that of
    // the union of all ranks' batches), loss for the log, stop flags.
    auto g = dp_->all_reduce_sum({tokens, nll, st.interrupt ? 1.0 : 0.0, st.time_up ? 1.0 : 0.0,
                                  static_cast<double>(batch_tokens), flops, main_ ? s_.wall_seconds : 0.0});
    loss = loss * (tokens / std::max(g[0], 1.0));
    tokens = g[0], nll = g[1], st.interrupt = g[2] > 0, st.time_up = g[3] > 0;
    batch_tokens = static_cast<int64_t>(g[4]);
    flops = g[5];
    s_.wall_seconds = g[6];  // rank 0's clock, so a time-based schedule gives every rank the same lr
  }
  opt_->set_lr(lr_now());
  // Same on every rank (nll is summed over ranks): all stop together.
  if (!std::isfinite(nll)) check_diverged(nll / std::max(tokens, 1.0), "the training loss");
  loss.backward();
  if (dp_) dp_->all_reduce_gradients(model_->parameters());
  if (t.clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), t.clip);
  opt_->step();
  double dt = since(u0);
  s_.loss_sum += nll;
  s_.loss_tokens += static_cast<int64_t>(tokens);
  s_.updates += 1;
  s_.update_seconds += dt;
  s_.total_update_seconds += dt;
  s_.total_tokens += batch_tokens;
  s_.total_flops += flops;
  s_.update_flops += flops;
  s_.wall_seconds = wall_before + since(wall0);
  if (main_) {  // rank 0 alone keeps the curve (nll and tokens are already summed over ranks)
    s_.window_loss += nll;
    s_.window_tokens += static_cast<int64_t>(tokens);
  }
  if (main_ && s_.step % std::max(1, t.log_every) == 0 && s_.window_tokens) {
    // The mean over the updates since the previous point, so the curve does not jump at validations.
    s_.loss_curve["step"].push_back(s_.step);
    s_.loss_curve["train_loss"].push_back(s_.window_loss / static_cast<double>(s_.window_tokens));
    s_.window_loss = 0;
    s_.window_tokens = 0;
  }
  return st;
}

void Loop::report_progress() {
  const auto& t = c_.train;
  TrainProgress p;
  p.step = s_.step;
  p.max_steps = t.max_steps;
  p.epoch = s_.epoch;
  p.loss = s_.loss_tokens ? s_.loss_sum / static_cast<double>(s_.loss_tokens) : 0.0;
  p.tokens_per_sec = s_.total_update_seconds > 0 ? static_cast<double>(s_.total_tokens) / s_.total_update_seconds : 0;
  p.gflops_per_sec = s_.total_update_seconds > 0 ? s_.total_flops / s_.total_update_seconds / 1e9 : 0;
  p.lr = lr_now();
  p.steps_to_valid = t.valid_every - s_.step % t.valid_every;
  if (t.max_steps > 0) p.steps_to_valid = std::min(p.steps_to_valid, t.max_steps - s_.step);  // the last one comes at the end
  p.eta_valid_sec = s_.updates ? s_.update_seconds / static_cast<double>(s_.updates) * p.steps_to_valid : 0;
  o_.observer->on_progress(p);
}

TrainResult Loop::run_loop() {
  if (!setup()) return result_;
  BatchPlanOptions bo;
  bo.batch_size = c_.data.batch_size;
  bo.batch_tokens = c_.data.batch_tokens;
  bo.seed = static_cast<uint64_t>(c_.train.seed);
  const auto& t = c_.train;
  auto wall0 = Clock::now();
  double wall_before = s_.wall_seconds;
  model_->train();
  // Every rank plans the same batches (same seed); rank r takes every
  // world-th batch from position r, so one update covers `world` batches.
  std::vector<std::vector<int>> plan = plan_batches(train_.examples, bo, s_.epoch);
  if (static_cast<int>(plan.size()) < world_)
    throw DataError(c_.data.train_src + ": " + std::to_string(plan.size()) + " batches cannot feed " +
                    std::to_string(world_) + " processes");
  if (main_)
    spdlog::info("epoch {}: {} batches, padding {:.1f}%", s_.epoch + 1, plan.size(),
                 100.0 * padding_ratio(train_.examples, plan));
  while (true) {
    if (s_.next_batch + world_ > static_cast<int64_t>(plan.size())) {
      ++s_.epoch;
      s_.next_batch = 0;
      if (t.max_epochs > 0 && s_.epoch >= t.max_epochs) break;
      plan = plan_batches(train_.examples, bo, s_.epoch);
    }
    const auto& rows = plan[static_cast<size_t>(s_.next_batch + rank_)];
    s_.next_batch += world_;
    Step st = update(rows, wall0, wall_before);
    if (o_.observer && main_) report_progress();

    bool out_of_budget = (t.max_steps > 0 && s_.step >= t.max_steps) || st.time_up;
    if (s_.step % t.valid_every == 0 || out_of_budget) {
      bool early = main_ ? validation_round() : false;
      if (dp_) {
        // Rank 0 decides for all: early stopping, and the learning rate a
        // plateau schedule may just have lowered (ranks must step alike).
        auto d = dp_->all_reduce_sum({early ? 1.0 : 0.0, main_ ? lr_now() : 0.0});
        early = d[0] > 0;
        if (!main_) schedule_->restore({{"lr", d[1]}, {"bad", 0}});
      }
      if (early) break;
    }
    if (out_of_budget) break;
    if (st.interrupt) {
      if (main_) save_last();
      result_.interrupted = true;
      break;
    }
  }
  return finish();
}

TrainResult Loop::finish() {
  result_.steps = s_.step;
  result_.train_seconds = s_.total_update_seconds;
  result_.tokens_per_sec = s_.total_update_seconds > 0 ? static_cast<double>(s_.total_tokens) / s_.total_update_seconds : 0;
  result_.gflops_per_sec = s_.total_update_seconds > 0 ? s_.total_flops / s_.total_update_seconds / 1e9 : 0;
  if (!main_) return result_;  // rank 0 alone validates and writes files
  // The budget may end between validations (max_epochs): validate the final model too.
  if (!result_.interrupted && !result_.early_stopped && s_.validated_step != s_.step && s_.step > 0)
    validation_round();
  if (result_.best_validation.is_null() && !s_.best.empty()) {
    // resumed run whose best came before the restart
    result_.best_validation = json{{"step", s_.best.front()["step"]}};
  }
  if (!s_.best.empty()) result_.best_checkpoint = dir_.best();
  if (result_.last_checkpoint.empty()) save_last();
  const ValidationMetric& metric = metric_named(c_.train.metric);
  json summary = {{"steps", result_.steps},
                  {"train_seconds", result_.train_seconds},
                  {"wall_seconds", s_.wall_seconds},
                  {"tokens_per_sec", result_.tokens_per_sec},
                  {"model_gflops_per_sec", result_.gflops_per_sec},
                  {"parameters", result_.parameters},
                  {"world_size", world_},
                  {"interrupted", result_.interrupted},
                  {"early_stopped", result_.early_stopped},
                  {"best_checkpoint", result_.best_checkpoint},
                  {"metric", {{"name", metric.name},
                              {"key", metric.key},
                              {"lower_is_better", metric.lower_is_better},
                              {"best", s_.best_value}}},
                  {"last_validation", result_.last_validation}};
  write_file_atomic(dir_.summary(), summary.dump(2) + "\n");
  return result_;
}

}  // namespace

TrainResult train(const Config& config, const TrainOptions& opts) {
  Loop loop(config, opts);
  return loop.run();
}

}  // namespace attn
