#include "report/compare_page.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>
#include <sstream>

#include "eval/entropy.h"
#include "report/svg.h"

namespace attn {

namespace {

bool correct(const AttentionRecord& r, const std::vector<std::string>& ref) { return r.tgt == ref; }

// Mean entropy (nats) of a record's rows, or -1 without attention.
double mean_entropy(const AttentionRecord& r) {
  if (!r.weights.defined() || r.weights.numel() == 0) return -1;
  auto h = row_entropies(r.weights);
  return h.empty() ? -1 : std::accumulate(h.begin(), h.end(), 0.0) / static_cast<double>(h.size());
}

std::string f2(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string join_tokens(const std::vector<std::string>& t) {
  std::string s;
  for (const auto& x : t) s += (s.empty() ? "" : " ") + xml_escape(x);
  return s;
}

// The output with each token that differs from the reference at its position marked.
std::string marked_output(const std::vector<std::string>& out, const std::vector<std::string>& ref) {
  std::string s;
  for (size_t k = 0; k < out.size(); ++k) {
    bool wrong = k >= ref.size() || out[k] != ref[k];
    s += (k ? " " : "") + (wrong ? "<span class=\"wrong\">" + xml_escape(out[k]) + "</span>" : xml_escape(out[k]));
  }
  if (out.size() < ref.size()) s += " <span class=\"wrong\">(" + std::to_string(ref.size() - out.size()) + " missing)</span>";
  return s.empty() ? "<i>(empty)</i>" : s;
}

// k evenly spaced picks from `from` (already in the order wanted).
void take_spread(const std::vector<size_t>& from, size_t k, std::vector<size_t>& out, std::set<size_t>& taken) {
  std::vector<size_t> left;
  for (size_t i : from)
    if (!taken.count(i)) left.push_back(i);
  k = std::min(k, left.size());
  for (size_t j = 0; j < k; ++j) {
    size_t i = left[k == 1 ? left.size() / 2 : j * (left.size() - 1) / (k - 1)];
    if (taken.insert(i).second) out.push_back(i);
  }
}

}  // namespace

std::vector<size_t> pick_comparison_sentences(const std::vector<PageModel>& models,
                                              const std::vector<std::vector<std::string>>& references, int n) {
  std::vector<size_t> by_length(references.size());
  std::iota(by_length.begin(), by_length.end(), size_t{0});
  auto src_len = [&](size_t i) {
    for (const auto& m : models)
      if (i < m.records.size()) return m.records[i].src.size();
    return size_t{0};
  };
  std::stable_sort(by_length.begin(), by_length.end(), [&](size_t a, size_t b) { return src_len(a) < src_len(b); });
  std::vector<size_t> disagree, failed;
  for (size_t i : by_length) {
    int right = 0, wrong = 0;
    for (const auto& m : models)
      if (i < m.records.size()) (correct(m.records[i], references[i]) ? right : wrong)++;
    if (right && wrong) disagree.push_back(i);
    if (wrong) failed.push_back(i);
  }
  std::vector<size_t> out;
  std::set<size_t> taken;
  if (n <= 0) return out;
  const size_t want = static_cast<size_t>(n), third = (want + 2) / 3;
  take_spread(disagree, third, out, taken);
  take_spread(failed, std::min(third, want - out.size()), out, taken);
  take_spread(by_length, want - out.size(), out, taken);
  std::stable_sort(out.begin(), out.end(), [&](size_t a, size_t b) { return src_len(a) < src_len(b); });
  return out;
}

std::string comparison_html(const std::string& title, const std::vector<PageModel>& models,
                            const std::vector<std::vector<std::string>>& references, const std::vector<size_t>& show,
                            const std::string& scale) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << xml_escape(title) << "</title>\n"
    << "<style>body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse}"
       "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}.ok{color:#1a7f37}.bad{color:#cf222e}"
       ".wrong{background:#ffd7d5;color:#cf222e}.row{border-top:2px solid #888;margin-top:24px;padding-top:8px}"
       ".maps{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.m{border:1px solid #ddd;padding:4px}"
       "p.note{color:#555}.text td:first-child{color:#555;white-space:nowrap}</style></head><body>\n"
    << "<h1>" << xml_escape(title) << "</h1>\n"
    << "<p class=\"note\">Models: ";
  for (size_t k = 0; k < models.size(); ++k)
    o << (k ? "; " : "") << "<b>" << xml_escape(models[k].name) << "</b> (" << xml_escape(models[k].summary) << ")";
  o << ". Each row shows one test sentence: the source, the reference and every model's greedy output (tokens that "
       "differ from the reference at their position in red), then the models' attention maps side by side at the "
       "same scale (rows: output tokens; columns: source tokens and EOS; darker = more weight; the number right of "
       "each row is its entropy in nats; red outlines: gold links, dashed: possible). Sentences were picked where "
       "the models disagree, where one fails, and across lengths.</p>\n";
  // Index.
  o << "<table><tr><th>sentence</th><th>source length</th>";
  for (const auto& m : models) o << "<th>" << xml_escape(m.name) << "</th>";
  o << "</tr>\n";
  for (size_t i : show) {
    size_t len = models.empty() || i >= models[0].records.size() ? 0 : models[0].records[i].src.size() - 1;
    o << "<tr><td><a href=\"#s" << i << "\">#" << i << "</a></td><td>" << len << "</td>";
    for (const auto& m : models) {
      if (i >= m.records.size()) {
        o << "<td>-</td>";
        continue;
      }
      bool ok = correct(m.records[i], references[i]);
      double h = mean_entropy(m.records[i]);
      o << "<td class=\"" << (ok ? "ok\">right" : "bad\">wrong") << (h >= 0 ? ", H " + f2(h) : "") << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</table>\n";
  // Rows.
  for (size_t i : show) {
    o << "<div class=\"row\" id=\"s" << i << "\"><h3>#" << i << "</h3>\n<table class=\"text\">";
    const AttentionRecord* any = nullptr;
    for (const auto& m : models)
      if (i < m.records.size()) any = &m.records[i];
    if (any) {
      std::vector<std::string> src(any->src.begin(), any->src.end() - (any->src.empty() ? 0 : 1));  // without </s>
      o << "<tr><td>source</td><td>" << join_tokens(src) << "</td></tr>";
    }
    o << "<tr><td>reference</td><td>" << join_tokens(references[i]) << "</td></tr>";
    for (const auto& m : models) {
      if (i >= m.records.size()) continue;
      bool ok = correct(m.records[i], references[i]);
      double h = mean_entropy(m.records[i]);
      o << "<tr><td>" << xml_escape(m.name) << " <span class=\"" << (ok ? "ok\">right" : "bad\">wrong")
        << "</span>" << (h >= 0 ? ", H " + f2(h) : "") << "</td><td>" << marked_output(m.records[i].tgt, references[i])
        << "</td></tr>";
    }
    o << "</table>\n<div class=\"maps\">";
    for (const auto& m : models)
      if (i < m.records.size() && m.records[i].weights.defined() && m.records[i].weights.numel() > 0)
        o << "<div class=\"m\">" << heatmap_svg(m.records[i], m.name + " #" + std::to_string(i), scale) << "</div>";
    o << "</div></div>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace attn
