#include <iostream>

#include "app/benchmark.h"
#include "cli/common.h"
#include "config/registry.h"

namespace attn::cli {

void add_bench(CLI::App& app, Globals&, Runner& run) {
  auto* sub = app.add_subcommand("bench", "Time training updates or decoding on synthetic batches; prints JSON");
  sub->footer(
      "Examples:\n  attn bench --model bahdanau --emb 256 --hidden 512 --batch 64 --len 30\n"
      "  attn bench --model luong --what beam --beam 5 --min-len 5 --max-len 50\n"
      "Medians over --repeats batches after --warmup; see scripts/bench.sh.");
  auto m = std::make_shared<ModelConfig>();
  auto o = std::make_shared<BenchOptions>();
  auto len = std::make_shared<int>(0);
  m->dropout = 0.0;
  sub->add_option("--model", m->type, "model type")->check(CLI::IsMember(model_type_names()));
  auto* score = sub->add_option("--score", m->attention.score, "attention score (default: the model type's own)")
                    ->check(CLI::IsMember(attention_score_names()));
  sub->add_option("--input-feeding", m->input_feeding, "luong input feeding (true/false)");
  sub->add_option("--emb", m->emb, "embedding size");
  sub->add_option("--hidden", m->hidden, "encoder size per direction");
  sub->add_option("--dec-hidden", m->dec_hidden, "decoder size (default: --hidden)");
  sub->add_option("--what", o->what, "train, greedy or beam")->check(CLI::IsMember({"train", "greedy", "beam"}));
  sub->add_option("--batch", o->batch, "sentences per batch");
  sub->add_option("--len", *len, "source and target length (sets --min-len and --max-len)");
  sub->add_option("--min-len", o->min_len, "shortest source");
  sub->add_option("--max-len", o->max_len, "longest source");
  sub->add_option("--vocab", o->vocab, "vocabulary size (source and target)");
  sub->add_option("--beam", o->beam, "beam size for --what beam");
  sub->add_option("--warmup", o->warmup, "untimed batches first");
  sub->add_option("--repeats", o->repeats, "timed batches");
  sub->add_option("--distinct", o->distinct, "distinct batches, reused in turn (default 20)");
  sub->add_flag("--keep-attention", o->keep_attention,
                "greedy/beam: copy each step's attention out, as --dump-attention and the server's attention do");
  auto* dh = sub->get_option("--dec-hidden");
  sub->callback([&run, m, o, len, dh, score] {
    const ModelType& type = *find_model_type(m->type);  // a bottleneck ignores --score
    if (type.attention && score->count() == 0) m->attention.score = type.default_score;
    if (type.attention && !find_score(m->attention.score)->fits(m->type))
      throw CLI::ValidationError("--score", "\"" + m->attention.score + "\" does not fit --model " + m->type);
    run = [m, o, len, dh] {
      if (*len > 0) o->min_len = o->max_len = *len;
      if (dh->count() == 0) m->dec_hidden = m->hidden;
      std::cout << run_benchmark(*m, *o).dump() << std::endl;
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
