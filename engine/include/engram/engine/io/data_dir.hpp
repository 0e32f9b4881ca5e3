#pragma once
// Where engram's bundled data (the digits set, the reach recording) is found at run time; never
// a path compiled into the binary, so a moved source tree or an installed package still works.
// In order: $ENGRAM_DATA_DIR; the folder a front end registered (the Python package registers
// its own engram/data); share/engram/data under the executable's folder or one of its three
// parents (an installed prefix/bin/engram, or a build tree, where CMake links it to data/).
//
//   const std::string dir = engram::io::bundled_data_dir();   // throws when none holds `probe`
#include <string>

namespace engram::io {

// The first folder of the search order that holds `probe` (a file name inside it); throws
// Error::unavailable listing the places searched when none does.
std::string bundled_data_dir(const std::string& probe);

// A front end's own data folder (searched after $ENGRAM_DATA_DIR); "" clears it.
void set_bundled_data_dir(const std::string& dir);

}  // namespace engram::io
