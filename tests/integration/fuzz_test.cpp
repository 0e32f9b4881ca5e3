// A deterministic mutation fuzzer over the three parsers that read untrusted bytes: the config
// parser (with every kind's validation), the NPZ reader and the IDX reader. Each target starts
// from valid inputs (the examples, a numpy-style archive, an IDX file), mutates them with a fixed
// seed (bit flips, extreme numbers, cut/duplicated spans, overwritten size fields) and requires
// every input to be accepted or refused with engram::Error: a crash fails the suite, and any
// other exception (std::out_of_range from a substr, std::invalid_argument from stoll, a raw
// YAML::Exception) is reported with the input that caused it.
//
// The suite gives each target ENGRAM_FUZZ_SECONDS (default 1.5 s); set it higher to fuzz longer.
// The mutation sequence is the same on every machine; only how far it gets depends on speed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/datasets.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/job_kinds.hpp"
#include "support/hostile.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double fuzz_seconds() {
  const char* given = std::getenv("ENGRAM_FUZZ_SECONDS");
  return given != nullptr ? std::atof(given) : 1.5;
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string bytes, bool text) {
    const int edits = 1 + static_cast<int>(below(4));
    for (int e = 0; e < edits; ++e) edit(bytes, text);
    return bytes;
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }

 private:
  void edit(std::string& b, bool text) {
    const std::size_t at = b.empty() ? 0 : below(b.size());
    switch (below(text ? 8 : 7)) {
      case 0:  // flip a bit
        if (!b.empty()) b[at] = static_cast<char>(b[at] ^ (1 << below(8)));
        break;
      case 1:  // cut a span
        if (!b.empty()) b.erase(at, 1 + below(std::min<std::size_t>(32, b.size() - at)));
        break;
      case 2:  // duplicate a span
        if (!b.empty()) b.insert(at, b.substr(at, 1 + below(64)));
        break;
      case 3: {  // an extreme 4- or 8-byte little-endian field
        static const std::uint64_t extremes[] = {0, 1, 0x7F, 0xFF, 0xFFFF, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u,
                                                 0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0x4000000000000000ull};
        const std::uint64_t v = extremes[below(std::size(extremes))];
        const std::size_t width = below(2) ? 8 : 4;
        for (std::size_t i = 0; i < width && at + i < b.size(); ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
        break;
      }
      case 4:  // truncate
        b.resize(at);
        break;
      case 5:  // a random byte
        if (!b.empty()) b[at] = static_cast<char>(below(256));
        break;
      case 6: {  // an extreme number in place of a digit run (text) or appended (binary)
        static const char* numbers[] = {"18446744073709551616", "-1", "1e400", ".nan", "-0", "4294967296",
                                        "9223372036854775808", "0", "1e-400", "2147483648", "99999999999999999999999"};
        const std::string n = numbers[below(std::size(numbers))];
        std::size_t d = b.find_first_of("0123456789", at);
        if (d == std::string::npos) {
          b.insert(at, n);
        } else {
          std::size_t end = b.find_first_not_of("0123456789.", d);
          if (end == std::string::npos) end = b.size();
          b.replace(d, end - d, n);
        }
        break;
      }
      default: {  // YAML structure
        static const char* pieces[] = {": ", "\n", "[", "]", "{", "}", "- ", "&a ", "*a", "!!binary ", "'", "\"",
                                       "? ", "|\n", "~", "\t", "\n  ", ",", "#"};
        b.insert(at, pieces[below(std::size(pieces))]);
        break;
      }
    }
  }
  std::mt19937_64 rng_;
};

// Runs `target` on mutations of `seeds` until the time is up; returns how many ran.
std::size_t fuzz(const std::vector<std::string>& seeds, bool text, std::uint64_t seed,
                 const std::function<void(const std::string&)>& target) {
  Mutator mutator(seed);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(fuzz_seconds()));
  std::size_t runs = 0;
  while (Clock::now() < deadline) {
    const std::string input = mutator.mutate(seeds[mutator.below(seeds.size())], text);
    ++runs;
    try {
      target(input);
    } catch (const engram::Error&) {
      // refused cleanly
    } catch (const std::exception& e) {
      ADD_FAILURE() << "run " << runs << ": " << typeid(e).name() << ": " << e.what() << "\ninput (" << input.size()
                    << " bytes):\n"
                    << input.substr(0, 400);
      return runs;
    }
  }
  return runs;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Fuzz, ConfigParserAndValidationOfEveryKind) {
  const fs::path examples = fs::path(ENGRAM_SOURCE_DIR) / "examples";
  std::vector<std::string> seeds;
  for (const auto& entry : fs::directory_iterator(examples)) {
    if (entry.path().extension() == ".yaml") seeds.push_back(slurp(entry.path()));
  }
  ASSERT_GE(seeds.size(), 10u);
  const std::size_t runs = fuzz(seeds, true, 0xC0FFEEu, [&](const std::string& text) {
    const engram::io::ConfigNode parsed = engram::io::load_config_string(text, "fuzz.yaml");
    YAML::Node yaml = YAML::Clone(parsed.yaml());
    // A sweep validates every job; a mutated range could ask for millions. Sweeps have their
    // own corpus cases; here the base config is what is checked.
    if (yaml.IsMap()) yaml.remove("sweep");
    const engram::io::ConfigNode root(yaml, "", examples.string());
    const engram::sched::JobKind& kind = engram::models::job_kind(root);
    kind.validate(root);
    (void)kind.estimate_run_bytes(root);
  });
  std::printf("config fuzz: %zu inputs\n", runs);
  EXPECT_GT(runs, 50u);
}

TEST(Fuzz, NpzReader) {
  using engram::testing::hostile::npy;
  using engram::testing::hostile::zip;
  const std::string x = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", std::string(48, '\x01'));
  const std::string y = npy("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", std::string(20, '\x02'));
  const std::vector<std::string> blobs{x, y};
  const std::vector<std::string> archives{zip({{"x.npy", x}, {"y.npy", y}}), zip({{"x.npy", x}})};
  Mutator blob_mutator(7);
  // Half the inputs mutate an array inside a well-formed archive (its CRC recomputed), so the
  // .npy parser behind the CRC check is reached too.
  const std::size_t runs = fuzz(archives, false, 0x5EED, [&](const std::string& archive) {
    if (blob_mutator.below(2) == 0) {
      (void)engram::data::parse_npz(archive, "fuzz.npz");
    } else {
      const std::string blob = blob_mutator.mutate(blobs[blob_mutator.below(2)], false);
      (void)engram::data::parse_npz(zip({{"x.npy", blob}}), "fuzz.npz");
    }
  });
  std::printf("npz fuzz: %zu inputs\n", runs);
  EXPECT_GT(runs, 1000u);
}

TEST(Fuzz, IdxReader) {
  std::string images{'\0', '\0', '\x08', '\x03', '\0', '\0', '\0', '\x02', '\0', '\0', '\0', '\x03', '\0', '\0', '\0', '\x03'};
  images += std::string(18, '\x05');
  const std::string labels = std::string{'\0', '\0', '\x08', '\x01', '\0', '\0', '\0', '\x02', '\x01', '\x00'};
  const std::size_t runs = fuzz({images, labels}, false, 0x1D8, [&](const std::string& bytes) {
    (void)engram::assembly::parse_idx(bytes, "fuzz.idx");
    (void)engram::assembly::parse_idx(bytes, "fuzz.idx", 3);
  });
  std::printf("idx fuzz: %zu inputs\n", runs);
  EXPECT_GT(runs, 1000u);
}

}  // namespace
