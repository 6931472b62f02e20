#!/usr/bin/env bash
# tests/install/CMakeLists.txt runs this (plain builds only):
#   consumer_test.sh install   BUILD SOURCE WORK   cmake --install BUILD --prefix WORK/prefix
#   consumer_test.sh consumers BUILD SOURCE WORK   configure SOURCE/examples once with
#       find_package(minion), then build it and, at the same time, SOURCE/examples/custom_worker.cc
#       with $(pkg-config --cflags --libs minion); run both programs
# The consumer builds see only WORK/prefix, never the source tree's include/ or src/. They
# compile without optimisation: what is tested is that the headers, flags and link lines work,
# and without -O the two compiles take less of this CI step.
set -euo pipefail
mode=$1 build=$2 source=$3 work=$4
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

cxx=${MINION_CXX:-c++}

check_output() {  # the example's task result: both custom workers ran, in order
  local out=$1
  grep -q '"status": "succeeded"' <<<"$out" || fail "task did not succeed: $out"
  grep -q 'The input has 9 words.' <<<"$out" || fail "missing the reporter's text: $out"
  grep -q 'worker.word_count' <<<"$out" || fail "missing the worker span in the stdout trace: $out"
}

case "$mode" in
  install)
    rm -rf "$prefix"
    cmake --install "$build" --prefix "$prefix" >/dev/null
    for f in bin/minion include/minion/agents/coordinator.h include/minion/trace/span.h \
             include/minion/exporters/otlp_http_exporter.h lib/libminion_agents.a \
             lib/libminion_otlp_proto.a lib/cmake/minion/minionConfig.cmake \
             lib/cmake/minion/minionConfigVersion.cmake lib/cmake/minion/minionTargets.cmake \
             lib/pkgconfig/minion.pc; do
      [ -e "$prefix/$f" ] || fail "not installed: $f"
    done
    # Private and generated headers stay in the build tree.
    [ ! -e "$prefix/include/minion/otlp/proto_message.h" ] || fail "proto_message.h installed"
    if grep -rn '#include "' "$prefix/include" | grep -v '#include "minion/'; then
      fail "an installed header includes a header that is not installed"
    fi
    "$prefix/bin/minion" --help >/dev/null || fail "installed minion --help"
    echo "installed into $prefix"
    ;;
  consumers)
    rm -rf "$work/cmake-build" "$work/pc_custom_worker"
    launcher=()
    [ -n "${MINION_LAUNCHER:-}" ] && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$MINION_LAUNCHER")
    generator=()
    command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
    cmake -S "$source/examples" -B "$work/cmake-build" "${generator[@]}" "${launcher[@]}" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE= -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/cmake-configure.log" \
      || { cat "$work/cmake-configure.log"; fail "configure against the installed package"; }
    grep -q "minion_DIR:PATH=$prefix/lib/cmake/minion" "$work/cmake-build/CMakeCache.txt" \
      || fail "find_package(minion) did not pick the installed package"

    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    flags=$(pkg-config --cflags --libs minion) || fail "pkg-config minion"
    incdir=$(realpath "$(pkg-config --variable=includedir minion)")
    [ "$incdir" = "$(realpath "$prefix/include")" ] || fail "minion.pc's includedir is not the prefix's: $incdir"
    # shellcheck disable=SC2086
    ${MINION_LAUNCHER:-} "$cxx" "$source/examples/custom_worker.cc" -o "$work/pc_custom_worker" $flags \
      >"$work/pc-build.log" 2>&1 &
    pc_build=$!
    cmake_rc=0
    cmake --build "$work/cmake-build" >"$work/cmake-build.log" 2>&1 || cmake_rc=$?
    pc_rc=0
    wait "$pc_build" || pc_rc=$?
    ((cmake_rc == 0)) || { cat "$work/cmake-build.log"; fail "build against the installed package"; }
    ((pc_rc == 0)) || { cat "$work/pc-build.log"; fail "build with pkg-config flags: $flags"; }

    out=$("$work/cmake-build/example_custom_worker")
    check_output "$out"
    echo "find_package(minion) consumer: ok"
    out=$("$work/pc_custom_worker")
    check_output "$out"
    echo "pkg-config consumer: ok"
    ;;
  *) fail "unknown mode $mode" ;;
esac
