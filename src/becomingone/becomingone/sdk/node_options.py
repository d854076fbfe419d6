"""
Build any BecomingONE node class with parameters and a namespace chosen by the SDK.

Some node classes take ``parameter_overrides`` and ``namespace`` (the cell's nodes, the managed
outputs), others only their own name (most input adapters). :func:`configured` handles both the
same way: it derives a class whose method resolution order puts :class:`_Options` just below the
guarded base, so the options reach ``rclpy.node.Node.__init__`` whatever the class's own
``__init__`` passes on. Nothing of the node's behaviour changes; it is still the class the
executables run.
"""

from becomingone_core.ros.guarded_node import GuardedCallbacks
from rclpy.parameter import Parameter


class _Options(GuardedCallbacks):
    """Adds the SDK's parameter overrides and namespace to the node's own keyword arguments."""

    sdk_parameters = {}
    sdk_namespace = ''
    sdk_arguments = ()

    def __init__(self, *args, **kwargs):
        chosen = dict(self.sdk_parameters)
        # Overrides the class passes itself win only where the SDK set nothing.
        given = [p for p in kwargs.get('parameter_overrides') or [] if p.name not in chosen]
        kwargs['parameter_overrides'] = given + [Parameter(name, value=value)
                                                 for name, value in chosen.items()]
        if self.sdk_namespace and not kwargs.get('namespace'):
            kwargs['namespace'] = self.sdk_namespace
        if self.sdk_arguments:
            kwargs['cli_args'] = ['--ros-args', *self.sdk_arguments]
        super().__init__(*args, **kwargs)


def configured(node_class, parameters=None, namespace='', remaps=None, name=None):
    """
    Return a subclass of ``node_class`` built with ``parameters`` (name -> value).

    ``remaps`` (topic -> topic) and ``name`` (the node's name) are passed as the node's own
    command-line remappings, as ``--ros-args -r`` would.
    """
    if not issubclass(node_class, GuardedCallbacks):
        raise TypeError(f'{node_class.__name__} is not a guarded BecomingONE node')
    arguments = []
    for source, target in (remaps or {}).items():
        arguments += ['-r', f'{source}:={target}']
    if name:
        arguments += ['-r', f'__node:={name}']
    return type(node_class.__name__, (node_class, _Options),
                {'sdk_parameters': dict(parameters or {}), 'sdk_namespace': namespace,
                 'sdk_arguments': tuple(arguments),
                 '__module__': node_class.__module__, '__doc__': node_class.__doc__})
