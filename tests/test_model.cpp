// Encoder and decoders: padding invariance, full-step gradients, overfitting.
#include <gtest/gtest.h>

#include <sstream>

#include "data/batch.h"
#include "data/toy.h"
#include "data/vocab.h"
#include "model/bahdanau_decoder.h"
#include "model/loss.h"
#include "model/seq2seq.h"
#include "ops/kernels.h"
#include "search/search.h"
#include "test_util.h"

using namespace attn;
using torch::Tensor;

namespace {

ModelConfig small(const std::string& type, const std::string& score = "additive") {
  ModelConfig m;
  m.type = type;
  m.emb = 8;
  m.hidden = 6;
  m.dec_hidden = 12;  // = 2 * hidden, so "dot" fits too
  m.dropout = 0.0;
  m.attention.score = score;
  m.attention.max_src_len = 16;
  m.attention.window = 2;
  return m;
}

std::vector<Example> examples() {
  return {{{4, 5, 6, 7}, {7, 6, 5, 4}, 1}, {{5, 5, 6, 8, 9, 4, 4, 6, 7}, {7, 6, 4, 4, 9, 8, 6, 5, 5}, 2}};
}

struct Variant {
  std::string type, score;
  bool feeding;
};
const std::vector<Variant> kVariants = {{"bahdanau", "additive", false}, {"bahdanau", "concat", false},
                                        {"luong", "general", true},      {"luong", "general", false},
                                        {"luong", "dot", true},          {"luong", "concat", false},
                                        {"luong", "location", true},     {"luong", "local-m", false},
                                        {"luong", "local-p", true},      {"bottleneck", "additive", false}};

// A small seeded model of variant v (vocabulary 12 on both sides).
Seq2Seq make_model(const Variant& v, uint64_t seed) {
  torch::manual_seed(seed);
  auto cfg = small(v.type, v.score);
  cfg.input_feeding = v.feeding;
  return Seq2Seq(cfg, 12, 12);
}

}  // namespace

TEST(Encoder, PaddingDoesNotChangeResults) {
  torch::manual_seed(1);
  Encoder enc(12, 8, 6, 2, 0.0);
  enc->eval();
  auto ex = examples();
  Batch alone = make_batch(ex, {0});
  Batch both = make_batch(ex, {0, 1});
  auto a = enc(alone.src, alone.src_len), b = enc(both.src, both.src_len);
  int64_t n = alone.src.size(1);
  EXPECT_TRUE(torch::allclose(a.states[0], b.states[0].narrow(0, 0, n), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(a.last_fwd[0], b.last_fwd[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(a.first_bwd[0], b.first_bwd[0], 1e-5, 1e-5));
  EXPECT_EQ(b.states[0].narrow(0, n, b.states.size(1) - n).abs().sum().item<float>(), 0.0f);
}

TEST(Decoders, PaddingDoesNotChangeResults) {
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.type + "/" + v.score);
    Seq2Seq m = make_model(v, 2);
    m->eval();
    auto ex = examples();
    Batch alone = make_batch(ex, {0}), both = make_batch(ex, {0, 1});
    auto a = m->forward(alone), b = m->forward(both);
    int64_t T = alone.tgt_in.size(1), S = alone.src.size(1);
    EXPECT_TRUE(torch::allclose(a.logits[0], b.logits[0].narrow(0, 0, T), 1e-5, 1e-5));
    if (a.attention.defined())
      EXPECT_TRUE(torch::allclose(a.attention[0], b.attention[0].narrow(0, 0, T).narrow(1, 0, S), 1e-5, 1e-5));
  }
}

TEST(Decoders, TeacherForcingEqualsStepByStep) {
  // Teacher forcing (what it batches over all steps) must compute what step() computes.
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.type + "/" + v.score);
    Seq2Seq m = make_model(v, 3);
    m->eval();
    Batch b = make_batch(examples(), {0, 1});
    auto full = m->forward(b);
    torch::NoGradGuard ng;  // the steps as decoding runs them (fused where it can)
    auto enc = m->encode(b.src, b.src_len);
    auto [mem, st] = m->decoder->start(enc);
    for (int64_t t = 0; t < b.tgt_in.size(1); ++t) {
      auto o = m->decoder->step(mem, st, b.tgt_in.select(1, t));
      // Only real target positions: what forward() gives on padding is never scored.
      Tensor real = b.tgt_out.select(1, t).ne(Vocab::kPad);
      EXPECT_TRUE(torch::allclose(o.logits.index({real}), full.logits.select(1, t).index({real}), 1e-5, 1e-5))
          << "step " << t;
      if (o.attention.defined())
        EXPECT_TRUE(torch::allclose(o.attention.index({real}), full.attention.select(1, t).index({real}), 1e-5, 1e-5))
            << "step " << t;
    }
  }
}

TEST(DecoderGradients, BahdanauStepMatchesFiniteDifferences) {
  torch::manual_seed(4);
  auto cfg = small("bahdanau");
  cfg.emb = 3, cfg.hidden = 2, cfg.dec_hidden = 3, cfg.maxout = true, cfg.readout = 4;
  cfg.attention.coverage = true;
  BahdanauDecoderImpl dec(cfg, 6);
  dec.to(torch::kDouble);
  auto dbl = torch::TensorOptions().dtype(torch::kDouble);
  EncoderOutput enc;
  enc.states = torch::randn({2, 3, 4}, dbl).requires_grad_(true);
  enc.first_bwd = torch::randn({2, 2}, dbl).requires_grad_(true);
  enc.last_fwd = torch::randn({2, 2}, dbl);
  enc.src_len = torch::tensor({3L, 2L});
  enc.mask = torch::arange(3).unsqueeze(0) < enc.src_len.unsqueeze(1);
  Tensor y = torch::tensor({4L, 5L});
  Tensor r = torch::randn({2, 6}, dbl);
  auto f = [&] {
    auto [mem, st] = dec.start(enc);
    auto o1 = dec.step(mem, st, y);  // two steps: the recurrence and coverage feed back
    auto o2 = dec.step(mem, st, y);
    return (o1.logits * r).sum() + (o2.logits * r).sum() + (o2.attention * r.narrow(1, 0, 3)).sum();
  };
  std::vector<Tensor> inputs = {enc.states, enc.first_bwd};
  for (auto& p : dec.parameters()) inputs.push_back(p);
  attn::test::expect_gradients_match(f, inputs);
}

TEST(DecoderGradients, LuongAndBottleneckForwardMatchFiniteDifferences) {
  for (const auto& v : std::vector<Variant>{{"luong", "general", true}, {"luong", "local-p", false},
                                            {"bottleneck", "additive", false}}) {
    SCOPED_TRACE(v.type + "/" + v.score);
    torch::manual_seed(5);
    auto cfg = small(v.type, v.score);
    cfg.emb = 3, cfg.hidden = 2, cfg.dec_hidden = 3;
    cfg.input_feeding = v.feeding;
    Seq2Seq m(cfg, 7, 7);
    m->to(torch::kDouble);
    Batch b = make_batch({{{4, 5}, {5, 4, 6}, 1}, {{6}, {6}, 2}}, {0, 1});
    // Weighted like the loss: nothing on padded target steps.
    Tensor r = torch::randn({2, b.tgt_in.size(1), 7}, torch::kDouble) * b.tgt_out.ne(0).unsqueeze(-1);
    auto f = [&] { return (m->forward(b).logits * r).sum(); };
    std::vector<Tensor> params = m->decoder->parameters();
    attn::test::expect_gradients_match(f, params);
  }
}

TEST(Seq2SeqLoss, RealPositionsOnlyEqualsLossOverAllLogits) {
  // loss() runs the output layer on real target positions only; value,
  // counts and every gradient must equal the loss over the full logits.
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.type + "/" + v.score);
    Seq2Seq m = make_model(v, 6);
    Batch b = make_batch(examples(), {0, 1});
    auto grads = [&] {
      std::vector<Tensor> g;
      for (auto& p : m->parameters()) {
        g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
        p.mutable_grad() = Tensor();
      }
      return g;
    };
    auto full = m->forward(b);
    LossOutput a = seq2seq_loss(full.logits, b.tgt_out, full.attention, 0.1, 0.3);
    a.loss.backward();
    auto ga = grads();
    Tensor attention;
    LossOutput c = m->loss(b, 0.1, 0.3, &attention);
    c.loss.backward();
    auto gc = grads();
    EXPECT_NEAR(a.loss.item<double>(), c.loss.item<double>(), 1e-6);
    EXPECT_NEAR(a.nll_sum, c.nll_sum, 1e-4);
    EXPECT_NEAR(a.entropy_sum, c.entropy_sum, 1e-4);
    EXPECT_EQ(a.tokens, c.tokens);
    EXPECT_EQ(a.correct, c.correct);
    EXPECT_EQ(attention.defined(), full.attention.defined());
    if (attention.defined()) EXPECT_TRUE(torch::allclose(attention, full.attention));
    for (size_t i = 0; i < ga.size(); ++i) EXPECT_TRUE(torch::allclose(ga[i], gc[i], 1e-5, 1e-6)) << i;
  }
}

// The fused CPU kernels and their ATen reference (ops/kernels.h, chosen in
// one place) compute the same model: the loss, every gradient, and the beam
// search's translations and scores, for every decoder and score (and
// coverage, whose score runs through the additive kernel too).
TEST(Kernels, FusedAndAtenReferenceGiveTheSameModel) {
  struct Result {
    double loss;
    std::vector<Tensor> grads;
    std::vector<std::vector<Hypothesis>> hyps;
  };
  Batch b = make_batch(examples(), {0, 1});
  auto run = [&](Seq2Seq& m) {
    Result r;
    m->train();  // dropout 0: deterministic, but the training paths
    LossOutput l = m->loss(b, 0.1, 0.3);
    l.loss.backward();
    r.loss = l.loss.item<double>();
    for (auto& p : m->parameters()) {
      r.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
      p.mutable_grad() = Tensor();
    }
    m->eval();
    SearchOptions o;
    o.beam = 3;
    o.nbest = 3;
    r.hyps = search(*m, b, o);
    return r;
  };
  auto variants = kVariants;
  variants.push_back({"bahdanau", "additive+coverage", false});
  for (const auto& v : variants) {
    SCOPED_TRACE(v.type + "/" + v.score);
    bool coverage = v.score == "additive+coverage";
    auto make = [&] {
      torch::manual_seed(8);
      auto cfg = small(v.type, coverage ? "additive" : v.score);
      cfg.input_feeding = v.feeding;
      cfg.attention.coverage = coverage;
      return Seq2Seq(cfg, 12, 12);
    };
    Seq2Seq fm = make(), am = make();
    Result fused = run(fm), aten;
    {
      ScopedKernels reference(Kernels::aten);
      aten = run(am);
    }
    EXPECT_NEAR(fused.loss, aten.loss, 1e-5);
    for (size_t i = 0; i < fused.grads.size(); ++i)
      EXPECT_TRUE(torch::allclose(fused.grads[i], aten.grads[i], 1e-4, 1e-5)) << "parameter " << i;
    for (size_t s = 0; s < fused.hyps.size(); ++s) {
      ASSERT_EQ(fused.hyps[s].size(), aten.hyps[s].size());
      for (size_t h = 0; h < fused.hyps[s].size(); ++h) {
        EXPECT_EQ(fused.hyps[s][h].tokens, aten.hyps[s][h].tokens) << "sentence " << s << " hypothesis " << h;
        EXPECT_NEAR(fused.hyps[s][h].score, aten.hyps[s][h].score, 1e-4);
      }
    }
  }
}

// Each model type memorises 20 reverse pairs.
TEST(Overfit, EveryModelMemorisesTwentyReversePairs) {
  auto ex = attn::test::toy_examples({"reverse", 20, 3, 7, 8, 7});
  const int vocab = 4 + 8;  // specials + 8 symbols
  std::vector<int> all(ex.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  Batch b = make_batch(ex, all);
  for (const auto& var : std::vector<Variant>{{"bahdanau", "additive", false}, {"luong", "general", true},
                                              {"bottleneck", "additive", false}}) {
    SCOPED_TRACE(var.type);
    torch::manual_seed(7);
    ModelConfig cfg;
    cfg.type = var.type;
    cfg.emb = 32, cfg.hidden = 64, cfg.dec_hidden = 64, cfg.dropout = 0.0;
    cfg.attention.score = var.score;
    cfg.input_feeding = var.feeding;
    Seq2Seq m(cfg, vocab, vocab);
    torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(0.01));
    int exact = 0;
    for (int step = 1; step <= 400 && exact < 20; ++step) {
      m->train();
      opt.zero_grad();
      auto out = m->forward(b);
      seq2seq_loss(out.logits, b.tgt_out, out.attention, 0.0, 0.0).loss.backward();
      opt.step();
      if (step % 25 == 0) {
        m->eval();
        auto hyps = greedy_search(*m, b, SearchOptions{});
        exact = 0;
        for (size_t i = 0; i < ex.size(); ++i) exact += hyps[i][0].tokens == ex[i].tgt;
      }
    }
    EXPECT_EQ(exact, 20);
  }
}

// Tied embeddings: one tensor for the output layer and the target embedding
// (and, "all", the source embedding), trained through every use, saved once.
TEST(TiedEmbeddings, OneTensorServesEveryUseAndLearnsFromAll) {
  for (const std::string type : {"bahdanau", "luong", "bottleneck"}) {
    SCOPED_TRACE(type);
    auto cfg = small(type);
    cfg.readout = cfg.emb;
    if (type == "luong") cfg.dec_hidden = cfg.emb;  // Luong's output layer reads the attentional state
    torch::manual_seed(3);
    Seq2Seq untied(cfg, 12, 12);
    cfg.tie_embeddings = "decoder";
    Seq2Seq dec(cfg, 12, 12);
    cfg.tie_embeddings = "all";
    Seq2Seq all(cfg, 12, 12);
    const int64_t VE = 12 * cfg.emb;
    EXPECT_EQ(dec->parameter_count(), untied->parameter_count() - VE);
    EXPECT_EQ(all->parameter_count(), untied->parameter_count() - 2 * VE);
    EXPECT_TRUE(dec->decoder->out->weight.is_same(dec->decoder->embed->weight));
    EXPECT_TRUE(all->decoder->embed->weight.is_same(all->encoder->embed->weight));
    EXPECT_TRUE(all->decoder->out->weight.is_same(all->encoder->embed->weight));
    // One update: the shared matrix moves, and stays shared.
    Batch b = make_batch(examples(), {0, 1});
    torch::optim::SGD opt(all->parameters(), 0.5);
    Tensor before = all->encoder->embed->weight.detach().clone();
    all->loss(b, 0.0, 0.0).loss.backward();
    // Gradients from the output layer reach rows no source or target input uses (ids 10, 11).
    EXPECT_GT(all->encoder->embed->weight.grad()[11].abs().sum().item<double>(), 0.0);
    opt.step();
    EXPECT_FALSE(torch::equal(before, all->encoder->embed->weight));
    EXPECT_TRUE(all->decoder->out->weight.is_same(all->encoder->embed->weight));
    // Saved and loaded, it is still one tensor and gives the same logits.
    std::stringstream buf;
    torch::serialize::OutputArchive out;
    all->save(out);
    out.save_to(buf);
    Seq2Seq back(cfg, 12, 12);
    torch::serialize::InputArchive in;
    in.load_from(buf);
    back->load(in);
    EXPECT_TRUE(back->decoder->out->weight.is_same(back->encoder->embed->weight));
    all->eval(), back->eval();
    EXPECT_TRUE(torch::allclose(all->forward(b).logits, back->forward(b).logits));
  }
}

// Beam search reorders a decoder's state with index_select: every
// per-hypothesis tensor must follow the rows, undefined ones stay undefined.
TEST(Model, DecoderStateReordersEveryField) {
  DecoderState st;
  st.hidden = torch::arange(3).view({3, 1});
  st.feed = torch::arange(3).view({3, 1}) + 10;
  st.coverage = torch::arange(3).view({3, 1}) + 20;
  st.fixed = torch::arange(3).view({3, 1}) + 30;
  st.step = 7;
  Tensor idx = torch::tensor({2L, 0L, 2L});
  DecoderState r = st.index_select(idx);
  std::vector<Tensor> fields;
  std::apply([&](auto&... t) { (fields.push_back(t), ...); }, r.rows());
  ASSERT_EQ(fields.size(), 4u);
  for (size_t k = 0; k < fields.size(); ++k)
    EXPECT_TRUE(fields[k].view({-1}).equal(idx + 10 * static_cast<int64_t>(k))) << "field " << k;
  EXPECT_EQ(r.step, 7);
  DecoderState partial;
  partial.hidden = torch::arange(3).view({3, 1});
  DecoderState p = partial.index_select(idx);
  EXPECT_TRUE(p.hidden.view({-1}).equal(idx));
  EXPECT_FALSE(p.feed.defined());
  EXPECT_FALSE(p.coverage.defined());
}
