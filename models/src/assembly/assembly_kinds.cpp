#include "engram/models/assembly/assembly_kinds.hpp"

#include <cstdio>
#include <map>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/classification.hpp"
#include "engram/models/assembly/markov.hpp"
#include "engram/models/assembly/sequence.hpp"

namespace engram::assembly {
namespace {

using sched::Column;

std::string format(const char* pattern, double a, double b = 0, double c = 0) {
  char line[256];
  std::snprintf(line, sizeof line, pattern, a, b, c);
  return line;
}

// Shared by the three kinds: a sweep job is one brain keyed by the job's seed, run alone.
template <class Experiment, class Derived>
class OneBrainPerJob : public sched::JobKind {
 public:
  void validate_sweep_job(const io::ConfigNode& config) const override {
    for (const char* key : {"brains", "batch_size"}) {
      if (config.has(key)) {
        throw Error::bad_input(key, "(set)", "a sweep job is one brain; use sweep.seeds for replicates");
      }
    }
    validate(config);
  }
  std::string shape_class(const io::ConfigNode&) const override { return std::string(name()); }
  std::uint64_t estimate_bytes(const io::ConfigNode&) const override { return std::uint64_t{64} << 20; }
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    return sched::run_each(jobs, progress, [&](const sched::JobInput& job) {
      Experiment e = static_cast<const Derived*>(this)->parse(job.config);
      e.seed = job.seed;
      e.brains = 1;
      e.batch_size = 1;
      return static_cast<const Derived*>(this)->summarise(e, backend);
    });
  }
};

class SequenceKind final : public OneBrainPerJob<SequenceExperiment, SequenceKind> {
 public:
  std::string_view name() const override { return "sequence"; }
  std::string_view description() const override { return "sequence memorisation and recall"; }
  SequenceExperiment parse(const io::ConfigNode& c) const { return parse_sequence(c); }
  void validate(const io::ConfigNode& config) const override { parse(config); }

  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const SequenceExperiment e = parse(config);
    sched::Table table;
    table.name = "sequence";
    for (const char* c : {"brain", "seed", "presentation", "element"}) table.add(c, Column::Type::integer);
    table.add("overlap", Column::Type::real);
    std::map<std::uint32_t, std::pair<double, std::uint32_t>> mean_recall;
    const auto learned = run_sequence(e, backend, [&](const SequenceRecord& r) {
      progress.check_cancelled();
      table.append({std::int64_t{r.brain}, static_cast<std::int64_t>(r.seed), std::int64_t{r.presentation},
                    std::int64_t{r.element}, r.overlap});
      auto& m = mean_recall[r.presentation];
      m.first += r.overlap;
      ++m.second;
    });
    sched::Results results;
    results.summary.push_back(format("sequence of %.0f stimuli, up to %.0f presentations, %.0f brain(s)", e.length,
                                     e.presentations, e.brains) +
                              (e.scaffold ? " with a scaffold area" : "") + ", " + std::string(backend.name()) +
                              " backend");
    results.summary.push_back("presentation    mean recall");
    for (const auto& [presentation, m] : mean_recall) {
      results.summary.push_back(format("%12.0f %14.4f", presentation, m.first / m.second));
    }
    for (std::size_t b = 0; b < learned.size(); ++b) {
      results.summary.push_back(learned[b] > 0
                                    ? format("brain %.0f: recalled the whole sequence after %.0f presentation(s)",
                                             static_cast<double>(b), learned[b])
                                    : format("brain %.0f: not recalled within %.0f presentations",
                                             static_cast<double>(b), e.presentations));
    }
    results.tables.push_back(std::move(table));
    return results;
  }
  std::vector<std::string> result_columns(const io::ConfigNode&) const override {
    return {"recalled_after", "final_recall"};
  }
  sched::Row summarise(const SequenceExperiment& e, Backend& backend) const {
    double last_sum = 0;
    std::uint32_t last_presentation = 0, count = 0;
    const auto learned = run_sequence(e, backend, [&](const SequenceRecord& r) {
      if (r.presentation != last_presentation) {
        last_presentation = r.presentation;
        last_sum = 0;
        count = 0;
      }
      last_sum += r.overlap;
      ++count;
    });
    return {std::int64_t{learned.at(0)}, count ? last_sum / count : 0.0};
  }
};

class MarkovKind final : public OneBrainPerJob<MarkovExperiment, MarkovKind> {
 public:
  std::string_view name() const override { return "markov"; }
  std::string_view description() const override { return "noise-driven sampling that learns a Markov chain"; }
  MarkovExperiment parse(const io::ConfigNode& c) const {
    MarkovExperiment e = parse_markov(c);
    assembly::validate(e);
    return e;
  }
  void validate(const io::ConfigNode& config) const override { parse(config); }

  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress&) const override {
    const MarkovExperiment e = parse(config);
    const MarkovCalibration settings = markov_settings(e);
    const auto brains = run_markov(e, settings, backend);
    const std::size_t states = e.transitions.size();
    sched::Table table;
    table.name = "markov";
    for (const char* c : {"brain", "from", "to"}) table.add(c, Column::Type::integer);
    table.add("chain", Column::Type::real);
    for (const char* c : {"trained_count", "sampled_count"}) table.add(c, Column::Type::integer);
    sched::Results results;
    sched::Table calibration;  // calibrated training: what the rule chose for each state
    if (e.training == MarkovTraining::walk) {
      results.summary.push_back(format("Markov chain of %.0f states, a walk of %.0f training transitions, %.0f sampled steps",
                                       static_cast<double>(states), e.train_transitions, e.sample_steps));
    } else {
      results.summary.push_back(format("Markov chain of %.0f states, calibrated training, %.0f sampled steps",
                                       static_cast<double>(states), e.sample_steps));
      calibration.name = "calibration";
      for (const char* c : {"state", "presentations"}) calibration.add(c, Column::Type::integer);
      for (const char* c : {"gain", "model_tv", "beta", "noise"}) calibration.add(c, Column::Type::real);
      for (std::size_t x = 0; x < states; ++x) {
        calibration.append({static_cast<std::int64_t>(x), std::int64_t{settings.presentations[x]}, settings.gain[x],
                            settings.model_tv[x], settings.beta, settings.noise});
        results.summary.push_back(format("state %.0f: %.0f transitions shown, gain %.3f", static_cast<double>(x),
                                         settings.presentations[x], settings.gain[x]));
      }
    }
    results.summary.push_back(format("beta = %.6f, noise = %.3f", settings.beta, settings.noise));
    results.summary.push_back("brain  from    to      chain    trained    sampled");
    for (const auto& r : brains) {
      for (std::size_t x = 0; x < states; ++x) {
        double trained = 0, sampled = 0;
        for (std::size_t y = 0; y < states; ++y) {
          trained += r.trained[x][y];
          sampled += r.sampled[x][y];
        }
        for (std::size_t y = 0; y < states; ++y) {
          table.append({std::int64_t{r.brain}, static_cast<std::int64_t>(x), static_cast<std::int64_t>(y),
                        e.transitions[x][y], std::int64_t{r.trained[x][y]}, std::int64_t{r.sampled[x][y]}});
          char line[128];
          std::snprintf(line, sizeof line, "%5u %5zu %5zu %10.3f %10.3f %10.3f", r.brain, x, y, e.transitions[x][y],
                        trained > 0 ? r.trained[x][y] / trained : 0.0, sampled > 0 ? r.sampled[x][y] / sampled : 0.0);
          results.summary.push_back(line);
        }
      }
      results.summary.push_back(format("brain %.0f: largest |sampled - chain| = %.3f, largest row total variation = %.3f",
                                       r.brain, r.max_error, r.max_row_tv));
    }
    results.tables.push_back(std::move(table));
    if (e.training == MarkovTraining::calibrated) results.tables.push_back(std::move(calibration));
    return results;
  }
  std::vector<std::string> result_columns(const io::ConfigNode&) const override { return {"max_error", "max_row_tv"}; }
  sched::Row summarise(const MarkovExperiment& e, Backend& backend) const {
    const MarkovResult r = run_markov(e, backend).at(0);
    return {r.max_error, r.max_row_tv};
  }
};

class ClassificationKind final : public OneBrainPerJob<ClassificationExperiment, ClassificationKind> {
 public:
  std::string_view name() const override { return "classify"; }
  std::string_view description() const override { return "class assemblies that learn to classify"; }
  ClassificationExperiment parse(const io::ConfigNode& c) const { return parse_classification(c); }
  void validate(const io::ConfigNode& config) const override { parse(config); }

  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const ClassificationExperiment e = parse(config);
    sched::Table table;
    table.name = "results";
    for (const char* c : {"brain", "seed", "classes", "train_per_class", "tested", "correct"}) {
      table.add(c, Column::Type::integer);
    }
    for (const char* c : {"accuracy", "assembly_overlap"}) table.add(c, Column::Type::real);
    sched::Results results;
    results.summary.push_back("brain   tested  correct   accuracy   assembly overlap");
    double mean = 0;
    std::vector<ClassificationRecord> records;
    run_classification(
        e, backend, [&](const ClassificationRecord& r) { records.push_back(r); }, progress);
    for (const auto& r : records) {
      table.append({std::int64_t{r.brain}, static_cast<std::int64_t>(r.seed), std::int64_t{r.classes},
                    std::int64_t{r.train_per_class}, std::int64_t{r.tested}, std::int64_t{r.correct}, r.accuracy,
                    r.assembly_overlap});
      char line[128];
      std::snprintf(line, sizeof line, "%5u %8u %8u %10.4f %18.4f", r.brain, r.tested, r.correct, r.accuracy,
                    r.assembly_overlap);
      results.summary.push_back(line);
      mean += r.accuracy / static_cast<double>(records.size());
    }
    results.summary.push_back(format("mean accuracy %.4f over %.0f brain(s)", mean, static_cast<double>(records.size())));
    results.tables.push_back(std::move(table));
    return results;
  }
  std::vector<std::string> result_columns(const io::ConfigNode&) const override {
    return {"tested", "correct", "accuracy", "assembly_overlap"};
  }
  sched::Row summarise(const ClassificationExperiment& e, Backend& backend) const {
    sched::Row row;
    run_classification(e, backend, [&](const ClassificationRecord& r) {
      row = {std::int64_t{r.tested}, std::int64_t{r.correct}, r.accuracy, r.assembly_overlap};
    });
    return row;
  }
};

}  // namespace

const sched::JobKind& sequence_kind() {
  static const SequenceKind kind;
  return kind;
}
const sched::JobKind& markov_kind() {
  static const MarkovKind kind;
  return kind;
}
const sched::JobKind& classification_kind() {
  static const ClassificationKind kind;
  return kind;
}

}  // namespace engram::assembly
