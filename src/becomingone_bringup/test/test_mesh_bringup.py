"""The mesh bring-up files: DDS profiles Fast DDS accepts, and a parameter file the node takes."""

import os
import pathlib

from becomingone_core.mesh import ROLE_NODES, ROLES
from becomingone_core.testing.processes import executable, isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe
from lxml import etree
import pytest
from rclpy.parameter import parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient
import yaml

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
PROFILES = sorted((PACKAGE / 'config').glob('fastdds_*.xml'))
FASTDDS = '{http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles}'


def _fastdds_schema():
    """Fast DDS installs its profile schema as share/fastRTPS_profiles.xsd in its prefix."""
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) + \
        os.environ.get('CMAKE_PREFIX_PATH', '').split(os.pathsep) + ['/opt/ros/jazzy']
    for prefix in filter(None, prefixes):
        path = pathlib.Path(prefix, 'share', 'fastRTPS_profiles.xsd')
        if path.exists():
            return etree.XMLSchema(etree.parse(str(path)))
    pytest.skip('Fast DDS profile schema (share/fastRTPS_profiles.xsd) not found')


def test_there_is_a_unicast_and_a_discovery_server_profile():
    assert {p.name for p in PROFILES} == {
        'fastdds_unicast.xml', 'fastdds_discovery_server.xml', 'fastdds_discovery_client.xml',
        'fastdds_tls_example.xml'}


@pytest.mark.parametrize('path', PROFILES, ids=lambda p: p.name)
def test_profile_is_valid_for_fast_dds_and_is_the_default(path):
    schema = _fastdds_schema()
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    participants = document.findall(f'.//{FASTDDS}participant')
    assert len(participants) == 1 and participants[0].get('is_default_profile') == 'true'


def test_clients_point_at_the_server_the_server_profile_defines():
    def find(name, tag):
        return etree.parse(str(PACKAGE / 'config' / name)).find(f'.//{FASTDDS}{tag}')
    server_prefix = find('fastdds_discovery_server.xml', 'prefix').text
    remote = find('fastdds_discovery_client.xml', 'RemoteServer')
    assert remote.get('prefix') == server_prefix
    server_port = find('fastdds_discovery_server.xml', 'port').text
    assert remote.find(f'.//{FASTDDS}port').text == server_port


def test_every_role_starts_the_mesh_node_and_installed_executables():
    assert set(ROLE_NODES) == set(ROLES)
    for role, nodes in ROLE_NODES.items():
        assert 'mesh' in nodes, role
    assert set(ROLE_NODES['relay']) == {'mesh'}
    # Each node of a role is an executable of the same name; memory may not be merged yet.
    missing = set()
    for name in {n for nodes in ROLE_NODES.values() for n in nodes}:
        try:
            executable('becomingone_core', name)
        except FileNotFoundError:
            missing.add(name)
    assert missing <= {'memory'}, missing


def test_pi_node_launch_maps_roles_to_executables():
    pytest.importorskip('launch_ros', reason='launch_ros is not installed here')
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'pi_node_launch', PACKAGE / 'launch' / 'pi_node.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._processes('full') == ['becomingone_cell', 'memory', 'mesh']
    assert module._processes('light') == ['emissary', 'sync', 'mesh']
    assert module._processes('witness') == ['witness', 'memory', 'mesh']
    assert module._processes('relay') == ['mesh']


def test_mesh_node_accepts_every_parameter_of_the_preset():
    path = PACKAGE / 'params' / 'mesh.yaml'
    expected = yaml.safe_load(path.read_text())['/**/mesh']['ros__parameters']
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'mesh', env,
            ros_arguments=['-r', '__ns:=/cell_0', '--params-file', str(path)]) as node:
        client = AsyncParameterClient(probe.node, '/cell_0/mesh')
        assert client.wait_for_services(timeout_sec=60), node.output()
        reply = probe.request(lambda: client.get_parameters(list(expected)))
        got = dict(zip(expected, map(parameter_value_to_python, reply.values)))
        assert got == expected, node.output()
