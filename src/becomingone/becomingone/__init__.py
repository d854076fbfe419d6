"""
BecomingONE: one configuration file per host, the ``becomingone`` command and a Python SDK.

The SDK's names are importable from here (``from becomingone import Cell, Microphone``); they
load rclpy and the adapters on first use only, so ``becomingone config ...`` stays light.
"""

import importlib

_SDK = ('Camera', 'Cell', 'CollapseEvent', 'Display', 'Http', 'Imu', 'Input', 'Lock', 'Memory',
        'Microphone', 'Motor', 'OfflineRun', 'Output', 'Pressure', 'Speaker', 'Temperature',
        'Text', 'Thermal')

__all__ = list(_SDK)


def __getattr__(name):
    if name in _SDK:
        return getattr(importlib.import_module('becomingone.sdk'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
