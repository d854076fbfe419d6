"""BecomingONE MQTT leaf: sensor samples to an MQTT broker, for ``mqtt_to_phase`` (no ROS)."""
