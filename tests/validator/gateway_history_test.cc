// The dashboard's pieces that need no server: the history ring, the latency
// window, and the embedded files.
#include <cmath>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "validator/dashboard_assets.h"
#include "validator/gateway_history.h"

namespace agora::validator {
namespace {

// absl::string_view is not std::string_view in every Abseil build.
bool Has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

HistoryPoint Point(uint64_t block, size_t neurons = 3) {
  HistoryPoint p;
  p.block = block;
  p.epoch = block / 10;
  p.step = block;
  p.time_ms = 1'700'000'000'000 + block;
  for (size_t i = 0; i < neurons; ++i) {
    p.neurons.push_back(HistoryNeuron{static_cast<uint16_t>(i), 0.25 * static_cast<double>(i),
                                      1000 * i, i == 0, i == 0 ? 0.75 : 0.0});
  }
  return p;
}

TEST(HistoryTest, ServesPointsOldestFirstWithTheirNumbers) {
  History h(10);
  EXPECT_EQ(nlohmann::json::parse(h.Json())["points"].size(), 0u);
  HistoryPoint p = Point(7);
  p.latency = LatencySummary{4, 12.5, 40.0};
  ASSERT_TRUE(h.Add(p));
  ASSERT_TRUE(h.Add(Point(8)));
  const nlohmann::json j = nlohmann::json::parse(h.Json());
  EXPECT_EQ(j["capacity"], 10);
  ASSERT_EQ(j["points"].size(), 2u);
  const nlohmann::json& first = j["points"][0];
  EXPECT_EQ(first["block"], 7);
  EXPECT_EQ(first["epoch"], 0);
  EXPECT_EQ(first["uids"], nlohmann::json({0, 1, 2}));
  EXPECT_EQ(first["incentive"], nlohmann::json({0.0, 0.25, 0.5}));
  EXPECT_EQ(first["emission"], nlohmann::json({0, 1000, 2000}));
  // Only validators (a permit) are in the agreement series.
  ASSERT_EQ(first["validators"].size(), 1u);
  EXPECT_EQ(first["validators"][0]["uid"], 0);
  EXPECT_EQ(first["validators"][0]["validator_trust"], 0.75);
  EXPECT_EQ(first["latency"]["count"], 4);
  EXPECT_EQ(first["latency"]["p50_ms"], 12.5);
  EXPECT_EQ(first["latency"]["p99_ms"], 40.0);
  // No completions in an interval: no percentiles, not zeros.
  EXPECT_EQ(j["points"][1]["latency"]["count"], 0);
  EXPECT_TRUE(j["points"][1]["latency"]["p50_ms"].is_null());
}

TEST(HistoryTest, SameBlockIsNotANewPoint) {
  History h(10);
  EXPECT_TRUE(h.Add(Point(5)));
  EXPECT_FALSE(h.Add(Point(5)));
  EXPECT_EQ(h.last_block(), 5u);
  EXPECT_TRUE(h.Add(Point(6)));
  EXPECT_EQ(h.size(), 2u);
}

TEST(HistoryTest, IsBoundedInPointsAndNeurons) {
  History h(4);
  for (uint64_t b = 1; b <= 50; ++b) h.Add(Point(b));
  EXPECT_EQ(h.size(), 4u);
  nlohmann::json j = nlohmann::json::parse(h.Json());
  ASSERT_EQ(j["points"].size(), 4u);
  EXPECT_EQ(j["points"][0]["block"], 47);  // the oldest were dropped
  EXPECT_EQ(j["points"][3]["block"], 50);

  h.Add(Point(51, 5000));  // a subnet far larger than the chain allows by default
  j = nlohmann::json::parse(h.Json());
  EXPECT_EQ(j["points"][3]["uids"].size(), kMaxHistoryNeurons);
  EXPECT_EQ(j["points"][3]["incentive"].size(), kMaxHistoryNeurons);
}

TEST(LatencyWindowTest, PercentilesOfTheIntervalThenStartsOver) {
  LatencyWindow w;
  for (int ms = 1; ms <= 100; ++ms) w.Add(ms);
  LatencySummary s = w.Take();
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50_ms, 50);  // nearest rank
  EXPECT_EQ(s.p99_ms, 99);
  s = w.Take();
  EXPECT_EQ(s.count, 0u);
  w.Add(7);
  s = w.Take();
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.p50_ms, 7);
  EXPECT_EQ(s.p99_ms, 7);
}

TEST(LatencyWindowTest, KeepsAFixedSampleOfABusyInterval) {
  LatencyWindow w;
  // 10x the sample size, half fast and half slow, interleaved: the sample
  // must still see both halves.
  const size_t n = 10 * kLatencySamples;
  for (size_t i = 0; i < n; ++i) w.Add(i % 2 == 0 ? 10.0 : 1000.0);
  w.Add(std::nan(""));  // ignored
  const LatencySummary s = w.Take();
  EXPECT_EQ(s.count, n);
  EXPECT_EQ(s.p99_ms, 1000.0);
  EXPECT_TRUE(s.p50_ms == 10.0 || s.p50_ms == 1000.0);
}

TEST(DashboardAssetsTest, EmbedsThePageAndItsAssets) {
  const EmbeddedFile* index = FindDashboardFile("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->data.starts_with("<!doctype html>"));
  EXPECT_TRUE(Has(index->data, "/dashboard/app.js"));
  EXPECT_TRUE(Has(index->data, "/dashboard/style.css"));
  EXPECT_TRUE(Has(index->data, "</html>"));  // whole, not cut
  const EmbeddedFile* js = FindDashboardFile("app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_TRUE(Has(js->data, "/history"));
  // Offline: nothing is loaded from anywhere but the gateway.
  for (const EmbeddedFile& f : DashboardFiles()) {
    EXPECT_FALSE(Has(f.data, "https://")) << f.name;
    EXPECT_FALSE(Has(f.data, "//cdn")) << f.name;
  }
  EXPECT_NE(FindDashboardFile("style.css"), nullptr);
  EXPECT_EQ(FindDashboardFile("embed.cmake"), nullptr);
  EXPECT_EQ(FindDashboardFile("../gateway.cc"), nullptr);
  EXPECT_EQ(FindDashboardFile(""), nullptr);
  EXPECT_EQ(DashboardContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(DashboardContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(DashboardContentType("style.css"), "text/css; charset=utf-8");
}

}  // namespace
}  // namespace agora::validator
