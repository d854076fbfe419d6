"""
adapters.launch.py and sim.launch.py build a launch description with one switch per adapter.

Needs the ``launch`` packages (a full ROS 2 install); each test skips itself without them.
"""

import importlib.util
import pathlib

import pytest

LAUNCH = pathlib.Path(__file__).resolve().parent.parent / 'launch'
ADAPTERS = ('float64', 'float64_array', 'temperature', 'fluid_pressure', 'imu', 'image', 'text',
            'microphone', 'camera', 'thermal', 'mqtt', 'serial', 'speaker', 'display', 'motor',
            'http', 'mqtt_output')


def _description(name):
    # launch.actions, not launch: the launch/ folder next to the tests is a namespace package.
    pytest.importorskip('launch.actions',
                        reason='launch is not installed (verified on a full install)')
    pytest.importorskip('launch_ros.actions', reason='launch_ros is not installed')
    spec = importlib.util.spec_from_file_location(name, LAUNCH / f'{name}.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def test_adapters_launch_has_one_switch_per_adapter():
    description = _description('adapters')
    from launch.actions import DeclareLaunchArgument
    arguments = {a.name: a for a in description.entities
                 if isinstance(a, DeclareLaunchArgument)}
    for adapter in ADAPTERS:
        assert arguments[adapter].default_value[0].text == 'false', adapter
    assert arguments['estop_topic'].default_value[0].text == '/becomingone/estop'


def test_sim_launch_bridges_camera_imu_and_clock():
    description = _description('sim')
    assert any(type(e).__name__ == 'IncludeLaunchDescription' for e in description.entities)
