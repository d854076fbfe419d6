"""The MQTT leaf: plain setuptools, so `pip install` works on a host without ROS."""

from setuptools import find_packages, setup

package_name = 'becomingone_mqtt_leaf'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    # Harmless without ROS; lets colcon and ament find the package.
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml', 'README.md']),
    ],
    python_requires='>=3.9',
    install_requires=['paho-mqtt>=2.0'],
    extras_require={'serial': ['pyserial>=3.4'], 'test': ['pytest', 'cryptography']},
    zip_safe=True,
    maintainer='BecomingONE developers',
    maintainer_email='becomingone@example.com',
    description='Publish phase samples from a sensor to MQTT for BecomingONE (no ROS needed).',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'becomingone-leaf = becomingone_mqtt_leaf.cli:main',
        ],
    },
)
