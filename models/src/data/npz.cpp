#include "engram/models/data/npz.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include <zlib.h>

#include "engram/engine/error.hpp"

namespace engram::data {

namespace {

std::uint32_t crc32(const unsigned char* data, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// A deflated zip entry (numpy.savez_compressed) inflated to its `size` bytes; false when the
// stream is damaged or its length differs.
bool inflate_entry(const char* data, std::size_t compressed, std::size_t size, std::string& out) {
  out.assign(size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return false;  // raw deflate: zip entries carry no zlib header
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  std::size_t in_left = compressed, out_left = size;
  int status = Z_OK;
  while (status == Z_OK) {
    // zlib counts in uInt: feed huge entries in chunks.
    const uInt in_chunk = static_cast<uInt>(std::min<std::size_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<std::size_t>(out_left, 1u << 30));
    z.avail_in = in_chunk;
    z.avail_out = out_chunk;
    status = inflate(&z, Z_NO_FLUSH);
    in_left -= in_chunk - z.avail_in;
    out_left -= out_chunk - z.avail_out;
    if (status == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out) break;  // no progress
  }
  inflateEnd(&z);
  return status == Z_STREAM_END && out_left == 0;
}

struct Reader {
  const std::string& bytes;
  const std::string& path;
  std::uint64_t u(std::size_t at, int width) const {
    if (at + static_cast<std::size_t>(width) > bytes.size()) fail("truncated zip structure");
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    return v;
  }
  [[noreturn]] void fail(const std::string& why) const { throw Error::bad_input("data file", path, why); }
};

std::size_t element_size(const std::string& dtype) {
  if (dtype.size() < 3) return 0;
  const char kind = dtype[1];
  const int bytes = std::atoi(dtype.c_str() + 2);
  if ((kind == 'f' && (bytes == 4 || bytes == 8)) || ((kind == 'i' || kind == 'u') && (bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8)) ||
      (kind == 'b' && bytes == 1)) {
    if (bytes > 1 && dtype[0] != '<') return 0;  // big-endian data
    return static_cast<std::size_t>(bytes);
  }
  return 0;
}

double element(const unsigned char* p, const std::string& dtype) {
  const char kind = dtype[1];
  const int bytes = std::atoi(dtype.c_str() + 2);
  auto load = [&](auto tag) {
    decltype(tag) v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
  };
  if (kind == 'f') return bytes == 4 ? load(float{}) : load(double{});
  if (kind == 'b') return p[0] != 0 ? 1.0 : 0.0;
  if (kind == 'i') {
    switch (bytes) {
      case 1: return load(std::int8_t{});
      case 2: return load(std::int16_t{});
      case 4: return load(std::int32_t{});
      default: return load(std::int64_t{});
    }
  }
  switch (bytes) {
    case 1: return load(std::uint8_t{});
    case 2: return load(std::uint16_t{});
    case 4: return load(std::uint32_t{});
    default: return load(std::uint64_t{});
  }
}

// Value of 'key': in the .npy header dict (a Python literal).
std::string header_field(const std::string& header, const std::string& key) {
  const std::size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  std::size_t v = header.find(':', at);
  if (v == std::string::npos) return "";
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  if (v < header.size() && header[v] == '(') return header.substr(v, header.find(')', v) - v + 1);
  if (v < header.size() && header[v] == '\'') return header.substr(v + 1, header.find('\'', v + 1) - v - 1);
  const std::size_t end = header.find_first_of(",}", v);
  return header.substr(v, end - v);
}

NpyArray parse_npy(const std::string& blob, const std::string& name, const std::string& path) {
  const std::string where = path + ":" + name;
  auto fail = [&](const std::string& why) { throw Error::bad_input("data file", where, why); };
  if (blob.size() < 10 || blob.compare(0, 6, "\x93NUMPY") != 0) fail("not a .npy array");
  const int major = static_cast<unsigned char>(blob[6]);
  std::size_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(blob[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(blob[9])) << 8);
    header_at = 10;
  } else {
    if (blob.size() < 12) fail("truncated .npy header");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(blob[8 + static_cast<std::size_t>(i)]);
    header_at = 12;
  }
  if (header_at + header_len > blob.size()) fail("truncated .npy header");
  const std::string header = blob.substr(header_at, header_len);
  NpyArray a;
  a.name = name;
  a.dtype = header_field(header, "descr");
  if (element_size(a.dtype) == 0) fail("unsupported dtype '" + a.dtype + "' (use little-endian float, int, uint or bool)");
  if (header_field(header, "fortran_order") != "False") fail("Fortran-ordered arrays are not supported (save a C-ordered copy)");
  const std::string shape = header_field(header, "shape");
  std::stringstream dims(shape.substr(1, shape.size() >= 2 ? shape.size() - 2 : 0));
  std::string dim;
  while (std::getline(dims, dim, ',')) {
    if (dim.find_first_not_of(' ') == std::string::npos) continue;
    a.shape.push_back(std::stoll(dim));
  }
  const std::size_t n = static_cast<std::size_t>(a.size()), width = element_size(a.dtype);
  const std::size_t data_at = header_at + header_len;
  if (blob.size() - data_at < n * width) fail("holds fewer bytes than its shape needs");
  a.values.resize(n);
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data() + data_at);
  for (std::size_t i = 0; i < n; ++i) a.values[i] = element(p + i * width, a.dtype);
  return a;
}

void put(std::string& out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

std::string npy_bytes(const NpyArray& a) {
  const std::size_t width = element_size(a.dtype);
  if (width == 0) throw Error::bad_input("dtype", a.dtype, "write_npz supports little-endian float, int, uint and bool");
  std::string shape = "(";
  for (std::size_t i = 0; i < a.shape.size(); ++i) shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : (i + 1 < a.shape.size() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  put(out, header.size(), 2);
  out += header;
  const char kind = a.dtype[1];
  for (double v : a.values) {
    unsigned char buf[8];
    auto store = [&](auto x) { std::memcpy(buf, &x, sizeof x); out.append(reinterpret_cast<char*>(buf), sizeof x); };
    if (kind == 'f') {
      if (width == 4) store(static_cast<float>(v)); else store(v);
    } else if (kind == 'b') {
      store(static_cast<std::uint8_t>(v != 0.0));
    } else if (kind == 'i') {
      if (width == 1) store(static_cast<std::int8_t>(v));
      else if (width == 2) store(static_cast<std::int16_t>(v));
      else if (width == 4) store(static_cast<std::int32_t>(v));
      else store(static_cast<std::int64_t>(v));
    } else {
      if (width == 1) store(static_cast<std::uint8_t>(v));
      else if (width == 2) store(static_cast<std::uint16_t>(v));
      else if (width == 4) store(static_cast<std::uint32_t>(v));
      else store(static_cast<std::uint64_t>(v));
    }
  }
  return out;
}

}  // namespace

std::int64_t NpyArray::size() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error::bad_input("data file", path, "cannot be opened");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Reader r{bytes, path};
  if (bytes.size() < 22) r.fail("is not a zip archive (an .npz from numpy.savez)");
  // The end-of-central-directory record: the last 0x06054b50 within the final 64 KiB.
  std::size_t eocd = std::string::npos;
  for (std::size_t at = bytes.size() - 22;; --at) {
    if (r.u(at, 4) == 0x06054b50u) {
      eocd = at;
      break;
    }
    if (at == 0 || bytes.size() - at > 65557) break;
  }
  if (eocd == std::string::npos) r.fail("is not a zip archive (an .npz from numpy.savez)");
  std::uint64_t entries = r.u(eocd + 10, 2), cd_offset = r.u(eocd + 16, 4);
  if ((entries == 0xFFFF || cd_offset == 0xFFFFFFFFu) && eocd >= 20 && r.u(eocd - 20, 4) == 0x07064b50u) {
    const std::size_t z64 = static_cast<std::size_t>(r.u(eocd - 12, 8));
    if (r.u(z64, 4) != 0x06064b50u) r.fail("has a damaged zip64 directory");
    entries = r.u(z64 + 32, 8);
    cd_offset = r.u(z64 + 48, 8);
  }
  std::map<std::string, NpyArray> arrays;
  std::size_t at = static_cast<std::size_t>(cd_offset);
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (r.u(at, 4) != 0x02014b50u) r.fail("has a damaged zip directory");
    const std::uint64_t method = r.u(at + 10, 2), crc = r.u(at + 16, 4);
    std::uint64_t csize = r.u(at + 20, 4), usize = r.u(at + 24, 4);
    const std::size_t name_len = static_cast<std::size_t>(r.u(at + 28, 2)), extra_len = static_cast<std::size_t>(r.u(at + 30, 2)),
                      comment_len = static_cast<std::size_t>(r.u(at + 32, 2));
    std::uint64_t local = r.u(at + 42, 4);
    const std::string name = bytes.substr(at + 46, name_len);
    // zip64 extra field: the 64-bit values of whichever fields hold 0xFFFFFFFF, in this order.
    for (std::size_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
      const std::uint64_t id = r.u(x, 2), len = r.u(x + 2, 2);
      if (id == 1) {
        std::size_t f = x + 4;
        if (usize == 0xFFFFFFFFu) { usize = r.u(f, 8); f += 8; }
        if (csize == 0xFFFFFFFFu) { csize = r.u(f, 8); f += 8; }
        if (local == 0xFFFFFFFFu) { local = r.u(f, 8); }
      }
      x += 4 + static_cast<std::size_t>(len);
    }
    at += 46 + name_len + extra_len + comment_len;
    if (method != 0 && method != 8) {
      r.fail("array '" + name + "' uses zip method " + std::to_string(method) +
             "; engram reads stored (numpy.savez) and deflated (numpy.savez_compressed) entries");
    }
    if (r.u(static_cast<std::size_t>(local), 4) != 0x04034b50u) r.fail("has a damaged zip entry '" + name + "'");
    const std::size_t data_at = static_cast<std::size_t>(local) + 30 + static_cast<std::size_t>(r.u(static_cast<std::size_t>(local) + 26, 2)) +
                                static_cast<std::size_t>(r.u(static_cast<std::size_t>(local) + 28, 2));
    if (data_at + csize > bytes.size() || (method == 0 && csize != usize)) {
      r.fail("has a truncated zip entry '" + name + "'");
    }
    std::string blob;
    if (method == 8) {
      if (!inflate_entry(bytes.data() + data_at, static_cast<std::size_t>(csize), static_cast<std::size_t>(usize), blob) ||
          crc32(reinterpret_cast<const unsigned char*>(blob.data()), blob.size()) != crc) {
        r.fail("has a damaged compressed entry '" + name + "'");
      }
    } else {
      blob = bytes.substr(data_at, static_cast<std::size_t>(csize));
    }
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    arrays[key] = parse_npy(blob, key, path);
  }
  return arrays;
}

void write_npz(const std::string& path, const std::vector<NpyArray>& arrays) {
  std::string out, directory;
  for (const NpyArray& a : arrays) {
    if (static_cast<std::int64_t>(a.values.size()) != a.size()) {
      throw Error::bad_input("array " + a.name, std::to_string(a.values.size()) + " values", "does not match its shape");
    }
    const std::string blob = npy_bytes(a);
    const std::string name = a.name + ".npy";
    const std::uint32_t crc = crc32(reinterpret_cast<const unsigned char*>(blob.data()), blob.size());
    const std::size_t local = out.size();
    put(out, 0x04034b50u, 4);
    put(out, 20, 2);
    put(out, 0, 2);
    put(out, 0, 2);  // stored
    put(out, 0, 2);
    put(out, 0x21, 2);  // 1980-01-01
    put(out, crc, 4);
    put(out, blob.size(), 4);
    put(out, blob.size(), 4);
    put(out, name.size(), 2);
    put(out, 0, 2);
    out += name;
    out += blob;
    put(directory, 0x02014b50u, 4);
    put(directory, 20, 2);
    put(directory, 20, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0x21, 2);
    put(directory, crc, 4);
    put(directory, blob.size(), 4);
    put(directory, blob.size(), 4);
    put(directory, name.size(), 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 4);
    put(directory, local, 4);
    directory += name;
  }
  const std::size_t cd_offset = out.size();
  out += directory;
  put(out, 0x06054b50u, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, arrays.size(), 2);
  put(out, arrays.size(), 2);
  put(out, directory.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  std::ofstream file(path, std::ios::binary);
  if (!file) throw Error::bad_input("output file", path, "cannot be written");
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
}

}  // namespace engram::data
