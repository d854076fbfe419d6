"""
``becomingone-pki``: the mesh's certificate authority from a shell.

Errors are one line on stderr and exit status 2; nothing ever prints a private key.
"""

import argparse
import json
import os
import pathlib
import sys
import time

from becomingone_core.mesh import ROLES
from becomingone_core.security import pki, sros2

DESCRIPTION = """\
Keep a BecomingONE mesh's certificate authority: one Ed25519 CA per mesh, one certificate per
host binding its node id (and, optionally, the weight and role it is granted), revocations in a
CRL. Run it on an operator's machine, keep --dir private (it holds ca.key), and copy only what
`export` writes to a host.
"""
EPILOG = """\
examples:
  becomingone-pki init lab
  becomingone-pki issue pi1 --weight 1 --role full
  becomingone-pki issue alice --operator          # a person allowed to release the e-stop
  becomingone-pki export pi1 --to /media/usb/pi1  # ca.pem crl.pem host.pem host.key(0600)
                                                  # + tls-ca.pem tls.pem tls.key(0600)
  becomingone-pki revoke pi3                      # new crl.pem; if pi3 held TLS files, a new
                                                  # TLS generation: export every other host
                                                  # again and restart its mesh node
  becomingone-pki issue pi1 --replace             # rotate: new key, the old one revoked
  becomingone-pki list --json
  becomingone-pki policy --namespace /pi1 --role full --output policy.xml   # SROS2

exit status: 0 done, 2 refused (one line on stderr says why)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, like every other refusal of this tool (argparse would print usage first).
        raise _Refused(f'{message} (see {self.prog} --help)')


class _Refused(Exception):
    pass


def default_directory():
    base = os.environ.get('XDG_CONFIG_HOME') or os.path.join(os.path.expanduser('~'), '.config')
    return pathlib.Path(base) / 'becomingone' / 'pki'


def _weight(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
    return value


def _hex(text):
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a hexadecimal serial') from None


def build_parser():
    parser = _Parser(prog='becomingone-pki', description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dir', type=pathlib.Path, default=None, metavar='DIR',
                        help='the PKI directory (default: $XDG_CONFIG_HOME/becomingone/pki, '
                             f'now {default_directory()})')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', parser_class=_Parser)
    commands.required = True

    init = commands.add_parser('init', help='create the mesh CA (refuses to overwrite one)')
    init.add_argument('mesh', metavar='MESH', help='the mesh name (the CA certificate CN)')
    init.add_argument('--days', type=int, default=3650, help='CA validity (default 3650)')

    issue = commands.add_parser('issue', help='issue a host (or operator) certificate and key')
    issue.add_argument('node_id', metavar='NODE_ID',
                       help="the host's node id (any 1..256 characters, e.g. pi1, 7, a3f9c1)")
    issue.add_argument('--weight', type=_weight, default=None,
                       help='the most weight the host may hold in T_global (default: none '
                            "granted; the mesh's own configuration caps it)")
    issue.add_argument('--role', choices=ROLES, default=None,
                       help='the role the host is allowed to announce')
    issue.add_argument('--operator', action='store_true',
                       help="a human operator's certificate (may sign an e-stop release)")
    issue.add_argument('--days', type=int, default=365, help='validity (default 365)')
    issue.add_argument('--replace', action='store_true',
                       help='re-issue for a node id that holds a valid certificate: the old '
                            'one is revoked (superseded)')

    listing = commands.add_parser('list', help='list every certificate issued')
    listing.add_argument('--json', action='store_true', help='JSON instead of a table')

    revoke = commands.add_parser('revoke', help="revoke a node's certificates; rewrites crl.pem")
    revoke.add_argument('node_id', metavar='NODE_ID')
    revoke.add_argument('--serial', type=_hex, default=None,
                        help='only this certificate (hex serial, from list)')
    revoke.add_argument('--reason', default='unspecified',
                        choices=('unspecified', 'key_compromise', 'superseded',
                                 'cessation_of_operation', 'affiliation_changed'),
                        help='CRL reason code (default unspecified)')

    show = commands.add_parser('show', help="show a node's newest certificate")
    show.add_argument('node_id', metavar='NODE_ID')
    show.add_argument('--json', action='store_true', help='JSON instead of text')

    export = commands.add_parser(
        'export', help='copy ca.pem, crl.pem, host.pem, host.key (0600) and the TLS files '
                       '(tls-ca.pem, tls.pem, tls.key 0600, current TLS generation) for one host')
    export.add_argument('node_id', metavar='NODE_ID')
    export.add_argument('--to', type=pathlib.Path, required=True, metavar='DIR',
                        help='target directory (created 0700)')

    policy = commands.add_parser(
        'policy', help="write the SROS2 policy.xml for a host's nodes (full ROS 2 installs)")
    policy.add_argument('--namespace', required=True,
                        help="the host's namespace, /<node_id> under pi_node.launch.py")
    policy.add_argument('--role', choices=ROLES, action='append', default=None,
                        help='role(s) to include (default: all)')
    policy.add_argument('--enclave-root', default=sros2.DEFAULT_ENCLAVE_ROOT,
                        help='enclave prefix (default /becomingone; /becomingone/<node_id> '
                             'gives each host its own enclaves in a shared keystore)')
    policy.add_argument('--simulate', action='store_true',
                        help='include sim_source for full and light hosts')
    policy.add_argument('--use-sim-time', action='store_true', help='allow /clock')
    policy.add_argument('--output', type=pathlib.Path, default=None,
                        help='file to write (default: standard output)')
    return parser


def _row(info, now_s):
    grants = [f'weight {info.weight:g}' if info.weight is not None else '',
              f'role {info.role}' if info.role else '', 'operator' if info.operator else '']
    # A node id may hold control characters: never let one rewrite the operator's terminal.
    name = info.node_id if info.node_id.isprintable() else ascii(info.node_id)
    return (name, f'{info.serial:x}'[:16],
            info.status(now_s), pki._iso(info.not_after_s)[:10],
            ', '.join(g for g in grants if g) or '-')


def _table(infos, now_s, out):
    rows = [('NODE_ID', 'SERIAL', 'STATUS', 'NOT_AFTER', 'GRANTS')]
    rows += [_row(info, now_s) for info in infos]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in zip(row, widths)) + '  ' + row[4],
              file=out)


def _tell_tls_generation(authority, before, out):
    """Say what a new TLS generation asks of the operator, if the last command started one."""
    generation = authority.tls_generation
    if generation == before:
        return
    now = time.time()
    hosts = sorted({i.node_id for i in authority.list()
                    if i.status(now) == 'valid' and i.tls_generation is not None})
    names = ', '.join(n if n.isprintable() else ascii(n) for n in hosts) or 'none yet'
    print(f'TLS generation {generation}: the revoked certificate held TLS files, which no '
          f'host will trust once it has the new ones. Export every remaining host again '
          f'({names}) and restart its mesh node; until then hosts of generation {before} and '
          f'{generation} cannot reach each other', file=out)


def run(args, out):
    now = time.time()
    if args.command == 'policy':
        text = sros2.policy_xml(args.namespace, args.role or ROLES, simulate=args.simulate,
                                use_sim_time=args.use_sim_time, root=args.enclave_root)
        if args.output is None:
            out.write(text)
        else:
            args.output.write_text(text, encoding='utf-8')
            print(f'wrote {args.output}', file=out)
        return
    authority = pki.MeshPki(args.dir or default_directory())
    if args.command == 'init':
        authority.init(args.mesh, days=args.days)
        print(f'mesh CA {args.mesh!r} in {authority.directory} (keep ca.key private)', file=out)
    elif args.command == 'issue':
        generation = authority.tls_generation
        issued = authority.issue(args.node_id, weight=args.weight, role=args.role,
                                 operator=args.operator, days=args.days, replace=args.replace)
        print(f'issued {issued.serial:x} for {issued.node_id!r} until '
              f'{issued.not_after.isoformat(timespec="seconds")}: {issued.cert_path}', file=out)
        _tell_tls_generation(authority, generation, out)
    elif args.command == 'list':
        infos = authority.list()
        if args.json:
            json.dump([info.to_json(now) for info in infos], out, indent=2)
            out.write('\n')
        else:
            _table(infos, now, out)
    elif args.command == 'revoke':
        generation = authority.tls_generation
        for info in authority.revoke(args.node_id, serial=args.serial, reason=args.reason):
            print(f'revoked {info.serial:x} of {info.node_id!r}; distribute '
                  f'{authority.crl_path} to every host', file=out)
        _tell_tls_generation(authority, generation, out)
    elif args.command == 'show':
        info = authority.info(args.node_id)
        details = info.to_json(now)
        details['cert_path'], details['key_path'] = map(str, authority.host_paths(args.node_id))
        if args.json:
            json.dump(details, out, indent=2)
            out.write('\n')
        else:
            for key in ('node_id', 'status', 'serial_hex', 'not_before', 'not_after', 'role',
                        'weight', 'operator', 'fingerprint', 'revoked_at', 'revocation_reason',
                        'tls_generation', 'cert_path', 'key_path'):
                print(f'{key + ":":<19}{details[key]}', file=out)
    elif args.command == 'export':
        written = authority.export(args.node_id, args.to)
        print(f'exported {args.node_id!r} to {args.to} (TLS generation '
              f'{authority.tls_generation}): ' + ' '.join(sorted(written)), file=out)


def main(argv=None, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        run(args, out)
    except (_Refused, pki.PkiError, ValueError) as error:
        print(f'becomingone-pki: error: {error}'.splitlines()[0], file=err)
        return 2
    except OSError as error:
        where = f'{error.filename}: ' if error.filename else ''
        print(f'becomingone-pki: error: {where}{error.strerror or error}', file=err)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
