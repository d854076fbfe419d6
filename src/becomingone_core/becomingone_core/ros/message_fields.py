"""
Convert ROS 2 messages to plain dicts and lists and back (what rosidl_runtime_py does).

rosidl_runtime_py is not on every install BecomingONE targets, and nodes need only this: the
pure modules take message fields as plain values, and build replies from them.
"""

import array
import importlib


def to_fields(message):
    """Return a message's fields as nested dicts, lists and Python scalars."""
    fields = {}
    for name in message.get_fields_and_field_types():
        fields[name] = _plain(getattr(message, name))
    return fields


def _plain(value):
    if hasattr(value, 'get_fields_and_field_types'):
        return to_fields(value)
    if isinstance(value, array.array):
        return value.tolist()
    if hasattr(value, 'tolist'):  # numpy arrays of fixed-size fields
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def from_fields(message_type, fields):
    """Build a ``message_type`` message from fields (unknown keys are ignored)."""
    message = message_type()
    types = message.get_fields_and_field_types()
    for name, value in fields.items():
        if name not in types:
            continue
        field_type = types[name]
        current = getattr(message, name)
        if hasattr(current, 'get_fields_and_field_types'):
            setattr(message, name, from_fields(type(current), value))
        elif field_type.startswith('sequence<') and '/' in field_type:
            item_type = _message_class(field_type[len('sequence<'):].rstrip('>').split(',')[0])
            setattr(message, name, [from_fields(item_type, item) for item in value])
        else:
            setattr(message, name, value)
    return message


def _message_class(name):
    package, message = name.split('/')[0], name.split('/')[-1]
    return getattr(importlib.import_module(f'{package}.msg'), message)
