// agora register: says what registering costs (the subnet's current burn, or
// the proof-of-work difficulty), then registers the hotkey and reports its uid.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "cli/amount.h"
#include "cli/chain_args.h"
#include "cli/chain_commands.h"
#include "cli/metagraph_table.h"
#include "cli/pow_solver.h"
#include "common/address.h"
#include "nlohmann/json.hpp"

namespace agora::cli {
namespace {

using chain::Amount;

constexpr int kMaxPowThreads = 256;
constexpr std::chrono::milliseconds kPowRound{1000};  // progress line and fresh seed block
constexpr int kMaxWaitsForFirstBlock = 100;

std::optional<chain::Uid> UidOf(const chain::Metagraph& mg, const PublicKey& hotkey) {
  for (const chain::NeuronInfo& n : mg.neurons) {
    if (n.hotkey == hotkey) return n.uid;
  }
  return std::nullopt;
}

struct PowResult {
  chain::BlockHeight block = 0;
  uint64_t nonce = 0;
  uint64_t hashes = 0;
  double seconds = 0;
};

// Solves the proof of work against the newest block, moving to the newest
// block each round (so the solution is never too old to be accepted) and
// printing a progress line per round to ctx.err.
absl::StatusOr<PowResult> SolveRegistrationPow(chain::ChainClient& client, absl::string_view url,
                                               PowTask task, int threads, Context& ctx) {
  std::mt19937_64 rng{std::random_device{}()};
  const auto start = std::chrono::steady_clock::now();
  uint64_t total = 0;
  for (int waits = 0;;) {
    absl::StatusOr<chain::ChainStatus> st = client.Status();
    if (!st.ok()) return ChainError(st.status(), url);
    if (st->height == 0) {  // no block hash to build on yet
      if (++waits > kMaxWaitsForFirstBlock) {
        return absl::UnavailableError("the chain has sealed no block yet; try again later");
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::clamp<uint64_t>(st->block_interval_ms, 10, 1000)));
      continue;
    }
    task.block_hash = st->block_hash;
    const PowRound round = SolvePow(task, rng(), kPowRound, threads);
    total += round.hashes;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (round.nonce.has_value()) return PowResult{st->height, *round.nonce, total, seconds};
    ctx.err << absl::StrFormat("  proof of work: %d hashes in %.1f s (%.0f hashes/s), block %d\n",
                               total, seconds, seconds > 0 ? total / seconds : 0.0, st->height)
            << std::flush;
  }
}

absl::Status Register(const ParsedFlags& flags, Context& ctx) {
  absl::StatusOr<chain::NetUid> netuid = NetUidArg(flags);
  if (!netuid.ok()) return netuid.status();
  const bool pow = flags.Has("pow");
  const bool json = flags.Has("json");
  if (pow && flags.Has("max-burn"))
    return UsageError("--max-burn is for burn registration, not --pow");
  std::optional<Amount> max_burn;
  if (flags.Has("max-burn")) {
    absl::StatusOr<Amount> m = AmountArg(flags, "max-burn", /*allow_zero=*/true);
    if (!m.ok()) return m.status();
    max_burn = *m;
  }
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (flags.Has("pow-threads")) {
    if (!pow) return UsageError("--pow-threads needs --pow");
    absl::StatusOr<uint64_t> t = UnsignedArg(flags, "pow-threads", kMaxPowThreads);
    if (!t.ok()) return t.status();
    if (*t == 0) return UsageError("--pow-threads must be at least 1");
    threads = static_cast<int>(*t);
  }
  absl::StatusOr<HotkeySession> session = OpenHotkeySession(flags);
  if (!session.ok()) return session.status();
  const WalletArg& wallet = session->wallet;
  const HotkeyChoice& hotkey = session->hotkey;
  ChainSession& chain = session->chain;
  chain::ChainClient& client = *chain.client;

  absl::StatusOr<chain::Metagraph> mg = client.GetMetagraph(*netuid);
  if (!mg.ok()) return ChainError(mg.status(), chain.url);
  if (std::optional<chain::Uid> uid = UidOf(*mg, hotkey.key)) {
    return chain::Reject(chain::TxReject::kAlreadyRegistered,
                         absl::StrCat(hotkey.label, " is uid ", *uid, " on netuid ", *netuid));
  }
  // What it costs, before anything is signed. With --json this goes to stderr
  // so stdout stays one JSON document.
  std::ostream& info = json ? ctx.err : ctx.out;
  info << "Registering " << hotkey.label << " of wallet '" << wallet.info.name << "' on netuid "
       << *netuid << " (" << mg->n << " of " << mg->params.max_allowed_uids << " uids taken)\n";
  const Amount burn = mg->params.burn;
  if (pow) {
    info << "Cost: a proof of work of " << mg->params.pow_difficulty
         << " leading zero bits (about 2^" << mg->params.pow_difficulty
         << " hashes); nothing is burned\n";
  } else {
    const Amount limit = max_burn.value_or(burn);
    info << "Cost: burns " << FormatTokenAmount(burn)
         << " AGORA (the subnet's current burn); refused if the burn is above "
         << FormatTokenAmount(limit) << " AGORA when the transaction lands\n";
    if (burn > limit) {
      return chain::Reject(chain::TxReject::kBurnTooHigh,
                           absl::StrCat("burn is ", burn, ", --max-burn ", limit));
    }
    absl::StatusOr<chain::AccountInfo> account = client.Account(wallet.coldkey);
    if (!account.ok()) return ChainError(account.status(), chain.url);
    if (account->balance < burn) {  // as the chain would refuse it, before the password
      return chain::Reject(chain::TxReject::kInsufficientBalance,
                           absl::StrCat("balance ", account->balance, " < burn ", burn));
    }
    max_burn = limit;
  }
  info << std::flush;

  absl::StatusOr<SigningKey> key = UnlockColdkey(flags, wallet);
  if (!key.ok()) return key.status();
  chain::RegisterTx tx;
  tx.netuid = *netuid;
  tx.hotkey = hotkey.key;
  std::optional<PowResult> solved;
  if (pow) {
    ctx.err << "Solving the proof of work on " << threads << " thread(s)...\n" << std::flush;
    PowTask task;
    task.netuid = *netuid;
    task.hotkey = hotkey.key;
    task.coldkey = wallet.coldkey;
    task.difficulty = mg->params.pow_difficulty;
    absl::StatusOr<PowResult> r = SolveRegistrationPow(client, chain.url, task, threads, ctx);
    if (!r.ok()) return r.status();
    solved = *r;
    info << absl::StrFormat("Solved the proof of work in %.2f s after %d hashes (block %d)\n",
                            r->seconds, r->hashes, r->block);
    tx.pow = true;
    tx.pow_block = r->block;
    tx.pow_nonce = r->nonce;
  } else {
    tx.max_burn = *max_burn;
  }
  // A subnet takes a few registrations per block: when the pending block is
  // full, wait for the next one instead of failing (say so on stderr).
  absl::StatusOr<chain::TxReceiptMsg> receipt =
      client.SendWhenAllowed(*key, chain::kTxRegister, tx, SayLimitWaits(ctx));
  if (!receipt.ok()) return ChainError(receipt.status(), chain.url);

  absl::StatusOr<chain::Metagraph> after = client.GetMetagraph(*netuid);
  if (!after.ok()) return ChainError(after.status(), chain.url);
  const std::optional<chain::Uid> uid = UidOf(*after, hotkey.key);
  if (json) {
    nlohmann::ordered_json j = TxJson(*receipt);
    j["netuid"] = *netuid;
    j["hotkey"] = EncodeAddress(hotkey.key);
    j["coldkey"] = EncodeAddress(wallet.coldkey);
    j["pow"] = pow;
    j["uid"] = uid.has_value() ? nlohmann::ordered_json(*uid) : nlohmann::ordered_json();
    if (solved) {
      j["pow_block"] = solved->block;
      j["pow_nonce"] = solved->nonce;
    } else {
      j["max_burn"] = *max_burn;
    }
    ctx.out << JsonText(j);
    return absl::OkStatus();
  }
  if (uid.has_value()) {
    ctx.out << "Registered " << hotkey.label << " on netuid " << *netuid << " as uid " << *uid
            << " in block " << receipt->block << "\n";
  } else {
    ctx.out << "Registered " << hotkey.label << " on netuid " << *netuid << " in block "
            << receipt->block
            << ", but it is no longer in the metagraph (its uid was replaced already)\n";
  }
  ctx.out << "  tx     " << ToHex(receipt->tx_hash) << "\n";
  return absl::OkStatus();
}

}  // namespace

Command RegisterCommand() {
  return {
      "register",
      "Register a wallet's hotkey on a subnet, by burn or by proof of work.",
      "Prints the cost first: the subnet's current burn (paid from the coldkey), or\n"
      "with --pow the proof-of-work difficulty (solved here, on all cores). A burn\n"
      "registration is refused if the burn has risen above --max-burn (default: the\n"
      "burn shown) by the time the transaction lands. When the block being built\n"
      "already holds the subnet's registrations per block, waits for the next block\n"
      "and tries again (saying so on stderr, for up to 30 blocks). Prints the uid it\n"
      "got and the block it landed in.",
      Concat({{{"name", "WALLET", "Wallet whose coldkey signs and owns the hotkey.", true},
               {"hotkey", "NAME",
                absl::StrCat("Hotkey of the wallet to register (default \"", kDefaultHotkeyName,
                             "\").")},
               {"hotkey-address", "ADDR",
                "Register this hotkey address instead (it must not belong to another coldkey)."},
               {"netuid", "N", "Subnet to register on.", true},
               {"pow", "", "Pay with a proof of work instead of a burn."},
               {"pow-threads", "N", "Threads for --pow (default: one per core)."},
               {"max-burn", "X", "Most tokens to burn (default: the current burn)."},
               JsonFlag()},
              ChainFlags(),
              WalletFlags()}),
      Register,
      {}};
}

}  // namespace agora::cli
