"""
An optional Foxglove WebSocket server beside the gateway: JSON-schema channels (no rclpy).

With ``foxglove-sdk`` installed and the gateway's ``foxglove_port`` >= 0, Foxglove (app or
browser) connects to ``ws://127.0.0.1:PORT`` (the Foxglove WebSocket protocol:
``foxglove.sdk.v1`` in foxglove-sdk 0.30, ``foxglove.websocket.v1`` before) and plots
every cell without ROS: channels ``/<cell>/state``, ``/<cell>/resonance``, ``/<cell>/mesh`` and
``/<cell>/witness`` carry the gateway's shaped JSON (the same fields as the REST API) with a
JSON schema each, logged at the message's own stamp. The server has its own context and
threads (the SDK's); logging never waits for a client (the SDK's per-client backlog drops the
oldest). Loopback only: it has no tokens, so the gateway refuses a non-loopback host for it.
"""

_COMPLEX = {'type': 'object', 'properties': {k: {'type': 'number'}
                                             for k in ('re', 'im', 'abs', 'arg')}}
SCHEMAS = {
    'state': {'type': 'object', 'title': 'becomingone.SyncState', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'coherence': {'type': 'number'}, 'threshold': {'type': 'number'},
        'hysteresis': {'type': 'number'}, 'collapsed': {'type': 'boolean'},
        'delta_phase': {'type': 'number'}, 'realign_requested': {'type': 'boolean'},
        'T_m': _COMPLEX, 'T_e': _COMPLEX, 'T_sync': _COMPLEX}},
    'resonance': {'type': 'object', 'title': 'becomingone.Resonance', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'transducer': {'type': 'string'}}},
    'mesh': {'type': 'object', 'title': 'becomingone.MeshState', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'peers': {'type': 'array'}}},
    'witness': {'type': 'object', 'title': 'becomingone.WitnessRecord', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'event': {'type': 'string'}}},
}
KINDS = tuple(SCHEMAS)


def available():
    """Return why ``foxglove-sdk`` cannot be used, or '' when it can."""
    try:
        import foxglove  # noqa: F401
    except ImportError as error:
        return f'foxglove-sdk is not installed ({error})'
    return ''


class FoxgloveLive:
    """A Foxglove server on ``host:port`` with one JSON channel per cell and kind."""

    def __init__(self, cells, host='127.0.0.1', port=8765, name='becomingone'):
        import foxglove
        self._context = foxglove.Context()
        self._channels = {
            (cell, kind): foxglove.Channel(f'/{cell}/{kind}', schema=SCHEMAS[kind],
                                           message_encoding='json', context=self._context)
            for cell in cells for kind in KINDS}
        self._server = foxglove.start_server(name=name, host=host, port=port,
                                             context=self._context)
        self.host = host
        self.port = self._server.port
        self.logged = 0

    @property
    def url(self):
        return f'ws://{self.host}:{self.port}'

    def log(self, kind, cell, shaped):
        """Log one shaped message (a dict of JSON values) on its channel; never blocks."""
        channel = self._channels.get((cell, kind))
        if channel is None:
            return
        stamp = shaped.get('stamp')
        log_time = int(stamp * 1e9) if isinstance(stamp, (int, float)) and stamp > 0 else None
        channel.log(shaped, log_time=log_time)
        self.logged += 1

    def stop(self):
        self._server.stop()
