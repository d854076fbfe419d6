import glob

from setuptools import find_packages, setup

package_name = 'becomingone_api'


def web_files():
    """Return the dashboard's files, and uPlot from web/node_modules when npm installed it."""
    files = [('share/' + package_name + '/web', sorted(glob.glob('web/static/*')))]
    vendor = sorted(glob.glob('web/node_modules/uplot/dist/uPlot.iife.min.js')
                    + glob.glob('web/node_modules/uplot/dist/uPlot.min.css')
                    + glob.glob('web/node_modules/uplot/LICENSE'))
    if vendor:
        files.append(('share/' + package_name + '/web/vendor', vendor))
    return [entry for entry in files if entry[1]]


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        *web_files(),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='BecomingONE developers',
    maintainer_email='becomingone@example.com',
    description='BecomingONE gateway (REST, WebSocket, dashboard) and MCP server.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'gateway = becomingone_api.nodes.gateway_node:main',
            'becomingone-mcp = becomingone_api.mcp_server:main',
            'demo = becomingone_api.demo:main',
        ],
    },
)
