#!/bin/bash
# Put ROS 2 and the BecomingONE workspace into the environment, then run the command.
# `exec`: the command replaces this shell, so `docker stop`'s signal reaches it (no shell in
# between that would swallow it) and its exit code is the container's.
set -e
source "/opt/ros/${ROS_DISTRO}/setup.bash"
source /ws/install/setup.bash
exec "$@"
