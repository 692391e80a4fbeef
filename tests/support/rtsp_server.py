"""A real RTSP camera on loopback: GStreamer's RTSP server serving an H.264 MP4 file.

Run it with Debian's own Python, which holds the GObject bindings (not the project's venv)::

    /usr/bin/python3 tests/support/rtsp_server.py --file clip.mp4 --port 8554 --path door \\
        [--user U --password P]

It serves ``rtsp://127.0.0.1:PORT/PATH`` paced at the file's own frame rate, as a camera
would. The media is shared: the first client starts the file, and it starts again from its
first frame when the server is killed and started anew (how the tests make a camera drop).
With ``--user``/``--password`` the server asks for Basic authentication and answers 401 to
anyone else. It prints ``READY`` on stdout once it listens. Needs Debian's
``gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad python3-gi`` (``h264parse`` is in -bad).
"""

from __future__ import annotations

import argparse
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="an H.264 MP4 file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="door", help="mount point, without the slash")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args(argv)

    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    location = args.file.replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! h264parse '
                       f'! rtph264pay name=pay0 pt=96 config-interval=1 )')
    factory.set_shared(True)

    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password or "")
        auth.add_basic(basic, token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(permissions)

    server.get_mount_points().add_factory("/" + args.path.lstrip("/"), factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda *_: (loop.quit(), False)[1])
    print("READY", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
