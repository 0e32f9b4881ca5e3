#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "commands.hpp"
#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/atomic_file.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/projection_experiment.hpp"
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
}  // namespace

int run_command(const RunOptions& options) {
  // Everything that can be wrong with the input is checked before anything is created.
  assembly::ProjectionExperiment experiment = assembly::parse_projection(io::load_config_file(options.config));
  if (options.backend) experiment.backend = *options.backend;
  auto backend = make_backend(experiment.backend);
  if (options.out && std::filesystem::exists(*options.out) && !std::filesystem::is_directory(*options.out)) {
    throw Error::bad_input("--out", *options.out, "exists and is not a directory");
  }

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
