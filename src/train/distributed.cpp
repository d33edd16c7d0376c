#include "train/distributed.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <c10/util/Logging.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace attn {

std::pair<std::string, int> parse_master(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) throw DistError("--master " + s + ": expected HOST:PORT");
  int port = 0;
  try {
    port = std::stoi(s.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port <= 0 || port > 65535) throw DistError("--master " + s + ": port must be 1-65535");
  return {s.substr(0, colon), port};
}

int free_local_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    throw DistError("cannot find a free port on 127.0.0.1");
  }
  close(fd);
  return ntohs(a.sin_port);
}

namespace {

// c10d and Gloo log through glog, which on its own prints "WARNING: Logging
// before InitGoogleLogging()" and an "E... socket.cpp" line ahead of attn's
// own one-line error. Keep them for --log-level debug only.
void quiet_torch_logging() {
  int level = spdlog::get_level() <= spdlog::level::debug ? 0 : 3;  // 3: fatal only
#ifdef C10_USE_GLOG
  FLAGS_minloglevel = level;
#else
  FLAGS_caffe2_log_level = level;
#endif
}

}  // namespace

DataParallel::DataParallel(const DistOptions& o)
    : rank_(o.rank), world_(o.world), master_(o.master), timeout_s_(o.timeout_s) {
  quiet_torch_logging();
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world)
    throw DistError("rank " + std::to_string(o.rank) + " is not in a world of " + std::to_string(o.world));
  if (o.backend != "gloo")
    throw DistError("backend \"" + o.backend + "\" is not available in this CPU build (use gloo)");
  auto [host, port] = parse_master(o.master);
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank_ == 0;
  so.numWorkers = static_cast<size_t>(world_);
  so.waitWorkers = false;  // waiting here and again in Gloo's rendezvous took twice the timeout
  so.timeout = timeout;
  try {
    store_ = c10::make_intrusive<c10d::TCPStore>(host, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    opts->threads = 1;
    pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank_, world_, opts);
  } catch (const std::exception& e) {
    std::string w = e.what();
    throw DistError("rank " + std::to_string(rank_) + ": could not form a group of " + std::to_string(world_) +
                    " at " + o.master + " within " + std::to_string(static_cast<int>(o.timeout_s)) +
                    " s (a worker did not start or connect): " + w.substr(0, w.find('\n')));
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::run(const std::string& what, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string w = e.what();
    throw DistError("rank " + std::to_string(rank_) + ": " + what + " failed (a worker died or stalled for over " +
                    std::to_string(static_cast<int>(timeout_s_)) + " s): " + w.substr(0, w.find('\n')));
  }
}

void DataParallel::broadcast(std::vector<torch::Tensor> tensors) {
  run("broadcast", [&] {
    torch::NoGradGuard ng;
    for (auto& t : tensors) {
      std::vector<at::Tensor> v = {t.data()};
      pg_->broadcast(v)->wait();
    }
  });
}

void DataParallel::all_reduce_gradients(const std::vector<torch::Tensor>& params, double bucket_mib) {
  run("gradient all-reduce", [&] {
    torch::NoGradGuard ng;
    size_t limit = static_cast<size_t>(bucket_mib * 1024 * 1024 / sizeof(float));
    std::vector<torch::Tensor> bucket;
    size_t n = 0;
    auto flush = [&] {
      if (bucket.empty()) return;
      std::vector<torch::Tensor> flat;
      for (auto& g : bucket) flat.push_back(g.reshape(-1));
      std::vector<at::Tensor> buf = {torch::cat(flat)};
      pg_->allreduce(buf)->wait();
      int64_t off = 0;
      for (auto& g : bucket) {
        g.copy_(buf[0].narrow(0, off, g.numel()).view_as(g));
        off += g.numel();
      }
      bucket.clear();
      n = 0;
    };
    for (const auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      bucket.push_back(p.grad());
      n += static_cast<size_t>(p.numel());
      if (n >= limit) flush();
    }
    flush();
  });
}

std::vector<double> DataParallel::all_reduce_sum(const std::vector<double>& values) {
  std::vector<double> out;
  run("all-reduce", [&] {
    std::vector<at::Tensor> t = {torch::tensor(values, torch::kDouble)};
    pg_->allreduce(t)->wait();
    out.assign(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
  });
  return out;
}

void DataParallel::barrier() {
  run("barrier", [&] { pg_->barrier()->wait(); });
}

}  // namespace attn
