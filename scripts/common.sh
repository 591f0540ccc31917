# Shared by run.sh and test.sh: install what is missing on Debian 12, then configure and build.
# Sourced, not run.

QUERYLENS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUERYLENS_BUILD=${QUERYLENS_BUILD:-$QUERYLENS_ROOT/build}

# Debian 12 packages: the toolchain, Qt 6 with Charts and the image-format plugins (WebP),
# libtorch, SentencePiece, nlohmann-json, and OpenBLAS (libtorch's matrix products run ~25x
# slower on the reference BLAS it would otherwise get); ICU (Unicode data for the Q-Former's
# WordPiece tokenizer) and OpenSSL (SHA-256 keys of the search index's embedding cache; the Hub
# client's digests); libcurl for the Hub client; python3 runs the mock Hub of the tests
# (tests/hub/mock_hub.py); libarchive (WebDataset tar shards of `querylens batch`), and Slurm
# with munge for the test of the cluster recipe (a one-node cluster on localhost, started and
# stopped by the test).
QUERYLENS_PACKAGES=(
  cmake g++ ninja-build pkg-config
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libxkbcommon-dev qt6-image-formats-plugins
  libtorch-dev libsentencepiece-dev nlohmann-json3-dev libopenblas0-openmp
  libicu-dev libssl-dev
  libarchive-dev slurm-wlm munge
  fonts-dejavu-core
  libcurl4-openssl-dev python3
)
# What the checks beyond the test suites need (scripts/fuzz.sh, scripts/sanitize.sh,
# packaging/release-check.sh): clang with libFuzzer and its OpenMP, and debootstrap for a fresh
# Debian root.
QUERYLENS_CHECK_PACKAGES=(
  clang-14 libclang-rt-14-dev libomp-14-dev
  debootstrap
)

# querylens_install_packages [PACKAGE...]: those (default: QUERYLENS_PACKAGES) that are missing.
querylens_install_packages() {
  local wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${QUERYLENS_PACKAGES[@]}")
  local missing=()
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The clang build with AddressSanitizer + UBSan and libFuzzer's coverage instrumentation
# (-DQUERYLENS_FUZZ=ON): scripts/sanitize.sh runs the test suites in it, scripts/fuzz.sh the
# fuzz targets, so one build serves both. Arguments go to `cmake --build` (e.g. --target X).
QUERYLENS_SANITIZED_BUILD=${QUERYLENS_SANITIZED_BUILD:-$QUERYLENS_ROOT/build-fuzz}
querylens_build_sanitized() {
  querylens_install_packages
  querylens_install_packages "${QUERYLENS_CHECK_PACKAGES[@]}"
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$QUERYLENS_ROOT" -B "$QUERYLENS_SANITIZED_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER=clang++-14 -DQUERYLENS_FUZZ=ON "${launcher[@]}" >/dev/null
  cmake --build "$QUERYLENS_SANITIZED_BUILD" --parallel "${QUERYLENS_JOBS:-$(nproc)}" "$@"
}

querylens_build() {
  cmake -S "$QUERYLENS_ROOT" -B "$QUERYLENS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$QUERYLENS_BUILD" --parallel "$(nproc)"
}
