#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include "commands.hpp"
#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/atomic_file.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/classification.hpp"
#include "engram/models/assembly/markov.hpp"
#include "engram/models/assembly/projection_experiment.hpp"
#include "engram/models/assembly/script_experiment.hpp"
#include "engram/models/assembly/sequence.hpp"
#include "engram/engine/scheduler/sweep.hpp"
#include "engram/models/job_kinds.hpp"
#include <memory>
#include "progress_bar.hpp"

namespace engram::cli {

namespace {
void check_out_dir(const RunOptions& options) {
  if (options.out && std::filesystem::exists(*options.out) && !std::filesystem::is_directory(*options.out)) {
    throw Error::bad_input("--out", *options.out, "exists and is not a directory");
  }
}

int run_sequence_command(const RunOptions& options, const io::ConfigNode& root) {
  assembly::SequenceExperiment experiment = assembly::parse_sequence(root);
  if (options.backend) experiment.backend = *options.backend;
  auto backend = make_backend(experiment.backend);
  check_out_dir(options);
  std::printf("engram %s: sequence of %u stimuli%s, up to %u presentations, %s backend, %u brain(s)\n",
              ENGRAM_VERSION, experiment.length, experiment.scaffold ? " with a scaffold area" : "",
              experiment.presentations, std::string(backend->name()).c_str(), experiment.brains);
  std::vector<assembly::SequenceRecord> records;
  const auto learned = assembly::run_sequence(experiment, *backend,
                                              [&](const assembly::SequenceRecord& r) { records.push_back(r); });
  std::map<std::uint32_t, std::pair<double, std::uint32_t>> mean_recall;  // presentation -> (sum, count)
  for (const auto& r : records) {
    auto& m = mean_recall[r.presentation];
    m.first += r.overlap;
    ++m.second;
  }
  std::printf("%12s %14s\n", "presentation", "mean recall");
  for (const auto& [presentation, m] : mean_recall) std::printf("%12u %14.4f\n", presentation, m.first / m.second);
  for (std::size_t b = 0; b < learned.size(); ++b) {
    if (learned[b] > 0) std::printf("brain %zu: recalled the whole sequence after %u presentation(s)\n", b, learned[b]);
    else std::printf("brain %zu: not recalled within %u presentations\n", b, experiment.presentations);
  }
  if (options.out) {
    std::filesystem::create_directories(*options.out);
    io::AtomicFile csv(std::filesystem::path(*options.out) / "sequence.csv");
    csv.stream() << "brain,seed,presentation,element,overlap\n";
    for (const auto& r : records) {
      csv.stream() << r.brain << ',' << r.seed << ',' << r.presentation << ',' << r.element << ',' << r.overlap << '\n';
    }
    csv.commit();
    std::printf("wrote %s\n", (std::filesystem::path(*options.out) / "sequence.csv").c_str());
  }
  return 0;
}

int run_markov_command(const RunOptions& options, const io::ConfigNode& root) {
  assembly::MarkovExperiment experiment = assembly::parse_markov(root);
  if (options.backend) experiment.backend = *options.backend;
  auto backend = make_backend(experiment.backend);
  check_out_dir(options);
  const std::size_t states = experiment.transitions.size();
  std::printf("engram %s: Markov chain of %zu states, %u training transitions, %u sampled steps, %s backend\n",
              ENGRAM_VERSION, states, experiment.train_transitions, experiment.sample_steps,
              std::string(backend->name()).c_str());
  const auto results = assembly::run_markov(experiment, *backend);
  std::printf("%5s %5s %5s %10s %10s %10s\n", "brain", "from", "to", "chain", "trained", "sampled");
  for (const auto& r : results) {
    for (std::size_t x = 0; x < states; ++x) {
      double trained = 0, sampled = 0;
      for (std::size_t y = 0; y < states; ++y) {
        trained += r.trained[x][y];
        sampled += r.sampled[x][y];
      }
      for (std::size_t y = 0; y < states; ++y) {
        std::printf("%5u %5zu %5zu %10.3f %10.3f %10.3f\n", r.brain, x, y, experiment.transitions[x][y],
                    trained > 0 ? r.trained[x][y] / trained : 0.0, sampled > 0 ? r.sampled[x][y] / sampled : 0.0);
      }
    }
    std::printf("brain %u: largest |sampled - chain| = %.3f\n", r.brain, r.max_error);
  }
  if (options.out) {
    std::filesystem::create_directories(*options.out);
    io::AtomicFile csv(std::filesystem::path(*options.out) / "markov.csv");
    csv.stream() << "brain,from,to,chain,trained_count,sampled_count\n";
    for (const auto& r : results) {
      for (std::size_t x = 0; x < states; ++x) {
        for (std::size_t y = 0; y < states; ++y) {
          csv.stream() << r.brain << ',' << x << ',' << y << ',' << experiment.transitions[x][y] << ','
                       << r.trained[x][y] << ',' << r.sampled[x][y] << '\n';
        }
      }
    }
    csv.commit();
    std::printf("wrote %s\n", (std::filesystem::path(*options.out) / "markov.csv").c_str());
  }
  return 0;
}

// Any registered kind: its tables become <name>.csv under --out, all written only after the run.
int run_job_kind_command(const RunOptions& options, const io::ConfigNode& root, const sched::JobKind& kind) {
  if (sched::is_sweep(root)) return run_sweep_command(options);
  if (options.resume || options.force || options.shard) {
    throw Error::bad_input(options.resume ? "--resume" : options.force ? "--force" : "--shard", "(set)",
                           "applies only to configs with a sweep: section");
  }
  kind.validate(root);
  check_out_dir(options);
  sched::RunContext context;
  if (options.backend) context.backend = *options.backend;
  std::printf("engram %s: %s: %s\n", ENGRAM_VERSION, std::string(kind.name()).c_str(),
              std::string(kind.description()).c_str());
  sched::Results results;
  {
    ProgressBar bar("steps");
    context.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    results = kind.run(root, context);
  }
  for (const std::string& line : results.summary) std::printf("%s\n", line.c_str());
  if (options.out) {
    std::filesystem::create_directories(*options.out);
    std::vector<std::unique_ptr<io::AtomicFile>> files;
    for (const sched::Table& table : results.tables) {
      files.push_back(std::make_unique<io::AtomicFile>(std::filesystem::path(*options.out) / (table.name + ".csv")));
      files.back()->stream() << table.csv();
    }
    for (auto& file : files) file->commit();
    for (const sched::Table& table : results.tables) {
      std::printf("wrote %s\n", (std::filesystem::path(*options.out) / (table.name + ".csv")).c_str());
    }
  }
  return 0;
}

int run_classification_command(const RunOptions& options, const io::ConfigNode& root) {
  assembly::ClassificationExperiment experiment =
      assembly::parse_classification(root, std::filesystem::path(options.config).parent_path());
  if (options.backend) experiment.backend = *options.backend;
  auto backend = make_backend(experiment.backend);
  check_out_dir(options);
  std::printf("engram %s: classification with class assemblies, %s backend\n", ENGRAM_VERSION,
              std::string(backend->name()).c_str());
  std::vector<assembly::ClassificationRecord> records;
  {
    ProgressBar bar("presentations");
    assembly::run_classification(
        experiment, *backend, [&](const assembly::ClassificationRecord& r) { records.push_back(r); },
        [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
  }
  double mean = 0;
  std::printf("%5s %8s %8s %10s %18s\n", "brain", "tested", "correct", "accuracy", "assembly overlap");
  for (const auto& r : records) {
    std::printf("%5u %8u %8u %10.4f %18.4f\n", r.brain, r.tested, r.correct, r.accuracy, r.assembly_overlap);
    mean += r.accuracy / static_cast<double>(records.size());
  }
  std::printf("mean accuracy %.4f over %zu brain(s)\n", mean, records.size());
  if (options.out) {
    std::filesystem::create_directories(*options.out);
    io::AtomicFile csv(std::filesystem::path(*options.out) / "results.csv");
    csv.stream() << "brain,seed,classes,train_per_class,tested,correct,accuracy,assembly_overlap\n";
    for (const auto& r : records) {
      csv.stream() << r.brain << ',' << r.seed << ',' << r.classes << ',' << r.train_per_class << ',' << r.tested << ','
                   << r.correct << ',' << r.accuracy << ',' << r.assembly_overlap << '\n';
    }
    csv.commit();
    std::printf("wrote %s\n", (std::filesystem::path(*options.out) / "results.csv").c_str());
  }
  return 0;
}

}  // namespace

int run_command(const RunOptions& options) {
  // Everything that can be wrong with the input is checked before anything is created.
  const io::ConfigNode root = io::load_config_file(options.config);
  const std::string kind = root.optional<std::string>("experiment", "project");
  if (kind == "sequence") return run_sequence_command(options, root);
  if (kind == "markov") return run_markov_command(options, root);
  if (kind == "classify") return run_classification_command(options, root);
  if (const sched::JobKind* registered = models::find_job_kind(kind)) {
    return run_job_kind_command(options, root, *registered);
  }
  std::string known = "sequence, markov, classify";
  for (const sched::JobKind* k : models::job_kinds()) known += ", " + std::string(k->name());
  throw Error::bad_input("experiment", kind, "must be one of " + known);
}

}  // namespace engram::cli
