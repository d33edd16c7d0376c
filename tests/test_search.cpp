// Greedy and beam search: agreement, n-best order, attention through the
// beam, and the stopping rule under a length penalty.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/batch.h"
#include "data/vocab.h"
#include "model/seq2seq.h"
#include "search/search.h"

using namespace attn;
using torch::Tensor;

namespace {

// A decoder with scripted probabilities per step (tokens: 4 = A, 5 = B):
// step 0: EOS 0.55, A 0.45; steps 1-3: B 0.99, EOS 0.01; step 4+: EOS 0.99.
// Ending at once scores log .55 = -0.598; "A B B B" scores -0.84, which
// wins under alpha = 1: -0.84 / ((5 + 5) / 6) = -0.50.
class ScriptedDecoder : public DecoderImpl {
 public:
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override {
    DecoderState s;
    s.hidden = torch::zeros({enc.states.size(0), 1});
    DecoderMemory m;
    m.attention = {enc.states, enc.states, enc.mask, enc.src_len};
    return {m, s};
  }
  StepOutput step(const DecoderMemory& mem, DecoderState& st, const Tensor& y) override {
    int64_t B = y.size(0);
    std::vector<float> p(6, 1e-6f);
    if (st.step == 0) {
      p[Vocab::kEos] = 0.55f, p[4] = 0.45f;
    } else if (st.step <= 3) {
      p[5] = 0.99f, p[Vocab::kEos] = 0.01f;
    } else {
      p[Vocab::kEos] = 0.99f, p[5] = 0.01f;
    }
    ++st.step;
    Tensor logits = torch::log(torch::tensor(p)).unsqueeze(0).expand({B, 6}).clone();
    Tensor att = mem.attention.mask.to(torch::kFloat);
    return {logits, att / att.sum(1, true)};
  }
  DecoderOutput features(const EncoderOutput&, const Tensor&) override {
    TORCH_CHECK(false, "a search-only test decoder");
  }
};

// A decoder whose next-token distribution depends only on the previous
// token (a bigram table [V, V] of probabilities), so every hypothesis's
// score can be computed by hand and the search space enumerated.
class BigramDecoder : public DecoderImpl {
 public:
  explicit BigramDecoder(Tensor probs) : logp_(probs.log()) {}
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override {
    DecoderState s;
    s.hidden = torch::zeros({enc.states.size(0), 1});
    return {DecoderMemory{}, s};
  }
  StepOutput step(const DecoderMemory&, DecoderState& st, const Tensor& y) override {
    ++st.step;
    return {logp_.index_select(0, y), Tensor()};
  }
  bool has_attention() const override { return false; }
  DecoderOutput features(const EncoderOutput&, const Tensor&) override {
    TORCH_CHECK(false, "a search-only test decoder");
  }

 private:
  Tensor logp_;
};

ModelConfig tiny(const std::string& type) {
  ModelConfig m;
  m.type = type;
  m.emb = 8, m.hidden = 8, m.dec_hidden = 16, m.dropout = 0.0;
  return m;
}

Batch batch() {
  return make_batch({{{4, 5, 6}, {6, 5, 4}, 1}, {{7, 8, 9, 4, 5}, {5}, 2}, {{6}, {6}, 3}}, {0, 1, 2});
}

}  // namespace

TEST(Search, BeamOfOneEqualsGreedy) {
  for (const std::string type : {"bahdanau", "luong", "bottleneck"}) {
    torch::manual_seed(1);
    Seq2Seq m(tiny(type), 10, 10);
    m->eval();
    SearchOptions o;
    o.keep_attention = true;
    auto g = greedy_search(*m, batch(), o);
    auto b = beam_search(*m, batch(), o);
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_EQ(g[i][0].tokens, b[i][0].tokens) << type << " sentence " << i;
      EXPECT_NEAR(g[i][0].log_prob, b[i][0].log_prob, 1e-4) << type;
      if (g[i][0].attention.defined()) EXPECT_TRUE(torch::allclose(g[i][0].attention, b[i][0].attention, 1e-5, 1e-6));
    }
  }
}

// Sentences leave the greedy batch as they finish: what the others decode
// must not change, so each sentence decoded alone gives the same result.
TEST(Search, GreedyBatchEqualsOneSentenceAtATime) {
  std::vector<Example> ex = {{{4, 5, 6}, {6, 5, 4}, 1},
                             {{7, 8, 9, 4, 5}, {5}, 2},
                             {{6}, {6}, 3},
                             {{4, 4, 4, 4, 4, 4, 4}, {4}, 4},
                             {{5, 6}, {6}, 5}};
  for (const std::string type : {"bahdanau", "luong", "bottleneck"}) {
    torch::manual_seed(5);
    Seq2Seq m(tiny(type), 10, 10);
    m->eval();
    {
      torch::NoGradGuard ng;  // no EOS: every sentence runs to its own limit
      m->named_parameters()["decoder.out.bias"][Vocab::kEos] = -1e4;
    }
    SearchOptions o;
    o.max_len_ratio = 1.0, o.max_len_add = 1;  // different limits per sentence: rows leave at different steps
    o.keep_attention = true;
    auto g = greedy_search(*m, make_batch(ex, {0, 1, 2, 3, 4}), o);
    for (int i = 0; i < 5; ++i) {
      auto one = greedy_search(*m, make_batch(ex, {i}), o);
      const Hypothesis &a = g[static_cast<size_t>(i)][0], &b = one[0][0];
      EXPECT_EQ(a.tokens, b.tokens) << type << " sentence " << i;
      EXPECT_EQ(a.tokens.size(), ex[static_cast<size_t>(i)].src.size() + 1) << type << ": runs to its limit";
      EXPECT_EQ(a.ended, b.ended) << type;
      EXPECT_NEAR(a.log_prob, b.log_prob, 1e-4) << type;
      ASSERT_EQ(a.attention.defined(), b.attention.defined()) << type;
      if (a.attention.defined()) {
        ASSERT_EQ(a.attention.sizes(), b.attention.sizes()) << type;
        EXPECT_TRUE(torch::allclose(a.attention, b.attention, 1e-5, 1e-6)) << type;
      }
    }
  }
}

TEST(Search, NbestIsSortedAndAttentionRowsSumToOne) {
  torch::manual_seed(2);
  Seq2Seq m(tiny("bahdanau"), 10, 10);
  m->eval();
  SearchOptions o;
  o.beam = 5;
  o.nbest = 4;
  o.length_penalty = 0.6;
  o.keep_attention = true;
  auto res = beam_search(*m, batch(), o);
  for (const auto& nb : res) {
    ASSERT_EQ(nb.size(), 4u);
    for (size_t k = 1; k < nb.size(); ++k) EXPECT_GE(nb[k - 1].score, nb[k].score);
    for (const auto& h : nb) {
      ASSERT_TRUE(h.attention.defined());
      ASSERT_EQ(h.attention.size(0), static_cast<int64_t>(h.tokens.size()));
      if (h.attention.size(0) > 0)
        EXPECT_TRUE(torch::allclose(h.attention.sum(1), torch::ones({h.attention.size(0)}), 1e-5, 1e-5));
    }
  }
}

// Attention is copied out only when asked; what search decides must not
// depend on it (greedy and beam, every decoder, n-best included).
TEST(Search, AttentionIsKeptOnlyWhenAskedAndChangesNothingElse) {
  for (const std::string type : {"bahdanau", "luong", "bottleneck"}) {
    torch::manual_seed(6);
    Seq2Seq m(tiny(type), 10, 10);
    m->eval();
    for (int beam : {1, 3}) {
      SearchOptions o;
      o.beam = beam;
      o.nbest = beam;
      auto plain = search(*m, batch(), o);
      o.keep_attention = true;
      auto kept = search(*m, batch(), o);
      ASSERT_EQ(plain.size(), kept.size());
      for (size_t i = 0; i < plain.size(); ++i) {
        ASSERT_EQ(plain[i].size(), kept[i].size()) << type << " beam " << beam;
        for (size_t k = 0; k < plain[i].size(); ++k) {
          const Hypothesis &a = plain[i][k], &b = kept[i][k];
          EXPECT_EQ(a.tokens, b.tokens) << type << " beam " << beam;
          EXPECT_EQ(a.token_log_probs, b.token_log_probs) << type << " beam " << beam;
          EXPECT_EQ(a.score, b.score) << type << " beam " << beam;
          EXPECT_FALSE(a.attention.defined()) << type << " beam " << beam << ": not asked for";
          EXPECT_FALSE(a.eos_attention.defined()) << type << " beam " << beam;
          EXPECT_EQ(b.attention.defined(), type != "bottleneck") << type << " beam " << beam;
          if (b.attention.defined()) EXPECT_EQ(b.attention.size(0), static_cast<int64_t>(b.tokens.size()));
        }
      }
    }
  }
}

TEST(Search, BeamFindsAtLeastTheGreedyScore) {
  torch::manual_seed(3);
  Seq2Seq m(tiny("luong"), 10, 10);
  m->eval();
  SearchOptions g, b;
  b.beam = 4;
  // An untrained model rarely picks </s>: raise its bias until some greedy
  // output ends, so there is something to compare.
  int compared = 0;
  for (int nudge = 0; nudge < 40 && compared == 0; ++nudge) {
    {
      torch::NoGradGuard ng;
      m->decoder->out->bias[Vocab::kEos] += 0.25;
    }
    auto gr = greedy_search(*m, batch(), g);
    auto br = beam_search(*m, batch(), b);
    for (size_t i = 0; i < gr.size(); ++i) {
      if (!gr[i][0].ended) continue;
      EXPECT_GE(br[i][0].score, gr[i][0].log_prob - 1e-5) << i;
      ++compared;
    }
  }
  EXPECT_GT(compared, 0) << "no greedy output ended: nothing was compared";
}

// Beam search with a beam wider than the search space is exhaustive: its
// n-best list must be the n best of every hypothesis there is, best first,
// scored as the length penalty says (ended or cut at the maximum length).
TEST(Search, AWideBeamReturnsTheExactNbestOfTheWholeSearchSpace) {
  const int V = 6, L = 4;  // L: maximum output length, EOS included
  torch::manual_seed(11);
  Tensor p = torch::rand({V, V}, torch::kDouble) + 0.05;
  p.index_put_({torch::indexing::Slice(), Vocab::kPad}, 1e-12);  // never emitted: masked by search anyway
  p.index_put_({torch::indexing::Slice(), Vocab::kBos}, 1e-12);
  p = (p / p.sum(1, true)).to(torch::kFloat);
  Tensor lp = p.log().to(torch::kDouble);
  auto a = lp.accessor<double, 2>();
  const std::vector<int> words = {Vocab::kUnk, 4, 5};

  struct Hyp {
    std::vector<int> tokens;
    double score;
  };
  for (double alpha : {0.0, 1.0}) {
    std::vector<Hyp> all;  // every hypothesis: n words then EOS (n < L), or L words cut
    std::vector<std::vector<int>> prefixes = {{}};
    for (int n = 0; n <= L; ++n) {
      std::vector<std::vector<int>> longer;
      for (const auto& w : prefixes) {
        double s = 0;
        int prev = Vocab::kBos;
        for (int t : w) s += a[prev][t], prev = t;
        if (n < L) all.push_back({w, (s + a[prev][Vocab::kEos]) / length_penalty(n + 1, alpha)});
        else all.push_back({w, s / length_penalty(L, alpha)});
        for (int t : words) {
          auto x = w;
          x.push_back(t);
          longer.push_back(x);
        }
      }
      prefixes = longer;
    }
    ASSERT_EQ(all.size(), 1u + 3 + 9 + 27 + 81);
    std::stable_sort(all.begin(), all.end(), [](const Hyp& x, const Hyp& y) { return x.score > y.score; });

    Seq2Seq m(tiny("bahdanau"), V, V);
    m->decoder = std::make_shared<BigramDecoder>(p);
    m->eval();
    SearchOptions o;
    o.beam = 128;
    o.nbest = 10;
    o.length_penalty = alpha;
    o.max_len_ratio = 0;
    o.max_len_add = L;
    auto res = beam_search(*m, make_batch({{{4, 5}, {4}, 1}}, {0}), o);
    ASSERT_EQ(res[0].size(), 10u);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(res[0][i].tokens, all[i].tokens) << "alpha " << alpha << ", rank " << i;
      EXPECT_NEAR(res[0][i].score, all[i].score, 1e-4) << "alpha " << alpha << ", rank " << i;
    }
    // The best ended hypotheses are not all the shortest: the list covers several lengths.
    std::set<size_t> lengths;
    for (const auto& h : res[0]) lengths.insert(h.tokens.size());
    EXPECT_GE(lengths.size(), 2u) << "alpha " << alpha;
  }
}

TEST(Search, StoppingRuleWaitsForLongerHypothesesUnderLengthPenalty) {
  Seq2Seq m(tiny("bahdanau"), 6, 6);
  m->decoder = std::make_shared<ScriptedDecoder>();
  m->eval();
  Batch b = make_batch({{{4, 5, 4, 5, 4, 5}, {4}, 1}}, {0});
  SearchOptions o;
  o.beam = 2;
  o.length_penalty = 0.0;
  o.keep_attention = true;
  auto plain = beam_search(*m, b, o);
  EXPECT_TRUE(plain[0][0].tokens.empty());  // without a penalty, ending at once is best
  EXPECT_NEAR(plain[0][0].score, std::log(0.55), 1e-5);
  o.length_penalty = 1.0;
  auto lp = beam_search(*m, b, o);
  // The empty hypothesis finishes first; a naive "top hypothesis ended" rule
  // would stop there. The longer one wins once the penalty is applied.
  EXPECT_EQ(lp[0][0].tokens, (std::vector<int>{4, 5, 5, 5}));
  double logp = std::log(0.45) + 3 * std::log(0.99) + std::log(0.99);
  EXPECT_NEAR(lp[0][0].score, logp / (10.0 / 6.0), 1e-4);
  EXPECT_EQ(lp[0][0].attention.size(0), 4);
}

TEST(Search, LengthPenaltyIsGnmt) {
  EXPECT_DOUBLE_EQ(length_penalty(1, 0.0), 1.0);
  EXPECT_NEAR(length_penalty(7, 1.0), 2.0, 1e-12);
  EXPECT_NEAR(length_penalty(7, 0.5), std::sqrt(2.0), 1e-12);
}

TEST(Search, MaximumLengthCutsHypotheses) {
  torch::manual_seed(4);
  Seq2Seq m(tiny("bahdanau"), 10, 10);
  m->eval();
  SearchOptions o;
  o.max_len_ratio = 1.0;
  o.max_len_add = 0;
  for (int beam : {1, 3}) {
    o.beam = beam;
    auto res = search(*m, batch(), o);
    EXPECT_LE(res[0][0].tokens.size(), 3u);
    EXPECT_LE(res[2][0].tokens.size(), 1u);
  }
}

TEST(Search, TheStepThatEmitsEosKeepsItsAttentionApart) {
  Seq2Seq m(tiny("bahdanau"), 6, 6);
  m->decoder = std::make_shared<ScriptedDecoder>();
  m->eval();
  Batch b = make_batch({{{4, 5, 4, 5, 4, 5}, {4}, 1}}, {0});
  SearchOptions o;
  o.keep_attention = true;
  auto g = greedy_search(*m, b, o);  // EOS at once (0.55)
  ASSERT_TRUE(g[0][0].ended);
  EXPECT_TRUE(g[0][0].tokens.empty());
  ASSERT_TRUE(g[0][0].eos_attention.defined());
  EXPECT_EQ(g[0][0].eos_attention.size(0), 7);  // six source words and EOS
  EXPECT_NEAR(g[0][0].eos_attention.sum().item<double>(), 1.0, 1e-5);
  o.beam = 2;
  o.length_penalty = 1.0;
  auto bm = beam_search(*m, b, o);  // "A B B B" then EOS
  ASSERT_EQ(bm[0][0].tokens.size(), 4u);
  EXPECT_EQ(bm[0][0].attention.size(0), 4);  // the word rows, as before
  ASSERT_TRUE(bm[0][0].eos_attention.defined());
  EXPECT_NEAR(bm[0][0].eos_attention.sum().item<double>(), 1.0, 1e-5);
  // Cut at the maximum length: no EOS step, nothing kept.
  o.beam = 1;
  o.max_len_ratio = 0.0;
  o.max_len_add = 1;
  Seq2Seq always(tiny("bahdanau"), 6, 6);
  always->eval();
  {
    torch::NoGradGuard ng;
    always->named_parameters()["decoder.out.bias"][Vocab::kEos] = -1e4;  // never ends by itself
  }
  auto cut = greedy_search(*always, b, o);
  EXPECT_FALSE(cut[0][0].ended);
  EXPECT_FALSE(cut[0][0].eos_attention.defined());
}

// <pad> and <s> are never printed, so a hypothesis holding one reads like
// another: n-best lists showed one text twice with two scores. A model that
// favours them must still never emit them, and n-best texts stay distinct.
TEST(Search, NeverEmitsPadOrStartSoNbestTextsDiffer) {
  for (const std::string type : {"bahdanau", "luong", "bottleneck"}) {
    torch::manual_seed(3);
    Seq2Seq m(tiny(type), 10, 10);
    m->eval();
    {
      torch::NoGradGuard ng;
      auto bias = m->named_parameters()["decoder.out.bias"];
      bias[Vocab::kPad] = 3.0;  // the two likeliest tokens, were they allowed
      bias[Vocab::kBos] = 3.0;
    }
    for (int beam : {1, 6}) {
      SearchOptions o;
      o.beam = beam;
      o.nbest = beam;
      auto res = search(*m, batch(), o);
      for (const auto& nb : res) {
        std::set<std::vector<int>> texts;
        for (const auto& h : nb) {
          for (int t : h.tokens) {
            EXPECT_NE(t, Vocab::kPad) << type << " beam " << beam;
            EXPECT_NE(t, Vocab::kBos) << type << " beam " << beam;
          }
          EXPECT_TRUE(std::isfinite(h.score)) << type;
          texts.insert(h.tokens);
        }
        EXPECT_EQ(texts.size(), nb.size()) << type << " beam " << beam << ": an n-best entry repeats";
      }
    }
  }
}
