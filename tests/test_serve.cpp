// `attn serve` over a real socket: the binary is started on a free port and
// talked to as a client would (cpp-httplib's client, raw sockets for the
// misbehaving ones).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "app/translator.h"
#include "serve/api.h"
#include "serve/service.h"
#include "test_util.h"

using namespace attn;
using json = nlohmann::json;
using attn::test::run_attn;
using attn::test::TempDir;
using attn::test::read_text;
using attn::test::write_text;

namespace {

// A small reverse model (and a bottleneck) trained once for every test here.
struct Models {
  TempDir dir;
  std::string bahdanau, bottleneck;
  Models() {
    auto train = [&](const std::string& name, const std::string& type) {
      write_text(dir.path(name + ".json"), R"({"data": {"toy": {"task": "reverse", "n_train": 2000, "n_valid": 50,
        "n_test": 50, "min_len": 3, "max_len": 8, "test_min_len": 3, "test_max_len": 8, "vocab": 10}},
        "model": {"type": ")" + type + R"(", "emb": 16, "hidden": 32, "dec_hidden": 32},
        "train": {"max_steps": 300, "valid_every": 300}})");
      auto r = run_attn("--log-level warn train --config " + dir.path(name + ".json") + " --run-dir " +
                        dir.path(name));
      EXPECT_EQ(r.code, 0) << r.err;
      return dir.path(name + "/checkpoints/best.ckpt");
    };
    bahdanau = train("bahdanau", "bahdanau");
    bottleneck = train("bottleneck", "bottleneck");
  }
};
Models& models() {
  static Models m;
  return m;
}

// `attn serve ARGS --port 0` as a child process; the port read off its log.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& args) {
    log_ = dir_.path("serve.log");
    pid_ = fork();
    if (pid_ == 0) {
      std::string cmd = "exec " + std::string(ATTN_BINARY) + " serve --port 0 " + args + " 2>" + log_ + " >/dev/null";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const std::regex ready(R"(listening on http://127\.0\.0\.1:(\d+))");
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until) {
      std::smatch m;
      std::string text = read_text(log_);
      if (std::regex_search(text, m, ready)) {
        port = std::stoi(m[1]);
        return;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "attn serve exited before it was ready: " << text;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "attn serve not ready in 60 s: " << read_text(log_);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  // SIGTERM, then the exit code (-1: killed by a signal or not in time).
  int terminate(int seconds = 30) {
    kill(pid_, SIGTERM);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < until) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string log() const { return read_text(log_); }
  int port = 0;

 private:
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
};

httplib::Result post(httplib::Client& c, const std::string& path, const json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

// The error message of a 4xx/5xx answer.
std::string error_of(const httplib::Result& r) {
  if (!r) return "(no answer)";
  try {
    return json::parse(r->body).at("error").get<std::string>();
  } catch (const std::exception&) {
    return "(not a JSON error: " + r->body + ")";
  }
}

// Raw bytes to the server; what it answers until it closes (or `wait_s`).
std::string raw_exchange(int port, const std::string& bytes, double wait_s, bool close_early = false) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "(cannot connect)";
  }
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string got;
  if (!close_early) {
    timeval tv{static_cast<time_t>(wait_s), static_cast<suseconds_t>((wait_s - std::floor(wait_s)) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got;
}

// Two translate answers agree: the same text, tokens, links and source
// pieces, and numbers within 1e-5 (BLAS rounds a row differently in
// batches of different sizes, by a few float ulps; docs/serve.md).
void expect_same_answer(const json& a, const json& b, const std::string& where = "") {
  ASSERT_EQ(a.type(), b.type()) << where;
  if (a.is_number_float() || b.is_number_float()) {
    // + 1.5e-5: weights are rounded to 1e-5, so a tiny difference can move one a step.
    EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-5 * std::max(1.0, std::abs(a.get<double>())) + 1.5e-5)
        << where;
  } else if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << where << a.dump() << b.dump();
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << where << "." << it.key();
      expect_same_answer(it.value(), b[it.key()], where + "." + it.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (size_t i = 0; i < a.size(); ++i) expect_same_answer(a[i], b[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

const std::vector<std::string> kSentences = {"a b c d", "e f g", "a a b b c", "j i h g f e", "c", "d e f g h i j",
                                             "b d f h", "a c e g i", "f f e e d", "g h"};

}  // namespace

// Every route answers, in the shapes docs/serve.md gives.
TEST(Serve, EveryRouteAnswers) {
  ServerProcess s("--model rev=" + models().bahdanau + " --model bottleneck=" + models().bottleneck);
  ASSERT_GT(s.port, 0);
  EXPECT_NE(s.log().find("models: rev (bahdanau, additive attention), bottleneck (bottleneck (no attention))"),
            std::string::npos)
      << s.log();
  auto c = s.client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["models"], json({"rev", "bottleneck"}));

  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  json mj = json::parse(m->body);
  ASSERT_EQ(mj["models"].size(), 2u);
  EXPECT_EQ(mj["models"][0]["name"], "rev");
  EXPECT_EQ(mj["models"][0]["type"], "bahdanau");
  EXPECT_EQ(mj["models"][0]["score"], "additive");
  EXPECT_EQ(mj["models"][0]["checkpoints"][0]["step"], 300);
  EXPECT_EQ(mj["models"][0]["checkpoints"][0]["path"], models().bahdanau);
  EXPECT_GT(mj["models"][0]["parameters"].get<int>(), 1000);
  EXPECT_EQ(mj["models"][1]["has_attention"], false);
  EXPECT_EQ(mj["models"][1]["score"], nullptr);

  // One line, greedy, with attention: the record as alignments.jsonl has it.
  auto t = post(c, "/v1/translate", {{"model", "rev"}, {"src", "a b c d"}, {"attention", true}});
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200) << t->body;
  json tj = json::parse(t->body);
  const json& h = tj["results"][0]["hypotheses"][0];
  EXPECT_EQ(tj["results"][0]["src_tokens"], json({"a", "b", "c", "d"}));
  EXPECT_EQ(h["text"], "d c b a");
  EXPECT_EQ(h["tokens"], json({"d", "c", "b", "a"}));
  const json& a = h["attention"];
  EXPECT_EQ(a["format"], "attn.attention/2");
  EXPECT_EQ(a["source"], json({"a", "b", "c", "d", "</s>"}));
  ASSERT_EQ(a["weights"].size(), 4u);
  for (const auto& row : a["weights"]) {
    double sum = 0;
    for (double w : row) sum += w;
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  EXPECT_EQ(a["eos_weights"].size(), 5u);
  EXPECT_EQ(a["entropy"].size(), 4u);
  EXPECT_EQ(a["entropy_normalised"].size(), 4u);
  EXPECT_EQ(a["entropy_band"].size(), 4u);
  EXPECT_EQ(a["hard_links"].size(), 4u);
  // Per-token log-probabilities: one per token and </s>, summing to the score.
  ASSERT_EQ(h["token_log_probs"].size(), 5u);
  double sum = 0;
  for (double lp : h["token_log_probs"]) sum += lp;
  EXPECT_NEAR(sum, h["log_prob"].get<double>(), 1e-5);

  // Beam with n-best, several lines; an empty line is answered empty.
  auto b = post(c, "/v1/translate", {{"src", {"a b c", "", "d e"}}, {"beam", 4}, {"nbest", 3}});
  ASSERT_TRUE(b);
  ASSERT_EQ(b->status, 200) << b->body;
  json bj = json::parse(b->body);
  ASSERT_EQ(bj["results"].size(), 3u);
  EXPECT_EQ(bj["results"][0]["hypotheses"].size(), 3u);
  EXPECT_EQ(bj["results"][1]["hypotheses"].size(), 0u);
  EXPECT_FALSE(bj["results"][0]["hypotheses"][0].contains("attention"));  // not asked for
  EXPECT_GE(bj["results"][0]["hypotheses"][0]["score"].get<double>(),
            bj["results"][0]["hypotheses"][1]["score"].get<double>());
  for (const auto& hyp : bj["results"][0]["hypotheses"]) {
    double s2 = 0;
    for (double lp : hyp["token_log_probs"]) s2 += lp;
    EXPECT_NEAR(s2, hyp["log_prob"].get<double>(), 1e-4);
  }

  // The bottleneck translates and says it has no attention.
  auto n = post(c, "/v1/translate", {{"model", "bottleneck"}, {"src", "a b c"}, {"attention", true}});
  ASSERT_TRUE(n);
  ASSERT_EQ(n->status, 200);
  json nj = json::parse(n->body);
  EXPECT_EQ(nj["has_attention"], false);
  EXPECT_FALSE(nj["results"][0]["hypotheses"][0].contains("attention"));

  // Forced decoding: its log-probability is what translate's search gave.
  auto sc = post(c, "/v1/score", {{"model", "rev"}, {"src", "a b c d"}, {"tgt", h["text"]}});
  ASSERT_TRUE(sc);
  ASSERT_EQ(sc->status, 200) << sc->body;
  json sj = json::parse(sc->body)["results"][0];
  EXPECT_NEAR(sj["log_prob"].get<double>(), h["log_prob"].get<double>(), 1e-4);
  EXPECT_EQ(sj["tokens"], 5);
  EXPECT_EQ(sj["token_log_probs"].size(), 5u);
  EXPECT_EQ(sj["attention"]["weights"].size(), 4u);
  EXPECT_EQ(sj["tgt_tokens"], json({"d", "c", "b", "a"}));

  // OpenNMT-py's shape.
  auto o = c.Post("/translator/translate", R"([{"src": "a b c d", "id": 0}, {"src": "e f"}])", "application/json");
  ASSERT_TRUE(o);
  ASSERT_EQ(o->status, 200) << o->body;
  json oj = json::parse(o->body);
  ASSERT_EQ(oj.size(), 1u);
  ASSERT_EQ(oj[0].size(), 2u);
  EXPECT_EQ(oj[0][0]["src"], "a b c d");
  EXPECT_EQ(oj[0][0]["tgt"], "d c b a");
  EXPECT_EQ(oj[0][0]["n_best"], 1);
  EXPECT_TRUE(oj[0][0]["pred_score"].is_number());

  // The page, with a policy that lets it reach this server only.
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("connect-src 'self'"), std::string::npos);

  // Metrics count what was asked, in Prometheus's format.
  auto met = c.Get("/metrics");
  ASSERT_TRUE(met);
  EXPECT_NE(met->body.find("attn_requests_total{route=\"/v1/translate\",status=\"200\"} 3"), std::string::npos)
      << met->body;
  EXPECT_NE(met->body.find("attn_request_seconds_bucket{route=\"/v1/translate\",le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(met->body.find("# TYPE attn_batch_sentences histogram"), std::string::npos);
  EXPECT_NE(met->body.find("attn_queue_sentences 0"), std::string::npos);
  EXPECT_NE(met->body.find("attn_sentences_total "), std::string::npos);
}

// Many clients at once: batched together, each answered as if alone.
TEST(Serve, ConcurrentClientsAreBatchedAndGetTheirOneAtATimeAnswers) {
  // A short wait lets batches form however fast this machine decodes.
  ServerProcess s("--checkpoint " + models().bahdanau + " --max-wait-ms 20");
  ASSERT_GT(s.port, 0);
  for (int beam : {1, 3}) {
    std::vector<json> alone;
    auto c = s.client();
    for (const auto& src : kSentences) {
      auto r = post(c, "/v1/translate", {{"src", src}, {"beam", beam}, {"nbest", beam}, {"attention", true}});
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      alone.push_back(json::parse(r->body));
    }
    std::vector<std::future<json>> together;
    for (int round = 0; round < 3; ++round)
      for (const auto& src : kSentences)
        together.push_back(std::async(std::launch::async, [&s, src, beam] {
          auto c = s.client();
          auto r = post(c, "/v1/translate", {{"src", src}, {"beam", beam}, {"nbest", beam}, {"attention", true}});
          return r && r->status == 200 ? json::parse(r->body) : json({{"failed", r ? r->body : "no answer"}});
        }));
    for (size_t i = 0; i < together.size(); ++i)
      expect_same_answer(alone[i % kSentences.size()], together[i].get(), "beam " + std::to_string(beam) + " #" +
                                                                               std::to_string(i));
  }
  // Batches of more than one sentence were decoded: fewer batches than requests.
  auto met = s.client().Get("/metrics");
  ASSERT_TRUE(met);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(met->body, m, std::regex(R"(attn_batch_sentences_count (\d+))")));
  const int batches = std::stoi(m[1]);
  EXPECT_LT(batches, 2 * 10 + 2 * 30) << met->body;
  EXPECT_TRUE(std::regex_search(met->body, m, std::regex(R"(attn_sentences_total (\d+))")));
  EXPECT_EQ(std::stoi(m[1]), 2 * 10 + 2 * 30);
}

// Each bad request gets a 4xx naming the field, and the next one is served.
TEST(Serve, BadRequestsGetAnErrorNamingTheFieldAndServingGoesOn) {
  TempDir d;
  write_text(d.path("serve.json"), R"({"serve": {"max_lines": 4, "max_src_tokens": 12, "max_body_kb": 2,
    "max_beam": 8}})");
  ServerProcess s("--checkpoint " + models().bahdanau + " --config " + d.path("serve.json"));
  ASSERT_GT(s.port, 0);
  auto c = s.client();
  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  const std::string big(3000, 'a');
  const std::vector<Case> cases = {
      {R"({"src": "a b")", 400, "body: malformed JSON"},
      {"{\"src\": \"a \xff\xfe b\"}", 400, "not valid UTF-8"},
      {R"([1, 2])", 400, "body: expected a JSON object"},
      {R"({})", 400, "src: missing"},
      {R"({"src": 5})", 400, "src: expected a string or an array of strings, got a number"},
      {R"({"src": ["a", 3]})", 400, "src[1]: expected a string, got a number"},
      {R"({"src": []})", 400, "src: an empty array"},
      {R"({"src": "a\nb"})", 400, "src: contains a line break"},
      {R"({"src": "a", "model": "nosuch"})", 404, "model: no model \"nosuch\""},
      {R"({"src": "a", "beam": 0})", 400, "beam: expected an integer from 1 to 8, got 0"},
      {R"({"src": "a", "beam": 9})", 400, "beam: expected an integer from 1 to 8, got 9"},
      {R"({"src": "a", "beam": "3"})", 400, "beam: expected an integer from 1 to 8, got a string"},
      {R"({"src": "a", "beam": 2, "nbest": 3})", 400, "nbest: expected an integer from 1 to 2, got 3"},
      {R"({"src": "a", "temperature": 0})", 400, "temperature: expected a number from 0.01 to 100.0, got 0"},
      {R"({"src": "a", "attention": "yes"})", 400, "attention: expected true or false, got a string"},
      {R"({"src": "a", "bem": 2})", 400, "bem: unknown field (expected one of model, src, beam"},
      {R"({"src": ["a", "b", "c", "d", "e"]})", 400, "src: 5 lines; at most 4 in one request (serve.max_lines)"},
      {R"({"src": "a b c d e f g h i j a b c"})", 400, "src: 13 tokens; at most 12 (serve.max_src_tokens)"},
      {R"({"src": ["a", "a b c d e f g h i j a b c"]})", 400, "src[1]: 13 tokens; at most 12"},
      {"{\"src\": \"" + big + "\"}", 413, "body: larger than 2 KiB (serve.max_body_kb)"},
  };
  for (const auto& k : cases) {
    auto r = c.Post("/v1/translate", k.body, "application/json");
    ASSERT_TRUE(r) << k.body;
    EXPECT_EQ(r->status, k.status) << k.body << " -> " << r->body;
    EXPECT_NE(error_of(r).find(k.says), std::string::npos) << k.body << " -> " << error_of(r);
    auto ok = post(c, "/v1/translate", {{"src", "a b"}});
    ASSERT_TRUE(ok) << "after " << k.body;
    EXPECT_EQ(ok->status, 200) << "after " << k.body;
  }
  // Score and OpenNMT-py's route check their fields too.
  auto sc = post(c, "/v1/score", {{"src", {"a", "b"}}, {"tgt", {"a"}}});
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->status, 400);
  EXPECT_NE(error_of(sc).find("tgt: 1 lines for 2 lines of src"), std::string::npos) << error_of(sc);
  auto on = c.Post("/translator/translate", R"([{"src": "a", "id": 7}])", "application/json");
  ASSERT_TRUE(on);
  EXPECT_EQ(on->status, 404);
  EXPECT_NE(error_of(on).find("[0].id: no model 7"), std::string::npos) << error_of(on);
  auto form = c.Post("/v1/translate", R"({"src": "a"})", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  EXPECT_NE(error_of(form).find("Content-Type: expected application/json"), std::string::npos);
  auto none = c.Get("/v1/nothing");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  EXPECT_NE(error_of(none).find("no route GET /v1/nothing"), std::string::npos);
}

// Requests from elsewhere: another Host (DNS rebinding) or another page's origin.
TEST(Serve, RefusesOtherHostsAndOrigins) {
  ServerProcess s("--checkpoint " + models().bahdanau);
  ASSERT_GT(s.port, 0);
  const std::string port = std::to_string(s.port);
  auto c = s.client();
  auto with = [&](const httplib::Headers& h) { return c.Get("/health", h); };
  auto rebound = with({{"Host", "attacker.example:" + port}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  EXPECT_NE(error_of(rebound).find("Host: \"attacker.example:" + port + "\" is not this server's address"),
            std::string::npos);
  auto other_port = with({{"Host", "127.0.0.1:1"}});
  ASSERT_TRUE(other_port);
  EXPECT_EQ(other_port->status, 403);
  for (const std::string& ok : {"localhost:" + port, "127.0.0.1:" + port}) {
    auto r = with({{"Host", ok}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << ok;
  }
  auto cross = c.Post("/v1/translate", {{"Origin", "http://evil.example"}}, R"({"src": "a"})", "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  EXPECT_NE(error_of(cross).find("Origin: \"http://evil.example\""), std::string::npos);
  EXPECT_FALSE(cross->has_header("Access-Control-Allow-Origin"));
  auto same = c.Post("/v1/translate", {{"Origin", "http://127.0.0.1:" + port}}, R"({"src": "a"})", "application/json");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200);
}

// A full queue answers 503 with Retry-After; a request past its time 504.
TEST(Serve, FullQueueIs503AndSlowAnswerIs504) {
  TempDir d;
  // The inference side waits up to 2 s for a fuller batch, so the first
  // request's sentence sits in the queue and fills it.
  write_text(d.path("serve.json"), R"({"serve": {"queue_limit": 1, "max_wait_ms": 2000}})");
  ServerProcess s("--checkpoint " + models().bahdanau + " --config " + d.path("serve.json"));
  ASSERT_GT(s.port, 0);
  auto queued = std::async(std::launch::async, [&] {
    auto c = s.client();
    auto r = post(c, "/v1/translate", {{"src", "a b"}});
    return r ? r->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto c = s.client();
  auto full = post(c, "/v1/translate", {{"src", "a b"}});
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 503) << full->body;
  EXPECT_EQ(full->get_header_value("Retry-After"), "1");
  EXPECT_NE(error_of(full).find("the queue is full"), std::string::npos);
  EXPECT_EQ(queued.get(), 200);

  // A slow job: 64 long lines at beam 30 keep the inference side busy.
  std::string longline;
  for (int i = 0; i < 150; ++i) longline += std::string(i ? " " : "") + static_cast<char>('a' + i % 10);
  json slow = {{"src", std::vector<std::string>(64, longline)}, {"beam", 30}};
  ServerProcess t("--checkpoint " + models().bahdanau + " --request-timeout 0.05");
  ASSERT_GT(t.port, 0);
  auto tc = t.client();
  auto late = post(tc, "/v1/translate", slow);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 504) << late->body;
  EXPECT_NE(error_of(late).find("serve.request_timeout"), std::string::npos);
  // The inference side was already decoding the abandoned job; once it is
  // done, the next request is served within the short limit.
  for (int i = 0; i < 600; ++i) {
    auto met = tc.Get("/metrics");
    if (met && met->body.find("attn_sentences_total 64") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto after = post(tc, "/v1/translate", {{"src", "a b"}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

// Clients that stall or leave cost only their own connection.
TEST(Serve, StalledAndDisconnectedClientsDoNotHoldTheServer) {
  TempDir d;
  write_text(d.path("serve.json"), R"({"serve": {"read_timeout": 0.5}})");
  ServerProcess s("--checkpoint " + models().bahdanau + " --config " + d.path("serve.json"));
  ASSERT_GT(s.port, 0);
  // Headers trickled in and then nothing: cut off after the read timeout,
  // while other clients are answered.
  auto stalled = std::async(std::launch::async, [&] {
    auto t0 = std::chrono::steady_clock::now();
    std::string got = raw_exchange(s.port, "POST /v1/translate HTTP/1.1\r\nHost: localhost\r\n", 10);
    return std::make_pair(got, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
  // A body announced but not sent in full.
  auto half_body = std::async(std::launch::async, [&] {
    return raw_exchange(s.port,
                        "POST /v1/translate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100\r\n\r\n{\"src\":",
                        10);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto c = s.client();
  auto r = post(c, "/v1/translate", {{"src", "a b c"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto [got, secs] = stalled.get();
  EXPECT_LT(secs, 4.0) << got;  // closed by the server (read timeout 0.5 s), not by our 10 s wait
  half_body.get();
  // A client that sends a whole request and leaves before the answer.
  std::string req = "POST /v1/translate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    "Content-Length: 23\r\n\r\n{\"src\": \"a b c d e f\"}\n";
  for (int i = 0; i < 20; ++i) raw_exchange(s.port, req, 0, /*close_early=*/true);
  auto again = post(c, "/v1/translate", {{"src", "a b c"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->body, r->body);
}

// SIGTERM: requests in flight are answered, then the process exits 0.
TEST(Serve, SigtermAnswersRequestsInFlightThenExits0) {
  ServerProcess s("--checkpoint " + models().bahdanau);
  ASSERT_GT(s.port, 0);
  std::string longline;
  for (int i = 0; i < 100; ++i) longline += std::string(i ? " " : "") + static_cast<char>('a' + i % 10);
  auto inflight = std::async(std::launch::async, [&] {
    auto c = s.client();
    auto r = post(c, "/v1/translate", {{"src", std::vector<std::string>(32, longline)}, {"beam", 10}});
    return r ? r->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(s.terminate(), 0) << s.log();
  EXPECT_EQ(inflight.get(), 200);
  EXPECT_NE(s.log().find("stopping"), std::string::npos);
  EXPECT_EQ(raw_exchange(s.port, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", 1), "(cannot connect)");
}

// Start-up mistakes: one line, exit 2 (usage) or 1 (a checkpoint or port).
TEST(Serve, StartUpMistakesAreOneLine) {
  auto none = run_attn("serve");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("error: serve: give --model NAME=CKPT[,CKPT...] or --checkpoint CKPT"), std::string::npos)
      << none.err;
  auto bad = run_attn("serve --model =x.ckpt");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("error: --model =x.ckpt: expected NAME=CKPT"), std::string::npos) << bad.err;
  auto twice = run_attn("serve --model a=" + models().bahdanau + " --model a=" + models().bahdanau);
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("the name \"a\" is given twice"), std::string::npos) << twice.err;
  auto missing = run_attn("serve --port 0 --model a=/nonexistent.ckpt", "", "timeout 60");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no such checkpoint"), std::string::npos) << missing.err;
  ServerProcess s("--checkpoint " + models().bahdanau);
  ASSERT_GT(s.port, 0);
  auto taken = run_attn("serve --port " + std::to_string(s.port) + " --checkpoint " + models().bahdanau, "", "timeout 60");
  EXPECT_EQ(taken.code, 1);
  EXPECT_NE(taken.err.find("error: cannot listen on 127.0.0.1:" + std::to_string(s.port)), std::string::npos)
      << taken.err;
}

// The translator library and `attn translate` give the same results: the
// command line is a thin layer over what the server also calls.
TEST(Serve, TranslateCommandAndLibraryAgree) {
  std::string input;
  for (const auto& l : kSentences) input += l + "\n";
  input += "\n";
  auto greedy = run_attn("--log-level warn translate --checkpoint " + models().bahdanau, input);
  ASSERT_EQ(greedy.code, 0) << greedy.err;
  auto nbest = run_attn("--log-level warn translate --beam 4 --nbest 2 --checkpoint " + models().bahdanau, input);
  ASSERT_EQ(nbest.code, 0) << nbest.err;
  TranslationModel m = load_translation_model({models().bahdanau}, torch::kCPU);
  std::vector<std::string> lines(kSentences);
  lines.push_back("");
  TranslateOptions o;
  o.search = search_options(m.first().config.decode);
  Translator t(m, o, "<stdin>");
  EXPECT_EQ(t.translate(lines, 0), greedy.out);
  o.search.beam = 4;
  o.search.nbest = 2;
  Translator tb(m, o, "<stdin>");
  EXPECT_EQ(tb.translate(lines, 0), nbest.out);
}

// The inference temperature divides the scores: lower is sharper, higher
// flatter, and it is undone after the request.
TEST(Serve, AttentionTemperatureSharpensAndFlattens) {
  TranslationModel m = load_translation_model({models().bahdanau}, torch::kCPU, "rev");
  std::vector<std::vector<std::string>> src = {{"a", "b", "c", "d", "e"}};
  auto mean_entropy = [&](double tau) {
    auto p = score_pairs(m, src, {"e d c b a"}, 8, true, tau);
    auto h = row_entropies(p[0].score.attention);
    double s = 0;
    for (double x : h) s += x;
    return s / static_cast<double>(h.size());
  };
  const double sharp = mean_entropy(0.2), plain = mean_entropy(1.0), flat = mean_entropy(5.0);
  EXPECT_LT(sharp, plain);
  EXPECT_LT(plain, flat);
  EXPECT_GT(flat, 0.9 * std::log(6.0)) << "tau 5 is nearly uniform over 6 positions";
  EXPECT_DOUBLE_EQ(mean_entropy(1.0), plain);  // the scope restored the model
  EXPECT_EQ(m.members[0]->decoder->attention_module()->inference_temperature(), 1.0);
}

namespace {

// The page at `query` in headless Chromium, after its scripts ran: the DOM,
// and what the browser said on stderr (script errors among it).
struct Dom {
  std::string html, log;
};
Dom browse(int port, const std::string& query, const TempDir& d) {
  std::string cmd = std::string("/usr/bin/chromium") +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
                    " --disable-component-update --disable-sync --enable-logging=stderr --v=0 --user-data-dir=" +
                    d.path("profile") + " --virtual-time-budget=10000 --dump-dom 'http://127.0.0.1:" +
                    std::to_string(port) + "/" + query + "' >" + d.path("dom.html") + " 2>" + d.path("chromium.log");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  // The page's own script is in the DOM too: only what it built counts.
  std::string html = read_text(d.path("dom.html"));
  const size_t a = html.find("<script>"), b = html.find("</script>");
  if (a != std::string::npos && b != std::string::npos) html.erase(a, b - a);
  return {html, read_text(d.path("chromium.log"))};
}

int occurrences(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// The mean of the data-h (row entropy) values on the page.
double mean_entropy(const std::string& html) {
  const std::regex h(R"re(data-h="([0-9.eE+-]+)")re");
  double sum = 0;
  int n = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), h), end; it != end; ++it) sum += std::stod((*it)[1]), ++n;
  return n ? sum / n : -1;
}

}  // namespace

// The explorer in a real browser: a deep link draws each model's output,
// map, entropies and colour bar; the temperature moves the entropies; the
// bottleneck says it has no attention; a server error shows in words.
TEST(Serve, ExplorerPageShowsTheModelsLookingInHeadlessChromium) {
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed (scripts/setup.sh --test)";
  ServerProcess s("--model rev=" + models().bahdanau + " --model bottleneck=" + models().bottleneck);
  ASSERT_GT(s.port, 0);
  auto c = s.client();
  // Nothing of the page can reach another origin: no address in it, and a
  // policy that lets it connect to this server only.
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  EXPECT_EQ(page->body.find("<link"), std::string::npos);
  EXPECT_EQ(page->body.find("<script src"), std::string::npos);

  TempDir d;
  auto want = json::parse(post(c, "/v1/translate", {{"model", "rev"}, {"src", "a b c d e"}, {"beam", 3}, {"nbest", 2},
                                                     {"attention", true}})->body)["results"][0]["hypotheses"];
  auto want_b = json::parse(post(c, "/v1/translate", {{"model", "bottleneck"}, {"src", "a b c d e"}, {"beam", 3},
                                                       {"nbest", 2}})->body)["results"][0]["hypotheses"];
  Dom dom = browse(s.port, "?model=rev,bottleneck&src=a+b+c+d+e&beam=3&nbest=2", d);
  EXPECT_EQ(dom.log.find("Uncaught"), std::string::npos) << dom.log;
  const std::string& html = dom.html;
  EXPECT_NE(html.find("data-model=\"rev\""), std::string::npos) << html;
  EXPECT_NE(html.find("data-model=\"bottleneck\""), std::string::npos);
  EXPECT_LT(html.find("data-model=\"rev\""), html.find("data-model=\"bottleneck\""));  // in the link's order
  EXPECT_NE(html.find("<div class=\"output\">" + want[0]["text"].get<std::string>() + "</div>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"output\">" + want_b[0]["text"].get<std::string>() + "</div>"), std::string::npos);
  // One map (the bottleneck has none): (tokens + </s>) rows by (source + </s>) columns.
  const size_t rows = want[0]["tokens"].size() + 1, cols = 6;
  EXPECT_EQ(occurrences(html, "<rect class=\"cell\""), static_cast<int>(rows * cols));
  EXPECT_EQ(occurrences(html, "class=\"ent\""), static_cast<int>(rows));
  EXPECT_EQ(occurrences(html, "class=\"colorbar\""), 1);
  EXPECT_NE(html.find("No attention to show"), std::string::npos);
  EXPECT_EQ(occurrences(html, "role=\"option\""), 4);  // two hypotheses per model
  EXPECT_NE(html.find("aria-label=\"per-token log-probabilities\""), std::string::npos);

  // A lower temperature sharpens the rows, a higher one spreads them.
  const double sharp = mean_entropy(browse(s.port, "?model=rev&src=a+b+c+d+e&tau=0.2", d).html);
  const double plain = mean_entropy(browse(s.port, "?model=rev&src=a+b+c+d+e", d).html);
  const double flat = mean_entropy(browse(s.port, "?model=rev&src=a+b+c+d+e&tau=5", d).html);
  EXPECT_GE(sharp, 0);
  EXPECT_LT(sharp, plain);
  EXPECT_LT(plain, flat);

  // Your own translation: scored, its per-token log-probabilities and map shown.
  Dom own = browse(s.port, "?model=rev&src=a+b+c&tgt=c+b+a", d);
  EXPECT_NE(own.html.find("your translation, as this model would produce it"), std::string::npos) << own.html;
  EXPECT_EQ(occurrences(own.html, "<rect class=\"cell\""), 4 * 4);

  // A server error is shown in words, not as an empty map.
  std::string longsrc;
  for (int i = 0; i < 250; ++i) longsrc += "a+";
  Dom err = browse(s.port, "?model=rev&src=" + longsrc, d);
  EXPECT_NE(err.html.find("<div class=\"error\">src: 250 tokens; at most 200"), std::string::npos) << err.html;
  Dom unknown = browse(s.port, "?model=nosuch&src=a", d);
  EXPECT_NE(unknown.html.find("No model “nosuch” on this server"), std::string::npos) << unknown.html;
}
