"""
Gazebo feeding a BecomingONE cell: a swinging pendulum seen by a camera, an IMU on its bob.

    ros2 launch becomingone_bringup sim.launch.py              # headless-friendly: gui:=false

Starts Gazebo (ros_gz_sim) with ``config/sim_pendulum.sdf``, bridges the camera image, the IMU
and the clock to ROS 2 (ros_gz_bridge), and starts a cell plus the image and IMU adapters under
``namespace``, all on simulation time. Add outputs with e.g. ``display:=true``.
"""

from becomingone_core.ros.launch_actions import preflight
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node, SetParameter
from launch_ros.substitutions import FindPackageShare

GZ_CAMERA = '/becomingone/camera'
GZ_IMU = '/becomingone/imu'


def generate_launch_description():
    share = FindPackageShare('becomingone_bringup')
    namespace = LaunchConfiguration('namespace')
    world = LaunchConfiguration('world')
    gui = LaunchConfiguration('gui')
    arguments = [
        DeclareLaunchArgument('namespace', default_value='sim_cell',
                              description='Namespace of the simulated cell.'),
        DeclareLaunchArgument('world', default_value=PathJoinSubstitution(
            [share, 'config', 'sim_pendulum.sdf']), description='Gazebo world (SDF) to run.'),
        DeclareLaunchArgument('gui', default_value='true', choices=['true', 'false'],
                              description='Show the Gazebo GUI (false: server only).'),
        DeclareLaunchArgument('scale', default_value='demo',
                              description='Scale preset of the cell.'),
        DeclareLaunchArgument('display', default_value='false', choices=['true', 'false'],
                              description='Also start the display output (ColorRGBA).'),
        DeclareLaunchArgument('motor', default_value='false', choices=['true', 'false'],
                              description='Also start the motor output (Twist on cmd_vel).'),
    ]
    # -r: run at once; -s: server only when there is no GUI.
    gz_args = PythonExpression(["'-r ' + ('' if '", gui, "' == 'true' else '-s ') + '", world,
                                "'"])
    gazebo = IncludeLaunchDescription(
        PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py']),
        launch_arguments={'gz_args': gz_args}.items())
    bridge = Node(
        package='ros_gz_bridge', executable='parameter_bridge', name='becomingone_gz_bridge',
        output='screen',
        arguments=['/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock',
                   f'{GZ_CAMERA}@sensor_msgs/msg/Image[gz.msgs.Image',
                   f'{GZ_IMU}@sensor_msgs/msg/Imu[gz.msgs.IMU'])
    cell = IncludeLaunchDescription(
        PathJoinSubstitution([share, 'launch', 'cell.launch.py']),
        launch_arguments={'namespace': namespace, 'scale': LaunchConfiguration('scale'),
                          'use_sim': 'false'}.items())
    adapters = IncludeLaunchDescription(
        PathJoinSubstitution([share, 'launch', 'adapters.launch.py']),
        launch_arguments={'namespace': namespace, 'image': 'true', 'image_topic': GZ_CAMERA,
                          'imu': 'true', 'imu_topic': GZ_IMU,
                          'display': LaunchConfiguration('display'),
                          'motor': LaunchConfiguration('motor')}.items())
    return LaunchDescription([
        *arguments,
        # Gazebo starts first: without the bridge it would be left running when the bridge fails.
        preflight(require='ros_gz_sim ros_gz_bridge/parameter_bridge', reason='sim.launch.py'),
        gazebo,
        bridge,
        # Every BecomingONE node runs on Gazebo's clock, so stamps and watchdogs agree with it.
        GroupAction([SetParameter(name='use_sim_time', value=True), cell, adapters]),
    ])
