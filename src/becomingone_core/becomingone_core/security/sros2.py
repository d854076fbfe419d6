"""
SROS2 permission policies for each role's nodes (full ROS 2 installs; no rclpy here).

SROS2 (DDS-Security) is compiled out of the PyPI ROS 2 wheels this workspace installs by default;
on a full ROS 2 install it adds authentication, encryption and access control per *enclave*.
:func:`policy_xml` writes the ``policy.xml`` that ``ros2 security create_permission`` turns into
signed DDS permissions: one enclave per node of each role in :data:`~becomingone_core.mesh.
ROLE_NODES` (``<root>/<role>/<node>``), plus ``<root>/<role>/becomingone_cell`` for the one
process that runs master, emissary, sync and witness together, each allowed exactly the topics
it publishes and subscribes and the services it serves or calls -- nothing else.

The table :data:`NODE_INTERFACES` is static (this module must not import rclpy);
``test/test_security_sros2.py`` builds every node and proves the table exact, so a node that
gains a topic fails that test until the table names it.

Use (see SECURITY.md)::

    becomingone-pki policy --namespace /pi1 --role full --output policy.xml
    ros2 security create_keystore ~/keystore
    ros2 security create_enclave ~/keystore /becomingone/full/mesh
    ros2 security create_permission ~/keystore /becomingone/full/mesh policy.xml
    export ROS_SECURITY_KEYSTORE=~/keystore ROS_SECURITY_ENABLE=true ROS_SECURITY_STRATEGY=Enforce
    ros2 run becomingone_core mesh --ros-args -r __ns:=/pi1 --enclave /becomingone/full/mesh
"""

from dataclasses import dataclass
import re
import xml.etree.ElementTree as ElementTree

from becomingone_core.mesh import ESTOP_TOPIC, PEERS_TOPIC, ROLE_NODES, ROLES

POLICY_VERSION = '0.2.0'
DEFAULT_ENCLAVE_ROOT = '/becomingone'
#: The nodes ``becomingone_cell`` runs in one process (so under one enclave), as
#: ``becomingone_bringup/launch/pi_node.launch.py`` starts them for a role that has all four.
CELL_PROCESS = ('master', 'emissary', 'sync', 'witness')
CELL_ENCLAVE = 'becomingone_cell'
#: Services every rclpy node serves under its own name (``~/``): parameters, type descriptions.
NODE_SERVICES = ('~/describe_parameters', '~/get_parameter_types', '~/get_parameters',
                 '~/get_type_description', '~/list_parameters', '~/set_parameters',
                 '~/set_parameters_atomically')
#: Topics every node publishes: its log and its parameter changes.
NODE_PUBLISHES = ('/rosout', '/parameter_events')
#: What a managed (lifecycle) node serves and publishes besides (``ros2 lifecycle``).
LIFECYCLE_SERVICES = ('~/change_state', '~/get_state', '~/get_available_states',
                      '~/get_available_transitions', '~/get_transition_graph')
LIFECYCLE_PUBLISHES = ('~/transition_event',)
LIFECYCLE_NODES = frozenset({'memory'})
DIAGNOSTICS = '/diagnostics'


@dataclass(frozen=True)
class NodeInterfaces:
    """What one node uses, as names relative to its namespace (``/`` absolute, ``~/`` own)."""

    publish: tuple = ()
    subscribe: tuple = ()
    reply: tuple = ()
    request: tuple = ()

    def merged(self, other):
        return NodeInterfaces(*(tuple(dict.fromkeys(a + b)) for a, b in zip(
            (self.publish, self.subscribe, self.reply, self.request),
            (other.publish, other.subscribe, other.reply, other.request))))


#: Each core node's own topics and services, with default parameters (``input_topics`` of the
#: transducers and ``streams`` of the witness change them: regenerate for other values).
NODE_INTERFACES = {
    # The transducers read sync/state for realignment requests (realign.py).
    'master': NodeInterfaces(publish=('master/resonance', DIAGNOSTICS),
                             subscribe=('phase', 'sync/state')),
    'emissary': NodeInterfaces(publish=('emissary/resonance', DIAGNOSTICS),
                               subscribe=('phase', 'sync/state')),
    'sync': NodeInterfaces(publish=('sync/state', 'sync/markers', DIAGNOSTICS),
                           subscribe=('master/resonance', 'emissary/resonance')),
    'witness': NodeInterfaces(publish=('witness', 'witness/signatures', DIAGNOSTICS),
                              subscribe=('phase', 'master/resonance', 'emissary/resonance',
                                         'sync/state')),
    'memory': NodeInterfaces(publish=('memory/acknowledged', DIAGNOSTICS),
                             subscribe=('master/resonance', 'emissary/resonance', 'sync/state',
                                        'mesh/state', 'witness', 'witness/signatures'),
                             reply=('memory/query', 'memory/query_arrays', 'memory/reconstruct')),
    'mesh': NodeInterfaces(publish=(PEERS_TOPIC, 'mesh/state', 'mesh/markers', DIAGNOSTICS),
                           subscribe=('sync/state', PEERS_TOPIC, ESTOP_TOPIC)),
    'sim_source': NodeInterfaces(publish=('phase', DIAGNOSTICS)),
}
#: What a node uses only in some roles: a light cell's mesh node gives it its slow scale.
ROLE_EXTRAS = {('light', 'mesh'): NodeInterfaces(publish=('master/resonance',))}
#: Roles whose hosts may also run ``sim_source`` (``pi_node.launch.py simulate:=true``).
SIMULATED_ROLES = ('full', 'light')
_NAME = re.compile(r'^(/[A-Za-z_][A-Za-z0-9_]*)+$')


def node_interfaces(node, use_sim_time=False, role=None):
    """Return everything ``node`` uses (in ``role``): its entry plus what every node has."""
    if node not in NODE_INTERFACES:
        raise ValueError(f'no interface table for node {node!r}')
    common = NodeInterfaces(publish=NODE_PUBLISHES, reply=NODE_SERVICES,
                            subscribe=('/clock',) if use_sim_time else ())
    if node in LIFECYCLE_NODES:
        common = common.merged(NodeInterfaces(publish=LIFECYCLE_PUBLISHES,
                                              reply=LIFECYCLE_SERVICES))
    interfaces = NODE_INTERFACES[node].merged(common)
    return interfaces.merged(ROLE_EXTRAS.get((role, node), NodeInterfaces()))


def check_namespace(namespace):
    if namespace != '/' and not _NAME.match(namespace):
        raise ValueError(f'namespace {namespace!r} is not an absolute ROS namespace like /pi1')
    return namespace


def resolve(name, namespace, node):
    """Return the fully-qualified name SROS2 makes of a policy ``name`` (as its XSL does)."""
    prefix = namespace if namespace.endswith('/') else namespace + '/'
    if name.startswith('/'):
        return name
    if name.startswith('~'):
        return prefix + node + name[1:]
    return prefix + name


def enclave_path(role, node, root=DEFAULT_ENCLAVE_ROOT):
    return f'{root.rstrip("/")}/{role}/{node}'


def role_enclaves(role, simulate=False, cell_process=True):
    """Return ``{enclave name: (node, ...)}`` for one role: one per node, and the cell's."""
    if role not in ROLES:
        raise ValueError(f'role {role!r} is not one of {", ".join(ROLES)}')
    nodes = list(ROLE_NODES[role])
    if simulate and role in SIMULATED_ROLES:
        nodes.append('sim_source')
    enclaves = {node: (node,) for node in nodes}
    if cell_process and all(node in nodes for node in CELL_PROCESS):
        enclaves[CELL_ENCLAVE] = CELL_PROCESS
    return enclaves


def _add_rules(profile, element, items, names, attribute):
    if names:
        rules = ElementTree.SubElement(profile, element, {attribute: 'ALLOW'})
        for name in names:
            ElementTree.SubElement(rules, items).text = name


def policy_xml(namespace, roles=ROLES, *, simulate=False, use_sim_time=False,
               cell_process=True, root=DEFAULT_ENCLAVE_ROOT):
    """
    Return the SROS2 ``policy.xml`` (version 0.2.0) for the nodes of ``roles`` in ``namespace``.

    ``namespace`` is the hosts' namespace (``/<node_id>`` under ``pi_node.launch.py``);
    ``root`` prefixes every enclave (``/becomingone/<node_id>`` gives each host of a mesh that
    shares one keystore its own keys).
    """
    check_namespace(namespace)
    if not _NAME.match(root):
        raise ValueError(f'enclave root {root!r} is not an absolute path like /becomingone')
    policy = ElementTree.Element('policy', {'version': POLICY_VERSION})
    enclaves = ElementTree.SubElement(policy, 'enclaves')
    for role in roles:
        for enclave_name, nodes in role_enclaves(role, simulate, cell_process).items():
            enclave = ElementTree.SubElement(
                enclaves, 'enclave', {'path': enclave_path(role, enclave_name, root)})
            profiles = ElementTree.SubElement(enclave, 'profiles')
            for node in nodes:
                used = node_interfaces(node, use_sim_time, role)
                profile = ElementTree.SubElement(profiles, 'profile',
                                                 {'ns': namespace, 'node': node})
                _add_rules(profile, 'topics', 'topic', used.publish, 'publish')
                _add_rules(profile, 'topics', 'topic', used.subscribe, 'subscribe')
                _add_rules(profile, 'services', 'service', used.reply, 'reply')
                _add_rules(profile, 'services', 'service', used.request, 'request')
    ElementTree.indent(policy, space='  ')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(policy, encoding='unicode') + '\n')
