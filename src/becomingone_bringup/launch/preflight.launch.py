"""
Included first by every BecomingONE launch file: refuse before anything starts, stop cleanly.

    IncludeLaunchDescription(PythonLaunchDescriptionSource([ThisLaunchFileDir(),
                                                            '/preflight.launch.py']),
                             launch_arguments={'rviz': use_rviz, 'reason': 'use_rviz:=true'})

* **Nothing starts when something asked for is missing.** Jazzy's launch resolves a node's
  package when it reaches that node: with rviz2 not installed, ``use_rviz:=true`` failed after
  the cell's nodes were started and left them running with parent pid 1. This file checks
  ``rviz2`` (when ``rviz`` is true) and every ``package/executable`` in ``require`` up front
  and refuses with one message naming what is missing and what asked for it.
* **SIGTERM stops like Ctrl-C.** Jazzy's ``ros2 launch`` dies on SIGTERM (what ``docker stop``
  and ``kill`` send) and orphans every process it started (ros2/launch#666).
  Here SIGTERM is a normal shutdown instead: each process gets SIGINT (SIGTERM and SIGKILL
  after launch's usual timeouts), the launch exits 0 once they have ended.
* **Any host name is a namespace.** The ``namespace`` launch configuration is made a valid ROS
  namespace, token by token (``7`` -> ``h7``, ``/robots/7`` -> ``/robots/h7``, see
  ``becomingone_core.mesh.namespace_for``), for the rest of the including file: launch's
  includes are not scoped, so this file's arguments (``rviz``, ``require``, ``reason``,
  ``namespace``) are the including file's launch configurations too.

The checks are plain functions (:func:`refusal`) so they are tested without ``launch``.
"""

import signal

from becomingone_core.mesh import namespace_for

RVIZ = 'rviz2/rviz2'


def ros_namespace(value):
    """Return ``value`` as a valid ROS namespace: each token made valid, '' and '/' kept."""
    return '/'.join(namespace_for(token) if token else '' for token in value.split('/'))


def requirements(rviz, require):
    """Return the ``package/executable`` names required by ``rviz`` ('true') and ``require``."""
    needed = [RVIZ] if str(rviz).strip().lower() == 'true' else []
    return needed + [item for item in str(require).split() if item not in needed]


def refusal(needed, find_executable, reason=''):
    """
    Return why the launch must not start (empty when it may).

    ``needed`` holds ``package/executable`` names (or a bare ``package``);
    ``find_executable(package, executable)`` returns the executable's (or with ``executable``
    None the package's) path or None: :func:`installed_executable` on a real install.
    """
    missing = [name for name in needed if not find_executable(*name.partition('/')[::2])]
    if not missing:
        return ''
    asked = f' asked for by {reason}' if reason else ''
    names = ', '.join(missing)
    return (f'refusing to start: {names}{asked} is not installed (nothing was started). '
            f'Install it (e.g. ros-jazzy-{missing[0].split("/")[0].replace("_", "-")}) or '
            'launch without it.')


def installed_executable(package, executable=None):
    """Return ``package``'s executable as ``ros2 run`` finds it (or its prefix), else None."""
    import os

    from ament_index_python.packages import get_package_prefix, PackageNotFoundError
    try:
        prefix = get_package_prefix(package)
    except (PackageNotFoundError, ValueError):
        return None
    if not executable:
        return prefix
    path = os.path.join(prefix, 'lib', package, executable)
    return path if os.access(path, os.X_OK) else None


def _check(context):
    from launch.actions import SetLaunchConfiguration
    from launch.substitutions import LaunchConfiguration
    needed = requirements(LaunchConfiguration('rviz').perform(context),
                          LaunchConfiguration('require').perform(context))
    message = refusal(needed, installed_executable, LaunchConfiguration('reason').perform(context))
    if message:
        raise RuntimeError(message)  # launch logs it and exits 1; no process was started
    _stop_on_sigterm(context)
    namespace = LaunchConfiguration('namespace').perform(context)
    return [SetLaunchConfiguration('namespace', ros_namespace(namespace))]


def _stop_on_sigterm(context):
    """Make SIGTERM a normal shutdown of this launch (once per launch; see the docstring)."""
    import launch.logging
    from launch.events import Shutdown
    from launch.utilities.signal_management import AsyncSafeSignalManager
    logger = launch.logging.get_logger('becomingone')
    # The manager LaunchService.run() installed; launch offers no public way to reach it.
    current = '_AsyncSafeSignalManager__current'
    manager = getattr(AsyncSafeSignalManager, current, None)
    if manager is None:
        logger.warning('cannot take over SIGTERM: stop this launch with SIGINT (Ctrl-C)')
        return
    previous = manager.handle(signal.SIGTERM, None)
    if getattr(previous, 'becomingone', False):  # another file of this launch installed it
        manager.handle(signal.SIGTERM, previous)
        return
    # Jazzy installs no Python handler for SIGTERM, so SIGTERM killed the launch outright. With
    # one, the signal reaches the manager (through its wakeup fd), which calls on_sigterm. Once
    # this launch has ended (a launch_testing process goes on), SIGTERM acts as before.
    before = signal.getsignal(signal.SIGTERM)

    def python_handler(signum, frame):
        if getattr(AsyncSafeSignalManager, current, None) is not manager:
            signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, python_handler)

    def on_sigterm(signum):
        if context.is_shutdown:
            logger.info('SIGTERM again: already shutting down')
            return
        logger.warning('SIGTERM: shutting down every process (as on Ctrl-C)')
        context.emit_event_sync(Shutdown(reason='SIGTERM', due_to_sigint=False))
    on_sigterm.becomingone = True
    manager.handle(signal.SIGTERM, on_sigterm)


def generate_launch_description():
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    arguments = {
        'rviz': ('false', 'true: rviz2 must be installed.'),
        'require': ('', 'More package/executable names that must be installed (spaces).'),
        'reason': ('', 'What asked for them (named in the refusal).'),
        'namespace': ('', "The including file's namespace, made a valid ROS namespace."),
    }
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=default, description=description)
          for name, (default, description) in arguments.items()),
        OpaqueFunction(function=_check),
    ])
