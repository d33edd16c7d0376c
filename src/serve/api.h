// The server's JSON API (docs/serve.md): requests checked field by field
// into jobs, results into answers. No sockets here, so every rule can be
// tested on its own.
#pragma once
#include <nlohmann/json.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "config/config.h"
#include "serve/service.h"

namespace attn::serve {

// A request that cannot be served: the HTTP status and a message naming the field.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The body as JSON; ApiError 400 for malformed JSON or text that is not UTF-8.
nlohmann::json parse_body(const std::string& body);

// POST /v1/translate and /v1/score bodies as jobs (deadline not set).
std::shared_ptr<Job> translate_job(const nlohmann::json& body, const TranslationService& service,
                                   const ServeConfig& limits);
std::shared_ptr<Job> score_job(const nlohmann::json& body, const TranslationService& service,
                               const ServeConfig& limits);
// Their answers, once the job is done with status 200.
nlohmann::json translate_answer(const Job& job, const TranslationService& service);
nlohmann::json score_answer(const Job& job, const TranslationService& service);

// OpenNMT-py's REST shape: [{"src": TEXT, "id": MODEL}, ...] and
// [[{"src", "tgt", "n_best", "pred_score"}, ...]].
std::shared_ptr<Job> onmt_job(const nlohmann::json& body, const TranslationService& service,
                              const ServeConfig& limits);
nlohmann::json onmt_answer(const Job& job, const TranslationService& service);

// GET /v1/models.
nlohmann::json models_answer(const TranslationService& service, const ServeConfig& limits);

}  // namespace attn::serve
