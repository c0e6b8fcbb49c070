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

// Prints an answer's log-probabilities (OpenAI's completions form), one
// token a line: the token, its log-probability, the most likely ones.
void PrintLogprobs(const nlohmann::json& lp, Context& ctx) {
  if (!lp.is_object() || !lp.contains("tokens")) return;
  const nlohmann::json& tokens = lp["tokens"];
  for (size_t i = 0; i < tokens.size(); ++i) {
    ctx.out << "  " << AsJson(tokens[i].get<std::string>());
    const nlohmann::json& x = lp["token_logprobs"][i];
    ctx.out << "  " << (x.is_number() ? absl::StrCat(x.get<double>()) : std::string("-"));
    const nlohmann::json& top = lp["top_logprobs"][i];
    if (top.is_object() && !top.empty()) {
      ctx.out << "  top:";
      for (const auto& [tok, v] : top.items()) ctx.out << " " << AsJson(tok) << " " << v.get<double>();
    }
    ctx.out << "\n";
  }
}

absl::Status RunQuery(const ParsedFlags& f, Context& ctx) {
  std::string url = f.Get("gateway", FromEnv("AGORA_GATEWAY_URL"));
  if (url.empty()) url = "http://127.0.0.1:8080";
  const std::string key = f.Get("api-key", FromEnv("AGORA_API_KEY"));
  if (key.empty()) return UsageError("set --api-key or $AGORA_API_KEY");
  int64_t max_tokens = 64, logprobs = -1;
  double temperature = 1.0;
  for (absl::Status s : {IntFlag<int64_t>(f, "max-tokens", 0, 1024, &max_tokens),
                         RealFlag(f, "temperature", 0, 100, &temperature),
                         IntFlag<int64_t>(f, "logprobs", 0, 20, &logprobs)}) {
    if (!s.ok()) return s;
  }
  const bool echo = f.Has("echo");
  if ((max_tokens == 0 || echo) && logprobs < 0) {
    return UsageError("--max-tokens 0 and --echo need --logprobs N");
  }
  if (f.Has("stream") && logprobs >= 0) return UsageError("--stream does not go with --logprobs");
  const std::string prompt = f.Get("prompt");
  nlohmann::json req = {{"prompt", prompt}, {"max_tokens", max_tokens},
                        {"temperature", temperature}};
  if (f.Has("model")) req["model"] = f.Get("model");
  if (logprobs >= 0) req["logprobs"] = logprobs;
  if (echo) req["echo"] = true;

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
  const char* receipt_field = max_tokens == 0 ? "agora_receipts" : "agora_receipt";
  if (!body.is_object() || !body.contains("choices") || body["choices"].empty() ||
      !body["choices"][0].is_object() || !body.contains(receipt_field)) {
    return absl::DataLossError(absl::StrCat("gateway answer lacks choices or ", receipt_field));
  }
  const std::string text = body["choices"][0].value("text", "");
  if (f.Has("json")) {
    ctx.out << body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    ctx.out << text << "\n\n";
    if (logprobs >= 0) PrintLogprobs(body["choices"][0]["logprobs"], ctx);
  }
  if (max_tokens == 0) {
    // Log-probabilities only: one signed PredictReply per request the
    // gateway made of the miner; each must verify.
    const nlohmann::json& receipts = body["agora_receipts"];
    if (!receipts.is_array() || receipts.empty()) {
      return absl::DataLossError("gateway answer has no receipts");
    }
    for (const nlohmann::json& r : receipts) {
      absl::StatusOr<protocol::PredictReply> signed_reply = validator::VerifyPredictReceipt(r);
      if (!signed_reply.ok()) return signed_reply.status();
    }
    if (!f.Has("json")) {
      ctx.out << "miner:   uid " << receipts[0].value("uid", 0) << ", hotkey "
              << receipts[0].value("hotkey", "") << "\n"
              << "model:   " << receipts[0].value("model", "") << "\n"
              << "receipt: " << receipts.size() << " signature" << (receipts.size() == 1 ? "" : "s")
              << " verified\n";
    }
    return absl::OkStatus();
  }
  // With echo the text shown starts with the prompt; the miner signed the rest.
  const std::string completion =
      echo && absl::StartsWith(text, prompt) ? text.substr(prompt.size()) : text;
  return CheckReceipt(body["agora_receipt"], completion, !f.Has("json"), ctx);
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
      "of it. With --logprobs N each token's log-probability and the N most likely\n"
      "are printed (--echo: the prompt's too; --max-tokens 0: only those, each of\n"
      "the miner's signed replies verified). Exit 1 if the gateway refuses or a\n"
      "receipt does not verify.",
      {
          {"prompt", "PROMPT", "the text to complete", /*required=*/true, /*positional=*/true},
          {"gateway", "URL", "gateway address (default $AGORA_GATEWAY_URL or http://127.0.0.1:8080)"},
          {"api-key", "KEY", "API key (default $AGORA_API_KEY)"},
          {"max-tokens", "N", "tokens to generate (default 64; 0 with --logprobs: none)"},
          {"logprobs", "N", "print each token's log-probability and the N most likely (0-20)"},
          {"echo", "", "with --logprobs: the prompt's log-probabilities too"},
          {"temperature", "T", "sampling temperature (default 1; 0 is greedy)"},
          {"model", "HASH", "only miners serving this model"},
          {"stream", "", "print the answer as it is generated"},
          {"json", "", "print the gateway's whole JSON answer (with --stream: each event)"},
      },
      &RunQuery,
      {}};
}

}  // namespace agora::cli
