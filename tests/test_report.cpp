// Reports a person opens: SVG heatmaps, plots, and attention.html rendered
// by a real browser (Debian's chromium, headless) into a non-blank picture.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "eval/attention_record.h"
#include "report/compare_page.h"
#include "report/svg.h"
#include "test_util.h"
#include "util/text_file.h"

using namespace attn;
using json = nlohmann::json;

namespace {

AttentionRecord record() {
  AttentionRecord r;
  r.id = 7;
  r.src = {"a", "<b>", "c", "</s>"};
  r.tgt = {"c", "b", "a"};
  r.weights = torch::tensor(std::vector<float>{0, 0, 1, 0, 0, .9f, .1f, 0, .7f, .2f, 0, .1f}).view({3, 4});
  r.gold = parse_pharaoh("2-0 1-1 0?2");
  return r;
}

// Decodes an 8-bit RGB/RGBA PNG; returns the share of non-white pixels.
double non_white_share(const std::string& png) {
  auto u32 = [&](size_t p) {
    return (uint32_t(uint8_t(png[p])) << 24) | (uint32_t(uint8_t(png[p + 1])) << 16) |
           (uint32_t(uint8_t(png[p + 2])) << 8) | uint32_t(uint8_t(png[p + 3]));
  };
  uint32_t w = 0, h = 0;
  int channels = 0;
  std::string idat;
  for (size_t p = 8; p + 8 <= png.size();) {
    uint32_t len = u32(p);
    std::string type = png.substr(p + 4, 4);
    if (type == "IHDR") {
      w = u32(p + 8), h = u32(p + 12);
      EXPECT_EQ(uint8_t(png[p + 16]), 8) << "bit depth";
      int ct = uint8_t(png[p + 17]);
      channels = ct == 6 ? 4 : ct == 2 ? 3 : 0;
    }
    if (type == "IDAT") idat += png.substr(p + 8, len);
    p += 12 + len;
  }
  if (!w || !channels) return -1;
  size_t stride = w * channels;
  std::string raw((stride + 1) * h, '\0');
  uLongf n = raw.size();
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK)
    return -1;
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  size_t dark = 0;
  for (uint32_t y = 0; y < h; ++y) {
    uint8_t f = uint8_t(raw[y * (stride + 1)]);
    for (size_t x = 0; x < stride; ++x) {
      int a = x >= size_t(channels) ? cur[x - channels] : 0, b = prev[x], c = x >= size_t(channels) ? prev[x - channels] : 0;
      int v = uint8_t(raw[y * (stride + 1) + 1 + x]);
      int pr = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : [&] {
        int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }();
      cur[x] = uint8_t(v + pr);
    }
    for (uint32_t x = 0; x < w; ++x)
      if (cur[x * channels] < 230 || cur[x * channels + 1] < 230 || cur[x * channels + 2] < 230) ++dark;
    prev = cur;
  }
  return double(dark) / (double(w) * h);
}

}  // namespace

TEST(Report, HeatmapSvgHasCellsTokensEntropyAndGold) {
  std::string svg = heatmap_svg(record(), "demo");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t cells = 0;
  for (size_t p = svg.find("<title>"); p != std::string::npos; p = svg.find("<title>", p + 1)) ++cells;
  EXPECT_EQ(cells, 12u);
  EXPECT_NE(svg.find("&lt;b&gt;"), std::string::npos);     // tokens escaped
  EXPECT_NE(svg.find("rgb(0,0,255)"), std::string::npos);  // weight 1 is darkest
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);  // possible link dashed
  EXPECT_NE(svg.find(">0.33<"), std::string::npos);         // entropy of row 2 (0.9/0.1)
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);  // scales as a whole
  EXPECT_NE(svg.find("fill=\"url(#wbar)\""), std::string::npos);  // colour bar
  EXPECT_NE(svg.find("source \xE2\x86\x92"), std::string::npos);   // axis titles
  EXPECT_NE(svg.find("target \xE2\x86\x92"), std::string::npos);
}

TEST(Report, HeatmapDrawsTheEndOfSentenceStepAsALastRow) {
  AttentionRecord r = record();
  size_t before = 0, after = 0;
  std::string a = heatmap_svg(r);
  for (size_t p = a.find("<title>"); p != std::string::npos; p = a.find("<title>", p + 1)) ++before;
  r.eos_weights = torch::tensor(std::vector<float>{0, 0, 0, 1});
  std::string b = heatmap_svg(r);
  for (size_t p = b.find("<title>"); p != std::string::npos; p = b.find("<title>", p + 1)) ++after;
  EXPECT_EQ(after, before + 4);  // one more row of 4 cells
  EXPECT_NE(b.find("&lt;/s&gt; \xE2\x86\x90 &lt;/s&gt;: 1.0000"), std::string::npos);  // EOS row, EOS column
  auto j = r.to_json();
  EXPECT_EQ(j["eos_weights"], json({0.0, 0.0, 0.0, 1.0}));
  EXPECT_EQ(j["weights"].size(), 3u);  // the word rows stay as they were
  EXPECT_EQ(j["hard_links"].size(), 3u);
}

TEST(Report, HeatmapSqrtScaleShowsSmallWeights) {
  AttentionRecord r = record();
  r.weights = torch::tensor(std::vector<float>{0.04f, 0.96f, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}).view({3, 4});
  // 0.04: linear shade 245 (near white), sqrt shade 204 (0.2 of the way to blue).
  EXPECT_NE(heatmap_svg(r).find("rgb(245,245,255)"), std::string::npos);
  std::string s = heatmap_svg(r, "", "sqrt");
  EXPECT_NE(s.find("rgb(204,204,255)"), std::string::npos);
  EXPECT_NE(s.find(">0.25<"), std::string::npos);  // the bar's middle is weight 0.25
  EXPECT_NE(s.find("weight (sqrt)"), std::string::npos);
}

TEST(Report, HeatmapMarginsGrowWithTheLongestLabels) {
  auto width_of = [](const std::string& svg) { return std::stoi(svg.substr(svg.find("width=\"") + 7)); };
  auto height_of = [](const std::string& svg) { return std::stoi(svg.substr(svg.find("height=\"") + 8)); };
  AttentionRecord r = record(), longer = record();
  longer.tgt[0] = std::string(40, 'x');
  longer.src[0] = std::string(30, 'y');
  std::string a = heatmap_svg(r), b = heatmap_svg(longer);
  EXPECT_GE(width_of(b) - width_of(a), 35 * 6);   // the target labels' margin
  EXPECT_GE(height_of(b) - height_of(a), 25 * 5);  // the turned source labels' margin
}

TEST(Report, AlignmentJsonLine) {
  auto j = record().to_json();
  EXPECT_EQ(j["id"], 7);
  EXPECT_EQ(j["weights"].size(), 3u);
  EXPECT_EQ(j["format"], "attn.attention/2");
  EXPECT_EQ(j["hard_links"], json({{2, 0}, {1, 1}, {0, 2}}));  // [source, target], no strings to parse
  EXPECT_EQ(j["entropy"][0], 0.0);
  EXPECT_NEAR(j["entropy_normalised"][1].get<double>(), (-(0.9 * std::log(0.9)) - 0.1 * std::log(0.1)) / std::log(4.0), 1e-6);
  EXPECT_EQ(j["gold_sure"], json({{1, 1}, {2, 0}}));  // sorted by source position
  EXPECT_EQ(j["gold_possible"], json({{0, 2}}));      // possible-only links are kept apart
  EXPECT_FALSE(j.contains("reference"));              // unknown here (translate)
  AttentionRecord r = record();
  r.reference = {"c", "b", "a"};
  r.model = "bahdanau, additive attention";
  r.score = -1.5;
  auto k = r.to_json();
  EXPECT_EQ(k["correct"], true);
  EXPECT_EQ(k["model"], "bahdanau, additive attention");
  EXPECT_EQ(k["score"], -1.5);
  r.reference = {"c", "b", "b"};
  EXPECT_EQ(r.to_json()["correct"], false);
}

TEST(Report, LinePlot) {
  std::string svg = line_plot_svg("t", "x", "y", {{"m1", {1, 2}, {0.5, 1}}, {"m2", {1, 2}, {0, 0.2}}}, 0, 1);
  EXPECT_EQ(svg.find("<polyline", svg.find("<polyline") + 1) != std::string::npos, true);
  EXPECT_NE(svg.find(">m2<"), std::string::npos);
  // Bucket ticks: at the given centres with their labels, instead of evenly spaced numbers.
  std::string b = line_plot_svg("t", "x", "y", {{"m", {5.5, 15.5}, {0.5, 1}}}, 0, 1, {{5.5, "1-10 (3)"}, {15.5, "11-20 (7)"}});
  EXPECT_NE(b.find(">1-10 (3)<"), std::string::npos);
  EXPECT_NE(b.find(">11-20 (7)<"), std::string::npos);
  EXPECT_EQ(b.find(">10<"), std::string::npos);  // no evenly spaced number ticks
}

namespace {
// Two models over four sentences of growing length (references "w0", "w0 w1", ...): the first model is
// wrong on #1 only, the second (no attention, like the bottleneck) on #1 and #3.
std::vector<PageModel> two_models(std::vector<std::vector<std::string>>& refs) {
  std::vector<PageModel> ms = {{"att", "bahdanau, additive attention", {}}, {"base", "bottleneck (no attention)", {}}};
  refs.clear();
  for (int i = 0; i < 4; ++i) {
    std::vector<std::string> ref;
    for (int k = 0; k <= i; ++k) ref.push_back("w" + std::to_string(k));
    refs.push_back(ref);
    for (size_t m = 0; m < 2; ++m) {
      AttentionRecord r;
      r.id = i;
      r.src = ref;
      r.src.push_back("</s>");
      r.tgt = ref;
      if (i == 1 || (m == 1 && i == 3)) r.tgt.back() = "bad";
      if (m == 0) r.weights = torch::full({static_cast<int64_t>(r.tgt.size()), static_cast<int64_t>(r.src.size())},
                                          1.0f / static_cast<float>(r.src.size()));
      ms[m].records.push_back(r);
    }
  }
  return ms;
}
}  // namespace

TEST(Report, ComparisonPicksDisagreementsAndFailuresFirst) {
  std::vector<std::vector<std::string>> refs;
  auto ms = two_models(refs);
  // #3: one right, one wrong (a disagreement); #1: both wrong (a failure); then the length spread.
  EXPECT_EQ(pick_comparison_sentences(ms, refs, 2), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(pick_comparison_sentences(ms, refs, 1), (std::vector<size_t>{3}));
  EXPECT_EQ(pick_comparison_sentences(ms, refs, 10).size(), 4u);  // never more than there are
  EXPECT_TRUE(pick_comparison_sentences(ms, refs, 0).empty());
}

TEST(Report, ComparisonPageHasAnIndexAndOneRowPerSentenceWithEveryModel) {
  std::vector<std::vector<std::string>> refs;
  auto ms = two_models(refs);
  std::string html = comparison_html("cmp", ms, refs, {1, 3});
  size_t index_end = html.find("</table>");
  ASSERT_NE(index_end, std::string::npos);
  std::string index = html.substr(0, index_end);
  EXPECT_NE(index.find("href=\"#s1\""), std::string::npos);
  EXPECT_NE(index.find("href=\"#s3\""), std::string::npos);
  EXPECT_EQ(index.find("href=\"#s2\""), std::string::npos);
  // Row #3: the first model right, the second wrong, its last token marked.
  size_t row3 = html.find("id=\"s3\"");
  ASSERT_NE(row3, std::string::npos);
  std::string r3 = html.substr(row3);
  EXPECT_NE(r3.find("att <span class=\"ok\">right"), std::string::npos);
  EXPECT_NE(r3.find("base <span class=\"bad\">wrong"), std::string::npos);
  EXPECT_NE(r3.find("w0 w1 w2 <span class=\"wrong\">bad</span>"), std::string::npos);
  EXPECT_NE(r3.find("<td>reference</td><td>w0 w1 w2 w3</td>"), std::string::npos);
  // One map per row for the model with attention, none for the other.
  size_t maps = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++maps;
  EXPECT_EQ(maps, 2u);
  EXPECT_NE(html.find("bottleneck (no attention)"), std::string::npos);  // models named
}

TEST(Report, AttentionAndComparisonPagesRenderInHeadlessChromium) {
  const char* chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) GTEST_SKIP() << "chromium not installed (scripts/setup.sh --test installs it)";
  attn::test::TempDir d;
  std::vector<std::vector<std::string>> refs;
  auto models = two_models(refs);
  write_file_atomic(d.path("attention.html"), attention_html("test page", {{"model", {record(), record()}}}));
  write_file_atomic(d.path("compare.html"), comparison_html("compare page", models, refs, {1, 3}));
  for (const char* page : {"attention.html", "compare.html"}) {
    std::string png = d.path(std::string(page) + ".png");
    std::string cmd = std::string(chromium) +
                      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
                      " --disable-component-update --disable-sync --hide-scrollbars --user-data-dir=" + d.path("profile") +
                      " --window-size=900,700 --screenshot=" + png + " file://" + d.path(page) + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << page;
    ASSERT_TRUE(std::filesystem::exists(png)) << page;
    double share = non_white_share(read_file(png));
    EXPECT_GT(share, 0.01) << page << " rendered (almost) blank";
    EXPECT_LT(share, 0.9) << page;
  }
}
