// Bookkeeping of a key/value cache for incremental decoding, torch-free: which
// slot of the cache holds which generation, which tokens its keys and values
// were computed for, and so which of a row's tokens a step must compute.
//
// A slot holds the keys and values of one row's tokens at positions
// 0..tokens.size()-1. A row whose first tokens are exactly a slot's tokens
// needs only the rest computed; anything else (another prompt, a row that
// outgrew the context window and slid, a slot lost to eviction) starts from
// position 0. So a plan is always correct, whatever the caller sends; the
// cache only decides how much work is skipped.
//
// Slots of named sequences stay until EndSequence or until evicted, least
// recently used first, once `max_slots` are taken; rows without a sequence
// borrow a slot for one step. A step may use more than max_slots slots if it
// has more rows; the slot count then grows past it.
//
// Thread-safety: not thread-safe (the model's one worker thread owns it).
#ifndef AGORA_MINER_KV_SLOTS_H_
#define AGORA_MINER_KV_SLOTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"

namespace agora::miner {

class KvSlots {
 public:
  explicit KvSlots(size_t max_slots) : max_slots_(max_slots == 0 ? 1 : max_slots) {}

  // What one step computes for each row.
  struct Plan {
    std::vector<size_t> slot;   // the row's slot
    std::vector<size_t> start;  // first position to compute; the slot already holds [0, start)
  };

  // Plans a step for `rows` (each non-empty and at most the context long:
  // the caller cuts longer rows to their window first) of `sequences`
  // (0: none; same size as rows). Slots are taken now; Commit or Abort must
  // follow before the next Plan.
  Plan Assign(const std::vector<absl::Span<const uint32_t>>& rows,
              const std::vector<uint64_t>& sequences);
  // The step's keys and values were written: each slot now holds its row.
  void Commit(const Plan& plan, const std::vector<absl::Span<const uint32_t>>& rows);
  // The step failed: the slots' contents are unknown, so they hold nothing.
  void Abort(const Plan& plan);

  void EndSequence(uint64_t sequence);

  // Slots that exist (the cache's tensors must have at least this many).
  size_t size() const { return slots_.size(); }
  // Slots held by named sequences.
  size_t sequences() const { return by_sequence_.size(); }
  size_t max_slots() const { return max_slots_; }

 private:
  struct Slot {
    uint64_t sequence = 0;          // 0: free or borrowed for one step
    bool busy = false;              // taken (by a sequence, or by this step)
    std::vector<uint32_t> tokens;   // what the slot's keys and values are for
    uint64_t last_step = 0;
  };
  size_t Take(uint64_t sequence);
  void Release(size_t slot);

  const size_t max_slots_;
  std::vector<Slot> slots_;
  absl::flat_hash_map<uint64_t, size_t> by_sequence_;
  uint64_t step_ = 0;
};

}  // namespace agora::miner

#endif  // AGORA_MINER_KV_SLOTS_H_
