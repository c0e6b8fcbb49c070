#include "cli/query_command.h"

#include <cstdlib>
#include <ostream>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/config_file.h"
#include "validator/receipt.h"

namespace agora::cli {
namespace {

std::string FromEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

absl::Status RunQuery(const ParsedFlags& f, Context& ctx) {
  std::string url = f.Get("gateway", FromEnv("AGORA_GATEWAY_URL"));
  if (url.empty()) url = "http://127.0.0.1:8080";
  const std::string key = f.Get("api-key", FromEnv("AGORA_API_KEY"));
  if (key.empty()) return UsageError("set --api-key or $AGORA_API_KEY");
  int64_t max_tokens = 64;
  double temperature = 1.0;
  for (absl::Status s : {IntFlag<int64_t>(f, "max-tokens", 1, 1024, &max_tokens),
                         RealFlag(f, "temperature", 0, 100, &temperature)}) {
    if (!s.ok()) return s;
  }
  nlohmann::json req = {{"prompt", f.Get("prompt")}, {"max_tokens", max_tokens},
                        {"temperature", temperature}};
  if (f.Has("model")) req["model"] = f.Get("model");

  httplib::Client http(url);
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(60, 0);
  http.set_tcp_nodelay(true);
  httplib::Headers headers = {{"Authorization", "Bearer " + key}};
  httplib::Result res = http.Post("/v1/completions", headers, req.dump(), "application/json");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("gateway ", url, ": ", httplib::to_string(res.error())));
  }
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string message = res->body;
    if (body.is_object() && body.contains("error")) message = body["error"].value("message", res->body);
    return absl::FailedPreconditionError(absl::StrCat("gateway answered ", res->status, ": ", message));
  }
  if (!body.is_object() || !body.contains("choices") || body["choices"].empty() ||
      !body.contains("agora_receipt")) {
    return absl::DataLossError("gateway answer lacks choices or agora_receipt");
  }
  const nlohmann::json& receipt = body["agora_receipt"];
  absl::StatusOr<protocol::GenerateReply> signed_reply = validator::VerifyReceipt(receipt);
  if (f.Has("json")) {
    ctx.out << body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    ctx.out << body["choices"][0].value("text", "") << "\n\n"
            << "miner:   uid " << receipt.value("uid", 0) << ", hotkey "
            << receipt.value("hotkey", "") << "\n"
            << "model:   " << receipt.value("model", "") << "\n"
            << "receipt: " << (signed_reply.ok() ? "signature verified" : "INVALID") << "\n";
  }
  if (!signed_reply.ok()) return signed_reply.status();
  if (signed_reply->text != body["choices"][0].value("text", "") &&
      nlohmann::json(signed_reply->text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) !=
          body["choices"][0]["text"].dump()) {
    return absl::DataLossError("receipt: the signed text differs from the answer shown");
  }
  return absl::OkStatus();
}

}  // namespace

Command QueryCommand() {
  return Command{
      "query",
      "ask the subnet a question through a validator's gateway",
      "Sends PROMPT to the gateway's /v1/completions, prints the answer, the miner\n"
      "that gave it and its model, and verifies the receipt: the miner's signature\n"
      "over its reply. Exit 1 if the gateway refuses or the receipt does not verify.",
      {
          {"prompt", "PROMPT", "the text to complete", /*required=*/true, /*positional=*/true},
          {"gateway", "URL", "gateway address (default $AGORA_GATEWAY_URL or http://127.0.0.1:8080)"},
          {"api-key", "KEY", "API key (default $AGORA_API_KEY)"},
          {"max-tokens", "N", "tokens to generate (default 64)"},
          {"temperature", "T", "sampling temperature (default 1; 0 is greedy)"},
          {"model", "HASH", "only miners serving this model"},
          {"json", "", "print the gateway's whole JSON answer"},
      },
      &RunQuery,
      {}};
}

}  // namespace agora::cli
