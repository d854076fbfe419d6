"""Linux thermal/hwmon temperature (or a CSV recording) in, phase out."""

from becomingone_adapters import scalars, thermal
from becomingone_adapters.nodes.input_node import PhaseInputNode
from becomingone_core.input_rules import RejectedInput
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.runner import main_for


class ThermalToPhase(PhaseInputNode):

    def __init__(self):
        super().__init__('thermal_to_phase', 'thermal')
        source = declare(self, 'source', 'sysfs', 'sysfs (kernel sensor) or file (CSV replay)',
                         choices=['sysfs', 'file'])
        self.sensor_path = declare(self, 'sensor_path', '',
                                   'kernel temperature file (empty: the first one found)')
        self.file_path = declare(self, 'file_path', '', 'CSV of time_s,value for source=file')
        rate = declare(self, 'rate_hz', 2.0, 'readings per second', minimum=0.01,
                       maximum=1000.0)
        low = declare(self, 'temperature_min', 20.0, 'degrees C at the start of the half circle')
        high = declare(self, 'temperature_max', 90.0, 'degrees C at the end of the half circle')
        require(low < high, 'temperature_max', f'must be greater than temperature_min ({low})')
        self.encoder = scalars.RangeEncoder(low, high, 'temperature')
        self.encoders.append(self.encoder)
        self.csv = None
        if source == 'file':
            try:
                self.csv = thermal.CsvSource(self.file_path)
            except (OSError, ValueError) as error:
                raise ParameterError(f"parameter 'file_path': {error}") from error
        else:
            self.sensor_path = self.sensor_path or next(iter(thermal.find_sensors()), '')
            require(bool(self.sensor_path), 'sensor_path',
                    'no thermal zone or hwmon sensor found on this machine')
        self.start_s = self.now_s()
        self.create_timer(1.0 / rate, self._tick)

    def _tick(self):
        if self.csv is not None:
            for t, value in self.csv.due(self.now_s() - self.start_s):
                self.accept(self.start_s + t - self.csv.rows[0][0],
                            lambda v=value: scalars.encode_scalar(v, self.encoder))
            return
        try:
            celsius = thermal.read_millidegrees(self.sensor_path)
        except OSError as error:
            self.reject(RejectedInput('read_failed', str(error)))
            return
        except RejectedInput as rejected:
            self.reject(rejected)
            return
        self.accept(0.0, lambda: scalars.encode_scalar(celsius, self.encoder))


main = main_for(ThermalToPhase)
