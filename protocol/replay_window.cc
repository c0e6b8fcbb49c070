#include "protocol/replay_window.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/wire.h"
#include "protocol/refusal.h"

namespace agora::protocol {
namespace {

constexpr absl::string_view kMagic = "AGORANW1";
constexpr uint8_t kNonceRecord = 1;   // sender, nonce, timestamp
constexpr uint8_t kStateRecord = 2;   // sender, highest, last timestamp, bitmap
constexpr size_t kNoncePayload = kPublicKeyBytes + 8 + 8;
constexpr size_t kStatePayload = kPublicKeyBytes + 8 + 8 + NonceWindow::kWindowBits / 8;
constexpr size_t kCheckBytes = 4;

std::string ErrnoText() { return std::strerror(errno); }

// A record is type || payload || first 4 bytes of BLAKE2b-256(type || payload).
std::string Seal(std::string record) {
  const Hash256 h = Blake2b256(record);
  record.append(reinterpret_cast<const char*>(h.data()), kCheckBytes);
  return record;
}

std::string NonceRecord(const PublicKey& sender, uint64_t nonce, uint64_t ts) {
  std::string r(1 + kNoncePayload, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(r.data());
  p[0] = kNonceRecord;
  std::memcpy(p + 1, sender.data(), kPublicKeyBytes);
  wire::PutU64(p + 1 + kPublicKeyBytes, nonce);
  wire::PutU64(p + 1 + kPublicKeyBytes + 8, ts);
  return Seal(std::move(r));
}

template <typename State>
std::string StateRecord(const PublicKey& sender, const State& s) {
  std::string r(1 + kStatePayload, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(r.data());
  p[0] = kStateRecord;
  std::memcpy(p + 1, sender.data(), kPublicKeyBytes);
  wire::PutU64(p + 1 + kPublicKeyBytes, s.highest);
  wire::PutU64(p + 1 + kPublicKeyBytes + 8, s.last_timestamp_ms);
  for (size_t i = 0; i < s.seen.size(); ++i) {
    wire::PutU64(p + 1 + kPublicKeyBytes + 16 + 8 * i, s.seen[i]);
  }
  return Seal(std::move(r));
}

// Marks `nonce` in `s`. Returns false if it was already seen or is below the window.
template <typename State>
bool Mark(State& s, uint64_t nonce, bool fresh_sender) {
  constexpr uint64_t kBits = NonceWindow::kWindowBits;
  if (fresh_sender || nonce > s.highest) {
    const uint64_t shift = fresh_sender ? kBits : nonce - s.highest;
    if (shift >= kBits) {
      s.seen.fill(0);
    } else {
      // Shift the bitmap toward higher bit indices by `shift`.
      const size_t words = shift / 64, bits = shift % 64;
      for (size_t i = s.seen.size(); i-- > 0;) {
        uint64_t v = i >= words ? s.seen[i - words] << bits : 0;
        if (bits != 0 && i >= words + 1) v |= s.seen[i - words - 1] >> (64 - bits);
        s.seen[i] = v;
      }
    }
    s.highest = nonce;
    s.seen[0] |= 1;
    return true;
  }
  const uint64_t back = s.highest - nonce;
  if (back >= kBits) return false;
  uint64_t& word = s.seen[back / 64];
  const uint64_t bit = uint64_t{1} << (back % 64);
  if (word & bit) return false;
  word |= bit;
  return true;
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("replay window: write failed: ", ErrnoText()));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<NonceWindow>> NonceWindow::Open(const std::string& path,
                                                               const Options& options) {
  std::unique_ptr<NonceWindow> w(new NonceWindow(path, options));
  if (path.empty()) return w;
  absl::MutexLock lock(&w->mu_);
  absl::Status s = w->Load();
  if (!s.ok()) return s;
  return w;
}

NonceWindow::~NonceWindow() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
}

absl::Status NonceWindow::Load() {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return absl::InternalError(
        absl::StrCat("replay window: cannot open ", path_, ": ", ErrnoText()));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return absl::InternalError(absl::StrCat("replay window: stat ", path_, ": ", ErrnoText()));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::pread(fd_, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat("replay window: short read of ", path_));
    }
    got += static_cast<size_t>(n);
  }
  if (data.empty()) return WriteAll(fd_, kMagic);
  if (data.size() < kMagic.size() || absl::string_view(data).substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError(
        absl::StrCat("replay window: ", path_, " is not a replay window file (bad magic)"));
  }
  size_t off = kMagic.size();
  while (off < data.size()) {
    const uint8_t type = static_cast<uint8_t>(data[off]);
    const size_t payload = type == kNonceRecord ? kNoncePayload
                           : type == kStateRecord ? kStatePayload
                                                  : 0;
    const size_t len = 1 + payload + kCheckBytes;
    const bool last = payload == 0 || off + len >= data.size();
    bool ok = payload != 0 && off + len <= data.size();
    if (ok) {
      const Hash256 h = Blake2b256(absl::string_view(data).substr(off, 1 + payload));
      ok = std::memcmp(h.data(), data.data() + off + 1 + payload, kCheckBytes) == 0;
    }
    if (!ok) {
      if (!last) {
        return absl::DataLossError(
            absl::StrCat("replay window: corrupt record at offset ", off, " of ", path_));
      }
      // A torn final record from a crash mid-write: drop it so appends stay aligned.
      if (::ftruncate(fd_, static_cast<off_t>(off)) != 0) {
        return absl::InternalError(absl::StrCat("replay window: truncate: ", ErrnoText()));
      }
      break;
    }
    const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data()) + off + 1;
    PublicKey sender;
    std::memcpy(sender.data(), p, kPublicKeyBytes);
    const uint64_t a = wire::GetU64(p + kPublicKeyBytes);
    const uint64_t b = wire::GetU64(p + kPublicKeyBytes + 8);
    if (type == kNonceRecord) {
      auto [it, inserted] = senders_.try_emplace(sender);
      Mark(it->second, a, inserted);
      it->second.last_timestamp_ms = std::max(it->second.last_timestamp_ms, b);
    } else {
      SenderState& s = senders_[sender];
      s.highest = a;
      s.last_timestamp_ms = b;
      for (size_t i = 0; i < s.seen.size(); ++i) {
        s.seen[i] = wire::GetU64(p + kPublicKeyBytes + 16 + 8 * i);
      }
    }
    ++records_in_log_;
    off += len;
  }
  return absl::OkStatus();
}

absl::Status NonceWindow::CheckAndRecord(const PublicKey& sender, uint64_t nonce,
                                         uint64_t timestamp_ms, uint64_t now_ms) {
  absl::MutexLock lock(&mu_);
  auto it = senders_.find(sender);
  const bool fresh = it == senders_.end();
  if (fresh && senders_.size() >= options_.max_senders) {
    Prune(now_ms);
    if (senders_.size() >= options_.max_senders) {
      return Refuse(Reason::kReplayCacheFull,
                    absl::StrCat(senders_.size(), " live senders tracked (limit ",
                                 options_.max_senders, "); retry later"));
    }
  }
  SenderState candidate = fresh ? SenderState{} : it->second;
  if (!Mark(candidate, nonce, fresh)) {
    return Refuse(Reason::kReplayedNonce,
                  absl::StrCat("envelope.nonce ", nonce, " already seen or below the window (",
                               kWindowBits, " below highest ", candidate.highest, ")"));
  }
  candidate.last_timestamp_ms = std::max(candidate.last_timestamp_ms, timestamp_ms);
  // Durable first, then in memory: a nonce is never accepted without its record.
  if (fd_ >= 0) {
    absl::Status s = Append(NonceRecord(sender, nonce, timestamp_ms), now_ms);
    if (!s.ok()) return s;
  }
  senders_[sender] = candidate;
  if (fd_ >= 0 && records_in_log_ >= options_.compact_after_records) {
    return Compact(now_ms);
  }
  return absl::OkStatus();
}

absl::Status NonceWindow::Append(const std::string& record, uint64_t now_ms) {
  absl::Status s = WriteAll(fd_, record);
  if (!s.ok()) return s;
  ++records_in_log_;
  dirty_ = true;
  if (now_ms >= last_sync_ms_ + options_.sync_interval_ms) {
    if (::fdatasync(fd_) != 0) {
      return absl::InternalError(absl::StrCat("replay window: fdatasync: ", ErrnoText()));
    }
    last_sync_ms_ = now_ms;
    dirty_ = false;
  }
  return absl::OkStatus();
}

void NonceWindow::Prune(uint64_t now_ms) {
  absl::erase_if(senders_, [&](const auto& entry) {
    const uint64_t ts = entry.second.last_timestamp_ms;
    return ts < now_ms && now_ms - ts > options_.max_skew_ms;
  });
}

absl::Status NonceWindow::Compact(uint64_t now_ms) {
  Prune(now_ms);
  const std::string tmp = path_ + ".tmp";
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    return absl::InternalError(absl::StrCat("replay window: cannot create ", tmp, ": ", ErrnoText()));
  }
  std::string buf(kMagic);
  for (const auto& [sender, state] : senders_) buf += StateRecord(sender, state);
  absl::Status s = WriteAll(out, buf);
  if (s.ok() && ::fsync(out) != 0) {
    s = absl::InternalError(absl::StrCat("replay window: fsync: ", ErrnoText()));
  }
  ::close(out);
  if (s.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) {
    s = absl::InternalError(absl::StrCat("replay window: rename: ", ErrnoText()));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return absl::InternalError(absl::StrCat("replay window: reopen: ", ErrnoText()));
  }
  records_in_log_ = senders_.size();
  last_sync_ms_ = now_ms;
  dirty_ = false;
  return absl::OkStatus();
}

absl::Status NonceWindow::Flush() {
  absl::MutexLock lock(&mu_);
  if (fd_ < 0 || !dirty_) return absl::OkStatus();
  if (::fdatasync(fd_) != 0) {
    return absl::InternalError(absl::StrCat("replay window: fdatasync: ", ErrnoText()));
  }
  dirty_ = false;
  return absl::OkStatus();
}

size_t NonceWindow::sender_count() const {
  absl::MutexLock lock(&mu_);
  return senders_.size();
}

}  // namespace agora::protocol
