// The folders of src/ are layers, and includes point downwards only:
//   util, blas < config < data, ops < model < search < eval < report < train < app < serve < cli
// (CMakeLists.txt links one library per folder in the same order).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::map<std::string, int> kLayer = {{"util", 0},   {"blas", 0},  {"config", 1}, {"data", 2}, {"ops", 2}, {"model", 3},
                                           {"search", 4}, {"eval", 5},  {"report", 6}, {"train", 7}, {"app", 8}, {"serve", 9},
                                           {"cli", 10}};

// "src/eval/x.cpp includes report/y.h (report is above eval)" for each upward
// or unknown include; `files` maps a folder/file name to its text.
std::vector<std::string> upward_includes(const std::map<std::string, std::string>& files) {
  std::vector<std::string> bad;
  const std::regex include(R"re(#include\s+"(([a-z_]+)/[^"]+)")re");
  for (const auto& [name, text] : files) {
    std::string from = name.substr(0, name.find('/'));
    auto f = kLayer.find(from);
    if (f == kLayer.end()) {
      bad.push_back("src/" + name + ": folder " + from + " has no layer");
      continue;
    }
    for (std::sregex_iterator it(text.begin(), text.end(), include), end; it != end; ++it) {
      std::string to = (*it)[2];
      auto t = kLayer.find(to);
      if (t == kLayer.end() || t->second > f->second || (t->second == f->second && to != from))
        bad.push_back("src/" + name + " includes " + (*it)[1].str() + " (" + to + " is not below " +
                      from + ")");
    }
  }
  return bad;
}

}  // namespace

TEST(Layers, TheCheckCatchesAnUpwardInclude) {
  auto bad = upward_includes({{"eval/a.cpp", "#include \"eval/a.h\"\n#include \"model/m.h\"\n"},
                              {"model/m.cpp", "#include \"search/search.h\"\n"},
                              {"util/u.cpp", "#include \"blas/blas_probe.h\"\n"}});
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_NE(bad[0].find("src/model/m.cpp includes"), std::string::npos) << bad[0];
  EXPECT_NE(bad[1].find("src/util/u.cpp includes"), std::string::npos) << bad[1];
}

TEST(Layers, IncludesPointDownwards) {
  std::map<std::string, std::string> files;
  fs::path src = fs::path(ATTN_SOURCE_DIR) / "src";
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    if (!e.is_regular_file() || e.path().parent_path() == src) continue;  // main.cpp sits on top
    std::ifstream in(e.path());
    files[fs::relative(e.path(), src).string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(files.size(), 50u);
  for (const auto& b : upward_includes(files)) ADD_FAILURE() << b;
}
