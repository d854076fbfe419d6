"""The host configuration schema: what it accepts, and one clear line for each refusal."""

import os

from becomingone.config import resolve
from becomingone.config.schema import ConfigErrors
from becomingone_core.mesh import ROLE_NODES
from hypothesis import given, settings, strategies as st
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def errors_of(text):
    with pytest.raises(ConfigErrors) as refused:
        resolve.load_text(text)
    return [str(e) for e in refused.value.errors]


def test_an_empty_file_is_a_full_host_at_its_defaults():
    plan = resolve.plan(resolve.load_text(''))
    assert plan.names() == list(ROLE_NODES['full'])
    assert plan.node('mesh').parameters['role'] == 'full'
    assert plan.node('sync').parameters == {'scale': 'demo'}


def test_the_test_configs_resolve_to_every_node_they_name():
    plan = resolve.plan(resolve.load(os.path.join(HERE, 'configs', 'robot_sim.yaml')))
    assert plan.namespace == '/robot_t'
    assert plan.names() == [*ROLE_NODES['full'], 'sim_source', 'motor_output']
    parameters = resolve.ros_parameters(plan)
    assert parameters['/robot_t/mesh']['ros__parameters']['weight'] == 1.5
    assert parameters['/robot_t/motor_output']['ros__parameters'] == {
        'max_linear': 0.3, 'rate_hz': 20.0}
    memory = parameters['/robot_t/memory']['ros__parameters']['path']
    assert memory == os.path.join(HERE, 'configs', 'robot_t.sqlite3')  # ${config_dir}


@pytest.mark.parametrize('role', ROLE_NODES)
def test_each_role_starts_its_node_set(role):
    assert resolve.plan(resolve.load_text(f'host: {{role: {role}}}')).names() == \
        list(ROLE_NODES[role])


def test_integers_become_doubles_where_the_node_declares_a_double():
    plan = resolve.plan(resolve.load_text('host: {weight: 2}\ncell: {sync: {threshold: 1}}'))
    assert plan.node('mesh').parameters['weight'] == 2.0
    assert isinstance(plan.node('sync').parameters['threshold'], float)


# Each refusal: the file, then the start of its one line (key path first).
REFUSED = [
    ('host: {rol: full}', "host.rol: unknown key (did you mean 'role'?)"),
    ('cell: {sync: {treshold: 0.5}}', 'cell.sync.treshold: unknown key (did you mean '
     "'threshold'?)"),
    ('inputs: [{kind: thermal, parameters: {rate: 1.0}}]',
     "inputs[0].parameters.rate: unknown key (did you mean 'rate_hz'?)"),
    ('host: {weight: heavy}', 'host.weight: must be a number'),
    ('cell: {master: {lag_count: 4.5}}', 'cell.master.lag_count: input should be a valid '
     'integer'),
    ('cell: {master: {lag_count: true}}', 'cell.master.lag_count: input should be a valid '
     'integer'),
    ('cell: {simulate: "yes"}', 'cell.simulate: input should be a valid boolean'),
    ('cell: {sync: {threshold: 1.5}}', 'cell.sync.threshold: must be <= 1.0, got 1.5'),
    ('host: {weight: -1}', 'host.weight: must be >= 0.0, got -1'),
    ('mesh: {max_peers: 100000000000000000000}', 'mesh.max_peers: '),
    ('cell: {master: {window_s: .nan}}', 'cell.master.window_s: must be a finite number'),
    ('cell: {master: {window_s: .inf}}', 'cell.master.window_s: must be a finite number'),
    ('cell: {scale: huge}', "cell.scale: must be one of 'demo'"),
    ('host: {role: boss}', "host.role: must be one of 'full'"),
    ('mesh: {role: light}', 'mesh.role: set by host.role, not here'),
    ('cell: {sync: {scale: micro}}', 'cell.sync.scale: set by cell.scale, not here'),
    ('mesh: {emergence_hysteresis: 0.9}', 'mesh.emergence_hysteresis: must be in [0, '
     'emergence_threshold]'),
    ('inputs: [{kind: mic}]', "inputs[0].kind: unknown input kind 'mic'"),
    ('inputs: [{kind: imu}, {kind: imu}]', 'inputs[1].kind: imu is already used'),
    ('host: {role: witness}\noutputs: [{kind: motor}]', 'outputs: a witness host runs no sync'),
    ('host: {role: relay}\nmemory: {path: x}', 'memory: a relay host runs no memory'),
    ('cell: {sim_source: {rate_hz: 5.0}}', 'cell.sim_source: a full host runs no sim_source'),
    ('security: {dir: /nonexistent/becomingone}', 'security.dir: '),
    ('api: {enabled: 1}', 'api.enabled: must be true or false'),
    ('[1, 2]', '(file): must be a mapping'),
    ('host: [1', '<config>:1: not valid YAML'),
    ('host: {id: ' + 'x' * 300 + '}', 'host.id: string should have at most'),
    ('cell: {witness: {log_path: ' + 'x' * 5000 + '}}', 'cell.witness.log_path: string should '
     'have at most 4096'),
    ('cell: {witness: {streams: [' + ', '.join(['a'] * 5000) + ']}}',
     'cell.witness.streams: list should have at most 4096'),
]


@pytest.mark.parametrize('text,line', REFUSED)
def test_each_refusal_is_one_line_naming_its_key(text, line):
    errors = errors_of(text)
    assert len(errors) == 1, errors
    assert errors[0].startswith(line), errors[0]
    assert '\n' not in errors[0] and len(errors[0]) < 400


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigErrors) as refused:
        resolve.load(str(tmp_path / 'nope.yaml'))
    assert [str(e) for e in refused.value.errors] == [f'{tmp_path}/nope.yaml: no such file']


def test_several_errors_are_one_line_each():
    assert len(errors_of('host: {rol: x, weight: -1}')) == 2
    assert len(errors_of('cell: {sync: {threshold: 9, hysteresis: -1}}')) == 2


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                    st.text(max_size=20))
KEYS = st.sampled_from(['host', 'cell', 'mesh', 'memory', 'api', 'inputs', 'outputs', 'id',
                        'role', 'weight', 'sync', 'threshold', 'kind', 'parameters', 'motor',
                        'scale', 'enabled', 'x'])
TREES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, TREES, max_size=5))
def test_any_document_is_accepted_or_refused_with_lines_never_a_crash(data):
    from becomingone.config.schema import validate
    try:
        validated = validate(data)
    except ConfigErrors as refused:
        assert refused.errors and all(str(e).strip() and '\n' not in str(e)
                                      for e in refused.errors)
    else:
        assert resolve.plan(validated).names()


def test_security_material_is_loaded_as_the_nodes_load_it(tmp_path):
    from becomingone_core.security import cli as pki
    ca, host = tmp_path / 'ca', tmp_path / 'robot_t'
    for argv in (['init', 'lab'], ['issue', 'robot_t'], ['export', 'robot_t', '--to', str(host)]):
        assert pki.main(['--dir', str(ca), *argv]) in (0, None)
    text = f'host: {{id: robot_t}}\nsecurity: {{dir: {host}}}\noutputs: [{{kind: motor}}]\n'
    plan = resolve.plan(resolve.load_text(text))
    for name in ('sync', 'witness', 'mesh', 'motor_output'):
        assert plan.node(name).parameters['security_dir'] == str(host)
    assert 'security_dir' not in plan.node('master').parameters  # it declares none
    wrong = errors_of(text.replace('id: robot_t', 'id: robot_x'))
    assert wrong == ["host.id: 'robot_x', but this host's certificate (security.dir) names "
                     "'robot_t'"]
    (host / 'host.key').write_text('not a key')
    assert errors_of(text)[0].startswith('security.dir: ')


def test_unknown_key_lists_only_keys_the_section_may_set():
    line = errors_of('cell: {sync: {treshold: 0.5}}')[0]
    allowed = line.split('allowed: ')[1].split(', ')
    assert 'threshold' in allowed and 'scale' not in allowed and 'security_dir' not in allowed
