// Sentencepiece through the dlmopen bridge, in the same process as torch,
// on real Multi30k lines.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/tokenizer.h"
#include "test_util.h"
#include "util/errors.h"
#include "util/text_file.h"

using namespace attn;

namespace {
std::string multi30k(const std::string& f) { return attn::test::multi30k_dir() + "/" + f; }
}  // namespace

TEST(Sentencepiece, TrainEncodeDecodeRoundTripOnMulti30k) {
  ATTN_SKIP_WITHOUT_MULTI30K();
  attn::test::TempDir d;
  // 3,000 lines of each side: enough for a real model, fast to train.
  std::string sample;
  auto de = read_lines(multi30k("train.de.gz")), en = read_lines(multi30k("train.en.gz"));
  for (size_t i = 0; i < 3000; ++i) sample += de[i] + "\n" + en[i] + "\n";
  attn::test::write_text(d.path("sample.txt"), sample);
  SpmTrainOptions o;
  o.inputs = {d.path("sample.txt")};
  o.model_prefix = d.path("spm/joint");
  o.vocab_size = 1000;
  std::string model = train_spm(o);
  ASSERT_TRUE(std::filesystem::exists(model));
  SpmTokenizer tok(read_file(model));
  EXPECT_EQ(tok.pieces().size(), 1000u);
  torch::Tensor t = torch::ones({2, 2});  // torch in the same process, still fine
  EXPECT_EQ(t.sum().item<float>(), 4.0f);
  auto val = read_lines(multi30k("val.de.gz"));
  for (size_t i = 0; i < 50; ++i) {
    auto pieces = tok.encode(val[i]);
    ASSERT_FALSE(pieces.empty());
    EXPECT_EQ(tok.decode(pieces), val[i]) << "line " << i;
  }
  EXPECT_LT(tok.encode(val[0]).size(), val[0].size());  // pieces, not characters
}

TEST(Sentencepiece, BadModelBytesGiveAClearError) {
  try {
    SpmTokenizer tok("this is not a model");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sentencepiece model"), std::string::npos);
  }
}
