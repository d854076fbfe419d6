"""
One DDS reader per topic for the nodes of one process (a host in one process).

rclpy has no intra-process transport: two nodes of one process subscribing to one topic each
take and deserialize every message. On a host in one process at 1 kHz of ``phase`` the Master,
the Emissary and the witness each paid that, three times a bare relay's cost before doing any
work. :func:`share_subscriptions` keeps one subscription per topic, message type and QoS and
hands each message to every node's own (guarded) callback in turn: the message is taken once,
and each node still checks, counts, rejects and witnesses it as its own. Callbacks only read an
incoming message (none of the nodes changes one), so one object can serve them all.

Lifecycle nodes are left out: they create and destroy their subscriptions on transitions, which
must not take another node's input with them.
"""

import sys


def _managed(node):
    # Without rclpy.lifecycle loaded (a process of plain nodes only) no node is a managed one.
    lifecycle = sys.modules.get('rclpy.lifecycle')
    return lifecycle is not None and isinstance(node, lifecycle.LifecycleNode)


def share_subscriptions(nodes):
    """
    Merge the subscriptions ``nodes`` hold on one topic, type and QoS; return how many merged.

    The first node's subscription stays and calls every merged callback, in the order the nodes
    are given; the others are destroyed (their nodes no longer list them).
    """
    groups = []  # [(key, qos, [(node, subscription), ...])]
    for node in nodes:
        if _managed(node):
            continue
        for subscription in list(node.subscriptions):
            key = (subscription.topic_name, subscription.msg_type, subscription.raw)
            group = next((g for g in groups
                          if g[0] == key and g[1] == subscription.qos_profile), None)
            if group is None:
                groups.append((key, subscription.qos_profile, [(node, subscription)]))
            else:
                group[2].append((node, subscription))
    merged = 0
    for _, _, members in groups:
        if len(members) < 2:
            continue
        keeper = members[0][1]
        callbacks = [subscription.callback for _, subscription in members]
        for node, subscription in members[1:]:
            node.destroy_subscription(subscription)
        keeper.callback = _fan_out(callbacks)
        merged += len(members) - 1
    return merged


def _fan_out(callbacks):
    def deliver(message):
        # Each callback is its node's guarded one: a failure in one is counted there and
        # never keeps the message from the others.
        for callback in callbacks:
            callback(message)
    return deliver
