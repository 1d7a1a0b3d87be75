"""A throwaway certificate authority for tests of TLS (Nova servers' engines): a CA,
server certificates for IP addresses, client certificates, written as PEM files."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class TestCA:
    """A CA that signs what a test needs; ``write_*`` put PEM files where dockerd and clients read them."""

    __test__ = False  # a helper, not a test class

    def __init__(self, name: str = "zunray test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            self._builder(subject, self.key.public_key())
            .issuer_name(subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    @staticmethod
    def _builder(subject: x509.Name, public_key) -> x509.CertificateBuilder:  # noqa: ANN001
        now = datetime.datetime.now(datetime.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    def _issue(self, common_name: str, usage, san: list | None = None) -> tuple[bytes, bytes]:  # noqa: ANN001
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), key.public_key()
        ).issuer_name(self.cert.subject)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def ca_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write_server(self, directory: Path, ip: str) -> None:
        """ca.pem, server-cert.pem, server-key.pem for an engine listening on ``ip``."""
        cert, key = self._issue(
            ip, ExtendedKeyUsageOID.SERVER_AUTH, [x509.IPAddress(ipaddress.ip_address(ip))]
        )
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.pem").write_bytes(self.ca_pem())
        (directory / "server-cert.pem").write_bytes(cert)
        (directory / "server-key.pem").write_bytes(key)

    def write_client(self, directory: Path) -> Path:
        """ca.pem, cert.pem, key.pem (Docker's DOCKER_CERT_PATH layout) for a client; the directory."""
        cert, key = self._issue("zunray node", ExtendedKeyUsageOID.CLIENT_AUTH)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.pem").write_bytes(self.ca_pem())
        (directory / "cert.pem").write_bytes(cert)
        (directory / "key.pem").write_bytes(key)
        return directory
