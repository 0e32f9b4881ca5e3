// Sequence memorisation: repeated presentation links each element's assembly to the next, until
// the first stimulus alone replays the whole sequence.
#include <gtest/gtest.h>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/sequence.hpp"
#include "support/backends.hpp"

namespace engram::assembly {
namespace {

class Sequences : public ::testing::TestWithParam<std::string> {};

TEST_P(Sequences, RecalledFromFirstElementAfterRepeatedPresentation) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const SequenceExperiment e = parse_sequence(io::load_config_string(R"(
n: 20000
k: 141
p: 0.05
beta: 0.1
length: 4
presentations: 14
seed: 3
brains: 2
)"));
  std::vector<double> last_element_recall(e.presentations + 1, 0.0);
  const auto learned = run_sequence(e, backend, [&](const SequenceRecord& r) {
    if (r.element == e.length) last_element_recall[r.presentation] += r.overlap / e.brains;
  });
  ASSERT_EQ(learned.size(), 2u);
  for (std::uint32_t presentation : learned) {
    EXPECT_GT(presentation, 1u) << "one presentation cannot already link the sequence";
    EXPECT_LE(presentation, e.presentations) << "the sequence must be learned within the budget";
  }
  // The control: after one presentation the last element is not replayed.
  EXPECT_LT(last_element_recall[1], 0.5);
  EXPECT_GE(last_element_recall[e.presentations], 0.9);
}

TEST(SequenceConfig, RejectsBadFields) {
  EXPECT_THROW(parse_sequence(io::load_config_string("n: 100\nk: 10\np: 0.1\nbeta: 0.1\nlength: 1\npresentations: 3\n")),
               Error);
  try {
    parse_sequence(io::load_config_string("n: 100\nk: 10\np: 0.1\nbeta: 0.1\nlength: 3\npresentations: 3\nrecall_threshold: 2\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("recall_threshold = 2"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Sequences, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
}  // namespace engram::assembly
