"""
Mesh security without ROS: the mesh PKI, signed plain values and SROS2 policies.

- :mod:`.pki`: one certificate authority per mesh, a certificate per host (or operator) binding
  its ``node_id`` and what it is granted (weight, role, operator), a CRL; :class:`.pki.TrustStore`
  turns a presented certificate into an :class:`.pki.Identity` or refuses it with a reason.
- :mod:`.signed_fields`: canonical, domain-separated payloads for Ed25519 signatures over the
  plain values the nodes exchange (peer state, sync state, e-stop, witness heads).
- :mod:`.sros2`: SROS2 permission policies for each role's nodes (full ROS 2 installs).
- :mod:`.cli`: ``becomingone-pki``.

Everything cryptographic is done by the ``cryptography`` library; nothing here imports rclpy.
"""
