from setuptools import find_packages, setup

package_name = 'becomingone_adapters'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='BecomingONE developers',
    maintainer_email='becomingone@example.com',
    description='Sensor and device adapters in, actuator and API outputs out, for BecomingONE.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'float64_to_phase = becomingone_adapters.nodes.standard_inputs_node:float64_main',
            ('float64_array_to_phase = '
             'becomingone_adapters.nodes.standard_inputs_node:float64_array_main'),
            ('temperature_to_phase = '
             'becomingone_adapters.nodes.standard_inputs_node:temperature_main'),
            ('fluid_pressure_to_phase = '
             'becomingone_adapters.nodes.standard_inputs_node:fluid_pressure_main'),
            'imu_to_phase = becomingone_adapters.nodes.standard_inputs_node:imu_main',
            'image_to_phase = becomingone_adapters.nodes.standard_inputs_node:image_main',
            'text_to_phase = becomingone_adapters.nodes.standard_inputs_node:text_main',
            'microphone_to_phase = becomingone_adapters.nodes.microphone_node:main',
            'camera_to_phase = becomingone_adapters.nodes.camera_node:main',
            'thermal_to_phase = becomingone_adapters.nodes.thermal_node:main',
            'speaker_output = becomingone_adapters.nodes.speaker_node:main',
            'display_output = becomingone_adapters.nodes.display_node:main',
            'motor_output = becomingone_adapters.nodes.motor_node:main',
            'http_output = becomingone_adapters.nodes.http_node:main',
            'lock_output = becomingone_adapters.nodes.lock_node:main',
            'mqtt_to_phase = becomingone_adapters.nodes.mqtt_input_node:main',
            'mqtt_output = becomingone_adapters.nodes.mqtt_output_node:main',
            'serial_to_phase = becomingone_adapters.nodes.serial_input_node:main',
        ],
    },
)
