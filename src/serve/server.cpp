#include "serve/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "serve/api.h"
#include "util/errors.h"

namespace attn::serve {

using nlohmann::json;

namespace {

const std::vector<std::string>& known_routes() {
  static const std::vector<std::string> r = {"/", "/health", "/metrics", "/v1/models", "/v1/translate", "/v1/score",
                                             "/translator/translate"};
  return r;
}

std::string route_label(const std::string& path) {
  for (const auto& r : known_routes())
    if (r == path) return r;
  return "other";
}

void answer_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json({{"error", message}}).dump() + "\n", "application/json");
}

bool is_wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

// "name:port" or "[v6]:port" into name and port (-1 when absent).
void split_host(const std::string& h, std::string& name, int& port) {
  port = -1;
  std::string rest;
  if (!h.empty() && h[0] == '[') {
    auto close = h.find(']');
    name = h.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    rest = close == std::string::npos ? "" : h.substr(close + 1);
  } else {
    auto colon = h.rfind(':');
    name = h.substr(0, colon);
    rest = colon == std::string::npos ? "" : h.substr(colon);
  }
  if (rest.size() > 1 && rest[0] == ':') {
    try {
      port = std::stoi(rest.substr(1));
    } catch (const std::exception&) {
      port = -2;
    }
  }
}

}  // namespace

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Server::Server(ServeConfig config) : config_(std::move(config)), http_(std::make_unique<httplib::Server>()) {
  const size_t threads = static_cast<size_t>(config_.threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(static_cast<size_t>(config_.max_body_kb) * 1024);
  auto secs = [](double s) { return std::chrono::microseconds(static_cast<int64_t>(s * 1e6)); };
  http_->set_read_timeout(secs(config_.read_timeout));
  http_->set_write_timeout(secs(config_.write_timeout));
  // An idle kept-alive connection is closed after the read timeout too
  // (whole seconds: what the library takes).
  http_->set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(std::lround(config_.read_timeout))));
  // SO_REUSEADDR only: the library's default adds SO_REUSEPORT, with which a
  // second server binds a port already in use and steals half its requests.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof yes);
  });
  http_->set_tcp_nodelay(true);  // small answers, one at a time: no Nagle delay
  // The library closes a kept-alive connection after 5 requests by default;
  // its clients reconnecting through a listen backlog of 5 stall for seconds.
  http_->set_keep_alive_max_count(1000000);
  routes();
}

Server::~Server() = default;

int Server::bind() {
  const std::string& h = config_.host;
  if (config_.port == 0) {
    port_ = http_->bind_to_any_port(h);
    if (port_ <= 0) throw DataError("cannot listen on " + h + " (serve.host): no free port");
  } else {
    if (!http_->bind_to_port(h, config_.port))
      throw DataError("cannot listen on " + h + ":" + std::to_string(config_.port) +
                      " (serve.port): in use, or not an address of this machine");
    port_ = config_.port;
  }
  return port_;
}

void Server::listen() { http_->listen_after_bind(); }

void Server::attach(TranslationService* service) { service_.store(service); }

void Server::stop() { http_->stop(); }

bool Server::running() const { return http_->is_running(); }

bool Server::host_allowed(const std::string& host) const {
  if (is_wildcard(config_.host)) return true;  // reachable under any name; the start-up warning says so
  std::string name;
  int port = -1;
  split_host(host, name, port);
  if (port == -1) port = 80;
  if (port != port_) return false;
  if (name == config_.host || name == "localhost") return true;
  return is_loopback(config_.host) && (name == "127.0.0.1" || name == "::1");
}

void Server::routes() {
  // Every request is first checked for where it comes from: a Host that is
  // not this server's name (DNS rebinding), a page of another origin, or a
  // POST that a form of another site could send without a preflight.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string host = req.get_header_value("Host");
    if (!host_allowed(host)) {
      answer_error(res, 403, "Host: \"" + host + "\" is not this server's address (" + config_.host + ":" +
                                 std::to_string(port_) + " or localhost)");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Origin") && req.get_header_value("Origin") != "http://" + host) {
      answer_error(res, 403, "Origin: \"" + req.get_header_value("Origin") +
                                 "\": requests from other origins are not served (no CORS)");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "POST") {
      const std::string type = req.get_header_value("Content-Type");
      if (type.rfind("application/json", 0) != 0) {
        answer_error(res, 415, "Content-Type: expected application/json, got \"" + type + "\"");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_->set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                        httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413)
      answer_error(res, 413, "body: larger than " + std::to_string(config_.max_body_kb) + " KiB (serve.max_body_kb)");
    else if (res.status == 404)
      answer_error(res, 404, "no route " + req.method + " " + req.path +
                                 " (GET /, /health, /metrics, /v1/models; POST /v1/translate, /v1/score, "
                                 "/translator/translate)");
    else if (res.status == 400)
      answer_error(res, 400, "a malformed or incomplete HTTP request");
    else
      answer_error(res, res.status, "HTTP " + std::to_string(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    answer_error(res, 500, what);
  });
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.answered(route_label(req.path), res.status);
  });

  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    // The page may talk to this server only: the browser enforces it.
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                   "img-src data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(explorer_page(), "text/html; charset=utf-8");
  });
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    TranslationService* s = service_.load();
    json j = {{"status", s ? "ok" : "loading"}};
    if (s) {
      json names = json::array();
      for (const auto& m : s->models()) names.push_back(m.name);
      j["models"] = names;
    }
    res.status = s ? 200 : 503;
    res.set_content(j.dump() + "\n", "application/json");
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    TranslationService* s = service_.load();
    res.set_content(metrics_.prometheus(s ? s->queue_depth() : 0), "text/plain; version=0.0.4");
  });
  http_->Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    TranslationService* s = service_.load();
    if (!s) return answer_error(res, 503, "the models are still loading");
    res.set_content(models_answer(*s, config_).dump() + "\n", "application/json");
  });

  // A POST route: parse, queue, wait (bounded), answer.
  using MakeJob = std::function<std::shared_ptr<Job>(const json&, const TranslationService&, const ServeConfig&)>;
  using Answer = std::function<json(const Job&, const TranslationService&)>;
  auto post = [this](const std::string& path, MakeJob make, Answer answer) {
    http_->Post(path, [this, path, make, answer](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = Clock::now();
      TranslationService* s = service_.load();
      try {
        if (!s) throw ApiError(503, "the models are still loading");
        auto job = make(parse_body(req.body), *s, config_);
        auto timeout = std::chrono::microseconds(static_cast<int64_t>(config_.request_timeout * 1e6));
        job->deadline = t0 + timeout;
        auto done = job->done.get_future();
        if (!s->submit(job)) {
          res.set_header("Retry-After", "1");
          throw ApiError(503, "the queue is full (serve.queue_limit " + std::to_string(config_.queue_limit) +
                                  " sentences); try again shortly");
        }
        if (done.wait_until(job->deadline) != std::future_status::ready) {
          job->abandoned = true;
          throw ApiError(504, "no answer within " + std::to_string(config_.request_timeout) +
                                  " s (serve.request_timeout)");
        }
        if (job->status != 200) throw ApiError(job->status, job->error);
        res.set_content(answer(*job, *s).dump() + "\n", "application/json");
      } catch (const ApiError& e) {
        answer_error(res, e.status(), e.what());
      }
      metrics_.latency(path, std::chrono::duration<double>(Clock::now() - t0).count());
    });
  };
  post("/v1/translate", translate_job, translate_answer);
  post("/v1/score", score_job, score_answer);
  post("/translator/translate", onmt_job, onmt_answer);
}

}  // namespace attn::serve
