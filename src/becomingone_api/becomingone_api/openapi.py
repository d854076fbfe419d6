"""The gateway's OpenAPI 3.1 document, written out (pure: no rclpy)."""

_CELL = {'name': 'cell', 'in': 'path', 'required': True, 'schema': {'type': 'string'},
         'description': "cell name: its namespace without the leading '/' ('' for the root)"}
_RANGE = [
    {'name': 'start', 'in': 'query', 'schema': {'type': 'number'},
     'description': 'seconds since the epoch'},
    {'name': 'end', 'in': 'query', 'schema': {'type': 'number'},
     'description': 'seconds since the epoch (>= start)'},
    {'name': 'last', 'in': 'query', 'schema': {'type': 'number'},
     'description': 'instead of start/end: the last N seconds'},
    {'name': 'limit', 'in': 'query',
     'schema': {'type': 'integer', 'minimum': 1, 'maximum': 10000}},
]
_ERRORS = {
    '400': {'description': 'malformed request', '$ref': '#/components/responses/Error'},
    '401': {'description': 'no or unknown token', '$ref': '#/components/responses/Error'},
    '403': {'description': 'token lacks the scope', '$ref': '#/components/responses/Error'},
    '404': {'description': 'unknown cell', '$ref': '#/components/responses/Error'},
    '422': {'description': 'well-formed but refused', '$ref': '#/components/responses/Error'},
}

_NODE = {'name': 'node', 'in': 'path', 'required': True, 'schema': {'type': 'string'},
         'description': "a node of the cell (the gateway's parameter_nodes)"}
_PARAMETER_SERVICE = {'503': {'$ref': '#/components/responses/Error',
                              'description': 'the node is not running'},
                      '504': {'$ref': '#/components/responses/Error',
                              'description': 'the node did not answer within the deadline'}}


def _op(summary, scope, parameters=(), body=None, extra=None):
    operation = {'summary': summary, 'security': [{'bearer': [scope]}],
                 'parameters': list(parameters),
                 'responses': {'200': {'description': 'OK', 'content': {
                     'application/json': {'schema': {'type': 'object'}}}}, **_ERRORS,
                     **(extra or {})}}
    if body is not None:
        operation['requestBody'] = {'required': True, 'content': {
            'application/json': {'schema': body}}}
    return operation


_SERVICE = {'503': {'$ref': '#/components/responses/Error',
                    'description': 'memory service not available'},
            '504': {'$ref': '#/components/responses/Error',
                    'description': 'memory service did not answer within the deadline'}}

PHASE_BODY = {'type': 'object', 'required': ['real', 'imag'], 'additionalProperties': False,
              'properties': {
                  'real': {'type': 'array', 'items': {'type': 'number'}},
                  'imag': {'type': 'array', 'items': {'type': 'number'}},
                  'stamps_offset': {'type': 'array', 'items': {'type': 'number'},
                                    'description': 's from stamp, from 0, increasing'},
                  'channels': {'type': 'integer', 'minimum': 0, 'maximum': 64},
                  'stamp': {'type': 'number', 'description': 's since the epoch; 0: now'},
                  'source': {'type': 'string', 'pattern': '^[A-Za-z0-9_.-]{1,64}$'}}}
SCALAR_BODY = {'type': 'object', 'required': ['values'], 'additionalProperties': False,
               'properties': {
                   'values': {'type': 'array', 'items': {'type': 'number'}, 'maxItems': 64},
                   'low': {'type': 'number'}, 'high': {'type': 'number'},
                   'stamp': {'type': 'number'}, 'source': {'type': 'string'}}}
ESTOP_BODY = {'type': 'object', 'required': ['engage'], 'additionalProperties': False,
              'properties': {'engage': {'type': 'boolean'}, 'source': {'type': 'string'}}}


def document():
    """Return the gateway's OpenAPI document as a dict."""
    cell = [_CELL]
    return {
        'openapi': '3.1.0',
        'info': {'title': 'BecomingONE gateway', 'version': '1',
                 'description': 'Cells, their state and history, the mesh and the e-stop. '
                                'WebSocket stream at /api/v1/stream (subprotocols '
                                "'becomingone.v1' and 'bearer.<token>')."},
        'components': {
            'securitySchemes': {'bearer': {'type': 'http', 'scheme': 'bearer'}},
            'responses': {'Error': {'description': 'refusal', 'content': {'application/json': {
                'schema': {'type': 'object', 'properties': {
                    'error': {'type': 'string'}, 'status': {'type': 'integer'}}}}}}},
        },
        'paths': {
            '/api/v1/health': {'get': {'summary': 'liveness (no token)', 'responses': {
                '200': {'description': 'OK'}}}},
            '/api/v1/gateway': {'get': _op('clients, frames sent and dropped', 'read')},
            '/api/v1/cells': {'get': _op('every cell with its latest state', 'read')},
            '/api/v1/cells/{cell}': {'get': _op('one cell: state, resonance, mesh, events, '
                                                'witness health', 'read', cell)},
            '/api/v1/cells/{cell}/state': {'get': _op('latest sync state and the gate',
                                                      'read', cell)},
            '/api/v1/cells/{cell}/gate': {'get': _op('why the gate is open or closed',
                                                     'read', cell)},
            '/api/v1/cells/{cell}/recent': {'get': _op(
                'states kept by the gateway (no memory needed)', 'read',
                cell + [{'name': 'last', 'in': 'query', 'schema': {'type': 'number'}}])},
            '/api/v1/cells/{cell}/history': {'get': _op(
                'time-range query through memory/query', 'read', cell + _RANGE + [
                    {'name': 'kind', 'in': 'query', 'schema': {
                        'enum': ['sync', 'resonance', 'witness', 'mesh']}},
                    {'name': 'transducer', 'in': 'query', 'schema': {
                        'enum': ['', 'master', 'emissary']}},
                    {'name': 'order', 'in': 'query', 'schema': {'enum': ['oldest', 'newest']}}],
                extra=_SERVICE)},
            '/api/v1/cells/{cell}/reconstruct': {'get': _op(
                'the state at time t through memory/reconstruct', 'read', cell + [
                    {'name': 't', 'in': 'query', 'required': True,
                     'schema': {'type': 'number'}}], extra=_SERVICE)},
            '/api/v1/cells/{cell}/witness': {'get': _op('macro events and witness health',
                                                        'read', cell)},
            '/api/v1/cells/{cell}/witness/verify': {'get': _op(
                'verify the stored witness chain over a range', 'read', cell + _RANGE,
                extra=_SERVICE)},
            '/api/v1/cells/{cell}/phase': {'post': _op(
                'publish a phase block into the cell (phase_block rules)', 'input', cell,
                PHASE_BODY, extra={'202': {'description': 'published'},
                                   '413': {'$ref': '#/components/responses/Error',
                                           'description': 'body too large'},
                                   '429': {'$ref': '#/components/responses/Error',
                                           'description': 'rate limit'}})},
            '/api/v1/cells/{cell}/scalar': {'post': _op(
                'publish scalar readings (range-encoded on the half circle)', 'input', cell,
                SCALAR_BODY, extra={'202': {'description': 'published'}})},
            '/api/v1/cells/{cell}/nodes/{node}/parameters': {
                'get': _op("the node's parameters (values and descriptors) through its "
                           'describe/get_parameters services', 'read', cell + [_NODE, {
                               'name': 'names', 'in': 'query', 'schema': {'type': 'string'},
                               'description': 'comma-separated names (empty: all)'}],
                           extra=_PARAMETER_SERVICE),
                'put': _op('set parameters atomically through set_parameters_atomically; '
                           "the node's own validation decides (422 with its reason)",
                           'control', cell + [_NODE], {'type': 'object'},
                           extra=_PARAMETER_SERVICE)},
            '/api/v1/mesh': {'get': _op("every cell's mesh view (peers, T_global)", 'read')},
            '/api/v1/estop': {
                'get': _op('the mesh e-stop as the gateway sees it', 'read'),
                'post': _op('engage the e-stop (release only if allow_release)', 'control',
                            body=ESTOP_BODY)},
        },
    }
