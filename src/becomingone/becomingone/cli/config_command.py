"""``becomingone config check|show|init``: validate, print resolved, write a starter."""

import sys

from becomingone.config import resolve
from becomingone.config.schema import ConfigErrors
import yaml

USAGE_ERROR = 2


def report(errors, stream=None):
    """Print each configuration error as one ``config error: <key.path>: <why>`` line."""
    stream = stream or sys.stderr
    for error in errors.errors:
        print(f'config error: {error}', file=stream)
    return USAGE_ERROR


def load_plan(path):
    """Return the :class:`resolve.Plan` of the file at ``path`` (raises ConfigErrors)."""
    return resolve.plan(resolve.load(path))


def _check(args, rest):
    try:
        plan = load_plan(args.file)
    except ConfigErrors as errors:
        return report(errors)
    print(f'{args.file}: valid; host {plan.config.host.id!r} ({plan.config.host.role}) in '
          f'{plan.namespace} starts {", ".join(plan.names())}')
    return 0


def _show(args, rest):
    try:
        plan = load_plan(args.file)
    except ConfigErrors as errors:
        return report(errors)
    if args.ros:
        sys.stdout.write(resolve.dump_ros_parameters(plan))
    else:
        sys.stdout.write(yaml.safe_dump(resolve.resolved(plan), sort_keys=False))
    return 0


def starter_text(app):
    """Return the commented starter config of application ``app`` (ConfigErrors if unknown)."""
    from becomingone.config.schema import ConfigError
    known = resolve.apps()
    if app not in known:
        raise ConfigErrors([ConfigError('APP', f'no application {app!r}; installed: '
                                        + (', '.join(known) or 'none'))])
    return known[app].read_text()


def _init(args, rest):
    try:
        text = starter_text(args.app)
    except ConfigErrors as errors:
        return report(errors)
    sys.stdout.write(text)
    return 0


def add_parser(commands):
    parser = commands.add_parser(
        'config', help='check, show or start a host configuration file',
        description='Validate a host configuration file, print it resolved, or print a '
                    "commented starter from an application (the file's keys: the package "
                    'README, or becomingone.config.schema).')
    actions = parser.add_subparsers(dest='action', metavar='ACTION', required=True)
    check = actions.add_parser('check', help='validate FILE: exit 0, or 2 with one line per '
                               'error naming its key path')
    check.add_argument('file', metavar='FILE')
    check.set_defaults(handler=_check)
    show = actions.add_parser('show', help='print FILE resolved: defaults filled in, the node '
                              "list; --ros: each node's ros__parameters")
    show.add_argument('file', metavar='FILE')
    show.add_argument('--ros', action='store_true',
                      help='print a ROS 2 parameter file (what every node is given)')
    show.set_defaults(handler=_show)
    init = actions.add_parser('init', help='print the commented starter configuration of '
                              'application APP (redirect it to a file)')
    init.add_argument('app', metavar='APP',
                      help='an application: ' + (', '.join(resolve.apps()) or 'none installed'))
    init.set_defaults(handler=_init)
