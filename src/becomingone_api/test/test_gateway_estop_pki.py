"""On a mesh with a PKI the gateway reports the e-stop the mesh's rule admits (in process)."""

import asyncio
import time

from becomingone_api.app import Unavailable
from becomingone_api.nodes.gateway_node import GatewayNode
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.security.mesh_auth import MeshAuthority, OPEN
from becomingone_core.security.pki import MeshPki
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from gateway_fixture import write_tokens
import pytest
from rclpy.parameter import Parameter


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp('pki')
    mesh = MeshPki(root / 'ca')
    mesh.init('gateway-test')
    directories = {}
    for node_id, operator in (('gw', False), ('member', False), ('operator', True)):
        mesh.issue(node_id, operator=operator)
        directories[node_id] = root / node_id
        mesh.export(node_id, directories[node_id])
    other = MeshPki(root / 'other')
    other.init('another mesh')
    other.issue('stranger')
    directories['stranger'] = root / 'stranger'
    other.export('stranger', directories['stranger'])
    return directories


@pytest.fixture
def gateway(pki, tmp_path):
    tokens_file, _ = write_tokens(str(tmp_path))
    with RosProbe(isolated_ros_env()) as probe:
        node = GatewayNode(context=probe.context, parameter_overrides=[
            Parameter('security_dir', value=str(pki['gw'])), Parameter('port', value=0),
            Parameter('tokens_file', value=tokens_file)])
        yield node
        node.destroy_node()


def _on_estop(node):
    return next(s.callback for s in node.subscriptions if s.topic_name.endswith('estop'))


def test_only_admitted_commands_change_the_reported_estop(gateway, pki):
    on_estop = _on_estop(gateway)
    member = MeshAuthority.from_directory(pki['member'])
    operator = MeshAuthority.from_directory(pki['operator'])
    stranger = MeshAuthority.from_directory(pki['stranger'])
    assert gateway.estop_view()['pki'] and gateway.authority.node_id == 'gw'
    now = time.time_ns()
    on_estop(make_command(OPEN, True, 'member', now))  # unsigned
    on_estop(make_command(stranger, True, 'stranger', now + 1))  # another CA
    on_estop(make_command(stranger, True, 'member', now + 2))  # and claims a member's name
    on_estop(make_command(member, True, 'operator', now + 3))  # a member's key, another name
    view = gateway.estop_view()
    assert not view['known'] and not view['engaged']
    assert view['refused'] == {'unsigned': 1, 'untrusted': 2, 'wrong_identity': 1}
    on_estop(make_command(member, True, 'member', now + 10))
    assert gateway.estop_view()['engaged'] and gateway.estop_view()['engaged_by'] == 'member'
    on_estop(make_command(member, False, 'member', now + 20))  # a member may not release
    on_estop(make_command(OPEN, False, 'operator', now + 30))  # nor may an unsigned release
    view = gateway.estop_view()
    assert view['engaged'] and view['refused']['not_operator'] == 1
    assert view['refused']['unsigned'] == 2
    release = make_command(operator, False, 'operator', now + 40)
    on_estop(release)
    assert not gateway.estop_view()['engaged']
    assert gateway.estop_view()['released_by'] == 'operator'
    on_estop(make_command(member, True, 'member', now + 50))
    on_estop(release)  # replayed: older than the engage, releases nothing
    assert gateway.estop_view()['engaged']


def test_the_gateway_signs_its_own_engage_with_the_host_credentials(gateway):
    sent = []
    gateway._estop_publisher.publish = sent.append
    result = asyncio.run(gateway.command_estop(True, 'dashboard'))
    (command,) = sent
    assert command.source == 'gw' and len(command.signature) and len(command.certificate)
    assert result['command'] == {'engage': True, 'source': 'gw',
                                 'sequence': command.sequence, 'signed': True}
    # The mesh admits it: the gateway's own subscription (as every cell's) takes it.
    _on_estop(gateway)(command)
    assert gateway.estop_view()['engaged'] and gateway.estop_view()['engaged_by'] == 'gw'
    # Its host certificate is no operator's: a release is refused before anything is sent.
    with pytest.raises(Unavailable) as refused:
        asyncio.run(gateway.command_estop(False, 'dashboard'))
    assert refused.value.status == 403 and 'operator' in refused.value.message
    assert len(sent) == 1
