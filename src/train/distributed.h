// Data-parallel training across processes with LibTorch's c10d: a TCPStore
// to meet, a Gloo process group to all-reduce. LibTorch has no C++
// DistributedDataParallel, so gradients are flattened into a few buckets,
// all-reduced, and copied back here.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace c10d {
class ProcessGroup;
class Store;
}  // namespace c10d

namespace attn {

class DistError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DistOptions {
  int world = 1;
  int rank = 0;
  std::string master = "127.0.0.1:29500";  // HOST:PORT of rank 0's store
  std::string backend = "gloo";            // nccl: CUDA builds only
  double timeout_s = 300;                  // a missing or dead peer fails after this
};

class DataParallel {
 public:
  // Connects to the other ranks; throws DistError naming who is missing.
  explicit DataParallel(const DistOptions& o);
  ~DataParallel();
  int rank() const { return rank_; }
  int world() const { return world_; }
  bool is_main() const { return rank_ == 0; }

  // Rank 0's values into every rank's tensors (in place).
  void broadcast(std::vector<torch::Tensor> tensors);
  // Sum over ranks of each parameter's gradient, in buckets of about
  // `bucket_mib` (one flat buffer and one all-reduce per bucket).
  void all_reduce_gradients(const std::vector<torch::Tensor>& params, double bucket_mib = 16);
  // Element-wise sum over ranks of a small double vector.
  std::vector<double> all_reduce_sum(const std::vector<double>& values);
  void barrier();

 private:
  void run(const std::string& what, const std::function<void()>& f);
  int rank_, world_;
  std::string master_;
  double timeout_s_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
};

// "host:port" -> (host, port); throws DistError.
std::pair<std::string, int> parse_master(const std::string& s);
// A free TCP port on 127.0.0.1 (for --nproc).
int free_local_port();

}  // namespace attn
