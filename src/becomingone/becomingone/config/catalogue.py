"""
The parameters every node kind declares, as the nodes themselves declare them.

The configuration schema restates no parameter, range or default: it reads them from
``parameters.json`` beside this module, which records, for each node of
:mod:`becomingone.config.registry`, every parameter the node declares: its ROS type, default,
range (``min``/``max``), choices, whether it is read-only, and its description. The file is
written by building each node for real (rclpy, this process only) and recording what it
declares::

    python -m becomingone.config.catalogue --write   # after a node gains or changes a parameter

``test_config_catalogue.py`` rebuilds it and fails when it no longer matches the nodes.
Loading the file (:func:`load`) needs neither rclpy nor the nodes.
"""

import argparse
import contextlib
import importlib.resources
import json
import math
import os
import struct
import sys
import tempfile
import wave

from becomingone.config import registry

CATALOGUE_FILE = 'parameters.json'
#: Parameters rclpy declares on every node; the configuration sets them once for the host.
ROS_BUILTIN = ('use_sim_time', 'start_type_description_service')
#: ROS parameter types as this catalogue names them (rcl_interfaces/ParameterType).
TYPE_NAMES = {1: 'bool', 2: 'integer', 3: 'double', 4: 'string', 5: 'byte_array',
              6: 'bool_array', 7: 'integer_array', 8: 'double_array', 9: 'string_array'}


def load():
    """Return ``{node_name: {'kind', 'section', 'parameters': {name: spec}}}``."""
    text = importlib.resources.files('becomingone.config').joinpath(CATALOGUE_FILE).read_text()
    return json.loads(text)


# -- building the catalogue (rclpy from here on) ---------------------------------------------

def _spec(default, descriptor):
    """One parameter's entry, from what the node passed to ``declare_parameter``."""
    from rclpy.parameter import Parameter
    ros_type = Parameter.Type.from_parameter_value(default).value
    spec = {'type': 'any' if descriptor.dynamic_typing else TYPE_NAMES[ros_type],
            'default': list(default) if isinstance(default, (list, tuple)) else default,
            'read_only': bool(descriptor.read_only),
            'description': descriptor.description}
    for bounds in descriptor.floating_point_range or descriptor.integer_range:
        # An unbounded side is declared as the type's extreme: record only real bounds.
        if math.isfinite(bounds.from_value) and abs(bounds.from_value) < 1.7e308 and \
                bounds.from_value != -2**63:
            spec['min'] = bounds.from_value
        if math.isfinite(bounds.to_value) and abs(bounds.to_value) < 1.7e308 and \
                bounds.to_value != 2**63 - 1:
            spec['max'] = bounds.to_value
    constraint = descriptor.additional_constraints
    if constraint.startswith('one of: '):
        choices = constraint[len('one of: '):].split(', ')
        spec['choices'] = [int(c) for c in choices] if spec['type'] == 'integer' else choices
    return spec


def _recording(cls, declared):
    """Return a subclass of node class ``cls`` that notes each parameter it declares."""
    def declare_parameter(self, name, value=None, descriptor=None, ignore_override=False):
        from rcl_interfaces.msg import ParameterDescriptor
        declared[name] = (value, descriptor or ParameterDescriptor())
        return super(probe, self).declare_parameter(name, value, descriptor, ignore_override)
    probe = type(f'Catalogued{cls.__name__}', (cls,), {'declare_parameter': declare_parameter})
    return probe


def _write_probe_inputs(directory):
    """Write a short WAV and CSV recording, so file-fed adapters build without hardware."""
    with wave.open(os.path.join(directory, 'probe.wav'), 'wb') as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(struct.pack('<1600h', *([0] * 1600)))
    with open(os.path.join(directory, 'probe.csv'), 'w') as handle:
        handle.write('time_s,value\n0.0,40.0\n0.5,41.0\n')


def _probe_file(directory, kinds):
    import yaml
    sections = {}
    for kind in kinds:
        values = {name: value.format(tmp=directory) if isinstance(value, str) else value
                  for name, value in kind.probe.items()}
        if values:
            sections[f'/**/{kind.node_name}'] = {'ros__parameters': values}
    path = os.path.join(directory, 'probe.yaml')
    with open(path, 'w') as handle:
        yaml.safe_dump(sections, handle)
    return path


def build():
    """Build every installed node kind for real and return the catalogue (a dict)."""
    import rclpy
    kinds = [kind for kind in registry.KINDS if registry.by_node_name().get(kind.node_name)]
    catalogue = {}
    with tempfile.TemporaryDirectory(prefix='becomingone_catalogue_') as directory:
        _write_probe_inputs(directory)
        rclpy.init(args=['catalogue', '--ros-args', '--params-file',
                         _probe_file(directory, kinds)])
        try:
            for kind in kinds:
                declared = {}
                node = None
                with contextlib.suppress(Exception):  # a probe lacking hardware: keep what came
                    node = _recording(kind.load(), declared)(*kind.arguments)
                if node is not None:
                    node.destroy_node()
                catalogue[kind.node_name] = {
                    'kind': kind.kind, 'section': kind.section,
                    'parameters': {name: _spec(*declared[name]) for name in sorted(declared)
                                   if name not in ROS_BUILTIN}}
        finally:
            rclpy.try_shutdown()
    return catalogue


def dumps(catalogue):
    return json.dumps(catalogue, indent=1, sort_keys=True) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m becomingone.config.catalogue',
                                     description=__doc__.split('\n')[1])
    parser.add_argument('--write', action='store_true',
                        help=f'write {CATALOGUE_FILE} beside this module (else print it)')
    args = parser.parse_args(argv)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    text = dumps(build())
    if args.write:
        path = os.path.join(os.path.dirname(os.path.realpath(__file__)), CATALOGUE_FILE)
        with open(path, 'w') as handle:
            handle.write(text)
        print(f'wrote {path}')
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
