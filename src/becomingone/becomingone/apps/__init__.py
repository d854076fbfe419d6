"""
The ready applications: ``robot``, ``assistant`` and ``lab``.

Each is a host configuration (``<app>.yaml``, printed by ``becomingone config init <app>`` and
run by ``becomingone run <app>``), a page of docs (``<app>.md``) and the recorded inputs it runs
on by default (written by :mod:`becomingone.apps.make_recordings`). In a configuration,
``${app_dir}`` is this directory.
"""

import importlib.resources

APPS = ('robot', 'assistant', 'lab')


def recording(name):
    """Return the path of one of the applications' recorded inputs (``tone.wav``, ...)."""
    path = importlib.resources.files(__name__).joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(f'no recording {name!r} in {__name__}')
    return str(path)
