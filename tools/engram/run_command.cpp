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
#include "engram/models/assembly/sweep.hpp"
#include "engram/models/job_kinds.hpp"
#include <memory>
#include "progress_bar.hpp"

namespace engram::cli {

namespace {
void write_csv(const std::filesystem::path& dir, const std::vector<assembly::ProjectionRecord>& records) {
  io::AtomicFile csv(dir / "projection.csv");
  auto& out = csv.stream();
  out << "brain,seed,step,area,k,support,overlap,overlap_fraction\n";
  for (const auto& r : records) {
    out << r.brain << ',' << r.seed << ',' << r.step << ',' << r.area << ',' << r.k << ',' << r.support << ','
        << r.overlap << ',' << static_cast<double>(r.overlap) / r.k << '\n';
  }
  csv.commit();
}

void print_table(const assembly::ProjectionExperiment& e, const std::vector<assembly::ProjectionRecord>& records) {
  struct Summary {
    double support = 0, overlap = 0, min_overlap = 1;
    std::uint32_t brains = 0;
  };
  std::map<std::pair<std::uint32_t, std::string>, Summary> by_step;
  for (const auto& r : records) {
    Summary& s = by_step[{r.step, r.area}];
    const double fraction = static_cast<double>(r.overlap) / r.k;
    s.support += static_cast<double>(r.support);
    s.overlap += fraction;
    s.min_overlap = std::min(s.min_overlap, fraction);
    ++s.brains;
  }
  const bool many = e.brains > 1;
  std::printf(many ? "%5s  %-8s %12s %10s %10s\n" : "%5s  %-8s %12s %10s\n", "step", "area",
              many ? "support(avg)" : "support", many ? "overlap" : "overlap", "min");
  for (const auto& [key, s] : by_step) {
    if (many) {
      std::printf("%5u  %-8s %12.1f %10.4f %10.4f\n", key.first, key.second.c_str(), s.support / s.brains,
                  s.overlap / s.brains, s.min_overlap);
    } else {
      std::printf("%5u  %-8s %12.0f %10.4f\n", key.first, key.second.c_str(), s.support, s.overlap);
    }
  }
}
void write_metrics(const std::filesystem::path& dir, const std::vector<assembly::MetricRecord>& records) {
  io::AtomicFile csv(dir / "metrics.csv");
  auto& out = csv.stream();
  out << "brain,seed,step,op,op_kind,area,metric,value\n";
  for (const auto& r : records) {
    out << r.brain << ',' << r.seed << ',' << r.step << ',' << r.op << ',' << r.op_kind << ',' << r.area << ','
        << r.metric << ',' << r.value << '\n';
  }
  csv.commit();
}

// Per program entry: the mean over brains of each metric's last value, and of converged_step.
void print_script_summary(const assembly::ScriptExperiment& e, const std::vector<assembly::MetricRecord>& records) {
  struct Mean {
    double sum = 0;
    std::uint32_t count = 0;
  };
  std::map<std::tuple<std::uint32_t, std::string, std::string>, std::map<std::uint32_t, double>> last;
  for (const auto& r : records) last[{r.op, r.area, r.metric}][r.brain] = r.value;
  std::printf("%3s  %-18s %-12s %-15s %10s\n", "op", "operation", "area", "metric", e.brains > 1 ? "mean" : "value");
  for (const auto& [key, per_brain] : last) {
    const auto& [op, area, metric] = key;
    Mean m;
    for (const auto& [brain, value] : per_brain) {
      m.sum += value;
      ++m.count;
    }
    std::printf("%3u  %-18s %-12s %-15s %10.4f\n", op, e.program[op].kind.c_str(), area.c_str(), metric.c_str(),
                m.sum / m.count);
  }
}

void check_out_dir(const RunOptions& options) {
  if (options.out && std::filesystem::exists(*options.out) && !std::filesystem::is_directory(*options.out)) {
    throw Error::bad_input("--out", *options.out, "exists and is not a directory");
  }
}

int run_script_command(const RunOptions& options, const io::ConfigNode& root) {
  assembly::ScriptExperiment experiment = assembly::parse_script(root);
  if (options.backend) experiment.backend = *options.backend;
  auto backend = make_backend(experiment.backend);
  check_out_dir(options);
  std::printf("engram %s: script of %zu operations, %s backend, %s mode, %u brain(s)\n", ENGRAM_VERSION,
              experiment.program.size(), std::string(backend->name()).c_str(),
              assembly::to_string(experiment.brain.mode), experiment.brains);
  std::vector<assembly::MetricRecord> records;
  std::vector<assembly::WinnersRecord> traces;
  {
    ProgressBar bar("brain-steps");
    assembly::run_script(
        experiment, *backend, [&](const assembly::MetricRecord& r) { records.push_back(r); },
        [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); },
        [&](const assembly::WinnersRecord& r) { traces.push_back(r); });
  }
  print_script_summary(experiment, records);
  if (options.out) {
    std::filesystem::create_directories(*options.out);
    write_metrics(*options.out, records);
    std::printf("wrote %s\n", (std::filesystem::path(*options.out) / "metrics.csv").c_str());
    if (experiment.trace_winners) {
      io::AtomicFile csv(std::filesystem::path(*options.out) / "winners.csv");
      csv.stream() << "brain,step,area,winners\n";
      for (const auto& r : traces) {
        csv.stream() << r.brain << ',' << r.step << ',' << r.area << ',';
        for (std::size_t i = 0; i < r.winners.size(); ++i) csv.stream() << (i ? " " : "") << r.winners[i];
        csv.stream() << '\n';
      }
      csv.commit();
      std::printf("wrote %s\n", (std::filesystem::path(*options.out) / "winners.csv").c_str());
    }
  }
  return 0;
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
  if (assembly::is_sweep(root)) return run_sweep_command(options);
  kind.validate(root);
  check_out_dir(options);
  sched::RunContext context;
  if (options.backend) context.backend = *options.backend;
  std::printf("engram %s: %s (%s)\n", ENGRAM_VERSION, std::string(kind.name()).c_str(),
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
  if (kind == "script") return run_script_command(options, root);
  if (kind == "sequence") return run_sequence_command(options, root);
  if (kind == "markov") return run_markov_command(options, root);
  if (kind == "classify") return run_classification_command(options, root);
  if (const sched::JobKind* registered = models::find_job_kind(kind)) {
    return run_job_kind_command(options, root, *registered);
  }
  if (kind != "project") {
    std::string known = "project, script, sequence, markov, classify";
    for (const sched::JobKind* k : models::job_kinds()) known += ", " + std::string(k->name());
    throw Error::bad_input("experiment", kind, "must be one of " + known);
  }
  if (assembly::is_sweep(root)) return run_sweep_command(options);
  if (options.resume || options.force || options.shard) {
    throw Error::bad_input(options.resume ? "--resume" : options.force ? "--force" : "--shard", "(set)",
                           "applies only to configs with a sweep: section");
  }
  assembly::ProjectionExperiment experiment = assembly::parse_projection(root);
  if (options.backend) experiment.backend = *options.backend;
  auto backend = make_backend(experiment.backend);
  check_out_dir(options);

  const auto batches = (experiment.brains + experiment.batch_size - 1) / experiment.batch_size;
  std::printf("engram %s: %s backend, %s graph, %u brain(s) in %u batch(es), %u steps\n", ENGRAM_VERSION,
              std::string(backend->name()).c_str(), assembly::to_string(experiment.brain.mode), experiment.brains,
              batches, experiment.steps);
  std::vector<assembly::ProjectionRecord> records;
  {
    ProgressBar bar("brain-steps");
    assembly::run_projection(
        experiment, *backend, [&](const assembly::ProjectionRecord& r) { records.push_back(r); },
        [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
  }
  print_table(experiment, records);
  if (options.out) {
    std::filesystem::create_directories(*options.out);
    write_csv(*options.out, records);
    std::printf("wrote %s\n", (std::filesystem::path(*options.out) / "projection.csv").c_str());
  }
  return 0;
}

}  // namespace engram::cli
