"""
The generated SROS2 policy is well-formed and names exactly what each node uses.

Every core node is built in process (no DDS-Security needed) and its publishers, subscriptions,
services and clients are compared with its profile in the generated policy, after resolving the
policy's names the way SROS2 does; ``/rosout`` is added to what the node lists, since rcl, not
rclpy, creates the log publisher every node has.
"""

from becomingone_core.mesh import ROLE_NODES, ROLES
from becomingone_core.nodes.memory_node import MemoryNode
from becomingone_core.nodes.mesh_node import MeshNode
from becomingone_core.nodes.sim_source_node import SimSourceNode
from becomingone_core.nodes.sync_node import SyncNode
from becomingone_core.nodes.transducer_node import TransducerNode
from becomingone_core.nodes.witness_node import WitnessNode
from becomingone_core.security import sros2
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from lxml import etree
import pytest
from rclpy.parameter import Parameter

NAMESPACE = '/pi1'
NODES = {
    'master': lambda **kw: TransducerNode('master', **kw),
    'emissary': lambda **kw: TransducerNode('emissary', **kw),
    'sync': SyncNode,
    'witness': WitnessNode,
    'mesh': MeshNode,
    'memory': MemoryNode,
    'sim_source': SimSourceNode,
}
RULES = {('topics', 'publish'), ('topics', 'subscribe'), ('services', 'reply'),
         ('services', 'request')}


@pytest.fixture(scope='module')
def used(tmp_path_factory):
    """Return what each node really creates, fully qualified, keyed like the policy's rules."""
    out = {}
    path = tmp_path_factory.mktemp('memory') / 'm.sqlite3'
    with RosProbe(isolated_ros_env()) as probe:
        builds = [(name, name, make) for name, make in NODES.items()]
        builds.append(('mesh@light', 'mesh', NODES['mesh']))  # the light role's mesh node
        for key, name, make in builds:
            overrides = [Parameter('path', value=str(path))] if name == 'memory' else []
            if key == 'mesh@light':
                overrides = [Parameter('role', value='light')]
            node = make(context=probe.context, namespace=NAMESPACE,
                        parameter_overrides=overrides)
            # rcl itself creates a lifecycle node's transition_event publisher.
            extra = {f'{NAMESPACE}/{name}/transition_event'} if name in sros2.LIFECYCLE_NODES \
                else set()
            try:
                out[key] = {
                    'publish': {p.topic_name for p in node.publishers} | {'/rosout'} | extra,
                    'subscribe': {s.topic_name for s in node.subscriptions},
                    'reply': {node.resolve_service_name(s.srv_name) for s in node.services},
                    'request': {node.resolve_service_name(c.srv_name) for c in node.clients},
                }
            finally:
                node.destroy_node()
    return out


def _parse(text):
    # lxml refuses anything not well-formed; no network, no entities.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(text.encode('utf-8'), parser)


def _profile_rules(profile):
    """Return {'publish': {fqn}, ...} for one profile, checking the schema's structure."""
    rules = {kind: set() for _, kind in RULES}
    assert set(profile.attrib) == {'ns', 'node'}
    for element in profile:
        assert element.tag in ('topics', 'services'), element.tag
        [(qualifier, value)] = element.attrib.items()
        assert (element.tag, qualifier) in RULES and value == 'ALLOW'
        item = element.tag[:-1]
        assert len(element) >= 1 and all(child.tag == item for child in element)
        names = [child.text for child in element]
        assert len(names) == len(set(names)), f'{profile.get("node")}: duplicate {names}'
        rules[qualifier] |= {sros2.resolve(name, profile.get('ns'), profile.get('node'))
                             for name in names}
    return rules


def _enclaves(root):
    assert root.tag == 'policy' and root.get('version') == '0.2.0'
    [enclaves] = root
    assert enclaves.tag == 'enclaves'
    out = {}
    for enclave in enclaves:
        assert enclave.tag == 'enclave' and set(enclave.attrib) == {'path'}
        [profiles] = enclave
        assert profiles.tag == 'profiles' and len(profiles) >= 1
        assert all(p.tag == 'profile' for p in profiles)
        out[enclave.get('path')] = {p.get('node'): _profile_rules(p) for p in profiles}
    return out


@pytest.mark.parametrize('role', ROLES)
def test_policy_names_exactly_what_each_node_uses(role, used):
    enclaves = _enclaves(_parse(sros2.policy_xml(NAMESPACE, [role], simulate=True)))
    expected = {f'/becomingone/{role}/{node}' for node in ROLE_NODES[role]}
    if role in sros2.SIMULATED_ROLES:
        expected.add(f'/becomingone/{role}/sim_source')
    if set(sros2.CELL_PROCESS) <= set(ROLE_NODES[role]):
        expected.add(f'/becomingone/{role}/becomingone_cell')
        assert set(enclaves[f'/becomingone/{role}/becomingone_cell']) == \
            set(sros2.CELL_PROCESS)
    assert set(enclaves) == expected
    for path, profiles in enclaves.items():
        for node, rules in profiles.items():
            assert rules == used.get(f'{node}@{role}', used[node]), f'{path} profile {node}'


def test_every_core_node_has_a_table_entry(used):
    every = {node for nodes in ROLE_NODES.values() for node in nodes}
    assert every <= set(sros2.NODE_INTERFACES) == set(NODES)
    assert {key for key in used if '@' not in key} == set(NODES)


def test_all_roles_and_options():
    root = _parse(sros2.policy_xml('/', use_sim_time=True, cell_process=False,
                                   root='/becomingone/pi7'))
    enclaves = _enclaves(root)
    assert len(enclaves) == sum(len(nodes) for nodes in ROLE_NODES.values())
    assert all(path.startswith('/becomingone/pi7/') for path in enclaves)
    mesh = enclaves['/becomingone/pi7/relay/mesh']['mesh']
    assert '/clock' in mesh['subscribe'] and '/sync/state' in mesh['subscribe']
    assert '/mesh/describe_parameters' in mesh['reply']


@pytest.mark.parametrize('namespace', ['pi1', '/pi1/', '/a<b', '/1pi', '//', '', '/pi 1'])
def test_bad_namespaces_are_refused(namespace):
    with pytest.raises(ValueError):
        sros2.policy_xml(namespace)


def test_bad_role_and_root_are_refused():
    with pytest.raises(ValueError):
        sros2.policy_xml('/pi1', ['boss'])
    with pytest.raises(ValueError):
        sros2.policy_xml('/pi1', root='becomingone')
