#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/entropy.h"
#include "util/text_file.h"

namespace attn {

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {
std::string fmt(double v, int prec = 3) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
}  // namespace

std::string heatmap_svg(const AttentionRecord& r, const std::string& title, const std::string& scale) {
  const bool sqrt_scale = scale == "sqrt";
  const int cell = 22;
  // The words' rows, then the step that emitted EOS when the search kept it.
  std::vector<std::string> labels = r.tgt;
  torch::Tensor rows = r.weights;
  if (r.eos_weights.defined() && r.weights.defined() && r.eos_weights.size(0) == r.weights.size(1)) {
    rows = torch::cat({r.weights, r.eos_weights.unsqueeze(0).to(r.weights.dtype())}, 0);
    labels.resize(static_cast<size_t>(r.weights.size(0)));
    labels.push_back("</s>");
  }
  auto w = rows.to(torch::kDouble).contiguous();
  int64_t T = w.size(0), S = w.size(1);
  auto a = w.accessor<double, 2>();
  auto h = row_entropies(w);
  // Margins from the longest labels (about 6.5 px a character at 11 px;
  // source labels are turned 60 degrees), so long tokens are not cut.
  size_t src_chars = 1, tgt_chars = 1;
  for (const auto& t : r.src) src_chars = std::max(src_chars, t.size());
  for (const auto& t : labels) tgt_chars = std::max(tgt_chars, t.size());
  const int title_h = title.empty() ? 0 : 20;
  const int left = 30 + static_cast<int>(6.5 * static_cast<double>(tgt_chars));
  const int top = title_h + 34 + static_cast<int>(5.7 * static_cast<double>(std::min<size_t>(src_chars, 40)));
  const int bar_x = left + static_cast<int>(S) * cell + 58, right = 110;
  int width = std::max(left + static_cast<int>(S) * cell + right,
                       title.empty() ? 0 : 12 + static_cast<int>(6.5 * static_cast<double>(title.size())));
  int height = top + std::max(static_cast<int>(T) * cell, 120) + 12;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty()) o << "<text x=\"4\" y=\"14\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
  // Axis titles: the source runs across, the output down.
  o << "<text x=\"" << left << "\" y=\"" << title_h + 14 << "\" fill=\"#555\">source \xE2\x86\x92</text>\n"
    << "<text transform=\"translate(12," << top + 4 << ") rotate(90)\" fill=\"#555\">target \xE2\x86\x92</text>\n";
  // Colour bar: weight 0 (white) to 1 (dark blue), the scale of every cell.
  o << "<defs><linearGradient id=\"wbar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\"><stop offset=\"0\" stop-color=\"rgb(255,255,255)\"/>"
       "<stop offset=\"1\" stop-color=\"rgb(0,0,255)\"/></linearGradient></defs>\n"
    << "<rect x=\"" << bar_x << "\" y=\"" << top << "\" width=\"12\" height=\"100\" fill=\"url(#wbar)\" stroke=\"#999\"/>\n";
  for (int k = 0; k <= 2; ++k)  // the weight at each third of the bar
    o << "<text x=\"" << bar_x + 16 << "\" y=\"" << top + 100 - 50 * k + 4 << "\" fill=\"#555\">"
      << fmt(sqrt_scale ? 0.25 * k * k : 0.5 * k, 2) << "</text>\n";
  o << "<text x=\"" << bar_x - 2 << "\" y=\"" << top - 6 << "\" fill=\"#555\">weight" << (sqrt_scale ? " (sqrt)" : "")
    << "</text>\n";
  for (int64_t s = 0; s < S; ++s) {
    std::string tok = s < static_cast<int64_t>(r.src.size()) ? r.src[s] : "";
    int x = left + static_cast<int>(s) * cell + cell / 2;
    o << "<text transform=\"translate(" << x << "," << top - 6 << ") rotate(-60)\">" << xml_escape(tok)
      << "</text>\n";
  }
  o << "<text x=\"" << left + S * cell + 4 << "\" y=\"" << top - 6 << "\" fill=\"#555\">H (nats)</text>\n";
  for (int64_t t = 0; t < T; ++t) {
    int y = top + static_cast<int>(t) * cell;
    std::string tok = t < static_cast<int64_t>(labels.size()) ? labels[t] : "";
    o << "<text x=\"" << left - 6 << "\" y=\"" << y + cell * 0.7 << "\" text-anchor=\"end\">" << xml_escape(tok)
      << "</text>\n";
    for (int64_t s = 0; s < S; ++s) {
      double v = a[t][s];
      int x = left + static_cast<int>(s) * cell;
      // Dark blue for weight 1, white for 0.
      double c = std::clamp(v, 0.0, 1.0);
      int shade = static_cast<int>(std::lround(255 * (1.0 - (sqrt_scale ? std::sqrt(c) : c))));
      o << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\"" << cell << "\" fill=\"rgb("
        << shade << "," << shade << ",255)\" stroke=\"#eee\"><title>"
        << xml_escape((t < static_cast<int64_t>(labels.size()) ? labels[t] : "") + " \xE2\x86\x90 " +
                      (s < static_cast<int64_t>(r.src.size()) ? r.src[s] : "") + ": " + fmt(v, 4))
        << "</title></rect>\n";
      if (r.gold && r.gold->possible.count({static_cast<int>(s), static_cast<int>(t)}))
        o << "<rect x=\"" << x + 1 << "\" y=\"" << y + 1 << "\" width=\"" << cell - 2 << "\" height=\"" << cell - 2
          << "\" fill=\"none\" stroke=\"#e4572e\" stroke-width=\"2\""
          << (r.gold->sure.count({static_cast<int>(s), static_cast<int>(t)}) ? "" : " stroke-dasharray=\"3,2\"")
          << "/>\n";
    }
    o << "<text x=\"" << left + S * cell + 6 << "\" y=\"" << y + cell * 0.7 << "\" fill=\"#555\">"
      << fmt(t < static_cast<int64_t>(h.size()) ? h[t] : 0.0, 2) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string attention_html(const std::string& title, const std::vector<HeatmapSection>& sections,
                           const std::string& scale) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << xml_escape(title) << "</title>\n"
    << "<style>body{font-family:sans-serif;margin:20px;color:#222}h2{margin-top:32px}"
    << ".s{display:inline-block;vertical-align:top;margin:8px;border:1px solid #ddd;padding:4px}"
    << "p.note{color:#555}</style></head><body>\n"
    << "<h1>" << xml_escape(title) << "</h1>\n"
    << "<p class=\"note\">Rows are target steps, columns source positions; darker = more weight (hover for the "
       "value). The number right of each row is the entropy of that step in nats.";
  bool gold = false;
  for (const auto& sec : sections)
    for (const auto& r : sec.records) gold = gold || r.gold.has_value();
  if (gold) o << " Red outlines mark gold alignments (dashed: possible).";
  o << "</p>\n";
  // An index: every drawn sentence, its length, a link to its map.
  o << "<p>Sentences:";
  for (size_t k = 0; k < sections.size(); ++k)
    for (const auto& r : sections[k].records)
      o << " <a href=\"#m" << k << "-" << r.id << "\">#" << r.id << "</a> (" << (r.src.empty() ? 0 : r.src.size() - 1)
        << " words)";
  o << "</p>\n";
  for (size_t k = 0; k < sections.size(); ++k) {
    const auto& sec = sections[k];
    if (!sec.heading.empty()) o << "<h2>" << xml_escape(sec.heading) << "</h2>\n";
    for (const auto& r : sec.records)
      o << "<div class=\"s\" id=\"m" << k << "-" << r.id << "\">" << heatmap_svg(r, "#" + std::to_string(r.id), scale)
        << "</div>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

int write_attention_files(const std::string& dir, const std::string& title, const std::vector<AttentionRecord>& recs,
                          int shown, const std::string& scale) {
  write_alignments_jsonl(dir + "/alignments.jsonl", recs);
  std::vector<AttentionRecord> drawn(recs.begin(), recs.begin() + std::min<long>(shown, static_cast<long>(recs.size())));
  write_file_atomic(dir + "/attention.html", attention_html(title, {{"", drawn}}, scale));
  for (const auto& r : drawn)
    write_file_atomic(dir + "/svg/sentence-" + std::to_string(r.id) + ".svg",
                      heatmap_svg(r, title + " #" + std::to_string(r.id), scale));
  return static_cast<int>(drawn.size());
}

double plot_top(const std::vector<Series>& series, double at_least) {
  double m = at_least;
  for (const auto& s : series)
    for (double y : s.y) m = std::max(m, y);
  return m * 1.05;
}

std::string line_plot_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                          const std::vector<Series>& series, double ymin, double ymax,
                          const std::vector<std::pair<double, std::string>>& xticks) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  const int W = 640, H = 400, L = 60, R = 160, T = 40, B = 50;
  double xmin = INFINITY, xmax = -INFINITY;
  for (const auto& s : series)
    for (double x : s.x) xmin = std::min(xmin, x), xmax = std::max(xmax, x);
  for (const auto& [x, label] : xticks) xmin = std::min(xmin, x), xmax = std::max(xmax, x);
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1;
  auto px = [&](double x) { return L + (x - xmin) / (xmax - xmin) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - ymin) / (ymax - ymin) * (H - T - B); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">" << xml_escape(title)
    << "</text>\n";
  for (int k = 0; k <= 5; ++k) {
    double y = ymin + (ymax - ymin) * k / 5.0;
    o << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << py(y) << "\" y2=\"" << py(y)
      << "\" stroke=\"#eee\"/><text x=\"" << L - 6 << "\" y=\"" << py(y) + 4 << "\" text-anchor=\"end\">"
      << fmt(y, 2) << "</text>\n";
    if (!xticks.empty()) continue;
    double x = xmin + (xmax - xmin) * k / 5.0;
    o << "<text x=\"" << px(x) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">" << fmt(x, 0)
      << "</text>\n";
  }
  for (const auto& [x, label] : xticks)
    o << "<line x1=\"" << px(x) << "\" x2=\"" << px(x) << "\" y1=\"" << H - B << "\" y2=\"" << H - B + 4
      << "\" stroke=\"#333\"/><text x=\"" << px(x) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\" "
      << "font-size=\"10\">" << xml_escape(label) << "</text>\n";
  o << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << H - B << "\" y2=\"" << H - B
    << "\" stroke=\"#333\"/><line x1=\"" << L << "\" x2=\"" << L << "\" y1=\"" << T << "\" y2=\"" << H - B
    << "\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">" << xml_escape(xlabel)
    << "</text>\n<text transform=\"translate(16," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << xml_escape(ylabel) << "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* c = colors[i % 6];
    std::string pts;
    for (size_t k = 0; k < s.x.size(); ++k) pts += fmt(px(s.x[k]), 1) + "," + fmt(py(s.y[k]), 1) + " ";
    o << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"" << pts << "\"/>\n";
    for (size_t k = 0; k < s.x.size(); ++k)
      o << "<circle cx=\"" << px(s.x[k]) << "\" cy=\"" << py(s.y[k]) << "\" r=\"3\" fill=\"" << c << "\"><title>"
        << xml_escape(s.name) << ": " << fmt(s.y[k], 3) << "</title></circle>\n";
    o << "<rect x=\"" << W - R + 12 << "\" y=\"" << T + 18 * i << "\" width=\"12\" height=\"12\" fill=\"" << c
      << "\"/><text x=\"" << W - R + 30 << "\" y=\"" << T + 18 * i + 10 << "\">" << xml_escape(s.name)
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace attn
