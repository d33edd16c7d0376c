// Typed configuration: every section is a struct with defaults, and one
// `visit` method that lists its fields once. Reading, writing and the
// annotated defaults are all visitors over that one list, so they can't drift.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn {

using json = nlohmann::json;

// Thrown with every problem found, each a line "path: what is wrong".
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Names of the model types and attention scores (config/registry.h).
std::vector<std::string> model_type_names();
std::vector<std::string> attention_score_names();
std::vector<std::string> metric_names();  // validation metrics (config/registry.h)

struct ToyConfig {
  std::string task;  // empty: no toy corpus, read data.train_src etc.
  int n_train = 20000, n_valid = 500, n_test = 1000;
  int min_len = 5, max_len = 30;
  int test_min_len = 5, test_max_len = 50;
  int vocab = 20;
  int seed = 1;
  template <class V> void visit(V& v) {
    v.choice("task", task, {"", "copy", "reverse", "sort", "toy-translate"},
             "toy task to generate; empty to read the files below");
    v.num("n_train", n_train, 1, 10000000, "training pairs");
    v.num("n_valid", n_valid, 1, 1000000, "validation pairs");
    v.num("n_test", n_test, 1, 1000000, "test pairs");
    v.num("min_len", min_len, 1, 1000, "shortest training source");
    v.num("max_len", max_len, 1, 1000, "longest training source");
    v.num("test_min_len", test_min_len, 1, 1000, "shortest test source");
    v.num("test_max_len", test_max_len, 1, 1000, "longest test source (longer than max_len tests extrapolation)");
    v.num("vocab", vocab, 2, 100000, "toy vocabulary size");
    v.num("seed", seed, 0, 2147483647, "generator seed (same seed, same bytes)");
  }
};

struct SpmConfig {
  std::string model_type = "unigram";
  int vocab_size = 8000;
  bool joint = true;
  double character_coverage = 1.0;
  std::string model, src_model, tgt_model;
  template <class V> void visit(V& v) {
    v.choice("model_type", model_type, {"unigram", "bpe"}, "sentencepiece algorithm");
    v.num("vocab_size", vocab_size, 16, 1000000, "pieces per model");
    v.flag("joint", joint, "one model for source and target");
    v.num("character_coverage", character_coverage, 0.5, 1.0, "share of characters covered");
    v.text("model", model, "joint: a trained .model file to use instead of training one (e.g. another run's spm/joint.model)");
    v.text("src_model", src_model, "separate: the source side's trained .model file");
    v.text("tgt_model", tgt_model, "separate: the target side's trained .model file");
  }
};

struct DataConfig {
  std::string train_src, train_tgt, valid_src, valid_tgt, valid_align, test_src, test_tgt, test_align;
  std::string src_vocab, tgt_vocab;
  bool joint_vocab = false;
  ToyConfig toy;
  std::string tokenizer = "whitespace";
  SpmConfig spm;
  int vocab_min_freq = 1;
  int vocab_max_size = 0;
  int max_src_len = 100, max_tgt_len = 100;
  bool skip_empty = true;
  int batch_size = 64;
  int batch_tokens = 0;
  template <class V> void visit(V& v) {
    v.text("train_src", train_src, "training source text (.gz allowed)");
    v.text("train_tgt", train_tgt, "training target text");
    v.text("valid_src", valid_src, "validation source text");
    v.text("valid_tgt", valid_tgt, "validation target text");
    v.text("valid_align", valid_align, "gold alignments of the validation set (Pharaoh): AER during training");
    v.text("test_src", test_src, "test source text (compare/evaluate)");
    v.text("test_tgt", test_tgt, "test target text");
    v.text("test_align", test_align, "gold alignments of the test set, Pharaoh format");
    v.text("src_vocab", src_vocab, "whitespace: source vocabulary file, one token per line (a run's vocab.src.txt)");
    v.text("tgt_vocab", tgt_vocab, "whitespace: target vocabulary file (a run's vocab.tgt.txt)");
    v.flag("joint_vocab", joint_vocab, "whitespace: one vocabulary counted over both sides (tie_embeddings all)");
    v.section("toy", toy, "synthetic corpus generated into the run directory");
    v.choice("tokenizer", tokenizer, {"whitespace", "spm"}, "whitespace vocabulary or sentencepiece");
    v.section("spm", spm, "sentencepiece training, when tokenizer is spm");
    v.num("vocab_min_freq", vocab_min_freq, 1, 1000000, "whitespace vocab: minimum count");
    v.num("vocab_max_size", vocab_max_size, 0, 10000000, "whitespace vocab: size cap, 0 = none");
    v.num("max_src_len", max_src_len, 1, 10000, "drop training pairs with longer sources (tokens)");
    v.num("max_tgt_len", max_tgt_len, 1, 10000, "drop training pairs with longer targets (tokens)");
    v.flag("skip_empty", skip_empty, "skip empty lines with a warning; false: error");
    v.num("batch_size", batch_size, 1, 100000, "sentences per batch (when batch_tokens is 0)");
    v.num("batch_tokens", batch_tokens, 0, 10000000, "target tokens per batch, 0 = use batch_size");
  }
};

struct AttentionConfig {
  std::string score = "additive";
  double temperature = 1.0;
  double dropout = 0.0;
  bool coverage = false;
  int window = 5;
  int max_src_len = 128;
  template <class V> void visit(V& v) {
    v.choice("score", score, attention_score_names(),
             "how a decoder state is scored against each source state (additive = Bahdanau; dot, general, concat, "
             "location = Luong global; local-m/p = Luong local)");
    v.num("temperature", temperature, 1e-6, 1e6, "scores are divided by this before the softmax");
    v.num("dropout", dropout, 0.0, 0.99, "dropout on attention weights (training only)");
    v.flag("coverage", coverage, "feed cumulative attention into the score (bahdanau decoder)");
    v.num("window", window, 1, 1000, "local attention half-width D (Gaussian sigma D/2)");
    v.num("max_src_len", max_src_len, 1, 100000, "longest source the location score supports");
  }
};

struct ModelConfig {
  std::string type = "bahdanau";
  int emb = 64;
  int hidden = 128;
  int enc_layers = 1;
  int dec_hidden = 256;
  int readout = 0;
  bool maxout = false;
  bool input_feeding = true;
  double dropout = 0.1;
  std::string tie_embeddings = "none";
  AttentionConfig attention;
  template <class V> void visit(V& v) {
    v.choice("type", type, model_type_names(),
             "decoder: Bahdanau RNNsearch, Luong, or fixed-bottleneck (no attention)");
    v.num("emb", emb, 1, 100000, "embedding size (source and target)");
    v.num("hidden", hidden, 1, 100000, "encoder GRU size per direction");
    v.num("enc_layers", enc_layers, 1, 16, "encoder layers (bidirectional)");
    v.num("dec_hidden", dec_hidden, 1, 100000, "decoder GRU size");
    v.num("readout", readout, 0, 100000, "deep-output size (bahdanau/bottleneck), 0 = emb");
    v.flag("maxout", maxout, "maxout (pool 2) in the deep output instead of tanh");
    v.flag("input_feeding", input_feeding, "luong: feed the attentional state to the next step");
    v.num("dropout", dropout, 0.0, 0.99, "dropout on embeddings and outputs");
    v.choice("tie_embeddings", tie_embeddings, {"none", "decoder", "all"},
             "decoder: output layer = target embedding (needs its input size == emb); all: the source "
             "embedding too (needs a joint vocabulary)");
    v.section("attention", attention, "attention mechanism (ignored by bottleneck)");
  }
};

struct TrainConfig {
  std::string optimizer = "adam";
  double lr = 1e-3;
  double momentum = 0.9;
  double clip = 1.0;
  std::string schedule = "constant";
  int warmup = 1000;
  double decay_factor = 0.5;
  int decay_patience = 2;
  double min_lr = 1e-6;
  int max_steps = 10000;
  int max_epochs = 0;
  double max_minutes = 0;
  int valid_every = 500;
  int log_every = 50;
  int patience = 0;
  int keep_best = 1;
  std::string metric = "loss";
  double label_smoothing = 0.0;
  double entropy_lambda = 0.0;
  int dump_sentences = 5;
  int seed = 42;
  std::string device = "cpu";
  std::string dist_backend = "gloo";
  double dist_timeout = 300;
  template <class V> void visit(V& v) {
    v.choice("optimizer", optimizer, {"adam", "sgd", "adadelta"}, "optimiser");
    v.num("lr", lr, 0.0, 100.0, "learning rate; if not given, the optimiser's own: adam 0.001, sgd 0.1, adadelta 1.0");
    v.num("momentum", momentum, 0.0, 0.999, "sgd momentum");
    v.num("clip", clip, 0.0, 1e9, "gradient-norm clipping, 0 = off");
    v.choice("schedule", schedule, {"constant", "plateau", "inverse_sqrt", "linear"},
             "learning-rate schedule (linear: warm up, then fall to min_lr at the end of max_steps / max_minutes)");
    v.num("warmup", warmup, 0, 100000000, "inverse_sqrt, linear: warm-up steps");
    v.num("decay_factor", decay_factor, 0.01, 1.0, "plateau: multiply lr by this");
    v.num("decay_patience", decay_patience, 0, 1000, "plateau: validations without improvement");
    v.num("min_lr", min_lr, 0.0, 100.0, "plateau: floor; linear: the lr at the end of the budget");
    v.num("max_steps", max_steps, 0, 2000000000, "stop after this many updates, 0 = no limit");
    v.num("max_epochs", max_epochs, 0, 1000000, "stop after this many epochs, 0 = no limit");
    v.num("max_minutes", max_minutes, 0.0, 1e7, "stop after this much wall time, 0 = no limit");
    v.num("valid_every", valid_every, 1, 100000000, "validate every N updates");
    v.num("log_every", log_every, 1, 100000000, "log a line every N updates");
    v.num("patience", patience, 0, 100000, "early stopping: validations without improvement, 0 = off");
    v.num("keep_best", keep_best, 0, 1000, "best checkpoints kept");
    v.choice("metric", metric, metric_names(),
             "validation metric for best/plateau/early stop (accuracy: teacher-forced tokens)");
    v.num("label_smoothing", label_smoothing, 0.0, 0.99, "label smoothing epsilon");
    v.num("entropy_lambda", entropy_lambda, -100.0, 100.0, "loss += lambda * mean attention entropy");
    v.num("dump_sentences", dump_sentences, 0, 1000, "validation sentences whose attention is dumped");
    v.num("seed", seed, 0, 2147483647, "random seed");
    v.text("device", device, "cpu, cuda or cuda:N (CUDA needs a LibTorch built with it)");
    v.choice("dist_backend", dist_backend, {"gloo", "nccl"}, "data-parallel backend (nccl: CUDA builds)");
    v.num("dist_timeout", dist_timeout, 1.0, 86400.0,
          "data-parallel: seconds to wait for a peer (connect, or a step; > a validation's time)");
  }
};

struct DecodeConfig {
  int beam = 1;
  double length_penalty = 0.0;
  double max_len_ratio = 2.0;
  int max_len_add = 10;
  int batch_size = 64;
  int nbest = 1;
  template <class V> void visit(V& v) {
    v.num("beam", beam, 1, 1000, "beam size, 1 = greedy");
    v.num("length_penalty", length_penalty, 0.0, 10.0, "GNMT alpha: score / ((5+len)/6)^alpha");
    v.num("max_len_ratio", max_len_ratio, 0.1, 100.0, "max output length = ratio * source length + add");
    v.num("max_len_add", max_len_add, 0, 10000, "see max_len_ratio");
    v.num("batch_size", batch_size, 1, 100000, "sentences decoded together");
    v.num("nbest", nbest, 1, 1000, "hypotheses printed per sentence (<= beam)");
  }
};

struct OutputConfig {
  std::string run_dir = "runs/default";
  int dump_attention = 10;
  std::string attention_scale = "linear";
  template <class V> void visit(V& v) {
    v.text("run_dir", run_dir, "where logs, checkpoints and reports go");
    v.num("dump_attention", dump_attention, 0, 1000000, "sentences drawn in attention.html");
    v.choice("attention_scale", attention_scale, {"linear", "sqrt"},
             "colour of a map cell: linear in the weight, or sqrt (weights under 0.05 stay visible)");
  }
};

// `attn serve`: where it listens and what it allows. Flags override these.
struct ServeConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 64;
  int max_batch = 64;
  double max_wait_ms = 5;
  int queue_limit = 1024;
  int max_lines = 64;
  int max_src_tokens = 200;
  int max_body_kb = 1024;
  int max_beam = 50;
  double request_timeout = 30;
  double read_timeout = 5;
  double write_timeout = 5;
  double shutdown_timeout = 10;
  template <class V> void visit(V& v) {
    v.text("host", host, "address to listen on; anything but loopback lets anyone who reaches the port use it");
    v.num("port", port, 0, 65535, "TCP port, 0 = a free one (logged)");
    v.num("threads", threads, 1, 4096, "HTTP threads (connections served at once; they never run a model)");
    v.num("max_batch", max_batch, 1, 100000, "sentences the inference side decodes together at most");
    v.num("max_wait_ms", max_wait_ms, 0.0, 10000.0,
          "how long the inference side waits for the clients its last batch answered, when fewer sentences are "
          "queued than that batch held (0 = never; a single client never waits)");
    v.num("queue_limit", queue_limit, 1, 10000000, "sentences waiting at most; beyond it requests get 503");
    v.num("max_lines", max_lines, 1, 100000, "source lines in one request at most");
    v.num("max_src_tokens", max_src_tokens, 1, 100000, "tokens in one source line at most (400 beyond)");
    v.num("max_body_kb", max_body_kb, 1, 1048576, "request body size limit in KiB (413 beyond)");
    v.num("max_beam", max_beam, 1, 1000, "largest beam a request may ask for");
    v.num("request_timeout", request_timeout, 0.001, 86400.0, "seconds a request may wait for its answer (504)");
    v.num("read_timeout", read_timeout, 0.001, 3600.0, "seconds a client may take to send a request");
    v.num("write_timeout", write_timeout, 0.001, 3600.0, "seconds a client may take to read an answer");
    v.num("shutdown_timeout", shutdown_timeout, 0.0, 3600.0,
          "SIGINT/SIGTERM: seconds to finish the requests in flight");
  }
};

// One model of an `attn compare` run: a name and changes to the base model.
struct CompareModel {
  std::string name;
  json model = json::object();
};

struct CompareConfig {
  std::vector<CompareModel> models;
  int parallel = 1;
};

struct Config {
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  DecodeConfig decode;
  OutputConfig output;
  ServeConfig serve;
  CompareConfig compare;
};

// Parse and validate; throws ConfigError listing every problem.
Config config_from_json(const json& j);
// The config a checkpoint stored, read so that it outlives later versions'
// rules: unknown sections and keys (an older or newer version's), and values
// outside sections other than `model` that a rule now refuses, are warnings
// (the default is kept); cross-field rules are not checked again (they were
// when it trained, and the weights are checked against the model section).
// Only a model value it cannot take is an error.
Config config_from_stored_json(const json& j, std::vector<std::string>& warnings);
Config load_config(const std::string& path);
json config_to_json(const Config& c);
// Complete default config, one `// comment` per key (we parse comments too).
std::string annotated_defaults();
// Apply "a.b.c=value" overrides (value parsed as JSON, else as string).
void apply_overrides(json& j, const std::vector<std::string>& sets);
// The model config of one compare entry: base model with the entry's changes.
ModelConfig compare_model(const Config& c, const CompareModel& m);
// Closest candidate by edit distance, or "" if none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "cpu", "cuda" or "cuda:N": the device names attn accepts (whether this
// build and machine have it is checked when it is used).
bool valid_device(const std::string& device);

// "bahdanau, additive attention", "luong, general attention, input feeding",
// "bottleneck (no attention)": what pages and plots name a model by.
std::string model_summary(const ModelConfig& m);

}  // namespace attn
