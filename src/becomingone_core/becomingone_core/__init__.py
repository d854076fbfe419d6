"""
BecomingONE logic: pure Python modules, free of rclpy and message types.

The ROS 2 wrappers live in :mod:`becomingone_core.nodes`; everything else here can be used and
tested without ROS.
"""
