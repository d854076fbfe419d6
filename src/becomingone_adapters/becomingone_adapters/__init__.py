"""BecomingONE adapters: pure converters (no rclpy) and the thin nodes that run them."""
