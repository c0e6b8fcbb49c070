// gateway_load: a bounded concurrent load on a running gateway, from a
// second process on loopback, for minutes. --clients callers each send
// POST /v1/completions back to back (keep-alive) for --seconds; every
// --interval seconds it prints the interval's requests, statuses, p50/p99
// latency and the gateway's resident memory (VmRSS of --pid, read from
// /proc), so a leak shows as a rising column. The baseline, measured in the
// same run before the load: a bare HTTP round trip to the gateway (GET
// /metagraph, no miner involved), so the completion latency is also shown as
// a ratio of it.
//
// Exit status 1 if any answer was neither 200 nor 429 (the rate limit the
// key is configured with), or a connection failed.
//
// Usage: gateway_load --url http://127.0.0.1:PORT --api-key KEY [--pid PID]
//        [--clients 8] [--seconds 180] [--interval 15] [--max-tokens 8]
//        [--prompt TEXT]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Args {
  std::string url;
  std::string api_key;
  int pid = 0;
  int clients = 8;
  int seconds = 180;
  int interval = 15;
  int max_tokens = 8;
  std::string prompt = "And God said";
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    bool ok = true;
    if (k == "--url") a->url = v;
    else if (k == "--api-key") a->api_key = v;
    else if (k == "--prompt") a->prompt = v;
    else if (k == "--pid") ok = absl::SimpleAtoi(v, &a->pid);
    else if (k == "--clients") ok = absl::SimpleAtoi(v, &a->clients) && a->clients > 0 && a->clients <= 256;
    else if (k == "--seconds") ok = absl::SimpleAtoi(v, &a->seconds) && a->seconds > 0;
    else if (k == "--interval") ok = absl::SimpleAtoi(v, &a->interval) && a->interval > 0;
    else if (k == "--max-tokens") ok = absl::SimpleAtoi(v, &a->max_tokens) && a->max_tokens > 0;
    else ok = false;
    if (!ok) {
      std::fprintf(stderr, "gateway_load: bad flag %s %s\n", k.c_str(), v.c_str());
      return false;
    }
  }
  if (argc % 2 == 0 || a->url.empty() || a->api_key.empty()) {
    std::fprintf(stderr,
                 "usage: gateway_load --url URL --api-key KEY [--pid PID] [--clients N] [--seconds S]\n"
                 "                    [--interval S] [--max-tokens N] [--prompt TEXT]\n");
    return false;
  }
  return true;
}

// Resident memory of `pid` in KiB, from /proc/PID/status; 0 if unknown.
long RssKib(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    long kib = 0;
    if (line.rfind("VmRSS:", 0) == 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 6 - 3)), &kib)) {
      return kib;
    }
  }
  return 0;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * double(v.size())))];
}

// What the callers saw since the last report.
struct Window {
  std::mutex mu;
  std::vector<double> latency_ms;  // 200s only
  std::map<int, long> statuses;    // -1: no HTTP answer (connection error)
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) return 2;

  // Baseline: bare HTTP round trips to the same server, before the load.
  std::vector<double> base;
  {
    httplib::Client c(a.url);
    c.set_tcp_nodelay(true);
    for (int i = 0; i < 200; ++i) {
      const auto t0 = SteadyClock::now();
      httplib::Result r = c.Get("/metagraph");
      if (!r || r->status != 200) {
        std::fprintf(stderr, "gateway_load: GET %s/metagraph failed\n", a.url.c_str());
        return 1;
      }
      base.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    }
  }
  const double base_p50 = Quantile(base, 0.5);
  std::printf("baseline GET /metagraph: p50 %.3f ms, p99 %.3f ms (200 sequential)\n", base_p50,
              Quantile(base, 0.99));
  std::printf("load: %d clients for %d s, max_tokens %d, prompt \"%s\"\n", a.clients, a.seconds,
              a.max_tokens, a.prompt.c_str());
  std::printf("%8s %9s %8s %8s %10s %10s %12s\n", "t (s)", "requests", "200", "429", "p50 (ms)",
              "p99 (ms)", "RSS (MiB)");

  const std::string body = absl::StrCat(R"({"prompt": ")", a.prompt, R"(", "max_tokens": )",
                                        a.max_tokens, "}");
  Window window;
  std::vector<double> all_latency;
  std::map<int, long> all_statuses;
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < a.clients; ++i) {
    callers.emplace_back([&] {
      httplib::Client c(a.url);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(30, 0);
      const httplib::Headers h = {{"Authorization", "Bearer " + a.api_key}};
      while (!stop.load()) {
        const auto t0 = SteadyClock::now();
        httplib::Result r = c.Post("/v1/completions", h, body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
        const int status = r ? r->status : -1;
        {
          std::lock_guard<std::mutex> lock(window.mu);
          ++window.statuses[status];
          if (status == 200) window.latency_ms.push_back(ms);
        }
        // Refused: back off a little, as a client honouring Retry-After would.
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  const long rss_start = RssKib(a.pid);
  long rss_max = rss_start, rss_last = rss_start;
  const auto start = SteadyClock::now();
  for (int t = a.interval; t <= a.seconds; t += a.interval) {
    std::this_thread::sleep_until(start + std::chrono::seconds(t));
    std::vector<double> lat;
    std::map<int, long> st;
    {
      std::lock_guard<std::mutex> lock(window.mu);
      lat.swap(window.latency_ms);
      st.swap(window.statuses);
    }
    long n = 0;
    for (auto [code, count] : st) {
      n += count;
      all_statuses[code] += count;
    }
    all_latency.insert(all_latency.end(), lat.begin(), lat.end());
    rss_last = RssKib(a.pid);
    rss_max = std::max(rss_max, rss_last);
    std::printf("%8d %9ld %8ld %8ld %10.2f %10.2f %12.1f\n", t, n, st[200], st[429], Quantile(lat, 0.5),
                Quantile(lat, 0.99), rss_last / 1024.0);
    std::fflush(stdout);
  }
  stop = true;
  for (std::thread& t : callers) t.join();

  long total = 0, bad = 0;
  std::string statuses;
  for (auto [code, count] : all_statuses) {
    total += count;
    if (code != 200 && code != 429) bad += count;
    absl::StrAppend(&statuses, statuses.empty() ? "" : ", ", code < 0 ? "no answer" : absl::StrCat(code), ": ", count);
  }
  const double p50 = Quantile(all_latency, 0.5), p99 = Quantile(all_latency, 0.99);
  std::printf("total: %ld requests in %d s (%.1f/s); statuses {%s}\n", total, a.seconds,
              double(total) / a.seconds, statuses.c_str());
  std::printf("completion latency: p50 %.2f ms (%.1fx the bare HTTP round trip), p99 %.2f ms\n", p50,
              base_p50 > 0 ? p50 / base_p50 : 0.0, p99);
  if (a.pid > 0) {
    std::printf("gateway RSS: %.1f MiB at start, %.1f MiB at the end, %.1f MiB at most\n",
                rss_start / 1024.0, rss_last / 1024.0, rss_max / 1024.0);
  }
  if (bad > 0) std::printf("FAILED: %ld answers were neither 200 nor 429\n", bad);
  return bad > 0 ? 1 : 0;
}
