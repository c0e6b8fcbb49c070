// MetricsHttp: the only file of the miner that includes cpp-httplib.
#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "common/http_task_queue.h"
#include "miner/metrics.h"

namespace agora::miner {

struct MetricsHttp::Impl {
  httplib::Server server;
};

MetricsHttp::MetricsHttp() : impl_(std::make_unique<Impl>()) {}
MetricsHttp::~MetricsHttp() { Stop(); }

absl::Status MetricsHttp::Start(const std::string& host, int port,
                                std::function<std::string()> render) {
  if (port < 0 || port > 65535) return absl::InvalidArgumentError("metrics_port: not in [0, 65535]");
  // Scrapes are quick: a short read timeout, and a thread per connection up
  // to a bound so slow clients cannot hold every thread of a fixed pool.
  impl_->server.set_read_timeout(5, 0);
  impl_->server.new_task_queue = [] { return new ElasticTaskQueue(64); };
  impl_->server.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4");
  });
  port_ = port == 0 ? impl_->server.bind_to_any_port(host.c_str())
                    : (impl_->server.bind_to_port(host.c_str(), port) ? port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("metrics: cannot bind ", host, ":", port));
  }
  thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
  return absl::OkStatus();
}

void MetricsHttp::Stop() {
  if (thread_.joinable()) {
    impl_->server.stop();
    thread_.join();
  }
}

}  // namespace agora::miner
