from glob import glob

from setuptools import find_packages, setup

package_name = 'becomingone'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        # `becomingone` as a plain command once the workspace is sourced (install/bin is on
        # PATH); lib/becomingone/becomingone is the same entry point for `ros2 run`.
        ('bin', ['scripts/becomingone']),
        ('share/' + package_name + '/benchmark', glob('benchmark/*.py')),
    ],
    package_data={
        'becomingone.config': ['parameters.json'],
        # Every application file: its configuration, docs and recorded inputs.
        'becomingone.apps': ['*'],
    },
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='BecomingONE developers',
    maintainer_email='becomingone@example.com',
    description='BecomingONE shell: host configuration, the becomingone command, SDK, apps.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'becomingone = becomingone.cli:console_main',
        ],
    },
)
