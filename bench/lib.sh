# Sourced by the benchmark scripts: the paths and the builds they share.
#   root              the workspace
#   BENCH_TARGET_DIR  where weir-gen and weir-bench are built (default: $CARGO_TARGET_DIR, else target/)
#   WEIR              the weir binary: as given, else built (`cargo build --release -p weir`)
#   GEN, BENCH        weir-gen and weir-bench, built
# The calling script is run from the workspace root afterwards.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_TARGET_DIR="${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}}"
cd "$root"
if [[ -z "${WEIR:-}" ]]; then
    echo "== building weir (release)" >&2
    # The workspace's own target dir, as `cargo build --release -p weir` leaves it.
    env -u CARGO_TARGET_DIR cargo build --release -p weir >&2
    WEIR="$root/target/release/weir"
fi
echo "== building weir-gen and weir-bench (release, target dir $BENCH_TARGET_DIR)" >&2
CARGO_TARGET_DIR="$BENCH_TARGET_DIR" cargo build --release -p weir-bench >&2
GEN="$BENCH_TARGET_DIR/release/weir-gen"
BENCH="$BENCH_TARGET_DIR/release/weir-bench"
