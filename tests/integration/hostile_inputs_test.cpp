// The hostile-input corpus (docs/reliability.md): configs of every kind (tests/hostile/
// configs.yaml), crafted NPZ archives and IDX files. Every input must be refused with an
// engram::Error that names the field or file, never a crash, never an internal error, and must
// leave --out as it was.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/sweep_runner.hpp"
#include "engram/models/assembly/datasets.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/job_kinds.hpp"
#include "support/cli.hpp"
#include "support/hostile.hpp"

namespace {

namespace fs = std::filesystem;
using engram::testing::hostile::crc32;
using engram::testing::hostile::NpzEntry;
using engram::testing::hostile::npy;
using engram::testing::hostile::zip;

const fs::path kExamples = fs::path(ENGRAM_SOURCE_DIR) / "examples";

// ---- the config corpus

struct ConfigCase {
  std::string name, text, expect;
  bool cli = false;
};

// `a.b[2].c` as (key, index) steps; index -1: none.
std::vector<std::pair<std::string, int>> path_steps(const std::string& path) {
  std::vector<std::pair<std::string, int>> steps;
  std::stringstream parts(path);
  for (std::string part; std::getline(parts, part, '.');) {
    const auto bracket = part.find('[');
    if (bracket == std::string::npos) {
      steps.emplace_back(part, -1);
    } else {
      steps.emplace_back(part.substr(0, bracket), std::stoi(part.substr(bracket + 1)));
    }
  }
  return steps;
}

// Sets (value) or removes (nullptr) the node at steps[s...] below `node`. Each level gets its own
// handle: assigning one YAML::Node handle to another rebinds the node's content in place, which
// would overwrite the document's root.
void edit_at(YAML::Node node, const std::vector<std::pair<std::string, int>>& steps, std::size_t s,
             const YAML::Node* value) {
  const auto& [key, index] = steps[s];
  const bool last = s + 1 == steps.size();
  if (last && index < 0) {
    if (value) {
      node[key] = YAML::Clone(*value);
    } else {
      node.remove(key);
    }
    return;
  }
  if (index >= 0 && last) {
    YAML::Node list = node[key];
    if (value) list[index] = YAML::Clone(*value);
    return;
  }
  edit_at(index >= 0 ? node[key][index] : node[key], steps, s + 1, value);
}

void edit(YAML::Node root, const std::string& path, const YAML::Node* value) { edit_at(root, path_steps(path), 0, value); }

std::vector<ConfigCase> config_cases() {
  const YAML::Node corpus = YAML::LoadFile(ENGRAM_SOURCE_DIR "/tests/hostile/configs.yaml");
  std::vector<ConfigCase> cases;
  for (const YAML::Node& c : corpus["cases"]) {
    ConfigCase out;
    out.name = c["name"].as<std::string>();
    out.expect = c["expect"].as<std::string>();
    out.cli = c["cli"] && c["cli"].as<bool>();
    if (c["text"]) {
      out.text = c["text"].as<std::string>();
    } else {
      YAML::Node base = YAML::LoadFile((kExamples / c["base"].as<std::string>()).string());
      if (c["set"]) {
        for (const auto& entry : c["set"]) edit(base, entry.first.as<std::string>(), &entry.second);
      }
      if (c["remove"]) {
        for (const auto& path : c["remove"]) edit(base, path.as<std::string>(), nullptr);
      }
      YAML::Emitter emitted;
      emitted << base;
      out.text = std::string(emitted.c_str()) + "\n";
      if (c["append"]) out.text += c["append"].as<std::string>() + "\n";
    }
    cases.push_back(std::move(out));
  }
  return cases;
}

// Names in `dir`, lock files aside (a refused run may leave the hidden, empty lock it took).
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".engram", 0) != 0) names.insert(name);
  }
  return names;
}

class HostileInputs : public engram::testing::ScratchDirTest {
 protected:
  HostileInputs() : ScratchDirTest("engram_hostile_") {}
};

TEST_F(HostileInputs, ConfigCorpusIsRefusedNamingTheFieldWithOutUntouched) {
  const auto cases = config_cases();
  ASSERT_GE(cases.size(), 100u);
  std::set<std::string> kinds_covered;
  for (const ConfigCase& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path out = dir_ / "out";
    fs::create_directories(out);
    std::ofstream(out / "sentinel.txt") << "keep";
    bool refused = false;
    try {
      const engram::io::ConfigNode parsed = engram::io::load_config_string(c.text, c.name);
      const engram::io::ConfigNode root(parsed.yaml(), "", kExamples.string());
      const engram::sched::JobKind& kind = engram::models::job_kind(root);
      kinds_covered.insert(std::string(kind.name()));
      engram::sched::RunOptions options;
      options.out = out;
      options.return_rows = false;
      engram::sched::run_config(root, kind, options, engram::Progress());
    } catch (const engram::Error& e) {
      refused = true;
      EXPECT_NE(e.code(), engram::ErrorCode::internal) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << "message: " << e.what() << "\nconfig:\n" << c.text;
    }
    EXPECT_TRUE(refused) << "was accepted";
    EXPECT_EQ(listing(out), std::set<std::string>{"sentinel.txt"});
    fs::remove_all(out);
  }
  // Every kind of experiment is in the corpus.
  for (const auto* kind : engram::models::job_kinds()) {
    EXPECT_EQ(kinds_covered.count(std::string(kind->name())), 1u) << "no hostile config of kind " << kind->name();
  }
}

#ifdef ENGRAM_CLI
TEST_F(HostileInputs, CliExitsTwoWithoutSignalAndCreatesNoOut) {
  int ran = 0;
  for (const ConfigCase& c : config_cases()) {
    if (!c.cli) continue;
    SCOPED_TRACE(c.name);
    const std::string config = write_config(c.text, "case.yaml");
    const fs::path out = dir_ / "never";
    const auto r = engram::testing::run_cli("run " + config + " --out " + out.string());
    EXPECT_EQ(r.exit_code, 2) << r.output;  // -1: killed by a signal
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << r.output << "\nconfig:\n" << c.text;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));
    ++ran;
  }
  EXPECT_GE(ran, 10);
}
#endif

// ---- NPZ archives

struct BytesCase {
  std::string name;
  std::string bytes;
  std::string expect;
};

std::string f8_data(std::size_t n) { return std::string(n * 8, '\0'); }

std::string header(const std::string& descr, const std::string& shape, const char* fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

std::vector<BytesCase> npz_cases() {
  const std::string good_x = npy(header("<f8", "(3, 2)"), f8_data(6));
  std::vector<BytesCase> cases;
  auto add = [&](const std::string& name, const std::string& bytes, const std::string& expect) {
    cases.push_back({name, bytes, expect});
  };
  add("shape product wraps 2^64", zip({{"x.npy", npy(header("<f8", "(8, 4611686018427387904, 4)"), f8_data(2))}}), "overflows 64 bits");
  add("dimension 2^64 - 1", zip({{"x.npy", npy(header("<f8", "(1, 18446744073709551615, 1)"), f8_data(1))}}), "not a size");
  add("negative dimension", zip({{"x.npy", npy(header("<f8", "(-1, 2)"), f8_data(2))}}), "not a size");
  add("text dimension", zip({{"x.npy", npy(header("<f8", "('a', 2)"), f8_data(2))}}), "not a size");
  add("shape missing", zip({{"x.npy", npy("{'descr': '<f8', 'fortran_order': False, }", f8_data(1))}}), "shape");
  add("shape past the data", zip({{"x.npy", npy(header("<f8", "(1000,)"), f8_data(3))}}), "holds only");
  add("dimension 2^62 times 8 bytes", zip({{"x.npy", npy(header("<f8", "(2305843009213693952,)"), f8_data(1))}}), "overflows 64 bits");
  add("big-endian dtype", zip({{"x.npy", npy(header(">f8", "(3, 2)"), f8_data(6))}}), "dtype");
  add("object dtype", zip({{"x.npy", npy(header("|O", "(3, 2)"), f8_data(6))}}), "dtype");
  add("fortran order", zip({{"x.npy", npy(header("<f8", "(3, 2)", "True"), f8_data(6))}}), "Fortran");
  add("not a .npy", zip({{"x.npy", std::string("hello, world, not numpy")}}), "not a .npy");
  add("npy header past the end", zip({{"x.npy", std::string("\x93NUMPY\x01\x00\xff\xff", 10) + "{}"}}), "truncated .npy header");
  add("npy version 9", zip({{"x.npy", std::string("\x93NUMPY\x09\x00\x00\x00\x00\x00", 12)}}), "format version");
  add("duplicate array", zip({{"x.npy", good_x}, {"x.npy", good_x}}), "twice");
  {
    std::string z = zip({{"x.npy", good_x}});
    z[35 + 20] ^= 0x01;  // a byte of the array's header dict
    add("bad CRC", z, "CRC-32");
  }
  add("compressed entry", zip({{"x.npy", good_x}}, /*method=*/8), "compressed");
  add("not a zip", std::string(200, 'z'), "not a zip archive");
  add("empty file", std::string(), "not a zip archive");
  {
    const std::string z = zip({{"x.npy", good_x}});
    add("truncated to half", z.substr(0, z.size() / 2), "not a zip archive");
  }
  {
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t eocd = z.size() - 22;
    z[eocd + 16] = '\xff';
    z[eocd + 17] = '\xff';
    z[eocd + 18] = '\xff';
    z[eocd + 19] = '\x7f';  // directory offset far past the end
    add("directory offset past the end", z, "truncated zip structure");
  }
  {
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t eocd = z.size() - 22;
    z[eocd + 10] = '\xfe';
    z[eocd + 11] = '\xff';  // 65534 entries in a small file
    add("entry count past the file", z, "claims 65534 zip entries");
  }
  {
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t cd = z.size() - 22 - 46 - 5;
    z[cd + 28] = '\xff';
    z[cd + 29] = '\xff';  // name length 65535
    add("name length past the end", z, "truncated inside the name");
  }
  {
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t cd = z.size() - 22 - 46 - 5;
    for (int i = 0; i < 4; ++i) z[cd + 42 + static_cast<std::size_t>(i)] = '\xfe';  // local header far away
    add("local header past the end", z, "truncated zip structure");
  }
  {
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t cd = z.size() - 22 - 46 - 5;
    for (int i = 0; i < 4; ++i) {
      z[cd + 20 + static_cast<std::size_t>(i)] = '\xfe';
      z[cd + 24 + static_cast<std::size_t>(i)] = '\xfe';  // 4 GiB of stored data in a small file
    }
    add("entry size past the end", z, "truncated inside zip entry 'x.npy'");
  }
  {
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t cd = z.size() - 22 - 46 - 5;
    z[cd + 24] ^= 0x01;
    add("stored sizes differ", z, "sizes differ");
  }
  {
    // A zip64 locator whose directory lies past the end.
    std::string z = zip({{"x.npy", good_x}});
    const std::size_t eocd = z.size() - 22;
    z[eocd + 10] = '\xff';
    z[eocd + 11] = '\xff';
    std::string locator("PK\x06\x07", 4);
    locator += std::string(4, '\0') + std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + std::string("\x01\0\0\0", 4);
    z.insert(eocd, locator);
    add("zip64 directory past the end", z, "truncated zip structure");
  }
  return cases;
}

TEST(HostileNpz, CraftedArchivesAreRefusedNamingTheFile) {
  const auto cases = npz_cases();
  ASSERT_GE(cases.size(), 25u);
  for (const BytesCase& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      (void)engram::data::parse_npz(c.bytes, "crafted.npz");
      ADD_FAILURE() << "was accepted";
    } catch (const engram::Error& e) {
      EXPECT_EQ(e.code(), engram::ErrorCode::bad_input) << e.what();
      EXPECT_NE(std::string(e.what()).find("crafted.npz"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  // The harness's own archive is read back, so the cases above fail for their flaw alone.
  const auto arrays = engram::data::parse_npz(zip({{"x.npy", npy(header("<f8", "(3, 2)"), f8_data(6))}}), "good.npz");
  ASSERT_EQ(arrays.count("x"), 1u);
  EXPECT_EQ(arrays.at("x").shape, (std::vector<std::int64_t>{3, 2}));
}

TEST(HostileNpz, DevicesFoldersAndMissingFilesAreRefusedBeforeReading) {
  for (const auto& [path, expect] : std::vector<std::pair<std::string, std::string>>{
           {"/dev/zero", "not a regular file"}, {"/tmp", "is a folder"}, {"/no/such/file.npz", "cannot be opened"}}) {
    try {
      (void)engram::data::read_npz(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const engram::Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  }
}

// ---- IDX files

std::string idx(std::uint8_t type, std::uint8_t rank, const std::vector<std::uint32_t>& dims, std::size_t payload) {
  std::string bytes{'\0', '\0', static_cast<char>(type), static_cast<char>(rank)};
  for (const std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((d >> shift) & 0xFFu));
  }
  return bytes + std::string(payload, '\x07');
}

TEST(HostileIdx, CraftedFilesAreRefusedNamingTheFile) {
  const std::vector<std::uint32_t> many_huge(255, 0xFFFFFFFFu);
  const std::vector<std::tuple<std::string, std::string, std::uint32_t, std::string>> cases{
      {"empty", "", 0, "too short"},
      {"bad magic", std::string("\x01\x00\x08\x03", 4), 0, "two zero bytes"},
      {"float elements", idx(0x0D, 1, {4}, 16), 0, "element type"},
      {"rank zero", idx(0x08, 0, {}, 0), 0, "dimension"},
      {"labels where images belong", idx(0x08, 1, {4}, 4), 3, "idx3"},
      {"images where labels belong", idx(0x08, 3, {1, 2, 2}, 4), 1, "idx1"},
      {"header cut short", idx(0x08, 3, {1}, 0), 0, "truncated inside its header"},
      {"zero dimension", idx(0x08, 2, {0, 5}, 0), 0, "at least 1"},
      {"255 dimensions wrapping 2^64", idx(0x08, 255, many_huge, 8), 0, "more than the file's"},
      {"two 2^32 dimensions", idx(0x08, 3, {0xFFFFFFFFu, 0xFFFFFFFFu, 2}, 8), 0, "more than the file's"},
      {"payload short", idx(0x08, 2, {3, 3}, 8), 0, "is truncated"},
      {"payload long", idx(0x08, 2, {3, 3}, 10), 0, "trailing bytes"},
  };
  for (const auto& [name, bytes, dims, expect] : cases) {
    SCOPED_TRACE(name);
    try {
      (void)engram::assembly::parse_idx(bytes, "crafted.idx", dims);
      ADD_FAILURE() << "was accepted";
    } catch (const engram::Error& e) {
      EXPECT_EQ(e.code(), engram::ErrorCode::bad_input) << e.what();
      EXPECT_NE(std::string(e.what()).find("crafted.idx"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(engram::assembly::parse_idx(idx(0x08, 2, {3, 3}, 9), "good.idx").data.size(), 9u);
  EXPECT_THROW((void)engram::assembly::read_idx("/dev/zero"), engram::Error);
}

}  // namespace
