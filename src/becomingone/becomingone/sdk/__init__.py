"""
The BecomingONE Python SDK: a cell, its inputs and outputs, and what it decided.

    cell = Cell(scale='mini')
    cell.add_input(Microphone(file='tone.wav'))
    cell.add_output(Speaker())
    cell.on_collapse(callback)
    cell.run()
"""

from becomingone.sdk.cell import Cell
from becomingone.sdk.events import CollapseEvent
from becomingone.sdk.inputs import Camera, Imu, Input, Microphone, Pressure, Temperature, Text
from becomingone.sdk.inputs import Thermal
from becomingone.sdk.offline import OfflineRun
from becomingone.sdk.outputs import Display, Http, Lock, Memory, Motor, Output, Speaker

__all__ = ['Camera', 'Cell', 'CollapseEvent', 'Display', 'Http', 'Imu', 'Input', 'Lock',
           'Memory', 'Microphone', 'Motor', 'OfflineRun', 'Output', 'Pressure', 'Speaker',
           'Temperature', 'Text', 'Thermal']
