"""
BecomingONE adapters for one cell: any mix of inputs (phase out) and outputs (sync/state in).

    ros2 launch becomingone_bringup adapters.launch.py namespace:=cell1 \
        image:=true image_topic:=/camera/image_raw imu:=true imu_topic:=/imu/data motor:=true
    ros2 launch becomingone_bringup adapters.launch.py namespace:=cell1 mqtt:=true \
        broker_host:=broker.local mqtt_output:=true

One ``true``/``false`` argument per adapter (all off by default), the input topic of each
standard-topic adapter (remapped, so any driver's topic works as it is), and the few settings
that differ per deployment. Everything else comes from ``params_file``. Inputs publish on the
cell's ``phase`` under ``namespace``; outputs read its ``sync/state``. The motor and HTTP
outputs are lifecycle nodes, brought up (configure, activate) by this file. Any host name works
as ``namespace`` (``7`` runs in ``/h7``, see ``becomingone_core.mesh.namespace_for``).
"""

from becomingone_core.ros.launch_actions import managed, preflight
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import LifecycleNode, Node, PushROSNamespace
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# adapter argument -> (executable, the topic it subscribes and its default, what it is)
INPUTS = {
    'float64': ('float64_to_phase', 'value', 'std_msgs/Float64'),
    'float64_array': ('float64_array_to_phase', 'values', 'std_msgs/Float64MultiArray'),
    'temperature': ('temperature_to_phase', 'temperature', 'sensor_msgs/Temperature'),
    'fluid_pressure': ('fluid_pressure_to_phase', 'fluid_pressure', 'sensor_msgs/FluidPressure'),
    'imu': ('imu_to_phase', 'imu', 'sensor_msgs/Imu'),
    'image': ('image_to_phase', 'image_raw', 'sensor_msgs/Image'),
    'text': ('text_to_phase', 'text', 'std_msgs/String (text or LLM tokens)'),
}
DRIVERS = {
    'microphone': ('microphone_to_phase', 'microphone (sounddevice) or WAV replay'),
    'camera': ('camera_to_phase', 'camera (OpenCV) or video replay'),
    'thermal': ('thermal_to_phase', 'Linux thermal/hwmon temperature or CSV replay'),
}
# Bridges from outside ROS: adapter argument -> (executable, what it is). The broker and the port
# are arguments; TLS files, credentials and topics come from params_file.
BRIDGES = {
    'mqtt': ('mqtt_to_phase', 'MQTT topic (numbers, JSON or CSV samples) in'),
    'serial': ('serial_to_phase', 'serial line input (pyserial)'),
}
OUTPUTS = {
    'speaker': ('speaker_output', 'tone on a speaker (or WAV), gated by collapse'),
    'display': ('display_output', 'std_msgs/ColorRGBA on color, gated by collapse'),
    'motor': ('motor_output', 'geometry_msgs/Twist on cmd_vel, gated, with watchdog and e-stop'),
    'http': ('http_output', 'JSON POSTs to an HTTP API, gated by collapse'),
    'mqtt_output': ('mqtt_output', "the cell's state as retained QoS 1 JSON on an MQTT broker"),
}
#: Outputs that command or publish beyond ROS: lifecycle nodes, brought up by this file.
MANAGED = ('motor', 'http', 'mqtt_output')


def _switch(name, what):
    return DeclareLaunchArgument(name, default_value='false', choices=['true', 'false'],
                                 description=f'Start the {what} adapter.')


def generate_launch_description():
    share = FindPackageShare('becomingone_bringup')
    params_file = LaunchConfiguration('params_file')
    phase_topic = LaunchConfiguration('phase_topic')
    log_level = LaunchConfiguration('log_level')
    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the cell the adapters serve.'),
        DeclareLaunchArgument(
            'params_file', default_value=PathJoinSubstitution([share, 'params', 'adapters.yaml']),
            description='Parameters of every adapter node.'),
        DeclareLaunchArgument('phase_topic', default_value='phase',
                              description='Topic the input adapters publish phase on.'),
        DeclareLaunchArgument('sync_topic', default_value='sync/state',
                              description='The cell sync state the outputs follow.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of every adapter.'),
        DeclareLaunchArgument('microphone_file', default_value='',
                              description='WAV file to replay (source=file), empty for the '
                                          'sound card.'),
        DeclareLaunchArgument('camera_file', default_value='',
                              description='Video file to replay, empty for camera 0.'),
        DeclareLaunchArgument('thermal_file', default_value='',
                              description='CSV (time_s,value) to replay, empty for sysfs.'),
        DeclareLaunchArgument('http_url', default_value='',
                              description='Endpoint of the HTTP output (required with http).'),
        DeclareLaunchArgument('cmd_vel_topic', default_value='cmd_vel',
                              description='Where the motor output publishes Twist.'),
        DeclareLaunchArgument('estop_topic', default_value='/becomingone/estop',
                              description='Signed e-stop commands (EStopCommand) for the motor '
                                          'output.'),
        DeclareLaunchArgument('broker_host', default_value='localhost',
                              description='MQTT broker of the mqtt and mqtt_output adapters.'),
        DeclareLaunchArgument('broker_port', default_value='1883',
                              description='Its port (1883 plain, 8883 TLS usually).'),
        DeclareLaunchArgument('serial_port', default_value='/dev/ttyUSB0',
                              description='Serial device of the serial adapter.'),
    ]
    broker = {'broker_host': LaunchConfiguration('broker_host'),
              'broker_port': ParameterValue(LaunchConfiguration('broker_port'), value_type=int)}
    common = {'parameters': [params_file], 'output': 'screen',
              'arguments': ['--ros-args', '--log-level', log_level]}
    nodes = []
    for name, (executable, topic, what) in INPUTS.items():
        arguments += [_switch(name, what), DeclareLaunchArgument(
            f'{name}_topic', default_value=topic, description=f'Topic carrying {what}.')]
        nodes.append(Node(
            package='becomingone_adapters', executable=executable, name=executable,
            remappings=[(topic, LaunchConfiguration(f'{name}_topic')), ('phase', phase_topic)],
            condition=IfCondition(LaunchConfiguration(name)), **common))
    for name, (executable, what) in DRIVERS.items():
        arguments.append(_switch(name, what))
        replay = LaunchConfiguration(f'{name}_file')
        live = 'sysfs' if name == 'thermal' else 'device'
        # A file given on the command line means: replay it instead of the live device.
        source = PythonExpression(["'file' if '", replay, f"' else '{live}'"])
        nodes.append(Node(
            package='becomingone_adapters', executable=executable, name=executable,
            remappings=[('phase', phase_topic)],
            condition=IfCondition(LaunchConfiguration(name)),
            **{**common, 'parameters': [params_file, {'file_path': replay, 'source': source}]}))
    bridge_parameters = {'mqtt': broker, 'serial': {'port': LaunchConfiguration('serial_port')}}
    for name, (executable, what) in BRIDGES.items():
        arguments.append(_switch(name, what))
        nodes.append(Node(
            package='becomingone_adapters', executable=executable, name=executable,
            remappings=[('phase', phase_topic)], condition=IfCondition(LaunchConfiguration(name)),
            **{**common, 'parameters': [params_file, bridge_parameters[name]]}))
    extra = {'http': {'url': LaunchConfiguration('http_url')},
             'motor': {'estop_topic': LaunchConfiguration('estop_topic')},
             'mqtt_output': broker}
    for name, (executable, what) in OUTPUTS.items():
        arguments.append(_switch(name, what))
        output = {
            'package': 'becomingone_adapters', 'executable': executable, 'name': executable,
            'remappings': [('sync/state', LaunchConfiguration('sync_topic')),
                           ('cmd_vel', LaunchConfiguration('cmd_vel_topic'))],
            'condition': IfCondition(LaunchConfiguration(name)),
            **common, 'parameters': [params_file, extra.get(name, {})]}
        if name in MANAGED:  # autostart false: this file drives the transitions (managed)
            output['parameters'].append({'autostart': False})
            nodes += managed(LifecycleNode(namespace='', **output))
        else:
            nodes.append(Node(**output))
    return LaunchDescription([
        *arguments,
        # Also makes the namespace valid: '7' -> 'h7'.
        preflight(namespace=LaunchConfiguration('namespace')),
        GroupAction([PushROSNamespace(LaunchConfiguration('namespace')), *nodes]),
    ])
