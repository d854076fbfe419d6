"""
From a host configuration file to the nodes it starts and each node's ``ros__parameters``.

:func:`load` reads and validates a file (:mod:`becomingone.config.schema`); :func:`plan`
lists the nodes of the host in start order, each with the parameters the file gives it;
:func:`ros_parameters` is the same as a ROS 2 parameter file (one section per fully qualified
node name), which ``becomingone run`` hands to rclpy and the launch files to their nodes.
Only what the file sets is written (and the scale, identity and credentials every node of the
host shares): everything else stays at the node's own default.
"""

from dataclasses import dataclass
import importlib.resources
import os

from becomingone.config import catalogue, registry
from becomingone.config.schema import ConfigError, ConfigErrors, validate
from becomingone_core.mesh import namespace_for, ROLE_NODES
import yaml

APP_DIR = '${app_dir}'
CONFIG_DIR = '${config_dir}'


def app_dir():
    """Return the installed ``becomingone.apps`` directory ('' when there is none)."""
    try:
        return str(importlib.resources.files('becomingone.apps'))
    except ModuleNotFoundError:
        return ''


def apps():
    """Return ``{name: path}`` of every application config (``becomingone/apps/*.yaml``)."""
    try:
        folder = importlib.resources.files('becomingone.apps')
    except ModuleNotFoundError:
        return {}
    return {entry.name[:-len('.yaml')]: entry for entry in sorted(
        folder.iterdir(), key=lambda e: e.name) if entry.name.endswith('.yaml')}


def parse(text, source):
    """Parse YAML ``text``; a syntax error is a :class:`ConfigErrors` naming ``source``:line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, 'problem_mark', None)
        where = f'{source}:{mark.line + 1}' if mark is not None else source
        problem = getattr(error, 'problem', None) or str(error).splitlines()[0]
        raise ConfigErrors([ConfigError(where, f'not valid YAML: {problem}')]) from None


def load(path):
    """Read, parse and validate the file at ``path``; return :class:`schema.Validated`."""
    try:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigErrors([ConfigError(path, 'no such file')]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigErrors([ConfigError(path, f'cannot read: {error}')]) from None
    return load_text(text, path, os.path.dirname(os.path.abspath(path)))


def load_text(text, source='<config>', config_dir='.'):
    """Validate configuration ``text``; ``${config_dir}`` means ``config_dir``."""
    folder = app_dir()

    def expand(value):
        return value.replace(APP_DIR, folder).replace(CONFIG_DIR, config_dir)
    return validate(parse(text, source), expand)


@dataclass
class PlannedNode:
    """One node the host starts: its kind and the parameters the configuration gives it."""

    kind: registry.NodeKind
    parameters: dict


class Plan:
    """The host's nodes in start order, in its namespace."""

    def __init__(self, validated, nodes):
        self.validated = validated
        self.config = validated.config
        self.namespace = '/' + namespace_for(self.config.host.id)
        self.nodes = nodes

    def node(self, name):
        return next((n for n in self.nodes if n.kind.node_name == name), None)

    def names(self):
        return [n.kind.node_name for n in self.nodes]


def _shared(node_name, config):
    """Return what each node of the host gets if it declares it: scale, credentials, clock."""
    declared = catalogue.load()[node_name]['parameters']
    values = {}
    if 'scale' in declared:
        values['scale'] = config.cell.scale
    if 'security_dir' in declared and config.security.dir:
        values['security_dir'] = config.security.dir
    if config.use_sim_time:
        values['use_sim_time'] = True
    return values


def plan(validated):
    """Return the :class:`Plan` of a validated configuration."""
    config = validated.config
    kinds = registry.by_node_name()
    names = list(ROLE_NODES[config.host.role])
    if config.cell.simulate and 'emissary' in names:
        names.append('sim_source')
    nodes = []
    for name in names:
        values = _shared(name, config)
        if name == 'mesh':
            values.update(node_id=config.host.id, role=config.host.role)
            if config.host.weight is not None:
                values['weight'] = config.host.weight
            if config.host.name:
                values['host'] = config.host.name
        values.update(validated.sections.get(name, {}))
        nodes.append(PlannedNode(kinds[name], values))
    for kind, values in validated.adapters:
        nodes.append(PlannedNode(kind, {**_shared(kind.node_name, config), **values}))
    if validated.api_enabled:
        nodes.append(PlannedNode(kinds['gateway'], {**_shared('gateway', config),
                                                    **validated.sections.get('gateway', {})}))
    return Plan(validated, nodes)


def ros_parameters(host_plan):
    """Return the plan as a ROS 2 parameter file: ``{'/ns/node': {'ros__parameters': ...}}``."""
    return {f'{host_plan.namespace}/{node.kind.node_name}': {
        'ros__parameters': dict(node.parameters)} for node in host_plan.nodes}


def dump_ros_parameters(host_plan):
    return yaml.safe_dump(ros_parameters(host_plan), sort_keys=False)


def resolved(host_plan):
    """Return the configuration with every default filled in, as a dict (``config show``)."""
    data = host_plan.config.model_dump(mode='json')
    data['host']['namespace'] = host_plan.namespace
    data['nodes'] = host_plan.names()
    return data
