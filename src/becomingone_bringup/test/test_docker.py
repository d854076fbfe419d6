"""
The container files, checked without a Docker engine.

The Dockerfile's steps that need no Docker are run here: the manifests stage's extraction must
leave colcon the same packages as the full tree, COPY sources must exist, and the colcon build
must match the Makefile's. The compose file must describe a three-cell mesh this package can
launch.
"""

import pathlib
import re
import shlex
import subprocess

from becomingone_core.mesh import ROLES
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
DOCKER = ROOT / 'docker'
BRINGUP = ROOT / 'src' / 'becomingone_bringup'


def instructions():
    """Return the Dockerfile as (stage, instruction, arguments) with continuations joined."""
    text = re.sub(r'\\\n', ' ', (DOCKER / 'Dockerfile').read_text())
    stage, result = None, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        instruction, _, arguments = line.partition(' ')
        instruction = instruction.upper()
        if instruction == 'FROM':
            stage = arguments.split()[-1]
        result.append((stage, instruction, arguments.strip()))
    return result


def _colcon_words(command):
    words = shlex.split(command.split('colcon build', 1)[1].split('&&')[0])
    return {w for w in words if w.startswith('-')}


def _pins(path):
    return {line.split('==')[0].lower(): line.split('==')[1].strip()
            for line in path.read_text().splitlines() if '==' in line and not line.startswith('#')}


def test_stages_build_on_the_official_jazzy_image():
    steps = instructions()
    stages = [(stage, arguments) for stage, instruction, arguments in steps
              if instruction == 'FROM']
    assert stages[0][1].startswith('ros:${ROS_DISTRO}-ros-base')
    assert ('ARG', 'ROS_DISTRO=jazzy') in [(i, a) for _, i, a in steps[:1]]
    assert [s for s, _ in stages] == ['base', 'manifests', 'deps', 'build', 'runtime']


def test_every_copied_source_exists():
    for stage, instruction, arguments in instructions():
        if instruction == 'COPY' and not arguments.startswith('--from'):
            *sources, _ = arguments.split()
            for source in sources:
                assert (ROOT / source).exists(), f'{stage}: COPY {source} does not exist'


def test_dependency_layer_sees_only_the_manifests():
    deps = [(i, a) for s, i, a in instructions() if s == 'deps']
    copies = [a for i, a in deps if i == 'COPY']
    assert copies == ['--from=manifests /ws/src /ws/src']
    assert any('rosdep install --from-paths src' in a for i, a in deps if i == 'RUN')


def test_manifest_extraction_leaves_colcon_every_package(tmp_path):
    run = next(a for s, i, a in instructions() if s == 'manifests' and i == 'RUN')
    extract = run.split('&&')[-1].strip().replace('/ws/src/', f'{tmp_path}/src/')
    (tmp_path / 'src').mkdir()
    subprocess.run(extract, shell=True, check=True, cwd=ROOT / 'src', timeout=60)
    copied = sorted(p.relative_to(tmp_path / 'src') for p in (tmp_path / 'src').rglob('*')
                    if p.is_file())
    assert copied and all(p.name == 'package.xml' for p in copied)

    def packages(base):
        listing = subprocess.run(
            ['colcon', '--log-base', str(tmp_path / 'log'), 'list', '--names-only',
             '--base-paths', str(base)],
            check=True, capture_output=True, text=True, timeout=120)
        return sorted(listing.stdout.split())
    assert packages(tmp_path / 'src') == packages(ROOT / 'src')


def test_colcon_build_matches_the_makefile():
    makefile = (ROOT / 'Makefile').read_text().replace('\\\n', ' ')
    make_flags = _colcon_words(next(line for line in makefile.splitlines()
                                    if line.strip().startswith('colcon build')))
    build = next(a for s, i, a in instructions() if s == 'build' and 'colcon build' in a)
    docker_flags = _colcon_words(build)
    # The image copies its install space (no symlinks into sources) and builds no tests.
    expected = (make_flags - {'--symlink-install', '-DBUILD_TESTING=ON'}) | {'-DBUILD_TESTING=OFF'}
    assert docker_flags == expected


def test_image_pip_pins_equal_the_workspace_pins():
    image = _pins(DOCKER / 'requirements' / 'image.txt')
    workspace = _pins(DOCKER / 'requirements' / 'python.txt')
    assert image and all(workspace.get(name) == version for name, version in image.items())


def test_entrypoint_is_an_executable_bash_script():
    entrypoint = DOCKER / 'entrypoint.sh'
    assert entrypoint.stat().st_mode & 0o111
    subprocess.run(['bash', '-n', str(entrypoint)], check=True, timeout=30)


@pytest.fixture(scope='module')
def compose():
    return yaml.safe_load((DOCKER / 'compose.yaml').read_text())


def test_compose_runs_three_distinct_cells_on_one_domain_and_network(compose):
    services = compose['services']
    assert len(services) == 3
    arguments = [dict(word.split(':=') for word in s['command'] if ':=' in word)
                 for s in services.values()]
    assert len({a['node_id'] for a in arguments}) == 3
    assert all(a['role'] in ROLES for a in arguments)
    assert len({s['environment']['ROS_DOMAIN_ID'] for s in services.values()}) == 1
    assert all(s['networks'] == ['mesh'] for s in services.values())
    for service in services.values():
        launch_file = next(w for w in service['command'] if w.endswith('.launch.py'))
        assert (BRINGUP / 'launch' / launch_file).exists()
        context = (DOCKER / service['build']['context']).resolve()
        assert (context / service['build']['dockerfile']).exists()


def test_launch_arguments_in_compose_are_declared(compose):
    source = (BRINGUP / 'launch' / 'pi_node.launch.py').read_text()
    declared = set(re.findall(r"DeclareLaunchArgument\(\s*'(\w+)'", source))
    for service in compose['services'].values():
        used = {word.split(':=')[0] for word in service['command'] if ':=' in word}
        assert used <= declared, used - declared


def test_the_pki_overlay_mounts_each_cells_own_credentials_read_only(compose):
    overlay = yaml.safe_load((DOCKER / 'compose.pki.yaml').read_text())['services']
    assert set(overlay) == set(compose['services'])
    source = (BRINGUP / 'launch' / 'pi_node.launch.py').read_text()
    declared = set(re.findall(r"DeclareLaunchArgument\(\s*'(\w+)'", source))
    for name, service in overlay.items():
        arguments = dict(word.split(':=') for word in service['command'] if ':=' in word)
        assert set(arguments) <= declared and arguments['node_id'] == name
        (mount,) = service['volumes']
        local, inside, mode = mount.split(':')
        assert local == f'./pki/{name}' and inside == arguments['security_dir'] and mode == 'ro'
    # Keys never enter an image: the build context leaves docker/pki out.
    assert 'docker/pki' in (DOCKER.parent / '.dockerignore').read_text().split()


# -- stopping: `docker stop` ends every node as Ctrl-C does (test_launch_shutdown.py runs it) --
def test_the_image_stops_with_sigint_to_a_noninteractive_launch():
    runtime = [(i, a) for s, i, a in instructions() if s == 'runtime']
    assert ('STOPSIGNAL', 'SIGINT') in runtime
    (cmd,) = [a for i, a in runtime if i == 'CMD']
    (entrypoint,) = [a for i, a in runtime if i == 'ENTRYPOINT']
    # Exec form: no /bin/sh -c in between to take the signal.
    assert cmd.startswith('[') and entrypoint.startswith('[')
    words = yaml.safe_load(cmd)
    assert words[:3] == ['ros2', 'launch', '--noninteractive'], words


def test_the_entrypoint_execs_the_command():
    lines = [line.strip() for line in (DOCKER / 'entrypoint.sh').read_text().splitlines()
             if line.strip() and not line.strip().startswith('#')]
    assert lines[-1] == 'exec "$@"'


def test_compose_stops_with_sigint_through_an_init_and_waits_for_launch(compose):
    for name, service in compose['services'].items():
        assert service['init'] is True, name
        assert service['stop_signal'] == 'SIGINT', name
        # launch escalates to SIGTERM after 5 s, SIGKILL after 10 s: Docker waits longer.
        grace = service['stop_grace_period']
        assert grace.endswith('s') and int(grace[:-1]) > 10, (name, grace)
        assert service['command'][:3] == ['ros2', 'launch', '--noninteractive'], name
