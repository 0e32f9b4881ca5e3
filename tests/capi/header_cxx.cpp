// engram.h compiles as C++ under the project's warnings (-Wall -Wextra -Wpedantic -Wshadow
// -Wconversion) and its functions link from C++.
#include "engram/engram.h"

#include <cstdio>

int main() {
  engram_backend* backend = nullptr;
  if (engram_backend_create("no_such_backend", &backend) == ENGRAM_OK || backend != nullptr) return 1;
  if (engram_last_error()[0] == '\0') return 1;
  std::printf("engram %s, ABI %u (header %d); %s: %s\n", engram_version(), engram_abi_version(), ENGRAM_ABI_VERSION,
              engram_status_name(ENGRAM_BAD_INPUT), engram_last_error());
  return engram_abi_version() == ENGRAM_ABI_VERSION ? 0 : 1;
}
