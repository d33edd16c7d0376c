// What survives what (README): a full disk, two trainings on one run
// directory, resuming a finished run, training again over checkpoints,
// outputs that cannot be written, damaged checkpoints, divergence. Each is
// run through the binary as a user would meet it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <map>
#include <set>
#include <sstream>

#include "test_util.h"
#include "train/checkpoint.h"
#include "train/run_lock.h"
#include "util/text_file.h"

using namespace attn;
using attn::test::run_attn;
using attn::test::TempDir;
using attn::test::write_text;
namespace fs = std::filesystem;

namespace {

// Big enough (~0.5 MB checkpoints) that a file size limit can sit between
// a checkpoint and everything else a run writes.
void write_config(const TempDir& d, int max_steps = 10, const std::string& train_extra = "") {
  write_text(d.path("c.json"), R"({"data": {"toy": {"task": "copy", "n_train": 300, "n_valid": 20, "n_test": 20,
    "min_len": 2, "max_len": 5, "test_min_len": 2, "test_max_len": 5, "vocab": 6}},
    "model": {"emb": 32, "hidden": 64, "dec_hidden": 64},
    "train": {"max_steps": )" + std::to_string(max_steps) + R"(, "valid_every": 5)" + train_extra + "}}");
}

std::string train_cmd(const TempDir& d, const std::string& run) {
  return "--log-level warn train --config " + d.path("c.json") + " --run-dir " + run;
}

std::vector<std::string> leftovers(const std::string& dir) {
  std::vector<std::string> tmp;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ".tmp") tmp.push_back(e.path().string());
  return tmp;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

int error_lines(const std::string& err) {
  int n = 0;
  for (const auto& l : split_lines(err)) n += l.rfind("error:", 0) == 0;
  return n;
}

}  // namespace

// kill -9 at arbitrary moments of a run that writes a checkpoint every
// update: whatever is on disk loads, and --resume finishes the run.
TEST(Faults, KillNineAtAnyMomentLeavesLoadableCheckpointsAndResumeFinishes) {
  TempDir d;
  write_config(d, 400);
  std::string run = d.path("run");
  std::mt19937 rng(7);
  std::string bin = ATTN_BINARY, config = d.path("c.json");
  for (int round = 0; round < 4; ++round) {
    pid_t pid = fork();
    if (pid == 0) {
      (void)!freopen("/dev/null", "w", stdout);
      (void)!freopen("/dev/null", "w", stderr);
      const char* resume = round == 0 ? "--overwrite" : "--resume";
      execl(bin.c_str(), bin.c_str(), "train", "--config", config.c_str(), "--run-dir", run.c_str(), "--set",
            "train.valid_every=1", resume, nullptr);
      _exit(127);
    }
    if (round == 0) {
      // The first kill comes once a checkpoint exists (however loaded the
      // machine is), at a random moment of the writes that follow.
      for (int i = 0; i < 600 && !fs::exists(run + "/checkpoints/last.ckpt"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 800));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1200 + rng() % 1500));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    if (!fs::exists(run + "/checkpoints/last.ckpt")) continue;  // killed before the first one
    for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
      if (e.path().extension() == ".ckpt") EXPECT_NO_THROW(load_checkpoint(e.path().string())) << e.path();
  }
  ASSERT_TRUE(fs::exists(run + "/checkpoints/last.ckpt")) << "no round lived long enough to write a checkpoint";
  auto r = run_attn(train_cmd(d, run) + " --resume --set train.max_steps=" +
                    std::to_string(load_checkpoint(run + "/checkpoints/last.ckpt").trainer_state["step"].get<int>() + 3));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(leftovers(run).empty()) << "a killed writer's temp file was not cleared: " << leftovers(run).front();
}

// Disk full while training, made real with a small tmpfs (needs root).
TEST(Faults, AFullDiskStopsTrainingWithOneLineAndKeepsTheCheckpoints) {
  TempDir d;
  std::string disk = d.path("disk");
  fs::create_directories(disk);
  if (geteuid() != 0 || std::system(("mount -t tmpfs -o size=8m tmpfs " + disk + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "mounting a small tmpfs needs root; FileSizeLimit... injects the same write failure";
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)!std::system(("umount " + dir).c_str()); }
  } unmount{disk};
  write_config(d);
  std::string run = disk + "/run";
  auto first = run_attn(train_cmd(d, run));
  ASSERT_EQ(first.code, 0) << first.err;
  std::string last = read_file(run + "/checkpoints/last.ckpt"), best = read_file(run + "/checkpoints/best.ckpt");
  // Fill the disk, then free a third of a checkpoint: small files still fit, the next checkpoint does not.
  {
    std::ofstream filler(disk + "/filler", std::ios::binary);
    std::string block(64 * 1024, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
    }
  }
  fs::resize_file(disk + "/filler", fs::file_size(disk + "/filler") - last.size() / 3);
  auto r = run_attn(train_cmd(d, run) + " --resume --set train.max_steps=40");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("training stopped at step 15"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last.ckpt holds step 10"), std::string::npos) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
  EXPECT_TRUE(leftovers(run).empty()) << leftovers(run).front();
  EXPECT_EQ(read_file(run + "/checkpoints/last.ckpt"), last);
  EXPECT_EQ(read_file(run + "/checkpoints/best.ckpt"), best);
  // Space again: the run continues from where it stood.
  fs::remove(disk + "/filler");
  auto again = run_attn(train_cmd(d, run) + " --resume --set train.max_steps=20");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").trainer_state["step"], 20);
}

// The same failure without root: a file size limit (RLIMIT_FSIZE) below a
// checkpoint's size makes the checkpoint's write fail (EFBIG) and nothing else.
TEST(Faults, FileSizeLimitBelowACheckpointStopsTrainingAndKeepsTheCheckpoints) {
  TempDir d;
  write_config(d);
  std::string run = d.path("run");
  auto first = run_attn(train_cmd(d, run));
  ASSERT_EQ(first.code, 0) << first.err;
  std::string last = read_file(run + "/checkpoints/last.ckpt");
  ASSERT_GT(last.size(), 200u * 1024);
  // /bin/sh's ulimit -f counts 512-byte blocks (dash) or 1024 (bash): either is below the checkpoint.
  std::string limit = "trap '' XFSZ; ulimit -f " + std::to_string(last.size() / 1024 / 2) + ";";
  auto r = run_attn(train_cmd(d, run) + " --resume --set train.max_steps=20", "", limit);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("training stopped at step 15"), std::string::npos) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  EXPECT_TRUE(leftovers(run).empty()) << leftovers(run).front();
  EXPECT_EQ(read_file(run + "/checkpoints/last.ckpt"), last);
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/best.ckpt").trainer_state["step"], 10);
}

TEST(Faults, ASecondTrainingInTheSameRunDirectoryIsRefusedAndAStaleLockIsTakenOver) {
  TempDir d;
  write_config(d);
  std::string run = d.path("run");
  {
    RunLock held(run);  // as a running `attn train` holds it
    auto r = run_attn(train_cmd(d, run));
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("another training is running in this run directory (pid " + std::to_string(getpid())),
              std::string::npos)
        << r.err;
    EXPECT_EQ(error_lines(r.err), 1) << r.err;
    EXPECT_FALSE(fs::exists(run + "/config.json")) << "the refused run wrote into the directory";
    EXPECT_FALSE(fs::exists(run + "/checkpoints"));
  }
  // A lock file left by a process that died: nobody holds the lock, so it is taken.
  write_text(RunLock::path_in(run), "pid 999999 on elsewhere, started 2026-01-01 00:00:00\n");
  auto r = run_attn(train_cmd(d, run));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(run + "/checkpoints/last.ckpt"));
}

TEST(Faults, ResumingAFinishedRunChangesNothingAndALargerBudgetExtendsIt) {
  TempDir d;
  write_config(d);
  std::string run = d.path("run");
  ASSERT_EQ(run_attn(train_cmd(d, run)).code, 0);
  auto snapshot = [&] {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(run))
      if (e.is_regular_file() && e.path().filename() != "train.log") files[e.path().string()] = read_file(e.path());
    return files;
  };
  auto before = snapshot();
  for (int i = 0; i < 2; ++i) {
    auto r = run_attn(train_cmd(d, run) + " --resume");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("already finished at step 10 (train.max_steps = 10 reached); nothing changed"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("--set train.max_steps=20"), std::string::npos) << r.out;
  }
  EXPECT_EQ(snapshot(), before);
  auto more = run_attn(train_cmd(d, run) + " --resume --set train.max_steps=15");
  EXPECT_EQ(more.code, 0) << more.err;
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").trainer_state["step"], 15);
}

TEST(Faults, TrainingAgainOverCheckpointsIsRefusedUnlessOverwriteIsGiven) {
  TempDir d;
  write_config(d, 10);
  std::string run = d.path("run");
  ASSERT_EQ(run_attn(train_cmd(d, run)).code, 0);
  std::string best = read_file(run + "/checkpoints/best.ckpt");
  write_config(d, 5);
  auto r = run_attn(train_cmd(d, run));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("holds checkpoints of an earlier run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  EXPECT_EQ(read_file(run + "/checkpoints/best.ckpt"), best);
  // Told to: the earlier run's checkpoints go, none is left orphaned.
  auto o = run_attn(train_cmd(d, run) + " --overwrite");
  EXPECT_EQ(o.code, 0) << o.err;
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"best-step5.ckpt", "best.ckpt", "last.ckpt"}));
  EXPECT_EQ(split_lines(read_file(run + "/metrics.jsonl")).size(), 1u);
}

TEST(Faults, OutputsThatCannotBeWrittenFailBeforeTheWorkAndLeaveNoTempFiles) {
  TempDir d;
  write_config(d);
  std::string run = d.path("run");
  ASSERT_EQ(run_attn(train_cmd(d, run)).code, 0);
  std::string ck = run + "/checkpoints/last.ckpt";
  fs::create_directories(d.path("outdir"));
  auto r = run_attn("translate --checkpoint " + ck + " --output " + d.path("outdir"), "a b\n");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(d.path("outdir") + ": is a directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("translated"), std::string::npos) << "the error came after the work: " << r.err;
  EXPECT_FALSE(fs::exists(d.path("outdir.tmp")));
  write_text(d.path("afile"), "x\n");
  auto dump = run_attn("translate --checkpoint " + ck + " --dump-attention " + d.path("afile"), "a b\n");
  EXPECT_EQ(dump.code, 1) << dump.err;
  EXPECT_NE(dump.err.find(d.path("afile")), std::string::npos) << dump.err;
  auto ev = run_attn("evaluate --checkpoint " + ck + " --src " + run + "/data/test.src --ref " + run +
                     "/data/test.tgt --out " + d.path("afile"));
  EXPECT_EQ(ev.code, 1) << ev.err;
  EXPECT_EQ(ev.out.find("BLEU"), std::string::npos) << "the error came after the work";
  EXPECT_TRUE(leftovers(d.path()).empty()) << leftovers(d.path()).front();
}

// 256 bytes overwritten inside a tensor: the size is unchanged and LibTorch
// loads it without complaint; the zip CRC says otherwise.
TEST(Faults, ADamagedCheckpointIsRefusedWithOneLine) {
  TempDir d;
  write_config(d);
  std::string run = d.path("run");
  ASSERT_EQ(run_attn(train_cmd(d, run)).code, 0);
  std::string good = read_file(run + "/checkpoints/last.ckpt");
  // The largest entry named archive/data/N (a tensor's bytes), from the zip's central directory.
  auto u16 = [&](size_t o) {
    return static_cast<size_t>(static_cast<unsigned char>(good[o])) |
           static_cast<size_t>(static_cast<unsigned char>(good[o + 1])) << 8;
  };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  size_t at = 0, biggest = 0;
  for (size_t p = good.find("PK\x01\x02"); p != std::string::npos; p = good.find("PK\x01\x02", p + 4)) {
    size_t size = u32(p + 24), name = u16(p + 28), local = u32(p + 42);
    if (good.substr(p + 46, name).find("/data/") != std::string::npos && size > biggest)
      biggest = size, at = local + 30 + u16(local + 26) + u16(local + 28);
  }
  ASSERT_GE(biggest, 256u);
  std::string bad = good;
  for (size_t i = 0; i < 256; ++i) bad[at + biggest / 2 - 128 + i] = static_cast<char>(0x5A);
  write_text(d.path("bitrot.ckpt"), bad);
  write_text(d.path("short.ckpt"), good.substr(0, good.size() / 2));
  write_text(d.path("empty.ckpt"), "");
  for (const auto& [file, says] : std::vector<std::pair<std::string, std::string>>{
           {"bitrot.ckpt", "CRC mismatch"}, {"short.ckpt", "damaged checkpoint"}, {"empty.ckpt", "damaged checkpoint"}}) {
    auto r = run_attn("translate --checkpoint " + d.path(file), "a b\n");
    EXPECT_EQ(r.code, 1) << file << ": " << r.err;
    EXPECT_NE(r.err.find(d.path(file) + ": damaged checkpoint"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_EQ(error_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  EXPECT_NO_THROW(load_checkpoint(run + "/checkpoints/last.ckpt"));
}

// The learning rate warms up to 50 without clipping: the first validation is
// sane, the next has exploded (the issue's run went from 2.6 to 430 nats).
TEST(Faults, DivergenceStopsTrainingWithoutMakingTheDivergedModelBest) {
  TempDir d;
  write_config(d, 200, R"(, "lr": 50, "clip": 0, "schedule": "inverse_sqrt", "warmup": 400)");
  std::string run = d.path("run");
  auto r = run_attn(train_cmd(d, run));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("training diverged at step 10"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("best.ckpt step 5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Lower train.lr"), std::string::npos) << r.err;
  EXPECT_EQ(error_lines(r.err), 1) << r.err;
  // Every validation logged is below the limit, and no checkpoint holds the diverged model.
  const double limit = 3 * std::log(10.0) + 10;  // 10 tokens: 6 words and 4 specials
  auto lines = split_lines(read_file(run + "/metrics.jsonl"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(nlohmann::json::parse(lines[0])["valid_loss"].get<double>(), limit);
  for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
    EXPECT_EQ(load_checkpoint(e.path().string()).trainer_state["step"], 5) << e.path();
}
