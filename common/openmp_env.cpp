#include "common/openmp_env.h"

#include <cstdlib>
#include <unistd.h>

namespace tagscape {

void use_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the default policy rather than stop.
}

}  // namespace tagscape
