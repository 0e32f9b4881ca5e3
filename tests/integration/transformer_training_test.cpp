// Training the separable transformer end to end: accuracy on the synthetic angle data, transfer
// of the frozen individual module to a population of another size, the train_transformer job
// kind (sweep rows independent of batch company) and the CLI with good and malformed data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "engram/engine/error.hpp"
#include "engram/models/data/neural_data.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/data/synthetic.hpp"
#include "engram/models/job_kinds.hpp"
#include "engram/models/transformer/training.hpp"
#include "support/cli.hpp"
#include "support/threads.hpp"

namespace {

namespace fs = std::filesystem;
using namespace engram::models::transformer;

TransformerConfig small_model(std::int64_t neurons) {
  TransformerConfig cfg;
  cfg.heads = 1;
  cfg.head_dim = 16;
  cfg.individual_layers = 1;
  cfg.population_layers = 1;
  cfg.dropout = 0.1;
  cfg.neuron_embedding = true;
  cfg.neurons = neurons;
  cfg.outputs = 8;
  return cfg;
}

engram::data::AngleSpec angle_spec(std::int64_t neurons, std::uint64_t population, std::int64_t trials = 600) {
  engram::data::AngleSpec spec;
  spec.trials = trials;
  spec.time = 2;
  spec.neurons = neurons;
  spec.gain = 3.0;
  spec.population_seed = population;
  return spec;
}

// One test, so the trained model is reused for transfer. One thread: the result is the same
// for any count, and spinning OpenMP barriers make many small launches slow on a shared machine.
TEST(TransformerTraining, ReachesEightyFivePercentAndTransfersTheIndividualModule) {
  engram::testing::OmpThreads one(1);
  auto backend = engram::make_backend("cpu");
  // 2000 trials: a 500-trial test set, so the 85% bar is not decided by a handful of trials.
  const auto data = engram::data::angle_population(angle_spec(100, 1, 2000), 1);
  const auto [train, test] = split_trials(data, 0.25, 1);
  SeparableTransformer net(small_model(100), *backend, 1);
  TrainSpec spec;
  spec.steps = 250;
  spec.batch = 32;
  spec.adam.lr = 0.015;
  const TrainReport first = train_model(net, train, test, spec, 1);
  EXPECT_GE(first.test_metric, 0.85) << "8 classes, 100 neurons";

  const auto data2 = engram::data::angle_population(angle_spec(60, 2), 2);
  const auto [train2, test2] = split_trials(data2, 0.25, 2);
  const Slice individual{0, net.layout().individual_end};
  const std::vector<float> all_before = net.params();
  const std::vector<float> before(all_before.begin(), all_before.begin() + individual.size);
  net.reset_population(60, 3);
  TrainSpec head = spec;
  head.steps = 150;
  head.freeze_individual = true;
  const TrainReport transfer = train_model(net, train2, test2, head, 2);
  const std::vector<float> all_after = net.params();
  EXPECT_EQ(std::vector<float>(all_after.begin(), all_after.begin() + individual.size), before)
      << "the individual module must stay frozen";
  SeparableTransformer scratch(small_model(60), *backend, 4);
  head.freeze_individual = false;
  const TrainReport fresh = train_model(scratch, train2, test2, head, 2);
  EXPECT_GE(transfer.test_metric, 0.8 * fresh.test_metric)
      << "transfer " << transfer.test_metric << ", from scratch " << fresh.test_metric;
  std::printf("angle data: test accuracy %.3f (100 neurons); transfer %.3f vs scratch %.3f (60 neurons)\n",
              first.test_metric, transfer.test_metric, fresh.test_metric);
}

TEST(TransformerTraining, SweepRowsDoNotDependOnTheirBatch) {
  engram::testing::OmpThreads one(1);
  const auto config = engram::io::load_config_string(R"(experiment: train_transformer
data: {source: angle, trials: 40, time: 2, neurons: 10, classes: 4}
model: {width: 16, heads: 1, head_dim: 16, individual_layers: 1, population_layers: 1}
train: {steps: 3, batch: 8, lr: 0.01}
)");
  const engram::sched::JobKind& kind = engram::models::job_kind(config);
  EXPECT_EQ(kind.name(), "train_transformer");
  kind.validate(config);
  auto backend = engram::make_backend("cpu");
  const std::vector<engram::sched::JobInput> pair = {{config, 5}, {config, 6}}, alone = {{config, 6}};
  const auto rows = kind.run_batch(pair, *backend, {});
  const auto single = kind.run_batch(alone, *backend, {});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], single[0]);
  EXPECT_NE(rows[0][3], rows[1][3]) << "different seeds, different final losses";
  EXPECT_EQ(rows[0].size(), kind.result_columns(config).size());
}

TEST(TransformerTraining, ConfigErrorsNameTheField) {
  auto error_of = [](const std::string& yaml) {
    try {
      const auto config = engram::io::load_config_string(yaml);
      engram::models::job_kind(config).validate(config);
    } catch (const engram::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string base = "experiment: train_transformer\ndata: {source: angle}\n";
  EXPECT_NE(error_of(base + "model: {head_dim: 8}\n").find("model.head_dim = 8"), std::string::npos);
  EXPECT_NE(error_of(base + "model: {dropout: 1.5}\n").find("model.dropout = 1.5"), std::string::npos);
  EXPECT_NE(error_of(base + "train: {lr: -1}\n").find("train.lr = -1"), std::string::npos);
  EXPECT_NE(error_of("experiment: train_transformer\ndata: {source: tape}\n").find("data.source = tape"), std::string::npos);
  EXPECT_NE(error_of(base + "train: {stepz: 3}\n").find("stepz"), std::string::npos);
}

TEST(TransformerTraining, CliRunsTheExampleAndRejectsMalformedData) {
  const fs::path dir = fs::temp_directory_path() / ("engram_train_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto r = engram::testing::run_cli("run " + std::string(ENGRAM_SOURCE_DIR) +
                                              "/examples/train_transformer.yaml --out " + (dir / "out").string(),
                                          "OMP_NUM_THREADS=1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string metrics = engram::testing::read_file(dir / "out" / "metrics.csv");
  EXPECT_NE(metrics.find("phase,neurons,steps,metric,train,test,final_loss"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("train,100,20,accuracy"), std::string::npos) << metrics;
  // A file with a negative count: exit 2, the message names the array element.
  engram::data::NeuralData bad;
  bad.trials = 4;
  bad.time = 2;
  bad.neurons = 3;
  bad.counts.assign(24, 1.0f);
  bad.counts[5] = -2.0f;
  bad.labels = {0, 1, 0, 1};
  bad.classes = 2;
  engram::data::write_npz((dir / "bad.npz").string(),
                          {{"counts", {4, 2, 3}, "<f4", {bad.counts.begin(), bad.counts.end()}},
                           {"labels", {4}, "<i8", {0, 1, 0, 1}}});
  std::ofstream(dir / "bad.yaml") << "experiment: train_transformer\ndata: {source: file, path: " << (dir / "bad.npz").string()
                                  << "}\ntrain: {steps: 2}\n";
  const auto e = engram::testing::run_cli("run " + (dir / "bad.yaml").string());
  EXPECT_EQ(e.exit_code, 2) << e.output;
  EXPECT_NE(e.output.find("counts[0, 1, 2] = -2: spike counts must be >= 0"), std::string::npos) << e.output;
  fs::remove_all(dir);
}

}  // namespace
