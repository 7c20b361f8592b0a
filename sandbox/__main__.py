"""Start every simulator: python -m sandbox [--free-ports] [--urls-file F]
[--demo]"""
import argparse
import json
import logging
import signal
import threading

from . import SYSTEMS, demo, start


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m sandbox',
        description='Start the simulators of the external systems')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--free-ports', action='store_true',
        help='let the OS choose the ports instead of the defaults')
    parser.add_argument('--only', nargs='*', choices=sorted(SYSTEMS),
        help='start only these systems')
    parser.add_argument('--urls-file',
        help='write {system: base URL} as JSON to this file')
    parser.add_argument('--demo', action='store_true',
        help='demo activity: the site sells the 1C catalogue and places an '
        'order every minute, 1C moves stock every 30 seconds')
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
        format='%(asctime)s %(name)s %(levelname)s %(message)s')

    ports = {} if args.free_ports else {
        code: port for code, (_, port) in SYSTEMS.items()}
    sandbox = start(args.only, args.host, ports)
    if args.demo:
        demo.start(sandbox)
    for code, url in sandbox.urls.items():
        print(f'{code:14} {url}   (control page: {url}/__sandbox__/)',
            flush=True)
    if args.urls_file:
        with open(args.urls_file, 'w') as f:
            json.dump(sandbox.urls, f, indent=2)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    sandbox.stop()


if __name__ == '__main__':
    main()
