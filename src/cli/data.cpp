#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/common.h"
#include "data/stats.h"
#include "data/tokenizer.h"
#include "data/toy.h"
#include "util/text_file.h"

#include <unordered_set>

namespace attn::cli {

void add_data(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("data", "Make toy corpora with gold alignments; train sentencepiece models");
  sub->require_subcommand(1);
  sub->footer(
      "Examples:\n  attn data toy --task reverse --n 1000 --out data/rev\n"
      "  attn data spm --input train.de.gz --input train.en.gz --model-prefix data/spm/joint --vocab-size 8000\n"
      "  attn data stats --config configs/multi30k_de_en_bahdanau.json");
  auto spec = std::make_shared<ToySpec>();
  auto out = std::make_shared<std::string>();
  auto* toy = sub->add_subcommand("toy", "Write PREFIX.src, PREFIX.tgt, PREFIX.align (Pharaoh i-j, source first)");
  toy->footer("Example:\n  attn data toy --task reverse --n 1000 --min-len 5 --max-len 50 --vocab 20 --seed 1 --out data/rev");
  spec->task = "reverse";
  toy->add_option("--task", spec->task, "copy, reverse, sort or toy-translate")
      ->check(CLI::IsMember({"copy", "reverse", "sort", "toy-translate"}));
  toy->add_option("--n", spec->n, "number of pairs")->check(at_least(1));
  toy->add_option("--min-len", spec->min_len, "shortest source")->check(at_least(1));
  toy->add_option("--max-len", spec->max_len, "longest source")->check(at_least(1));
  toy->add_option("--vocab", spec->vocab, "symbols")->check(in_range(2, 1000000));
  toy->add_option("--seed", spec->seed, "same seed, same bytes");
  toy->add_option("--out", *out, "output prefix")->required();
  auto exclude = std::make_shared<std::vector<std::string>>();
  toy->add_option("--exclude", *exclude, "source files whose lines must not be drawn (disjoint test sets)")
      ->check(existing_file());
  toy->callback([&run, spec, out, exclude] {
    run = [spec, out, exclude] {
      if (spec->min_len > spec->max_len)
        throw ConfigError({"--min-len " + std::to_string(spec->min_len) + " is larger than --max-len " +
                           std::to_string(spec->max_len)});
      std::unordered_set<std::string> seen;
      for (const auto& f : *exclude)
        for (const auto& l : read_lines(f)) seen.insert(join(split_ws(l)));
      write_toy(make_toy(*spec, exclude->empty() ? nullptr : &seen), *out);
      std::cout << "wrote " << *out << ".src/.tgt/.align (" << spec->n << " " << spec->task << " pairs)\n";
      return static_cast<int>(kOk);
    };
  });

  auto so = std::make_shared<SpmTrainOptions>();
  auto* spm = sub->add_subcommand("spm", "Train a sentencepiece model (writes PREFIX.model, PREFIX.vocab)");
  spm->footer("Example:\n  attn data spm --input ../shared/data/multi30k/train.de.gz --input ../shared/data/multi30k/train.en.gz \\\n"
              "      --model-prefix data/spm/joint --vocab-size 8000");
  spm->add_option("--input", so->inputs, "training text (plain or .gz), repeatable")->required()->check(existing_file());
  spm->add_option("--model-prefix", so->model_prefix, "output prefix")->required();
  spm->add_option("--vocab-size", so->vocab_size, "pieces")->check(in_range(16, 1000000));
  spm->add_option("--model-type", so->model_type, "unigram or bpe")->check(CLI::IsMember({"unigram", "bpe"}));
  spm->add_option("--character-coverage", so->character_coverage, "share of characters covered")
      ->check(in_range(0.5, 1.0));
  spm->callback([&run, so] {
    run = [so] {
      std::cout << "wrote " << train_spm(*so) << "\n";
      return static_cast<int>(kOk);
    };
  });

  auto cfg = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto* stats = sub->add_subcommand("stats", "Read, segment and batch a config's training data; print JSON statistics");
  stats->footer("Example:\n  attn data stats --config configs/multi30k_de_en_bahdanau.json --dir runs/stats");
  stats->add_option("--config,-c", *cfg, "JSON config")->required()->check(existing_file());
  stats->add_option("--dir", *dir, "where generated data and spm models go (default: output.run_dir)");
  stats->callback([&run, &g, cfg, dir] {
    run = [&g, cfg, dir] {
      Config c = load_config_with(*cfg, {}, g);
      std::cout << data_stats(c, dir->empty() ? c.output.run_dir : *dir).dump(2) << "\n";
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
