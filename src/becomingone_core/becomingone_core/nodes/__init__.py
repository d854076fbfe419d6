"""Thin ROS 2 nodes: convert messages to plain values, call the pure modules, publish results."""
