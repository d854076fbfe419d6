"""
The KAIROS library built for the Raspberry Pis (arm64) and its C++ tests run there, under qemu.

Cross-compiles ``src/kairos.cpp``, ``src/kairos_dispatch.cpp`` (its baseline path is NEON on
aarch64), ``src/transducer_core.cpp`` and the C++ tests (``test/test_kairos_core.cpp``,
``test/test_transducer_core.cpp``) with Debian's ``aarch64-linux-gnu-g++`` against Debian's
googletest sources, statically, and runs the binary under ``qemu-aarch64``; the test binary
itself checks which kernel path ran (``neon``). Per-file flags follow ``CMakeLists.txt``
(``transducer_core.cpp`` without fused multiply-adds). Skipped, with the reason, where the cross
tools are absent (``make`` installs them on Debian/Ubuntu as root: g++-aarch64-linux-gnu,
qemu-user, googletest).
"""

import os
import pathlib
import shutil
import subprocess

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
COMPILER = shutil.which('aarch64-linux-gnu-g++')
QEMU = shutil.which('qemu-aarch64')
GTEST = pathlib.Path('/usr/src/googletest/googletest')
MISSING = [what for what, present in (
    ('aarch64-linux-gnu-g++ (g++-aarch64-linux-gnu)', COMPILER),
    ('qemu-aarch64 (qemu-user)', QEMU),
    (f'{GTEST} (googletest)', (GTEST / 'src' / 'gtest-all.cc').exists())) if not present]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f'arm64 cross tools absent: {MISSING}')


# As CMakeLists.txt: the transducer core repeats Python's arithmetic step by step.
FILE_FLAGS = {'transducer_core.cpp': ('-ffp-contract=off',)}
LIBRARY = [PACKAGE / 'src' / name
           for name in ('kairos.cpp', 'kairos_dispatch.cpp', 'transducer_core.cpp')]


def _compile(source, output, *flags):
    flags = (*flags, *FILE_FLAGS.get(source.name, ()))
    subprocess.run([COMPILER, '-std=c++17', '-O2', '-pthread', '-ffp-contract=fast',
                    f'-I{PACKAGE / "include"}', f'-I{PACKAGE / "src"}',
                    f'-I{GTEST / "include"}', f'-I{GTEST}', *flags, '-c', str(source),
                    '-o', str(output)], check=True, timeout=600)


def test_the_kernel_builds_for_arm64_and_its_tests_pass_under_qemu(tmp_path):
    objects = []
    for source in (*LIBRARY, PACKAGE / 'test' / 'test_kairos_core.cpp',
                   PACKAGE / 'test' / 'test_transducer_core.cpp',
                   GTEST / 'src' / 'gtest-all.cc', GTEST / 'src' / 'gtest_main.cc'):
        objects.append(tmp_path / (source.stem + '.o'))
        _compile(source, objects[-1])
    binary = tmp_path / 'test_kairos_core_arm64'
    subprocess.run([COMPILER, '-static', '-pthread', *map(str, objects), '-o', str(binary)],
                   check=True, timeout=600)
    kind = subprocess.run(['file', str(binary)], capture_output=True, text=True).stdout
    assert 'aarch64' in kind or 'ARM aarch64' in kind, kind
    result = subprocess.run([QEMU, str(binary), '--gtest_brief=1'], capture_output=True,
                            text=True, timeout=900, env={**os.environ, 'GTEST_COLOR': 'no'})
    # Only a tail on failure (gtest's to_bytes diffs run to megabytes); the
    # return code is taken out first so that pytest does not print the process.
    tail = result.stdout[-5000:] + result.stderr[-2000:]
    returncode = result.returncode
    assert returncode == 0, tail
    assert 'PASSED' in result.stdout, tail
    assert 'TransducerCore' in subprocess.run(
        [QEMU, str(binary), '--gtest_list_tests'], capture_output=True, text=True,
        timeout=120).stdout


def test_the_arm64_build_runs_the_neon_path(tmp_path):
    probe = tmp_path / 'path.cpp'
    probe.write_text('#include <cstdio>\n#include "becomingone_cpp/kairos.hpp"\n'
                     'int main() { std::puts(becomingone::kairos::simd_path()); }\n')
    objects = []
    for source in (*LIBRARY, probe):
        objects.append(tmp_path / (source.stem + '.o'))
        _compile(source, objects[-1])
    binary = tmp_path / 'simd_path_arm64'
    subprocess.run([COMPILER, '-static', '-pthread', *map(str, objects), '-o', str(binary)],
                   check=True, timeout=600)
    result = subprocess.run([QEMU, str(binary)], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == 'neon', result.stdout + result.stderr
