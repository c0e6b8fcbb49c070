#include "miner/kv_slots.h"

#include <algorithm>

namespace agora::miner {

size_t KvSlots::Take(uint64_t sequence) {
  size_t slot = slots_.size();
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].busy) {
      slot = i;
      break;
    }
  }
  if (slot == slots_.size() && slots_.size() >= max_slots_) {
    // Evict the least recently used sequence this step does not use.
    uint64_t oldest = step_;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].sequence != 0 && slots_[i].last_step < oldest) {
        oldest = slots_[i].last_step;
        slot = i;
      }
    }
    if (slot != slots_.size()) {
      by_sequence_.erase(slots_[slot].sequence);
      Release(slot);
    }
  }
  if (slot == slots_.size()) slots_.emplace_back();  // free, under the cap, or all in this step
  Slot& s = slots_[slot];
  s.busy = true;
  s.sequence = sequence;
  s.tokens.clear();
  if (sequence != 0) by_sequence_[sequence] = slot;
  return slot;
}

void KvSlots::Release(size_t slot) {
  Slot& s = slots_[slot];
  s.busy = false;
  s.sequence = 0;
  s.tokens.clear();
}

KvSlots::Plan KvSlots::Assign(const std::vector<absl::Span<const uint32_t>>& rows,
                              const std::vector<uint64_t>& sequences) {
  ++step_;
  Plan plan;
  plan.slot.resize(rows.size());
  plan.start.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const uint64_t sequence = i < sequences.size() ? sequences[i] : 0;
    auto held = sequence != 0 ? by_sequence_.find(sequence) : by_sequence_.end();
    size_t slot;
    if (held == by_sequence_.end()) {
      slot = Take(sequence);  // a new sequence, or none (0: borrowed for this step)
    } else if (slots_[held->second].last_step == step_) {
      slot = Take(0);  // a sequence named twice in one step: the second row borrows
    } else {
      slot = held->second;
    }
    Slot& s = slots_[slot];
    s.last_step = step_;
    const absl::Span<const uint32_t> row = rows[i];
    const size_t cached = s.tokens.size();
    size_t start = 0;
    if (cached > 0 && cached <= row.size() &&
        std::equal(s.tokens.begin(), s.tokens.end(), row.begin())) {
      // The same row again still needs its last token's output computed.
      start = cached == row.size() ? cached - 1 : cached;
    }
    plan.slot[i] = slot;
    plan.start[i] = start;
  }
  return plan;
}

void KvSlots::Commit(const Plan& plan, const std::vector<absl::Span<const uint32_t>>& rows) {
  for (size_t i = 0; i < plan.slot.size(); ++i) {
    Slot& s = slots_[plan.slot[i]];
    if (s.sequence == 0) {
      Release(plan.slot[i]);
    } else {
      s.tokens.assign(rows[i].begin(), rows[i].end());
    }
  }
}

void KvSlots::Abort(const Plan& plan) {
  for (size_t slot : plan.slot) {
    if (slots_[slot].sequence == 0) {
      Release(slot);
    } else {
      slots_[slot].tokens.clear();
    }
  }
}

void KvSlots::EndSequence(uint64_t sequence) {
  auto it = by_sequence_.find(sequence);
  if (it == by_sequence_.end()) return;
  Release(it->second);
  by_sequence_.erase(it);
}

}  // namespace agora::miner
