"""The gateway's ROS 2 node (the only module of this package that imports rclpy)."""
