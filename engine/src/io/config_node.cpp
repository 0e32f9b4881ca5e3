#include "engram/engine/io/config_node.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "engram/engine/error.hpp"
#include "engram/engine/io/read_file.hpp"

namespace engram::io {

namespace {
std::string shown(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// Integers: whole numbers only ("1e6" and "1000000" both accepted, "2.5" refused).
template <class T>
T as_integer(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) throw Error::bad_input(field, shown(node), "must be an integer");
  double value = 0;
  try {
    value = node.as<double>();
  } catch (const YAML::Exception&) {
    throw Error::bad_input(field, shown(node), "must be an integer");
  }
  if (!std::isfinite(value) || value != std::floor(value)) {
    throw Error::bad_input(field, shown(node), "must be an integer");
  }
  // 2^digits is exact as a double, whereas max() rounds up to it for 64-bit types (2^64 would
  // pass a `> max()` test and wrap to 0).
  const double limit = std::ldexp(1.0, std::numeric_limits<T>::digits);
  if (value < static_cast<double>(std::numeric_limits<T>::min()) || value >= limit) {
    throw Error::bad_input(field, shown(node),
                           "is out of range [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
                               std::to_string(std::numeric_limits<T>::max()) + "]");
  }
  return static_cast<T>(value);
}
// yaml-cpp keeps both entries of a repeated key and lookups see the first, so `eps: 0.01` then
// `eps: -5` would run with 0.01 and never check -5. Every mapping of the document is walked
// once; anchors and aliases can make the tree a DAG, so a visited set keeps a YAML bomb linear.
void walk_keys(const YAML::Node& node, const std::string& path, std::set<std::pair<int, int>>& visited) {
  const YAML::Mark mark = node.Mark();
  const bool parsed = !mark.is_null();  // nodes built in code (not parsed) share no aliases
  if (node.IsMap()) {
    if (parsed && !visited.insert({mark.line, mark.column}).second) return;
    std::set<std::string> keys;
    for (const auto& entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : shown(entry.first);
      const std::string field = path.empty() ? key : path + "." + key;
      if (!keys.insert(key).second) {
        throw Error::bad_input(field, shown(entry.second),
                               "is given twice (line " + std::to_string(entry.first.Mark().line + 1) + "); each key may appear once");
      }
      walk_keys(entry.second, field, visited);
    }
  } else if (node.IsSequence()) {
    if (parsed && !visited.insert({mark.line, mark.column}).second) return;
    for (std::size_t i = 0; i < node.size(); ++i) walk_keys(node[i], path + "[" + std::to_string(i) + "]", visited);
  }
}

void refuse_duplicate_keys(const YAML::Node& root, const std::string& path) {
  std::set<std::pair<int, int>> visited;
  walk_keys(root, path, visited);
}
}  // namespace

bool ConfigNode::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

ConfigNode ConfigNode::child(const std::string& key) const {
  if (!has(key)) throw Error::bad_input(field(key), "(missing)", "is required");
  return ConfigNode(node_[key], field(key), base_dir_);
}

std::vector<ConfigNode> ConfigNode::optional_list(const std::string& key) const {
  std::vector<ConfigNode> items;
  if (!has(key)) return items;
  const YAML::Node seq = node_[key];
  if (!seq.IsSequence()) throw Error::bad_input(field(key), shown(seq), "must be a list");
  for (std::size_t i = 0; i < seq.size(); ++i) {
    items.emplace_back(seq[i], field(key) + "[" + std::to_string(i) + "]", base_dir_);
  }
  return items;
}

std::vector<ConfigNode> ConfigNode::list(const std::string& key) const {
  if (!has(key)) throw Error::bad_input(field(key), "(missing)", "is required");
  auto items = optional_list(key);
  if (items.empty()) throw Error::bad_input(field(key), "[]", "must list at least one entry");
  return items;
}

void ConfigNode::allow_keys(std::initializer_list<const char*> allowed) const {
  if (!node_.IsMap()) {
    throw Error::bad_input(path_.empty() ? "config" : path_, shown(node_), "must be a mapping of key: value");
  }
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    bool known = false;
    for (const char* a : allowed) known |= key == a;
    if (!known) {
      std::string names;
      for (const char* a : allowed) names += std::string(names.empty() ? "" : ", ") + a;
      throw Error::bad_input(field(key), shown(entry.second), "unknown key; expected one of: " + names);
    }
  }
}

std::string ConfigNode::text() const {
  if (!node_.IsScalar()) throw Error::bad_input(path_, shown(node_), "must be a string");
  return node_.Scalar();
}

double ConfigNode::number() const {
  double value = 0;
  try {
    if (!node_.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
    value = node_.as<double>();
  } catch (const YAML::Exception&) {
    throw Error::bad_input(path_, shown(node_), "must be a number");
  }
  if (std::isnan(value)) throw Error::bad_input(path_, shown(node_), "must be a number, not NaN");
  return value;
}

std::vector<ConfigNode> ConfigNode::elements() const {
  if (!node_.IsSequence()) throw Error::bad_input(path_, shown(node_), "must be a list");
  std::vector<ConfigNode> items;
  for (std::size_t i = 0; i < node_.size(); ++i) {
    items.emplace_back(node_[i], path_ + "[" + std::to_string(i) + "]", base_dir_);
  }
  return items;
}

template <>
std::string ConfigNode::required<std::string>(const std::string& key) const {
  const ConfigNode c = child(key);
  if (!c.node_.IsScalar()) throw Error::bad_input(c.path_, shown(c.node_), "must be a string");
  return c.node_.Scalar();
}

template <>
double ConfigNode::required<double>(const std::string& key) const {
  const ConfigNode c = child(key);
  double value = 0;
  try {
    if (!c.node_.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
    value = c.node_.as<double>();
  } catch (const YAML::Exception&) {
    throw Error::bad_input(c.path_, shown(c.node_), "must be a number");
  }
  if (std::isnan(value)) throw Error::bad_input(c.path_, shown(c.node_), "must be a number, not NaN");
  return value;
}

template <>
bool ConfigNode::required<bool>(const std::string& key) const {
  const ConfigNode c = child(key);
  try {
    if (c.node_.IsScalar()) return c.node_.as<bool>();
  } catch (const YAML::Exception&) {
  }
  throw Error::bad_input(c.path_, shown(c.node_), "must be true or false");
}

template <>
std::uint32_t ConfigNode::required<std::uint32_t>(const std::string& key) const {
  const ConfigNode c = child(key);
  return as_integer<std::uint32_t>(c.node_, c.path_);
}

template <>
std::uint64_t ConfigNode::required<std::uint64_t>(const std::string& key) const {
  const ConfigNode c = child(key);
  // Seeds use the full 64-bit range, beyond what a double holds exactly.
  if (c.node_.IsScalar()) {
    const std::string& text = c.node_.Scalar();
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
      std::uint64_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error == std::errc() && end == text.data() + text.size()) return value;
      throw Error::bad_input(c.path_, text, "is out of range [0, 18446744073709551615]");
    }
  }
  return as_integer<std::uint64_t>(c.node_, c.path_);
}

ConfigNode load_config_string(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error::bad_input("config", origin,
                           "is not valid YAML: line " + std::to_string(e.mark.line + 1) + ", column " +
                               std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw Error::bad_input(origin, shown(root), "must be a YAML mapping of key: value");
  refuse_duplicate_keys(root, "");
  return ConfigNode(root, "");
}

ConfigNode load_config_file(const std::string& path) {
  const ConfigNode root = load_config_string(read_file("config", path, kConfigFileLimit), path);
  return ConfigNode(root.yaml(), "", std::filesystem::path(path).parent_path().string());
}

std::string ConfigNode::file_path(const std::string& key) const {
  const std::string text = required<std::string>(key);
  if (text.empty()) throw Error::bad_input(field(key), "(empty)", "must name a file");
  std::filesystem::path p(text);
  if (p.is_relative() && !base_dir_.empty()) p = std::filesystem::path(base_dir_) / p;
  return p.string();
}

std::string ConfigNode::existing_file(const std::string& key) const {
  const std::string given = required<std::string>(key);
  const std::string path = file_path(key);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::string why("names no readable file");
    if (path != given) why.append(" (looked for ").append(path).append("; relative paths start at the config file's folder)");
    throw Error::bad_input(field(key), given, why);
  }
  return path;
}

}  // namespace engram::io
