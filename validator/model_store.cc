#include "validator/model_store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/log.h"
#include "miner/model_files.h"
#include "protocol/codec.h"
#include "protocol/refusal.h"
#include "protocol/model_package.h"
#include "protocol/task_messages.h"

namespace agora::validator {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  const uintmax_t n = fs::file_size(path, ec);
  return ec ? 0 : uint64_t(n);
}

}  // namespace

ModelStore::~ModelStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  for (std::thread& w : workers_) w.join();
}

absl::StatusOr<miner::ModelBackend*> ModelStore::AddLocal(const std::string& checkpoint_dir) {
  miner::ModelSpec spec;
  spec.checkpoint_dir = checkpoint_dir;
  spec.force_cpu = o_.cpu;
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> m = miner::LoadModel(spec);
  if (!m.ok()) return m.status();
  const Hash256 hash = (*m)->content_hash();
  std::lock_guard<std::mutex> lock(mu_);
  local_.insert(hash);
  auto [it, fresh] = models_.try_emplace(hash, std::move(*m));
  return it->second.get();
}

miner::ModelBackend* ModelStore::Find(const Hash256& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(hash);
  return it == models_.end() ? nullptr : it->second.get();
}

void ModelStore::Retain(const std::set<Hash256>& registered) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = models_.begin(); it != models_.end();) {
    if (!local_.count(it->first) && !registered.count(it->first)) {
      AGORA_LOG(INFO, "validator", "model %s is no longer registered: unloaded", ToHex(it->first));
      it = models_.erase(it);
    } else {
      ++it;
    }
  }
}

ModelStore::Stats ModelStore::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::StatusOr<miner::ModelBackend*> ModelStore::Request(const chain::ModelRegistration& reg,
                                                         const protocol::Peer& peer,
                                                         protocol::Client& client,
                                                         bool* fetching) {
  std::unique_lock<std::mutex> lock(mu_);
  // A package already in the cache is loaded here, without the network: a
  // restarted validator scores its miners from its first step.
  if (!models_.count(reg.content_hash) && !pending_.count(reg.content_hash) &&
      !failures_.count(reg.content_hash) && reg.size_bytes <= o_.max_model_bytes &&
      FileSize(absl::StrCat(o_.dir, "/", ToHex(reg.content_hash), ".pkg")) == reg.size_bytes) {
    pending_.insert(reg.content_hash);
    lock.unlock();
    Attempt(reg, peer, client, /*cache_only=*/true);
    lock.lock();
    pending_.erase(reg.content_hash);
    changed_.notify_all();
  }
  absl::StatusOr<miner::ModelBackend*> r = Enqueue(reg, peer, client);
  *fetching = pending_.count(reg.content_hash) > 0;
  return r;
}

absl::StatusOr<miner::ModelBackend*> ModelStore::Obtain(const chain::ModelRegistration& reg,
                                                        const protocol::Peer& peer,
                                                        protocol::Client& client) {
  std::unique_lock<std::mutex> lock(mu_);
  absl::StatusOr<miner::ModelBackend*> r = Enqueue(reg, peer, client);
  if (!pending_.count(reg.content_hash)) return r;
  changed_.wait(lock, [&] { return stopping_ || !pending_.count(reg.content_hash); });
  auto held = models_.find(reg.content_hash);
  if (held != models_.end()) return held->second.get();
  auto failed = failures_.find(reg.content_hash);
  if (failed != failures_.end()) return failed->second.status;
  return absl::CancelledError("the model store is stopping");
}

void ModelStore::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return stopping_ || (queue_.empty() && pending_.empty()); });
}

absl::StatusOr<miner::ModelBackend*> ModelStore::Enqueue(const chain::ModelRegistration& reg,
                                                         const protocol::Peer& peer,
                                                         protocol::Client& client) {
  auto held = models_.find(reg.content_hash);
  if (held != models_.end()) return held->second.get();
  auto failed = failures_.find(reg.content_hash);
  if (failed != failures_.end() && Clock::now() < failed->second.retry_at) {
    return failed->second.status;
  }
  if (stopping_) return absl::CancelledError("the model store is stopping");
  if (pending_.insert(reg.content_hash).second) {
    queue_.push_back(Queued{reg, peer, &client});
    while (workers_.size() < std::max<size_t>(1, o_.fetch_workers)) {
      workers_.emplace_back([this] { Work(); });
    }
    changed_.notify_all();
  }
  return absl::UnavailableError(
      absl::StrCat("model ", ToHex(reg.content_hash), " is being fetched"));
}

void ModelStore::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    // First attempts before retries: a miner whose fetch failed (one that
    // withholds or trickles its package, say) waits behind every model not
    // yet tried, so no number of them delays a newcomer's first fetch by
    // more than the first attempts queued before it.
    auto next = std::find_if(queue_.begin(), queue_.end(), [&](const Queued& q) {
      return failures_.count(q.reg.content_hash) == 0;
    });
    if (next == queue_.end()) next = queue_.begin();
    Queued q = std::move(*next);
    queue_.erase(next);
    lock.unlock();
    Attempt(q.reg, q.peer, *q.client, /*cache_only=*/false);
    lock.lock();
    pending_.erase(q.reg.content_hash);
    changed_.notify_all();
  }
}

void ModelStore::Attempt(const chain::ModelRegistration& reg, const protocol::Peer& peer,
                         protocol::Client& client, bool cache_only) {
  const std::string hex = ToHex(reg.content_hash);
  auto fail = [&](absl::Status s) {
    const bool unpermitted = absl::IsPermissionDenied(s);  // Fetch: refused as not permitted
    AGORA_LOG(WARN, "validator", "model %s: %s", hex, s.message());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.failed;
    failures_[reg.content_hash] =
        Failure{s, Clock::now() + (unpermitted ? o_.retry_unpermitted : o_.retry_after)};
  };
  if (reg.size_bytes > o_.max_model_bytes) {
    return fail(absl::ResourceExhaustedError(absl::StrCat(
        "registered package of ", reg.size_bytes, " bytes is over max_model_bytes (",
        o_.max_model_bytes, ")")));
  }
  absl::Status made = MakeDirs(o_.dir);
  if (!made.ok()) return fail(made);
  const std::string pkg_path = absl::StrCat(o_.dir, "/", hex, ".pkg");
  std::string package;
  if (FileSize(pkg_path) == reg.size_bytes) {
    absl::StatusOr<std::string> cached = ReadFile(pkg_path, reg.size_bytes);
    if (cached.ok()) package = std::move(*cached);
  }
  const bool from_cache = !package.empty();
  if (!from_cache && cache_only) return;  // evicted meanwhile: the worker fetches it
  if (!from_cache) {
    absl::Status s = Fetch(reg, peer, client, &package);
    if (!s.ok()) return fail(s);
  }
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> loaded = LoadVerified(reg, package);
  std::error_code ec;
  if (!loaded.ok()) {
    fs::remove(pkg_path, ec);  // whatever it holds is not the registered model
    return fail(loaded.status());
  }
  fs::last_write_time(pkg_path, fs::file_time_type::clock::now(), ec);  // recently used
  const std::string described = (*loaded)->Describe();
  {
    std::lock_guard<std::mutex> lock(mu_);
    models_.try_emplace(reg.content_hash, std::move(*loaded));
    failures_.erase(reg.content_hash);
    if (!from_cache) ++stats_.fetched;
  }
  if (!from_cache) {
    AGORA_LOG(INFO, "validator", "fetched model %s (%d bytes) from %s: %s", hex, reg.size_bytes,
              peer.endpoint, described);
    Evict();
  }
}

absl::Status ModelStore::Fetch(const chain::ModelRegistration& reg, const protocol::Peer& peer,
                               protocol::Client& client, std::string* package) {
  const std::string hex = ToHex(reg.content_hash);
  const std::string part = absl::StrCat(o_.dir, "/", hex, ".part");
  uint64_t offset = FileSize(part);
  if (offset > reg.size_bytes) {
    std::error_code ec;
    fs::remove(part, ec);
    offset = 0;
  }
  {
    std::ofstream out(part, std::ios::binary | std::ios::app);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", part));
    const Clock::time_point give_up = Clock::now() + o_.fetch_budget;
    while (offset < reg.size_bytes) {
      if (Stopping()) return absl::CancelledError("the model store is stopping");
      if (Clock::now() > give_up) {
        return absl::DeadlineExceededError(absl::StrCat(
            "fetched ", offset, " of ", reg.size_bytes, " bytes within fetch_budget; resuming later"));
      }
      protocol::ModelFetchRequest req;
      req.content_hash = reg.content_hash;
      req.offset = offset;
      req.length = uint32_t(std::min<uint64_t>(protocol::kMaxModelChunk, reg.size_bytes - offset));
      absl::StatusOr<protocol::ModelFetchReply> rep =
          client.CallTyped<protocol::ModelFetchRequest, protocol::ModelFetchReply>(
              peer, protocol::MessageKind::kModelFetchRequest,
              protocol::MessageKind::kModelFetchReply, req, protocol::DeadlineAfter(o_.piece_timeout));
      if (!rep.ok() && protocol::ReasonOf(rep.status()) == protocol::Reason::kRateLimited) {
        // The miner's per-hotkey bucket (50 pieces/s by default): pace, not fail.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (!rep.ok()) {
        const bool unpermitted = protocol::ReasonOf(rep.status()) == protocol::Reason::kUnregistered;
        return absl::Status(unpermitted ? absl::StatusCode::kPermissionDenied : rep.status().code(),
                            absl::StrCat("miner did not hand the model over at byte ", offset, ": ",
                                         rep.status().message()));
      }
      if (rep->content_hash != reg.content_hash || rep->offset != offset ||
          rep->total_size != reg.size_bytes || rep->data.empty() || rep->data.size() > req.length) {
        return absl::DataLossError(absl::StrCat(
            "miner's piece at byte ", offset, " is not the one asked for (package of ",
            rep->total_size, " bytes, ", rep->data.size(), " bytes at ", rep->offset,
            "; registered ", reg.size_bytes, ")"));
      }
      out.write(rep->data.data(), std::streamsize(rep->data.size()));
      out.flush();
      if (!out) return absl::InternalError(absl::StrCat("cannot write ", part));
      offset += rep->data.size();
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes_fetched += rep->data.size();
    }
  }
  absl::StatusOr<std::string> bytes = ReadFile(part, reg.size_bytes);
  if (!bytes.ok()) return bytes.status();
  const std::string pkg_path = absl::StrCat(o_.dir, "/", hex, ".pkg");
  std::error_code ec;
  fs::rename(part, pkg_path, ec);
  if (ec) return absl::InternalError(absl::StrCat("rename ", part, ": ", ec.message()));
  *package = std::move(*bytes);
  return absl::OkStatus();
}

bool ModelStore::Stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

absl::StatusOr<std::unique_ptr<miner::ModelBackend>> ModelStore::LoadVerified(
    const chain::ModelRegistration& reg, const std::string& package_bytes) {
  absl::StatusOr<protocol::ModelPackage> pkg = protocol::DecodeModelPackage(package_bytes);
  if (!pkg.ok()) return absl::DataLossError(absl::StrCat("package: ", pkg.status().message()));
  if (pkg->format != reg.format) {
    return absl::DataLossError(absl::StrCat("package is ", pkg->format, ", registered as ", reg.format));
  }
  if (const Hash256 tokenizer = miner::PackageTokenizerHash(*pkg); tokenizer != reg.tokenizer_hash) {
    return absl::DataLossError(absl::StrCat("package's tokenizer hashes to ", ToHex(tokenizer),
                                            ", registered as ", ToHex(reg.tokenizer_hash)));
  }
  const std::string unpacked = absl::StrCat(o_.dir, "/", ToHex(reg.content_hash), ".d");
  std::error_code ec;
  fs::remove_all(unpacked, ec);
  absl::StatusOr<miner::ModelSpec> spec = miner::UnpackModel(*pkg, unpacked);
  if (!spec.ok()) {
    fs::remove_all(unpacked, ec);
    return absl::DataLossError(absl::StrCat("package: ", spec.status().message()));
  }
  spec->force_cpu = o_.cpu;
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> m = miner::LoadModel(*spec);
  fs::remove_all(unpacked, ec);  // loaded into memory; the package stays cached
  if (!m.ok()) return absl::DataLossError(absl::StrCat("package does not load: ", m.status().message()));
  if ((*m)->content_hash() != reg.content_hash) {
    return absl::DataLossError(absl::StrCat("package computes to model ", ToHex((*m)->content_hash()),
                                            ", not the registered one"));
  }
  return std::move(*m);
}

void ModelStore::Evict() {
  std::lock_guard<std::mutex> one_at_a_time(evict_mu_);
  struct Entry {
    bool loaded;
    fs::file_time_type used;
    uint64_t size;
    fs::path path;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(o_.dir, ec)) {
    if (e.path().extension() != ".pkg") continue;
    absl::StatusOr<std::string> raw = FromHex(e.path().stem().string());
    Hash256 h{};
    if (raw.ok() && raw->size() == h.size()) std::copy(raw->begin(), raw->end(), h.begin());
    const bool loaded = raw.ok() && Find(h) != nullptr;
    Entry x{loaded, e.last_write_time(ec), FileSize(e.path().string()), e.path()};
    total += x.size;
    entries.push_back(std::move(x));
  }
  // Models not loaded go first, then the least recently used.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.loaded != b.loaded ? !a.loaded : a.used < b.used;
  });
  for (const Entry& e : entries) {
    if (total <= o_.cache_bytes) break;
    fs::remove(e.path, ec);
    total -= e.size;
    AGORA_LOG(INFO, "validator", "model cache over %d bytes: removed %s", o_.cache_bytes,
              e.path.filename().string());
  }
}

}  // namespace agora::validator
