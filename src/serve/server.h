// `attn serve`'s HTTP side, on cpp-httplib (Debian's shared build: every
// limit is set through its runtime setters). Routes parse and answer JSON;
// the models are reached only through the TranslationService's queue.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "serve/metrics.h"
#include "serve/service.h"

namespace httplib {
class Server;
}

namespace attn::serve {

class Server {
 public:
  explicit Server(ServeConfig config);
  ~Server();
  // Binds host:port (port 0: a free one) and returns the port; DataError
  // naming the address when it cannot.
  int bind();
  // Answers requests until stop(); call bind() first. Routes other than
  // /health and /metrics answer 503 until attach() gives them a service.
  void listen();
  void attach(TranslationService* service);
  // Stops accepting; requests in flight are answered before listen() returns.
  void stop();
  int port() const { return port_; }
  // Whether listen() has begun answering (stop() before that would be lost).
  bool running() const;
  ServeMetrics& metrics() { return metrics_; }

 private:
  void routes();
  bool host_allowed(const std::string& host) const;

  ServeConfig config_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<TranslationService*> service_{nullptr};
  ServeMetrics metrics_;
  int port_ = 0;
};

// The explorer page (GET /): HTML with its CSS and JavaScript inline.
const std::string& explorer_page();

// Whether host is a loopback address ("127.x.y.z", "::1", "localhost").
bool is_loopback(const std::string& host);

}  // namespace attn::serve
