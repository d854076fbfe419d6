"""
The host configuration file (``becomingone.yaml``): one file per host, every key.

``becomingone config check FILE`` validates it, ``config show [--ros] FILE`` prints it resolved
(``--ros``: as the ``ros__parameters`` of each node), ``config init APP`` writes a commented
starter, ``run --config FILE`` starts it and ``ros2 launch becomingone_bringup
pi_node.launch.py config:=FILE`` runs the very same file on a full ROS 2 install.

Every key is optional; an unknown key is an error, and so is a value of the wrong type or out of
the range its node declares. Errors name the key path, e.g.
``config error: cell.sync.threshold: must be <= 1.0, got 1.5``.

Sections and keys
-----------------

``app`` (string)
    The application this file was made from (``robot``, ``assistant``, ``lab``...). Only shown.
``host``
    ``id`` (string, default: this machine's name): the host's id in the mesh, also its ROS
    namespace (``/<id>``, made a valid name by ``becomingone_core.mesh.namespace_for``).
    ``role``: ``full`` | ``light`` | ``witness`` | ``relay`` (default ``full``): which nodes
    start (``becomingone_core.mesh.ROLE_NODES``). ``weight`` (number, default 1.0): the cell's
    declared weight in T_global. ``name`` (string): host name sent to peers ('': this machine).
``use_sim_time`` (bool, default false)
    Every node follows ``/clock`` (Gazebo, rosbag) instead of the wall clock.
``cell``
    ``scale``: a preset of ``becomingone_core.scales`` (``demo``, ``micro``, ``nano``, ``mini``,
    ``standard``, ``macro``; default ``demo``): the time scales, the defaults of every cell
    parameter. ``simulate`` (bool, default false): also run a simulated source on ``phase``.
    ``master``, ``emissary``, ``sync``, ``witness``, ``sim_source``: maps of that node's own
    parameters, overriding the preset one by one (``cell: {sync: {threshold: 0.6}}``).
``mesh``
    The mesh node's parameters (``aggregation``, ``timeout_s``, ``emergence_threshold``...);
    its ``node_id``, ``role``, ``weight``, ``host`` come from ``host``.
``memory``
    The temporal memory's parameters (``path``, ``raw_keep_s``, ``tier_keep_s``...); only roles
    that run a memory (``full``, ``witness``) may set them.
``security``
    ``dir`` (string, default ''): this host's mesh credentials (``becomingone pki export``),
    given to every node that signs or checks messages; '' is an open lab mesh.
``api``
    ``enabled`` (bool, default false): also run the HTTP gateway (``becomingone_api``); every
    other key is a gateway parameter (``port``, ``host``, ``tokens_file``...).
``inputs`` (list)
    Each item ``{kind: KIND, parameters: {...}}`` starts one input adapter feeding the cell's
    ``phase``; KIND is one of :func:`kinds` ``('input')`` (``microphone``, ``camera``, ``thermal``,
    ``imu``, ``temperature``, ``float64``, ``float64_array``, ``fluid_pressure``, ``image``,
    ``text``, and ``mqtt``/``serial`` where installed); ``parameters`` are that adapter's node
    parameters. One of each kind per host.
``outputs`` (list)
    Likewise for outputs acting on the cell's ``sync/state``: ``motor``, ``speaker``,
    ``display``, ``http`` (``mqtt`` where installed). Only roles with a sync layer.

In any string value, ``${app_dir}`` is the installed ``becomingone.apps`` directory (the
applications' recorded inputs) and ``${config_dir}`` the directory of the configuration file.

What a node would refuse is refused here first, from the node's own declarations
(:mod:`becomingone.config.catalogue`): types, ranges, choices; the mesh rules of
``becomingone_core.mesh.MeshConfig``; the security directory is loaded as the nodes load it.
Parameters the nodes derive from each other (a lag bank against its window) are checked by the
nodes when ``run`` builds them: it then stops with the same one-line error, exit 2.
"""

import difflib
import functools
import math
import re
import socket
from typing import Annotated, Any, Literal, Optional

from becomingone.config import catalogue, registry
from becomingone_core.input_rules import MAX_NAME_LENGTH
from becomingone_core.mesh import MeshConfig, ROLE_NODES, ROLES
from becomingone_core.ros.parameters import MAX_ITEMS, MAX_TEXT_LENGTH
from becomingone_core.scales import SCALES
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, create_model, Field,
                      StrictBool, StrictInt, StrictStr, ValidationError)

CELL_SECTIONS = ('master', 'emissary', 'sync', 'witness', 'sim_source')
#: Node parameters a section may not set, and the key that sets them instead.
SET_ELSEWHERE = {
    'scale': 'cell.scale', 'security_dir': 'security.dir', 'node_id': 'host.id',
    'role': 'host.role', 'weight': 'host.weight', 'host': 'host.name',
    'autostart': 'the command (it brings lifecycle nodes up)',
}
#: The gateway's own ``host`` is its bind address, not the mesh's host name.
API_OWN = ('host',)


class ConfigError(ValueError):
    """A configuration that cannot start: ``path`` (dotted key path or file) and ``why``."""

    def __init__(self, path, why):
        super().__init__(f'{path}: {why}')
        self.path, self.why = path, why


class ConfigErrors(ValueError):
    """Every :class:`ConfigError` one file has (``errors``), one line each."""

    def __init__(self, errors):
        super().__init__('\n'.join(str(e) for e in errors))
        self.errors = list(errors)


def default_host_id():
    """Return this machine's name, as pi_node.launch.py defaults ``node_id``."""
    return socket.gethostname().split('.')[0].replace('-', '_')


def kinds(section):
    """Return the adapter kinds installed for ``section`` ('input' or 'output')."""
    return tuple(registry.available(section))


# -- one node's parameters, typed from the catalogue -----------------------------------------

def _set_elsewhere(where):
    def refuse(value):
        raise ValueError(f'set by {where}, not here')
    return Annotated[Any, AfterValidator(refuse)]


def _bounded(spec):
    return {'ge': spec.get('min'), 'le': spec.get('max')}


def _number(value):
    # pydantic's lax float takes True and '1.5'; a ROS double parameter takes neither.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError('must be a number')
    return value


def _finite(value):
    if not math.isfinite(value):
        raise ValueError('must be a finite number')
    return value


def _field_type(spec):
    """Return the pydantic type of one ROS parameter (``spec`` from the catalogue)."""
    kind = spec['type']
    text = Annotated[StrictStr, Field(max_length=MAX_TEXT_LENGTH)]
    number = Annotated[float, BeforeValidator(_number), AfterValidator(_finite)]
    if kind == 'bool':
        return StrictBool
    if kind == 'integer':
        if 'choices' in spec:
            return Literal[tuple(spec['choices'])]
        return Annotated[StrictInt, Field(ge=spec.get('min', -2**63),
                                          le=spec.get('max', 2**63 - 1))]
    if kind == 'double':
        return Annotated[number, Field(**_bounded(spec))]
    if kind == 'string':
        return Literal[tuple(spec['choices'])] if 'choices' in spec else text
    items = {'bool_array': StrictBool, 'integer_array': Annotated[StrictInt, Field(
        ge=-2**63, le=2**63 - 1)], 'double_array': number, 'string_array': text,
        'byte_array': Annotated[StrictInt, Field(ge=0, le=255)]}.get(kind)
    if items is None:
        return Any
    return Annotated[list[items], Field(max_length=MAX_ITEMS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra='forbid', strict=True)


class _NodeParameters(BaseModel):
    """Base of every node's parameter section: unknown keys refused, types as ROS takes them."""

    model_config = ConfigDict(extra='forbid')

    def set_values(self):
        """Return ``{name: value}`` of the parameters the file sets (nothing else)."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


@functools.lru_cache(maxsize=None)
def parameters_model(node_name, exclude=(), own=()):
    """
    Return the pydantic model of ``node_name``'s parameters, built from its declarations.

    ``exclude``: parameters set by another key (:data:`SET_ELSEWHERE`), refused with where;
    ``own``: excluded names this section keeps anyway (the gateway's ``host``).
    """
    specs = catalogue.load()[node_name]['parameters']
    fields = {}
    for name, spec in specs.items():
        if name in exclude and name not in own:
            fields[name] = (_set_elsewhere(SET_ELSEWHERE[name]), None)
        else:
            fields[name] = (Optional[_field_type(spec)],
                            Field(None, description=spec['description']))
    model = create_model(f'{node_name}_parameters', __base__=_NodeParameters, **fields)
    model.refused_names = frozenset(name for name in specs if name in exclude and
                                    name not in own)
    return model


def _section(node_name, own=()):
    return parameters_model(node_name, tuple(SET_ELSEWHERE), tuple(own))


def validate_section(node_name, values, own=()):
    """Validate ``values`` as ``node_name``'s parameters; return the model."""
    return _section(node_name, own).model_validate(values)


# -- the file ---------------------------------------------------------------------------------

# The mesh node's own declaration of ``weight`` (type and range), not a copy of it.
_WEIGHT = _field_type(catalogue.load()['mesh']['parameters']['weight'])


class Host(_Strict):
    """Who this host is in the mesh."""

    id: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)] = Field(  # noqa: A003
        default_factory=default_host_id)
    role: Literal[ROLES] = 'full'
    weight: Optional[_WEIGHT] = Field(None, strict=False)
    name: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = ''


class Cell(_Strict):
    """The cell: scale preset, simulated input, and each cell node's own parameters."""

    scale: Literal[SCALES] = 'demo'
    simulate: bool = False
    master: dict = Field(default_factory=dict)
    emissary: dict = Field(default_factory=dict)
    sync: dict = Field(default_factory=dict)
    witness: dict = Field(default_factory=dict)
    sim_source: dict = Field(default_factory=dict)


class Security(_Strict):
    """This host's mesh credentials."""

    dir: Annotated[str, Field(max_length=MAX_TEXT_LENGTH)] = ''  # noqa: A003 (the file's key)


class Adapter(_Strict):
    """One input or output adapter: its kind and its node's parameters."""

    kind: str
    parameters: dict = Field(default_factory=dict)


class HostConfig(_Strict):
    """A whole ``becomingone.yaml`` (node sections validated by :func:`load_config`)."""

    app: Optional[Annotated[str, Field(max_length=MAX_NAME_LENGTH)]] = None
    host: Host = Field(default_factory=Host)
    use_sim_time: bool = False
    cell: Cell = Field(default_factory=Cell)
    mesh: dict = Field(default_factory=dict)
    memory: dict = Field(default_factory=dict)
    security: Security = Field(default_factory=Security)
    api: dict = Field(default_factory=dict)
    inputs: list[Adapter] = Field(default_factory=list)
    outputs: list[Adapter] = Field(default_factory=list)


class Validated:
    """A checked configuration: the file's model and each node section's set values."""

    def __init__(self, config, sections, adapters):
        self.config = config
        self.sections = sections  # {node_name: {parameter: value}}
        self.adapters = adapters  # [(NodeKind, {parameter: value})] inputs then outputs

    @property
    def role(self):
        return self.config.host.role

    @property
    def api_enabled(self):
        return bool(self.config.api.get('enabled', False))


# -- error messages ---------------------------------------------------------------------------

def _path(location):
    text = ''
    for part in location:
        text += f'[{part}]' if isinstance(part, int) else (f'.{part}' if text else str(part))
    return text


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else f'{text[:limit]}... ({len(text)} characters)'


def _allowed(model, location):
    """Return the keys allowed where an unknown key ``location`` was found."""
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ()
        annotation = field.annotation
        model = getattr(annotation, '__args__', (annotation,))[0] \
            if not isinstance(annotation, type) else annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ()
    refused = getattr(model, 'refused_names', frozenset())
    return tuple(name for name in model.model_fields if name not in refused)


def _message(error, model, prefix=()):
    """One line for one pydantic error: what is allowed there, and what was given."""
    location = tuple(prefix) + tuple(error['loc'])
    kind, context = error['type'], error.get('ctx', {})
    given = error.get('input')
    if kind == 'extra_forbidden':
        allowed = _allowed(model, tuple(error['loc']))
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ''
        return ConfigError(_path(location), f'unknown key{hint}; allowed: '
                           + ', '.join(allowed))
    bounds = {'greater_than_equal': '>=', 'less_than_equal': '<=', 'greater_than': '>',
              'less_than': '<'}
    for name, sign in bounds.items():
        if kind == name:
            limit = next(iter(context.values()))
            return ConfigError(_path(location), f'must be {sign} {limit}, got {_shown(given)}')
    if kind == 'literal_error':
        return ConfigError(_path(location), f"must be one of {context.get('expected')}, got "
                           f'{_shown(given)}')
    text = error['msg']
    text = text[len('Value error, '):] if text.startswith('Value error, ') else text
    text = text[0].lower() + text[1:] if text else text
    return ConfigError(_path(location), text if kind == 'missing' else
                       f'{text}, got {_shown(given)}')


def _errors(error, model, prefix=()):
    return [_message(e, model, prefix) for e in error.errors()]


# -- validation -------------------------------------------------------------------------------

def _check_mesh_rules(values, where):
    """Apply the peer table's own rules (MeshConfig) to the node defaults and the file."""
    specs = catalogue.load()['mesh']['parameters']
    names = MeshConfig.__dataclass_fields__
    settings = {name: values.get(name, specs[name]['default']) for name in names if name in specs}
    try:
        MeshConfig(**settings)
    except ValueError as error:
        # MeshConfig says "'name' why" (or "name: why"): point at the key it names.
        match = re.match(r"'?(\w+)'?:?\s+(.*)", str(error))
        name, why = match.groups() if match else ('', str(error))
        raise ConfigError(f'{where}.{name}' if name else where, why) from None


def _check_security(directory, host_id):
    """Load the credentials as the nodes do; the mesh node also wants its certificate's id."""
    if not directory:
        return
    from becomingone_core.security.mesh_auth import MeshAuthority
    from becomingone_core.security.pki import PkiError, Untrusted
    try:
        authority = MeshAuthority.from_directory(directory)
    except (PkiError, Untrusted, OSError, ValueError) as error:
        raise ConfigError('security.dir', f'{error}') from None
    if authority.enabled and authority.node_id != host_id:
        raise ConfigError('host.id', f"{_shown(host_id)}, but this host's certificate "
                          f'(security.dir) names {_shown(authority.node_id)}')


def validate(data, expand=lambda value: value):
    """
    Validate ``data`` (the parsed YAML); return :class:`Validated` or raise :class:`ConfigErrors`.

    ``expand`` turns placeholders in string values into their values (see the module doc).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigErrors([ConfigError('(file)', 'must be a mapping of sections (host:, '
                                        f'cell:, ...), got {type(data).__name__}')])
    try:
        config = HostConfig.model_validate(_expanded(data, expand))
    except ValidationError as error:
        raise ConfigErrors(_errors(error, HostConfig)) from None
    errors, sections, adapters = [], {}, []
    role_nodes = ROLE_NODES[config.host.role]

    def check(node_name, values, where, own=()):
        try:
            sections[node_name] = validate_section(node_name, values, own).set_values()
        except ValidationError as error:
            errors.extend(_errors(error, _section(node_name, own), where))

    for name in CELL_SECTIONS:
        values = getattr(config.cell, name)
        runs = name in role_nodes or (name == 'sim_source' and config.cell.simulate)
        if values and not runs:
            errors.append(ConfigError(f'cell.{name}', f'a {config.host.role} host runs no '
                                      f'{name} node' + ('' if name != 'sim_source' else
                                                        ' (set cell.simulate: true)')))
        check(name, values, ('cell', name))
    if config.memory and 'memory' not in role_nodes:
        errors.append(ConfigError('memory', f'a {config.host.role} host runs no memory; '
                                  'roles with one: full, witness'))
    check('memory', config.memory, ('memory',))
    check('mesh', config.mesh, ('mesh',))
    api = dict(config.api)
    enabled = api.pop('enabled', False)
    if not isinstance(enabled, bool):
        errors.append(ConfigError('api.enabled', f'must be true or false, got {_shown(enabled)}'))
    if registry.by_node_name().get('gateway'):
        check('gateway', api, ('api',), own=API_OWN)
    elif enabled:
        errors.append(ConfigError('api.enabled', 'becomingone_api is not installed'))
    for section, items in (('input', config.inputs), ('output', config.outputs)):
        known = registry.available(section)
        used = set()
        for index, item in enumerate(items):
            where = (f'{section}s', index)
            kind = known.get(item.kind)
            if kind is None:
                close = difflib.get_close_matches(item.kind, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ''
                errors.append(ConfigError(_path(where + ('kind',)), f'unknown {section} kind '
                                          f'{_shown(item.kind)}{hint}; allowed: '
                                          + ', '.join(known)))
                continue
            if item.kind in used:
                errors.append(ConfigError(_path(where + ('kind',)), f'{item.kind} is already '
                                          f'used: one {item.kind} {section} per host'))
                continue
            used.add(item.kind)
            try:
                adapters.append((kind, validate_section(
                    kind.node_name, item.parameters).set_values()))
            except ValidationError as error:
                errors.extend(_errors(error, _section(kind.node_name),
                                      where + ('parameters',)))
        needs = 'emissary' if section == 'input' else 'sync'
        if items and needs not in role_nodes:
            errors.append(ConfigError(f'{section}s', f'a {config.host.role} host runs no '
                                      f'{needs}: {section}s need role full or light'))
    if not errors:
        for rule in (lambda: _check_mesh_rules(sections['mesh'], 'mesh'),
                     lambda: _check_security(config.security.dir, config.host.id)):
            try:
                rule()
            except ConfigError as error:
                errors.append(error)
    if errors:
        raise ConfigErrors(errors)
    return Validated(config, sections, adapters)


def _expanded(value, expand):
    if isinstance(value, str):
        return expand(value)
    if isinstance(value, dict):
        return {key: _expanded(item, expand) for key, item in value.items()}
    if isinstance(value, list):
        return [_expanded(item, expand) for item in value]
    return value
