"""
``becomingone-leaf``: publish a sensor's samples to an MQTT broker for ``mqtt_to_phase``.

For hosts that cannot run ROS 2 (a 32-bit Raspberry Pi 2, a Pi Zero): only Python and
paho-mqtt. The leaf never stops for the broker: paho reconnects in the background (with
backoff), samples taken while it is away are counted as dropped (QoS 0) or queued up to
``--max-queued`` (QoS 1). With QoS 1 it leaves only once the broker has acknowledged every
message it queued, or ``--flush-timeout`` has passed (then it says how many were not, and exits
with 1). Examples::

    becomingone-leaf --broker cell-host --topic becomingone/phase --source sine
    becomingone-leaf --broker cell-host --source file --file breath.csv --loop
    my_sensor_reader | becomingone-leaf --broker cell-host --source stdin
    becomingone-leaf --broker cell-host --source serial --serial-port /dev/ttyACM0
"""

import argparse
import sys
import time

from becomingone_mqtt_leaf import sources
from becomingone_mqtt_leaf.payload import BadSample, format_sample
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

SOURCES = ('sine', 'file', 'stdin', 'serial')


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(prog='becomingone-leaf', description=__doc__.split('\n')[1])
    add = parser.add_argument
    add('--broker', default='localhost', help='broker host (default localhost)')
    add('--port', type=int, default=None, help='broker port (default 1883, 8883 with TLS)')
    add('--topic', default='becomingone/phase', help='topic to publish on')
    add('--client-id', default='', help='MQTT client id (default: chosen by the broker)')
    add('--qos', type=int, choices=(0, 1), default=0, help='MQTT QoS (default 0)')
    add('--source', choices=SOURCES, default='sine', help='where samples come from')
    add('--frequency', type=float, default=2.0, help='sine frequency (Hz)')
    add('--rate', type=float, default=50.0, help='sine samples per second')
    add('--amplitude', type=float, default=0.5, help='sine amplitude')
    add('--offset', type=float, default=0.5, help='sine offset (the bridge maps [0, 1])')
    add('--file', default='', help='CSV recording (time_s,value[,value...]) for --source file')
    add('--loop', action='store_true', help='replay the file forever')
    add('--serial-port', default='', help='serial device for --source serial')
    add('--baudrate', type=int, default=115200, help='serial speed')
    add('--count', type=int, default=0, help='stop after this many samples (0: never)')
    add('--duration', type=float, default=0.0, help='stop after this many seconds (0: never)')
    add('--no-stamp', action='store_true',
        help='publish unstamped samples: the bridge stamps them on arrival')
    add('--tls', action='store_true', help='connect with TLS (implied by --ca-file)')
    add('--ca-file', default='', help='CA bundle to verify the broker (default: system CAs)')
    add('--cert-file', default='', help='client certificate (TLS client authentication)')
    add('--key-file', default='', help='private key of --cert-file')
    add('--username', default='', help='MQTT user name')
    add('--password-file', default='', help='file holding the MQTT password')
    add('--keepalive', type=int, default=30, help='MQTT keepalive (s)')
    add('--max-queued', type=int, default=1000, help='QoS 1 messages queued while offline')
    add('--flush-timeout', type=float, default=10.0,
        help='QoS 1: longest wait at the end for the broker to acknowledge what was queued (s)')
    args = parser.parse_args(argv)
    if args.source == 'file' and not args.file:
        parser.error('--source file needs --file')
    if args.source == 'serial' and not args.serial_port:
        parser.error('--source serial needs --serial-port')
    if args.password_file and not args.username:
        parser.error('--password-file needs --username')
    if not (args.rate > 0 and args.frequency >= 0):
        parser.error('--rate must be > 0 and --frequency >= 0')
    if not 0 <= args.flush_timeout <= 3600:
        parser.error('--flush-timeout is 0..3600 s')
    return args


def read_password(path):
    with open(path) as handle:
        return handle.readline().rstrip('\r\n')


def make_client(args):
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id)
    if args.username:
        client.username_pw_set(args.username,
                               read_password(args.password_file) if args.password_file else None)
    if args.tls or args.ca_file or args.cert_file:
        client.tls_set(ca_certs=args.ca_file or None, certfile=args.cert_file or None,
                       keyfile=args.key_file or None)
    client.on_connect = _report_refusal
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_queued_messages_set(args.max_queued)
    return client


def _report_refusal(client, userdata, flags, reason_code, properties):
    if reason_code.is_failure:  # wrong password, unknown user: say why nothing arrives
        print(f'becomingone-leaf: the broker refused the connection: {reason_code}',
              file=sys.stderr)


def make_source(args):
    if args.source == 'sine':
        return sources.sine(args.frequency, args.rate, args.amplitude, args.offset)
    if args.source == 'file':
        return sources.csv_recording(args.file, loop=args.loop)
    if args.source == 'stdin':
        return iter(sources.stdin_source())
    return iter(sources.LineSource(sources.serial_lines(args.serial_port, args.baudrate)))


class Counts:
    def __init__(self, qos=0):
        self.qos = qos
        self.sent = 0
        self.acknowledged = 0  # QoS 1: PUBACKs (paho's on_publish)
        self.dropped = 0
        self.refused = 0

    @property
    def unacknowledged(self):
        return self.sent - self.acknowledged if self.qos else 0

    def __str__(self):
        acknowledged = f'{self.acknowledged} acknowledged, ' if self.qos else ''
        return (f'{self.sent} sent, {acknowledged}{self.dropped} dropped offline, '
                f'{self.refused} refused')


def run(args, client=None, source=None):
    """Publish samples from the source until it ends, --count or --duration; return Counts."""
    client = client or make_client(args)
    source = source if source is not None else make_source(args)
    port = args.port or (8883 if (args.tls or args.ca_file) else 1883)
    counts = Counts(args.qos)

    def acknowledged(client, userdata, mid, reason_code, properties):
        counts.acknowledged += 1  # only paho's thread writes it
    client.on_publish = acknowledged
    client.connect_async(args.broker, port, args.keepalive)
    client.loop_start()  # paho's thread: connects, reconnects with backoff
    end = time.monotonic() + args.duration if args.duration else None
    try:
        for stamp_s, values in source:
            try:
                payload = format_sample(values if len(values) > 1 else values[0],
                                        None if args.no_stamp else stamp_s)
            except BadSample as error:
                counts.refused += 1
                print(f'becomingone-leaf: not sent: {error}', file=sys.stderr)
                continue
            info = client.publish(args.topic, payload, qos=args.qos)
            if info.rc == mqtt.MQTT_ERR_SUCCESS or (args.qos and info.rc == mqtt.MQTT_ERR_NO_CONN):
                counts.sent += 1  # QoS 1 while offline: queued, sent on (re)connect
            else:
                counts.dropped += 1
            if (args.count and counts.sent + counts.dropped >= args.count) or \
                    (end is not None and time.monotonic() >= end):
                break
    except KeyboardInterrupt:
        pass
    finally:
        # Samples read faster than the connection comes up (stdin, a file) are queued, not yet
        # sent: leaving now would lose them.
        flush_end = time.monotonic() + args.flush_timeout
        while counts.unacknowledged > 0 and time.monotonic() < flush_end:
            time.sleep(0.02)
        client.disconnect()
        client.loop_stop()
    return counts


def main(argv=None):
    args = parse_arguments(argv)
    try:
        counts = run(args)
    except (OSError, ValueError) as error:
        print(f'becomingone-leaf: {error}', file=sys.stderr)
        return 1
    print(f'becomingone-leaf: {counts}', file=sys.stderr)
    if counts.unacknowledged:
        print(f'becomingone-leaf: {counts.unacknowledged} QoS 1 message(s) not acknowledged by '
              f'the broker within --flush-timeout {args.flush_timeout:g} s', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
