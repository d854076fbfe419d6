"""What ``pi_node.launch.py config:=FILE`` starts (no ``launch`` needed to check it)."""

import os

from becomingone.config import launch_plan, resolve
from becomingone.config.schema import ConfigErrors
from becomingone_core.testing.processes import executable
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROBOT = os.path.join(HERE, 'configs', 'robot_sim.yaml')
EVERY = os.path.join(HERE, 'configs', 'every_section.yaml')


def test_one_process_is_becomingone_run_on_the_same_file():
    plan = resolve.plan(resolve.load(ROBOT))
    [process] = launch_plan.processes(plan, ROBOT)
    assert (process.package, process.executable) == ('becomingone', 'becomingone')
    assert process.arguments == ('run', '--config', ROBOT)
    assert process.nodes == tuple(plan.names()) and process.outward
    assert os.access(executable(process.package, process.executable), os.X_OK)


@pytest.mark.parametrize('path', [ROBOT, EVERY])
def test_one_process_per_node_runs_installed_executables(path):
    plan = resolve.plan(resolve.load(path))
    started = launch_plan.processes(plan, path, '/tmp/parameters.yaml', one_process=False)
    assert [p.name for p in started] == plan.names()
    for process in started:
        # The executable `ros2 run` would start exists, and names its node like the plan.
        assert os.access(executable(process.package, process.executable), os.X_OK)
        assert process.parameters_file == '/tmp/parameters.yaml'
        assert process.lifecycle == plan.node(process.name).kind.lifecycle
    assert [p.name for p in started if p.outward] == ['mesh']
    assert {p.name for p in started if p.lifecycle} >= {'memory', 'motor_output'}


@pytest.mark.skipif('robot' not in resolve.apps(), reason='no robot application installed')
def test_a_recording_player_runs_only_in_one_process():
    path = str(resolve.apps()['robot'])
    plan = resolve.plan(resolve.load(path))
    assert launch_plan.processes(plan, path)  # one process: fine
    with pytest.raises(ConfigErrors) as refused:
        launch_plan.processes(plan, path, '/tmp/p.yaml', one_process=False)
    assert 'one_process:=true' in str(refused.value)
