#pragma once
// ConfigNode: a YAML node that knows its path in the document, so every error names the field
// ("fibers[1].beta = -1: must be a finite number >= 0") and unknown keys are refused instead of
// silently ignored.
//
//   engram::io::ConfigNode root = engram::io::load_config_file("examples/project.yaml");
//   root.allow_keys({"steps", "areas"});
//   auto steps = root.required<std::uint32_t>("steps");
//   for (const auto& area : root.list("areas")) area.required<std::string>("name");
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace engram::io {

class ConfigNode {
 public:
  // base_dir: where relative file paths in the config resolve (the config file's folder; empty:
  // the working directory). Children inherit it.
  ConfigNode(YAML::Node node, std::string path, std::string base_dir = {})
      : node_(std::move(node)), path_(std::move(path)), base_dir_(std::move(base_dir)) {}

  const std::string& path() const { return path_; }
  const std::string& base_dir() const { return base_dir_; }
  // A required file name, relative ones resolved against base_dir() (existence is not checked).
  // Every data path of every kind goes through here, so `engram run dir/x.yaml` reads the same
  // files from any working directory.
  std::string file_path(const std::string& key) const;
  // file_path that must name a readable regular file; bad_input names the key, the value and
  // where it looked.
  std::string existing_file(const std::string& key) const;
  // The same node with relative paths resolving against `dir`.
  ConfigNode with_base_dir(std::string dir) const { return ConfigNode(node_, path_, std::move(dir)); }
  bool has(const std::string& key) const;
  ConfigNode child(const std::string& key) const;  // required mapping or value
  std::vector<ConfigNode> list(const std::string& key) const;  // required non-empty sequence
  std::vector<ConfigNode> optional_list(const std::string& key) const;

  template <class T>
  T required(const std::string& key) const;
  template <class T>
  T optional(const std::string& key, const T& fallback) const {
    return has(key) ? required<T>(key) : fallback;
  }
  template <class T>
  std::optional<T> maybe(const std::string& key) const {
    return has(key) ? std::optional<T>(required<T>(key)) : std::nullopt;
  }

  // This node itself as a string / number / list (for items such as `sources: [stim, A]` or
  // the rows of a matrix).
  std::string text() const;
  double number() const;
  std::vector<ConfigNode> elements() const;

  // Refuses keys outside `allowed`, naming the first unknown one.
  void allow_keys(std::initializer_list<const char*> allowed) const;

  // The underlying YAML (sweeps clone and rewrite it per job).
  const YAML::Node& yaml() const { return node_; }

  std::string field(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  YAML::Node node_;
  std::string path_;
  std::string base_dir_;
};

// Parses a YAML document; malformed YAML raises bad_input with the line and column.
ConfigNode load_config_file(const std::string& path);
ConfigNode load_config_string(const std::string& text, const std::string& origin = "config");

}  // namespace engram::io
