"""BecomingONE seen and used from outside ROS: REST, WebSocket, dashboard and MCP."""
