from setuptools import find_packages, setup

package_name = 'becomingone_core'

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
    description='BecomingONE logic (pure Python) and the ROS 2 nodes that run it.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'becomingone-memory = becomingone_core.memory.cli:main',
            'becomingone-pki = becomingone_core.security.cli:main',
            'becomingone-tls = becomingone_core.transport_tls:main',
            'becomingone_cell = becomingone_core.nodes.cell:main',
            'emissary = becomingone_core.nodes.transducer_node:main_emissary',
            'master = becomingone_core.nodes.transducer_node:main_master',
            'memory = becomingone_core.nodes.memory_node:main',
            'mesh = becomingone_core.nodes.mesh_node:main',
            'mesh_estop = becomingone_core.nodes.estop_node:main',
            'sim_source = becomingone_core.nodes.sim_source_node:main',
            'sync = becomingone_core.nodes.sync_node:main',
            'witness = becomingone_core.nodes.witness_node:main',
            'witness_verify = becomingone_core.witness_chain:main',
        ],
    },
)
