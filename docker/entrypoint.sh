#!/bin/bash
# Put ROS 2 and the BecomingONE workspace into the environment, then run the command.
set -e
source "/opt/ros/${ROS_DISTRO}/setup.bash"
source /ws/install/setup.bash
exec "$@"
