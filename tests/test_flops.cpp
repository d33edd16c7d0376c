// The FLOP model against sums done by hand for tiny shapes.
#include <gtest/gtest.h>

#include "model/flops.h"

using namespace attn;

namespace {
// emb 2, hidden 3 per direction (keys 6), decoder 4, readout = emb, vocab 5.
ModelConfig tiny(const std::string& type, const std::string& score) {
  ModelConfig m;
  m.type = type;
  m.emb = 2;
  m.hidden = 3;
  m.dec_hidden = 4;
  m.attention.score = score;
  m.input_feeding = true;
  return m;
}
}  // namespace

// Encoder, 2 source positions, each direction: 2*2*2*9 (input) + 2*2*3*9 (recurrence) = 180; both: 360.
TEST(Flops, BottleneckByHand) {
  // summary 2*6*4 = 48, s_0 2*4*4 = 32, GRU over 3 steps 2*3*6*12 + 2*3*4*12 = 720,
  // readout 2*3*10*2 = 120, output 2*3*2*5 = 60.
  EXPECT_DOUBLE_EQ(forward_flops(tiny("bottleneck", "additive"), 5, 2, 3), 360 + 48 + 32 + 720 + 120 + 60);
}

TEST(Flops, BahdanauByHand) {
  // keys 2*2*6*4 = 96; per step: context 2*2*6 = 24, W q 2*4*4 = 32, v^T tanh 2*2*4 = 16 -> 72, x3 = 216;
  // s_0 2*3*4 = 24; GRU 2*3*8*12 + 2*3*4*12 = 864; readout 2*3*12*2 = 144; output 60.
  EXPECT_DOUBLE_EQ(forward_flops(tiny("bahdanau", "additive"), 5, 2, 3), 360 + 96 + 216 + 24 + 864 + 144 + 60);
  // Beam 2: the decoder's rows double, the encoder and keys do not.
  EXPECT_DOUBLE_EQ(forward_flops(tiny("bahdanau", "additive"), 5, 2, 3, 2),
                   360 + 96 + 432 + 24 + 1728 + 288 + 120);
}

TEST(Flops, LuongGeneralWithInputFeedingByHand) {
  // keys W h 96; per step: context 24, q . (W h) 2*2*4 = 16 -> 40, x3 = 120; bridge 2*6*4 = 48;
  // GRU on [E y; h~] 2*3*6*12 + 2*3*4*12 = 720; combine 2*3*10*4 = 240; output 2*3*4*5 = 120.
  EXPECT_DOUBLE_EQ(forward_flops(tiny("luong", "general"), 5, 2, 3), 360 + 96 + 120 + 48 + 720 + 240 + 120);
}

TEST(Flops, TrainingIsThreeForwardPassesOverTheRealTokens) {
  ModelConfig m = tiny("bahdanau", "additive");
  std::vector<Example> ex = {{{4, 5}, {6, 7, 8}, 1}, {{4}, {6}, 2}};
  Batch b = make_batch(ex, {0, 1});
  // Sources gain EOS (3 and 2 positions), targets too (4 and 2 steps); padding is not work.
  EXPECT_DOUBLE_EQ(train_flops(m, 5, b), 3 * (forward_flops(m, 5, 3, 4) + forward_flops(m, 5, 2, 2)));
}
