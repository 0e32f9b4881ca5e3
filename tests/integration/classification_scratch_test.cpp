#include <gtest/gtest.h>
#include <cstdio>
#include <cstdlib>
#include "engram/models/assembly/classification.hpp"
#include "engram/engine/io/config_node.hpp"
#include "support/backends.hpp"
namespace engram::assembly {
TEST(ClassifScratch, Sweep) {
  const char* cfg = std::getenv("CLS_CFG");
  if (!cfg) GTEST_SKIP();
  auto backend = make_backend("cpu");
  auto e = parse_classification(io::load_config_file(cfg), std::filesystem::path(cfg).parent_path());
  double acc = 0, ov = 0; int n = 0;
  run_classification(e, *backend, [&](const ClassificationRecord& r) {
    std::printf("brain %u acc %.3f overlap %.3f\n", r.brain, r.accuracy, r.assembly_overlap);
    acc += r.accuracy; ov += r.assembly_overlap; ++n; });
  std::printf("MEAN acc %.4f overlap %.3f\n", acc / n, ov / n);
}
}
