"""
A camera (OpenCV device) or a video file in, brightness (and spatial) phase out.

Use this on a Pi where no ROS camera driver is running; with v4l2_camera, usb_cam or Gazebo,
use ``image_to_phase`` on their ``image_raw`` instead.
"""

from becomingone_adapters import image
from becomingone_adapters.nodes.input_node import PhaseInputNode
from becomingone_adapters.video import open_capture, rewind
from becomingone_core.ros.parameters import declare, ParameterError
from becomingone_core.ros.runner import main_for


class CameraToPhase(PhaseInputNode):

    def __init__(self):
        super().__init__('camera_to_phase', 'camera')
        source = declare(self, 'source', 'device', 'device (OpenCV camera) or file (video)',
                         choices=['device', 'file'])
        device = declare(self, 'device', 0, 'OpenCV camera index for source=device',
                         minimum=0, maximum=63)
        self.file_path = declare(self, 'file_path', '', 'video file for source=file')
        self.loop = declare(self, 'loop', False, 'replay the video forever')
        rate = declare(self, 'rate_hz', 15.0, 'frames read per second', minimum=0.1,
                       maximum=240.0)
        self.spatial = declare(self, 'spatial_phase', False,
                               'add two channels: horizontal and vertical spatial phase')
        target = device if source == 'device' else self.file_path
        try:
            self.capture = open_capture(target)
        except (ImportError, OSError) as error:
            raise ParameterError(f"parameter 'source': cannot open {target!r}: {error}") from error
        self.finished = False
        self.create_timer(1.0 / rate, self._grab)

    def _grab(self):
        if self.finished:
            return
        ok, frame = self.capture.read()
        if not ok and self.loop and self.file_path:
            rewind(self.capture)
            ok, frame = self.capture.read()
        if not ok:
            self.finished = True
            self.get_logger().info(f'no more frames: {self.published} phase samples')
            return
        self.accept(0.0, lambda: image.encode_luma(image.luma_from_array(frame), self.spatial))

    def destroy_node(self):
        self.capture.release()
        super().destroy_node()


main = main_for(CameraToPhase)
