"""The converters stay free of ROS: importing any of them loads neither rclpy nor messages."""

import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'becomingone_adapters'
MODULES = sorted(p.stem for p in PACKAGE.glob('*.py') if p.stem != '__init__')


def test_there_are_converters_to_check():
    assert {'audio', 'encoding', 'image', 'motion', 'http_post'} <= set(MODULES)


@pytest.mark.parametrize('module', MODULES)
def test_importing_loads_no_ros(module):
    probe = (f'import sys, becomingone_adapters.{module}; '
             'print(sorted(m for m in sys.modules if m.split(".")[0] in '
             '{"rclpy", "becomingone_msgs", "std_msgs", "sensor_msgs", "geometry_msgs"}))')
    result = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == '[]', result.stdout
