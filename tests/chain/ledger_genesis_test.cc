// Tests of chain/genesis.h: a good genesis parses into the expected state;
// every malformed input is refused with InvalidArgument naming the key.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "chain/genesis.h"
#include "gtest/gtest.h"
#include "tests/chain/ledger_test_util.h"

namespace agora::chain {
namespace {

using testing::Addr;
using testing::GenesisText;
using testing::TestKey;

constexpr Amount kToken = kUnitsPerToken;

class GenesisTest : public ::testing::Test {
 protected:
  GenesisTest()
      : owner_(TestKey("owner")), owner_hot_(TestKey("owner-hot")), alice_(TestKey("alice")) {}

  // A valid genesis in which "@X@" placeholders can be swapped for bad values.
  std::string Good() const {
    return absl::StrCat(
        "chain_id = \"agora-test\"\n"
        "block_interval_ms = 250\n"
        "[[accounts]]\n"
        "address = \"", Addr(owner_), "\"\n"
        "balance = 1000000000000\n"
        "[[accounts]]\n"
        "address = \"", Addr(alice_), "\"\n"
        "balance = 5\n"
        "[[subnets]]\n"
        "netuid = 1\n"
        "name = \"text\"\n"
        "owner = \"", Addr(owner_), "\"\n"
        "owner_hotkey = \"", Addr(owner_hot_), "\"\n"
        "[subnets.params]\n"
        "tempo = 12\n"
        "kappa = 30000\n"
        "yuma3 = false\n"
        "commit_reveal = true\n"
        "max_allowed_uids = 64\n"
        "emission_per_block = 2000000000\n"
        "burn = 500\n"
        "min_burn = 1000\n"
        "max_burn = 100000\n"
        "[[subnets]]\n"
        "netuid = 3\n"
        "owner = \"", Addr(alice_), "\"\n");
  }

  SigningKey owner_, owner_hot_, alice_;
};

TEST_F(GenesisTest, GoodFileParses) {
  const std::string text = Good();
  absl::StatusOr<Genesis> g = ParseGenesis(text, "good.toml");
  ASSERT_TRUE(g.ok()) << g.status();
  const ChainState& s = g->state;
  EXPECT_EQ(s.chain_id, "agora-test");
  EXPECT_EQ(g->block_interval_ms, 250u);
  EXPECT_EQ(g->hash, Blake2b256(text));
  EXPECT_EQ(s.height, 0u);
  EXPECT_EQ(s.accounts.at(owner_.public_key()).balance, 1000 * kToken);
  EXPECT_EQ(s.accounts.at(alice_.public_key()).balance, 5u);
  EXPECT_EQ(s.total_issuance, 1000 * kToken + 5);
  EXPECT_EQ(s.total_issuance, CirculatingTotal(s));
  ASSERT_EQ(s.subnets.size(), 2u);
  const SubnetState& sn = s.subnets.at(1);
  EXPECT_EQ(sn.netuid, 1);
  EXPECT_EQ(sn.name, "text");
  EXPECT_EQ(sn.owner_coldkey, owner_.public_key());
  EXPECT_EQ(sn.owner_hotkey, owner_hot_.public_key());
  EXPECT_EQ(sn.params.tempo, 12u);
  EXPECT_EQ(sn.params.kappa, 30000);
  EXPECT_FALSE(sn.params.yuma3);
  EXPECT_TRUE(sn.params.commit_reveal);
  EXPECT_EQ(sn.params.max_allowed_uids, 64);
  EXPECT_EQ(sn.params.emission_per_block, 2 * kToken);
  EXPECT_EQ(sn.params.burn, 1000u) << "clamped into [min_burn, max_burn]";
  EXPECT_TRUE(sn.neurons.empty());
  // Unset parameters keep the defaults.
  EXPECT_EQ(sn.params.immunity_period, SubnetParams{}.immunity_period);
  const SubnetState& sn3 = s.subnets.at(3);
  EXPECT_EQ(sn3.owner_coldkey, alice_.public_key());
  EXPECT_FALSE(sn3.owner_hotkey.has_value());
  EXPECT_EQ(sn3.params.tempo, SubnetParams{}.tempo);
  // The owner hotkey belongs to the owner coldkey from genesis on.
  EXPECT_EQ(s.hotkey_owner.at(owner_hot_.public_key()), owner_.public_key());
}

TEST_F(GenesisTest, HashIdentifiesTheText) {
  absl::StatusOr<Genesis> a = ParseGenesis(Good(), "a");
  absl::StatusOr<Genesis> b = ParseGenesis(Good() + "\n# a comment\n", "b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(StateRoot(a->state), StateRoot(b->state));
  EXPECT_NE(a->hash, b->hash);
}

TEST_F(GenesisTest, AccountsAndSubnetsAreOptional) {
  absl::StatusOr<Genesis> g = ParseGenesis("chain_id = \"x\"\n", "min.toml");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->state.total_issuance, 0u);
  EXPECT_EQ(g->block_interval_ms, 1000u);
}

struct BadCase {
  std::string what;
  std::string from;  // replaced in Good() (first occurrence)...
  std::string to;    // ...by this
  std::string key;   // the message must name this key
};

TEST_F(GenesisTest, EveryMalformedInputNamesTheKey) {
  const std::string alice = Addr(alice_);
  std::string typo = alice;
  typo[10] = typo[10] == 'x' ? 'y' : 'x';
  const std::vector<BadCase> cases = {
      {"unknown top-level key", "block_interval_ms = 250", "block_interval = 250", "block_interval"},
      {"unknown subnet key", "name = \"text\"", "nmae = \"text\"", "subnets[0].nmae"},
      {"unknown parameter", "tempo = 12", "tempoo = 12", "subnets[0].params.tempoo"},
      {"unknown account key", "balance = 5", "balance = 5\nnonce = 3", "accounts[1].nonce"},
      {"chain_id not a string", "chain_id = \"agora-test\"", "chain_id = 7", "chain_id"},
      {"empty chain_id", "chain_id = \"agora-test\"", "chain_id = \"\"", "chain_id"},
      {"missing chain_id", "chain_id = \"agora-test\"", "", "chain_id"},
      {"interval a string", "block_interval_ms = 250", "block_interval_ms = \"250\"",
       "block_interval_ms"},
      {"interval too small", "block_interval_ms = 250", "block_interval_ms = 5", "block_interval_ms"},
      {"interval a float", "block_interval_ms = 250", "block_interval_ms = 250.0",
       "block_interval_ms"},
      {"tempo a string", "tempo = 12", "tempo = \"12\"", "subnets[0].params.tempo"},
      {"tempo zero", "tempo = 12", "tempo = 0", "subnets[0].params.tempo"},
      {"tempo negative", "tempo = 12", "tempo = -12", "subnets[0].params.tempo"},
      {"yuma3 not a bool", "yuma3 = false", "yuma3 = 0", "subnets[0].params.yuma3"},
      {"kappa over u16", "kappa = 30000", "kappa = 65536", "subnets[0].params.kappa"},
      {"max_allowed_uids over 4096", "max_allowed_uids = 64", "max_allowed_uids = 4097",
       "subnets[0].params.max_allowed_uids"},
      {"emission over the supply limit", "emission_per_block = 2000000000",
       "emission_per_block = 1000000000000000001", "subnets[0].params.emission_per_block"},
      {"min_burn above max_burn", "min_burn = 1000", "min_burn = 1000000",
       "subnets[0].params.min_burn"},
      {"params not a table", "[subnets.params]\n", "params = 5\n[subnets.whatever]\n",
       "subnets[0].params"},
      {"balance negative", "balance = 5", "balance = -5", "accounts[1].balance"},
      {"balance a float", "balance = 5", "balance = 5.0", "accounts[1].balance"},
      {"balance over the limit", "balance = 5", "balance = 1000000000000000001",
       "accounts[1].balance"},
      // Not even TOML (integers are i64): the error names the file and line instead.
      {"balance past i64", "balance = 5", "balance = 9223372036854775808", "good.toml:8:"},
      {"over-supply", "balance = 5", "balance = 999999000000000001", "accounts[1].balance"},
      {"missing balance", "balance = 5\n", "", "accounts[1].balance"},
      {"missing address", absl::StrCat("address = \"", alice, "\"\n"), "", "accounts[1].address"},
      {"address not a string", absl::StrCat("address = \"", alice, "\""), "address = 12",
       "accounts[1].address"},
      {"address with a typo", absl::StrCat("address = \"", alice, "\""),
       absl::StrCat("address = \"", typo, "\""), "accounts[1].address"},
      {"address of another format", absl::StrCat("address = \"", alice, "\""),
       "address = \"0x1234\"", "accounts[1].address"},
      {"duplicate account", absl::StrCat("address = \"", alice, "\""),
       absl::StrCat("address = \"", Addr(owner_), "\""), "accounts[1].address"},
      {"accounts not an array",
       absl::StrCat("[[accounts]]\naddress = \"", Addr(owner_), "\"\nbalance = 1000000000000\n",
                    "[[accounts]]\naddress = \"", alice, "\"\nbalance = 5\n"),
       "accounts = 3\n", "accounts"},
      {"bad owner address", absl::StrCat("owner = \"", Addr(owner_), "\""), "owner = \"ag\"",
       "subnets[0].owner"},
      {"bad owner_hotkey", absl::StrCat("owner_hotkey = \"", Addr(owner_hot_), "\""),
       "owner_hotkey = true", "subnets[0].owner_hotkey"},
      {"missing owner", absl::StrCat("owner = \"", alice, "\"\n"), "", "subnets[1].owner"},
      {"missing netuid", "netuid = 3\n", "", "subnets[1].netuid"},
      {"duplicate netuid", "netuid = 3", "netuid = 1", "subnets[1].netuid"},
      {"netuid over u16", "netuid = 3", "netuid = 65536", "subnets[1].netuid"},
      {"netuid negative", "netuid = 3", "netuid = -1", "subnets[1].netuid"},
      {"name too long", "name = \"text\"", absl::StrCat("name = \"", std::string(65, 'n'), "\""),
       "subnets[0].name"},
      {"not TOML", "tempo = 12", "tempo = = 12", "good.toml:"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    std::string text = Good();
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    absl::StatusOr<Genesis> g = ParseGenesis(text, "good.toml");
    ASSERT_FALSE(g.ok()) << text;
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
    EXPECT_TRUE(absl::StrContains(g.status().message(), c.key))
        << "message '" << g.status().message() << "' does not name '" << c.key << "'";
  }
}

TEST_F(GenesisTest, OversizeTextIsRefusedBeforeParsing) {
  const std::string huge = Good() + "# " + std::string(5u << 20, 'x') + "\n";
  absl::StatusOr<Genesis> g = ParseGenesis(huge, "huge.toml");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "huge.toml")) << g.status();
}

TEST_F(GenesisTest, TwoSubnetsCannotClaimOneOwnerHotkeyForDifferentOwners) {
  const std::string text = absl::StrCat(
      "chain_id = \"x\"\n[[subnets]]\nnetuid = 1\nowner = \"", Addr(owner_), "\"\nowner_hotkey = \"",
      Addr(owner_hot_), "\"\n[[subnets]]\nnetuid = 2\nowner = \"", Addr(alice_),
      "\"\nowner_hotkey = \"", Addr(owner_hot_), "\"\n");
  absl::StatusOr<Genesis> g = ParseGenesis(text, "g");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "subnets[1].owner_hotkey")) << g.status();
}

TEST_F(GenesisTest, LoadGenesisReportsAMissingFile) {
  absl::StatusOr<Genesis> g = LoadGenesis("/nonexistent/agora/genesis.toml");
  EXPECT_FALSE(g.ok());
}

}  // namespace
}  // namespace agora::chain
