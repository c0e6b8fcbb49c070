#include "cli/query_command.h"

#include <cstdlib>
#include <ostream>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/config_file.h"
#include "validator/receipt.h"

namespace agora::cli {
namespace {

std::string FromEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string AsJson(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status GatewayRefusal(int status, const std::string& raw) {
  nlohmann::json body = nlohmann::json::parse(raw, nullptr, false);
  std::string message = raw;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", raw);
  }
  return absl::FailedPreconditionError(absl::StrCat("gateway answered ", status, ": ", message));
}

// Verifies the miner's signature over its reply and that the signed text is
// the text shown (JSON answers replace invalid UTF-8, so compare as JSON too).
absl::Status CheckReceipt(const nlohmann::json& receipt, const std::string& shown, bool print,
                          Context& ctx) {
  absl::StatusOr<protocol::GenerateReply> signed_reply = validator::VerifyReceipt(receipt);
  if (print) {
    ctx.out << "miner:   uid " << receipt.value("uid", 0) << ", hotkey " << receipt.value("hotkey", "")
            << "\n"
            << "model:   " << receipt.value("model", "") << "\n"
            << "receipt: " << (signed_reply.ok() ? "signature verified" : "INVALID") << "\n";
  }
  if (!signed_reply.ok()) return signed_reply.status();
  if (signed_reply->text != shown && AsJson(signed_reply->text) != AsJson(shown)) {
    return absl::DataLossError("receipt: the signed text differs from the answer shown");
  }
  return absl::OkStatus();
}

// --stream: prints each piece of the answer as its server-sent event
// arrives, then checks the receipt of the last event against all of them.
absl::Status StreamQuery(httplib::Client& http, const std::string& url,
                         const httplib::Headers& headers, const nlohmann::json& request, bool json,
                         Context& ctx) {
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.headers = headers;
  req.body = request.dump();
  req.set_header("Content-Type", "application/json");
  int status = 0;
  std::string buffer, raw, shown, error;
  nlohmann::json last;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status != 200) {
      raw.append(data, n);
      return raw.size() < (1u << 20);
    }
    buffer.append(data, n);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
      absl::string_view event(buffer.data(), end);
      if (!absl::ConsumePrefix(&event, "data: ") || event == "[DONE]") continue;
      nlohmann::json e = nlohmann::json::parse(event, nullptr, false);
      if (!e.is_object()) continue;
      if (json) ctx.out << e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      if (e.contains("error") && e["error"].is_object()) error = e["error"].value("message", "error");
      if (e.contains("choices") && e["choices"].is_array() && !e["choices"].empty() &&
          e["choices"][0].is_object()) {
        const std::string piece = e["choices"][0].value("text", "");
        shown += piece;
        if (!json) ctx.out << piece << std::flush;
      }
      if (e.contains("agora_receipt")) last = std::move(e);
    }
    return buffer.size() < (1u << 20);
  };
  httplib::Result res = http.send(req);
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("gateway ", url, ": ", httplib::to_string(res.error())));
  }
  if (status != 200) return GatewayRefusal(status, raw);
  if (!json) ctx.out << "\n\n";
  if (!error.empty()) return absl::UnavailableError(absl::StrCat("gateway: stream ended: ", error));
  if (!last.is_object()) return absl::DataLossError("gateway stream ended without a receipt");
  return CheckReceipt(last["agora_receipt"], shown, !json, ctx);
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
  if (f.Has("stream")) {
    req["stream"] = true;
    return StreamQuery(http, url, headers, req, f.Has("json"), ctx);
  }
  httplib::Result res = http.Post("/v1/completions", headers, req.dump(), "application/json");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("gateway ", url, ": ", httplib::to_string(res.error())));
  }
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) return GatewayRefusal(res->status, res->body);
  if (!body.is_object() || !body.contains("choices") || body["choices"].empty() ||
      !body.contains("agora_receipt")) {
    return absl::DataLossError("gateway answer lacks choices or agora_receipt");
  }
  const std::string text = body["choices"][0].value("text", "");
  if (f.Has("json")) {
    ctx.out << body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    ctx.out << text << "\n\n";
  }
  return CheckReceipt(body["agora_receipt"], text, !f.Has("json"), ctx);
}

}  // namespace

Command QueryCommand() {
  return Command{
      "query",
      "ask the subnet a question through a validator's gateway",
      "Sends PROMPT to the gateway's /v1/completions, prints the answer, the miner\n"
      "that gave it and its model, and verifies the receipt: the miner's signature\n"
      "over its reply. With --stream the answer is printed as the miner generates it\n"
      "(server-sent events) and the receipt of the last event is checked against all\n"
      "of it. Exit 1 if the gateway refuses or the receipt does not verify.",
      {
          {"prompt", "PROMPT", "the text to complete", /*required=*/true, /*positional=*/true},
          {"gateway", "URL", "gateway address (default $AGORA_GATEWAY_URL or http://127.0.0.1:8080)"},
          {"api-key", "KEY", "API key (default $AGORA_API_KEY)"},
          {"max-tokens", "N", "tokens to generate (default 64)"},
          {"temperature", "T", "sampling temperature (default 1; 0 is greedy)"},
          {"model", "HASH", "only miners serving this model"},
          {"stream", "", "print the answer as it is generated"},
          {"json", "", "print the gateway's whole JSON answer (with --stream: each event)"},
      },
      &RunQuery,
      {}};
}

}  // namespace agora::cli
