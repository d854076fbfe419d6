"""
Frames from a camera device or a video file through OpenCV, imported lazily.

OpenCV is optional: on a machine without it the camera adapter says so at start-up, and the
standard ``sensor_msgs/Image`` adapter (fed by v4l2_camera, usb_cam or Gazebo) still works.
"""


def open_capture(source):
    """
    Open ``source`` (an int device index or a video file path) with cv2.VideoCapture.

    Raises ImportError when OpenCV is missing and OSError when the source cannot be opened.
    """
    import cv2
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise OSError(f'cannot open video source {source!r}')
    return capture


def rewind(capture):
    """Seek a video-file capture back to its first frame."""
    import cv2
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)


def write_video(path, frames, fps):
    """Write BGR uint8 frames to an MJPG .avi file (used to make recordings for replay)."""
    import cv2
    frames = list(frames)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (width, height))
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
