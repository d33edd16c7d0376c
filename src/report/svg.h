// Self-contained SVG and HTML: heatmaps of attention and line plots, written
// by hand so no plotting dependency is needed at run time.
#pragma once
#include <string>
#include <vector>

#include "eval/attention_record.h"

namespace attn {

std::string xml_escape(const std::string& s);

// Source across, target down, shade = weight, <title> shows the value on
// hover, per-step entropy to the right, gold links outlined.
// scale "sqrt" colours a cell by the square root of its weight, so small
// weights (under about 0.05, invisible on the linear scale) show.
std::string heatmap_svg(const AttentionRecord& r, const std::string& title = "", const std::string& scale = "linear");

// A page of heatmaps, one per record, grouped under headings.
struct HeatmapSection {
  std::string heading;
  std::vector<AttentionRecord> records;
};
std::string attention_html(const std::string& title, const std::vector<HeatmapSection>& sections,
                           const std::string& scale = "linear");

// DIR/alignments.jsonl (every record), DIR/attention.html and DIR/svg/*.svg
// (the first `shown` records): what translate and evaluate dump. `title`
// names the model, checkpoint and decoding on the page and in every SVG.
// Returns how many were drawn.
int write_attention_files(const std::string& dir, const std::string& title, const std::vector<AttentionRecord>& recs,
                          int shown, const std::string& scale = "linear");

struct Series {
  std::string name;
  std::vector<double> x, y;
};

// A y-axis top for plotting `series`: 5 % above the largest value, and at
// least `at_least` * 1.05 (so an empty or flat plot still has a scale).
double plot_top(const std::vector<Series>& series, double at_least);
// x ticks: five evenly spaced numbers, or, when `xticks` is given, exactly
// those positions with those labels (length buckets: "1-10 (143)" at 5.5).
std::string line_plot_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                          const std::vector<Series>& series, double ymin, double ymax,
                          const std::vector<std::pair<double, std::string>>& xticks = {});

}  // namespace attn
