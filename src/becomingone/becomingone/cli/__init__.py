"""
``becomingone``: run a host from one configuration file, watch the mesh, manage its tools.

    becomingone config init robot > robot.yaml     # a commented starter for an application
    becomingone config check robot.yaml            # validate (exit 2 and one line per error)
    becomingone run --config robot.yaml            # start the host's whole node set
    becomingone status                             # every cell on the domain, live

Each sub-command has its own ``--help``. ``memory``, ``pki`` and ``estop`` are the tools that
also exist as ``becomingone-memory``, ``becomingone-pki`` and ``mesh_estop``.
"""

import argparse
import sys

from becomingone.cli import config_command, run_command, status_command

EPILOG = """\
commands:
  run [APP] --config FILE   start the host's nodes (its role's node set, inputs, outputs,
                            API) in this one process; live status line, summary on exit
  status                    live table of every cell on the ROS domain (--once: one snapshot)
  config check FILE         validate a configuration file
  config show [--ros] FILE  print it resolved (--ros: each node's ros__parameters)
  config init APP           print a commented starter configuration of an application
  estop engage|release      engage or release the mesh-wide e-stop, and hold it (Ctrl-C ends)
  memory ...                the temporal memory: list, query, export, check (becomingone-memory)
  pki ...                   the mesh's certificates: init, issue, export, revoke (becomingone-pki)

exit status: 0 done, 1 failure, 2 a configuration or usage error (nothing started).
The configuration file's keys: python -c 'import becomingone.config.schema as s; help(s)'
or the package README.
"""

#: Sub-commands that are existing tools: their own argument parsing, their own --help.
TOOLS = {
    'memory': ('becomingone_core.memory.cli', 'the temporal memory (becomingone-memory)'),
    'pki': ('becomingone_core.security.cli', "the mesh's certificates (becomingone-pki)"),
    'estop': ('becomingone_core.nodes.estop_node',
              'engage or release the mesh-wide e-stop (mesh_estop)'),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog='becomingone', description=__doc__.split('\n')[1].strip(), epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    run_command.add_parser(commands)
    status_command.add_parser(commands)
    config_command.add_parser(commands)
    for name, (_, summary) in TOOLS.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def run_tool(name, argv):
    """Hand ``argv`` to an existing tool's ``main``; return its exit status."""
    import importlib
    module = importlib.import_module(TOOLS[name][0])
    sys.argv[0] = f'becomingone {name}'
    try:
        status = module.main(argv)
    except SystemExit as end:
        status = end.code
    if status is None or isinstance(status, int):
        return status or 0
    print(status, file=sys.stderr)
    return 1


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:
        return run_tool(argv[0], argv[1:])
    # Everything from --ros-args on is rclpy's (kept whole: argparse would take its values).
    ros_args = argv[argv.index('--ros-args'):] if '--ros-args' in argv else []
    argv = argv[:len(argv) - len(ros_args)]
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if ros_args and not getattr(args, 'accepts_ros_args', False):
        parser.error(f'unrecognized arguments: {" ".join(ros_args)}')
    return args.handler(args, ros_args)


def console_main():
    """Run the ``becomingone`` console script."""
    sys.exit(main())
