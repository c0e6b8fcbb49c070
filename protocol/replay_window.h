// NonceWindow: the replay guard of a receiving node, optionally persisted so
// that a restarted node still refuses envelopes it accepted before.
//
// Per sender it keeps the highest nonce seen and a bitmap of the `window`
// nonces below it (the IPsec/DTLS sliding-window scheme): a nonce above the
// highest slides the window; one inside it is accepted once; one below it is
// refused. Senders therefore send increasing nonces (protocol/nonce.h), with
// up to `window` of them allowed to arrive out of order (pipelining, fan-out).
//
// Memory is bounded: a sender whose newest accepted timestamp is more than
// max_skew_ms old can be forgotten, because every envelope it ever sent would
// now fail the timestamp check anyway. If `max_senders` senders are all still
// live, a new sender is refused with "replay-cache-full" rather than evicting
// a live one (which would reopen a replay).
//
// Durability: each accepted nonce is appended to the log file (one write()
// per nonce, before the envelope is accepted), so it survives kill -9 of the
// process; the log is fdatasync'ed at most every sync_interval_ms and on
// Flush(), so a power loss can forget at most that interval. The log is
// compacted into one state record per live sender when it grows past
// compact_after_records. Format: docs/PROTOCOL.md "Replay window file".
//
// Thread-safe: CheckAndRecord and Flush may be called from any thread.
#ifndef AGORA_PROTOCOL_REPLAY_WINDOW_H_
#define AGORA_PROTOCOL_REPLAY_WINDOW_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto.h"
#include "protocol/envelope.h"

namespace agora::protocol {

class NonceWindow final : public ReplayGuard {
 public:
  static constexpr size_t kWindowBits = 1024;

  struct Options {
    uint64_t max_skew_ms = kDefaultMaxSkewMs;  // must equal the OpenContext's skew
    size_t max_senders = 100'000;
    size_t compact_after_records = 200'000;
    uint64_t sync_interval_ms = 1'000;
  };

  // Opens (creating if missing) the window persisted at `path`; an empty path
  // keeps it in memory only. DataLoss names the offset of a corrupt record; a
  // torn final record (a crash mid-write) is dropped silently.
  static absl::StatusOr<std::unique_ptr<NonceWindow>> Open(const std::string& path,
                                                           const Options& options);
  ~NonceWindow() override;

  absl::Status CheckAndRecord(const PublicKey& sender, uint64_t nonce, uint64_t timestamp_ms,
                              uint64_t now_ms) override;

  // Forces the log to stable storage.
  absl::Status Flush();
  // Number of senders currently tracked.
  size_t sender_count() const;

 private:
  struct SenderState {
    uint64_t highest = 0;
    uint64_t last_timestamp_ms = 0;
    std::array<uint64_t, kWindowBits / 64> seen{};  // bit k: nonce (highest - k) seen
  };

  NonceWindow(std::string path, const Options& options) : path_(std::move(path)), options_(options) {}

  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Append(const std::string& record, uint64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Compact(uint64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Prune(uint64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<PublicKey, SenderState> senders_ ABSL_GUARDED_BY(mu_);
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  size_t records_in_log_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_sync_ms_ ABSL_GUARDED_BY(mu_) = 0;
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_REPLAY_WINDOW_H_
