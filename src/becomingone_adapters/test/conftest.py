"""Fixtures shared by the node-level tests."""

from adapter_under_test import Adapter
import pytest


@pytest.fixture
def adapter():
    """Start adapter nodes by executable name and ROS arguments; all stop afterwards."""
    started = []

    def start(executable, *ros_arguments):
        started.append(Adapter(executable, ros_arguments))
        return started[-1]
    yield start
    for each in started:
        each.close()
