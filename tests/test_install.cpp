// attn as an installed tool: --version, `cmake --install` into a prefix and
// run from elsewhere (the sentencepiece bridge found from the binary), and
// the Debian package CPack builds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "test_util.h"

using attn::test::read_text;
using attn::test::run_attn;
using attn::test::TempDir;
using attn::test::write_text;
namespace fs = std::filesystem;

namespace {

const fs::path kBuild = fs::path(ATTN_BINARY).parent_path();

// Runs a shell command; returns its exit code and output (stdout and stderr).
std::pair<int, std::string> sh(const std::string& cmd) {
  TempDir d;
  int rc = std::system((cmd + " > " + d.path("out") + " 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_text(d.path("out"))};
}

}  // namespace

TEST(Install, VersionNamesAttnLibTorchAndTheBlas) {
  auto r = run_attn("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("attn " ATTN_TEST_VERSION "\nLibTorch ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nBLAS: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libblas.so.3"), std::string::npos) << r.out;
}

TEST(Install, InstalledIntoAPrefixItRunsFromAnyDirectory) {
  TempDir prefix, elsewhere;
  auto [rc, out] = sh("cmake --install " + kBuild.string() + " --prefix " + prefix.path());
  ASSERT_EQ(rc, 0) << out;
  const std::string attn = prefix.path("bin/attn");
  ASSERT_TRUE(fs::exists(attn));
  EXPECT_FALSE(fs::exists(prefix.path("bin/libattn_spm_bridge.so")));  // found in lib/<arch>/attn, not beside it
  EXPECT_TRUE(fs::exists(prefix.path("share/attn/configs/toy_reverse.json")));
  const std::string in = "cd " + elsewhere.path() + " && " + attn;
  auto v = sh(in + " --version");
  EXPECT_EQ(v.first, 0) << v.second;
  // Sentencepiece goes through the bridge, which the installed binary must find.
  std::string text;
  for (int i = 0; i < 200; ++i) text += "der hund und die katze sehen " + std::to_string(i % 17) + " vögel\n";
  write_text(elsewhere.path("text.txt"), text);
  auto spm = sh(in + " data spm --input text.txt --model-prefix m --vocab-size 40");
  EXPECT_EQ(spm.first, 0) << spm.second;
  EXPECT_TRUE(fs::exists(elsewhere.path("m.model")));
  // Train and translate with the installed binary, from that directory.
  auto train = sh(in + " --log-level warn train --config " + prefix.path("share/attn/configs/toy_reverse.json") +
                  " --run-dir run --set data.toy.n_train=200 --set train.max_steps=3 --set train.valid_every=3" +
                  " --set data.toy.n_valid=10 --set data.toy.n_test=10");
  ASSERT_EQ(train.first, 0) << train.second;
  auto t = sh(in + " translate --checkpoint run/checkpoints/last.ckpt < /dev/null && echo 'a b c' | " + attn +
              " translate --checkpoint run/checkpoints/last.ckpt");
  EXPECT_EQ(t.first, 0) << t.second;
}

TEST(Install, CPackBuildsADebianPackageThatDeclaresItsDependencies) {
  if (std::system("command -v dpkg-deb > /dev/null && command -v dpkg-shlibdeps > /dev/null") != 0)
    GTEST_SKIP() << "dpkg-deb or dpkg-shlibdeps (package dpkg-dev) is not installed";
  TempDir out;
  auto [rc, log] = sh("cd " + kBuild.string() + " && cpack -G DEB -B " + out.path());
  ASSERT_EQ(rc, 0) << log;
  std::string deb;
  for (const auto& e : fs::directory_iterator(out.path()))
    if (e.path().extension() == ".deb") deb = e.path().string();
  ASSERT_FALSE(deb.empty()) << log;
  auto depends = sh("dpkg-deb -f " + deb + " Depends");
  EXPECT_NE(depends.second.find("libtorch1.13"), std::string::npos) << depends.second;
  EXPECT_NE(depends.second.find("libsentencepiece0"), std::string::npos) << depends.second;
  auto files = sh("dpkg-deb -c " + deb);
  EXPECT_NE(files.second.find("./usr/bin/attn"), std::string::npos) << files.second;
  EXPECT_NE(files.second.find("/attn/libattn_spm_bridge.so"), std::string::npos) << files.second;
}
