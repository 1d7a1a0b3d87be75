"""Where the ``zunray`` command connects and as whom, and its exit codes.

Authentication goes through keystoneauth1's loaders, as the ``openstack`` command's:
``--os-cloud``/``$OS_CLOUD`` names a cloud of clouds.yaml (read by openstack.config);
otherwise ``--os-auth-url``/``$OS_AUTH_URL`` with the auth type's options
(``--os-auth-type``/``$OS_AUTH_TYPE``, password by default, token when ``$OS_TOKEN`` is
set; every ``--os-*`` option defaults to its ``$OS_*`` variable) makes a keystoneauth1
session that renews its token. A bare ``$OS_TOKEN`` (or ``--os-token``) without an auth
URL is sent as is; with none of these, the gateway's noauth mode (a local stack).
keystoneauth1's session options apply to every way but noauth: ``--os-cacert``,
``--insecure`` and a client certificate (``--os-cert``/``--os-key``, ``$OS_CERT``/``$OS_KEY``).
The gateway is ``--url``/``$ZUNRAY_URL``, else the catalog's ``container`` endpoint
(with Keystone), else the local stack's.
"""

from __future__ import annotations

import argparse
import os

from keystoneauth1 import exceptions as ks_exceptions, loading, token_endpoint

from runner.cli.output import UsageError
from runner.client.http import Client
from runner.settings import Settings

EXIT_OK = 0
EXIT_JOB_FAILED = (
    1  # a followed job ended without an exit code of its own (Cancelled, or it could not start)
)
EXIT_USAGE = 2  # the command line or the configuration is wrong
EXIT_JOB_TIMED_OUT = 124  # a followed job ran past its timeout_s (as timeout(1))
EXIT_ZUNRAY = (
    125  # Zunray answered with an error or could not be reached (as `docker run`'s own errors)
)
EXIT_INTERRUPTED = 130  # Ctrl-C

#: what keystoneauth1 raises when it cannot log in or reach Keystone (an EXIT_ZUNRAY error)
KEYSTONE_ERRORS = (ks_exceptions.ClientException,)


def add_connection_options(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """``--url`` and the OpenStack options (``--os-*``, with their ``$OS_*`` defaults)."""
    parser.add_argument(
        "--url",
        help="the gateway, e.g. http://127.0.0.1:9517 (default: $ZUNRAY_URL, the catalog's, or the local stack's)",
    )
    parser.add_argument(
        "--os-cloud",
        metavar="<name>",
        default=os.environ.get("OS_CLOUD"),
        help="a cloud of clouds.yaml (default: $OS_CLOUD)",
    )
    parser.add_argument(
        "--os-interface",
        metavar="<interface>",
        default=os.environ.get("OS_INTERFACE", "public"),
        help="the catalog endpoint's interface (default: $OS_INTERFACE or public)",
    )
    parser.add_argument(
        "--os-region-name",
        metavar="<region>",
        default=os.environ.get("OS_REGION_NAME"),
        help="the catalog endpoint's region (default: $OS_REGION_NAME)",
    )
    loading.register_session_argparse_arguments(parser)
    default_type = (
        "token" if os.environ.get("OS_TOKEN") and not os.environ.get("OS_PASSWORD") else "password"
    )
    try:
        loading.register_auth_argparse_arguments(parser, argv, default=default_type)
    except ks_exceptions.NoMatchingPlugin as exc:
        raise UsageError(str(exc)) from None


def make_client(args: argparse.Namespace, settings: Settings) -> Client:
    """The SDK client the command line asks for (see the module's docstring)."""
    url = args.url or settings.url
    if args.os_cloud:
        import openstack.config  # only for clouds.yaml: slow to import
        from openstack import exceptions as os_exceptions

        try:
            region = openstack.config.OpenStackConfig().get_one(
                cloud=args.os_cloud, region_name=args.os_region_name
            )
        except os_exceptions.ConfigException as exc:
            raise UsageError(f"--os-cloud {args.os_cloud}: {exc}") from None
        return Client(
            url,
            session=region.get_session(),
            interface=region.get_interface("container") or args.os_interface,
            region_name=region.get_region_name("container"),
        )
    if getattr(args, "os_auth_url", None):
        if args.os_auth_type == "password" and not (
            args.os_password and (args.os_username or args.os_user_id)
        ):
            raise UsageError(
                "password authentication needs --os-username (or --os-user-id) and --os-password"
                " ($OS_USERNAME, $OS_PASSWORD)"
            )
        try:
            auth = loading.load_auth_from_argparse_arguments(args)
        except ks_exceptions.MissingRequiredOptions as exc:
            raise UsageError(str(exc)) from None
        session = loading.load_session_from_argparse_arguments(args, auth=auth)
        return Client(
            url, session=session, interface=args.os_interface, region_name=args.os_region_name
        )
    token = getattr(args, "os_token", None) or os.environ.get("OS_TOKEN")
    url = url or settings.gateway_url
    if not token:
        return Client(url)  # the gateway's noauth mode (a local stack)
    # the token as is, through a session all the same: --os-cacert, --insecure, --os-cert/--os-key apply
    session = loading.load_session_from_argparse_arguments(
        args, auth=token_endpoint.Token(url, token)
    )
    return Client(url, session=session)
