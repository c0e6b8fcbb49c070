#include "miner/request_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/clock.h"

namespace agora::miner {

using json = nlohmann::json;

bool NestedPrefixes(const protocol::PredictRequest& r) {
  if (r.prefixes.size() < 2) return false;
  const std::vector<uint32_t>* longest = &r.prefixes[0];
  for (const auto& p : r.prefixes) {
    if (p.size() > longest->size()) longest = &p;
  }
  for (const auto& p : r.prefixes) {
    if (!std::equal(p.begin(), p.end(), longest->begin())) return false;
  }
  return true;
}

json RequestShape(const protocol::PredictRequest& r) {
  json fields = json::array({"prefixes"});
  if (r.top_k != protocol::PredictRequest{}.top_k) fields.push_back("top_k");
  json tokens = json::array();
  for (const auto& p : r.prefixes) tokens.push_back(p.size());
  return {{"kind", "predict"}, {"fields", fields}, {"nested", NestedPrefixes(r)},
          {"prefixes", r.prefixes.size()}, {"tokens", tokens}};
}

json RequestShape(const protocol::GenerateRequest& r) {
  const protocol::GenerateRequest d;
  json fields = json::array();
  if (!r.prompt.empty()) fields.push_back("prompt");
  if (!r.prompt_tokens.empty()) fields.push_back("prompt_tokens");
  if (r.max_tokens != d.max_tokens) fields.push_back("max_tokens");
  if (r.temperature != d.temperature) fields.push_back("temperature");
  if (r.top_k != d.top_k) fields.push_back("top_k");
  if (r.top_p != d.top_p) fields.push_back("top_p");
  if (r.seed != d.seed) fields.push_back("seed");
  if (!r.stop.empty()) fields.push_back("stop");
  if (r.stream != d.stream) fields.push_back("stream");
  json j = {{"kind", "generate"}, {"fields", fields}, {"max_tokens", r.max_tokens}};
  if (!r.prompt.empty()) j["prompt_bytes"] = r.prompt.size();
  if (!r.prompt_tokens.empty()) j["prompt_tokens"] = r.prompt_tokens.size();
  return j;
}

absl::StatusOr<std::unique_ptr<RequestLog>> RequestLog::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("request_log: cannot open ", path, ": ",
                                                   std::strerror(errno)));
  }
  return std::unique_ptr<RequestLog>(new RequestLog(f));
}

RequestLog::~RequestLog() { std::fclose(f_); }

void RequestLog::Append(const PublicKey& sender, json shape) {
  shape["time_ms"] = UnixMillis();
  shape["sender"] = EncodeAddress(sender);
  const std::string line = shape.dump() + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

}  // namespace agora::miner
