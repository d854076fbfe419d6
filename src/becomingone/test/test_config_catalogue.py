"""The catalogue the schema reads is what the nodes declare today."""

import json
import os
import subprocess
import sys

from becomingone.config import catalogue, registry
from becomingone_core.testing.processes import isolated_ros_env


def _rules(stored):
    """Return what validation uses of a catalogue: each parameter's spec but its prose."""
    return {node: {name: {k: v for k, v in spec.items() if k != 'description'}
                   for name, spec in entry['parameters'].items()}
            for node, entry in stored.items()}


def test_the_stored_catalogue_matches_the_nodes():
    env = isolated_ros_env(domain_id=os.environ.get('ROS_DOMAIN_ID'))
    built = subprocess.run([sys.executable, '-m', 'becomingone.config.catalogue'], env=env,
                           capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr[-2000:]
    fresh, stored = _rules(json.loads(built.stdout)), _rules(catalogue.load())
    changed = sorted(f'{node}.{name}' for node in fresh.keys() | stored.keys()
                     for name in fresh.get(node, {}).keys() | stored.get(node, {}).keys()
                     if fresh.get(node, {}).get(name) != stored.get(node, {}).get(name))
    assert not changed, ('nodes changed these parameters; run `python -m '
                         f'becomingone.config.catalogue --write`: {", ".join(changed)}')


def test_every_installed_kind_is_catalogued_with_its_parameters():
    stored = catalogue.load()
    for name, kind in registry.by_node_name().items():
        assert name in stored and stored[name]['kind'] == kind.kind
        assert stored[name]['parameters'], name
    spec = stored['mesh']['parameters']['weight']
    assert spec['type'] == 'double' and spec['min'] == 0.0
    assert stored['microphone_to_phase']['parameters']['source']['choices'] == ['device', 'file']
    assert not any('use_sim_time' in v['parameters'] for v in stored.values())


def test_the_catalogue_is_data_beside_the_module():
    here = os.path.dirname(catalogue.__file__)
    assert os.path.exists(os.path.join(here, catalogue.CATALOGUE_FILE))
