#pragma once
// NPZ archives (numpy.savez): a zip of .npy arrays. Reads stored and deflated entries
// (numpy.savez and numpy.savez_compressed; zlib inflates), zip64 included, as numpy writes them;
// writes stored archives numpy reads back.
//
//   auto arrays = engram::data::read_npz("session.npz");          // name -> array
//   const engram::data::NpyArray& counts = arrays.at("counts");   // counts.shape, counts.values
//   engram::data::write_npz("out.npz", {{"x", {2, 3}, "<f4", values}});
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace engram::data {

struct NpyArray {
  std::string name;                 // without the .npy suffix
  std::vector<std::int64_t> shape;  // C order
  std::string dtype;                // numpy descr: <f4 <f8 <i1 <i2 <i4 <i8 <u1 <u2 <u4 <u8 |b1
  std::vector<double> values;       // every element, converted to double

  std::int64_t size() const;
};

// Throws engram::Error::bad_input naming the file (and array) for anything it cannot read.
std::map<std::string, NpyArray> read_npz(const std::string& path);
void write_npz(const std::string& path, const std::vector<NpyArray>& arrays);

}  // namespace engram::data
