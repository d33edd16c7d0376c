// `attn serve`: models loaded once and answered over HTTP (serve/).
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "app/translator.h"
#include "cli/common.h"
#include "serve/server.h"
#include "serve/service.h"
#include "train/trainer.h"
#include "util/errors.h"

namespace attn::cli {

namespace {

// A model's name from its checkpoint's path: the run directory for
// RUN/checkpoints/X.ckpt, else the file's stem.
std::string name_from_path(const std::string& path) {
  std::filesystem::path p(path);
  if (p.parent_path().filename() == "checkpoints" && !p.parent_path().parent_path().filename().empty())
    return p.parent_path().parent_path().filename().string();
  return p.stem().string();
}

struct NamedModel {
  std::string name;
  std::vector<std::string> paths;
};

// --model NAME=CKPT[,CKPT...] and --checkpoint CKPT...: what to serve.
std::vector<NamedModel> parse_models(const std::vector<std::string>& specs, const std::vector<std::string>& ckpts) {
  std::vector<NamedModel> out;
  std::vector<std::string> problems;
  for (const auto& s : specs) {
    auto eq = s.find('=');
    NamedModel m;
    m.name = eq == std::string::npos ? "" : s.substr(0, eq);
    std::string list = eq == std::string::npos ? "" : s.substr(eq + 1);
    for (size_t a = 0; a <= list.size();) {
      size_t b = list.find(',', a);
      if (b == std::string::npos) b = list.size();
      if (b > a) m.paths.push_back(list.substr(a, b - a));
      a = b + 1;
    }
    if (m.name.empty() || m.paths.empty() ||
        m.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string::npos) {
      problems.push_back("--model " + s + ": expected NAME=CKPT[,CKPT...] with a NAME of letters, digits, . _ -");
      continue;
    }
    for (const auto& o : out)
      if (o.name == m.name) problems.push_back("--model " + s + ": the name \"" + m.name + "\" is given twice");
    out.push_back(m);
  }
  if (!ckpts.empty()) out.insert(out.begin(), NamedModel{name_from_path(ckpts.front()), ckpts});
  if (out.empty()) problems.push_back("serve: give --model NAME=CKPT[,CKPT...] or --checkpoint CKPT");
  if (!problems.empty()) throw ConfigError(problems);
  return out;
}

}  // namespace

void add_serve(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("serve", "Serve models over HTTP: JSON API, batching across clients, the explorer page");
  sub->footer(
      "Examples:\n"
      "  attn serve --checkpoint runs/toy_reverse/checkpoints/best.ckpt\n"
      "  attn serve --model bahdanau=runs/a/checkpoints/best.ckpt --model bottleneck=runs/b/checkpoints/best.ckpt\n"
      "  attn serve --model ens=a/best.ckpt,b/best.ckpt --port 0      # an ensemble; a free port, logged\n"
      "  curl -s localhost:8080/v1/translate -H 'Content-Type: application/json' -d '{\"src\": \"a b c\"}'\n"
      "Open http://127.0.0.1:8080/ for the attention explorer. API: docs/serve.md.\n"
      "--threads here is HTTP connections served at once; the models run on one inference thread\n"
      "(its intra-op threads: attn --threads N serve ...).");
  struct Opts {
    std::vector<std::string> models, checkpoints;
    std::string config, device = "cpu", host;
    int port = -1, threads = 0, max_batch = 0, queue_limit = 0, max_lines = 0, max_src_tokens = 0, max_body_kb = 0;
    double max_wait_ms = -1, request_timeout = 0;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--model", o->models, "NAME=CKPT[,CKPT...]: a model to serve (a comma list: an ensemble); repeatable");
  sub->add_option("--checkpoint", o->checkpoints, "checkpoint(s) of one model, named after its run directory");
  sub->add_option("--config", o->config, "JSON config whose serve and decode sections apply");
  sub->add_option("--host", o->host, "address to listen on (default 127.0.0.1: this machine only)");
  sub->add_option("--port", o->port, "TCP port (default 8080; 0: a free one, logged)")->check(in_range(0, 65535));
  sub->add_option("--threads", o->threads, "HTTP threads: connections served at once (default 64)")
      ->check(in_range(1, 4096));
  sub->add_option("--max-batch", o->max_batch, "sentences decoded together at most (default 64)")
      ->check(in_range(1, 100000));
  sub->add_option("--max-wait-ms", o->max_wait_ms, "wait at most this long for the last batch's clients to come back (default 5)")
      ->check(in_range(0.0, 10000.0));
  sub->add_option("--queue-limit", o->queue_limit, "sentences waiting at most, then 503 (default 1024)")
      ->check(in_range(1, 10000000));
  sub->add_option("--max-lines", o->max_lines, "lines in one request at most (default 64)")->check(in_range(1, 100000));
  sub->add_option("--max-src-tokens", o->max_src_tokens, "tokens in one source line at most (default 200)")
      ->check(in_range(1, 100000));
  sub->add_option("--max-body-kb", o->max_body_kb, "request body limit in KiB, then 413 (default 1024)")
      ->check(in_range(1, 1048576));
  sub->add_option("--request-timeout", o->request_timeout, "seconds a request may wait for its answer, then 504")
      ->check(in_range(0.001, 86400.0));
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N");
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      auto named = parse_models(o->models, o->checkpoints);
      ServeConfig cfg;
      DecodeConfig decode;
      bool decode_given = false;
      if (!o->config.empty()) {
        Config c = load_config_with(o->config, {}, g);
        cfg = c.serve;
        decode = c.decode;
        decode_given = true;
      }
      if (!o->host.empty()) cfg.host = o->host;
      if (o->port >= 0) cfg.port = o->port;
      if (o->threads) cfg.threads = o->threads;
      if (o->max_batch) cfg.max_batch = o->max_batch;
      if (o->max_wait_ms >= 0) cfg.max_wait_ms = o->max_wait_ms;
      if (o->queue_limit) cfg.queue_limit = o->queue_limit;
      if (o->max_lines) cfg.max_lines = o->max_lines;
      if (o->max_src_tokens) cfg.max_src_tokens = o->max_src_tokens;
      if (o->max_body_kb) cfg.max_body_kb = o->max_body_kb;
      if (o->request_timeout > 0) cfg.request_timeout = o->request_timeout;
      const torch::Device device = resolve_device(o->device);

      // Bind first: a port in use is an error at once, before any loading;
      // /health answers 503 until the models are in.
      serve::Server server(cfg);
      const int port = server.bind();
      install_stop_handlers();
      std::thread http([&server] { server.listen(); });
      // Until the listener runs, a stop() would be lost and join() wait forever.
      for (int i = 0; i < 5000 && !server.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      struct Joiner {
        serve::Server& s;
        std::thread& t;
        ~Joiner() {
          s.stop();
          if (t.joinable()) t.join();
        }
      } joiner{server, http};

      std::vector<TranslationModel> models;
      std::string names;
      for (const auto& n : named) {
        models.push_back(load_translation_model(n.paths, device, n.name));
        if (decode_given)
          for (auto& ck : models.back().checkpoints) ck.config.decode = decode;
        names += (names.empty() ? "" : ", ") + n.name + " (" + models.back().summary + ")";
      }
      serve::ServiceLimits limits{cfg.max_batch, cfg.max_wait_ms, cfg.queue_limit, cfg.max_src_tokens};
      serve::TranslationService service(std::move(models), limits, &server.metrics());
      server.attach(&service);
      const std::string shown = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
      if (!serve::is_loopback(cfg.host))
        spdlog::warn("listening on {}, not loopback: anyone who can reach port {} can use these models", cfg.host,
                     port);
      spdlog::info("listening on http://{}:{}, models: {}", shown, port, names);

      while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      spdlog::info("stopping: no new connections; answering the requests in flight (at most {} s)",
                   cfg.shutdown_timeout);
      // Bounded: a request stuck past the limit must not keep the process alive.
      std::thread([t = cfg.shutdown_timeout] {
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(t * 1e6)));
        std::fprintf(stderr, "error: requests still in flight after %.3g s (serve.shutdown_timeout); exiting\n", t);
        std::_Exit(kRuntimeError);
      }).detach();
      server.stop();
      if (http.joinable()) http.join();
      server.attach(nullptr);
      service.stop();
      spdlog::info("stopped");
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
